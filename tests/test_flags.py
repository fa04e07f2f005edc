"""Every documented option of every command has a test that changes its effect through the CLI.

The audit reads the commands and options from typer and the tests from their source: an option
counts as tested when a test function spells it and its test file names the command. The tests
below it cover the options no other file exercised."""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

import httpx
import jsonschema
import pytest
import typer.main

from backworks_cli.cli import app
from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.record.store import Store
from tests.conftest import Listening, run_cli

TESTS = Path(__file__).parent

# Options whose effect is on presentation only, or that typer adds; each with its reason.
COSMETIC: dict[tuple[str, str], str] = {
    ("*", "--help"): "typer's own; the help text is checked by the README and help tests",
    ("*", "--install-completion"): "typer's own shell completion installer",
    ("*", "--show-completion"): "typer's own shell completion script",
}


def commands(command=None, path=()):
    """(command path, click command) for every leaf command of the CLI."""
    command = command or typer.main.get_command(app)
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from commands(sub, (*path, name))
    else:
        yield path, command


def strings_of(node: ast.AST) -> set[str]:
    """The words of every string constant under `node` (so "mock --port" gives both)."""
    words: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            words.update(child.value.split())
    return words


def files_of_tests() -> list[tuple[Path, set[str], list[tuple[str, set[str]]]]]:
    """Each test file: the words of all its strings, and each test function's words."""
    found = []
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [
            (node.name, strings_of(node))
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.startswith("test_")
        ]
        found.append((path, strings_of(tree), functions))
    return found


def untested_options() -> list[str]:
    files = files_of_tests()
    missing = []
    for path, command in commands():
        for option in command.params:
            if option.param_type_name != "option":
                continue
            name = " ".join(path)
            if any((scope, option.opts[0]) in COSMETIC for scope in ("*", name)):
                continue
            tested = any(
                all(word in everything for word in path)
                and any(set(option.opts) & words for _, words in functions)
                for _, everything, functions in files
            )
            if not tested:
                missing.append(f"backworks {name} {'/'.join(option.opts)}")
    return missing


def test_every_option_has_a_test_that_uses_it():
    missing = untested_options()
    assert not missing, "options no test exercises:\n" + "\n".join(missing)


def test_the_audit_sees_every_command_and_finds_an_option_no_test_spells(monkeypatch):
    names = {" ".join(path) for path, _ in commands()}
    assert {"capture", "mock", "serve", "promote", "recordings prune", "import openapi"} <= names
    # With the tests' words taken away, every option is reported.
    monkeypatch.setattr(
        f"{__name__}.files_of_tests", lambda: [(Path("x.py"), set(), [("test_x", set())])]
    )
    assert "backworks mock --strict" in untested_options()
    assert "backworks capture --admin/--admin-listen" in untested_options()


# --- the options no other test file exercised -------------------------------------------------

