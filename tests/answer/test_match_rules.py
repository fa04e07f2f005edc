"""Match rules as backworks.yaml's `replay:` block sets them: the full text of every error a bad
block or JSON path gets (the user reads it to fix the file), and JSON paths that read back as
the steps they were written from."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backworks_cli.answer.match_rules import (
    ANY,
    SEQUENCES,
    MatchRules,
    json_paths,
    parse_json_path,
)
from backworks_cli.core.errors import ConfigError

SEQUENCE_HINT = (
    "Use repeat_last (serve repeats in order, then keep the last), cycle (start over) "
    "or first (always the first)."
)
KEYS = "The keys are: ignore_query, ignore_json, headers, sequence."
PATH_HINT = "Write paths like $.timestamp, $.meta.nonce, $.items[*].nonce or $['odd key']."


def config_error(block, defaults=None, **kwargs) -> tuple[str, str | None]:
    with pytest.raises(ConfigError) as e:
        MatchRules.from_config(block, defaults, **kwargs)
    return e.value.message, e.value.hint


@pytest.mark.parametrize(
    "block, message, hint",
    [
        (
            "yes",
            "endpoint replay must be a mapping of matching rules, got 'yes'.",
            "Write it like `replay: {ignore_query: [ts], sequence: repeat_last}`.",
        ),
        ({"zzzz": 1}, "endpoint replay has an unknown key 'zzzz'.", KEYS),
        (
            {"sequnce": "first"},
            "endpoint replay has an unknown key 'sequnce'.",
            "Did you mean 'sequence'? " + KEYS,
        ),
        (
            {"ignore_query": "ts"},
            "endpoint replay.ignore_query must be a list, got 'ts'.",
            "Write a YAML list, e.g. `ignore_query: [ts]`.",
        ),
        (
            {"ignore_json": "$.a"},
            "endpoint replay.ignore_json must be a list, got '$.a'.",
            "Write a YAML list, e.g. `ignore_json: [$.timestamp]`.",
        ),
        (
            {"headers": "X-Tenant"},
            "endpoint replay.headers must be a list, got 'X-Tenant'.",
            "Write a YAML list, e.g. `headers: [X-Tenant]`.",
        ),
        (
            {"ignore_query": ["a", 1]},
            "endpoint replay.ignore_query[1] must be a non-empty string, got 1.",
            "Quote it if YAML reads it as something else, e.g. 'ts'.",
        ),
        (
            {"ignore_json": [""]},
            "endpoint replay.ignore_json[0] must be a non-empty string, got ''.",
            "Quote it if YAML reads it as something else, e.g. '$.timestamp'.",
        ),
        (
            {"headers": [None]},
            "endpoint replay.headers[0] must be a non-empty string, got None.",
            "Quote it if YAML reads it as something else, e.g. 'X-Tenant'.",
        ),
        (
            {"headers": ["X-Tenant", "X Y"]},
            "endpoint replay.headers[1] 'X Y' is not a header name.",
            "Give the bare header name, e.g. X-Tenant (no colon, no value).",
        ),
        (
            {"ignore_json": ["$.a", "a.b"]},
            "endpoint replay.ignore_json[1] 'a.b' is not a JSON path: "
            "a JSON path starts with $, e.g. $.meta.nonce.",
            PATH_HINT,
        ),
        (
            {"ignore_json": ["$.a!x["]},
            "endpoint replay.ignore_json[0] '$.a!x[' is not a JSON path: "
            "cannot read '[' (character 6).",
            PATH_HINT,
        ),
        (
            {"sequence": "zzzz"},
            "endpoint replay.sequence is 'zzzz', which is not a sequence mode.",
            SEQUENCE_HINT,
        ),
        (
            {"sequence": "cycles"},
            "endpoint replay.sequence is 'cycles', which is not a sequence mode.",
            "Did you mean 'cycle'? " + SEQUENCE_HINT,
        ),
    ],
)
def test_every_config_error_in_full(block, message, hint):
    """Each mistake gets its own message and hint, word for word (suggestions only when close)."""
    assert config_error(block) == (message, hint)


def test_list_hints_name_the_key_whatever_the_block_is_called():
    """The example in a "must be a list" hint is the bare key, also under a dotted block name."""
    message, hint = config_error({"headers": "X"}, where="endpoints.get_users.replay")
    assert message == "endpoints.get_users.replay.headers must be a list, got 'X'."
    assert hint == "Write a YAML list, e.g. `headers: [X-Tenant]`."
    message, hint = config_error(None, {"ignore_query": 3})
    assert message == "replay.ignore_query must be a list, got 3."
    assert hint == "Write a YAML list, e.g. `ignore_query: [ts]`."


def test_defaults_that_are_not_a_mapping_name_the_top_level_block():
    """A bad top-level `replay:` is reported as `replay`, not as the endpoint's block."""
    assert config_error({}, [1]) == (
        "replay must be a mapping of matching rules, got [1].",
        "Write it like `replay: {ignore_query: [ts], sequence: repeat_last}`.",
    )


