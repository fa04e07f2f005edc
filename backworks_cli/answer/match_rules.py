"""What replay matching compares, as backworks.yaml's `replay:` block sets it: ignored query
names, ignored JSON paths (`$.meta.*`, `$.items[0].id`), matched headers and the order repeats
are served in (MatchRules).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from backworks_cli.core.errors import ConfigError

SEQUENCES = ("repeat_last", "cycle", "first")


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STEP = re.compile(
    r"""\.(?P<name>[^.\[\]]+)|\[(?:(?P<index>-?\d+)|(?P<star>\*)|'(?P<sq>[^']*)'|"(?P<dq>[^"]*)")\]"""
)


class _Any:
    """The `*` step of a JSON path: every key of an object, every item of an array."""

    def __repr__(self) -> str:
        return "*"


ANY = _Any()
JsonPath = tuple[str | int | _Any, ...]


def parse_json_path(path: str) -> JsonPath:
    """`$.items[*].nonce` -> ("items", ANY, "nonce"); raises ValueError saying what is wrong.

    Supported: `$` (the whole body), `.name`, `['name']`, `[0]`, `[-1]`, `[*]` and `.*`.
    A negative index counts from the end of each body's own array.
    """
    if not path.startswith("$"):
        raise ValueError("a JSON path starts with $, e.g. $.meta.nonce")
    steps: list[str | int | _Any] = []
    pos = 1
    while pos < len(path):
        m = _STEP.match(path, pos)
        if not m:
            raise ValueError(f"cannot read {path[pos:]!r} (character {pos + 1})")
        if m["name"] is not None:
            steps.append(ANY if m["name"] == "*" else m["name"])
        elif m["index"] is not None:
            steps.append(int(m["index"]))
        elif m["star"] is not None:
            steps.append(ANY)
        else:
            steps.append(m["sq"] if m["sq"] is not None else m["dq"])
        pos = m.end()
    return tuple(steps)


@dataclass(frozen=True)
class MatchRules:
    """How requests are compared with recordings; the `replay:` block of backworks.yaml."""

    ignore_query: frozenset[str] = frozenset()  # query parameter names not compared
    ignore_json: tuple[str, ...] = ()  # JSON paths in request bodies not compared
    headers: tuple[str, ...] = ()  # request headers that must match (names case-insensitive)
    sequence: str = "repeat_last"  # "repeat_last" | "cycle" | "first"

    @classmethod
    def from_config(
        cls, block: dict | None, defaults: dict | None = None, *, where: str = "endpoint replay"
    ) -> MatchRules:
        """Rules from an endpoint's `replay:` block over the top-level `replay:` defaults.

        Endpoint keys replace default keys whole (lists are not merged). `where` names the
        endpoint's block in error messages, e.g. "endpoints.get_users.replay".
        """
        merged: dict[str, tuple[str, Any]] = {}
        for label, source in (("replay", defaults), (where, block)):
            if source is None:
                continue
            if not isinstance(source, dict):
                raise ConfigError(
                    f"{label} must be a mapping of matching rules, got {source!r}.",
                    "Write it like `replay: {ignore_query: [ts], sequence: repeat_last}`.",
                )
            for key, value in source.items():
                if key not in _RULE_KEYS:
                    close = difflib.get_close_matches(str(key), _RULE_KEYS, n=1)
                    raise ConfigError(
                        f"{label} has an unknown key {key!r}.",
                        (f"Did you mean {close[0]!r}? " if close else "")
                        + f"The keys are: {', '.join(_RULE_KEYS)}.",
                    )
                merged[key] = (f"{label}.{key}", value)

        rules: dict[str, Any] = {}
        if "ignore_query" in merged:
            rules["ignore_query"] = frozenset(_names(*merged["ignore_query"], "ts"))
        if "ignore_json" in merged:
            at, value = merged["ignore_json"]
            paths = _names(at, value, "$.timestamp")
            json_paths(paths, at)
            rules["ignore_json"] = paths
        if "headers" in merged:
            at, value = merged["headers"]
            names = _names(at, value, "X-Tenant")
            for i, name in enumerate(names):
                if not _HEADER_NAME.match(name):
                    raise ConfigError(
                        f"{at}[{i}] {name!r} is not a header name.",
                        "Give the bare header name, e.g. X-Tenant (no colon, no value).",
                    )
            rules["headers"] = names
        if "sequence" in merged:
            at, value = merged["sequence"]
            value = "repeat_last" if value is None else value
            if value not in SEQUENCES:
                close = difflib.get_close_matches(str(value), SEQUENCES, n=1)
                raise ConfigError(
                    f"{at} is {value!r}, which is not a sequence mode.",
                    (f"Did you mean {close[0]!r}? " if close else "")
                    + "Use repeat_last (serve repeats in order, then keep the last), cycle "
                    "(start over) or first (always the first).",
                )
            rules["sequence"] = value
        return cls(**rules)


_RULE_KEYS = ("ignore_query", "ignore_json", "headers", "sequence")


def _names(at: str, value: Any, example: str) -> tuple[str, ...]:
    """A YAML list of non-empty strings; null means an empty list."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(
            f"{at} must be a list, got {value!r}.",
            f"Write a YAML list, e.g. `{at.rsplit('.', 1)[-1]}: [{example}]`.",
        )
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise ConfigError(
                f"{at}[{i}] must be a non-empty string, got {item!r}.",
                f"Quote it if YAML reads it as something else, e.g. '{example}'.",
            )
    return tuple(value)


def json_paths(paths: Iterable[str], at: str) -> tuple[JsonPath, ...]:
    parsed = []
    for i, path in enumerate(paths):
        try:
            parsed.append(parse_json_path(path))
        except ValueError as e:
            raise ConfigError(
                f"{at}[{i}] {path!r} is not a JSON path: {e}.",
                "Write paths like $.timestamp, $.meta.nonce, $.items[*].nonce or $['odd key'].",
            ) from None
    return tuple(parsed)
