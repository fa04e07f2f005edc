"""Pure inference: path templates from recorded paths, JSON Schemas from bodies, schema merging.

The only module that imports genson. Bodies are streamed: each parsed body goes into a
`JsonAccumulator`, which keeps a small statistics tree (types, key presence, bounds, a few
distinct values per field), not the bodies, and hands genson only the batches of bodies that
add structure (a new key or a new type somewhere). genson's schema over those equals its schema
over all of them, at a fraction of the cost; the statistics then enrich genson's skeleton with
what it does not infer: exact `required`, `format`, `enum`, numeric and array bounds.

Conventions, also described in the README:
- A path segment becomes a parameter when it looks like an identifier: integers, UUIDs, hex
  hashes (8+ characters with a digit), dates and emails always; slugs with digits (`ord-1234`)
  when at least two different ones were seen at that place; literal siblings that each lead to
  the same literal sub-paths (`/repos/alice/settings`, `/repos/bob/settings`, ...) when there are
  at least MANY_SIBLINGS of them. Other literals stay literal (`/users/me` next to `/users/{id}`).
  `7.png` gives `{id}.png`.
- A parameter in the last segment is named `id`; one further in is named after the collection
  before it: `/users/{user_id}/orders/{id}`.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from operator import itemgetter
from typing import Any

MAX_DEPTH = 32  # deeper JSON is described as any value ({})
ENUM_MAX = 8  # at most this many distinct values make an enum...
ENUM_MIN_SAMPLES = 10  # ...seen in at least this many samples...
ENUM_MIN_EACH = 2  # ...each value at least this often
ENUM_MAX_LENGTH = 64  # longer strings are never enum values
SAMPLE_VALUES = 10  # distinct values kept per field, for semantic classification
SAMPLE_MAX_LENGTH = 200
TEXT_EXAMPLE_LENGTH = 200  # characters of a text body kept as its example
MANY_SIBLINGS = 10  # literal siblings with the same literal sub-paths that make a parameter
LITERAL_CACHE = 10_000  # path segments remembered as literals
MAX_SEGMENTS = 64  # path segments templated; a longer path's tail stays literal

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
_HEX = re.compile(r"[0-9a-fA-F]{8,}")
_SLUG = re.compile(r"[A-Za-z0-9]+(?:[-_.~][A-Za-z0-9]+)*")
_EXTENSION = re.compile(r"[A-Za-z][A-Za-z0-9]{0,4}")
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


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- JSON bodies --------------------------------------------------------------------------------


class _Node:
    """Statistics of the values found at one place in a JSON document."""

    __slots__ = (
        "enum",
        "fmt",
        "high",
        "items",
        "kinds",
        "low",
        "max_items",
        "min_items",
        "n",
        "props",
        "samples",
        "semantic",
    )

    def __init__(self) -> None:
        self.n = 0  # values seen here (for an object property: objects that had the key)
        self.kinds: dict[str, int] = {}  # JSON type -> count
        self.props: dict[str, _Node] | None = None
        self.items: _Node | None = None
        self.min_items = self.max_items = -1
        self.fmt: str | None = None  # None: no string yet; DEAD: no common format
        self.enum: dict[str, int] | None = {}  # string value -> count; None once too many
        self.samples: list[Any] = []  # first distinct scalar values
        self.low: float | int | None = None
        self.high: float | int | None = None
        self.semantic: str | None = None

    def merge(self, other: _Node) -> None:
        self.n += other.n
        for kind, count in other.kinds.items():
            self.kinds[kind] = self.kinds.get(kind, 0) + count
        if other.props is not None:
            if self.props is None:
                self.props = {}
            for key, child in other.props.items():
                mine = self.props.get(key)
                if mine is None:
                    self.props[key] = mine = _Node()
                mine.merge(child)
        if other.items is not None:
            if self.items is None:
                self.items = _Node()
            self.items.merge(other.items)
        if other.min_items >= 0:
            self.min_items = _low(self.min_items, other.min_items)
            self.max_items = max(self.max_items, other.max_items)
        if self.fmt is None or other.fmt is None:
            self.fmt = self.fmt or other.fmt
        elif self.fmt != other.fmt:
            self.fmt = DEAD
        if self.enum is not None and other.enum is not None:
            for value, count in other.enum.items():
                self.enum[value] = self.enum.get(value, 0) + count
            if len(self.enum) > ENUM_MAX:
                self.enum = None
        else:
            self.enum = None
        _sample(self, other.samples)
        if other.low is not None:
            self.low = other.low if self.low is None else min(self.low, other.low)
            self.high = other.high if self.high is None else max(self.high, other.high)


def _low(current: int, value: int) -> int:
    """The smaller of two sizes, where a negative `current` means none yet."""
    return value if current < 0 else min(current, value)


def _sample(node: _Node, values) -> None:
    """Keep the first SAMPLE_VALUES distinct values (strings shortened)."""
    samples = node.samples
    if len(samples) >= SAMPLE_VALUES:
        return
    for value in dict.fromkeys(values):
        if isinstance(value, str):
            if not _utf8(value):
                continue
            value = value[:SAMPLE_MAX_LENGTH]
        if value not in samples:
            samples.append(value)
            if len(samples) >= SAMPLE_VALUES:
                return


@dataclass
class LeafField:
    """A scalar field of a body, for semantic classification."""

    name: str  # the key it is found under ("" for a bare value)
    path: str  # JSONPath-like: $.data[].email
    values: list[Any]  # up to SAMPLE_VALUES distinct values
    json_type: str  # string, integer or number
    node: _Node = field(repr=False)


class JsonAccumulator:
    """Parsed JSON values in, their JSON Schema out; keeps statistics, not values.

    Values are buffered in batches of BATCH and described a column at a time (all the values
    found at one place in the batch together), so that counting, bounds, enums and formats run
    in C builtins (Counter, min, max, map) rather than a Python call per value. genson sees the
    batches that add structure: a new key, or a new type somewhere.
    """

    BATCH = 256  # values at most per batch...
    BATCH_BYTES = 64 * 1024  # ...and about this much JSON, so that a batch stays in CPU cache

    def __init__(self) -> None:
        self.count = 0
        self._root = _Node()
        self._pending: list[Any] = []
        self._weight = 0
        self._builder = None
        self._novel = self._deep = False

    def add(self, value: Any, size: int = 0) -> None:
        """Add one parsed value; `size` is the length of its JSON text, when known."""
        self._pending.append(value)
        self._weight += size
        if len(self._pending) >= self.BATCH or self._weight >= self.BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Describe the buffered values now."""
        batch = self._pending
        if not batch:
            return
        self._pending = []
        self._weight = 0
        self.count += len(batch)
        self._novel = self._deep = False
        self._column(self._root, batch, 0)
        if self._novel:
            builder = self._genson()
            for value in batch:
                builder.add_object(_truncate(value, 0) if self._deep else value)

    def _genson(self):
        if self._builder is None:
            from genson import SchemaBuilder

            self._builder = SchemaBuilder(schema_uri=None)
        return self._builder

    def merge(self, other: JsonAccumulator) -> None:
        """Add the evidence of `other` (whose values are not kept) to this one."""
        self.flush()
        other.flush()
        self.count += other.count
        self._root.merge(other._root)
        if other._builder is not None:
            self._genson().add_schema(other._builder.to_schema())

    def _column(self, node: _Node, values, depth: int) -> None:
        node.n += len(values)
        types = set(map(type, values))
        for t in types:
            column = values if len(types) == 1 else [v for v in values if type(v) is t]
            count = len(column)
            kind = _KINDS.get(t)
            if kind is None:  # a subclass, or a value that json.loads never makes
                kind = _kind_of(column[0])
                if kind == "string":
                    column = [str(v) for v in column]
            kinds = node.kinds
            if kind in kinds:
                kinds[kind] += count
            else:
                kinds[kind] = count
                self._novel = True
            if kind == "string":
                _strings(node, column)
            elif kind == "integer" or kind == "number":
                _numbers(node, column, kind)
            elif kind == "object" or kind == "array":
                if depth >= MAX_DEPTH:
                    self._deep = True
                elif kind == "object":
                    self._objects(node, column, depth)
                else:
                    self._arrays(node, column, depth)

    def _objects(self, node: _Node, dicts, depth: int) -> None:
        props = node.props
        if props is None:
            props = node.props = {}
        keys = tuple(dicts[0])
        columns: Iterable | None = None
        if keys and all(map(len(keys).__eq__, map(len, dicts))):
            try:  # the same keys everywhere (the usual case): one C-level transposition
                rows = list(map(itemgetter(*keys), dicts))
            except KeyError:
                pass
            else:
                transposed = zip(*rows, strict=True) if len(keys) > 1 else [rows]
                columns = zip(keys, transposed, strict=True)
        if columns is None:
            found: dict[str, list[Any]] = {}
            for d in dicts:
                for key, value in d.items():
                    column = found.get(key)
                    if column is None:
                        found[key] = [value]
                    else:
                        column.append(value)
            columns = found.items()
        for key, column in columns:
            child = props.get(key)
            if child is None:
                props[key] = child = _Node()
                self._novel = True
            self._column(child, column, depth + 1)

    def _arrays(self, node: _Node, lists, depth: int) -> None:
        lengths = list(map(len, lists))
        node.min_items = _low(node.min_items, min(lengths))
        node.max_items = max(node.max_items, max(lengths))
        items = list(chain.from_iterable(lists))
        if items:
            if node.items is None:
                node.items = _Node()
                self._novel = True
            self._column(node.items, items, depth + 1)

    def leaf_fields(self) -> list[LeafField]:
        """Every scalar field (string, integer, number) with its sample values."""
        self.flush()
        found: list[LeafField] = []
        _leaves(self._root, "", "$", found)
        return found

    def to_schema(self) -> dict[str, Any]:
        """The JSON Schema of everything added, in canonical key order."""
        self.flush()
        if self.count == 0 or self._builder is None:
            return {}
        return _enrich(self._builder.to_schema(), self._root, 0)


