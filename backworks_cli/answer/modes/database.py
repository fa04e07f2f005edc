"""Mode `database`: auto-CRUD over a real SQLite table, seeded from recordings.

The collection path (/api/users) and the item path (/api/users/{id}) of a resource share one
table, resolved by name. The mode's SQL lives here, in backworks_cli.answer.tables (where tables are
designed, created with sqlite-utils and seeded) and in backworks_cli.answer.listing (list queries);
store.py keeps the recordings' SQL, a different file and concern. The table is created on
first use when `backworks promote` has not made it already.

Collection path: GET lists, with filters on fields (`?city=Paris`, `?price_gte=10`, operators
eq, ne, lt, lte, gt, gte, like; `?address.city=Paris` inside a JSON column), sorting
(`?sort=-price,name`) and pages in the style of the recorded lists (page/per_page with their
envelope, limit/offset, or a plain array): see backworks_cli.answer.listing. An unknown field is 400
naming the valid ones. POST creates: 201 with the stored item and Location; an integer primary
key is the next one and a text key a new UUID, unless the body gives it (409 when taken).
Item path: GET reads, PUT replaces (fields left out become null), PATCH merges (RFC 7386),
DELETE removes (204); an unknown id is 404. Parent path parameters (/users/{user_id}/orders)
filter on a column of that name (or user_id for {id} under /users) when there is one.

Request bodies must be JSON objects whose fields are columns; they are validated against the
endpoint's request schema, else the item schema without its primary key (for PATCH, the merged
item), and answered 422 with every violation. A database locked by another connection is
waited for `busy_timeout_ms` (default 250 ms), then answered 503.

One connection per mode instance (WAL mode, used under a lock). Item reads are cached per id:
a write through any database endpoint of the same host clears the cache at once, and a write
by another process is noticed through PRAGMA data_version, checked at most every 20 ms.
`reset()` empties the cache; the table keeps its rows, since it is the user's data.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote as url_quote

from backworks_cli.answer import listing, seeding, tables
from backworks_cli.answer.modes.base import (
    Context,
    Outcome,
    json_path,
    json_response,
    schema_validator,
    schema_violations,
)
from backworks_cli.answer.seeding import provision
from backworks_cli.answer.state import merge_patch, shape_of
from backworks_cli.answer.tables import Column, Design, quote
from backworks_cli.core.errors import BackworksError
from backworks_cli.core.exchange import Request, Response, load_json
from backworks_cli.core.files import disk_full, sqlite_full
from backworks_cli.core.numbers import integer, number

__all__ = ["DatabaseMode", "create", "provision"]  # provision: for `backworks promote`

CACHE_SIZE = 4096  # item responses kept per endpoint
POLL_S = 0.02  # how often PRAGMA data_version is read to notice other processes' writes


class _Refused(Exception):
    """A request answered with an error response instead of a result."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome


@dataclass
class _Changes:
    """What the database endpoints of one engine share about a table: a generation counter
    bumped after every committed write, so each endpoint's item cache knows when to empty."""

    generation: int = 0

    def bump(self) -> None:
        self.generation += 1


