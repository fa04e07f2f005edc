"""Seeding a database-mode table: every item of the recorded 2xx GETs of the resource's
collection and item paths (list bodies unwrapped from envelopes such as {"data": [...]};
later recordings of an id replace earlier ones), then generated items, deterministic per
seed, up to `rows` in all (`plan`, `fill`, `provision`).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import TYPE_CHECKING, Any

from backworks_cli.answer.state import Shape, ok_get_json, shape_of, unwrap
from backworks_cli.answer.tables import (
    Design,
    Pairs,
    connect,
    count,
    create_table,
    design,
    is_busy,
    item_schema,
    quote,
    resource_endpoints,
    row_values,
    settings,
    table_exists,
)
from backworks_cli.core import paths
from backworks_cli.core.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from backworks_cli.config.model import Config, Endpoint
    from backworks_cli.core.exchange import Exchange
    from backworks_cli.record.store import Store

# --- seeding --------------------------------------------------------------------------------


def recorded_items(shape: Shape, collection: Pairs, items: Pairs) -> list[tuple[dict, Any]]:
    """(item, its id in the path or None) for every item of the recorded 2xx GETs of the
    collection path (lists unwrapped from their envelope) and of the item path, in recorded
    order."""
    found: list[tuple[int, int, dict, Any]] = []
    for position, (exchange, _) in enumerate(collection):
        rows, _key = unwrap(ok_get_json(exchange))
        for row in rows or ():
            if isinstance(row, dict):
                found.append((exchange.id or 0, position, row, None))
    for position, (exchange, values) in enumerate(items, len(collection)):
        body = ok_get_json(exchange)
        if isinstance(body, dict) and len(values) > shape.depth:
            found.append((exchange.id or 0, position, body, values[shape.depth]))
    found.sort(key=lambda entry: entry[:2])
    return [(item, path_id) for _, _, item, path_id in found]


def id_field(shape: Shape, names: list[str], items: list[dict], schema: dict | None) -> str:
    """The field naming items: the first of `names` (the item path's parameter), `id` and
    <singular>_id (user_id under /users) that every recorded item has, or with no recordings
    that the schema has; else `id`."""
    collection = shape.collection.rstrip("/").rpartition("/")[2].lower()
    singular = collection[:-3] + "y" if collection.endswith("ies") else collection.removesuffix("s")
    candidates = [*names, "id", f"{singular}_id"]
    properties = (schema or {}).get("properties") or {}
    for name in candidates:
        if (items and all(name in item for item in items)) or (not items and name in properties):
            return name
    return "id"


def route_recordings(
    exchanges: Iterable[Exchange], endpoint: Endpoint, config: Config | None
) -> tuple[Shape, Pairs, Pairs]:
    """The resource's shape and the recorded GETs of its collection path and its item path.
    A path another endpoint answers by its static path (/api/users/me) is left out."""

    resource = shape_of(paths.shape(endpoint.path))[0]
    others = config.endpoint_list() if config is not None else []
    static = {
        paths.normalise(e.path)[0]
        for e in others
        if "{" not in e.path and shape_of(paths.shape(e.path))[0] != resource
    }
    collection_parts = paths.normalise(resource.collection)[1]
    item_parts = paths.normalise(resource.item)[1]
    collection: Pairs = []
    items: Pairs = []
    for exchange in exchanges:
        if exchange.kind != "http" or exchange.response is None:
            continue
        if exchange.request.method.upper() != "GET":
            continue
        path, segments = paths.normalise(exchange.request.path)
        if path in static:
            continue
        for parts, out in ((collection_parts, collection), (item_parts, items)):
            values = _match(parts, segments)
            if values is not None:
                out.append((exchange, values))
    return resource, collection, items


def _match(parts: list[str], segments: list[str]) -> tuple[str, ...] | None:
    if len(parts) != len(segments):
        return None
    values = []
    for part, segment in zip(parts, segments, strict=True):
        if part == "{}":
            if not segment:
                return None
            values.append(segment)
        elif part != segment:
            return None
    return tuple(values)


def plan(
    endpoint: Endpoint, config: Config | None, shape: Shape, collection: Pairs, items: Pairs
) -> tuple[Design, list[dict]]:
    """The table's design and its recorded rows: deduplicated by the primary key (the latest
    recording wins), an item read at /items/{id} without the key field given the path's id."""

    chosen = settings(endpoint, config)
    endpoints = resource_endpoints(endpoint, config)
    schema = item_schema(endpoints)
    found = recorded_items(shape, collection, items)
    names = [
        e.param_names[-1] for e in endpoints if e.param_names and shape_of(paths.shape(e.path))[1]
    ]
    key = chosen.primary_key or id_field(shape, names, [item for item, _ in found], schema)
    properties = (schema or {}).get("properties") or {}
    # A configured key that is no field (nor the path's id) is an error from `design`.
    fill = (
        chosen.primary_key is None
        or key in (*properties, *names, "id")
        or any(key in item for item, _ in found)
    )
    path_ids = [path_id for _, path_id in found if path_id is not None]
    kind = "integer" if all(p.isdigit() for p in path_ids) else "string"
    unique: dict[str, dict] = {}
    unnamed: list[dict] = []
    for item, path_id in found:
        if fill and item.get(key) is None and path_id is not None:
            item = {key: int(path_id) if path_id.isdigit() else path_id, **item}
        if item.get(key) is None:
            unnamed.append(item)
        else:
            unique[json.dumps(item[key])] = item
    rows = [*unique.values(), *unnamed]
    wanted = design(chosen.table, schema, rows, chosen.primary_key, key, tuple(names), kind)
    if schema is None and rows:
        from backworks_cli.learn.schemas import JsonAccumulator

        inferred = JsonAccumulator()
        for row in rows:
            inferred.add(row)
        wanted.sample_schema = inferred.to_schema()
    return wanted, _complete_keys(wanted, rows)