def _strings(node: _Node, column) -> None:
    distinct = column
    enum = node.enum
    if enum is not None:
        counts = Counter(column)
        new = [v for v in counts if v not in enum]
        if len(enum) + len(new) > ENUM_MAX or not all(map(_enumerable, new)):
            node.enum = None
        else:
            for value, count in counts.items():
                enum[value] = enum.get(value, 0) + count
        distinct = list(counts)  # checking and sampling each distinct value once is enough
    _sample(node, distinct)
    fmt = node.fmt
    if fmt is None:
        fmt = node.fmt = detect_format(column[0]) or DEAD
    if fmt and not all_match(fmt, distinct):
        node.fmt = DEAD


def _enumerable(value: str) -> bool:
    return len(value) <= ENUM_MAX_LENGTH and _utf8(value)


def _numbers(node: _Node, column, kind: str) -> None:
    if kind == "number" and not all(map(math.isfinite, column)):
        column = [v for v in column if math.isfinite(v)]
        if not column:
            return
    low, high = min(column), max(column)
    node.low = low if node.low is None else min(node.low, low)
    node.high = high if node.high is None else max(node.high, high)
    _sample(node, column)


_KINDS: dict[type, str] = {
    str: "string",
    dict: "object",
    list: "array",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def _kind_of(value: Any) -> str:
    """The JSON type of a value, subclasses included (a non-JSON type counts as a string)."""
    for t, kind in _KINDS.items():
        if isinstance(value, t):
            return kind
    return "string"


def _truncate(value: Any, depth: int) -> Any:
    """`value` with containers beyond MAX_DEPTH replaced by null, for genson."""
    if depth >= MAX_DEPTH and isinstance(value, dict | list):
        return None
    if isinstance(value, dict):
        return {key: _truncate(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_truncate(item, depth + 1) for item in value]
    return value


def _leaves(node: _Node, name: str, path: str, found: list[LeafField]) -> None:
    scalar = [k for k in ("string", "integer", "number") if k in node.kinds]
    if scalar and node.samples:
        json_type = max(scalar, key=lambda k: node.kinds[k])
        found.append(LeafField(name, path, list(node.samples), json_type, node))
    for key, child in (node.props or {}).items():
        _leaves(child, key, f"{path}.{key}", found)
    if node.items is not None:
        _leaves(node.items, name, f"{path}[]", found)


def _enrich(skeleton: dict[str, Any], node: _Node, depth: int) -> dict[str, Any]:
    """genson's schema for `node`, with statistics added, as canonical groups."""
    if depth >= MAX_DEPTH and ("object" in node.kinds or "array" in node.kinds):
        return {}
    alternatives = skeleton.get("anyOf", [skeleton])
    groups: dict[str, dict[str, Any]] = {}
    for alt in alternatives:
        types = alt.get("type")
        if types is None:
            return {}
        types = [types] if isinstance(types, str) else list(types)
        if "object" in types:  # genson may list an empty container among scalar types
            groups["object"] = _object_group(alt, node, depth)
        if "array" in types:
            groups["array"] = _array_group(alt, node, depth)
        scalars = [t for t in types if t not in ("object", "array")]
        if scalars:
            groups["scalar"] = _scalar_group(scalars, node)
    return _assemble(groups, {})


def _object_group(skeleton: dict[str, Any], node: _Node, depth: int) -> dict[str, Any]:
    group: dict[str, Any] = {"type": "object"}
    props = node.props or {}
    shapes = skeleton.get("properties", {})
    if props:
        group["properties"] = {
            key: _enrich(shapes.get(key, {}), props[key], depth + 1) for key in sorted(props)
        }
        objects = node.kinds.get("object", 0)
        required = [key for key in sorted(props) if props[key].n >= objects]
        if required:
            group["required"] = required
    return group


def _array_group(skeleton: dict[str, Any], node: _Node, depth: int) -> dict[str, Any]:
    group: dict[str, Any] = {"type": "array"}
    if node.min_items >= 0:
        group["minItems"] = node.min_items
        group["maxItems"] = node.max_items
    if node.items is not None and node.items.n and "items" in skeleton:
        group["items"] = _enrich(skeleton["items"], node.items, depth + 1)
    return group


def _scalar_group(types: list[str], node: _Node) -> dict[str, Any]:
    if "number" in types and "integer" in types:
        types.remove("integer")
    group: dict[str, Any] = {"type": types[0] if len(types) == 1 else sorted(types)}
    if "string" in types and node.fmt:
        group["format"] = node.fmt
    if node.semantic:
        group["x-semantic"] = node.semantic
    strings = node.kinds.get("string", 0)
    if (
        node.enum
        and set(types) <= {"string", "null"}
        and set(node.kinds) <= {"string", "null"}
        and strings >= ENUM_MIN_SAMPLES
        and min(node.enum.values()) >= ENUM_MIN_EACH
    ):
        group["enum"] = sorted(node.enum) + ([None] if "null" in types else [])
    if ("integer" in types or "number" in types) and node.low is not None:
        group["minimum"] = node.low
        group["maximum"] = node.high
    return group


# --- non-JSON and mixed bodies ------------------------------------------------------------------


@functools.lru_cache(maxsize=256)  # a recording has few distinct content types
def media_type(content_type: str | None) -> str | None:
    """`application/json; charset=utf-8` -> `application/json`; None when there is none."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


_scan_json = json.JSONDecoder().scan_once
_JSON_SPACE = " \t\n\r"


def parse_json(body: bytes | str) -> Any:
    """json.loads(body), with a BOM allowed in text as json.loads allows it in bytes.

    Text that starts with a value is handed to the decoder's scanner directly, without the
    checks and regexes json.loads runs around it, which cost a tenth of a body's parsing.
    """
    if isinstance(body, str):
        if body[:1] == "\ufeff":
            body = body[1:]
        if body[:1] not in _JSON_SPACE:  # the scanner does not skip leading whitespace
            try:
                value, end = _scan_json(body, 0)
            except StopIteration:
                raise ValueError("not a JSON document") from None
            if end != len(body) and body[end:].strip(_JSON_SPACE):
                raise ValueError("extra data after a JSON document")
            return value
    return json.loads(body)


_JSON_STARTS = (b"{", b"[", "{", "[")


def _looks_json(body: bytes | str) -> bool:
    """Whether a body without a content type looks like a JSON object or array."""
    head = body[:1].lstrip() or body.lstrip()[:1]
    return head in _JSON_STARTS


class BodyAccumulator:
    """All the bodies of one request or response kind: their content types, and a JSON Schema
    (JSON bodies) or a size range and example (other bodies)."""

    def __init__(self) -> None:
        self.count = 0  # bodies seen, empty ones included
        self.empty = 0
        self.invalid_json = 0  # bodies labelled (or looking like) JSON that did not parse
        self.media: dict[str, int] = {}
        self.json: JsonAccumulator | None = None
        self.text_count = self.binary_count = 0
        self.size_low = self.size_high = -1
        self.text_low = self.text_high = -1
        self.example: str | None = None
        self._last: tuple[bytes | str, Any] | None = None  # the last JSON body and its value

    def add(self, body: bytes | str | None, content_type: str | None) -> None:
        """Add one body: bytes, or str when it is already text (as the store keeps text)."""
        self.count += 1
        if not body:
            self.empty += 1
            return
        media = media_type(content_type)
        if media is not None:
            self.media[media] = self.media.get(media, 0) + 1
            is_json = "json" in media
        else:
            is_json = _looks_json(body)
        if is_json:
            last = self._last
            if last is not None and last[0] == body:  # the same body again (a polled GET...)
                value = last[1]
            else:
                try:
                    value = parse_json(body)
                except (ValueError, RecursionError):
                    self.invalid_json += 1
                    self._add_other(body)
                    return
                self._last = (body, value)
            if self.json is None:
                self.json = JsonAccumulator()
            self.json.add(value, len(body))
            return
        self._add_other(body)

    def _add_other(self, body: bytes | str) -> None:
        if isinstance(body, str):
            text: str | None = body
            size = len(body.encode("utf-8", "surrogatepass"))
        else:
            size = len(body)
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        self.size_low = _low(self.size_low, size)
        self.size_high = max(self.size_high, size)
        if text is None or "\x00" in text:
            self.binary_count += 1
            return
        self.text_count += 1
        self.text_low = _low(self.text_low, len(text))
        self.text_high = max(self.text_high, len(text))
        if self.example is None:
            self.example = text[:TEXT_EXAMPLE_LENGTH]

    def merge(self, other: BodyAccumulator) -> None:
        self.count += other.count
        self.empty += other.empty
        self.invalid_json += other.invalid_json
        for media, count in other.media.items():
            self.media[media] = self.media.get(media, 0) + count
        if other.json is not None:
            if self.json is None:
                self.json = JsonAccumulator()
            self.json.merge(other.json)
        self.text_count += other.text_count
        self.binary_count += other.binary_count
        if other.size_low >= 0:
            self.size_low = _low(self.size_low, other.size_low)
            self.size_high = max(self.size_high, other.size_high)
        if other.text_low >= 0:
            self.text_low = _low(self.text_low, other.text_low)
            self.text_high = max(self.text_high, other.text_high)
        if self.example is None:
            self.example = other.example

    def flush(self) -> None:
        if self.json is not None:
            self.json.flush()

    def leaf_fields(self) -> list[LeafField]:
        return self.json.leaf_fields() if self.json is not None else []

    def to_spec(self) -> dict[str, Any] | None:
        """{content_type, schema} for backworks.yaml; None when every body was empty."""
        if self.count == self.empty:
            return None
        spec: dict[str, Any] = {}
        if self.media:
            spec["content_type"] = min(self.media, key=lambda m: (-self.media[m], m))
        if self.json is not None:  # bodies that did not parse are left to the notes
            schema = self.json.to_schema()
        elif self.text_count:
            schema = {
                "type": "string",
                "minLength": self.text_low,
                "maxLength": self.text_high,
                "examples": [self.example],
                "x-size": {"min": self.size_low, "max": self.size_high},
            }
        else:
            schema = {
                "type": "string",
                "format": "binary",
                "x-size": {"min": self.size_low, "max": self.size_high},
            }
        spec["schema"] = _ordered(schema)
        return spec


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
            elif len(self.enum) < ENUM_MAX and len(text) <= ENUM_MAX_LENGTH and _utf8(text):
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


# --- path templates -----------------------------------------------------------------------------

_STRONG = "\x00s"  # placeholder label: surely an identifier
_WEAK = "\x00w"  # placeholder label: an identifier if its values vary


def _id_kind(segment: str) -> str | None:
    """ "strong" for integers, UUIDs, hex hashes, dates, emails; "weak" for slugs with digits."""
    if segment.isdigit() and segment.isascii():
        return "strong"
    n = len(segment)
    if n == 36 and all_match("uuid", (segment,)):
        return "strong"
    if n >= 8 and _HEX.fullmatch(segment) and any(c.isdigit() for c in segment):
        return "strong"
    if n == 10 and all_match("date", (segment,)):
        return "strong"
    if "@" in segment and all_match("email", (segment,)):
        return "strong"
    if n >= 3 and _SLUG.fullmatch(segment):
        digits = sum(c.isdigit() for c in segment)
        if digits >= 2 or (digits and any(c in "-_.~" for c in segment)):
            return "weak"
    return None


def _placeholder(segment: str) -> tuple[str, str] | None:
    """(label, value) when `segment` is an identifier, possibly with a file extension."""
    stem, dot, ext = segment.rpartition(".")
    if dot and stem and _EXTENSION.fullmatch(ext):
        kind = _id_kind(stem)
        if kind is not None:
            return (_STRONG if kind == "strong" else _WEAK) + "." + ext, stem
    kind = _id_kind(segment)
    if kind is not None:
        return (_STRONG if kind == "strong" else _WEAK), segment
    return None


def split_path(path: str) -> list[str]:
    """Segments of a path; a trailing slash is not significant."""
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


class _Trie:
    __slots__ = ("children", "distinct", "terminal", "values")

    def __init__(self) -> None:
        self.children: dict[str, _Trie] = {}
        self.terminal = False
        self.values: TextValues | None = None  # placeholder nodes: the identifiers seen
        self.distinct: set[str] | None = None  # up to two of them, to tell whether they vary


class _Out:
    """A node of the final template tree."""

    __slots__ = ("children", "label", "params", "parent", "signature", "terminal", "values")

    def __init__(self, parent: _Out | None, label: str, is_param: bool) -> None:
        self.parent = parent
        self.label = label  # literal text, or the suffix after the parameter (".png") when a param
        self.params = is_param
        self.children: dict[str, _Out] = {}  # literal text -> node, or "\x00" + suffix -> param
        self.terminal = False
        self.values: TextValues | None = TextValues(enum=False) if is_param else None
        self.signature: Any = None


@dataclass(frozen=True)
class Template:
    """A path template: `/users/{user_id}/orders/{id}` and the schema of each parameter."""

    path: str
    params: dict[str, dict[str, Any]]


class PathTemplater:
    """Collects recorded paths; `finish()` turns them into templates.

    `add(path)` returns a key (identifiers collapsed) that stays valid for `finish()`'s result,
    so that callers can group evidence while streaming and learn the templates at the end.
    """

    def __init__(self) -> None:
        self._root = _Trie()
        self._cache: dict[str, tuple[str, ...]] = {}
        self._literals: dict[str, str] = {}  # segments known not to be identifiers
        self._keys: dict[tuple[str, ...], tuple[str, ...]] = {}

    def add(self, path: str) -> tuple[str, ...]:
        key = self._cache.get(path)
        if key is not None:
            return key
        node, labels = self._root, []
        segments = split_path(path)
        if len(segments) > MAX_SEGMENTS:  # the rest is kept as one literal segment
            segments[MAX_SEGMENTS - 1 :] = ["/".join(segments[MAX_SEGMENTS - 1 :])]
        for segment in segments:
            label = self._literals.get(segment)
            found = None
            if label is None:
                found = _placeholder(segment)
                if found is not None:
                    label = found[0]
                else:
                    label = "\x00l" + segment if segment[:1] == "\x00" else segment
                    if len(self._literals) < LITERAL_CACHE:
                        self._literals[segment] = label
            child = node.children.get(label)
            if child is None:
                node.children[label] = child = _Trie()
                if found is not None:
                    child.values, child.distinct = TextValues(enum=False), set()
            if found is not None:
                child.values.add(found[1])
                if len(child.distinct) < 2:
                    child.distinct.add(found[1])
            labels.append(label)
            node = child
        node.terminal = True
        key = tuple(labels)
        key = self._keys.setdefault(key, key)  # one tuple per key, however many paths share it
        self._cache[path] = key
        return key

    def finish(self) -> dict[tuple[str, ...], Template]:
        """The template of every key `add()` returned."""
        placed: dict[int, _Out] = {}
        root = _Out(None, "", False)
        _shape(root, [self._root], placed)
        templates: dict[tuple[str, ...], Template] = {}
        self._collect(self._root, (), placed, templates)
        return templates

    def _collect(self, node: _Trie, key: tuple[str, ...], placed, templates) -> None:
        if node.terminal:
            out = placed[id(node)] if key else None
            templates[key] = _template(out)
        for label, child in node.children.items():
            self._collect(child, (*key, label), placed, templates)


def _shape(out: _Out, sources: list[_Trie], placed: dict[int, _Out]) -> None:
    """Fill `out` (the merge of the trie nodes `sources`) with its final children."""
    out.terminal = any(s.terminal for s in sources)
    literal: dict[str, list[_Trie]] = {}
    holes: dict[str, list[tuple[_Trie, bool]]] = {}  # suffix -> (placeholder node, strong)
    for source in sources:
        for label, child in source.children.items():
            if label[:2] in (_STRONG, _WEAK):
                holes.setdefault(label[2:], []).append((child, label[:2] == _STRONG))
            else:
                literal.setdefault(label.removeprefix("\x00l"), []).append(child)
    # parameter suffix -> (trie node, its literal text when a literal sibling turned parameter)
    params: dict[str, list[tuple[_Trie, str | None]]] = {}
    for suffix, found in holes.items():
        distinct = set().union(*(node.distinct for node, _ in found))
        if any(strong for _, strong in found) or len(distinct) >= 2:
            params[suffix] = [(node, None) for node, _ in found]
        else:
            literal.setdefault(next(iter(distinct)) + suffix, []).extend(n for n, _ in found)
    shaped = {
        text: _child(out, text, False, [(n, None) for n in nodes], placed)
        for text, nodes in sorted(literal.items())
    }
    by_signature: dict[Any, list[str]] = {}
    for text, child in shaped.items():
        if any(not c.params for c in child.children.values()):
            by_signature.setdefault(child.signature, []).append(text)
    for texts in by_signature.values():
        if len(texts) >= MANY_SIBLINGS:
            for text in texts:
                del out.children[text]
                params.setdefault("", []).extend((node, text) for node in literal[text])
    for suffix, nodes in sorted(params.items()):
        _child(out, suffix, True, nodes, placed)
    out.signature = (
        out.terminal,
        frozenset((label, child.signature) for label, child in out.children.items()),
    )


def _child(
    out: _Out, label: str, is_param: bool, nodes: list[tuple[_Trie, str | None]], placed
) -> _Out:
    child = _Out(out, label, is_param)
    out.children[("\x00" + label) if is_param else label] = child
    for node, text in nodes:
        placed[id(node)] = child
        if child.values is not None:
            if node.values is not None:
                child.values.merge(node.values)
            elif text is not None:
                child.values.add(text)
    _shape(child, [node for node, _ in nodes], placed)
    return child


def _singular(word: str) -> str:
    word = re.sub(r"[^a-z0-9]+", "_", word.lower()).strip("_")
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 1:
        return word[:-1]
    return word


def _template(leaf: _Out | None) -> Template:
    nodes: list[_Out] = []
    while leaf is not None and leaf.parent is not None:
        nodes.append(leaf)
        leaf = leaf.parent
    nodes.reverse()
    parts: list[str] = []
    params: dict[str, dict[str, Any]] = {}
    for position, node in enumerate(nodes):
        if not node.params:
            parts.append(node.label)
            continue
        before = nodes[position - 1] if position else None
        collection = _singular(before.label) if before is not None and not before.params else ""
        if position == len(nodes) - 1 or not re.fullmatch(r"[a-z_][a-z0-9_]*", collection):
            base = "id" if position == len(nodes) - 1 else "param_id"
        else:
            base = f"{collection}_id"
        name, n = base, 2
        while name in params:
            name, n = f"{base}{n}", n + 1
        params[name] = node.values.to_schema()
        parts.append("{" + name + "}" + node.label)
    return Template("/" + "/".join(parts), params)


def template_paths(paths: Iterable[str]) -> dict[str, Template]:
    """The template of each path, learned from all of them together."""
    templater = PathTemplater()
    keys = {path: templater.add(path) for path in paths}
    templates = templater.finish()
    return {path: templates[key] for path, key in keys.items()}


# --- canonical form and merging -----------------------------------------------------------------

_OBJECT_KEYS = frozenset(
    {"properties", "required", "additionalProperties", "patternProperties", "minProperties"}
    | {"maxProperties", "propertyNames", "dependentRequired", "unevaluatedProperties"}
)
_ARRAY_KEYS = frozenset(
    {"items", "minItems", "maxItems", "uniqueItems", "prefixItems", "contains", "minContains"}
    | {"maxContains", "unevaluatedItems"}
)
# Keys that describe rather than constrain: kept from the existing schema, else taken from the new.
_ANNOTATIONS = frozenset(
    {"title", "description", "examples", "default", "deprecated", "readOnly", "writeOnly"}
    | {"$comment", "contentMediaType", "contentEncoding", "$id", "$anchor"}
)
_KEY_ORDER = (
    "type",
    "format",
    "x-semantic",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "required",
    "properties",
    "items",
    "anyOf",
)
_RANK = {key: n for n, key in enumerate(_KEY_ORDER)}
_GROUP_ORDER = ("scalar", "object", "array")


def _is_annotation(key: str) -> bool:
    return key in _ANNOTATIONS or key.startswith("x-")


def schema_key(key: str) -> tuple[int, str]:
    """Sort key of a schema keyword: the common ones in a fixed order, then the rest by name."""
    return (_RANK.get(key, len(_KEY_ORDER)), key)


def _ordered(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its keys in canonical order (properties by name), recursively."""
    out: dict[str, Any] = {}
    for key in sorted(schema, key=schema_key):
        value = schema[key]
        if key == "properties" and isinstance(value, dict):
            value = {name: _ordered_any(value[name]) for name in sorted(value)}
        elif key in ("items", "additionalProperties", "not", "contains"):
            value = _ordered_any(value)
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
            value = [_ordered_any(item) for item in value]
        out[key] = value
    return out


def _ordered_any(value: Any) -> Any:
    return _ordered(value) if isinstance(value, dict) else value


def _assemble(groups: dict[str, dict[str, Any]], top: dict[str, Any]) -> dict[str, Any]:
    """One schema from its type groups: the group itself, or anyOf in a fixed order."""
    present = [groups[g] for g in _GROUP_ORDER if g in groups]
    if not present:
        return _ordered(dict(top))
    if len(present) == 1:
        return _ordered({**present[0], **{k: v for k, v in top.items() if k not in present[0]}})
    return _ordered({**top, "anyOf": [_ordered(g) for g in present]})


def _types(schema: dict[str, Any]) -> list[str]:
    types = schema.get("type")
    return [types] if isinstance(types, str) else list(types or [])


def _split(schema: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]] | None]:
    """(keywords outside any type group, {"scalar"|"object"|"array": group}); groups is None
    when the schema allows any value."""
    if not isinstance(schema, dict):
        return {}, None if schema is not False else {}
    if "anyOf" in schema and isinstance(schema["anyOf"], list):
        top = {k: v for k, v in schema.items() if k != "anyOf"}
        groups: dict[str, dict[str, Any]] = {}
        for alternative in schema["anyOf"]:
            inner_top, inner = _split(alternative)
            if inner is None:
                return top, None
            for name, group in inner.items():
                group = {**group, **{k: v for k, v in inner_top.items() if k not in group}}
                groups[name] = _merge_group(name, groups[name], group) if name in groups else group
        return top, groups
    types = _types(schema)
    if not types:
        return {k: v for k, v in schema.items() if _is_annotation(k)}, None
    kinds = {"object" if t == "object" else "array" if t == "array" else "scalar" for t in types}
    groups = {}
    for kind in kinds:
        if kind == "object":
            group = {"type": "object"}
            group.update({k: v for k, v in schema.items() if k in _OBJECT_KEYS})
        elif kind == "array":
            group = {"type": "array"}
            group.update({k: v for k, v in schema.items() if k in _ARRAY_KEYS})
        else:
            scalars = [t for t in types if t not in ("object", "array")]
            group = {"type": scalars[0] if len(scalars) == 1 else scalars}
            group.update(
                {
                    k: v
                    for k, v in schema.items()
                    if k != "type"
                    and k not in _OBJECT_KEYS
                    and k not in _ARRAY_KEYS
                    and not _is_annotation(k)
                }
            )
        groups[kind] = group
    notes = {k: v for k, v in schema.items() if _is_annotation(k)}
    if len(groups) == 1:
        next(iter(groups.values())).update(notes)
        return {}, groups
    return notes, groups


