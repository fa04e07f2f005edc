"""Promotion: golden files of backworks.yaml before and after, comments and every untouched
byte kept, there and back byte-identical (also as a property over generated layouts), dry
runs, --all, runtime scaffolds that answer the JSON-lines protocol as real subprocesses,
errors (unknown endpoint or mode, broken YAML, a file changed during the edit), and the
`promote` and `modes` commands as a user runs them.

Set BACKWORKS_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change."""

from __future__ import annotations

import base64
import difflib
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backworks_cli.config.load import load_config
from backworks_cli.config.model import make_endpoint
from backworks_cli.core.errors import BackworksError, ConfigError, ExitCode
from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.evolve.inventory import endpoint_modes, modes_table
from backworks_cli.evolve.promote import (
    apply,
    plan_promotion,
    primary_key,
    promote,
    table_name,
)
from backworks_cli.evolve.scaffold import example_response
from backworks_cli.record.store import Store

GOLDEN = Path(__file__).parents[1] / "golden" / "promote"
UPDATE = os.environ.get("BACKWORKS_UPDATE_GOLDEN") == "1"
NODE = shutil.which("node")

# (input file, endpoint or "all", target mode, options)
PROMOTIONS = [
    ("shop.yaml", "get_users", "runtime", {}),
    ("shop.yaml", "get_users_id", "proxy", {}),
    ("shop.yaml", "get_users_id", "mock", {}),
    ("shop.yaml", "post_orders", "database", {"rows": 10}),
    ("shop.yaml", "post_orders", "runtime", {"language": "command"}),
    ("shop.yaml", "get_health", "replay", {}),
    ("shop.yaml", "all", "proxy", {"upstream": "http://127.0.0.1:8081"}),
    ("shop4.yaml", "get_users", "runtime", {"language": "node"}),
    ("shop4.yaml", "post_orders", "database", {}),
    ("shop4.yaml", "get_users_id", "proxy", {}),
    ("compact.yaml", "get_items_id", "runtime", {"language": "shell"}),
    ("compact.yaml", "get_items", "proxy", {}),
]


def project(tmp_path: Path, source: str = "shop.yaml") -> Path:
    path = tmp_path / "backworks.yaml"
    shutil.copyfile(GOLDEN / source, path)
    return path


def names_arg(name: str):
    return "all" if name == "all" else [name]


def comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backworks_cli", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )


def json_exchange(method: str, path: str, data: object, status: int = 200) -> Exchange:
    return Exchange(
        Request(method, path),
        Response(status, (("Content-Type", "application/json"),), json.dumps(data).encode()),
    )


def make_store(folder: Path, exchanges: list[Exchange]) -> None:
    with Store.open(folder / "recordings" / "backworks.db", create=True) as db:
        for exchange in exchanges:
            db.add(exchange)


# --- golden files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "name", "to", "options"), PROMOTIONS, ids=lambda v: v if isinstance(v, str) else ""
)
def test_promotion_matches_its_golden_file(tmp_path, source, name, to, options):
    path = project(tmp_path, source)
    before = path.read_text()
    result = promote(path, names_arg(name), to, **options)
    after = path.read_text()
    golden = GOLDEN / f"{Path(source).stem}.{name}.{to}.yaml"
    if UPDATE:
        golden.write_text(after)
    assert after == golden.read_text()
    assert result.written and result.changes
    assert comments(before) == comments(after)
    config = load_config(path)
    targets = list(config.endpoints) if name == "all" else [name]
    assert all(config.endpoints[n]["mode"] == to for n in targets)


def test_golden_files_in_the_folder_are_all_used():
    expected = {f"{Path(s).stem}.{n}.{t}.yaml" for s, n, t, _ in PROMOTIONS}
    inputs = {s for s, *_ in PROMOTIONS}
    assert {p.name for p in GOLDEN.glob("*.yaml")} == expected | inputs


