"""backworks.yaml: the model, loading with file/line errors, and the file's JSON Schema.

`config_schema()` is the single source of truth: `load_config` validates against it with
jsonschema and only translates the errors into messages that name the file, line and key.
Keys of the original Backworks blueprint format that backworks does not act on are in the
schema as deprecated; the loader reports them as warnings so old blueprints still load.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backworks_cli.config.yamlfile import read_marked
from backworks_cli.core.errors import ConfigError
from backworks_cli.core.paths import PARAMETER, params_of, typed_shape

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
_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
_STATUS = r"^[1-5][0-9][0-9]$"

# Blueprint keys backworks accepts but does not act on, with what to do instead.
BLUEPRINT_TOP_KEYS = {
    "description": "free text that backworks does not use",
    "version": "backworks.yaml has no version of its own",
    "mode": "set `mode` on each endpoint instead",
    "runtime": "set a `runtime` block on each endpoint instead",
    "dashboard": "run `backworks dashboard` for the live dashboard",
    "database": "set a `database` block on each endpoint instead",
    "apis": "describe each endpoint under `endpoints` instead",
    "cache": "backworks does not cache responses",
    "security": "backworks does not check credentials",
    "monitoring": "every backworks host reports metrics under /__backworks/",
    "global_headers": "backworks does not add headers to every response",
    "logging": "backworks logs to stderr and keeps recent requests in its admin API",
    "plugins": "backworks has no plugins; `backworks capture` records traffic",
    "ai": "backworks has no AI features",
}
BLUEPRINT_ENDPOINT_KEYS = {
    "description": "free text that backworks does not use",
    "capture": "record traffic with `backworks capture` instead",
    "plugin": "backworks has no plugins",
    "ai_enhanced": "backworks has no AI features",
    "ai_suggestions": "backworks has no AI features",
    "apis": "describe each endpoint under `endpoints` instead",
    "parameters": "path parameters come from {name} segments of `path`",
    "validation": "backworks does not validate requests",
    "monitoring": "every backworks host reports metrics under /__backworks/",
}

_YAML_HINT = (
    "YAML is indentation-sensitive: indent with spaces (never tabs), put a space after each "
    "colon, and quote values that contain ': ' or start with one of * & ! { [ @ `."
)
_SCHEMA_HINT = "`backworks schema` prints every key backworks.yaml accepts, with its meaning."


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 3000


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


def _strings(description: str, item: str) -> dict[str, Any]:
    return {
        "type": "array",
        "description": description,
        "items": {"type": "string", "description": item},
        "default": [],
    }


def _ignored(reasons: dict[str, str]) -> dict[str, Any]:
    return {
        key: {
            "description": f"Ignored: {why}. Accepted only so that files in the original "
            "Backworks blueprint format load.",
            "deprecated": True,
        }
        for key, why in reasons.items()
    }


def _mode_block(mode: str, what: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"Settings for mode `{mode}`: {what}.",
        "additionalProperties": True,
    }


def _json_schema(description: str) -> dict[str, Any]:
    """A place for a JSON Schema the user writes, checked against the Draft 2020-12 dialect."""
    return {"$ref": JSON_SCHEMA_DIALECT, "description": description}


def _milliseconds(description: str) -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "description": description}


def _rate(description: str) -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "maximum": 1, "default": 0, "description": description}


def _status_keys() -> dict[str, Any]:
    return {
        "pattern": _STATUS,
        "patternErrorMessage": 'must be a status code from 100 to 599, e.g. "200"',
        "description": 'An HTTP status code, quoted: "200".',
    }


def _replay_block() -> dict[str, Any]:
    # Keys other than these are accepted (and reported by the engine), so that older files load.
    return {
        "type": "object",
        "description": "How requests are matched with recordings.",
        "additionalProperties": True,
        "default": {},
        "properties": {
            "ignore_query": _strings(
                "Query parameters not compared, e.g. [ts, nonce].", "A query parameter name."
            ),
            "ignore_json": {
                "type": "array",
                "description": "JSON paths in request bodies not compared, e.g. "
                "[$.timestamp, $.items[*].nonce].",
                "items": {
                    "type": "string",
                    "pattern": r"^\$",
                    "patternErrorMessage": "must be a JSON path starting with $, e.g. $.meta.nonce",
                    "description": "A JSON path: $.name, $['odd key'], $.items[0], $.items[*].",
                },
                "default": [],
            },
            "headers": _strings(
                "Request headers that must match as recorded (default: none).", "A header name."
            ),
            "sequence": {
                "enum": list(SEQUENCES),
                "default": SEQUENCES[0],
                "description": "Requests recorded several times are answered in recorded "
                "order; after the last: repeat_last keeps the last, cycle starts over, first "
                "always answers with the first.",
            },
        },
    }


def _mock_block() -> dict[str, Any]:
    latency_object = {
        "type": "object",
        "description": "One of fixed, uniform or lognormal.",
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
        "properties": {
            "fixed": _milliseconds("Always this many milliseconds."),
            "uniform": {
                "type": "array",
                "description": "[min, max] milliseconds, uniformly distributed.",
                "items": _milliseconds("Milliseconds."),
                "minItems": 2,
                "maxItems": 2,
            },
            "lognormal": {
                "type": "object",
                "description": "A log-normal distribution given by its median and 95th "
                "percentile in milliseconds.",
                "required": ["p50", "p95"],
                "additionalProperties": False,
                "properties": {
                    "p50": _milliseconds("Median latency, milliseconds."),
                    "p95": _milliseconds("95th percentile latency, milliseconds."),
                },
            },
        },
    }
    return {
        "type": "object",
        "description": "How mock answers: in-memory state, latency, faults, validation.",
        "additionalProperties": True,
        "default": {},
        "properties": {
            "state": {
                "type": "boolean",
                "default": False,
                "description": "true: the collection path and its item path share an in-memory "
                "store seeded from recordings (POST creates, GET reads, PUT/PATCH change, "
                "DELETE removes).",
            },
            "latency": {
                "type": ["string", "object"],
                "description": "Delay before answering: none, recorded (as learned from the "
                "recordings), {fixed: ms}, {uniform: [min, max]} or "
                "{lognormal: {p50: ms, p95: ms}}.",
                "default": "none",
                "if": {"type": "string"},
                "then": {
                    "enum": ["none", "recorded"],
                    "description": "none, or recorded for the latency learned from recordings.",
                },
                "else": latency_object,
            },
            "faults": {
                "type": "object",
                "description": "Failures injected on purpose, to test clients.",
                "additionalProperties": False,
                "default": {},
                "properties": {
                    "error_rate": _rate("Fraction of requests answered with error_status."),
                    "error_status": {
                        "type": "integer",
                        "minimum": 100,
                        "maximum": 599,
                        "default": 500,
                        "description": "Status of the injected errors.",
                    },
                    "reset_rate": _rate(
                        "Fraction of requests whose connection is reset instead of answered."
                    ),
                    "slow_body": {
                        "type": ["object", "null"],
                        "description": "Send the body slowly: {bytes_per_second: N}.",
                        "required": ["bytes_per_second"],
                        "additionalProperties": False,
                        "default": None,
                        "properties": {
                            "bytes_per_second": {
                                "type": "number",
                                "exclusiveMinimum": 0,
                                "description": "Body bytes sent per second.",
                            }
                        },
                    },
                },
            },
            "validate": {
                "type": "boolean",
                "default": False,
                "description": "true: request bodies that do not match request.schema are "
                "answered 422 with the violations.",
            },
            "seed": {
                "type": ["integer", "null"],
                "default": None,
                "description": "Seed of generated data for this endpoint (default: the "
                "command's --seed).",
            },
        },
    }


def config_schema() -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of backworks.yaml."""
    endpoint = {
        "type": "object",
        "description": "One endpoint: its path, the methods it answers and the mode it runs in.",
        "required": ["path"],
        "additionalProperties": False,
        "properties": {
            "path": {
                "type": "string",
                "pattern": "^/",
                "patternErrorMessage": "must start with /, e.g. /users/{id}",
                "description": "URL path starting with /; write path parameters as {id}, "
                "e.g. /users/{id}.",
            },
            "methods": {
                "type": "array",
                "minItems": 1,
                "default": list(DEFAULT_METHODS),
                "description": "HTTP methods this endpoint answers, in upper or lower case, "
                "e.g. [GET, POST] (default: all but TRACE and CONNECT).",
                "items": {
                    "enum": [*HTTP_METHODS, *(m.lower() for m in HTTP_METHODS)],
                    "description": "An HTTP method name, such as GET or POST.",
                },
            },
            "mode": {
                "enum": list(MODES),
                "default": DEFAULT_MODE,
                "description": "How the endpoint answers: replay (recorded responses), mock "
                "(generated data), proxy (the upstream), runtime (a handler) or database "
                "(CRUD over SQLite).",
            },
            "params": {
                "type": "object",
                "description": "Path parameters: a JSON Schema for each {name} of the path "
                "(default {type: string}); integer and number parameters are converted.",
                "propertyNames": {"pattern": _IDENTIFIER},
                "additionalProperties": _json_schema("JSON Schema of the path parameter."),
                "default": {},
            },
            "query": {
                "type": "object",
                "description": "Query parameters: a JSON Schema for each name, plus "
                "`required: true` for those that must be present.",
                "additionalProperties": {
                    "type": "object",
                    "description": "JSON Schema of the query parameter, with `required`.",
                    "additionalProperties": True,
                    "properties": {
                        "required": {
                            "type": "boolean",
                            "default": False,
                            "description": "true: requests without this parameter are invalid.",
                        }
                    },
                },
                "default": {},
            },
            "request": {
                "type": "object",
                "description": "The request body (absent for GET).",
                "additionalProperties": False,
                "properties": {
                    "content_type": {
                        "type": "string",
                        "default": DEFAULT_CONTENT_TYPE,
                        "description": "Media type of the body.",
                    },
                    "schema": _json_schema(
                        "JSON Schema (Draft 2020-12) of the body; fields may carry x-semantic."
                    ),
                },
            },
            "responses": {
                "type": "object",
                "description": 'Responses by status code, quoted: "200", "404".',
                "propertyNames": _status_keys(),
                "additionalProperties": {
                    "type": "object",
                    "description": "One response: its media type, body schema and headers.",
                    "additionalProperties": False,
                    "properties": {
                        "content_type": {
                            "type": "string",
                            "default": DEFAULT_CONTENT_TYPE,
                            "description": "Media type of the body.",
                        },
                        "schema": _json_schema(
                            "JSON Schema (Draft 2020-12) of the body; fields may carry "
                            "x-semantic (email, name, ...) to generate realistic values."
                        ),
                        "headers": {
                            "type": "object",
                            "description": "Response headers: a JSON Schema for each name.",
                            "additionalProperties": _json_schema("JSON Schema of the header."),
                        },
                    },
                },
                "default": {},
            },
            "status_mix": {
                "type": "object",
                "description": "Share of each status in the recordings (learned by infer); "
                "mock answers with the most common 2xx.",
                "propertyNames": _status_keys(),
                "additionalProperties": _rate("Share of this status, from 0 to 1."),
            },
            "latency": {
                "type": "object",
                "description": "Latency learned from recordings, in milliseconds; used by "
                "`mock.latency: recorded`.",
                "additionalProperties": False,
                "properties": {
                    "p50": _milliseconds("Median latency, milliseconds."),
                    "p95": _milliseconds("95th percentile latency, milliseconds."),
                },
            },
            "examples": {
                "type": "array",
                "description": "Ids of recorded exchanges this endpoint was learned from.",
                "items": {"type": "integer", "minimum": 1, "description": "An exchange id."},
                "default": [],
            },
            "replay": {
                "$ref": "#/$defs/replay",
                "description": "Settings for mode `replay` (and the replay half of mock): how "
                "requests are matched with recordings.",
            },
            "mock": {
                "$ref": "#/$defs/mock",
                "description": "Settings for mode `mock`: state, latency, faults, validation.",
            },
            "proxy": _mode_block("proxy", "forward requests to the upstream"),
            "runtime": _mode_block("runtime", "answer with a handler"),
            "database": _mode_block("database", "CRUD over a SQLite table"),
            **_ignored(BLUEPRINT_ENDPOINT_KEYS),
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "backworks.yaml",
        "description": "Configuration of backworks: where to listen, the API to record, how "
        "recordings are kept and redacted, and every endpoint with the mode it runs in.",
        "type": "object",
        "additionalProperties": False,
        "$defs": {
            "endpoint": endpoint,
            "replay": _replay_block(),
            "mock": _mock_block(),
        },
        "properties": {
            "name": {
                "type": "string",
                "description": "Name of this API project.",
                "default": Config.name,
            },
            "server": {
                "type": "object",
                "description": "Where backworks listens when it serves endpoints.",
                "additionalProperties": False,
                "default": {},
                "properties": {
                    "host": {
                        "type": "string",
                        "description": "Address to listen on.",
                        "default": ServerConfig.host,
                    },
                    "port": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 65535,
                        "description": "TCP port to listen on, 1 to 65535.",
                        "default": ServerConfig.port,
                    },
                },
            },
            "upstream": {
                "type": "string",
                "pattern": r"^https?://[^\s/?#]+([/?#]\S*)?$",
                "patternErrorMessage": "must be an http:// or https:// URL, "
                "e.g. https://api.example.com",
                "description": "Base URL of the real API, http:// or https://, "
                "e.g. https://api.example.com.",
            },
            "recordings": {
                "type": "object",
                "description": "Where and what `backworks capture` records.",
                "additionalProperties": False,
                "default": {},
                "properties": {
                    "path": {
                        "type": "string",
                        "minLength": 1,
                        "description": "SQLite file of recordings; a relative path is relative "
                        "to this file's folder.",
                        "default": str(DEFAULT_STORE),
                    },
                    "session": {
                        "type": "string",
                        "description": "Session name given to new recordings.",
                        "default": RecordingsConfig.session,
                    },
                    "include": _strings(
                        "Record only paths matching one of these globs (empty: all).",
                        "A path glob, e.g. /api/*.",
                    ),
                    "exclude": _strings(
                        "Never record paths matching one of these globs.",
                        "A path glob, e.g. /health.",
                    ),
                },
            },
            "redact": {
                "type": "object",
                "description": "Secrets removed before anything is stored or exported, on top of "
                "the built-in rules.",
                "additionalProperties": False,
                "default": {},
                "properties": {
                    "enabled": {
                        "type": "boolean",
                        "description": "Redact at all; false stores secrets as they are.",
                        "default": RedactConfig.enabled,
                    },
                    "headers": _strings(
                        "Extra header names to redact (any case).", "A header name."
                    ),
                    "query": _strings(
                        "Extra query parameter names to redact.", "A parameter name."
                    ),
                    "fields": _strings(
                        "Extra JSON field names to redact, at any depth.", "A field name."
                    ),
                    "patterns": {
                        "type": "array",
                        "description": "Regular expressions; any match in any text value is "
                        "redacted.",
                        "items": {
                            "type": "string",
                            "format": "regex",
                            "description": "A Python regular expression; quote it in single "
                            "quotes so YAML keeps backslashes.",
                        },
                        "default": [],
                    },
                },
            },
            "replay": {
                "$ref": "#/$defs/replay",
                "description": "Matching rules for every endpoint; the keys of an endpoint's own "
                "`replay:` block replace these.",
            },
            "mock": {
                "$ref": "#/$defs/mock",
                "description": "Mock settings for every endpoint; the keys of an endpoint's own "
                "`mock:` block replace these (`faults` key by key).",
            },
            "endpoints": {
                "type": "object",
                "description": "Every endpoint, by a stable name such as `users` or `get_order`.",
                "additionalProperties": {"$ref": "#/$defs/endpoint"},
                "default": {},
            },
            **_ignored(BLUEPRINT_TOP_KEYS),
        },
    }


