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
    stable_int,
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


_TRIES = 12  # draws a checked node makes before it settles for the last value


def _until(nodes: list[Node], check) -> Node:
    """A value of one of `nodes` (chosen by the draw) that passes `check`; each miss draws
    again, its pointer suffixed so the children draw afresh too. After _TRIES, the last value."""
    n = len(nodes)

    def node(ctx, r, ptr, depth, ov):
        p = ptr
        for attempt in range(1, _TRIES + 1):
            v = nodes[(r >> 72) % n](ctx, r, p, depth, ov)
            if check(v):
                return v
            r, p = rehash(r), ptr + b"!%d" % attempt
        return v

    return node


def _clash(a: dict, b: dict) -> bool:
    """Whether the two schemas declare types no value has (a union branch that cannot be)."""
    ta, tb = set(declared_types(a)), set(declared_types(b))
    for types in (ta, tb):
        if "number" in types:
            types.add("integer")
    return bool(ta and tb and not ta & tb)


def _other_types(s: dict) -> list[str]:
    """The JSON types `s` does not declare: where a value of {"not": s} may be found."""
    banned = set(declared_types(s))
    if "number" in banned:
        banned.add("integer")
    return [
        t
        for t in ("string", "integer", "number", "boolean", "object", "array", "null")
        if t not in banned
    ]


def _conditionals(s: Any, found: list) -> Any:
    """`s` without the if/then/else of itself and of its allOf parts, which go to `found`."""
    if not isinstance(s, dict):
        return s
    if "if" in s:
        found.append((s["if"], s.get("then", True), s.get("else", True)))
    out = {k: v for k, v in s.items() if k not in ("if", "then", "else")}
    if isinstance(out.get("allOf"), list):
        out["allOf"] = [_conditionals(part, found) for part in out["allOf"]]
    return out


