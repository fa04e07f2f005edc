"""The YAML readers' limits in process: the alias budget counted exactly, aliases that contain
themselves, nesting depth, numbers too long for Python, each with the line it names."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backworks_cli.config.yamlfile import (
    ALIAS_BUDGET,
    MAX_DEPTH,
    YamlError,
    load_json_like,
    load_plain,
    load_yaml12,
    read_marked,
    round_trip_load,
)
from backworks_cli.core.errors import ConfigError

READERS = [load_plain, load_json_like]


def shared(items: int, aliases: int) -> str:
    """A list of `items` numbers under an anchor, then a list of `aliases` aliases of it on
    line 3: each alias adds items + 1 values (the list and its items)."""
    listed = ", ".join(str(n) for n in range(items))
    return f"x: 1\na: &a [{listed}]\nb: [{', '.join(['*a'] * aliases)}]\n"


@pytest.mark.parametrize("read", READERS)
def test_aliases_may_add_exactly_the_budget(read):
    assert ALIAS_BUDGET == 100_000
    data = read(shared(99, 1000))  # 1,000 aliases of 100 values: 100,000 added
    assert len(data["b"]) == 1000 and data["b"][0] == list(range(99))


@pytest.mark.parametrize("read", READERS)
def test_one_value_over_the_budget_is_refused_at_the_value_that_grew_past_it(read):
    with pytest.raises(YamlError) as caught:
        read(shared(99, 1001))
    error = caught.value
    assert error.line == 3
    assert "100,101 values" in error.problem and "100,000" in error.problem
    assert "alias" in error.hint


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 400), st.integers(1, 400))
def test_the_budget_counts_every_value_an_alias_adds(items, aliases):
    text = shared(items, aliases)
    if (items + 1) * aliases > ALIAS_BUDGET:
        with pytest.raises(YamlError):
            load_plain(text)
    else:
        assert len(load_plain(text)["b"]) == aliases


def test_nested_aliases_are_counted_as_they_expand():
    # Each level repeats the one before ten times: 10, 101, 1,011, 10,111, 101,111 values, past
    # the budget at the level on line 5.
    lines = ["l0: &l0 [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    for level in range(1, 7):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]")
    with pytest.raises(YamlError) as caught:
        load_plain("\n".join(lines))
    assert caught.value.line == 5
    # A level fewer is well within it.
    assert len(load_plain("\n".join(lines[:4]))["l3"]) == 10


def test_an_alias_that_contains_itself_is_refused():
    with pytest.raises(YamlError) as caught:
        load_plain("ok: 1\nloop: &a [1, *a]\n")
    assert caught.value.line == 2 and "contains itself" in caught.value.problem


def test_text_without_aliases_is_not_walked():
    # An anchor with no alias, and a "*" that is only text.
    assert load_plain("a: &x [1]\nb: '*x'\n") == {"a": [1], "b": "*x"}


@pytest.mark.parametrize("read", [*READERS, load_yaml12])
def test_a_number_longer_than_python_reads_is_named_with_its_line(read):
    limit = sys.get_int_max_str_digits()
    with pytest.raises(YamlError) as caught:
        read(f"a: 1\nb: [2, {'9' * (limit + 1)}]\n")
    error = caught.value
    assert error.line == 2 and f"{limit + 1:,} digits" in error.problem
    assert "Quote" in error.hint
    assert read(f"b: '{'9' * (limit + 1)}'")["b"] == "9" * (limit + 1)
    assert read(f"b: {'9' * limit}")["b"] == int("9" * limit)


def nested(depth: int, style: str) -> str:
    if style == "flow":
        return "\n".join(["["] * depth + ["]"] * depth)
    return "".join(f"{' ' * level}k:\n" for level in range(depth - 1)) + " " * depth + "v: 1\n"


@pytest.mark.parametrize(
    ("style", "depth"),
    [
        ("flow", MAX_DEPTH + 1),
        ("flow", 3_000),
        ("flow", 200_000),
        ("block", MAX_DEPTH + 1),
        ("block", 3_000),
    ],
)
@pytest.mark.parametrize("read", READERS)
def test_nesting_deeper_than_the_limit_names_the_line_where_it_passes_it(read, depth, style):
    # 200,000 levels used to crash the process inside libyaml; fewer gave a RecursionError.
    # (Block style grows with the square of its depth: its indentation.)
    with pytest.raises(YamlError) as caught:
        read(nested(depth, style))
    assert caught.value.line == MAX_DEPTH + 1
    assert f"more than {MAX_DEPTH} levels" in caught.value.problem
    assert "Flatten" in caught.value.hint


@pytest.mark.parametrize("style", ["flow", "block"])
def test_nesting_at_the_limit_loads(style):
    data = load_plain(nested(MAX_DEPTH, style))
    for _ in range(MAX_DEPTH - 1):
        data = data[0] if style == "flow" else data["k"]
    assert data in ([], {"v": 1})


def test_deep_nesting_in_backworks_yaml_and_in_edits_is_a_config_error(tmp_path):
    text = nested(200_000, "flow")
    with pytest.raises(ConfigError) as caught:
        read_marked(text, "backworks.yaml", "hint")
    assert caught.value.message.startswith(f"backworks.yaml:{MAX_DEPTH + 1}: nested more than")
    with pytest.raises(ConfigError) as caught:
        round_trip_load(text, tmp_path / "b.yaml", "updating", "hint")
    assert "Flatten" in caught.value.hint


def test_not_yaml_is_a_yaml_error_with_line_and_column():
    with pytest.raises(YamlError) as caught:
        load_plain("a: 1\nb: [1, 2\n")
    assert caught.value.line == 3 and caught.value.column is not None
    assert load_plain("") is None


def test_backworks_yaml_over_the_budget_is_a_config_error_with_file_and_line():
    with pytest.raises(ConfigError) as caught:
        read_marked(shared(99, 1001), "backworks.yaml", "hint")
    assert caught.value.message.startswith("backworks.yaml:3: YAML aliases expand")
    data, marks, problems = read_marked(shared(3, 2), "backworks.yaml", "hint")
    assert data["b"] == [[0, 1, 2], [0, 1, 2]] and marks[("b",)] == 3 and problems == []


def test_a_round_trip_edit_refuses_a_file_over_the_budget(tmp_path):
    path = tmp_path / "backworks.yaml"
    with pytest.raises(ConfigError) as caught:
        round_trip_load(shared(99, 1001), path, "updating", "hint")
    assert caught.value.message.startswith(f"{path}:3: ")
    assert "alias" in caught.value.hint
    # Within it, the document loads with its comments.
    doc = round_trip_load("# kept\n" + shared(3, 2), path, "updating", "hint")
    assert list(doc["b"][1]) == [0, 1, 2]
    # Text that is not YAML is reported by the reader that follows, with its line.
    with pytest.raises(ConfigError) as caught:
        round_trip_load("a: [1\n", path, "updating", "hint")
    assert caught.value.message.startswith(f"{path}:2: cannot be read for updating")
