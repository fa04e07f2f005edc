"""JSON Schemas in canonical form (keys in a fixed order) and their merging: a merged schema
accepts everything either one accepts, so new evidence widens a schema, never narrows it.
"""

from __future__ import annotations

from typing import Any

from backworks_cli.learn.values import ENUM_MAX, kind_of

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


def ordered(schema: dict[str, Any]) -> dict[str, Any]:
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
    return ordered(value) if isinstance(value, dict) else value


def assemble(groups: dict[str, dict[str, Any]], top: dict[str, Any]) -> dict[str, Any]:
    """One schema from its type groups: the group itself, or anyOf in a fixed order."""
    present = [groups[g] for g in _GROUP_ORDER if g in groups]
    if not present:
        return ordered(dict(top))
    if len(present) == 1:
        return ordered({**present[0], **{k: v for k, v in top.items() if k not in present[0]}})
    return ordered({**top, "anyOf": [ordered(g) for g in present]})


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
    if kind_of(a) != kind_of(b):
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
    kind = kind_of(value)
    if value is None:
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
        return ordered(top)
    groups = {}
    for name in _GROUP_ORDER:
        if name in old_groups and name in new_groups:
            groups[name] = _merge_group(name, old_groups[name], new_groups[name])
        elif name in old_groups or name in new_groups:
            groups[name] = old_groups.get(name) or new_groups[name]
    for key in set(old_top) & set(new_top):
        if not _is_annotation(key) and same_json(old_top[key], new_top[key]):
            top[key] = old_top[key]
    return assemble(groups, top)


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
