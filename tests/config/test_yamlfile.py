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


ALIAS_HINT = (
    "Each *alias repeats its &anchor's whole value; write shared values once with fewer "
    "nested aliases, or inline them."
)


@pytest.mark.parametrize("read", READERS)
def test_one_value_over_the_budget_is_refused_at_the_value_that_grew_past_it(read):
    with pytest.raises(YamlError) as caught:
        read(shared(99, 1001))
    error = caught.value
    assert error.line == 3
    assert error.problem == (
        "YAML aliases expand this value to 100,101 values, more than the 100,000 that "
        "aliases may add to a document"
    )
    assert error.hint == ALIAS_HINT
    # 9,091 aliases of 11 values add 100,001: one over.
    with pytest.raises(YamlError):
        read(shared(10, 9091))


def test_the_value_named_is_the_first_past_the_budget_not_one_at_it():
    # b holds exactly 100,000 values, and only c's aliases take the document past the budget:
    # the first value over it is the whole document, on line 1.
    text = (
        "a: &a [" + ", ".join(["0"] * 99) + "]\n"
        "b: [" + ", ".join(["*a"] * 999 + ["0"] * 99) + "]\n"
        "c: [*a, *a]\n"
    )
    with pytest.raises(YamlError) as caught:
        load_plain(text)
    assert caught.value.line == 1


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
    assert caught.value.line == 2
    assert caught.value.problem == "a YAML alias that contains itself, which expands without end"
    assert caught.value.hint == ALIAS_HINT


def test_text_without_aliases_is_not_walked():
    # An anchor with no alias, and a "*" that is only text.
    assert load_plain("a: &x [1]\nb: '*x'\n") == {"a": [1], "b": "*x"}


@pytest.mark.parametrize("read", [*READERS, load_yaml12])
def test_a_number_longer_than_python_reads_is_named_with_its_line(read):
    limit = sys.get_int_max_str_digits()
    with pytest.raises(YamlError) as caught:
        read(f"a: 1\nb: [2, {'9' * (limit + 1)}]\n")
    error = caught.value
    assert error.line == 2
    assert (
        error.problem == f"a number of {limit + 1:,} digits, more than the {limit:,} Python reads"
    )
    assert error.hint == "Quote the value to keep it as text, or shorten it."
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


@pytest.mark.parametrize("read", [*READERS, load_yaml12])
def test_the_first_unreadable_scalar_is_named_also_after_an_alias(read):
    limit = sys.get_int_max_str_digits()
    long = "9" * (limit + 1)
    with pytest.raises(YamlError) as caught:
        read(f"a: &a [1]\nb: *a\nc: {long}\n")
    assert caught.value.line == 3
    # A key comes before its value.
    with pytest.raises(YamlError) as caught:
        read(f"? {long}\n: {long}\n")
    assert caught.value.line == 1


@pytest.mark.parametrize("read", [load_plain, load_yaml12])
def test_a_date_that_is_no_date_is_named_with_its_line(read):
    with pytest.raises(YamlError) as caught:
        read("a: 1\nb: [2024-01-01, 2024-13-45]\n")
    error = caught.value
    assert error.line == 2
    assert error.problem == "'2024-13-45' reads as a date but is not one (month must be in 1..12)"
    assert error.hint == "Quote the value to keep it as text, or correct it."
    assert read("b: '2024-13-45'")["b"] == "2024-13-45"


def test_a_json_like_reader_reads_dates_as_text():
    assert load_json_like("b: 2024-13-45") == {"b": "2024-13-45"}


def test_a_reader_that_runs_out_of_python_stack_says_where_it_nested_too_deep():
    import yaml

    from backworks_cli.config.yamlfile import _load_checked

    # The pure-Python reader recurses once per level: with little stack left it gives up
    # before the limit, and the error says so without a line.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(__import__("inspect").stack()) + 120)
    try:
        with pytest.raises(YamlError) as caught:
            _load_checked(nested(MAX_DEPTH - 100, "flow"), yaml.SafeLoader)
        assert caught.value.line is None
        assert caught.value.problem == "nested too deeply for the YAML reader"
        assert caught.value.hint.startswith("Flatten the nesting")
        with pytest.raises(YamlError) as caught:
            _load_checked(nested(MAX_DEPTH + 1, "flow"), yaml.SafeLoader)
        assert caught.value.line == MAX_DEPTH + 1
    finally:
        sys.setrecursionlimit(limit)


def test_a_long_value_is_shown_cut_and_a_wrong_tag_is_no_long_number():
    limit = sys.get_int_max_str_digits()
    value = "2001-13-14t21:59:43." + "1" * (limit + 1)  # a date, and more digits than a number
    with pytest.raises(YamlError) as caught:
        load_plain(f"a: {value}")
    assert caught.value.problem.startswith(f"{value[:40] + '...'!r} reads as a date but is not")
    for shown in ("2001-13-14t21:59:43." + "1" * 20, "2001-13-14t21:59:43." + "1" * 21):
        with pytest.raises(YamlError) as caught:
            load_plain(f"a: {shown}")
        cut = shown if len(shown) <= 40 else shown[:40] + "..."
        assert caught.value.problem.startswith(f"{cut!r} reads")
    short = "2024-13-45"  # shown whole
    with pytest.raises(YamlError) as caught:
        load_plain(f"a: {short}")
    assert caught.value.problem.startswith(f"{short!r} reads")
    with pytest.raises(YamlError) as caught:
        load_plain("a: !!int abc")
    assert caught.value.problem.startswith("'abc' reads as an integer but is not one")
    with pytest.raises(YamlError) as caught:
        load_plain("a: !!float abc")
    assert caught.value.problem.startswith("'abc' reads as a number but is not one")


def test_depth_goes_down_as_collections_close():
    # 300 levels, one empty list opened and closed, then 250 more: 550 deep, first past
    # 500 on line 502; siblings never add up.
    lines = ["["] * 300 + ["[],"] + ["["] * 250 + ["]"] * 550
    with pytest.raises(YamlError) as caught:
        load_plain("\n".join(lines))
    assert caught.value.line == 502
    assert caught.value.hint == "Flatten the nesting; no backworks.yaml key needs this depth."
    siblings = "[" + ", ".join(["[[1]]"] * 2000) + "]"
    assert len(load_plain(siblings)) == 2000