WIDGET = {
    "type": "object",
    "required": ["id", "name", "price", "tags"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string", "maxLength": 40},
        "price": {"type": "number", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}
USER = {"id": 7, "name": "Grace"}


def make_project(directory: Path) -> Path:
    """A store with GET /users/7, and a backworks.yaml replaying it and mocking /widgets/{id}."""
    directory.mkdir(parents=True, exist_ok=True)
    with Store.open(directory / "recordings.db", create=True) as db:
        db.add(
            Exchange(
                Request("GET", "/users/7", host="api.test"),
                Response(200, (("Content-Type", "application/json"),), json.dumps(USER).encode()),
                started_at=time.time(),
            )
        )
    config = directory / "backworks.yaml"
    endpoints = {
        "get_users_id": {"path": "/users/{id}", "methods": ["GET"], "mode": "replay"},
        "get_widgets_id": {
            "path": "/widgets/{id}",
            "methods": ["GET"],
            "mode": "mock",
            "responses": {"200": {"content_type": "application/json", "schema": WIDGET}},
        },
    }
    config.write_text(json.dumps({"recordings": {"path": "recordings.db"}, "endpoints": endpoints}))
    return config


@pytest.fixture
def host(backworks, tmp_path):
    """Factory: host(command, *args) -> Listening on a port the system chose."""
    make_project(tmp_path)

    def start(command: str, *args: str) -> Listening:
        where = ["--port", "0"] if command == "mock" else ["--listen", "127.0.0.1:0"]
        ready = "Mock serving" if command == "mock" else "Serving"
        running = backworks([command, *where, *args], cwd=tmp_path, ready=ready)
        return Listening.bound(running)

    return start


def widgets(listening: Listening, *ids: int) -> list[httpx.Response]:
    with httpx.Client(base_url=listening.url, timeout=30) as client:
        return [client.get(f"/widgets/{i}") for i in ids]


def test_mock_strict_answers_only_from_recordings(host):
    plain = host("mock")
    assert [r.status_code for r in widgets(plain, 5)] == [200]
    strict = host("mock", "--strict")
    (miss,) = widgets(strict, 5)
    assert miss.status_code == 404 and "x-backworks-miss" in miss.headers
    assert httpx.get(f"{strict.url}/users/7", timeout=30).json() == USER


def test_mock_edge_cases_serves_boundary_values_that_fit_the_schema(host):
    plain = [r.json() for r in widgets(host("mock"), *range(1, 9))]
    edges = [r.json() for r in widgets(host("mock", "--edge-cases"), *range(1, 9))]
    for value in edges:
        jsonschema.validate(value, WIDGET)
    assert edges != plain
    # Boundary values: among eight answers, an empty list, an empty or maximal name, price 0.
    assert any(value["tags"] == [] for value in edges)
    assert any(len(value["name"]) in (0, 40) or value["price"] == 0 for value in edges)
    again = [r.json() for r in widgets(host("mock", "--edge-cases"), *range(1, 9))]
    assert again == edges


def test_serve_seed_chooses_the_generated_bytes(host):
    first = [r.content for r in widgets(host("serve", "--seed", "1"), 1, 2, 3)]
    again = [r.content for r in widgets(host("serve", "--seed", "1"), 1, 2, 3)]
    other = [r.content for r in widgets(host("serve", "--seed", "2"), 1, 2, 3)]
    assert first == again
    assert first != other


def test_promote_rows_sizes_the_new_table(tmp_path):
    import sqlite3

    from backworks_cli.config.load import load_config

    config = make_project(tmp_path)
    done = run_cli("promote", "get_widgets_id", "--to", "database", "--rows", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    block = load_config(config).endpoints["get_widgets_id"]["database"]
    with sqlite3.connect(tmp_path / block["file"]) as conn:
        assert conn.execute(f"SELECT COUNT(*) FROM {block['table']}").fetchone()[0] == 3


def test_recordings_show_stats_and_prune_read_the_store_backworks_yaml_names(tmp_path):
    config = make_project(tmp_path / "project")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    stats = run_cli("recordings", "stats", "-c", str(config), cwd=elsewhere)
    assert stats.returncode == 0, stats.stderr
    assert "/users/7" in stats.stdout
    shown = run_cli("recordings", "show", "1", "--config", str(config), cwd=elsewhere)
    assert shown.returncode == 0, shown.stderr
    assert '"name": "Grace"' in shown.stdout
    pruned = run_cli("recordings", "prune", "--keep-last", "0", "-c", str(config), cwd=elsewhere)
    assert pruned.returncode == 0, pruned.stderr
    with Store.open(tmp_path / "project" / "recordings.db") as db:
        assert list(db.query()) == []
    # Without -c, the same commands look for ./recordings/backworks.db and say it is not there.
    missing = run_cli("recordings", "stats", cwd=elsewhere)
    assert missing.returncode != 0 and "No recordings store" in missing.stderr
