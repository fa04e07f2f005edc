"""The normalised aspects of a request that make its match key: JSON bodies as data (key order,
whitespace and 1 vs 1.0 do not matter) minus ignored paths, form bodies as a multiset of
fields, anything else as bytes or a digest.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from backworks_cli.answer.match_rules import ANY, JsonPath
from backworks_cli.core.exchange import Request

_INLINE = 64  # canonical bodies longer than this are kept in the key as a digest


_JSON_START = re.compile(rb"\s*[\[{]")


# Stands in for an ignored array item (object keys are deleted instead), so that the array's
# length is still compared while the item's value is not.
IGNORED = "\x00(ignored)"


# --- normalisation ------------------------------------------------------------------------


def _number(text: str) -> int | float:
    """JSON numbers with a fraction or exponent: integral ones become ints, so 1.0 == 1."""
    value = float(text)
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


# One decoder and one encoder for every body: json.loads/dumps with options build new ones per call.
_DECODER = json.JSONDecoder(parse_float=_number)
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


def _load_json(body: bytes) -> Any:
    return _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))


def _drop(node: Any, steps: JsonPath) -> Any:
    """`node` without what `steps` points at: object keys deleted, array items blanked."""
    if not steps:
        return IGNORED
    head, rest = steps[0], steps[1:]
    if isinstance(node, dict):
        if head is ANY:
            keys = list(node)
        elif isinstance(head, str) and head in node:
            keys = [head]
        else:
            return node
        out = dict(node)
        for key in keys:
            if rest:
                out[key] = _drop(node[key], rest)
            else:
                del out[key]
        return out
    if isinstance(node, list):
        if head is ANY:
            items = range(len(node))
        elif (
            isinstance(head, int) and not isinstance(head, bool) and -len(node) <= head < len(node)
        ):
            items = [head]
        else:
            return node
        out = list(node)
        for i in items:
            out[i] = _drop(node[i], rest)
        return out
    return node


def _strip(data: Any, paths: Sequence[JsonPath]) -> Any:
    for steps in paths:
        data = _drop(data, steps)
    return data


def body_kind(body: bytes, content_type: str | None) -> str:
    ctype = (content_type or "").lower()
    if "x-www-form-urlencoded" in ctype:
        return "form"
    if "json" in ctype or _JSON_START.match(body):
        return "json"
    return "bytes"


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    text = body.decode("utf-8", "surrogateescape")
    return sorted(parse_qsl(text, keep_blank_values=True, errors="surrogateescape"))


def _digest(data: bytes) -> tuple[int, bytes]:
    """(length, the bytes themselves when short, else their blake2b digest)."""
    if len(data) <= _INLINE:
        return len(data), data
    return len(data), hashlib.blake2b(data, digest_size=16).digest()


def json_data(body: bytes, paths: Sequence[JsonPath]) -> Any:
    """The body as JSON data without the ignored paths; ValueError/RecursionError if not JSON."""
    return _strip(_load_json(body), paths)


def body_part(body: bytes, content_type: str | None, paths: Sequence[JsonPath] = ()) -> tuple:
    """The body's share of a match key: () when empty, else (kind, length, bytes-or-digest)."""
    if not body:
        return ()
    kind = body_kind(body, content_type)
    if kind == "json":
        try:
            canonical = _canonical(json_data(body, paths))
        except (ValueError, RecursionError):
            pass  # not JSON after all: compared byte for byte below
        else:
            return ("json", *_digest(canonical.encode()))
    elif kind == "form":
        return ("form", *_digest(json.dumps(form_pairs(body)).encode()))
    return ("bytes", *_digest(body))


def header_values(request: Request, name: str) -> tuple[str, ...]:
    return tuple(v for k, v in request.headers if k.lower() == name)
