"""Mode `mock`: recordings first, then data generated from the endpoint's response schema.

In order, for each request:
1. with `validate: true`, a request whose query or JSON body breaks the endpoint's schema is
   answered 422 with every violation;
2. with `state: true`, the in-memory collection answers (backworks_cli.answer.state);
3. a matching recording answers as in replay mode;
4. otherwise (unless the engine is strict, which answers the miss as replay does) the response
   is generated for the most common 2xx status: deterministic per (seed, endpoint, path
   parameters), and the path parameter naming the item sets the body field that holds it
   (`path_field`). Without a response schema the answer is 200 with `{}`.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from typing import Any

from backworks_cli.answer.misses import Miss
from backworks_cli.answer.modes.base import (
    JSON,
    Context,
    Outcome,
    json_body,
    miss_outcome,
    schema_validator,
    schema_violations,
)
from backworks_cli.answer.modes.replay import ReplayMode
from backworks_cli.answer.state import Resource, shape_of
from backworks_cli.config.model import Endpoint
from backworks_cli.core.exchange import Request, Response, load_json, text_bytes

CACHE_SIZE = 1024  # generated responses kept per endpoint
BODYLESS = frozenset({100, 101, 102, 103, 204, 205, 304})
_NUMBER_TYPES = {"integer": int, "number": float}


class MockMode:
    name = "mock"

    def __init__(self, context: Context):
        self.context = context
        endpoint = context.endpoint
        block = endpoint.mock
        self._check = RequestCheck(endpoint) if block.get("validate") else None
        self._resource: Resource | None = None
        self._is_item = False
        if block.get("state"):
            self._resource, self._is_item = _resource(context)
        stateless = self._resource is None
        self._replay = ReplayMode(context, label="mock", stable=stateless)
        # A generated answer is a function of the path parameters and the miss of the request's
        # match key, so a host may remember it for the request unless state answers first or
        # headers are part of that key.
        self._stable = stateless and not context.index.keyed_by_headers
        self.status, answer = pick_status(endpoint)
        answer = answer or {}
        self._schema = answer.get("schema")
        self._content_type = answer.get("content_type") or JSON
        self._headers = answer.get("headers") or {}
        self._path_field = path_field(endpoint, self._schema)
        self._generator = None
        if not context.strict and (self._schema is not None or self._headers):
            self._generator = _generator(context, block)
        self._cache: OrderedDict[str, Response] = OrderedDict()

    def handle(self, request: Request, params: dict[str, Any]) -> Outcome:
        name = self.context.name
        if self._check is not None:
            violations = self._check.violations(request)
            if violations:
                detail = {"error": "request does not match the schema", "violations": violations}
                response = Response(422, (("Content-Type", JSON),), json_body(detail))
                return Outcome(response, name, "mock", "invalid", detail)
        if self._resource is not None:
            answer = self._resource.handle(
                request, _values(self.context.endpoint, params), self._is_item
            )
            return Outcome(answer.response, name, "mock", "invalid" if answer.invalid else "state")
        strict = self.context.strict
        found = self._replay.lookup(request, explain=strict)
        if not isinstance(found, Miss):
            return found
        if strict:
            return miss_outcome(found, name, "mock")
        return Outcome(self.generated(params), name, "mock", "generated", stable=self._stable)

    def generated(self, params: dict[str, Any]) -> Response:
        """The generated response for these path parameters (cached: generation is pure)."""
        key = self.context.name + "|" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        cache = self._cache
        response = cache.get(key)
        if response is not None:
            cache.move_to_end(key)
            return response
        response = self._generate(key, params)
        cache[key] = response
        if len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
        return response

    def _generate(self, key: str, params: dict[str, Any]) -> Response:
        generator, schema = self._generator, self._schema
        headers: list[tuple[str, str]] = []
        if self.status in BODYLESS:
            body = b""
        else:
            headers.append(("Content-Type", self._content_type))
            if schema is None or generator is None:
                value: Any = {}
            elif self.context.edge_cases:
                value = generator.edge_case(schema, key=key)
            else:
                overrides = None
                if self._path_field is not None and self._path_field[0] in params:
                    param, field, kind = self._path_field
                    if _fits(params[param], kind):
                        overrides = {field: params[param]}
                value = generator.generate(schema, key=key, overrides=overrides)
            body = _encode(value, self._content_type)
        for name, header_schema in self._headers.items():
            if generator is not None and isinstance(header_schema, dict):
                value = generator.generate(header_schema, key=f"{key}|header:{name}")
                headers.append((name, value if isinstance(value, str) else json.dumps(value)))
        return Response(self.status, tuple(headers), body)

    def reset(self) -> None:
        self._replay.reset()
        if self._resource is not None:
            self._resource.reset()


def create(context: Context) -> MockMode:
    return MockMode(context)


# --- choices made once per endpoint ---------------------------------------------------------


def pick_status(endpoint: Endpoint) -> tuple[int, dict | None]:
    """The 2xx status mock answers with and its `responses` entry: the most common in
    `status_mix`, else the lowest 2xx written; 200 without a schema when there is none."""
    mix = endpoint.status_mix
    success = sorted(s for s in endpoint.responses if s.startswith("2"))
    if success:
        best = max(success, key=lambda s: (float(mix.get(s) or 0), -int(s)))
        return int(best), endpoint.responses[best]
    mixed = sorted((s for s in mix if s.startswith("2")), key=lambda s: (-float(mix[s]), s))
    return (int(mixed[0]) if mixed else 200), None


def id_param(endpoint: Endpoint) -> str | None:
    """The path parameter naming the item: the last segment when it is a whole parameter
    called `id` or `<singular of the segment before>_id` (user_id under /users)."""
    segments = endpoint.path.rstrip("/").split("/")
    last = segments[-1]
    if len(segments) < 2 or not (last.startswith("{") and last.endswith("}")):
        return None
    name = last[1:-1]
    plural = segments[-2].lower()
    singular = plural[:-3] + "y" if plural.endswith("ies") else plural.removesuffix("s")
    accepted = {"id", f"{singular}_id", f"{singular}id", f"{plural}_id"}
    return name if name.lower() in accepted else None


def path_field(endpoint: Endpoint, schema: Any) -> tuple[str, str, Any] | None:
    """(path parameter, body property, the property's type) when the answer carries the item's
    path parameter: the last segment is a whole parameter and the object has a property of the
    same name (`{username}` and `username`, `{userId}` and `user_id`), or, for a parameter that
    names the item's id (`id_param`), the property that holds the id (`id`, `user_id`, `uuid`)."""
    last = endpoint.path.rstrip("/").rsplit("/", 1)[-1]
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not (last.startswith("{") and last.endswith("}")) or not isinstance(properties, dict):
        return None
    param = last[1:-1]
    by_name = {_folded(name): name for name in properties}
    candidates = [param]
    if id_param(endpoint) is not None:
        plural = endpoint.path.rstrip("/").split("/")[-2]
        singular = plural[:-3] + "y" if plural.endswith("ies") else plural.removesuffix("s")
        candidates += ["id", f"{singular}_id", "uuid"]
    for candidate in candidates:
        field = by_name.get(_folded(candidate))
        if field is not None:
            kind = properties[field].get("type") if isinstance(properties[field], dict) else None
            return param, field, kind
    return None


def _folded(name: str) -> str:
    """A field name without case, `_` or `-`: user_id, userId and user-id are one name."""
    return re.sub(r"[_\-]", "", name).lower()


def _fits(value: Any, kind: Any) -> bool:
    """Whether a path parameter's value can stand in a property of JSON type `kind` (a string,
    or an integer or number the text spells); a property of no stated type takes it as it is."""
    kinds = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else []
    if not kinds:
        return True
    return any(_fits_type(value, k) for k in kinds)


def _fits_type(value: Any, kind: Any) -> bool:
    if kind == "string":
        return True
    if kind not in ("integer", "number") or isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return kind == "number" or isinstance(value, int)
    pattern = r"-?\d{1,18}" if kind == "integer" else r"-?\d+(\.\d+)?([eE][-+]?\d+)?"
    return isinstance(value, str) and re.fullmatch(pattern, value) is not None


def _generator(context: Context, block: dict) -> Any:
    from backworks_cli.learn.generate import Generator

    seed = block.get("seed")
    seed = context.seed if seed is None else int(seed)
    generators = context.shared.generators
    if seed not in generators:
        generators[seed] = Generator(seed)
    return generators[seed]


def _resource(context: Context) -> tuple[Resource, bool]:
    shape, is_item = shape_of(context.shape)
    shared = context.shared
    resource = shared.resources.get(shape.collection)
    if resource is None:
        resource = Resource.from_recordings(
            shape,
            shared.recorded.get(shape.collection, []),
            shared.recorded.get(shape.item, []),
            seed=context.seed,
        )
        shared.resources[shape.collection] = resource
    return resource, is_item


def _values(endpoint: Endpoint, params: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        value if isinstance(value, str) else json.dumps(value)
        for value in (params.get(name) for name in endpoint.param_names)
        if value is not None
    )


def _encode(value: Any, content_type: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str) and "json" not in content_type.lower():
        return text_bytes(value)
    return json_body(value)


# --- validation -----------------------------------------------------------------------------


class RequestCheck:
    """The endpoint's query parameters and request body schema, as a list of violations."""

    def __init__(self, endpoint: Endpoint):
        schema = (endpoint.request or {}).get("schema")
        self._body = schema_validator(schema) if schema is not None else None
        self._query = {
            name: (
                bool(spec.get("required")),
                spec.get("type"),
                schema_validator({k: v for k, v in spec.items() if k != "required"}),
            )
            for name, spec in endpoint.query.items()
        }

    def violations(self, request: Request) -> list[dict[str, str]]:
        found = self._query_violations(request) if self._query else []
        if self._body is not None:
            found += self._body_violations(request)
        return found

    def _query_violations(self, request: Request) -> list[dict[str, str]]:
        found = []
        for name, (required, kind, validator) in self._query.items():
            values = [v for k, v in request.query if k == name]
            where = f"query.{name}"
            if not values:
                if required:
                    found.append({"path": where, "message": "required query parameter is missing"})
                continue
            value = _query_value(values[0], kind)
            if value is None:
                found.append({"path": where, "message": f"{values[0]!r} is not of type {kind!r}"})
                continue
            found += [{"path": where, "message": e.message} for e in validator.iter_errors(value)]
        return found

    def _body_violations(self, request: Request) -> list[dict[str, str]]:
        if not request.body:
            if request.method.upper() in ("GET", "HEAD", "DELETE", "OPTIONS"):
                return []
            return [{"path": "$", "message": "the request has no body; a JSON body is expected"}]
        try:
            data = load_json(request.body)
        except (ValueError, RecursionError) as error:
            return [{"path": "$", "message": f"the body is not valid JSON: {error}"}]
        return schema_violations(self._body, data)


def _query_value(text: str, kind: Any) -> Any:
    """A query string value as the schema's type, or None when it is not one."""
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if kind in _NUMBER_TYPES:
        try:
            value = _NUMBER_TYPES[kind](text)
        except ValueError:
            return None
        return value if value == value and abs(value) != float("inf") else None
    if kind == "boolean":
        return {"true": True, "false": False, "1": True, "0": False}.get(text.lower())
    return text