def test_endpoint_keys_replace_defaults_whole():
    """An endpoint's list replaces the default list (no merging); unset keys keep the default."""
    rules = MatchRules.from_config(
        {"headers": ["X-B"], "sequence": "first"},
        {"headers": ["X-A"], "ignore_query": ["ts", "nonce"], "sequence": "cycle"},
    )
    assert rules == MatchRules(
        ignore_query=frozenset({"ts", "nonce"}), headers=("X-B",), sequence="first"
    )
    assert MatchRules.from_config({"sequence": None}, {"sequence": "cycle"}).sequence == (
        "repeat_last"
    )


@pytest.mark.parametrize("sequence", SEQUENCES)
def test_every_sequence_mode_is_accepted(sequence):
    assert MatchRules.from_config({"sequence": sequence}).sequence == sequence


@pytest.mark.parametrize(
    "path, message",
    [
        ("a", "a JSON path starts with $, e.g. $.meta.nonce"),
        ("", "a JSON path starts with $, e.g. $.meta.nonce"),
        ("$.a]", "cannot read ']' (character 4)"),
        ("$.a.b[x]", "cannot read '[x]' (character 6)"),
        ("$x", "cannot read 'x' (character 2)"),
    ],
)
def test_json_path_errors_say_where(path, message):
    """A bad path is reported with the unread rest and its 1-based character position."""
    with pytest.raises(ValueError) as e:
        parse_json_path(path)
    assert str(e.value) == message


def test_the_wildcard_step_shows_as_a_star():
    assert repr(ANY) == "*"
    assert repr(parse_json_path("$.a[*]")) == "('a', *)"


def test_json_paths_parses_each_and_names_the_bad_one():
    assert json_paths(["$.a", "$[0]", "$.*"], "replay.ignore_json") == (("a",), (0,), (ANY,))
    with pytest.raises(ConfigError) as e:
        json_paths(("$.a", "$", "nope"), "x.ignore_json")
    assert e.value.message.startswith("x.ignore_json[2] 'nope' is not a JSON path: ")


# Steps as a path can hold them: names of any characters (odd ones written in quotes),
# indexes of either sign and the wildcard.
steps_st = st.lists(
    st.text(min_size=1, max_size=8) | st.integers(-(10**6), 10**6) | st.just(ANY), max_size=6
)


def render(steps) -> str:
    out = "$"
    for step in steps:
        if step is ANY:
            out += "[*]"
        elif isinstance(step, int):
            out += f"[{step}]"
        elif not any(c in step for c in ".[]") and step != "*":
            out += f".{step}"
        elif "'" not in step:
            out += f"['{step}']"
        else:
            out += f'["{step}"]'
    return out


@settings(max_examples=300, deadline=None)
@given(steps_st)
def test_a_written_path_reads_back_as_its_steps(steps):
    """Rendering steps as a path and parsing it gives the same steps, for any key text."""
    # A key holding both quote characters cannot be written in any form the parser reads.
    steps = [s for s in steps if not (isinstance(s, str) and "'" in s and '"' in s)]
    assert parse_json_path(render(steps)) == tuple(steps)