# --- loading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    line: int
    key: str  # dotted key path, "" for the whole file
    text: str
    hint: str | None = None

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}"
        return f"{where}: {self.key}: {self.text}" if self.key else f"{where}: {self.text}"


def load_config_or_default(path: Path | None) -> Config:
    """The given file; without one, ./backworks.yaml if it exists, else the defaults."""
    if path is None:
        return load_config(DEFAULT_CONFIG) if DEFAULT_CONFIG.is_file() else Config()
    return load_config(path)


def load_config(path: Path) -> Config:
    """Read, validate and build the configuration in `path`; ConfigError says what is wrong."""
    path = Path(path)
    file = str(path)
    text = read_text(path)
    schema = config_schema()
    try:
        data, marks, twice = read_marked(text, file, _YAML_HINT)
        problems = [
            _Problem(
                line,
                _dotted(key_path),
                f"duplicate key (already set on line {first})",
                "Each key may appear once in a mapping; merge the two entries.",
            )
            for line, key_path, first in twice
        ]
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(
                f"{file}:{_line(marks, ())}: the top level must be a mapping of keys such as "
                f"name, server and endpoints, but it is {_show(data)}.",
                hint=_SCHEMA_HINT,
            )
        problems += _validate(schema, data, marks)
        problems += _endpoint_problems(data, marks)
    except RecursionError:
        raise ConfigError(
            f"{file}: nested too deeply to read (a YAML alias that contains itself?).",
            hint="Remove the recursive &anchor/*alias pair, or flatten the nesting.",
        ) from None
    if problems:
        raise _combine(problems, file)
    warnings = [
        _Problem(_line(marks, key_path), _dotted(key_path), _first_sentence(description)).render(
            file
        )
        for key_path, description in _ignored_keys(schema, schema, data, ())
    ]
    return _build(data, path, tuple(warnings))


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file.",
            hint="Check the path given to --config; without --config, backworks reads "
            "./backworks.yaml when it exists and uses defaults otherwise.",
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path}: is a folder, not a file.", hint="Name the backworks.yaml file itself."
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {error.start}).", hint="Save the file as UTF-8."
        ) from None
    except OSError as error:
        raise ConfigError(
            f"{path}: cannot be read ({error.strerror}).", hint="Check the file's permissions."
        ) from None


