"""Values of an input record, checked, and bodies as text or base64: what the HAR and JSON
lines readers and writers share.

A value that cannot be used raises Malformed, a ValueError whose message names the field; the
file reader (formats) adds the file and the place in it.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


class Malformed(ValueError):
    """A value in an input record that cannot be used; the reader adds the file and place."""


def utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise Malformed(f"base64 data must be a string, not {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Malformed(f"invalid base64 data ({exc})") from None


def str_value(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise Malformed(f"{what} must be a string, not {json.dumps(value)[:40]}")
    return value


def int_value(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{what} must be an integer, not {json.dumps(value)[:40]}")
    return value


def number_value(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed(f"{what} must be a number, not {json.dumps(value)[:40]}")
    return value


def opt_str_value(value: Any, what: str) -> str | None:
    return None if value is None else str_value(value, what)
