"""A corpus of broken backworks.yaml files, each through the CLI (and through the loader in
process): exit 3, a message naming the file and line, never a traceback, and no runaway work
(alias bombs, deep nesting, numbers too long for Python)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backworks_cli.config.load import load_config
from backworks_cli.config.yamlfile import ALIAS_BUDGET, MAX_DEPTH, YamlError, load_json_like
from backworks_cli.core.errors import ConfigError
from tests.conftest import run_cli


def _bomb(under: str, indent: str, levels: int = 9) -> list[str]:
    """Nine aliases of nine aliases ..., `levels` deep: 9**levels values from ~600 bytes."""
    lines = [f"{under}:"]
    lines.append(f'{indent}a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]')
    for i in range(1, levels + 1):
        lines.append(f"{indent}a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return lines


ENDPOINT = ["endpoints:", "  a:", "    path: /a"]

# name: (text, line the message names, words it holds)
CORPUS: dict[str, tuple[str, int, str]] = {
    "alias bomb in examples": (
        "\n".join([*ENDPOINT, *_bomb("    examples", "      ")]),
        10,
        "YAML aliases expand this value",
    ),
    "alias bomb in responses": (
        "\n".join([*ENDPOINT, "    responses:", *_bomb('      "200"', "        ")]),
        11,
        "YAML aliases expand this value",
    ),
    "alias bomb at the top level": (
        "\n".join([*_bomb("anchors", "  "), *ENDPOINT, "    examples: {x: *a9}"]),
        7,
        "YAML aliases expand this value",
    ),
    "alias that contains itself": (
        "\n".join([*ENDPOINT, "    examples: &e", "      x: *e"]),
        4,
        "contains itself",
    ),
    "nesting 20,000 lists deep": ("x: " + "[" * 20_000 + "]" * 20_000, 1, "levels deep"),
    "nesting 3,000 mappings deep in an example": (
        "\n".join([*ENDPOINT, "    examples: " + "{a: " * 3000 + "1" + "}" * 3000]),
        4,
        "levels deep",
    ),
    "a 5,000-digit port": ("server:\n  port: " + "9" * 5000, 2, "5,000 digits"),
    "a 5,000-digit example": (
        "\n".join([*ENDPOINT, "    examples:", "      n: " + "9" * 5000]),
        5,
        "5,000 digits",
    ),
    "a date that is no date": (
        "\n".join([*ENDPOINT, "    x-since: 2024-13-45"]),
        4,
        "reads as a date but is not one",
    ),
    "nesting 200,000 lists deep": ("x: " + "[" * 200_000 + "]" * 200_000, 1, "levels deep"),
    "an integer endpoint name": ("endpoints:\n  123:\n    path: /a", 2, "read by YAML as a number"),
    "a float endpoint name": ("endpoints:\n  1.5:\n    path: /a", 2, "as a number"),
    "a yes/no endpoint name": ("endpoints:\n  on:\n    path: /a", 2, "true/false"),
    "a date endpoint name": ("endpoints:\n  2024-01-01:\n    path: /a", 2, "as a date"),
    "an empty endpoint name": ("endpoints:\n  ~:\n    path: /a", 2, "empty name"),
    "a tab": ("endpoints:\n  a:\n\tpath: /a", 3, "invalid YAML"),
    "a key twice": ("\n".join([*ENDPOINT, "    path: /b"]), 4, "duplicate key"),
    "a misspelt key": ("endpionts:\n  a:\n    path: /a", 1, 'did you mean "endpoints"'),
    "an unknown mode": ("\n".join([*ENDPOINT, "    mode: mokc"]), 4, 'did you mean "mock"'),
    "a list at the top": ("- a\n- b", 1, "must be a mapping"),
    "an endpoint that is text": ("endpoints:\n  a: /users", 2, "expected a mapping"),
    "an empty endpoint": ("endpoints:\n  a:", 2, "expected a mapping"),
    "an unterminated quote": ('name: "abc', 2, "invalid YAML"),
    "a colon in a plain value": ("endpoints:\n  a:\n    path: /a: b", 3, "invalid YAML"),
    "two documents": ("name: a\n---\nname: b", 2, "another document"),
    "a NUL byte": ("name: a\x00b", 1, "control characters"),
    "a list as a key": ("endpoints:\n  ? [a, b]\n  : {path: /a}", 2, "unhashable"),
    "merging a scalar": ("b: &b 1\nendpoints:\n  a:\n    <<: *b\n    path: /a", 1, "merging"),
    "an undefined alias": ("endpoints:\n  a: *nope", 2, "undefined alias"),
    "a Python tag": ("endpoints:\n  a: !!python/object:os.system {path: /a}", 2, "constructor"),
    "a port as a word": ("server:\n  port: eighty", 2, "expected an integer"),
    "a port out of range": ("server:\n  port: 70000", 2, "out of range"),
    "a path without a slash": ("endpoints:\n  a:\n    path: users", 3, "must start with /"),
    "no path": ("endpoints:\n  a:\n    mode: mock", 2, 'missing required key "path"'),
    "a handler outside the project": (
        "\n".join([*ENDPOINT, "    mode: runtime", "    runtime: {handler: ../evil.py}"]),
        5,
        "outside",
    ),
}


@pytest.mark.parametrize("name", CORPUS)
def test_a_broken_config_is_a_line_numbered_error(tmp_path, name):
    text, line, words = CORPUS[name]
    (tmp_path / "backworks.yaml").write_text(text + "\n", encoding="utf-8")
    # A deadline against runaway work, not a timing assertion: each case finishes in well
    # under a second.
    result = run_cli("modes", cwd=tmp_path, timeout=30)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"Error: backworks.yaml:{line}"), result.stderr
    assert words in result.stderr, result.stderr
    assert "Hint:" in result.stderr


@pytest.mark.parametrize("name", CORPUS)
def test_a_broken_config_loaded_in_process_is_the_same_config_error(tmp_path, monkeypatch, name):
    """The loader itself gives what the CLI prints: the file and line first, then the words."""
    text, line, words = CORPUS[name]
    monkeypatch.chdir(tmp_path)
    Path("backworks.yaml").write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(Path("backworks.yaml"))
    first = caught.value.message.splitlines()[0]
    assert first.startswith(f"backworks.yaml:{line}"), caught.value.message
    assert words in caught.value.message
    assert caught.value.hint


def test_bytes_that_are_not_utf8_are_named(tmp_path):
    (tmp_path / "backworks.yaml").write_bytes(b"name: caf\xe9\n")
    result = run_cli("modes", cwd=tmp_path, timeout=30)
    assert result.returncode == 3
    assert "not UTF-8 text (byte 9)" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_alias_bomb_in_an_openapi_document_is_refused_with_its_line(tmp_path):
    spec = [
        "openapi: 3.0.0",
        'info: {title: t, version: "1"}',
        *_bomb("x-bomb", "  "),
        "paths:",
        "  /a:",
        "    get:",
        '      responses: {"200": {description: ok, x-b: *a9}}',
    ]
    (tmp_path / "spec.yaml").write_text("\n".join(spec) + "\n")
    result = run_cli("import", "openapi", "spec.yaml", cwd=tmp_path, timeout=30)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: spec.yaml:9: ")
    assert "YAML aliases expand" in result.stderr
    assert not (tmp_path / "backworks.yaml").exists()


def test_shared_anchors_within_the_budget_still_load(tmp_path):
    # One anchor used by many endpoints is what anchors are for.
    lines = ["endpoints:", "  e0:", "    path: /e0", "    methods: &methods [GET, POST]"]
    for n in range(1, 200):
        lines += [f"  e{n}:", f"    path: /e{n}", "    methods: *methods"]
    (tmp_path / "backworks.yaml").write_text("\n".join(lines) + "\n")
    result = run_cli("modes", cwd=tmp_path, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("GET,POST") == 200


def test_the_budget_counts_values_added_by_aliases_not_written_ones():
    written = "[" + ",".join(str(n) for n in range(ALIAS_BUDGET + 10)) + "]"
    assert len(load_json_like(written)) == ALIAS_BUDGET + 10
    within = "a: &a [" + ",".join(["1"] * 1000) + "]\nb: [" + ",".join(["*a"] * 99) + "]"
    assert len(load_json_like(within)["b"]) == 99
    over = "a: &a [" + ",".join(["1"] * 1000) + "]\nb: [" + ",".join(["*a"] * 101) + "]"
    with pytest.raises(YamlError) as caught:
        load_json_like(over)
    assert caught.value.line == 2
    assert "YAML aliases expand" in caught.value.problem


def test_nesting_just_under_the_depth_limit_loads():
    text = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    value = load_json_like(text)
    assert isinstance(value, list)
