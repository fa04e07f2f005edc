"""backworks.yaml as data: the Config and Endpoint model, its defaults, and make_endpoint,
which builds one endpoint from its block. Loading with file/line errors is in load.py; the
file's JSON Schema in schema.py.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backworks_cli.core.paths import params_of

DEFAULT_CONFIG = Path("backworks.yaml")
DEFAULT_STORE = Path("recordings/backworks.db")

MODES = ("replay", "mock", "proxy", "runtime", "database")
DEFAULT_MODE = "mock"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT")
# What an endpoint without `methods` answers: every method but the proxy-only ones.
DEFAULT_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
SEQUENCES = ("repeat_last", "cycle", "first")
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 3000
    admin_max_rows: int = 10_000  # the most rows a promotion through the admin API may seed
    max_body: int = 10 * 1024 * 1024  # request body bytes mock and serve accept; more is 413


@dataclass(frozen=True)
class RecordingsConfig:
    path: Path = DEFAULT_STORE
    session: str = "default"
    include: tuple[str, ...] = ()  # path globs to record; empty means all
    exclude: tuple[str, ...] = ()  # path globs never recorded


@dataclass(frozen=True)
class RedactConfig:
    """What is redacted on top of the built-in rules (which are always on unless disabled)."""

    enabled: bool = True
    headers: tuple[str, ...] = ()  # extra header names (case-insensitive)
    query: tuple[str, ...] = ()  # extra query parameter names
    fields: tuple[str, ...] = ()  # extra JSON field names, at any depth
    patterns: tuple[str, ...] = ()  # regexes; any match in any text value is redacted


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of backworks.yaml with every default filled in; see endpoints-spec keys.

    `params` has an entry for every {name} of the path ({"type": "string"} unless given);
    `responses` is keyed by status as a string, each {"content_type", "schema", "headers"};
    `replay` and `mock` are the endpoint's blocks over the top-level ones (see `merge_mock`);
    `proxy`, `runtime` and `database` are those modes' blocks as written (None when
    absent; the mode checks and explains them); `raw` is the whole mapping as written, for
    the code that rewrites the file (promote, openapi export).
    """

    name: str
    path: str
    methods: tuple[str, ...] = DEFAULT_METHODS
    mode: str = DEFAULT_MODE
    params: dict[str, dict] = field(default_factory=dict)
    query: dict[str, dict] = field(default_factory=dict)
    request: dict | None = None  # {"content_type", "schema"}
    responses: dict[str, dict] = field(default_factory=dict)
    latency: dict | None = None  # {"p50", "p95"} in milliseconds, learned from recordings
    examples: tuple[int, ...] = ()
    replay: dict = field(default_factory=dict)
    mock: dict = field(default_factory=dict)
    status_mix: dict[str, float] = field(default_factory=dict)
    proxy: Any = None
    runtime: Any = None
    database: Any = None
    raw: dict = field(default_factory=dict)

    def block(self, mode: str) -> Any:
        """The block of `mode` as written (None when absent)."""
        return {"proxy": self.proxy, "runtime": self.runtime, "database": self.database}.get(
            mode, self.raw.get(mode)
        )

    @property
    def param_names(self) -> tuple[str, ...]:
        return params_of(self.path)


@dataclass(frozen=True)
class Config:
    name: str = "backworks"
    server: ServerConfig = field(default_factory=ServerConfig)
    upstream: str | None = None
    recordings: RecordingsConfig = field(default_factory=RecordingsConfig)
    redact: RedactConfig = field(default_factory=RedactConfig)
    endpoints: dict[str, Any] = field(default_factory=dict)  # name -> the mapping as written
    path: Path | None = None  # the file it came from, None for defaults
    warnings: tuple[str, ...] = ()
    mock: dict[str, Any] = field(default_factory=dict)  # defaults for every endpoint's `mock:`
    replay: dict[str, Any] = field(default_factory=dict)  # defaults for every `replay:`

    def endpoint_list(self) -> list[Endpoint]:
        """The endpoints as typed records, in file order, top-level defaults applied; built
        once per Config."""
        return list(self._typed)

    @functools.cached_property
    def _typed(self) -> tuple[Endpoint, ...]:
        return tuple(
            make_endpoint(name, spec, mock=self.mock, replay=self.replay)
            for name, spec in self.endpoints.items()
        )


def merge_mock(defaults: dict | None, block: dict | None) -> dict:
    """An endpoint's `mock:` block over the top-level one: keys replace defaults whole, except
    `faults`, whose keys are merged one by one."""
    defaults, block = defaults or {}, block or {}
    merged = {**defaults, **block}
    if isinstance(defaults.get("faults"), dict) and isinstance(block.get("faults"), dict):
        merged["faults"] = {**defaults["faults"], **block["faults"]}
    return merged


def make_endpoint(
    name: str, spec: dict, *, mock: dict | None = None, replay: dict | None = None
) -> Endpoint:
    """The typed endpoint for one validated `endpoints:` entry, over top-level defaults."""
    path = spec["path"]
    params = {p: {"type": "string"} for p in params_of(path)}
    params.update({str(k): dict(v or {}) for k, v in (spec.get("params") or {}).items()})
    request = spec.get("request")
    if request is not None:
        request = {
            "content_type": request.get("content_type", DEFAULT_CONTENT_TYPE),
            "schema": request.get("schema"),
        }
    responses = {
        str(status): {
            "content_type": (answer or {}).get("content_type", DEFAULT_CONTENT_TYPE),
            "schema": (answer or {}).get("schema"),
            "headers": dict((answer or {}).get("headers") or {}),
        }
        for status, answer in (spec.get("responses") or {}).items()
    }
    methods = spec.get("methods")
    return Endpoint(
        name=name,
        path=path,
        methods=tuple(dict.fromkeys(m.upper() for m in methods)) if methods else DEFAULT_METHODS,
        mode=spec.get("mode", DEFAULT_MODE),
        params=params,
        query={str(k): dict(v or {}) for k, v in (spec.get("query") or {}).items()},
        request=request,
        responses=responses,
        latency=dict(spec["latency"]) if spec.get("latency") else None,
        examples=tuple(spec.get("examples") or ()),
        replay={**(replay or {}), **(spec.get("replay") or {})},
        mock=merge_mock(mock, spec.get("mock")),
        status_mix={str(k): v for k, v in (spec.get("status_mix") or {}).items()},
        proxy=spec.get("proxy"),
        runtime=spec.get("runtime"),
        database=spec.get("database"),
        raw=spec,
    )


# --- the schema ----------------------------------------------------------------------------
