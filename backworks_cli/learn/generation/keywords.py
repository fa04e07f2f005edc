"""What a schema's keywords say about its values: bounds, declared and inferred types,
allOf merging, uniqueness and coercion of forced values to a type.
"""

from __future__ import annotations

import json
import math
from typing import Any

# ---------------------------------------------------------------------------------------------
# Schema helpers


# The JSON type each numeric semantic type stands for; every other semantic type is a string.
SEMANTIC_TYPE = {
    "unix_timestamp": "integer", "integer_id": "integer", "latitude": "number",
    "longitude": "number", "price": "number", "percentage": "number",
}  # fmt: skip


def bounds(s: dict):
    """(lo, hi, lo_exclusive, hi_exclusive), with draft-4 boolean exclusives understood."""
    lo, hi = s.get("minimum"), s.get("maximum")
    lox = hix = False
    ex = s.get("exclusiveMinimum")
    if isinstance(ex, bool):
        lox = ex and lo is not None
    elif isinstance(ex, int | float) and (lo is None or ex >= lo):
        lo, lox = ex, True
    ex = s.get("exclusiveMaximum")
    if isinstance(ex, bool):
        hix = ex and hi is not None
    elif isinstance(ex, int | float) and (hi is None or ex <= hi):
        hi, hix = ex, True
    return lo, hi, lox, hix


def declared_types(s: dict) -> list[str]:
    t = s.get("type")
    types = [t] if isinstance(t, str) else list(t) if isinstance(t, list) else []
    if s.get("nullable") is True and types and "null" not in types:
        types.append("null")
    return types


def inferred_type(s: dict, semantic: str | None) -> str:
    keys = s.keys()
    if keys & {"properties", "required", "additionalProperties", "minProperties"}:
        return "object"
    if keys & {"items", "prefixItems", "minItems", "maxItems", "uniqueItems"}:
        return "array"
    if keys & {"minLength", "maxLength", "pattern", "format"}:
        return "string"
    if keys & {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}:
        return "number"
    return SEMANTIC_TYPE.get(semantic or "", "string")


def json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def is_type(v: Any, t: str) -> bool:
    actual = json_type(v)
    if actual == t:
        return True
    if t == "number":
        return actual == "integer"
    return t == "integer" and actual == "number" and v.is_integer()


_MERGE_MAX = frozenset(
    ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains")
)
_MERGE_MIN = frozenset(
    ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains")
)


def merge(a: dict, b: dict) -> dict:
    """Both schemas at once (allOf): bounds tightened, properties and required united."""
    out = dict(a)
    for k, v in b.items():
        if k not in out:
            out[k] = v
            continue
        cur = out[k]
        if k in ("properties", "patternProperties"):
            props = dict(cur)
            for name, sub in v.items():
                props[name] = {"allOf": [props[name], sub]} if name in props else sub
            out[k] = props
        elif k == "required":
            out[k] = list(dict.fromkeys([*cur, *v]))
        elif k == "dependentRequired":
            both = {**cur, **v}
            out[k] = {n: list(dict.fromkeys([*cur.get(n, ()), *v.get(n, ())])) for n in both}
        elif k == "type":
            out[k] = _merge_types(cur, v)
        elif isinstance(cur, bool) or isinstance(v, bool):
            if k in ("additionalProperties", "items", "additionalItems"):
                out[k] = False if False in (cur, v) else v if cur is True else cur
            else:
                out[k] = cur or v
        elif k in _MERGE_MAX:
            out[k] = max(cur, v)
        elif k in _MERGE_MIN:
            out[k] = min(cur, v)
        elif k == "not":
            out[k] = {"anyOf": [cur, v]}
        elif k == "enum":
            out[k] = [x for x in cur if x in v] or cur
        elif k in ("items", "additionalProperties") and isinstance(cur, dict):
            out[k] = {"allOf": [cur, v]}
        elif k == "x-semantic" and v == "other":
            continue
        else:
            out[k] = v
    return out


def _merge_types(a, b) -> list[str]:
    a = [a] if isinstance(a, str) else list(a)
    b = [b] if isinstance(b, str) else list(b)
    out = [t for t in a if t in b]
    if "integer" in a and "number" in b and "integer" not in out:
        out.append("integer")
    if "number" in a and "integer" in b and "integer" not in out:
        out.append("integer")
    return out or b


def pointer_token(name: Any) -> bytes:
    return ("/" + str(name).replace("~", "~0").replace("/", "~1")).encode()


def copy(v: Any) -> Any:
    return json.loads(json.dumps(v)) if isinstance(v, dict | list) else v


def unique_key(v: Any) -> str:
    def norm(x):
        if isinstance(x, float) and x.is_integer():
            return int(x)
        if isinstance(x, list):
            return [norm(i) for i in x]
        if isinstance(x, dict):
            return {k: norm(i) for k, i in x.items()}
        return x

    return json.dumps(norm(v), sort_keys=True)


def is_multiple(v: float, m: float) -> bool:
    """jsonschema's own test, float arithmetic included, so what passes here validates there."""
    if isinstance(m, float):
        try:
            q = v / m
            return int(q) == q
        except (OverflowError, ValueError):
            return False
    return v % m == 0


def coerce(v: Any, types: tuple[str, ...]) -> Any:
    """An override converted to the property's type: "42" for a string id, 42 for an integer."""
    if not types or any(is_type(v, t) for t in types):
        return v
    for t in types:
        if t == "string" and v is not None:
            return json.dumps(v) if isinstance(v, bool | dict | list) else str(v)
        if t in ("integer", "number") and isinstance(v, str):
            try:
                return int(v)
            except ValueError:
                try:
                    f = float(v)
                except ValueError:
                    continue
                if math.isfinite(f) and (t == "number" or f.is_integer()):
                    return int(f) if f.is_integer() else f
        if t == "boolean" and isinstance(v, str | int) and str(v).lower() in ("true", "1"):
            return True
        if t == "boolean" and isinstance(v, str | int) and str(v).lower() in ("false", "0"):
            return False
    return v