class Compiler:
    """Turns one schema (the root that $refs resolve against) into a Node."""

    def __init__(self, root: Any, pools: Pools):
        self.root = root
        self.P = pools
        self.refs: dict[str, tuple[Node, list]] = {}
        self.compiling: set[str] = set()
        self.flattening: list[str] = []
        self.validator: Any = None

    def _check(self, schema: Any):
        """Whether a value is valid for `schema` (a part of the root, whose $refs it reads)."""
        if self.validator is None:
            from jsonschema import Draft202012Validator

            self.validator = Draft202012Validator(self.root)
        return self.validator.evolve(schema=schema).is_valid

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
        whole, conditions = s, []
        if "if" in s or "allOf" in s:
            s = _conditionals(s, conditions)
        if "$ref" in s or "allOf" in s:
            s = _conditionals(self._flatten(s), conditions)
        if conditions or "not" in s:
            base = {k: v for k, v in s.items() if k != "not"}
            if isinstance(s.get("not"), dict) and not base.keys() - ANNOTATIONS - {"x-semantic"}:
                base["type"] = _other_types(s["not"])  # {"not": {"type": "string"}}: not a string
            return self._checked(whole, base, conditions)
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

    def _checked(self, whole: dict, base: dict, conditions: list) -> Node:
        """`not` and if/then/else: `base` with the then or the else of each condition merged
        in (the draw picks which), drawn until the value is valid for the `whole` schema."""
        variants = []
        for bits in range(2 ** min(len(conditions), 3)):
            parts = [base]
            for i, (if_, then, else_) in enumerate(conditions):
                parts += [if_, then] if bits >> i & 1 else [else_]
            variants.append(self.node(self._flatten({"allOf": parts})))
        return _until(variants, self._check(whole))

    def _union(self, s: dict, key: str) -> Node:
        base = {k: v for k, v in s.items() if k != key}
        constrained = bool(base.keys() - ANNOTATIONS)
        branches = s[key]
        if constrained:
            flat = [self._flatten(b) if isinstance(b, dict) else {} for b in branches]
            fits = [b for b in flat if not _clash(base, b)]
            branches = [merge(base, b) for b in fits or flat]
        ends = [self._ends(b) for b in branches]
        shallow = next((i for i, e in enumerate(ends) if e), None)
        if "null" in ends:
            shallow = ends.index("null")
        node = _choice([self.node(b) for b in branches], shallow)
        if key == "oneOf" and not self._disjoint(s[key]):
            return _until([node], self._check({"oneOf": s[key]}))
        return node

    def _disjoint(self, branches: list) -> bool:
        """Whether no value can match two branches, as their JSON types do not overlap."""
        seen: set[str] = set()
        for b in branches:
            types = set(self._types_of(b))
            if "number" in types:
                types.add("integer")
            if not types or types & seen:
                return False
            seen |= types
        return True

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
        open_ = extra is not False
        patterns = [(self._regex(p), sub) for p, sub in (s.get("patternProperties") or {}).items()]
        deps = {
            name: [n for n in needs if isinstance(n, str)]
            for name, needs in (s.get("dependentRequired") or {}).items()
            if isinstance(needs, list)
        }

        def schema_of(name: str, declared: Any = None) -> Any:
            """A property's schema: the declared one and those of the patternProperties its
            name matches; additionalProperties' for an undeclared name matching none."""
            parts = [sub for regex, sub in patterns if regex.search(name)]
            if declared is not None:
                parts.insert(0, declared)
            if not parts:
                return extra_schema
            return parts[0] if len(parts) == 1 else {"allOf": parts}

        def entry(name: str, sub: Any) -> tuple:
            return name, pointer_token(name), self.node(sub), name in required, self._types_of(sub)

        entries = [entry(name, schema_of(name, sub)) for name, sub in props.items()]
        for name in dict.fromkeys([*required, *(n for needs in deps.values() for n in needs)]):
            allowed = open_ or name in required or any(rx.search(name) for rx, _ in patterns)
            if name not in props and allowed:
                entries.append(entry(name, schema_of(name)))
        names = {e[0] for e in entries}
        min_p, max_p = int(s.get("minProperties", 0)), s.get("maxProperties")
        extras = self._extras(min_p, open_, patterns, names, schema_of) if min_p > 0 else []
        resize = self._resizer(entries, min_p, max_p, deps, extras)

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

    def _extras(self, min_p: int, open_: bool, patterns: list, taken: set, schema_of) -> list:
        """Undeclared (name, token, node)s that minProperties may add: field_0, field_1... to an
        open object, names its patternProperties make to a closed one."""
        count = min_p + len(taken)
        if open_:
            names = [f"field_{i}" for i in range(count)]
        else:
            makers = [pattern_generator(rx.pattern, rx, 1, None) for rx, _ in patterns]
            makers = [m for m in makers if m is not None]
            names = [
                makers[i % len(makers)](self.P, stable_int(f"name|{i}"), None)
                for i in range(4 * count if makers else 0)
            ]
        out, nodes, seen = [], {}, set(taken)
        for name in names:
            matched = tuple(i for i, (rx, _) in enumerate(patterns) if rx.search(name))
            if name in seen or not (open_ or matched):
                continue
            seen.add(name)
            if matched not in nodes:
                nodes[matched] = self.node(schema_of(name))
            out.append((name, pointer_token(name), nodes[matched]))
            if len(out) >= count:
                break
        return out

    def _resizer(self, entries, min_p: int, max_p, deps: dict, extras: list):
        """minProperties: absent optional properties added, then extra keys; dependentRequired:
        the properties a present one needs added; maxProperties: optional ones no present
        property needs dropped from the end."""
        if min_p <= 0 and max_p is None and not deps:
            return None
        by_name = {e[0]: e for e in entries}

        def add(out, name, token, child, ctx, ptr, d1):
            p = ptr + token
            h = ctx.copy()
            h.update(p)
            out[name] = child(ctx, int.from_bytes(h.digest(), "little"), p, d1, None)

        def needed(out):
            return {n for name in out for n in deps.get(name, ())}

        def resize(out, ctx, ptr, d1, ov):
            for name, token, child, *_ in [*entries, *extras]:
                if len(out) >= min_p:
                    break
                if name not in out:
                    add(out, name, token, child, ctx, ptr, d1)
            todo = [name for name in out if name in deps]
            while todo:
                for name in deps.get(todo.pop(), ()):
                    if name not in out and name in by_name:
                        add(out, name, *by_name[name][1:3], ctx, ptr, d1)
                        todo.append(name)
            dropped = True
            while max_p is not None and dropped and len(out) > max_p:
                dropped = False
                for name, _token, _child, req, _types in reversed(entries):
                    if len(out) <= max_p:
                        break
                    forced = req or (ov and name in ov)
                    if not forced and name in out and name not in needed(out):
                        del out[name]
                        dropped = True

        return resize

    def _array(self, s: dict) -> Node:
        items, prefix = s.get("items"), s.get("prefixItems") or []
        if isinstance(items, list):
            prefix, items = items, s.get("additionalItems", True)
        contains = s.get("contains")
        min_c = 0 if contains is None else int(s.get("minContains", 1))
        rest = items if items is not None else {}

        def position(i: int) -> Any:
            """The schema of item i: contains merged in below minContains, and its negation
            above when maxContains caps the matches."""
            sub = prefix[i] if i < len(prefix) else rest
            if i < min_c:
                return {"allOf": [sub, contains]}
            if contains is not None and "maxContains" in s:
                return {"allOf": [sub, {"not": contains}]}
            return sub

        n_prefix = len(prefix) if items is False else max(len(prefix), min_c)
        prefix_nodes = [self.node(position(i)) for i in range(n_prefix)]
        if min_c:
            matches = self._check(contains)
            prefix_nodes[:min_c] = [_until([n], matches) for n in prefix_nodes[:min_c]]
        item_node = None if items is False else self.node(position(n_prefix))
        deep = max(int(s.get("minItems", 0)), min_c)
        lo = deep if "minItems" in s or contains is not None else int(s.get("maxItems") != 0)
        hi = max(lo, 5) if s.get("maxItems") is None else min(int(s["maxItems"]), max(lo, 5))
        if contains is not None and "maxContains" in s:
            hi = max(lo, min(hi, int(s["maxContains"])))  # no more items than may match
        if item_node is None:
            hi = min(hi, len(prefix_nodes))
            lo, deep = min(lo, hi), min(deep, hi)
        span = max(1, hi - lo + 1)
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

    def _regex(self, pattern: str) -> re.Pattern:
        try:
            return re.compile(pattern)
        except re.error as err:
            raise ConfigError(
                f"The schema pattern {pattern!r} is not a valid regular expression: {err}.",
                hint="Fix the pattern in backworks.yaml (JSON Schema patterns are "
                "ECMA-262 regular expressions).",
            ) from err

    def _string(self, s: dict, semantic: str | None) -> Node:
        field = Field("string", s)
        min_len, max_len = field.min_len, field.max_len
        pattern = s.get("pattern")
        regex = self._regex(pattern) if isinstance(pattern, str) else None
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
