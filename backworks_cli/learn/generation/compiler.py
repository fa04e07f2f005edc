"""A schema compiled once into a plan of small closures (nodes), each drawing its field's
value from the hash of seed, key and JSON pointer.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

from backworks_cli.core.errors import ConfigError
from backworks_cli.learn.generation.fakes import (
    ANNOTATIONS,
    FORMAT_GENERATORS,
    HARD_DEPTH,
    M53,
    NULL,
    PRESENT,
    RECURSION_WEIGHT,
    SEMANTICS,
    SOFT_DEPTH,
    Field,
    Node,
    Pools,
    rehash,
)
from backworks_cli.learn.generation.keywords import (
    SEMANTIC_TYPE,
    coerce,
    copy,
    declared_types,
    inferred_type,
    is_multiple,
    is_type,
    json_type,
    merge,
    pointer_token,
    unique_key,
)
from backworks_cli.learn.generation.patterns import pattern_generator

# ---------------------------------------------------------------------------------------------
# Plan compilation


def _const_node(value: Any) -> Node:
    if isinstance(value, dict | list):
        return lambda ctx, r, ptr, depth, ov: copy(value)
    return lambda ctx, r, ptr, depth, ov: value


def _nullable(inner: Node) -> Node:
    def node(ctx, r, ptr, depth, ov):
        if ov is None and (depth >= SOFT_DEPTH or (r >> 112) & 0xFF < NULL):
            return None
        return inner(ctx, r, ptr, depth, ov)

    return node


def _choice(nodes: list[Node], shallow: int | None) -> Node:
    """One of several nodes, chosen by the draw; at depth, the one that ends recursion."""
    n = len(nodes)

    def node(ctx, r, ptr, depth, ov):
        i = shallow if depth >= SOFT_DEPTH and shallow is not None else (r >> 96) % n
        return nodes[i](ctx, r, ptr, depth, ov)

    return node


def _first_valid(gens: list, check, P: Pools, field: Field) -> Node:
    """The first candidate value that passes `check`, else the last candidate's value."""
    if check is None or len(gens) == 1:
        gen = gens[0]
        return lambda ctx, r, ptr, depth, ov: gen(P, r, field)

    def node(ctx, r, ptr, depth, ov):
        for gen in gens:
            v = gen(P, r, field)
            if v is not None and check(v):
                return v
        return v

    return node