@pytest.mark.parametrize("source", ["shop.yaml", "shop4.yaml"])
def test_only_the_mode_line_and_the_new_block_change(tmp_path, source):
    path = project(tmp_path, source)
    before = path.read_text().splitlines()
    promote(path, ["get_users"], "runtime")
    after = path.read_text().splitlines()
    ops = [
        op for op in difflib.SequenceMatcher(None, before, after).get_opcodes() if op[0] != "equal"
    ]
    (replaced, inserted) = ops
    assert replaced[0] == "replace" and replaced[2] - replaced[1] == 1
    assert before[replaced[1]].split() == [
        "mode:",
        "mock",
        "#",
        *comments_words(before[replaced[1]]),
    ]
    assert after[replaced[3]].split()[:2] == ["mode:", "runtime"]
    # the comment after the value keeps its column
    assert after[replaced[3]].index("#") == before[replaced[1]].index("#")
    assert inserted[0] == "insert"
    assert [line.strip() for line in after[inserted[3] : inserted[4]]] == [
        "runtime:",
        "language: python",
        "handler: handlers/get_users.py",
    ]


def comments_words(line: str) -> list[str]:
    return line.partition("#")[2].split()


# --- there and back --------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["shop.yaml", "shop4.yaml", "compact.yaml"])
def test_there_and_back_is_byte_identical(tmp_path, source):
    path = project(tmp_path, source)
    config = load_config(path)
    for name, spec in config.endpoints.items():
        home = spec.get("mode", "mock")
        for to in ("proxy", "runtime", "database", "replay", "mock"):
            if to == home:
                continue
            promote(path, [name], to, language="command")
            there = path.read_bytes()
            promote(path, [name], home)
            back = path.read_bytes()
            promote(path, [name], to)
            assert path.read_bytes() == there, (name, to)
            promote(path, [name], home)
            assert path.read_bytes() == back, (name, to)


def test_an_endpoint_that_has_the_block_goes_there_and_back_to_the_original_bytes(tmp_path):
    path = project(tmp_path)
    original = path.read_bytes()
    promote(path, ["get_health"], "mock")
    assert path.read_bytes() != original
    result = promote(path, ["get_health"], "proxy", upstream="http://127.0.0.1:1")
    assert path.read_bytes() == original
    assert result.changes[0].detail == "upstream http://127.0.0.1:9000"
    assert any("kept its proxy block" in note for note in result.notes)


def test_promoting_back_keeps_the_earlier_block_exactly(tmp_path):
    path = project(tmp_path)
    promote(path, ["get_users"], "runtime", language="node")
    promote(path, ["get_users"], "database")
    promote(path, ["get_users"], "runtime", language="python")
    spec = load_config(path).endpoints["get_users"]
    assert spec["mode"] == "runtime"
    assert spec["runtime"] == {"language": "node", "handler": "handlers/get_users.js"}
    assert spec["database"]["table"] == "users"
    assert not (tmp_path / "handlers" / "get_users.py").exists()


# --- the line edit over generated layouts ----------------------------------------------------


