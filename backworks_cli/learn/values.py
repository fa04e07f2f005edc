"""Shapes of single values: formats (uuid, date, email, uri, ipv4...) recognised in text, and
`TextValues`, the statistics of values that arrive as text (path and query parameters), which
become a schema with a format, an enum or numeric bounds.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

ENUM_MAX = 8  # at most this many distinct values make an enum...
ENUM_MIN_SAMPLES = 10  # ...seen in at least this many samples...
ENUM_MIN_EACH = 2  # ...each value at least this often
ENUM_MAX_LENGTH = 64  # longer strings are never enum values

DEAD = ""  # a format that some sample did not match

# --- value shapes -----------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_YMD = r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_DATE = re.compile(_YMD)
_DATE_TIME = re.compile(
    _YMD + r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_LATE_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-(?:29|30|31)")  # dates a calendar must confirm
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+"
)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]+")
_INT = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
HEX = re.compile(r"[0-9a-fA-F]{8,}")
SLUG = re.compile(r"[A-Za-z0-9]+(?:[-_.~][A-Za-z0-9]+)*")
EXTENSION = re.compile(r"[A-Za-z][A-Za-z0-9]{0,4}")
_PATTERNS = {"uuid": _UUID, "date": _DATE, "date-time": _DATE_TIME, "email": _EMAIL}
_PATTERNS.update({"uri": _URI, "ipv4": _IPV4})


def _calendar_ok(text: str) -> bool:
    try:
        date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


def _is_ipv6(text: str) -> bool:
    if ":" not in text or not _IPV6_CHARS.fullmatch(text):
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


# Each format's pattern repeated over values joined by newlines, which none of them matches: a
# whole column is checked in one regex run rather than one per value.
_JOINED = {fmt: re.compile(rf"(?:{p.pattern}\n)*{p.pattern}") for fmt, p in _PATTERNS.items()}
_LATE_DAYS = re.compile(rf"^{_LATE_DAY.pattern}", re.MULTILINE)
JOIN_FROM = 16  # values from which a column is checked joined


def all_match(fmt: str, values: Iterable[str]) -> bool:
    """Whether every value has the JSON Schema format `fmt`."""
    if fmt == "ipv6":
        return all(map(_is_ipv6, values))
    values = values if isinstance(values, list | tuple) else list(values)
    if len(values) >= JOIN_FROM:
        text = "\n".join(values)
        if text.count("\n") == len(values) - 1:  # else some value has a newline of its own
            if _JOINED[fmt].fullmatch(text) is None:
                return False
            if fmt in ("date", "date-time") and ("-29" in text or "-3" in text):  # late days?
                return all(map(_calendar_ok, _LATE_DAYS.findall(text)))
            return True
    if not all(map(_PATTERNS[fmt].fullmatch, values)):
        return False
    if fmt in ("date", "date-time"):
        return all(map(_calendar_ok, filter(_LATE_DAY.match, values)))
    return True


def detect_format(text: str) -> str | None:
    """The standard JSON Schema format `text` has, if any (one at most)."""
    n = len(text)
    if n < 7 and ":" not in text:
        return None
    if n == 36 and text[8:9] == "-":
        candidate = "uuid"
    elif n == 10 and text[4:5] == "-":
        candidate = "date"
    elif n >= 20 and text[4:5] == "-":
        candidate = "date-time"
    elif "@" in text:
        candidate = "email"
    elif "://" in text:
        candidate = "uri"
    elif n <= 15 and text[:1].isdigit():
        candidate = "ipv4"
    elif ":" in text:
        candidate = "ipv6"
    else:
        return None
    return candidate if all_match(candidate, (text,)) else None


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- values that arrive as text: path parameters, query parameters ------------------------------


class TextValues:
    """Values that arrive as text (query and path parameters); their JSON Schema."""

    def __init__(self, enum: bool = True) -> None:
        self.count = 0
        self.kinds: dict[str, int] = {}
        self.fmt: str | None = None
        self.enum: dict[str, int] | None = {} if enum else None

    def add(self, text: str) -> None:
        self.count += 1
        if (text.isdigit() and text.isascii()) or _INT.fullmatch(text):
            kind = "integer"
        elif _NUMBER.fullmatch(text):
            kind = "number"
        elif text in ("true", "false"):
            kind = "boolean"
        else:
            kind = "string"
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if self.fmt is None:
            self.fmt = detect_format(text) or DEAD
        elif self.fmt and not all_match(self.fmt, (text,)):
            self.fmt = DEAD
        if self.enum is not None:
            if text in self.enum:
                self.enum[text] += 1
            elif len(self.enum) < ENUM_MAX and len(text) <= ENUM_MAX_LENGTH and is_utf8(text):
                self.enum[text] = 1
            else:
                self.enum = None

    def merge(self, other: TextValues) -> None:
        self.count += other.count
        for kind, n in other.kinds.items():
            self.kinds[kind] = self.kinds.get(kind, 0) + n
        if self.fmt is None or other.fmt is None:
            self.fmt = self.fmt or other.fmt
        elif self.fmt != other.fmt:
            self.fmt = DEAD
        if self.enum is not None and other.enum is not None:
            for value, n in other.enum.items():
                self.enum[value] = self.enum.get(value, 0) + n
            if len(self.enum) > ENUM_MAX:
                self.enum = None
        else:
            self.enum = None

    def to_schema(self) -> dict[str, Any]:
        kinds = set(self.kinds)
        if not kinds:
            return {"type": "string"}
        if kinds == {"integer"}:
            return {"type": "integer"}
        if kinds <= {"integer", "number"}:
            return {"type": "number"}
        if kinds == {"boolean"}:
            return {"type": "boolean"}
        schema: dict[str, Any] = {"type": "string"}
        if self.fmt:
            schema["format"] = self.fmt
        elif (
            self.enum
            and self.count >= ENUM_MIN_SAMPLES
            and min(self.enum.values()) >= ENUM_MIN_EACH
        ):
            schema["enum"] = sorted(self.enum)
        return schema


KINDS: dict[type, str] = {
    str: "string",
    dict: "object",
    list: "array",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def kind_of(value: Any) -> str:
    """The JSON type of a value, subclasses included (a non-JSON type counts as a string)."""
    for t, kind in KINDS.items():
        if isinstance(value, t):
            return kind
    return "string"
