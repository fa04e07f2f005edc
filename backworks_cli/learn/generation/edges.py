"""Boundary data from hypothesis-jsonschema, drawn deterministically per seed, for
`Generator.edge_case`.
"""

from __future__ import annotations

import random
from typing import Any

from backworks_cli.core.errors import ConfigError
from backworks_cli.learn.generation.keywords import declared_types

# ---------------------------------------------------------------------------------------------
# Edge cases through hypothesis-jsonschema


_NAME_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_VALUES = (
    "items", "additionalItems", "additionalProperties", "not", "contains", "propertyNames",
    "if", "then", "else", "unevaluatedItems", "unevaluatedProperties",
)  # fmt: skip


def _mentions_all_of(s: Any) -> bool:
    if isinstance(s, dict):
        return "allOf" in s or any(_mentions_all_of(v) for v in s.values())
    return isinstance(s, list) and any(_mentions_all_of(v) for v in s)


def _edge_schema(s: Any, close: bool) -> Any:
    """The schema as hypothesis-jsonschema reads it: no x- keys, OpenAPI `nullable` as a type,
    tuples as draft-7 `items` lists; with `close`, objects closed to undeclared keys so the edge
    cases land on the fields a client knows (not when allOf could combine two objects)."""
    if not isinstance(s, dict):
        return s
    out: dict = {}
    for k, v in s.items():
        if k.startswith("x-") or k == "nullable":
            continue
        if k in _NAME_MAPS and isinstance(v, dict):
            out[k] = {name: _edge_schema(sub, close) for name, sub in v.items()}
        elif k in _SCHEMA_LISTS and isinstance(v, list):
            out[k] = [_edge_schema(sub, close) for sub in v]
        elif k in _SCHEMA_VALUES:
            edge = [_edge_schema(x, close) for x in v] if isinstance(v, list) else None
            out[k] = edge if edge is not None else _edge_schema(v, close)
        else:
            out[k] = v
    if s.get("nullable") is True and "type" in out:
        types = declared_types(s)
        out["type"] = types
    if "prefixItems" in out:
        out["additionalItems"] = out.pop("items", True)
        out["items"] = out.pop("prefixItems")
    if close and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


_PROVIDER: list = []


def _stable_provider():
    """Hypothesis's provider without the constants it scrapes from whatever modules are loaded,
    which would make a key's draw depend on the process."""
    if _PROVIDER:
        return _PROVIDER[0]
    from hypothesis.internal.conjecture.choice import choice_constraints_key, choice_permitted
    from hypothesis.internal.conjecture.providers import GLOBAL_CONSTANTS, HypothesisProvider

    cache: dict = {}

    class StableProvider(HypothesisProvider):
        def _maybe_draw_constant(self, choice_type, constraints, *, p=0.05):
            if self._random.random() > p:
                return None
            key = (choice_type, choice_constraints_key(choice_type, constraints))
            pool = cache.get(key)
            if pool is None:
                pool = cache[key] = tuple(
                    c
                    for c in GLOBAL_CONSTANTS.set_for_type(choice_type)
                    if choice_permitted(c, constraints)
                )
            return self._random.choice(pool) if pool else None

    _PROVIDER.append(StableProvider)
    return StableProvider


def edge_strategy(schema: Any) -> Any:
    try:
        from hypothesis import strategies as st
        from hypothesis_jsonschema import from_schema
    except ImportError as err:
        raise ConfigError(
            "Edge-case data needs the hypothesis-jsonschema package.",
            hint="pip install hypothesis-jsonschema",
        ) from err
    uuids = st.uuids().map(str)  # the one claimed format hypothesis-jsonschema lacks
    closed = _edge_schema(schema, not _mentions_all_of(schema))
    return from_schema(closed, custom_formats={"uuid": uuids})


MISS = object()


def _repair_falsey() -> None:
    """hypothesis-jsonschema 0.23 pops "not" off its shared FALSEY schema ({"not": {}}) when it
    builds a strategy for a branch that cannot match (if/then/else leads there); from then on
    it takes every schema for one that cannot match, and all later edge cases of the process
    come out empty. Put it back after each draw."""
    from hypothesis_jsonschema import _canonicalise

    if _canonicalise.FALSEY != {"not": {}}:
        _canonicalise.FALSEY.clear()
        _canonicalise.FALSEY["not"] = {}


def edge_draw(strategy: Any, seed: int) -> Any:
    """One value of `strategy` from a seeded random, or MISS when the draw runs out of room."""
    from hypothesis.control import BuildContext
    from hypothesis.errors import StopTest
    from hypothesis.internal.conjecture.data import ConjectureData

    data = ConjectureData(random=random.Random(seed), provider=_stable_provider())
    try:
        with BuildContext(data, is_final=False, wrapped_test=None):
            return data.draw(strategy)
    except StopTest:
        return MISS
    finally:
        _repair_falsey()