@st.composite
def layouts(draw):
    """A backworks.yaml in block style with drawn indentation, quoting, comments, blank lines,
    flow or block lists, optional `mode:` keys and blocks of modes left earlier."""
    step = draw(st.sampled_from([2, 3, 4]))
    dash = draw(st.sampled_from([0, 2]))
    pad, inner = " " * step, " " * (2 * step)
    lines = ["# generated", "upstream: http://127.0.0.1:9", "endpoints:"]
    count = draw(st.integers(1, 4))
    for i in range(count):
        if draw(st.booleans()):
            lines.append(f"{pad}# endpoint {i}")
        lines.append(f"{pad}ep{i}:")
        quote = draw(st.sampled_from(["", '"', "'"]))
        lines.append(f"{inner}path: {quote}/r{i}/{{id}}{quote}")
        if draw(st.booleans()):
            lines.append(f"{inner}methods: [GET]")
        else:
            lines += [f"{inner}methods:", f"{inner}{' ' * dash}- GET"]
        mode = draw(st.sampled_from([None, "mock", "replay", "proxy"]))
        if mode is not None:
            quote = draw(st.sampled_from(["", '"', "'"]))
            comment = draw(st.sampled_from(["", "  # chosen", " # x"]))
            lines.append(f"{inner}mode: {quote}{mode}{quote}{comment}")
        if mode == "proxy" or draw(st.booleans()):
            lines += [f"{inner}proxy:", f"{inner}{pad}upstream: http://127.0.0.1:{i + 1}"]
        if draw(st.booleans()):
            lines += [f"{inner}replay:", f"{inner}{pad}sequence: cycle   # note"]
        if draw(st.booleans()):
            lines.append(f"{inner}# trailing note of ep{i}")
        if draw(st.booleans()):
            lines.append("")
    if draw(st.booleans()):
        lines.append("# the end")
    text = "\n".join(lines)
    return text + ("\n" if draw(st.booleans()) else ""), count


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), layout=layouts())
def test_line_edit_keeps_every_other_line_and_goes_there_and_back(data, layout):
    text, count = layout
    name = f"ep{data.draw(st.integers(0, count - 1))}"
    to = data.draw(st.sampled_from(["mock", "replay", "proxy", "runtime", "database"]))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "backworks.yaml"
        path.write_text(text)
        old = yaml.safe_load(text)
        home = old["endpoints"][name].get("mode", "mock")

        def step(mode: str) -> bytes:
            plan = plan_promotion(path, [name], mode, language="command")
            path.write_bytes(plan.new)
            return plan.new

        there = step(to).decode()
        if to == home and (to in ("mock", "replay") or to in old["endpoints"][name]):
            assert there == text  # already there: nothing to change
            return
        new = yaml.safe_load(there)
        assert new["endpoints"][name]["mode"] == to
        for other in old["endpoints"]:
            if other != name:
                assert new["endpoints"][other] == old["endpoints"][other]
        kept = {k: v for k, v in new["endpoints"][name].items() if k not in ("mode", to)}
        assert kept == {k: v for k, v in old["endpoints"][name].items() if k not in ("mode", to)}
        before, after = text.splitlines(), there.splitlines()
        for op, i1, i2, j1, _j2 in difflib.SequenceMatcher(None, before, after).get_opcodes():
            assert op in ("equal", "insert", "replace"), op
            if op == "replace":
                assert i2 - i1 == 1 and "mode:" in before[i1] and "mode:" in after[j1]
        if to != home:
            back = step(home)
            assert step(to).decode() == there
            assert step(home) == back


# --- dry run, --all, errors --------------------------------------------------------------------


def test_dry_run_changes_nothing_and_returns_the_diff(tmp_path):
    path = project(tmp_path)
    before = path.read_bytes()
    result = promote(path, ["get_users"], "runtime", dry_run=True)
    assert path.read_bytes() == before
    assert not (tmp_path / "handlers").exists()
    assert not result.written and result.files == ()
    assert (
        "+    mode: runtime" in result.diff
        and "+      handler: handlers/get_users.py" in result.diff
    )
    assert (
        result.changes[0].render() == "get_users: mock -> runtime (handler handlers/get_users.py)"
    )


def test_all_promotes_every_endpoint_and_notes_those_already_there(tmp_path):
    path = project(tmp_path)
    result = promote(path, "all", "replay")
    assert [c.endpoint for c in result.changes] == ["get_users", "post_orders", "get_health"]
    assert result.notes == ("get_users_id is already in mode replay.",)
    config = load_config(path)
    assert {spec["mode"] for spec in config.endpoints.values()} == {"replay"}


def test_nothing_to_change_writes_nothing(tmp_path):
    path = project(tmp_path)
    stamp = path.stat().st_mtime_ns
    result = promote(path, ["get_users_id"], "replay")
    assert not result.written and result.diff == "" and result.changes == ()
    assert path.stat().st_mtime_ns == stamp


def test_unknown_endpoint_names_the_closest_and_lists_all(tmp_path):
    path = project(tmp_path)
    with pytest.raises(BackworksError) as caught:
        promote(path, ["get_user"], "runtime")
    assert caught.value.exit_code == ExitCode.USAGE
    assert "did you mean 'get_users'" in caught.value.message
    assert "get_users, get_users_id, post_orders, get_health" in caught.value.hint


def test_proxy_without_any_upstream_names_both_ways_to_give_one(tmp_path):
    path = tmp_path / "backworks.yaml"
    path.write_text("endpoints:\n  a:\n    path: /a\n")
    with pytest.raises(BackworksError) as caught:
        promote(path, ["a"], "proxy")
    assert "--upstream" in caught.value.hint and "`upstream:`" in caught.value.hint
    with pytest.raises(BackworksError, match="not an http"):
        promote(path, ["a"], "proxy", upstream="ftp://x")
    assert path.read_text() == "endpoints:\n  a:\n    path: /a\n"