class Compiler:
    """Turns one schema (the root that $refs resolve against) into a Node."""

    def __init__(self, root: Any, pools: Pools):
        self.root = root
        self.P = pools
        self.refs: dict[str, tuple[Node, list]] = {}
        self.compiling: set[str] = set()
        self.flattening: list[str] = []

    def node(self, s: Any) -> Node:
        if s is True or s == {}:
            return self._string({}, None)
        if s is False or s is None:
            return _const_node(None)
        if not isinstance(s, dict):
            raise ConfigError(
                f"A schema must be an object or a boolean, not {s!r}.",
                hint="Write the schema as a JSON Schema object, e.g. {type: string}.",
            )
        if "$ref" in s and not (s.keys() - ANNOTATIONS - {"$ref"}):
            return self._ref(s["$ref"])
        if "$ref" in s or "allOf" in s:
            s = self._flatten(s)
        for key in ("oneOf", "anyOf"):
            if s.get(key):
                return self._union(s, key)
        if "const" in s:
            return _const_node(s["const"])
        types = declared_types(s)
        if s.get("enum"):
            values = [v for v in s["enum"] if not types or any(is_type(v, t) for t in types)]
            values = values or list(s["enum"])
            if any(isinstance(v, dict | list) for v in values):
                return lambda ctx, r, ptr, depth, ov: copy(values[r % len(values)])
            return lambda ctx, r, ptr, depth, ov: values[r % len(values)]
        semantic = s.get("x-semantic")
        semantic = semantic if semantic in SEMANTICS else None
        kinds = [t for t in types if t != "null"] if types else [inferred_type(s, semantic)]
        if not kinds:
            return _const_node(None)
        nodes = [self._typed(s, t, semantic) for t in kinds]
        node = nodes[0] if len(nodes) == 1 else _choice(nodes, None)
        return _nullable(node) if "null" in types else node

    def _typed(self, s: dict, t: str, semantic: str | None) -> Node:
        if t == "object":
            return self._object(s)
        if t == "array":
            return self._array(s)
        if t == "string":
            return self._string(s, semantic)
        if t in ("integer", "number"):
            return self._number(s, t, semantic)
        if t == "boolean":
            return lambda ctx, r, ptr, depth, ov: bool(r & 1)
        if t == "null":
            return _const_node(None)
        raise ConfigError(
            f"Unknown JSON Schema type {t!r} in {json.dumps(s)[:200]}.",
            hint="Use one of: string, integer, number, boolean, object, array, null.",
        )

    # -- references, allOf, oneOf/anyOf

    def _resolve(self, ref: str) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise ConfigError(
                f"Schema reference {ref!r} points outside the schema.",
                hint="Put shared schemas under $defs in the same schema and refer to them as "
                '"#/$defs/<name>".',
            )
        target = self.root
        for token in filter(None, ref[1:].split("/")):
            token = token.replace("~1", "/").replace("~0", "~").replace("%25", "%")
            if isinstance(target, dict) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise ConfigError(
                    f"Schema reference {ref!r} points at nothing in the schema.",
                    hint="Define it under $defs (or definitions) of the same schema, or fix "
                    "the name.",
                )
        return target

    def _ref(self, ref: str) -> Node:
        known = self.refs.get(ref)
        if known is not None:
            if ref in self.compiling:
                known[1][1] = True  # met again while compiling its own target: a recursion
            return known[0]
        slot: list = [None, False]  # the target's node, and whether the reference recurses

        def node(ctx, r, ptr, depth, ov):
            if depth > HARD_DEPTH:
                return None
            return slot[0](ctx, r, ptr, depth + RECURSION_WEIGHT if slot[1] else depth, ov)

        self.refs[ref] = (node, slot)
        self.compiling.add(ref)
        slot[0] = self.node(self._resolve(ref))
        self.compiling.discard(ref)
        return node

    def _flatten(self, s: Any) -> Any:
        """A schema with its top-level $ref and allOf merged in (nested ones stay lazy)."""
        if not isinstance(s, dict) or not ("$ref" in s or "allOf" in s):
            return {} if s is True else s
        out = {k: v for k, v in s.items() if k not in ("$ref", "allOf")}
        ref = s.get("$ref")
        if ref is not None and ref not in self.flattening:
            self.flattening.append(ref)
            target = self._flatten(self._resolve(ref))
            self.flattening.pop()
            if isinstance(target, dict):
                out = merge(target, out)
        for part in s.get("allOf", ()):
            part = self._flatten(part)
            if isinstance(part, dict):
                out = merge(out, part)
        return out

    def _union(self, s: dict, key: str) -> Node:
        base = {k: v for k, v in s.items() if k != key}
        constrained = bool(base.keys() - ANNOTATIONS)
        branches = [
            merge(base, self._flatten(b) if isinstance(b, dict) else {}) if constrained else b
            for b in s[key]
        ]
        ends = [self._ends(b) for b in branches]
        shallow = next((i for i, e in enumerate(ends) if e), None)
        if "null" in ends:
            shallow = ends.index("null")
        return _choice([self.node(b) for b in branches], shallow)

    def _ends(self, s: Any) -> str | None:
        """The type of a branch that cannot recurse (a scalar), preferring null; else None."""
        if not isinstance(s, dict) or "$ref" in s:
            return None
        if "const" in s or "enum" in s:
            return "scalar"
        types = declared_types(s)
        if "null" in types:
            return "null"
        scalars = {"string", "integer", "number", "boolean"}
        return "scalar" if types and set(types) <= scalars else None

    def _types_of(self, s: Any, depth: int = 0) -> tuple[str, ...]:
        """The JSON types a property schema allows, for coercing overrides; () when any."""
        if not isinstance(s, dict) or depth > 8:
            return ()
        s = self._flatten(s)
        if "const" in s:
            return (json_type(s["const"]),)
        types = declared_types(s)
        if types:
            return tuple(types)
        if s.get("enum"):
            return tuple(dict.fromkeys(json_type(v) for v in s["enum"]))
        branches = s.get("oneOf") or s.get("anyOf")
        if branches:
            found = [self._types_of(b, depth + 1) for b in branches]
            return () if () in found else tuple(dict.fromkeys(t for ts in found for t in ts))
        if s.get("x-semantic") in SEMANTIC_TYPE or s.keys() - ANNOTATIONS - {"x-semantic"}:
            return (inferred_type(s, s.get("x-semantic")),)
        return ()

    # -- containers

    def _object(self, s: dict) -> Node:
        props = s.get("properties") or {}
        required = [n for n in s.get("required", ()) if isinstance(n, str)]
        extra = s.get("additionalProperties", True)
        extra_schema = extra if isinstance(extra, dict) else {}
        entries = [
            (name, pointer_token(name), self.node(sub), name in required, self._types_of(sub))
            for name, sub in props.items()
        ]
        for name in dict.fromkeys(required):
            if name not in props:
                types = self._types_of(extra_schema)
                entries.append((name, pointer_token(name), self.node(extra_schema), True, types))
        names = {e[0] for e in entries}
        open_ = extra is not False
        min_p, max_p = int(s.get("minProperties", 0)), s.get("maxProperties")
        resize = self._resizer(entries, min_p, max_p, open_, extra_schema)

        def node(ctx, r, ptr, depth, ov):
            out = {}
            shallow = depth >= SOFT_DEPTH
            d1 = depth + 1
            for name, token, child, req, types in entries:
                if ov is not None and name in ov:
                    out[name] = coerce(ov[name], types)
                    continue
                p = ptr + token
                h = ctx.copy()
                h.update(p)
                rc = int.from_bytes(h.digest(), "little")
                if req or (not shallow and rc >> 120 < PRESENT):
                    out[name] = child(ctx, rc, p, d1, None)
            if ov is not None and open_:
                for k, v in ov.items():
                    if k not in names:
                        out[k] = v
            if resize is not None:
                resize(out, ctx, ptr, d1, ov)
            return out

        return node

    def _resizer(self, entries, min_p: int, max_p, open_: bool, extra_schema: dict):
        """minProperties: absent optional properties added, then extra keys; maxProperties:
        optional ones dropped from the end."""
        if min_p <= 0 and max_p is None:
            return None
        extra_node = self.node(extra_schema)

        def resize(out, ctx, ptr, d1, ov):
            for name, token, child, _req, _types in entries:
                if len(out) >= min_p:
                    break
                if name not in out:
                    p = ptr + token
                    h = ctx.copy()
                    h.update(p)
                    out[name] = child(ctx, int.from_bytes(h.digest(), "little"), p, d1, None)
            i = 0
            while open_ and len(out) < min_p:
                name = f"field_{i}"
                i += 1
                if name not in out:
                    p = ptr + pointer_token(name)
                    h = ctx.copy()
                    h.update(p)
                    out[name] = extra_node(ctx, int.from_bytes(h.digest(), "little"), p, d1, None)
            if max_p is not None:
                for name, _token, _child, req, _types in reversed(entries):
                    if len(out) <= max_p:
                        break
                    if not req and name in out and not (ov and name in ov):
                        del out[name]

        return resize

    def _array(self, s: dict) -> Node:
        items, prefix = s.get("items"), s.get("prefixItems") or []
        if isinstance(items, list):
            prefix, items = items, s.get("additionalItems", True)
        prefix_nodes = [self.node(p) for p in prefix]
        item_node = None if items is False else self.node(items if items is not None else {})
        deep = int(s.get("minItems", 0))
        lo = deep if "minItems" in s else (0 if s.get("maxItems") == 0 else 1)
        hi = max(lo, 5) if s.get("maxItems") is None else min(int(s["maxItems"]), max(lo, 5))
        if item_node is None:
            hi = min(hi, len(prefix_nodes))
            lo, deep = min(lo, hi), min(deep, hi)
        span, n_prefix = max(1, hi - lo + 1), len(prefix_nodes)
        unique = s.get("uniqueItems") is True

        def item(ctx, i, ptr, d1):
            p = ptr + b"/%d" % i
            h = ctx.copy()
            h.update(p)
            child = prefix_nodes[i] if i < n_prefix else item_node
            return child(ctx, int.from_bytes(h.digest(), "little"), p, d1, None)

        if unique:

            def unique_node(ctx, r, ptr, depth, ov):
                n = deep if depth >= SOFT_DEPTH else lo + r % span
                out, seen = [], set()
                for i in range(4 * n + 8):
                    if len(out) >= n:
                        break
                    v = item(ctx, i, ptr, depth + 1)
                    key = unique_key(v)
                    if key not in seen:
                        seen.add(key)
                        out.append(v)
                return out

            return unique_node

        def node(ctx, r, ptr, depth, ov):
            n = deep if depth >= SOFT_DEPTH else lo + r % span
            return [item(ctx, i, ptr, depth + 1) for i in range(n)]

        return node

    # -- scalars

    def _string(self, s: dict, semantic: str | None) -> Node:
        field = Field("string", s)
        min_len, max_len = field.min_len, field.max_len
        pattern = s.get("pattern")
        regex = None
        if isinstance(pattern, str):
            try:
                regex = re.compile(pattern)
            except re.error as err:
                raise ConfigError(
                    f"The schema pattern {pattern!r} is not a valid regular expression: {err}.",
                    hint="Fix the pattern in backworks.yaml (JSON Schema patterns are "
                    "ECMA-262 regular expressions).",
                ) from err
        fmt = FORMAT_GENERATORS.get(field.fmt)
        gens = []
        if semantic and semantic != "other" and fmt is None:
            gens.append(SEMANTICS[semantic])
        if regex is not None:
            gen = pattern_generator(pattern, regex, min_len, max_len)
            if gen is not None:
                gens.append(gen)
        if fmt is not None:
            gens.append(fmt)
        gens.append(lambda P, r, f: _words(P, r, min_len, max_len))
        check = None
        if min_len or max_len is not None or regex is not None:
            top = math.inf if max_len is None else max_len

            def check(v):
                return (
                    isinstance(v, str)
                    and min_len <= len(v) <= top
                    and (regex is None or regex.search(v) is not None)
                )

        return _first_valid(gens, check, self.P, field)

    def _number(self, s: dict, t: str, semantic: str | None) -> Node:
        field = Field(t, s)
        lo, hi, lox, hix = field.lo, field.hi, field.lox, field.hix
        m = s.get("multipleOf")
        m = m if isinstance(m, int | float) and not isinstance(m, bool) and m > 0 else None
        integer = t == "integer"

        def ok(v):
            if isinstance(v, bool) or not isinstance(v, int | float):
                return False
            if integer and not isinstance(v, int):
                return False
            if lo is not None and (v < lo or (lox and v == lo)):
                return False
            if hi is not None and (v > hi or (hix and v == hi)):
                return False
            return m is None or is_multiple(v, m)

        plain = _plain_number(lo, hi, lox, hix, m, integer, ok)
        gens = [plain]
        if semantic and semantic != "other":
            sem = SEMANTICS[semantic]
            to_number = _as_integer if integer else _as_number
            gens.insert(0, lambda P, r, f: to_number(sem(P, r, f)))
        return _first_valid(gens, ok, self.P, field)


