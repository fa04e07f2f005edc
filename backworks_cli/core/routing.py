"""THE router: files a method and path under the endpoint template that answers it.

The engine routes every request with it and infer files every learned template with it, so
the endpoint infer writes a request's evidence to is the one that answers that request.
Static paths win over templates (/users/me before /users/{id}); among templates, more
literal segments win, then more patterned segments ({id}.png), then the order endpoints were
added; a trailing slash does not count (core.paths). Path parameters are typed by their
schema: an integer or number parameter whose value does not convert does not match, and
neither does one too long or too large to convert (core.numbers), so a 5,000-digit id is a 404.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from backworks_cli.core.numbers import integer, number
from backworks_cli.core.paths import PARAMETER, normalise, param_type

ROUTE_MEMO = 4096  # (method, path) resolutions remembered by a router

_FAIL = object()  # a path parameter value that does not convert to its type
_BOOLEANS = {"true": True, "false": False}


class Routable(Protocol):
    """What the router reads of an endpoint (config.model.Endpoint has it)."""

    name: str
    path: str
    methods: Iterable[str]
    params: dict[str, Any]


def _integer(text: str) -> Any:
    value = integer(text)
    return _FAIL if value is None else value


def _number(text: str) -> Any:
    value = number(text)
    return _FAIL if value is None else value


def _boolean(text: str) -> Any:
    return _BOOLEANS.get(text, _FAIL)


_CONVERTERS = {"integer": _integer, "number": _number, "boolean": _boolean}


def _converter(schema: Any) -> Any:
    """The function typing a parameter value for its schema, or None to keep the text."""
    return _CONVERTERS.get(param_type(schema))


@dataclass(frozen=True, slots=True)
class _Slot:
    """A segment that is not a literal: one parameter, or a pattern such as {id}.png."""

    names: tuple[str, ...]
    converters: tuple[Any, ...]
    regex: re.Pattern[str] | None  # None when the whole segment is the parameter


@dataclass(frozen=True, slots=True)
class Route:
    endpoint: str
    template: str
    methods: frozenset[str]
    parts: tuple[str | _Slot, ...]  # one per segment
    rank: tuple[int, int, int]  # sorts best first: more literals, then more patterns, then order

    def params(self, segments: list[str]) -> dict[str, Any] | None:
        """Typed parameter values, or None when one does not convert."""
        return self._values(segments, typed=True)

    def texts(self, segments: list[str]) -> dict[str, Any] | None:
        """What each parameter takes of a template's segments, as text; None when a literal
        of the template does not convert to its parameter's type."""
        return self._values(segments, typed=False)

    def _values(self, segments: list[str], *, typed: bool) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        for part, text in zip(self.parts, segments, strict=True):
            if part.__class__ is str:
                continue
            if part.regex is None:
                values: tuple[str, ...] = (text,)
            else:
                match = part.regex.fullmatch(text)
                if match is None:
                    return None
                values = match.groups()
            for name, convert, value in zip(part.names, part.converters, values, strict=True):
                if convert is not None and (typed or "{" not in value):
                    converted = convert(value)
                    if converted is _FAIL:
                        return None
                    if typed:
                        value = converted
                out[name] = value
        return out


class _Node:
    __slots__ = ("literal", "param", "patterns", "routes")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.patterns: dict[str, tuple[re.Pattern[str], _Node]] = {}
        self.routes: list[Route] = []