def test_broken_yaml_is_a_line_numbered_error_and_the_file_is_untouched(tmp_path):
    path = tmp_path / "backworks.yaml"
    text = "endpoints:\n  a:\n    path: /a\n    methods: [GET\n"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"backworks\.yaml:\d+"):
        promote(path, ["a"], "mock")
    assert path.read_text() == text


def test_a_file_changed_after_reading_is_not_overwritten(tmp_path):
    path = project(tmp_path)
    plan = plan_promotion(path, ["get_users"], "runtime")
    edited = path.read_text().replace('name: "shop"', 'name: "shop2"')
    path.write_text(edited)
    with pytest.raises(ConfigError, match="changed on disk"):
        apply(plan)
    assert path.read_text() == edited
    assert not (tmp_path / "handlers").exists()


def test_a_file_touched_after_reading_is_not_overwritten(tmp_path):
    path = project(tmp_path)
    plan = plan_promotion(path, ["get_users"], "replay")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    with pytest.raises(ConfigError, match="changed on disk"):
        apply(plan)
    assert "mode: mock" in path.read_text()


def test_line_endings_and_byte_order_mark_are_kept(tmp_path):
    path = tmp_path / "backworks.yaml"
    path.write_bytes(b"\xef\xbb\xbfendpoints:\r\n  a:\r\n    path: /a\r\n    mode: mock\r\n")
    promote(path, ["a"], "proxy", upstream="http://127.0.0.1:1")
    assert path.read_bytes() == (
        b"\xef\xbb\xbfendpoints:\r\n  a:\r\n    path: /a\r\n    mode: proxy\r\n"
        b"    proxy:\r\n      upstream: http://127.0.0.1:1\r\n      record: false\r\n"
    )


def test_an_endpoint_shared_through_a_merge_key_is_refused_rather_than_changed_twice(tmp_path):
    path = tmp_path / "backworks.yaml"
    text = "endpoints:\n  a: &a\n    path: /a\n  b:\n    <<: *a\n    path: /b\n"
    path.write_text(text)
    with pytest.raises(ConfigError, match="without changing other settings"):
        promote(path, ["a"], "replay")
    assert path.read_text() == text
    promote(path, ["b"], "replay")
    promote(path, ["a"], "replay")  # b has its own mode now
    config = load_config(path)
    assert config.endpoints["a"]["mode"] == config.endpoints["b"]["mode"] == "replay"


# --- blocks ----------------------------------------------------------------------------------


def test_database_block_names_the_collection_and_its_id_field(tmp_path):
    path = project(tmp_path)
    promote(path, ["post_orders", "get_users_id"], "database", rows=7)
    endpoints = load_config(path).endpoints
    assert endpoints["post_orders"]["database"] == {
        "file": "data/backworks.sqlite",
        "table": "orders",
        "primary_key": "order_id",
        "rows": 7,
    }
    assert endpoints["get_users_id"]["database"]["table"] == "users"
    assert endpoints["get_users_id"]["database"]["primary_key"] == "id"


@pytest.mark.parametrize(
    ("path", "table"),
    [
        ("/api/users/{id}", "users"),
        ("/api/users", "users"),
        ("/v1/users/{uid}/order-items/{id}", "order_items"),
        ("/2024/{x}", "t_2024"),
        ("/{id}", "items"),
    ],
)
def test_table_name_is_the_paths_collection(path, table):
    assert table_name(make_endpoint("get_root", {"path": path})) == table


def test_primary_key_comes_from_the_schema_or_the_path():
    envelope = {
        "type": "object",
        "properties": {
            "data": {
                "type": "array",
                "items": {"type": "object", "properties": {"sku": {}, "product_id": {}}},
            }
        },
    }
    listed = {"path": "/products", "responses": {"200": {"schema": envelope}}}
    assert primary_key(make_endpoint("a", listed)) == "product_id"
    assert primary_key(make_endpoint("b", {"path": "/things/{thing_id}"})) == "thing_id"
    assert primary_key(make_endpoint("c", {"path": "/things"})) == "id"


