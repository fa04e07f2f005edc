"""The SQLite tables behind mode `database`: their design, creation and seeding, and how a JSON
item becomes a row and back; seeding.py fills them.

The database mode's file (`database.file`, default data/backworks.sqlite next to backworks.yaml,
inside the project folder unless its block says `allow_outside_project: true`)
holds the user's data, not recordings, so its SQL lives here, in modes/database.py and in
listing.py rather than in store.py. Tables are created with sqlite-utils; every statement that
carries a value takes it as a parameter, and table and column names are quoted from the
table's design, never taken from a request.

A table's design comes from the endpoints of one resource (the collection path and its item
path, e.g. /api/users and /api/users/{id}): the item's JSON Schema (the item response, else the
items of the list response) gives the columns in property order, with nested objects and
arrays as JSON text columns; fields seen only in recordings are added after them. The primary
key is `database.primary_key`, else the first of the item path's parameter, `id` and
`user_id` (under /users) that every recorded item has. `provision` seeds the table with every
item of the recorded 2xx GETs of both paths (list bodies unwrapped from envelopes such as
{"data": [...]}; later recordings of an id replace earlier ones), then with generated items,
deterministic per seed, up to `rows` in all.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backworks_cli.answer.state import ENVELOPE_KEYS, shape_of
from backworks_cli.core import paths
from backworks_cli.core.errors import ConfigError, StoreError
from backworks_cli.core.exchange import text_bytes
from backworks_cli.core.files import in_project

if TYPE_CHECKING:
    from backworks_cli.config.model import Config, Endpoint
    from backworks_cli.core.exchange import Exchange

DEFAULT_FILE = "data/backworks.sqlite"
DEFAULT_ROWS = 50
DEFAULT_BUSY_TIMEOUT_MS = 250
PAGINATIONS = ("page", "offset", "cursor", "none")
KINDS = ("integer", "number", "boolean", "string", "json")
SQL_TYPES = {"integer": int, "number": float, "boolean": int, "string": str, "json": str}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").fullmatch
_SCHEMA_KINDS = {"integer": "integer", "number": "number", "boolean": "boolean", "string": "string"}

Pairs = list[tuple["Exchange", tuple[str, ...]]]  # (exchange, its path parameter values)


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """An endpoint's `database:` block with defaults filled in (see endpoint-spec.md)."""

    file: Path  # absolute
    label: str  # the file as written, for messages
    table: str
    primary_key: str | None  # None: the recordings' id field
    rows: int
    pagination: str | None  # None: as the recordings show
    busy_timeout_ms: float
    seed: int | None


def resource_endpoints(endpoint: Endpoint, config: Config | None) -> list[Endpoint]:
    """The endpoint and the others of the configuration on its collection or item path."""

    own = shape_of(paths.shape(endpoint.path))[0]
    others = config.endpoint_list() if config is not None else []
    siblings = [
        e for e in others if e.name != endpoint.name and shape_of(paths.shape(e.path))[0] == own
    ]
    return [endpoint, *siblings]


