"""In-memory CRUD state for `mock: {state: true}`: a collection and its items, seeded from
recordings.

A collection path (/api/orders) and its item path (/api/orders/{id}) share one `Resource`.
Nested collections (/api/users/{uid}/orders) keep one set of items per parent, told apart by
the parent path parameters' values. The seed is every item found in recorded 2xx GETs: bodies
of the collection (a list, or a list inside a common envelope such as {"data": [...]}) and
bodies of items, later recordings replacing earlier ones. `reset()` goes back to the seed.

POST on the collection creates an item with the next id (201, Location); GET lists (filtered by
query parameters named like item fields) or reads one; PUT replaces; PATCH merges (RFC 7386);
DELETE removes (204). An unknown id is 404. Answers are plain `Response`s.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from backworks_cli.core.exchange import Exchange, Request, Response, load_json

ENVELOPE_KEYS = ("data", "items", "results", "records", "rows", "entries", "objects", "list")
COUNT_KEYS = ("total", "count", "total_count", "totalCount", "size")
COLLECTION_METHODS = ("GET", "POST")
ITEM_METHODS = ("GET", "PUT", "PATCH", "DELETE")
_JSON = (("Content-Type", "application/json"),)

Items = dict[str, dict]  # str(id) -> item, in insertion order
Scope = tuple[str, ...]  # values of the collection's own path parameters


@dataclass(frozen=True)
class Shape:
    """Where a resource lives: its collection's path shape and how many parameters it has."""

    collection: str  # path template with parameters as {}, e.g. /api/users/{}/orders
    depth: int  # parameters in the collection path

    @property
    def item(self) -> str:
        return self.collection.rstrip("/") + "/{}"


def shape_of(template_shape: str) -> tuple[Shape, bool]:
    """(the resource shape, whether this is the item path) for an endpoint's path shape."""
    parent, _, last = template_shape.rstrip("/").rpartition("/")
    if last == "{}":
        collection = parent or "/"
        return Shape(collection, collection.count("{}")), True
    return Shape(template_shape, template_shape.count("{}")), False


@dataclass(frozen=True)
class Answer:
    response: Response
    invalid: bool = False  # the request body was not a JSON object