def test_database_promotion_creates_and_seeds_a_real_table(tmp_path):
    path = project(tmp_path)
    result = promote(path, ["get_users"], "database", rows=5)
    block = load_config(path).endpoints["get_users"]["database"]
    database = tmp_path / block["file"]
    with sqlite3.connect(database) as conn:
        rows = conn.execute(f"SELECT COUNT(*) FROM {block['table']}").fetchone()[0]
    assert rows == 5
    assert any(note.startswith(f"{block['table']}: 5 rows") for note in result.notes)


def test_a_dry_run_database_promotion_creates_no_table(tmp_path):
    path = project(tmp_path)
    before = path.read_bytes()
    result = promote(path, ["get_users"], "database", rows=5, dry_run=True)
    assert not result.written and path.read_bytes() == before
    assert not (tmp_path / "data").exists()


def test_a_failing_provision_leaves_the_file_unchanged(tmp_path):
    path = project(tmp_path)
    (tmp_path / "data").write_text("a file where the database folder goes\n")
    before = path.read_bytes()
    with pytest.raises(BackworksError, match=r"data/backworks\.sqlite") as caught:
        promote(path, ["get_users"], "database")
    assert caught.value.hint
    assert path.read_bytes() == before


def test_a_failing_handler_write_removes_the_handlers_made_before_it(tmp_path):
    path = project(tmp_path)
    # get_users_id keeps a runtime block whose handler folder is a regular file.
    text = path.read_text().replace(
        'path: "/api/users/{id}"\n',
        'path: "/api/users/{id}"\n    runtime:\n      language: python\n'
        "      handler: blocked/get_users_id.py\n",
    )
    path.write_text(text)
    (tmp_path / "blocked").write_text("not a folder\n")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match=r"blocked/get_users_id\.py"):
        promote(path, ["get_users", "get_users_id"], "runtime")
    assert path.read_bytes() == before
    assert not (tmp_path / "handlers" / "get_users.py").exists()


def test_command_runtime_writes_a_placeholder_and_says_so(tmp_path):
    path = project(tmp_path)
    result = promote(path, ["get_users"], "runtime", language="command")
    block = load_config(path).endpoints["get_users"]["runtime"]
    assert block == {"language": "command", "command": ["./handlers/get_users"]}
    assert result.files == ()
    assert "placeholder" in result.notes[0] and "JSON request per line" in result.notes[0]


# --- runtime scaffolds -----------------------------------------------------------------------


