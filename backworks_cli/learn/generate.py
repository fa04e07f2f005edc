"""Data from a JSON Schema whose fields carry `x-semantic` types, deterministic per seed and key.

`Generator.generate` compiles each schema once into a plan of small closures and walks it. Every
field draws its randomness from blake2b(f"{seed}|{key}|{json pointer}"), so a key gives the same
value in every process and adding a field leaves the other fields as they were. Realistic values
(names, companies, cities, ...) are picked from pools that Faker fills once per locale with a fixed
seed, because calling Faker per field is ten times too slow for a mock server.
`Generator.edge_case` draws boundary data from hypothesis-jsonschema instead.

When a semantic type and the schema disagree, the schema wins: a known `format` replaces the
semantic type, and a semantic value is used only if it fits the type, bounds, lengths and pattern;
otherwise the plain generator for the schema's type runs.
"""

from __future__ import annotations

import hashlib
from typing import Any

from backworks_cli.core.errors import ConfigError
from backworks_cli.learn.generation.compiler import Compiler
from backworks_cli.learn.generation.edges import MISS, edge_draw, edge_strategy
from backworks_cli.learn.generation.fakes import POOLS, Node, Pools, stable_int

# ---------------------------------------------------------------------------------------------
# The generator


class Generator:
    """Schema-valid data, deterministic per (seed, key).

    `key` names one response, e.g. "get_users_id|id=42"; the same key gives the same value in
    every process. Schemas are treated as immutable: each is compiled once and the plan is cached
    by identity.
    """

    def __init__(self, seed: int = 0, locale: str = "en_US"):
        from faker.config import AVAILABLE_LOCALES

        if locale not in AVAILABLE_LOCALES:
            raise ConfigError(
                f"Unknown locale {locale!r} for generated data.",
                hint=f"Use a Faker locale such as en_US, de_DE or fr_FR "
                f"({len(AVAILABLE_LOCALES)} are available).",
            )
        self.seed = seed
        self.locale = locale
        pools = POOLS.get(locale)
        if pools is None:
            pools = POOLS[locale] = Pools(locale)
        self._pools = pools
        self._plans: dict[int, tuple[Any, Node]] = {}
        self._edges: dict[int, tuple[Any, Any, Any]] = {}

    def _plan(self, schema: Any) -> Node:
        entry = self._plans.get(id(schema))
        if entry is not None and entry[0] is schema:
            return entry[1]
        if len(self._plans) > 4096:
            self._plans.clear()
        plan = Compiler(schema, self._pools).node(schema)
        self._plans[id(schema)] = (schema, plan)
        return plan

    def generate(self, schema: Any, *, key: str, overrides: dict | None = None) -> Any:
        """A value valid for `schema`; `overrides` are forced at the top level of an object
        schema, converted to each property's type ({"id": "42"} for a string id)."""
        plan = self._plan(schema)
        ctx = hashlib.blake2b(f"{self.seed}|{key}|".encode(), digest_size=16)
        r = int.from_bytes(ctx.copy().digest(), "little")
        return plan(ctx, r, b"", 0, overrides or None)

    def edge_case(self, schema: Any, *, key: str) -> Any:
        """Boundary data valid for `schema` (extreme lengths and bounds, empty arrays, unicode)
        drawn by hypothesis-jsonschema, deterministic per key. Schemas it cannot handle
        (recursive references, for one) get `generate`'s value."""
        entry = self._edges.get(id(schema))
        if entry is None or entry[0] is not schema:
            self._plan(schema)  # a bad $ref or pattern raises ConfigError here, not in hypothesis
            if len(self._edges) > 1024:
                self._edges.clear()
            from jsonschema import Draft202012Validator

            valid = Draft202012Validator(schema).is_valid
            entry = self._edges[id(schema)] = (schema, edge_strategy(schema), valid)
        strategy, valid = entry[1], entry[2]
        if strategy is not None:
            base = stable_int(f"{self.seed}|{key}|edge")
            for attempt in range(8):
                try:
                    value = edge_draw(strategy, base + attempt)
                except Exception:
                    # hypothesis-jsonschema raises on the first draw for schemas it cannot build
                    self._edges[id(schema)] = (schema, None, valid)
                    break
                # it ignores minContains, maxContains and dependentRequired, for one
                if value is not MISS and valid(value):
                    return value
        return self.generate(schema, key=key)
