"""The JSON Schema (Draft 2020-12) of backworks.yaml, the single source of truth for its keys:
`load_config` validates against it and `backworks schema` prints it. Keys of the original
Backworks blueprint format that backworks does not act on are in the schema as deprecated, so
old blueprints still load, with a warning.
"""

from __future__ import annotations

from typing import Any

from backworks_cli.config.model import (
    DEFAULT_CONTENT_TYPE,
    DEFAULT_METHODS,
    DEFAULT_MODE,
    DEFAULT_STORE,
    HTTP_METHODS,
    JSON_SCHEMA_DIALECT,
    MODES,
    SEQUENCES,
    Config,
    RecordingsConfig,
    RedactConfig,
    ServerConfig,
)

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
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


def _mode_block(mode: str, what: str, paths: str | None = None) -> dict[str, Any]:
    """A mode's block; `paths` names the files it may point to, which must lie inside the
    project folder unless the block allows otherwise."""
    block: dict[str, Any] = {
        "type": "object",
        "description": f"Settings for mode `{mode}`: {what}.",
        "additionalProperties": True,
    }
    if paths:
        block["properties"] = {
            "allow_outside_project": {
                "type": "boolean",
                "default": False,
                "description": f"true: {paths} may lie outside the project folder (the one "
                "holding backworks.yaml). By default a path that leaves it (through .., an "
                "absolute path elsewhere or a symlink) is an error.",
            }
        }
    return block


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
                "propertyNames": {"pattern": IDENTIFIER},
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
            "runtime": _mode_block(
                "runtime",
                "answer with a handler",
                "the handler file and a worker program written as a relative path",
            ),
            "database": _mode_block("database", "CRUD over a SQLite table", "the database file"),
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
                    "admin_max_rows": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "The most rows a promotion to database through the admin "
                        "API (`POST /__backworks/promote`, the dashboard) may seed; the "
                        "`backworks promote` command has no such limit.",
                        "default": ServerConfig.admin_max_rows,
                    },
                    "max_body": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "The most bytes of request body `backworks mock` and "
                        "`backworks serve` accept; a larger body gets 413, unread. `capture` "
                        "forwards bodies of any size.",
                        "default": ServerConfig.max_body,
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
