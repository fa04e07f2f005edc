"""Reading what a client sends: numbers written as text, JSON bodies and text that was not
UTF-8, none of which may raise on any input but a documented ValueError."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backworks_cli.core.exchange import load_json, text_bytes
from backworks_cli.core.numbers import integer, number


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