def same_json(a: Any, b: Any) -> bool:
    """Equal, with 1, 1.0 and True told apart (they are written differently)."""
    if _kind_of(a) != _kind_of(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def plain_json(value: Any) -> Any:
    """A deep copy as plain JSON types (YAML round-trip containers and scalars become plain)."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    kind = _kind_of(value)
    if value is None or kind == "null":
        return None
    return {"boolean": bool, "integer": int, "number": float, "string": str}[kind](value)


def merge_schemas(old: Any, new: Any) -> dict[str, Any]:
    """A schema that accepts everything `old` or `new` accepts, as tight as that allows.

    Types are united (anyOf when objects or arrays meet other types), properties united with
    `required` intersected, bounds widened, an enum dropped once it would pass ENUM_MAX values.
    Descriptive keys (x-semantic, description, examples...) come from `old` when it has them,
    so that edits to a schema survive; a constraint only one side has is dropped.
    """
    if same_json(old, new):
        return plain_json(old)
    old_top, old_groups = _split(plain_json(old))
    new_top, new_groups = _split(plain_json(new))
    top = _merge_notes(old_top, new_top)
    if old_groups is None or new_groups is None:
        return _ordered(top)
    groups = {}
    for name in _GROUP_ORDER:
        if name in old_groups and name in new_groups:
            groups[name] = _merge_group(name, old_groups[name], new_groups[name])
        elif name in old_groups or name in new_groups:
            groups[name] = old_groups.get(name) or new_groups[name]
    for key in set(old_top) & set(new_top):
        if not _is_annotation(key) and same_json(old_top[key], new_top[key]):
            top[key] = old_top[key]
    return _assemble(groups, top)


def _merge_notes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in new.items() if _is_annotation(k)}
    out.update({k: v for k, v in old.items() if _is_annotation(k)})
    a, b = old.get("x-size"), new.get("x-size")
    if isinstance(a, dict) and isinstance(b, dict):
        out["x-size"] = {
            "min": _bound(min, a.get("min"), b.get("min")),
            "max": _bound(max, a.get("max"), b.get("max")),
        }
    return out


def _bound(pick, a: Any, b: Any) -> Any:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return pick(a, b)
    return None


_GROUP_KEYS = {
    "scalar": ("type", "format", "enum", "minimum", "maximum", "minLength", "maxLength"),
    "object": ("type", "properties", "required"),
    "array": ("type", "items", "minItems", "maxItems"),
}


def _merge_group(name: str, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = _merge_notes(a, b)
    handled = _GROUP_KEYS[name]
    for key in set(a) & set(b):
        if key not in handled and not _is_annotation(key) and same_json(a[key], b[key]):
            out[key] = a[key]
    if name == "object":
        out["type"] = "object"
        pa, pb = a.get("properties") or {}, b.get("properties") or {}
        if pa or pb:
            out["properties"] = {
                key: merge_schemas(pa[key], pb[key])
                if key in pa and key in pb
                else (pa[key] if key in pa else pb[key])
                for key in sorted(set(pa) | set(pb))
            }
        required = [k for k in a.get("required") or [] if k in set(b.get("required") or [])]
        if required:
            out["required"] = required
    elif name == "array":
        out["type"] = "array"
        ia, ib = a.get("items"), b.get("items")
        if ia is not None and ib is not None:
            out["items"] = merge_schemas(ia, ib)
        elif ia is not None or ib is not None:
            other = b if ia is not None else a
            if other.get("maxItems") == 0:  # the other side only saw empty arrays
                out["items"] = ia if ia is not None else ib
        _widen(out, a, b, "minItems", min, True, True)
        _widen(out, a, b, "maxItems", max, True, True)
    else:
        _merge_scalars(out, a, b)
    return out


def _widen(out, a, b, key: str, pick, a_applies: bool, b_applies: bool) -> None:
    """A bound from both sides (widened), or from the only side whose types it concerns."""
    if a_applies and b_applies:
        if key in a and key in b:
            value = _bound(pick, a[key], b[key])
            if value is not None:
                out[key] = value
    elif a_applies and key in a:
        out[key] = a[key]
    elif b_applies and key in b:
        out[key] = b[key]


def _merge_scalars(out: dict[str, Any], a: dict[str, Any], b: dict[str, Any]) -> None:
    ta, tb = set(_types(a)), set(_types(b))
    types = ta | tb
    if "number" in types:
        types.discard("integer")
    out["type"] = next(iter(types)) if len(types) == 1 else sorted(types)
    sa, sb = "string" in ta, "string" in tb
    if sa and sb:
        if a.get("format") is not None and a.get("format") == b.get("format"):
            out["format"] = a["format"]
    elif sa and "format" in a:
        out["format"] = a["format"]
    elif sb and "format" in b:
        out["format"] = b["format"]
    na, nb = bool(ta & {"integer", "number"}), bool(tb & {"integer", "number"})
    _widen(out, a, b, "minimum", min, na, nb)
    _widen(out, a, b, "maximum", max, na, nb)
    _widen(out, a, b, "minLength", min, sa, sb)
    _widen(out, a, b, "maxLength", max, sa, sb)
    enum = _merge_enum(a.get("enum"), b.get("enum"), ta, tb)
    if enum is not None:
        out["enum"] = enum


def _merge_enum(ea: Any, eb: Any, ta: set[str], tb: set[str]) -> list[Any] | None:
    if isinstance(ea, list) and isinstance(eb, list):
        union = list(ea) + [v for v in eb if not any(same_json(v, w) for w in ea)]
        if len(union) == len(ea):
            return list(ea)
        return union if len(union) <= ENUM_MAX else None
    for values, other_types in ((ea, tb), (eb, ta)):
        if isinstance(values, list) and other_types == {"null"}:
            return list(values) if None in values else [*values, None]
    return None
