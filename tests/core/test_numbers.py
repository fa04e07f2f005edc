"""Reading what a client sends: numbers written as text, JSON bodies and text that was not
UTF-8, none of which may raise on any input but a documented ValueError."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backworks_cli.core.exchange import load_json, text_bytes
from backworks_cli.core.numbers import integer, latency, number, percentile


def test_integers_convert_within_pythons_digit_limit():
    assert integer("-42") == -42 and integer("+7") == 7
    assert integer("9" * 4300) == int("9" * 4300)
    assert integer("9" * 4301) is None
    for text in ("", "1.5", "0x10", "1_000", "١٢٣", " 1", "1e3"):
        assert integer(text) is None, text


def test_numbers_are_finite_doubles():
    assert number("1.5e3") == 1500.0 and number("-.5") == -0.5
    for text in ("1e999", "-1e999", "9" * 400, "nan", "inf", "Infinity", "1,5"):
        assert number(text) is None, text


@given(st.text(max_size=60))
def test_reading_text_as_a_number_never_raises(text):
    found = integer(text)
    assert found is None or isinstance(found, int)
    found = number(text)
    assert found is None or math.isfinite(found)


def test_json_bodies_hold_only_what_a_json_answer_can_give_back():
    assert load_json(b'{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    assert load_json('{"é": 1}'.encode("utf-16")) == {"é": 1}
    for body in (b'{"a": 1e999}', b"NaN", b"[-Infinity]", b"9" * 5000, b"{", b"\xff\xfe{"):
        with pytest.raises(ValueError):
            load_json(body)


def test_text_bytes_gives_back_the_bytes_of_undecodable_text():
    raw = b"caf\xe9 \xff"
    assert text_bytes(raw.decode("utf-8", "surrogateescape")) == raw
    assert text_bytes("é") == "é".encode()
    assert text_bytes(json.loads('"\\ud800"')) == b"\xed\xa0\x80"  # a JSON escape, kept


def test_percentile_is_the_nearest_rank():

    assert percentile([], 50) is None
    values = [10.0, 20.0, 30.0, 40.0]
    assert [percentile(values, q) for q in (0, 1, 25, 26, 50, 51, 75, 95, 100)] == [
        10.0,
        10.0,
        10.0,
        20.0,
        20.0,
        30.0,
        30.0,
        40.0,
        40.0,
    ]
    assert percentile([7.0], 95) == 7.0
    # 67% of 3 values is 2.01 of them: the third.
    assert percentile([1.0, 2.0, 3.0], 66) == 2.0 and percentile([1.0, 2.0, 3.0], 67) == 3.0
    assert percentile(values, 150) == 40.0  # past 100: the largest


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=50), st.integers(1, 100))
def test_percentile_has_q_percent_of_values_at_or_below_it(values, q):

    ordered = sorted(values)
    found = percentile(ordered, q)
    at_or_below = sum(v <= found for v in ordered)
    below = sum(v < found for v in ordered)
    assert at_or_below / len(ordered) >= q / 100
    assert below / len(ordered) < q / 100


def test_latency_summarises_known_durations_to_two_decimals():

    assert latency([]) is None
    assert latency([None, None]) is None
    durations = [None, *(float(n) + 0.123 for n in range(1, 21))]  # 1.123 .. 20.123
    assert latency(reversed(durations)) == {"p50": 10.12, "p95": 19.12}
    result = latency([3, 1, 2])
    assert result == {"p50": 2.0, "p95": 3.0}
    assert all(type(value) is float for value in result.values())