def _as_integer(v: Any) -> int | None:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.isdigit() and len(v) < 19:
        return int(v)
    return None


def _as_number(v: Any) -> int | float | None:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def _plain_number(lo, hi, lox: bool, hix: bool, m, integer: bool, ok):
    """A number from the bounds alone: ints for integers, two decimals for numbers."""
    if integer:
        a = None if lo is None else (math.floor(lo) + 1 if lox else math.ceil(lo))
        b = None if hi is None else (math.ceil(hi) - 1 if hix else math.floor(hi))
    else:
        a, b = lo, hi
    if a is None and b is None:
        a, b = (1, 1000) if integer else (0, 1000)
    elif a is None:
        a = 1 if b >= 1 + 10 else b - 1000
    elif b is None:
        b = a + 1000
    if m is not None:
        step = m
        if integer and not float(m).is_integer():
            step = Fraction(str(m)).numerator
        if float(step).is_integer():
            step, places = int(step), 0
        else:
            places = max(0, -Decimal(repr(step)).as_tuple().exponent)
        kmin, kmax = math.ceil(a / step), math.floor(b / step)

        def times(k):
            return k * step if places == 0 else round(k * step, places)

        def multiple(P, r, f):
            count = kmax - kmin + 1
            if count <= 0:
                return times(kmin)
            for _ in range(8):
                r, i = divmod(r, count)
                v = times(kmin + i)
                if ok(v):
                    return v
            for k in range(kmin, min(kmax, kmin + 64) + 1):
                if ok(times(k)):
                    return times(k)
            return times(kmin)

        return multiple
    if integer:
        return lambda P, r, f: a + r % max(1, b - a + 1)

    def number(P, r, f):
        x = a + (b - a) * ((r & M53) / M53)
        for v in (round(x, 2), x, (a + b) / 2):
            if ok(v):
                return v
        return x

    return number


def _words(P: Pools, r: int, min_len: int, max_len: int | None) -> str:
    """One or two words, more if minLength asks, cut at maxLength."""
    words = P["word"]
    n = len(words)
    r, i = divmod(r, n)
    s = words[i]
    if r & 1:
        r, i = divmod(r >> 1, n)
        s += " " + words[i]
    while len(s) < min_len:
        if r < n:
            r = rehash(r)
        r, i = divmod(r, n)
        s += " " + words[i]
    if max_len is not None and len(s) > max_len:
        s = s[:max_len]
        if s.endswith(" "):
            s = s[:-1] + "x"
    return s