def _complete_keys(design: Design, rows: list[dict]) -> list[dict]:
    """Rows without a primary key get one: the next integer, or a UUID made from the row's
    position (deterministic)."""
    key = design.key
    numbers = [v for row in rows if isinstance(v := row.get(key.name), int)]
    next_id = max(numbers, default=0) + 1
    out = []
    for position, row in enumerate(rows):
        if row.get(key.name) is None:
            if key.kind in ("integer", "number"):
                row, next_id = {key.name: next_id, **row}, next_id + 1
            else:
                made = uuid.uuid5(uuid.NAMESPACE_URL, f"backworks:{design.table}:{position}")
                row = {key.name: str(made), **row}
        out.append(row)
    return out


def fill(
    conn: sqlite3.Connection, design: Design, recorded: list[dict], rows: int, seed: int
) -> tuple[int, int]:
    """Create the table and insert the recorded rows, then generated ones up to
    `rows` in all; (recorded, generated) counts. The caller holds a write transaction."""
    create_table(conn, design)
    generated = generate_rows(design, recorded, max(0, rows - len(recorded)), seed)
    names = ", ".join(quote(c.name) for c in design.columns)
    marks = ", ".join("?" for _ in design.columns)
    conn.executemany(
        f"INSERT INTO {quote(design.table)} ({names}) VALUES ({marks})",
        [row_values(design, item) for item in (*recorded, *generated)],
    )
    return len(recorded), len(generated)


def generate_rows(design: Design, existing: list[dict], count: int, seed: int) -> list[dict]:
    """`count` items from the item schema, deterministic per (seed, table, position), with
    primary keys unused by `existing` (integer keys continue from the largest)."""
    if count <= 0:
        return []
    from backworks_cli.learn.generate import Generator

    key = design.key
    taken = {json.dumps(item.get(key.name)) for item in existing}
    numbers = [v for item in existing if isinstance(v := item.get(key.name), int)]
    next_id = max(numbers, default=0) + 1
    generator = Generator(seed)
    schema = design.item_schema or design.sample_schema or {"type": "object", "properties": {}}
    out: list[dict] = []
    attempt = 0
    while len(out) < count and attempt < count * 4:
        overrides = {key.name: next_id} if key.kind in ("integer", "number") else None
        name = f"database|{design.table}|{attempt}"
        value = generator.generate(schema, key=name, overrides=overrides)
        attempt += 1
        item = value if isinstance(value, dict) else {}
        if overrides:
            item[key.name] = next_id
        elif not isinstance(item.get(key.name), str):
            made = uuid.uuid5(uuid.NAMESPACE_URL, f"backworks:{design.table}:{seed}:{attempt}")
            item[key.name] = str(made)
        marker = json.dumps(item.get(key.name))
        if item.get(key.name) is None or marker in taken:
            continue
        taken.add(marker)
        if overrides:
            next_id += 1
        out.append(item)
    return out


def provision(
    endpoint: Endpoint | str,
    config: Config,
    store: Store | None,
    rows: int | None = None,
    *,
    seed: int | None = None,
    replace: bool = False,
) -> str:
    """Create and seed the table of `endpoint` (an Endpoint or its name in `config`) from the
    recordings in `store` (None: none) plus generated rows, up to `rows` in all (default the
    block's `rows`, else 50); a one-line summary. A table that already exists is left as it is
    unless `replace`. StoreError when the file is locked or cannot be written."""
    if isinstance(endpoint, str):
        endpoint = _named(endpoint, config)
    chosen = settings(endpoint, config)
    exchanges = store.query() if store is not None else ()
    shape, collection, items = route_recordings(exchanges, endpoint, config)
    wanted, recorded = plan(endpoint, config, shape, collection, items)
    total = chosen.rows if rows is None else rows
    seed = seed if seed is not None else chosen.seed if chosen.seed is not None else 0
    conn = connect(chosen.file, max(chosen.busy_timeout_ms, 5000))
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if table_exists(conn, wanted.table) and not replace:
                existing = count(conn, wanted.table)
                conn.execute("ROLLBACK")
                return f"{wanted.table}: {existing} rows (table already there) in {chosen.label}"
            if replace:
                conn.execute(f"DROP TABLE IF EXISTS {quote(wanted.table)}")
            made = fill(conn, wanted, recorded, total, seed)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as error:
        hint = "Close whatever holds it (another backworks, a sqlite3 shell) and run it again."
        if not is_busy(error):
            hint = "Set database.file to another path, or move the file away."
        raise StoreError(
            f"Cannot create table {wanted.table} in {chosen.file}: {error}.", hint
        ) from None
    finally:
        conn.close()
    return summary(wanted.table, *made, chosen.label)


def summary(table: str, recorded: int, generated: int, label: str) -> str:
    rows = recorded + generated
    return f"{table}: {rows} rows ({recorded} recorded, {generated} generated) in {label}"


def _named(name: str, config: Config) -> Endpoint:
    for endpoint in config.endpoint_list():
        if endpoint.name == name:
            return endpoint
    known = ", ".join(config.endpoints) or "none"
    raise ConfigError(
        f"No endpoint named {name!r} in {config.path or 'backworks.yaml'} (endpoints: {known}).",
        "Use a name from the `endpoints:` section; `backworks infer` writes them.",
    )