def settings(endpoint: Endpoint, config: Config | None) -> Settings:
    """The endpoint's database settings: its own `database:` keys over those of the other
    endpoints of its resource, so /api/users and /api/users/{id} resolve to one table."""

    block: dict[str, Any] = {}
    written: dict[str, str] = {}  # key -> the endpoint whose block gave it
    outside = False  # whether the block that names `file` allows it outside the project
    for other in reversed(resource_endpoints(endpoint, config)):
        own = other.database
        if isinstance(own, dict):
            block.update(own)
            written.update(dict.fromkeys(own, other.name))
            if "file" in own:
                outside = own.get("allow_outside_project") is True

    def where(key: str) -> str:
        return f"endpoints.{written.get(key, endpoint.name)}.database.{key}"

    source = str(config.path) if config is not None and config.path else "backworks.yaml"
    label = str(block.get("file") or DEFAULT_FILE)
    base = config.path.absolute().parent if config is not None and config.path else Path.cwd()
    path, inside = in_project(base, label)
    if not inside and not outside:
        raise ConfigError(
            f"{source}: {where('file')} is {label!r}, which lies outside the project folder "
            f"{base}.",
            "Keep the database file inside the folder of backworks.yaml, or add "
            "`allow_outside_project: true` to the database block that names it.",
        )
    collection = shape_of(paths.shape(endpoint.path))[0].collection
    table = block.get("table") or default_table(collection)
    if not isinstance(table, str) or not _NAME(table):
        raise ConfigError(
            f"{source}: {where('table')} is {table!r}, which is not a usable table name.",
            "Use letters, digits and _ (not starting with a digit), e.g. `table: users`.",
        )
    key = block.get("primary_key")
    if key is not None and (not isinstance(key, str) or not key):
        raise ConfigError(
            f"{source}: {where('primary_key')} is {key!r}; it must name a field of the items.",
            "Write the id field's name, e.g. `primary_key: id`, or leave it out.",
        )
    rows = block.get("rows", DEFAULT_ROWS)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise ConfigError(
            f"{source}: {where('rows')} is {rows!r}; it must be a whole number, 0 or more.",
            "Write how many rows the table should hold after seeding, e.g. `rows: 50`.",
        )
    pagination = block.get("pagination")
    if pagination is not None and pagination not in PAGINATIONS:
        raise ConfigError(
            f"{source}: {where('pagination')} is {pagination!r}.",
            f"Use one of {', '.join(PAGINATIONS)}, or leave it out to follow the recordings.",
        )
    timeout = block.get("busy_timeout_ms", DEFAULT_BUSY_TIMEOUT_MS)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        raise ConfigError(
            f"{source}: {where('busy_timeout_ms')} is {timeout!r}.",
            "Write how long to wait for a locked database in milliseconds, e.g. 250.",
        )
    seed = block.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(
            f"{source}: {where('seed')} is {seed!r}; it must be a whole number.",
            "Write the seed of the generated rows, e.g. `seed: 7`, or leave it out.",
        )
    return Settings(path, label, table, key, rows, pagination, float(timeout), seed)


def default_table(collection: str) -> str:
    """/api/users -> users; /api/users/{}/order-items -> order_items."""
    literal = [s for s in collection.split("/") if s and s != "{}"]
    name = re.sub(r"[^a-z0-9_]+", "_", (literal[-1] if literal else "items").lower()).strip("_")
    name = name or "items"
    return f"t_{name}" if name[0].isdigit() else name


# --- the design of a table ------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # one of KINDS
    nullable: bool = False  # a NULL is answered as null (else the field is left out)
    schema: dict | None = None  # the property's schema, for filters on nested fields


@dataclass
class Design:
    """What a table holds: its columns in order and its primary key."""

    table: str
    columns: list[Column]
    primary_key: str
    item_schema: dict | None = None  # what request bodies are validated against
    sample_schema: dict | None = None  # what generated rows follow, when item_schema is None
    by_name: dict[str, Column] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {c.name: c for c in self.columns}

    @property
    def key(self) -> Column:
        return self.by_name[self.primary_key]


def item_schema(endpoints: list[Endpoint]) -> dict | None:
    """The schema of one item of the resource: an item path's 2xx object response first, then
    the items of the collection's 2xx list response (bare or in an envelope), then any 2xx
    object response of the collection (what POST answers)."""

    found: list[tuple[int, dict]] = []
    for endpoint in endpoints:
        is_item = shape_of(paths.shape(endpoint.path))[1]
        for status, answer in sorted(endpoint.responses.items()):
            schema = answer.get("schema")
            if not status.startswith("2") or not isinstance(schema, dict):
                continue
            listed = _listed_schema(schema)
            if listed is not None:
                found.append((1, listed))
            elif _is_object(schema):
                found.append((0 if is_item else 2, schema))
    found.sort(key=lambda pair: pair[0])
    return found[0][1] if found else None