def _validate(schema: dict[str, Any], data: dict, marks: dict[tuple, int]) -> list[_Problem]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems: list[_Problem] = []
    for error in validator.iter_errors(data):
        problems += _translate(error, marks)
    return problems


def _translate(error: Any, marks: dict[tuple, int]) -> list[_Problem]:
    """One jsonschema error as problems naming the line and key path."""
    path = tuple(error.absolute_path)
    kind, sub, value = error.validator, error.schema, error.instance
    where = _dotted(path) or "the top level"
    description = sub.get("description") if isinstance(sub, dict) else None

    if kind in ("anyOf", "oneOf") and error.context:
        # The alternative that came closest says more than "not valid under any of ...".
        from jsonschema.exceptions import best_match

        return _translate(best_match(error.context), marks)
    if kind == "additionalProperties" and isinstance(value, dict):
        known = list(sub.get("properties", {}))
        allowed = [k for k in known if not sub["properties"][k].get("deprecated")]
        problems = []
        for key in value:
            if key in known:
                continue
            text = "unknown key" + _did_you_mean(str(key), known)
            hint = f"Keys allowed in {where}: {', '.join(allowed)}. {_SCHEMA_HINT}"
            problems.append(_Problem(_line(marks, (*path, key)), _dotted((*path, key)), text, hint))
        return problems
    if kind == "required" and isinstance(value, dict):
        return [
            _Problem(
                _line(marks, path),
                where,
                f'missing required key "{key}"',
                sub.get("properties", {}).get(key, {}).get("description"),
            )
            for key in error.validator_value
            if key not in value
        ]
    line, key = _line(marks, path), _dotted(path)
    if kind == "type":
        text = f"expected {_type_name(error.validator_value)}, got {_show(value)}"
    elif kind == "enum":
        by_lower: dict[str, str] = {}
        for choice in error.validator_value:
            by_lower.setdefault(str(choice).lower(), str(choice))
        choices = list(by_lower.values())
        text = f"{_show(value)} is not one of {', '.join(choices)}"
        if isinstance(value, str):
            text += _did_you_mean(value, choices)
    elif kind in ("minimum", "maximum"):
        low, high = sub.get("minimum"), sub.get("maximum")
        bounds = (
            f"between {low} and {high}"
            if low is not None and high is not None
            else (f"at least {low}" if low is not None else f"at most {high}")
        )
        text = f"{_show(value)} is out of range; it must be {bounds}"
    elif kind == "format" and error.validator_value == "regex":
        text = f"{_show(value)} is not a valid regular expression: {error.cause}"
    elif kind == "pattern":
        # patternErrorMessage is the message editors' YAML/JSON language servers show too.
        must = sub.get("patternErrorMessage", f"must match {error.validator_value}")
        text = f"{_show(value)} {must}"
    else:
        text = error.message
    return [_Problem(line, key, text, description)]


