"""backworks.yaml: the model, loading with file/line errors, and the file's JSON Schema.

`config_schema()` is the single source of truth: `load_config` validates against it with
jsonschema and only translates the errors into messages that name the file, line and key.
Keys of the original Backworks blueprint format that backworks does not act on are in the
schema as deprecated; the loader reports them as warnings so old blueprints still load.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backworks_cli.errors import ConfigError

DEFAULT_CONFIG = Path("backworks.yaml")
DEFAULT_STORE = Path("recordings/backworks.db")

MODES = ("replay", "mock", "proxy", "runtime", "database")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT")

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
class Config:
    name: str = "backworks"
    server: ServerConfig = field(default_factory=ServerConfig)
    upstream: str | None = None
    recordings: RecordingsConfig = field(default_factory=RecordingsConfig)
    redact: RedactConfig = field(default_factory=RedactConfig)
    endpoints: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the file it came from, None for defaults
    warnings: tuple[str, ...] = ()


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
                "description": "HTTP methods this endpoint answers, in upper or lower case, "
                "e.g. [GET, POST].",
                "items": {
                    "enum": [*HTTP_METHODS, *(m.lower() for m in HTTP_METHODS)],
                    "description": "An HTTP method name, such as GET or POST.",
                },
            },
            "mode": {
                "enum": list(MODES),
                "description": "How the endpoint answers: replay (recorded responses), mock "
                "(generated data), proxy (the upstream), runtime (a handler) or database "
                "(CRUD over SQLite).",
            },
            "replay": _mode_block("replay", "answer with recorded responses"),
            "mock": _mode_block("mock", "answer with data generated from the schema"),
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
        "$defs": {"endpoint": endpoint},
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
    text = _read(path)
    schema = config_schema()
    try:
        data, marks, problems = _parse(text, file)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(
                f"{file}:{_line(marks, ())}: the top level must be a mapping of keys such as "
                f"name, server and endpoints, but it is {_show(data)}.",
                hint=_SCHEMA_HINT,
            )
        problems += _validate(schema, data, marks)
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


def _read(path: Path) -> str:
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


def _parse(text: str, file: str) -> tuple[Any, dict[tuple, int], list[_Problem]]:
    """The document's data, the line of each key path, and any duplicate keys."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, []
        problems = _duplicates(node, (), set())
        data = loader.construct_document(node)
        marks: dict[tuple, int] = {(): node.start_mark.line + 1}
        _index(loader, node, (), marks, set())
        return data, marks, problems
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "invalid YAML"
        if error.context and error.context_mark and error.context_mark is not mark:
            problem += f" ({error.context} on line {error.context_mark.line + 1})"
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        raise ConfigError(f"{where}: invalid YAML: {problem}.", hint=_YAML_HINT) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        raise ConfigError(
            f"{file}:{line}: invalid YAML: {error.reason}.", hint=_YAML_HINT
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{file}: invalid YAML: {error}.", hint=_YAML_HINT) from None
    finally:
        loader.dispose()


def _key_of(loader: Any, node: Any) -> Any:
    try:
        key = loader.construct_object(node, deep=True)
        hash(key)
        return key
    except Exception:
        return getattr(node, "value", None)


def _index(loader: Any, node: Any, path: tuple, marks: dict[tuple, int], seen: set[int]) -> None:
    """Record the line of every key and list item; an aliased node is walked only once."""
    import yaml

    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = (*path, _key_of(loader, key_node))
            marks[key_path] = key_node.start_mark.line + 1
            _index(loader, value_node, key_path, marks, seen)
    elif isinstance(node, yaml.SequenceNode):
        for number, item in enumerate(node.value):
            marks[(*path, number)] = item.start_mark.line + 1
            _index(loader, item, (*path, number), marks, seen)


def _duplicates(node: Any, path: tuple, seen: set[int]) -> list[_Problem]:
    """Keys written twice in one mapping (YAML would silently keep the last)."""
    import yaml

    problems: list[_Problem] = []
    if id(node) in seen:
        return problems
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            key_path = (*path, key_node.value if isinstance(key_node, yaml.ScalarNode) else "?")
            if isinstance(key_node, yaml.ScalarNode) and not key_node.tag.endswith(":merge"):
                line = key_node.start_mark.line + 1
                seen_at = first.setdefault((key_node.tag, key_node.value), line)
                if seen_at != line:
                    problems.append(
                        _Problem(
                            line,
                            _dotted(key_path),
                            f"duplicate key (already set on line {seen_at})",
                            "Each key may appear once in a mapping; merge the two entries.",
                        )
                    )
            problems += _duplicates(value_node, key_path, seen)
    elif isinstance(node, yaml.SequenceNode):
        for number, item in enumerate(node.value):
            problems += _duplicates(item, (*path, number), seen)
    return problems


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
