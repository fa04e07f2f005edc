"""JSON Schemas from bodies: the only module that imports genson.

Bodies are streamed: each parsed body goes into a `JsonAccumulator`, which keeps a small
statistics tree (types, key presence, bounds, a few distinct values per field), not the
bodies, and hands genson only the batches of bodies that add structure (a new key or a new
type somewhere). genson's schema over those equals its schema over all of them, at a fraction
of the cost; the statistics then enrich genson's skeleton with what it does not infer: exact
`required`, `format`, `enum`, numeric and array bounds. `BodyAccumulator` does the same for
bodies of any media type, JSON or not.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any

from backworks_cli.learn.merge import assemble, ordered
from backworks_cli.learn.values import (
    DEAD,
    ENUM_MAX,
    ENUM_MAX_LENGTH,
    ENUM_MIN_EACH,
    ENUM_MIN_SAMPLES,
    KINDS,
    all_match,
    detect_format,
    is_utf8,
    kind_of,
)
from backworks_cli.record.redact_rules import PREFIX

MAX_DEPTH = 32  # deeper JSON is described as any value ({})
SAMPLE_VALUES = 10  # distinct values kept per field, for semantic classification
SAMPLE_MAX_LENGTH = 200
TEXT_EXAMPLE_LENGTH = 200  # characters of a text body kept as its example


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
            if not is_utf8(value):
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
            kind = KINDS.get(t)
            if kind is None:  # a subclass, or a value that json.loads never makes
                kind = kind_of(column[0])
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
            if child is None:  # novel: its first value is a new type at a new node
                props[key] = child = _Node()
            self._column(child, column, depth + 1)

    def _arrays(self, node: _Node, lists, depth: int) -> None:
        lengths = list(map(len, lists))
        node.min_items = _low(node.min_items, min(lengths))
        node.max_items = max(node.max_items, max(lengths))
        items = list(chain.from_iterable(lists))
        if items:
            if node.items is None:  # novel: its first item is a new type at a new node
                node.items = _Node()
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
    # A placeholder stands for a secret: it names no value of the API.
    return len(value) <= ENUM_MAX_LENGTH and is_utf8(value) and PREFIX not in value


def _numbers(node: _Node, column, kind: str) -> None:
    if kind == "number" and not all(map(math.isfinite, column)):
        column = [v for v in column if math.isfinite(v)]
        if not column:
            return
    low, high = min(column), max(column)
    node.low = low if node.low is None else min(node.low, low)
    node.high = high if node.high is None else max(node.high, high)
    _sample(node, column)


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
    return assemble(groups, {})


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
        spec["schema"] = ordered(schema)
        return spec