def _endpoint_problems(data: dict, marks: dict[tuple, int]) -> list[_Problem]:
    """What the schema cannot say: malformed {name} parameters, `params` naming none of them,
    two endpoints answering the same method and path, and latency ranges upside down."""
    problems: list[_Problem] = []
    routes: dict[tuple[str, str], str] = {}
    endpoints = data.get("endpoints")
    for name, spec in (endpoints if isinstance(endpoints, dict) else {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
            continue
        at = ("endpoints", name)
        path = spec["path"]
        problem = _path_problem(path)
        if problem:
            where = (*at, "path")
            problems.append(
                _Problem(
                    _line(marks, where),
                    _dotted(where),
                    f"{_show(path)} {problem}",
                    "Write path parameters as whole {name} parts, e.g. /users/{id} or "
                    "/avatars/{id}.png; names are letters, digits and _.",
                )
            )
            continue
        names = params_of(path)
        params = spec.get("params")
        params = params if isinstance(params, dict) else {}
        for param in params:
            if param not in names:
                where = (*at, "params", param)
                known = ", ".join(f"{{{n}}}" for n in names) or "no parameters"
                text = f"the path {path} has no {{{param}}}"
                if isinstance(param, bool):
                    text += " (YAML reads on/off/yes/no/true/false as true or false)"
                problems.append(
                    _Problem(
                        _line(marks, where),
                        _dotted(where),
                        text + _did_you_mean(str(param), list(names)),
                        f"`params` describes parameters of the path, which has {known}; "
                        "quote a name YAML could read as something else, e.g. 'on'.",
                    )
                )
        # Templates of one shape differ when their parameters have different types.
        template = typed_shape(path, params)
        methods = spec.get("methods") or DEFAULT_METHODS
        for method in dict.fromkeys(str(m).upper() for m in methods):
            other = routes.setdefault((method, template), str(name))
            if other != str(name):
                where = (*at, "path")
                problems.append(
                    _Problem(
                        _line(marks, where),
                        _dotted(where),
                        f"{method} {path} is already answered by endpoint {other}",
                        "Give each method and path to one endpoint: merge the two, or list "
                        "distinct `methods` on each.",
                    )
                )
        problems += _latency_problems(spec.get("mock"), (*at, "mock"), marks)
    problems += _latency_problems(data.get("mock"), ("mock",), marks)
    return problems


def _path_problem(path: str) -> str | None:
    names = []
    for segment in path.split("/"):
        rest = PARAMETER.sub("", segment)
        if "{" in rest or "}" in rest:
            return "has a { or } that is not part of a {name} parameter"
        for name in PARAMETER.findall(segment):
            if not re.match(_IDENTIFIER, name):
                return f"has a parameter {{{name}}} whose name is not letters, digits and _"
            names.append(name)
        if re.search(r"\}\{", segment):
            return "has two parameters side by side, which cannot be told apart"
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        return f"names the parameter {{{repeated[0]}}} twice"
    return None


def _latency_problems(block: Any, at: tuple, marks: dict[tuple, int]) -> list[_Problem]:
    latency = block.get("latency") if isinstance(block, dict) else None
    if not isinstance(latency, dict):
        return []
    found = []
    uniform = latency.get("uniform")
    if isinstance(uniform, list) and len(uniform) == 2 and _numbers(uniform):
        found.append(("uniform", uniform[0], uniform[1], "its minimum is above its maximum"))
    lognormal = latency.get("lognormal")
    if isinstance(lognormal, dict) and _numbers([lognormal.get("p50"), lognormal.get("p95")]):
        found.append(("lognormal", lognormal["p50"], lognormal["p95"], "p50 is above p95"))
    return [
        _Problem(
            _line(marks, (*at, "latency", kind)),
            _dotted((*at, "latency", kind)),
            text,
            "Write the smaller value first.",
        )
        for kind, low, high, text in found
        if low > high
    ]


def _numbers(values: list) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _combine(problems: list[_Problem], file: str) -> ConfigError:
    problems = sorted(set(problems), key=lambda p: (p.line, p.key, p.text))
    if len(problems) == 1:
        only = problems[0]
        return ConfigError(only.render(file), hint=only.hint or _SCHEMA_HINT)
    lines = "\n".join(f"  {p.render(file)}" for p in problems)
    return ConfigError(
        f"{file} has {len(problems)} errors:\n{lines}",
        hint=f"Fix each line listed. {_SCHEMA_HINT}",
    )


def _ignored_keys(sub: dict, root: dict, data: Any, path: tuple) -> list[tuple[tuple, str]]:
    """(key path, description) of every key in `data` that the schema marks deprecated."""
    sub = _resolve(sub, root)
    if not isinstance(data, dict):
        return []
    found: list[tuple[tuple, str]] = []
    for key, value in data.items():
        child = sub.get("properties", {}).get(key, sub.get("additionalProperties"))
        if not isinstance(child, dict):
            continue
        if child.get("deprecated"):
            found.append(((*path, key), child.get("description", "ignored")))
        else:
            found += _ignored_keys(child, root, value, (*path, key))
    return found


def _resolve(sub: dict, root: dict) -> dict:
    """Follow a local `#/$defs/NAME` reference."""
    ref = sub.get("$ref", "")
    return root["$defs"][ref.removeprefix("#/$defs/")] if ref.startswith("#/$defs/") else sub


def _build(data: dict, path: Path, warnings: tuple[str, ...]) -> Config:
    server = data.get("server", {})
    recordings = data.get("recordings", {})
    redact = data.get("redact", {})
    store = Path(recordings.get("path", DEFAULT_STORE)).expanduser()
    if not store.is_absolute():
        store = Path(os.path.normpath(path.absolute().parent / store))
    return Config(
        name=data.get("name", Config.name),
        server=ServerConfig(
            host=server.get("host", ServerConfig.host),
            port=int(server.get("port", ServerConfig.port)),
        ),
        upstream=data.get("upstream"),
        recordings=RecordingsConfig(
            path=store,
            session=recordings.get("session", RecordingsConfig.session),
            include=tuple(recordings.get("include", ())),
            exclude=tuple(recordings.get("exclude", ())),
        ),
        redact=RedactConfig(
            enabled=redact.get("enabled", RedactConfig.enabled),
            headers=tuple(redact.get("headers", ())),
            query=tuple(redact.get("query", ())),
            fields=tuple(redact.get("fields", ())),
            patterns=tuple(redact.get("patterns", ())),
        ),
        endpoints={str(name): _endpoint(spec) for name, spec in data.get("endpoints", {}).items()},
        mock=dict(data.get("mock") or {}),
        replay=dict(data.get("replay") or {}),
        path=path,
        warnings=warnings,
    )


def _endpoint(spec: dict) -> dict:
    if "methods" not in spec:
        return dict(spec)
    return {**spec, "methods": list(dict.fromkeys(m.upper() for m in spec["methods"]))}


# --- message helpers -----------------------------------------------------------------------


def _line(marks: dict[tuple, int], path: tuple) -> int:
    """Line of the key path, or of its nearest parent that has one."""
    while path not in marks and path:
        path = path[:-1]
    return marks.get(path, 1)


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _did_you_mean(word: str, choices: list[str]) -> str:
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f'; did you mean "{by_lower[close[0]]}"?' if close else ""


def _type_name(expected: str | list[str]) -> str:
    names = {
        "object": "a mapping",
        "array": "a list",
        "string": "a string",
        "integer": "an integer",
        "number": "a number",
        "boolean": "true or false",
        "null": "an empty value",
    }
    kinds = [expected] if isinstance(expected, str) else expected
    return " or ".join(names.get(k, k) for k in kinds)


def _show(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        return shown if len(shown) <= 60 else shown[:56] + '..."'
    return str(value)


def _first_sentence(text: str) -> str:
    """`Ignored: why. More.` -> `ignored: why`, the form a warning line takes."""
    first = text.partition(". ")[0].rstrip(".")
    return first[:1].lower() + first[1:]
