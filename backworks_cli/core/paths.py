"""THE rules of path shapes and path parameters, for every wing that reads a path.

A path template writes its parameters `{name}`, a whole segment or part of one (`{id}.png`).
A trailing slash is not significant; one leading slash is. Segments are compared
percent-decoded, so `/files/a%20b` and `/files/a b` are the same path. A template's shape is
the template with every parameter written `{}`, so templates that differ only in their
parameters' names have one shape; its typed shape writes each parameter's type instead, so
`/users/{id}` with an integer id and `/users/{name}` with a string name differ.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

PARAMETER = re.compile(r"\{([^{}/]*)\}")  # a {name} segment (or part of one) of a path
TYPES = ("integer", "number", "boolean")  # parameter types that a value must convert to


def params_of(path: str) -> tuple[str, ...]:
    """Names of the {name} parameters of a path template, in order."""
    return tuple(PARAMETER.findall(path))


def decode(text: str) -> str:
    """Percent-decoded text; bytes that are not UTF-8 survive as surrogate escapes."""
    return unquote(text, errors="surrogateescape") if "%" in text else text


def split(path: str) -> list[str]:
    """The segments of a path as written: a trailing slash is not significant."""
    return _cut(path)[1]


def normalise(path: str) -> tuple[str, list[str]]:
    """(the path without a trailing slash, percent-decoded; its decoded segments)."""
    path, segments = _cut(path)
    if "%" in path:
        segments = [decode(s) for s in segments]
        path = "/" + "/".join(segments)
    return path, segments


def _cut(path: str) -> tuple[str, list[str]]:
    if len(path) > 1 and path[-1] == "/":
        path = path.rstrip("/") or "/"
    if path in ("/", ""):
        return "/", []
    return path, path[1:].split("/") if path[:1] == "/" else path.split("/")


def shape(template: str) -> str:
    """A template with its parameters as {}: the same shape whatever the parameters' names."""
    return PARAMETER.sub("{}", normalise(template)[0])


def param_type(schema: Any) -> str:
    """The type a path parameter's schema gives it: integer, number, boolean or string."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if kind in TYPES else "string"


def typed_shape(path: str, params: dict) -> str:
    """/users/{id} with id an integer -> /users/{integer}."""
    return PARAMETER.sub(lambda m: "{" + param_type(params.get(m[1])) + "}", normalise(path)[0])