def unwrap(body: Any) -> tuple[list | None, str | None]:
    """(the list of items, the envelope key holding it or None for a bare list)."""
    if isinstance(body, list):
        return body, None
    if isinstance(body, dict):
        for key in ENVELOPE_KEYS:
            if isinstance(body.get(key), list):
                return body[key], key
    return None, None


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key, null deletes, the rest replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _text(value: Any) -> str:
    """A value as it appears in a URL: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class Resource:
    """The items of one collection, per scope (see the module docstring)."""

    shape: Shape
    id_field: str = "id"
    seed: int = 0
    envelope: dict | None = None  # the latest recorded collection envelope, its list emptied
    envelope_key: str | None = None
    _seeded: dict[Scope, Items] = field(default_factory=dict)
    _items: dict[Scope, Items] = field(default_factory=dict)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}|{self.shape.collection}|ids")

    @classmethod
    def from_recordings(
        cls,
        shape: Shape,
        collection: list[tuple[Exchange, tuple[str, ...]]],
        items: list[tuple[Exchange, tuple[str, ...]]],
        *,
        seed: int = 0,
    ) -> Resource:
        """A resource seeded from recorded (exchange, path parameter values) pairs of the
        collection path and of the item path."""
        resource = cls(shape, seed=seed)
        found: list[tuple[int, Scope, Any, str | None]] = []
        for exchange, values in collection:
            for item in _listed(exchange, resource):
                found.append((exchange.id or 0, values[: shape.depth], item, None))
        for exchange, values in items:
            body = ok_get_json(exchange)
            if isinstance(body, dict) and len(values) > shape.depth:
                found.append((exchange.id or 0, values[: shape.depth], body, values[shape.depth]))
        found.sort(key=lambda entry: entry[0])
        resource.id_field = _id_field(shape, [entry[2] for entry in found])
        for _, scope, item, path_id in found:
            resource._seed_item(scope, item, path_id)
        resource._items = copy.deepcopy(resource._seeded)
        return resource

    def _seed_item(self, scope: Scope, item: Any, path_id: str | None) -> None:
        if not isinstance(item, dict):
            return
        items = self._seeded.setdefault(scope, {})
        key = _text(item[self.id_field]) if self.id_field in item else path_id
        if key is None:
            item = {self.id_field: self._next_id(items), **item}
            key = _text(item[self.id_field])
        items[key] = item

    def reset(self) -> None:
        self._items = copy.deepcopy(self._seeded)
        self._rng = random.Random(f"{self.seed}|{self.shape.collection}|ids")

    def items(self, scope: Scope = ()) -> list[dict]:
        return list(self._items.get(scope, {}).values())

    # --- answering ---------------------------------------------------------------------------

    def handle(self, request: Request, values: tuple[str, ...], is_item: bool) -> Answer:
        """Answer `request`; `values` are the path parameter values in order."""
        scope = tuple(values[: self.shape.depth])
        method = request.method.upper()
        if is_item:
            item_id = values[self.shape.depth] if len(values) > self.shape.depth else ""
            if method not in ITEM_METHODS:
                return _not_allowed(ITEM_METHODS)
            return self._item(method, request, scope, item_id)
        if method == "GET":
            return Answer(_json(200, self._listing(scope, request)))
        if method == "POST":
            return self._create(request, scope)
        return _not_allowed(COLLECTION_METHODS)

    def _listing(self, scope: Scope, request: Request) -> Any:
        rows = self.items(scope)
        for name, value in request.query:
            if rows and all(name in row for row in rows):
                rows = [row for row in rows if _text(row[name]) == value]
        if self.envelope is None or self.envelope_key is None:
            return rows
        out = dict(self.envelope)
        out[self.envelope_key] = rows
        for key in COUNT_KEYS:
            if isinstance(out.get(key), int) and not isinstance(out[key], bool):
                out[key] = len(rows)
        if "next" in out:
            out["next"] = None
        return out

    def _create(self, request: Request, scope: Scope) -> Answer:
        body = _object_body(request)
        if isinstance(body, Answer):
            return body
        items = self._items.setdefault(scope, {})
        new_id = self._next_id(items)
        item = {self.id_field: new_id, **{k: v for k, v in body.items() if k != self.id_field}}
        items[_text(new_id)] = item
        location = request.path.rstrip("/") + "/" + quote(_text(new_id), safe="")
        return Answer(_json(201, item, (("Location", location),)))

    def _item(self, method: str, request: Request, scope: Scope, item_id: str) -> Answer:
        items = self._items.get(scope, {})
        item = items.get(item_id)
        if item is None:
            return Answer(_json(404, {"error": "not found", "id": item_id}))
        if method == "GET":
            return Answer(_json(200, item))
        if method == "DELETE":
            del items[item_id]
            return Answer(Response(204))
        body = _object_body(request)
        if isinstance(body, Answer):
            return body
        if method == "PUT":
            new = {self.id_field: item[self.id_field], **body}
            new[self.id_field] = item[self.id_field]
        else:
            new = merge_patch(item, body)
            new[self.id_field] = item[self.id_field]
        items[item_id] = new
        return Answer(_json(200, new))

    def _next_id(self, items: Items) -> Any:
        """One more than the largest integer id; a UUID when the ids are not numbers."""
        ids = [item.get(self.id_field) for item in items.values()]
        numbers = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
        digits = [int(i) for i in ids if isinstance(i, str) and i.isdigit()]
        if numbers or not ids:
            return max(numbers, default=0) + 1
        if digits and len(digits) == len(ids):
            return str(max(digits) + 1)
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def remember_envelope(self, body: Any) -> None:
        _, key = unwrap(body)
        if key is not None:
            self.envelope = {**body, key: []}
            self.envelope_key = key


def _id_field(shape: Shape, items: list) -> str:
    """`id` when items have one, else the collection's singular name + `_id` (order_id)."""
    rows = [item for item in items if isinstance(item, dict)]
    if not rows or any("id" in row for row in rows):
        return "id"
    name = shape.collection.rstrip("/").rpartition("/")[2].lower()
    for singular in (name[:-3] + "y" if name.endswith("ies") else None, name[:-1], name):
        if singular and all(f"{singular}_id" in row for row in rows):
            return f"{singular}_id"
    return "id"


def ok_get_json(exchange: Exchange) -> Any:
    """The JSON body of a successful recorded GET, else None."""
    response = exchange.response
    if exchange.request.method.upper() != "GET" or response is None:
        return None
    if not 200 <= response.status < 300 or not response.body:
        return None
    try:
        return json.loads(response.body)
    except (ValueError, RecursionError):
        return None


def _listed(exchange: Exchange, resource: Resource) -> list:
    body = ok_get_json(exchange)
    rows, _ = unwrap(body)
    if rows is None:
        return []
    resource.remember_envelope(body)
    return rows


def _object_body(request: Request) -> dict | Answer:
    try:
        body = load_json(request.body) if request.body else None
    except (ValueError, RecursionError):
        return Answer(_json(400, {"error": "request body is not valid JSON"}), invalid=True)
    if not isinstance(body, dict):
        return Answer(_json(422, {"error": "request body must be a JSON object"}), invalid=True)
    return body


def _json(status: int, data: Any, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    # Lone surrogates (request text that was not UTF-8) become \udcXX escapes, as in json_body.
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    body = text.encode("utf-8", "backslashreplace")
    return Response(status, (*_JSON, *headers), body)


def _not_allowed(methods: tuple[str, ...]) -> Answer:
    allowed = ", ".join(methods)
    body = {"error": "method not allowed on this resource", "allowed": list(methods)}
    return Answer(_json(405, body, (("Allow", allowed),)))
