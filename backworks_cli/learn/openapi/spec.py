"""Reading an OpenAPI 3.0 or 3.1 document (JSON or YAML) with the line of every key, and
the naming and JSON-pointer rules export and import share.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backworks_cli.config.yamlfile import (
    YamlError,
    line_marks,
    load_json_like,
)
from backworks_cli.core.errors import InputError

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
EXTENSION = "x-backworks-endpoint"  # the endpoint an operation belongs to, when not its id
OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def snake_case(text: str) -> str:
    """`listPets` -> `list_pets`, `getHTTPStatus` -> `get_http_status`, `find-by-id` ->
    `find_by_id`; empty when nothing is left."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def key_path(path: tuple) -> str:
    out = ""
    for part in path:
        part = str(part)
        if IDENTIFIER.fullmatch(part) or part.isdigit() or part == "$ref":
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


@dataclass
class OpenAPIDocument:
    """A parsed OpenAPI document and where it came from, for messages that name the line."""

    data: dict[str, Any]
    file: str
    text: str
    version: tuple[int, int]
    _marks: dict[tuple, int] | None = None

    def where(self, path: tuple) -> str:
        """`file:line: key.path` of a key path (the line of its nearest parent known)."""
        if self._marks is None:
            self._marks = line_marks(self.text)
        probe = tuple(str(p) for p in path)
        while probe and probe not in self._marks:
            probe = probe[:-1]
        line = self._marks.get(probe)
        shown = key_path(path)
        at = f"{self.file}:{line}" if line else self.file
        return f"{at}: {shown}" if shown else at

    def resolve(self, ref: Any, at: tuple) -> tuple[Any, tuple]:
        """The target of a local `$ref` and its key path; InputError naming `at` otherwise."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise InputError(
                f"{self.where(at)}: the $ref {ref!r} points outside this document, which "
                "backworks cannot follow.",
                "Bundle the specification into one file first (for example with "
                "`npx @redocly/cli bundle spec.yaml -o bundled.yaml`), then import that.",
            )
        target: Any = self.data
        path: list[str] = []
        for token in ref[1:].split("/")[1:] if ref != "#" else []:
            from urllib.parse import unquote

            token = unquote(token).replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise InputError(
                    f"{self.where(at)}: the $ref {ref!r} points at nothing in the document "
                    f"(no {token!r} under {key_path(tuple(path)) or 'the top level'}).",
                    "Fix the reference, or add the schema it names under components.",
                )
            path.append(token)
        return target, tuple(path)


def read_openapi(path: Path) -> OpenAPIDocument:
    """Read an OpenAPI 3.0 or 3.1 document (YAML or JSON); InputError says what is wrong."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(
            f"{file}: no such file.", "Check the path of the OpenAPI document."
        ) from None
    except IsADirectoryError:
        raise InputError(
            f"{file}: is a folder, not a file.", "Name the OpenAPI document itself."
        ) from None
    except UnicodeDecodeError as error:
        raise InputError(
            f"{file}: not UTF-8 text (byte {error.start}).", "Save the document as UTF-8."
        ) from None
    except OSError as error:
        raise InputError(
            f"{file}: cannot be read ({error.strerror}).", "Check the file's permissions."
        ) from None
    data = _parse(text, file)
    if not isinstance(data, dict):
        raise InputError(
            f"{file}: not an OpenAPI document: the top level is not a mapping.",
            "Import an OpenAPI 3.0 or 3.1 document, which starts with `openapi: 3.x.y`.",
        )
    if "openapi" not in data:
        if "swagger" in data:
            raise InputError(
                f"{file}: a Swagger {data['swagger']} document; backworks reads OpenAPI 3.0 "
                "and 3.1.",
                "Convert it first, for example with `npx swagger2openapi spec.yaml -o "
                "openapi.yaml`, then import the result.",
            )
        raise InputError(
            f"{file}: not an OpenAPI document: it has no `openapi` key.",
            "Import an OpenAPI 3.0 or 3.1 document, which starts with `openapi: 3.x.y`.",
        )
    found = re.match(r"^(\d+)\.(\d+)", str(data["openapi"]))
    if not found or int(found[1]) != 3:
        raise InputError(
            f"{file}: OpenAPI version {data['openapi']!r} is not supported; backworks reads "
            "OpenAPI 3.0 and 3.1.",
            "Convert the document to OpenAPI 3.1 (or 3.0) first.",
        )
    document = OpenAPIDocument(data, file, text, (int(found[1]), int(found[2])))
    for key in ("paths", "components"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise InputError(
                f"{document.where((key,))}: `{key}` is not a mapping.",
                "Fix the document: see https://spec.openapis.org/oas/v3.1.0.",
            )
    return document


def _parse(text: str, file: str) -> Any:
    if text.lstrip().startswith(("{", "[")):
        try:
            return _text_keys(json.loads(text))
        except (ValueError, RecursionError):
            pass  # a YAML flow mapping, perhaps: the YAML reader says what is wrong
    try:
        return _text_keys(load_json_like(text))
    except YamlError as error:
        if error.line is not None:
            where = f"{file}:{error.line}" + (f":{error.column}" if error.column else "")
            raise InputError(
                f"{where}: not valid YAML or JSON: {error.problem}.",
                error.hint or "Fix the syntax there; an OpenAPI document is YAML or JSON text.",
            ) from None
        raise InputError(
            f"{file}: not valid YAML or JSON: {error}.",
            "Fix the syntax; an OpenAPI document is YAML or JSON text.",
        ) from None
    except RecursionError as error:
        raise InputError(
            f"{file}: not valid YAML or JSON: {error}.",
            "Fix the syntax; an OpenAPI document is YAML or JSON text.",
        ) from None


def _text_keys(value: Any) -> Any:
    """Mapping keys as text (YAML reads `200:` as a number) and values as JSON types."""
    if isinstance(value, dict):
        return {str(k): _text_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text_keys(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