def _listed_schema(schema: dict) -> dict | None:
    if schema.get("type") == "array" and _is_object(schema.get("items")):
        return schema["items"]
    properties = schema.get("properties") or {}
    for key in ENVELOPE_KEYS:
        inner = properties.get(key)
        if isinstance(inner, dict) and inner.get("type") == "array":
            return inner["items"] if _is_object(inner.get("items")) else None
    return None


def _is_object(schema: Any) -> bool:
    return isinstance(schema, dict) and isinstance(schema.get("properties"), dict)


def schema_kind(schema: Any) -> tuple[str, bool]:
    """(the column kind for a property schema, whether it allows null)."""
    if not isinstance(schema, dict):
        return "json", False
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    nullable = "null" in kinds or bool(schema.get("nullable"))
    kinds = [k for k in kinds if k != "null"]
    if not kinds:
        values = schema.get("enum") or ([schema["const"]] if "const" in schema else [])
        kinds = sorted({_value_kind(v) for v in values if v is not None})
        nullable = nullable or None in values
    if "integer" in kinds and "number" in kinds:
        kinds = [k for k in kinds if k != "integer"]
    if len(kinds) == 1 and kinds[0] in _SCHEMA_KINDS:
        return _SCHEMA_KINDS[kinds[0]], nullable
    return "json", nullable


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "json"


def design(
    table: str,
    schema: dict | None,
    items: list[dict],
    primary_key: str | None,
    id_field: str,
    surrogates: tuple[str, ...] = (),
    key_kind: str = "integer",
) -> Design:
    """Columns from the item schema's properties, then fields only the items have; the primary
    key `primary_key`, else `id_field`. A key that is no field becomes a first column of
    `key_kind` when it is `id` or one of `surrogates` (the item path's parameters); any other
    named key is a ConfigError."""
    columns: list[Column] = []
    seen: set[str] = set()

    def add(name: str, kind: str, nullable: bool, sub: Any) -> None:
        if name and name.lower() not in seen:
            seen.add(name.lower())
            columns.append(Column(name, kind, nullable, sub if isinstance(sub, dict) else None))

    for name, sub in ((schema or {}).get("properties") or {}).items():
        add(str(name), *schema_kind(sub), sub)
    observed: dict[str, set[str]] = {}
    nulls: set[str] = set()
    for item in items:
        for name, value in item.items():
            kinds = observed.setdefault(name, set())
            if value is None:
                nulls.add(name)
            else:
                kinds.add(_value_kind(value))
    for name, kinds in observed.items():
        if kinds == {"integer", "number"}:
            kinds = {"number"}
        add(name, next(iter(kinds)) if len(kinds) == 1 else "json", name in nulls, None)
    key = primary_key or id_field
    if key.lower() not in seen:
        if primary_key is not None and primary_key not in (*surrogates, "id"):
            raise ConfigError(
                f"The primary key {primary_key!r} of table {table} is not a field of its items "
                f"(fields: {', '.join(c.name for c in columns) or 'none'}).",
                "Set database.primary_key to one of the fields, or leave it out.",
            )
        columns.insert(0, Column(key, key_kind))
    key = next(c.name for c in columns if c.name.lower() == key.lower())
    return Design(table, columns, key, schema)


# --- rows -----------------------------------------------------------------------------------


