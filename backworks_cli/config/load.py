"""Loading backworks.yaml: read it as UTF-8, validate it against `config_schema()` with
jsonschema, translate every error into a message that names the file, line and key (with a
did-you-mean where a key is misspelt), warn about blueprint keys that are ignored, and build
the Config.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backworks_cli.config.model import (
    DEFAULT_CONFIG,
    DEFAULT_METHODS,
    DEFAULT_STORE,
    Config,
    RecordingsConfig,
    RedactConfig,
    ServerConfig,
)
from backworks_cli.config.schema import IDENTIFIER, config_schema
from backworks_cli.config.yamlfile import read_marked
from backworks_cli.core.errors import ConfigError
from backworks_cli.core.files import in_project
from backworks_cli.core.paths import PARAMETER, params_of, typed_shape

_YAML_HINT = (
    "YAML is indentation-sensitive: indent with spaces (never tabs), put a space after each "
    "colon, and quote values that contain ': ' or start with one of * & ! { [ @ `."
)
_SCHEMA_HINT = "`backworks schema` prints every key backworks.yaml accepts, with its meaning."


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
        project = Path(os.path.normpath(path.absolute().parent))
        problems += _containment_problems(data, marks, project)
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
        at = ("endpoints", name)
        if not isinstance(name, str):
            problems.append(
                _Problem(
                    _line(marks, at),
                    "endpoints",
                    "an endpoint has an empty name (YAML reads ~ and null as nothing)"
                    if name is None
                    else f"the endpoint name {_show(name)} is read by YAML as "
                    f"{_kind_of(name)}, not as a name",
                    'Quote the name, e.g. "123": or "on":, so that every YAML reader sees '
                    "text; an empty name needs a word.",
                )
            )
            continue
        if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
            continue
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


def _containment_problems(data: dict, marks: dict[tuple, int], project: Path) -> list[_Problem]:
    """Handler files, worker programs written as relative paths and database files must lie
    inside the project folder (the one holding backworks.yaml), so that a file from elsewhere
    never runs or gets written because of a path in it; `allow_outside_project: true` on the
    block that names the path allows it."""
    problems: list[_Problem] = []
    endpoints = data.get("endpoints")
    for name, spec in (endpoints if isinstance(endpoints, dict) else {}).items():
        if not isinstance(spec, dict):
            continue
        for mode, key, written in _project_paths(spec, project):
            if spec[mode].get("allow_outside_project") is True:
                continue
            path, inside = in_project(project, written)
            if inside:
                continue
            if "\0" in written:
                text = f"{_show(written)} has a NUL character, which no file name can hold"
            elif Path(os.path.normpath(path)).is_relative_to(project):
                text = f"{_show(written)} leads out of the project folder {project} by a symlink"
            else:
                text = f"{_show(written)} is outside the project folder {project}"
            where = ("endpoints", name, mode, key)
            problems.append(
                _Problem(
                    _line(marks, where),
                    _dotted(where),
                    text,
                    "Keep handlers, worker programs and database files inside the folder that "
                    "holds backworks.yaml (relative paths are relative to it), or add "
                    f"`allow_outside_project: true` to this `{mode}:` block to allow it.",
                )
            )
    return problems


def _project_paths(spec: dict, project: Path) -> list[tuple[str, str, str]]:
    """(mode block, key, path as written) of each file an endpoint's blocks name:
    runtime.handler (unless it is inline node code), the program of runtime.command when
    written as a relative path, and database.file."""
    found: list[tuple[str, str, str]] = []
    runtime, database = spec.get("runtime"), spec.get("database")
    if isinstance(runtime, dict):
        handler = runtime.get("handler")
        if isinstance(handler, str) and handler.strip() and not _inline(handler, project):
            found.append(("runtime", "handler", handler.strip()))
        program = _program_of(runtime.get("command"))
        if program and "/" in program and not Path(program).expanduser().is_absolute():
            found.append(("runtime", "command", program))
    if isinstance(database, dict) and isinstance(database.get("file"), str) and database["file"]:
        found.append(("database", "file", database["file"]))
    return found


def _inline(handler: str, project: Path) -> bool:
    """Whether a handler is code written in the YAML (as node handlers may be), not a file."""
    return "\n" in handler.strip() or (
        "(" in handler and "\0" not in handler and not in_project(project, handler)[0].exists()
    )


def _program_of(command: Any) -> str | None:
    """argv[0] of runtime.command, a list or a shell-style string; None when it has none."""
    if isinstance(command, str):
        try:
            command = shlex.split(command)
        except ValueError:
            return None
    if isinstance(command, list) and command and isinstance(command[0], str):
        return command[0]
    return None


def _path_problem(path: str) -> str | None:
    names = []
    for segment in path.split("/"):
        rest = PARAMETER.sub("", segment)
        if "{" in rest or "}" in rest:
            return "has a { or } that is not part of a {name} parameter"
        for name in PARAMETER.findall(segment):
            if not re.match(IDENTIFIER, name):
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
            admin_max_rows=int(server.get("admin_max_rows", ServerConfig.admin_max_rows)),
            max_body=int(server.get("max_body", ServerConfig.max_body)),
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


def _kind_of(value: Any) -> str:
    """What YAML made of a plain scalar, in words."""
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


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