class DatabaseMode:
    name = "database"

    def __init__(self, context: Context):
        self.context = context
        endpoint = context.endpoint
        config = context.config
        self.settings = tables.settings(endpoint, config)
        self.shape, self.is_item = shape_of(context.shape)
        recorded = context.shared.recorded
        collection = recorded.get(self.shape.collection, [])
        items = recorded.get(self.shape.item, [])
        self._wanted, self._seed_rows = seeding.plan(
            endpoint, config, self.shape, collection, items
        )
        self._listing = listing.detect_listing(collection, self.settings.pagination)
        names = endpoint.param_names
        self._id_name = names[-1] if self.is_item and names else None
        self._parents = names[: self.shape.depth]
        segments = [s for s in endpoint.path.split("/") if s]
        self._parent_segments = [
            segments[i - 1] if i > 0 else ""
            for i, s in enumerate(segments)
            if s.startswith("{") and s.endswith("}")
        ][: self.shape.depth]
        self._request_schema = (endpoint.request or {}).get("schema")
        key = f"database:{self.settings.file}:{self.settings.table}"
        self._changes = context.shared.resources.setdefault(key, _Changes())
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._design: Design | None = None
        self._cache: tuple[int, dict[Any, Outcome]] = (-1, {})
        self._next_poll = 0.0
        self._data_version: int | None = None
        self._validators: dict[str, Any] = {}

    # --- answering ---------------------------------------------------------------------------

    def handle(self, request: Request, params: dict[str, Any]) -> Outcome:
        method = request.method.upper()
        try:
            if self._design is None:
                self._prepare()
            if self.is_item:
                if method in ("GET", "HEAD"):
                    return self._read(params)
                if method == "DELETE":
                    return self._delete(params)
                if method in ("PUT", "PATCH"):
                    return self._update(request, params, method)
                return self._not_allowed(("GET", "PUT", "PATCH", "DELETE"))
            if method in ("GET", "HEAD"):
                return self._list(request, params)
            if method == "POST":
                return self._create(request, params)
            return self._not_allowed(("GET", "POST"))
        except _Refused as refused:
            return refused.outcome
        except sqlite3.Error as error:
            if tables.is_busy(error):
                return self._busy(error)
            full = sqlite_full(error, self.settings.file)
            if full:
                return self._full(full)
            return self._failed(f"The database {self.settings.file} failed: {error}.", None)
        except BackworksError as error:
            return self._failed(error.message, error.hint)

    def reset(self) -> None:
        """Empty the item cache (the table is the user's data: its rows stay)."""
        self._cache = (-1, {})
        self._next_poll = 0.0

    def _read(self, params: dict[str, Any]) -> Outcome:
        raw = params.get(self._id_name)
        scope = self._scope(params)
        key = (tuple(v for _, v in scope), raw) if scope else raw
        now = time.monotonic()
        if now >= self._next_poll:
            self._poll(now)
        generation = self._changes.generation
        cached_generation, cache = self._cache
        if cached_generation != generation:
            cache = {}
            self._cache = (generation, cache)
        outcome = cache.get(key)
        if outcome is not None:
            return outcome
        item_id = self._id_value(raw)
        with self._lock:
            item = self._fetch(item_id, scope) if item_id is not None else None
        if item is None:
            return self._missing(raw)
        outcome = self._ok(json_response(200, item))
        if self._changes.generation == generation:
            if len(cache) >= CACHE_SIZE:
                cache.pop(next(iter(cache)), None)
            cache[key] = outcome
        return outcome

    def _list(self, request: Request, params: dict[str, Any]) -> Outcome:
        design = self._design
        try:
            query = listing.parse(request.query, self._listing, self._fields)
        except listing.QueryError as error:
            raise _Refused(self._bad(**error.body)) from None
        for column, value in self._scope(params):
            query.where.append(f"{quote(column.name)} = ?")
            query.params.append(tables.bindable(value))
        where = " AND ".join(query.where) or "1"
        table = quote(design.table)
        columns = ", ".join(quote(c.name) for c in design.columns)
        order = ", ".join([*query.order, quote(design.primary_key)])
        limit = query.size if query.size is not None else -1
        sql = f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
        counted = self._listing.envelope is not None or self._listing.style == "page"
        with self._lock:
            conn = self._conn
            found = conn.execute(sql, [*query.params, *query.order_params, limit, query.offset])
            rows = [self._item(row) for row in found.fetchall()]
            total = None
            if counted:
                count_sql = f"SELECT count(*) FROM {table} WHERE {where}"
                total = conn.execute(count_sql, query.params).fetchone()[0]
        answer = listing.body(self._listing, request, rows, total, query)
        return self._ok(json_response(200, answer))

    def _create(self, request: Request, params: dict[str, Any]) -> Outcome:
        design = self._design
        body = self._body(request)
        violations = self._unknown(body)
        violations += self._violations("create", self._request_schema or "item", body)
        key = design.key
        given = body.get(key.name)
        if given is not None:
            given = self._id_value(given)
            if given is None:
                message = f"{body[key.name]!r} is not a valid {key.kind} id"
                violations.append({"path": json_path([key.name]), "message": message})
        scope = self._scope(params)
        for column, value in scope:  # a parent id from the path that is not its column's type
            if column.kind in ("integer", "number") and isinstance(value, str):
                message = f"the path gives {value[:40]!r}, not {listing.EXPECTED[column.kind]}"
                violations.append({"path": json_path([column.name]), "message": message})
        if violations:
            raise _Refused(self._invalid(violations))
        item = {**body, key.name: given}
        for column, value in scope:
            item[column.name] = value
        table = quote(design.table)
        with self._lock:
            conn = self._begin()
            try:
                if given is None and key.kind in ("integer", "number"):
                    sql = f"SELECT coalesce(max({quote(key.name)}), 0) + 1 FROM {table}"
                    item[key.name] = int(conn.execute(sql).fetchone()[0])
                elif given is None:
                    item[key.name] = str(uuid.uuid4())
                names = ", ".join(quote(c.name) for c in design.columns)
                marks = ", ".join("?" for _ in design.columns)
                try:
                    conn.execute(
                        f"INSERT INTO {table} ({names}) VALUES ({marks})",
                        tables.row_values(design, item),
                    )
                except sqlite3.IntegrityError as error:
                    conn.execute("ROLLBACK")
                    detail = {"error": "could not create the item", "reason": str(error)}
                    if given is not None:
                        detail = {"error": "an item with this id exists", "id": given}
                    return self._answer(json_response(409, detail), "invalid")
                stored = self._fetch(tables.encode(item[key.name], key.kind), ())
                self._commit(conn)
            except BaseException:
                self._rollback(conn)
                raise
        location = request.path.rstrip("/") + "/" + url_quote(_text(stored[key.name]), safe="")
        return self._ok(json_response(201, stored, (("Location", location),)))

    def _update(self, request: Request, params: dict[str, Any], method: str) -> Outcome:
        design = self._design
        raw = params.get(self._id_name)
        body = self._body(request)
        violations = self._unknown(body)
        if method == "PUT" or self._request_schema is not None:
            violations += self._violations(method, self._request_schema or "item", body)
        if violations:
            raise _Refused(self._invalid(violations))
        item_id = self._id_value(raw)
        if item_id is None:
            return self._missing(raw)
        scope = self._scope(params)
        key = design.key
        with self._lock:
            conn = self._begin()
            try:
                current = self._fetch(item_id, scope)
                if current is None:
                    conn.execute("ROLLBACK")
                    return self._missing(raw)
                if method == "PUT":
                    new = {k: v for k, v in body.items() if k != key.name}
                else:
                    new = merge_patch(current, body)
                    if self._request_schema is None:
                        found = self._violations("PATCH", "item", new)
                        if found:
                            conn.execute("ROLLBACK")
                            return self._invalid(found)
                new[key.name] = current[key.name]
                for column, value in scope:
                    new[column.name] = value
                sets = ", ".join(f"{quote(c.name)} = ?" for c in design.columns)
                conn.execute(
                    f"UPDATE {quote(design.table)} SET {sets} WHERE {quote(key.name)} = ?",
                    [*tables.row_values(design, new), item_id],
                )
                stored = self._fetch(item_id, ())
                self._commit(conn)
            except BaseException:
                self._rollback(conn)
                raise
        return self._ok(json_response(200, stored))

    def _delete(self, params: dict[str, Any]) -> Outcome:
        design = self._design
        raw = params.get(self._id_name)
        item_id = self._id_value(raw)
        if item_id is None:
            return self._missing(raw)
        where, values = self._item_where(item_id, self._scope(params))
        with self._lock:
            conn = self._begin()
            try:
                cursor = conn.execute(f"DELETE FROM {quote(design.table)} WHERE {where}", values)
                self._commit(conn)
            except BaseException:
                self._rollback(conn)
                raise
        if cursor.rowcount == 0:
            return self._missing(raw)
        return self._ok(Response(204))

    # --- the table ---------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Open the connection and create the table if it is not there (on first use)."""
        with self._lock:
            if self._design is not None:
                return
            if self._conn is None:
                self._conn = tables.connect(self.settings.file, self.settings.busy_timeout_ms)
            conn = self._conn
            if not tables.table_exists(conn, self._wanted.table):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if not tables.table_exists(conn, self._wanted.table):
                        seed = self.settings.seed
                        seed = self.context.seed if seed is None else seed
                        rows = self.settings.rows
                        seeding.fill(conn, self._wanted, self._seed_rows, rows, seed)
                    conn.execute("COMMIT")
                except BaseException:
                    self._rollback(conn)
                    raise
                self._changes.bump()
            design = tables.reconcile(self._wanted, conn)
            self._fields = listing.fields(design)
            self._readers = [
                (
                    c.name,
                    c.kind not in ("json", "boolean"),
                    c.nullable or c.name == design.primary_key,
                )
                for c in design.columns
            ]
            self._scope_columns = self._parent_columns(design)
            self._select = (
                f"SELECT {', '.join(quote(c.name) for c in design.columns)} "
                f"FROM {quote(design.table)} WHERE "
            )
            self._data_version = conn.execute("PRAGMA data_version").fetchone()[0]
            self._next_poll = time.monotonic() + POLL_S
            self._design = design

    def _poll(self, now: float) -> None:
        """Notice writes by other connections (PRAGMA data_version changes with each)."""
        with self._lock:
            self._next_poll = now + POLL_S
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._data_version:
                self._data_version = version
                self._changes.bump()

    def _begin(self) -> sqlite3.Connection:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        return conn

    def _commit(self, conn: sqlite3.Connection) -> None:
        conn.execute("COMMIT")
        self._changes.bump()

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def _fetch(self, item_id: Any, scope: tuple) -> dict | None:
        """The item with this primary key (and parent values), or None; the caller holds
        the lock."""
        where, values = self._item_where(item_id, scope)
        row = self._conn.execute(self._select + where, values).fetchone()
        return None if row is None else self._item(row)

    def _item_where(self, item_id: Any, scope: tuple) -> tuple[str, list[Any]]:
        clauses = [f"{quote(self._design.primary_key)} = ?"]
        values = [tables.bindable(item_id)]
        for column, value in scope:
            clauses.append(f"{quote(column.name)} = ?")
            values.append(tables.bindable(value))
        return " AND ".join(clauses), values

    def _item(self, row: tuple) -> dict:
        """A row as JSON: JSON and boolean columns decoded, NULL left out unless the column
        is nullable (or the key)."""
        out = {}
        for (name, plain, keep_null), value in zip(self._readers, row, strict=True):
            if value is None:
                if keep_null:
                    out[name] = None
            elif plain and value.__class__ is not bytes:
                out[name] = value
            else:
                out[name] = tables.decode(value, self._design.by_name[name].kind)
        return out

    def _id_value(self, raw: Any) -> Any:
        """An id from the path or a body as the primary key's type, or None when it cannot
        be one."""
        kind = self._design.key.kind
        if kind not in ("integer", "number"):
            return raw if isinstance(raw, str) else json.dumps(raw)
        if isinstance(raw, str):
            raw = integer(raw) if kind == "integer" else number(raw)
        if isinstance(raw, bool):
            return None
        if isinstance(raw, int):  # SQLite keeps 64 bits: a larger id names no row
            return raw if tables.fits(raw) else None
        if kind == "number" and isinstance(raw, float) and math.isfinite(raw):
            return raw
        return None

    def _parent_columns(self, design: Design) -> list[tuple[int, Column]]:
        """(position among the path parameters, column) for each parent parameter that names
        a column: the parameter's own name, or <singular of the segment before>_id."""
        found = []
        for position, (name, segment) in enumerate(
            zip(self._parents, self._parent_segments, strict=False)
        ):
            singular = segment[:-3] + "y" if segment.endswith("ies") else segment.removesuffix("s")
            for candidate in (name, f"{singular}_id"):
                column = design.by_name.get(candidate)
                if column is not None and column.name != design.primary_key:
                    found.append((position, column))
                    break
        return found

    def _scope(self, params: dict[str, Any]) -> tuple:
        """(column, value) for the parent path parameters that filter this resource."""
        if not self._scope_columns:
            return ()
        out = []
        for position, column in self._scope_columns:
            raw = params.get(self._parents[position])
            value = listing.typed(raw if isinstance(raw, str) else json.dumps(raw), column.kind)
            out.append((column, raw if value is None else value))
        return tuple(out)

    # --- bodies ------------------------------------------------------------------------------

    def _body(self, request: Request) -> dict:
        try:
            body = load_json(request.body) if request.body else None
        except (ValueError, RecursionError) as error:
            raise _Refused(self._bad("request body is not valid JSON", detail=str(error))) from None
        if not isinstance(body, dict):
            violation = {"path": "$", "message": "the request body must be a JSON object"}
            raise _Refused(self._invalid([violation]))
        return body

    def _unknown(self, body: dict) -> list[dict[str, str]]:
        """Fields the table does not have, and numbers too large for the column they go in."""
        names = self._design.by_name
        valid = ", ".join(names)
        return [
            {"path": json_path([key]), "message": f"unknown field; the fields are {valid}"}
            for key in body
            if key not in names
        ] + [
            {"path": json_path([key]), "message": "the number is too large for the table"}
            for key, value in body.items()
            if key in names and names[key].kind != "json" and not tables.storable(value)
        ]

    def _violations(self, purpose: str, schema: Any, value: Any) -> list[dict[str, str]]:
        """Violations of `schema` ("item": the item schema without its primary key)."""
        whole_item = schema == "item"
        validator = self._validators.get(purpose)
        if validator is None:
            if whole_item:
                schema = _without(self._design.item_schema, self._design.primary_key)
            validator = schema_validator(schema) if schema is not None else False
            self._validators[purpose] = validator
        if validator is False:
            return []
        if whole_item:
            key = self._design.primary_key
            value = {k: v for k, v in value.items() if k != key}
        return schema_violations(validator, value)

    # --- answers -----------------------------------------------------------------------------

    def _ok(self, response: Response) -> Outcome:
        return Outcome(response, self.context.name, "database", "database")

    def _answer(self, response: Response, how: str) -> Outcome:
        return Outcome(response, self.context.name, "database", how)

    def _missing(self, raw: Any) -> Outcome:
        return self._ok(json_response(404, {"error": "not found", "id": raw}))

    def _bad(self, error: str, **detail: Any) -> Outcome:
        body = {"error": error, **detail}
        return Outcome(json_response(400, body), self.context.name, "database", "invalid", body)

    def _invalid(self, violations: list[dict[str, str]]) -> Outcome:
        body = {"error": "request body does not match the schema", "violations": violations}
        return Outcome(json_response(422, body), self.context.name, "database", "invalid", body)

    def _not_allowed(self, methods: tuple[str, ...]) -> Outcome:
        body = {"error": "method not allowed on this resource", "allowed": list(methods)}
        response = json_response(405, body, (("Allow", ", ".join(methods)),))
        return self._answer(response, "database")

    def _busy(self, error: sqlite3.Error) -> Outcome:
        body = {
            "error": "the database is busy",
            "detail": f"{self.settings.label} stayed locked by another connection for "
            f"{self.settings.busy_timeout_ms:g} ms ({error})",
            "retry": True,
        }
        response = json_response(503, body, (("Retry-After", "1"),))
        return Outcome(response, self.context.name, "database", "database", body)

    def _full(self, why: str) -> Outcome:
        """507: the table cannot grow; it keeps every row written before, and reads go on."""
        error = disk_full(self.settings.file, why)
        body = {"error": error.message, "hint": error.hint}
        response = json_response(507, body)
        return Outcome(response, self.context.name, "database", "database", body)

    def _failed(self, message: str, hint: str | None) -> Outcome:
        body = {"error": message, "hint": hint}
        return Outcome(json_response(500, body), self.context.name, "database", "database", body)


def create(context: Context) -> DatabaseMode:
    return DatabaseMode(context)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _without(schema: dict | None, key: str) -> dict | None:
    """The item schema for a request body: without the primary key."""
    if not isinstance(schema, dict):
        return None
    out = dict(schema)
    out["properties"] = {k: v for k, v in (schema.get("properties") or {}).items() if k != key}
    if isinstance(schema.get("required"), list):
        out["required"] = [k for k in schema["required"] if k != key]
    return out