class Router:
    """Endpoints by path: a dict of static paths and a trie of templates, so the cost of a
    lookup depends on the path's length, not on the number of endpoints."""

    def __init__(self) -> None:
        self._static: dict[str, list[Route]] = {}
        self._root = _Node()
        self._count = 0
        self._memo: dict[tuple[str, str], Any] = {}

    def add(self, endpoint: Routable, *, literal: bool = False) -> Route:
        """Route `endpoint`; with literal=True its path is taken as is, braces included."""
        path, segments = normalise(endpoint.path)
        parts: list[str | _Slot] = []
        literals = patterns = 0
        for segment in segments:
            names = [] if literal else PARAMETER.findall(segment)
            if not names:
                parts.append(segment)
                literals += 1
                continue
            converters = tuple(_converter(endpoint.params.get(n)) for n in names)
            if segment == "{" + names[0] + "}":
                parts.append(_Slot((names[0],), converters, None))
                continue
            pieces = PARAMETER.split(segment)
            regex = "".join(re.escape(p) if i % 2 == 0 else "(.+?)" for i, p in enumerate(pieces))
            parts.append(_Slot(tuple(names), converters, re.compile(regex)))
            patterns += 1
        route = Route(
            endpoint.name,
            endpoint.path,
            frozenset(endpoint.methods),
            tuple(parts),
            (-literals, -patterns, self._count),
        )
        self._count += 1
        self._memo.clear()
        if all(part.__class__ is str for part in parts):
            self._static.setdefault(path, []).append(route)
            return route
        node = self._root
        for part in parts:
            if part.__class__ is str:
                node = node.literal.setdefault(part, _Node())
            elif part.regex is None:
                node.param = node.param or _Node()
                node = node.param
            else:
                node = node.patterns.setdefault(part.regex.pattern, (part.regex, _Node()))[1]
        node.routes.append(route)
        return route

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, Any]] | frozenset | None:
        """(route, typed parameters) for the best route answering `method` at `path`; else
        the methods answered at that path (405), or None when no route has the path (404).
        The parameters are shared between calls: read them, do not change them."""
        memo = self._memo
        found = memo.get((method, path), memo)
        if found is memo:
            found = self._resolve(method, path)
            if len(memo) >= ROUTE_MEMO:
                memo.clear()
            memo[method, path] = found
        return found

    def file(self, method: str, template: str) -> tuple[Route, dict[str, str]] | None:
        """(route, what each of its parameters takes of `template`) for the route that would
        answer `method` at every path `template` stands for, or None. A parameter of the
        template fills only a parameter of a route (never a literal), and is not typed; a
        literal of the template must convert to the route parameter's type, as a request's
        would. The values are the template's text: `{id}`, or a literal such as `me`."""
        key, segments = normalise(template)
        static = self._static.get(key)
        if static is not None and "{" not in key:
            for route in static:
                if method in route.methods:
                    return route, {}
        leaves: list[Route] = []
        _walk(self._root, segments, 0, leaves, template=True)
        found = []
        for route in leaves:
            texts = route.texts(segments)
            if texts is not None:
                found.append((route, texts))
        found.sort(key=lambda pair: pair[0].rank)
        return next(((r, texts) for r, texts in found if method in r.methods), None)

    def _resolve(self, method: str, path: str) -> tuple[Route, dict[str, Any]] | frozenset | None:
        key, segments = normalise(path)
        static = self._static.get(key)
        if static is not None:
            for route in static:
                if method in route.methods:
                    return route, {}
        found: list[tuple[Route, dict[str, Any]]] = []
        leaves: list[Route] = []
        _walk(self._root, segments, 0, leaves)
        for route in leaves:
            params = route.params(segments)
            if params is not None:
                found.append((route, params))
        if len(found) > 1:
            found.sort(key=lambda pair: pair[0].rank)
        for route, params in found:
            if method in route.methods:
                return route, params
        allowed = frozenset().union(
            *(r.methods for r in static or ()), *(r.methods for r, _ in found)
        )
        return allowed or None


def _walk(
    node: _Node, segments: list[str], i: int, out: list[Route], *, template: bool = False
) -> None:
    """Every route whose template has the shape of `segments` from position i on; with
    template=True a whole-segment {parameter} of `segments` goes to parameters only."""
    if i == len(segments):
        out.extend(node.routes)
        return
    segment = segments[i]
    if not (template and _is_parameter(segment)):
        child = node.literal.get(segment)
        if child is not None:
            _walk(child, segments, i + 1, out, template=template)
    if node.param is not None and segment:
        _walk(node.param, segments, i + 1, out, template=template)
    for regex, child in node.patterns.values():
        if regex.fullmatch(segment):
            _walk(child, segments, i + 1, out, template=template)


def _is_parameter(segment: str) -> bool:
    return segment[:1] == "{" and PARAMETER.fullmatch(segment) is not None