def load_handler(path: Path):
    spec = importlib.util.spec_from_file_location("handler_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_python_scaffold_answers_with_the_recorded_example(tmp_path):
    recorded = [{"id": 1, "email": "ann@example.com"}]
    make_store(tmp_path, [json_exchange("GET", "/api/users", recorded)])
    path = project(tmp_path)
    result = promote(path, ["get_users"], "runtime")
    handler = tmp_path / "handlers" / "get_users.py"
    assert result.files == (handler,)
    answer = load_handler(handler).handle({"method": "GET", "path": "/api/users", "id": 1})
    assert answer == {
        "status": 200,
        "headers": {"content-type": "application/json"},
        "body": recorded,
    }
    assert "recorded example (exchange 1)" in handler.read_text()


def test_python_scaffold_without_recordings_answers_generated_data(tmp_path):
    path = project(tmp_path)
    promote(path, ["post_orders"], "runtime")
    answer = load_handler(tmp_path / "handlers" / "post_orders.py").handle({})
    assert answer["status"] == 201
    assert isinstance(answer["body"], dict) and set(answer["body"]) <= {"order_id", "total"}


def test_an_existing_handler_is_never_overwritten(tmp_path):
    path = project(tmp_path)
    handler = tmp_path / "handlers" / "get_users.py"
    handler.parent.mkdir()
    handler.write_text("def handle(request):\n    return {'status': 204}\n")
    result = promote(path, ["get_users"], "runtime")
    assert handler.read_text() == "def handle(request):\n    return {'status': 204}\n"
    assert result.files == ()
    assert "kept the existing handler handlers/get_users.py" in result.notes[0]


def test_examples_carry_text_and_binary_bodies_as_the_protocol_says():
    endpoint = make_endpoint("e", {"path": "/e", "examples": [1]})

    def answer(content_type, body):
        response = Response(200, (("Content-Type", content_type),), body)
        return example_response(endpoint, lambda _id: response)[0]

    assert answer("text/plain", b"hello")["body"] == "hello"
    assert answer("application/json", b'"quoted"')["body"] == '"quoted"'
    assert answer("application/problem+json", b'{"a": 1}')["body"] == {"a": 1}
    png = b"\x89PNG\xff"
    assert answer("image/png", png)["body_base64"] == base64.b64encode(png).decode()
    assert example_response(endpoint)[0] == {
        "status": 200,
        "headers": {"content-type": "application/json"},
        "body": {},
    }


@pytest.mark.parametrize("language", ["python", "node", "shell"])
def test_a_promoted_endpoint_answers_as_it_did_until_its_handler_is_edited(tmp_path, language):
    if language == "node" and NODE is None:
        pytest.skip("node is not installed")
    from backworks_cli.answer.engine import Engine

    recorded = [{"id": 1, "email": "ann@example.com"}]
    make_store(tmp_path, [json_exchange("GET", "/api/users", recorded)])
    path = project(tmp_path)

    def answer() -> tuple[str, int, object]:
        engine = Engine.build(load_config(path))
        try:
            outcome = engine.handle(Request("GET", "/api/users"))
        finally:
            for served in engine._served.values():
                getattr(served.mode, "close", lambda: None)()
        response = outcome.response
        return outcome.mode, response.status, json.loads(response.body)

    assert answer() == ("mock", 200, recorded)
    promote(path, ["get_users"], "runtime", language=language)
    assert answer() == ("runtime", 200, recorded)


REQUEST = {
    "params": {"id": 42},
    "id": 7,
    "method": "GET",
    "path": "/api/users/42",
    "query": {"page": ["2"]},
    "headers": {"accept": "application/json"},
    "body": {"id": 'not "this" one', "n": [1, {"id": 9}]},
}


def answer_lines(argv: list[str], requests: list[dict | str]) -> list[dict]:
    lines = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in requests)
    done = subprocess.run(argv, input=lines, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_node_scaffold_answers_json_lines_in_order(tmp_path):
    recorded = {"id": 42, "name": "Ann", "note": "it's"}
    make_store(tmp_path, [json_exchange("GET", "/api/users/42", recorded)])
    path = project(tmp_path)
    text = path.read_text().replace(
        "sequence: repeat_last", "sequence: repeat_last\n    examples: [1]"
    )
    path.write_text(text)
    promote(path, ["get_users_id"], "runtime", language="node")
    handler = tmp_path / "handlers" / "get_users_id.js"
    assert os.access(handler, os.X_OK)
    answers = answer_lines([NODE, str(handler)], [REQUEST, "not json", {**REQUEST, "id": 8}])
    expected = {"status": 200, "headers": {"content-type": "application/json"}, "body": recorded}
    assert answers[0] == {"id": 7, **expected}
    assert answers[1]["id"] is None and answers[1]["status"] == 500
    assert answers[2] == {"id": 8, **expected}


def test_shell_scaffold_answers_json_lines_in_order(tmp_path):
    path = project(tmp_path)
    promote(path, ["get_users"], "runtime", language="shell")
    handler = tmp_path / "handlers" / "get_users.sh"
    assert os.access(handler, os.X_OK)
    example = json.loads(handler.read_text().split("EXAMPLE='")[1].split("'\n")[0])
    requests = [REQUEST, {"body": None, "id": "r-2", "path": "/api/users"}, {**REQUEST, "id": 3}]
    answers = answer_lines(["sh", str(handler)], requests)
    assert [a.pop("id") for a in answers] == [7, "r-2", 3]
    assert answers == [example] * 3
    assert example["status"] == 200 and isinstance(example["body"], list)


def test_shell_scaffold_keeps_single_quotes_of_the_example(tmp_path):
    recorded = {"note": "it's 'quoted' $HOME `x`"}
    make_store(tmp_path, [json_exchange("GET", "/api/users", recorded)])
    path = project(tmp_path)
    promote(path, ["get_users"], "runtime", language="shell")
    answers = answer_lines(["sh", str(tmp_path / "handlers" / "get_users.sh")], [REQUEST])
    assert answers == [
        {"id": 7, "status": 200, "headers": {"content-type": "application/json"}, "body": recorded}
    ]


# --- modes -----------------------------------------------------------------------------------


def test_modes_lists_what_backs_each_endpoint(tmp_path):
    make_store(
        tmp_path,
        [
            json_exchange("GET", "/api/users", []),
            json_exchange("GET", "/api/users/1", {}),
            json_exchange("GET", "/api/users/2", {}),
            json_exchange("GET", "/nowhere", {}),
        ],
    )
    path = project(tmp_path)
    promote(path, ["post_orders"], "database")
    promote(path, ["get_users"], "runtime")
    rows = {row.endpoint: row for row in endpoint_modes(load_config(path))}
    assert rows["get_users"].backing == "handlers/get_users.py (python)"
    assert rows["get_users_id"].backing == "2 recording(s)"
    assert rows["post_orders"].backing == "orders@data/backworks.sqlite"
    assert rows["get_health"].backing == "http://127.0.0.1:9000"
    table = modes_table(list(rows.values())).splitlines()
    assert table[0].split() == ["ENDPOINT", "PATH", "METHODS", "MODE", "BACKED", "BY"]
    assert table[2].split()[:4] == ["get_users_id", "/api/users/{id}", "GET", "replay"]


def test_modes_without_a_store_or_handler_says_so(tmp_path):
    path = project(tmp_path)
    promote(path, ["get_users"], "runtime", language="command")
    promote(path, ["get_users_id"], "proxy")
    (tmp_path / "handlers").mkdir(exist_ok=True)
    rows = {row.endpoint: row for row in endpoint_modes(load_config(path))}
    assert rows["get_users"].backing == "command: ./handlers/get_users"
    assert rows["get_users_id"].backing == "https://api.shop.example"
    assert rows["post_orders"].backing == "no recordings store + schema"


# --- the commands ----------------------------------------------------------------------------


def test_cli_promote_reports_on_stderr_and_writes(tmp_path):
    project(tmp_path)
    done = run(tmp_path, "promote", "get_users", "--to", "runtime")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "get_users: mock -> runtime (handler handlers/get_users.py)" in done.stderr
    assert (tmp_path / "handlers" / "get_users.py").is_file()


def test_cli_dry_run_prints_the_diff_and_writes_nothing(tmp_path):
    path = project(tmp_path)
    before = path.read_bytes()
    done = run(tmp_path, "promote", "--all", "--to", "runtime", "--language", "node", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("--- backworks.yaml (before)\n+++ backworks.yaml (after)\n")
    assert done.stdout.count("+    runtime:") == 4
    assert "Dry run: nothing was written." in done.stderr
    assert path.read_bytes() == before
    assert not (tmp_path / "handlers").exists()


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["promote", "get_user", "--to", "runtime"], 2, ["did you mean 'get_users'"]),
        (["promote", "get_users", "--to", "sql"], 2, ["'proxy'", "'runtime'", "'database'"]),
        (["promote", "get_users", "--to", "runtime", "--language", "go"], 2, ["'python'"]),
        (["promote", "--to", "mock"], 2, ["--all"]),
        (["promote", "get_users", "--all", "--to", "mock"], 2, ["not both"]),
        (["promote", "get_users", "--to", "mock", "-c", "missing.yaml"], 3, ["no such file"]),
        (["modes", "-c", "missing.yaml"], 3, ["no such file"]),
    ],
)
def test_cli_errors_are_messages_with_exit_codes(tmp_path, args, code, words):
    path = project(tmp_path)
    before = path.read_bytes()
    done = run(tmp_path, *args)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr
    assert path.read_bytes() == before


def test_cli_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "backworks.yaml"
    path.write_text("endpoints:\n  a:\n    path: /a\n   methods: [GET]\n")
    done = run(tmp_path, "promote", "a", "--to", "replay")
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert "backworks.yaml:4" in done.stderr


def test_cli_modes_prints_the_table_on_stdout(tmp_path):
    project(tmp_path)
    done = run(tmp_path, "modes")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["ENDPOINT", "PATH", "METHODS", "MODE"]
    assert [line.split()[0] for line in lines[1:]] == [
        "get_users",
        "get_users_id",
        "post_orders",
        "get_health",
    ]