def encode(value: Any, kind: str) -> Any:
    """A JSON value as the SQLite value of a column of `kind`."""
    if value is None:
        return None
    if kind == "json" or isinstance(value, dict | list):
        return bindable(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return bindable(value)


def bindable(value: Any) -> Any:
    """`value` as SQLite binds it without raising: text that is not UTF-8 (lone surrogates,
    from request bytes) as those bytes, and an integer past 64 bits as a real (SQLite
    integers are 64-bit), None past a double's range (see storable)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return text_bytes(value)
    elif isinstance(value, int) and not isinstance(value, bool) and not fits(value):
        return float(value) if abs(value) <= sys.float_info.max else None
    return value


def fits(number: int) -> bool:
    """Whether an integer fits SQLite's 64-bit INTEGER."""
    return -(2**63) <= number < 2**63


def storable(value: Any) -> bool:
    """Whether encode() can keep `value` in a column that is not JSON: an integer past 64 bits
    becomes a real, so one past a double's range cannot be kept."""
    if isinstance(value, int) and not isinstance(value, bool) and not fits(value):
        return abs(value) <= sys.float_info.max
    return True


def decode(value: Any, kind: str) -> Any:
    """A column's SQLite value as JSON."""
    if value is None:
        return None
    if kind == "json" and isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    if kind == "boolean" and isinstance(value, int):
        return bool(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def quote(name: str) -> str:
    """An identifier for SQL; only ever given names from a table's design."""
    return '"' + name.replace('"', '""') + '"'


def row_values(design: Design, item: dict) -> list[Any]:
    return [encode(item.get(c.name), c.kind) for c in design.columns]


# --- connections ----------------------------------------------------------------------------


def connect(path: Path, busy_timeout_ms: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable from any thread
    (callers hold a lock), waiting up to `busy_timeout_ms` for a lock, in WAL mode."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
        )
    except (OSError, sqlite3.Error) as error:
        raise StoreError(
            f"Cannot open the database file {path}: {error}.",
            "Check that its directory is writable, or set database.file to another path.",
        ) from None
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as error:
        if not is_busy(error):
            conn.close()
            raise StoreError(
                f"{path} is not a SQLite database backworks can use: {error}.",
                "Set database.file to another path, or move the file away.",
            ) from None
    return conn


def is_busy(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def create_table(conn: sqlite3.Connection, design: Design) -> None:
    """Create the designed table with sqlite-utils (types and primary key from the design)."""
    import sqlite_utils

    columns = {c.name: SQL_TYPES[c.kind] for c in design.columns}
    sqlite_utils.Database(conn).table(design.table).create(columns, pk=design.primary_key)


def table_exists(conn: sqlite3.Connection, table: str) -> bool:
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return found is not None


def table_info(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, bool]]:
    """(name, declared type, part of the primary key) of each column of an existing table."""
    rows = conn.execute("SELECT name, type, pk FROM pragma_table_info(?)", (table,)).fetchall()
    return [(name, (kind or "").upper(), bool(pk)) for name, kind, pk in rows]


def count(conn: sqlite3.Connection, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()[0]


def reconcile(wanted: Design, conn: sqlite3.Connection) -> Design:
    """The design of the existing table: its actual columns (kinds from `wanted` where it
    knows them, else from the declared type) and its primary key."""
    info = table_info(conn, wanted.table)
    known = {c.name.lower(): c for c in wanted.columns}
    columns = []
    for name, declared, _ in info:
        column = known.get(name.lower())
        if column is None:
            kind = "integer" if "INT" in declared else "string"
            kind = "number" if any(t in declared for t in ("REAL", "FLOA", "DOUB")) else kind
            column = Column(name, kind, True)
        columns.append(Column(name, column.kind, column.nullable, column.schema))
    names = {name.lower(): name for name, _, _ in info}
    declared_keys = [name for name, _, pk in info if pk]
    key = names.get(wanted.primary_key.lower())
    if key is None:
        key = declared_keys[0] if len(declared_keys) == 1 else None
    if key is None:
        raise ConfigError(
            f"Table {wanted.table} has no column {wanted.primary_key!r} to use as its primary "
            f"key (columns: {', '.join(names.values())}).",
            "Set database.primary_key to one of its columns.",
        )
    return Design(wanted.table, columns, key, wanted.item_schema, wanted.sample_schema)
