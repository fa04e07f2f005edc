"""Recordings on SQLite: one file per project, WAL journal, one row per exchange.

The Store opens a recordings file (store_schema makes and checks it), writes exchanges and
reads them back (store_rows lays them out in rows), and Filter says which exchanges a command
concerns. The recordings' SQL is in these store modules only. On the capture hot path each
exchange is one prepared INSERT (and one executemany for its messages, when there are any),
in a transaction that `add()` commits at once or `pending()` leaves open for several.
`scan()` is the read path for passes over a whole store (infer): plain tuples of the columns
asked for, no Exchange built.
"""

from __future__ import annotations

import contextlib
import fnmatch
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backworks_cli.core.errors import BackworksError, ExitCode, StoreError
from backworks_cli.core.exchange import Exchange, Message
from backworks_cli.record.store_rows import (
    COLUMNS,
    CONTENT_TYPES,
    INSERT_EXCHANGE,
    INSERT_MESSAGE,
    PAIR_COLUMNS,
    SCAN_COLUMNS,
    SELECT_EXCHANGE,
    TEXT_COLUMNS,
    as_text,
    body_bytes,
    content_type,
    escape_row,
    from_row,
    message_rows,
    pairs,
    to_row,
)
from backworks_cli.record.store_schema import Transaction, prepare, sqlite_error

BUSY_TIMEOUT = 5.0  # seconds to wait for another writer before giving up
BATCH_SIZE = 500  # exchanges per transaction in add_many()
TOP_ENDPOINTS = 20  # method+path pairs listed by stats()

# --- filters ----------------------------------------------------------------------------------

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Filter:
    """Which exchanges a command concerns; every field None means all of them."""

    method: str | None = None  # upper-cased; compared case-insensitively
    path: str | None = None  # glob: * any run of characters (including /), ? one character
    status: tuple[int, int] | None = None  # inclusive range: (404, 404) or (400, 499)
    session: str | None = None
    older_than: float | None = None  # seconds before now

    @classmethod
    def build(
        cls,
        *,
        method: str | None = None,
        path: str | None = None,
        status: str | int | None = None,
        session: str | None = None,
        older_than: str | None = None,
    ) -> Filter:
        """A filter from command-line values; a bad value raises BackworksError with a hint."""
        return cls(
            method=method.strip().upper() if method else None,
            path=path or None,
            status=_parse_status(status) if status not in (None, "") else None,
            session=session or None,
            older_than=_parse_age(older_than) if older_than else None,
        )

    def is_empty(self) -> bool:
        return (self.method, self.path, self.status, self.session, self.older_than) == (None,) * 5

    def where(self, now: float | None = None) -> tuple[str, list[Any]]:
        """The SQL condition (never empty) and its parameters."""
        clauses, params = [], []
        if self.method is not None:
            clauses.append("method = ? COLLATE NOCASE")
            params.append(self.method)
        if self.path is not None:
            clauses.append("path GLOB ?")
            params.append(self.path)
        if self.status is not None:
            clauses.append("status BETWEEN ? AND ?")
            params.extend(self.status)
        if self.session is not None:
            clauses.append("session = ?")
            params.append(self.session)
        if self.older_than is not None:
            clauses.append("started_at < ?")
            params.append((time.time() if now is None else now) - self.older_than)
        return (" AND ".join(clauses) or "1"), params

    def matches(self, ex: Exchange, now: float | None = None) -> bool:
        """The same test in Python, for exchanges not (yet) in a store."""
        req = ex.request
        status = ex.response.status if ex.response else None
        return (
            (self.method is None or req.method.upper() == self.method)
            and (self.path is None or fnmatch.fnmatchcase(req.path, self.path))
            and (self.status is None or (status is not None and _in(status, self.status)))
            and (self.session is None or ex.session == self.session)
            and (
                self.older_than is None
                or ex.started_at < (time.time() if now is None else now) - self.older_than
            )
        )


def _in(value: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _parse_status(value: str | int) -> tuple[int, int]:
    text = str(value).strip().lower()
    if re.fullmatch(r"[1-5]\d\d", text):
        return int(text), int(text)
    if re.fullmatch(r"[1-5]xx", text):
        low = int(text[0]) * 100
        return low, low + 99
    raise BackworksError(
        f"Status filter {value!r} is neither a status code nor a class of them.",
        "Use a code such as 404, or a class such as 2xx, 4xx or 5xx.",
        exit_code=ExitCode.USAGE,
    )


def _parse_age(value: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", value.lower())
    if not match:
        raise BackworksError(
            f"Age {value!r} is not a duration.",
            "Use a number and a unit: 30s, 15m, 12h, 7d or 2w.",
            exit_code=ExitCode.USAGE,
        )
    return float(match[1]) * DURATION_UNITS[match[2]]


# --- the store --------------------------------------------------------------------------------


class Store:
    """An open recordings store. Use as a context manager, or call close()."""

    def __init__(self, path: Path, conn: sqlite3.Connection, timeout: float = BUSY_TIMEOUT):
        self.path = path
        self.timeout = timeout
        self._conn = conn
        self._lock = threading.Lock()  # one transaction at a time when threads share a store
        self._key: bytes | None = None

    # opening ----------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, create: bool = False, timeout: float = BUSY_TIMEOUT) -> Store:
        """Open the store at `path`; with create=True make it (and its directory) if missing.

        `timeout` is how long to wait for another writer's lock before failing.
        """
        path = Path(path)
        if path.is_dir():
            raise StoreError(
                f"{path} is a directory, not a recordings store.",
                "Pass --store with a file path such as recordings/backworks.db.",
            )
        exists = path.exists()
        if not exists and not create:
            raise StoreError(
                f"No recordings store at {path}.",
                "Run `backworks capture` first to record some traffic, or pass --store with "
                "the path of an existing store.",
            )
        if not exists:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"Cannot create the directory {path.parent} for the recordings store: "
                    f"{exc.strerror or exc}.",
                    "Pass --store with a path in a writable directory.",
                ) from None
        try:
            conn = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise sqlite_error(path, "open", exc, timeout) from None
        try:
            store = cls(path, conn, timeout)
            prepare(conn, path, store._lock, create=create or not exists)
        except sqlite3.Error as exc:
            conn.close()
            raise sqlite_error(path, "open", exc, timeout) from None
        except BaseException:
            conn.close()
            raise
        return store

    def _transaction(self) -> Transaction:
        return Transaction(self._conn, self._lock)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    # writing ----------------------------------------------------------------------------------

    def add(self, ex: Exchange) -> int:
        """Insert one exchange and its messages, committed before returning; its new id."""
        try:
            with self._transaction():
                return self._insert(ex)
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, "write to", exc, self.timeout) from None

    def pending(self) -> Pending:
        """A write transaction left open, so that exchanges added one by one share a commit;
        nothing in it is kept until its commit()."""
        return Pending(self)

    def add_many(self, exchanges: Iterable[Exchange], *, redactor=None) -> int:
        """Insert exchanges in batched transactions, each through `redactor.exchange()` first.

        If the iterable raises (a malformed entry in an import), the exchanges before it stay
        committed and the error says how many those were.
        """
        count = 0
        batch: list[Exchange] = []
        try:
            for ex in exchanges:
                batch.append(redactor.exchange(ex) if redactor is not None else ex)
                if len(batch) >= BATCH_SIZE:
                    count += self._insert_batch(batch)
                    batch = []
        except BackworksError as exc:
            count += self._insert_batch(batch)
            if count:
                exc.message += f" The {count} exchange(s) before it were added to {self.path}."
            raise
        return count + self._insert_batch(batch)

    def _insert_batch(self, batch: list[Exchange]) -> int:
        if not batch:
            return 0
        try:
            with self._transaction():
                for ex in batch:
                    self._insert(ex)
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, "write to", exc, self.timeout) from None
        return len(batch)

    def _insert(self, ex: Exchange) -> int:
        row = to_row(ex)
        try:
            cursor = self._conn.execute(INSERT_EXCHANGE, row)
        except UnicodeEncodeError:
            cursor = self._conn.execute(INSERT_EXCHANGE, escape_row(row))
        exchange_id = cursor.lastrowid
        if ex.messages:
            self._conn.executemany(INSERT_MESSAGE, message_rows(exchange_id, ex.messages))
        return exchange_id

    def prune(self, flt: Filter, *, keep_last: int | None = None, dry_run: bool = False) -> int:
        """Delete the exchanges `flt` matches, except the newest `keep_last` of each method and
        path among them; how many went (or would go, with dry_run)."""
        flt = flt or Filter()
        if flt.is_empty() and keep_last is None:
            raise BackworksError(
                "Refusing to delete every recorded exchange: no filter was given.",
                "Name what to delete with --session, --method, --path, --status or "
                "--older-than, or keep some with --keep-last N; add --dry-run to preview.",
                exit_code=ExitCode.USAGE,
            )
        if keep_last is not None and keep_last < 0:
            raise BackworksError(
                f"--keep-last must be 0 or more, not {keep_last}.",
                "Pass the number of newest exchanges to keep for each method and path.",
                exit_code=ExitCode.USAGE,
            )
        where, params = flt.where()
        doomed = f"SELECT id FROM exchanges WHERE {where}"
        if keep_last is not None:
            doomed = (
                "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY method, path "
                f"ORDER BY started_at DESC, id DESC) AS rank FROM exchanges WHERE {where}) "
                "WHERE rank > ?"
            )
            params = [*params, keep_last]
        try:
            if dry_run:
                return self._conn.execute(f"SELECT count(*) FROM ({doomed})", params).fetchone()[0]
            with self._transaction():
                self._conn.execute(f"DELETE FROM messages WHERE exchange_id IN ({doomed})", params)
                return self._conn.execute(
                    f"DELETE FROM exchanges WHERE id IN ({doomed})", params
                ).rowcount
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, "delete from", exc, self.timeout) from None

    # reading ----------------------------------------------------------------------------------

    def get(self, id: int) -> Exchange:
        """The exchange with this id; StoreError if there is none."""
        row = self._read(f"{SELECT_EXCHANGE} WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise StoreError(
                f"No exchange with id {id} in {self.path}.",
                "Run `backworks recordings list` to see the ids there are.",
            )
        return self._with_messages(row)

    def query(self, flt: Filter | None = None, *, limit: int | None = None) -> Iterator[Exchange]:
        """Matching exchanges in id order, read a row at a time."""
        where, params = (flt or Filter()).where()
        sql = f"{SELECT_EXCHANGE} WHERE {where} ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        cursor = self._read(sql, params)
        try:
            while True:
                try:
                    row = cursor.fetchone()
                except sqlite3.Error as exc:
                    raise sqlite_error(self.path, "read", exc, self.timeout) from None
                if row is None:
                    return
                yield self._with_messages(row)
        finally:
            with contextlib.suppress(sqlite3.ProgrammingError):  # the store was closed first
                cursor.close()

    def scan(
        self, flt: Filter | None = None, *, columns: Sequence[str] = ("id", *COLUMNS)
    ) -> Iterator[tuple]:
        """Matching exchanges in id order as plain tuples of `columns`, for passes over many
        rows (infer): only those columns are read, and no Exchange is built.

        Columns are those of the exchanges table, `id`, and `request_content_type` /
        `response_content_type` (the first Content-Type header value, or None). Values are as
        stored, except that text columns are str (bytes stored for lone surrogates decoded),
        query and headers are tuples of pairs, and bodies are str when they are UTF-8 text and
        bytes otherwise (None for the response body of an exchange without a response).
        """
        unknown = [c for c in columns if c not in SCAN_COLUMNS]
        if unknown or not columns:
            raise ValueError(f"scan() has no column(s) {unknown}; it reads {sorted(SCAN_COLUMNS)}")
        where, params = (flt or Filter()).where()
        selected = ", ".join(CONTENT_TYPES.get(c, c) for c in columns)
        texts = [n for n, c in enumerate(columns) if c in TEXT_COLUMNS]
        convert = [
            (n, content_type if c in CONTENT_TYPES else pairs)
            for n, c in enumerate(columns)
            if c in CONTENT_TYPES or c in PAIR_COLUMNS
        ]
        return self._scan(
            f"SELECT {selected} FROM exchanges WHERE {where} ORDER BY id", params, texts, convert
        )

    def _scan(self, sql: str, params: list, texts: list, convert: list) -> Iterator[tuple]:
        """The rows of `sql`, with the text columns at `texts` decoded when stored as bytes and
        each (index, function) of `convert` applied to its column."""
        cursor = self._read(sql, params)
        try:
            if not texts and not convert:
                yield from cursor
                return
            for row in cursor:
                row = list(row)
                for n in texts:
                    if type(row[n]) is bytes:
                        row[n] = as_text(row[n])
                for n, function in convert:
                    row[n] = function(row[n])
                yield tuple(row)
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, "read", exc, self.timeout) from None
        finally:
            with contextlib.suppress(sqlite3.ProgrammingError):  # the store was closed first
                cursor.close()

    def count(self, flt: Filter | None = None) -> int:
        where, params = (flt or Filter()).where()
        return self._read(f"SELECT count(*) FROM exchanges WHERE {where}", params).fetchone()[0]

    def stats(self, flt: Filter | None = None) -> dict:
        """Totals of the matching exchanges.

        Keys: total, errors, first and last (unix times or None), request_bytes,
        response_bytes, sessions / kinds / methods / statuses (dicts of counts, "none" for
        exchanges without a response) and endpoints (the TOP_ENDPOINTS busiest
        {"method", "path", "count"}).
        """
        where, params = (flt or Filter()).where()
        total, errors, first, last, req_bytes, resp_bytes = self._read(
            "SELECT count(*), count(error), min(started_at), max(started_at), "
            "coalesce(sum(length(CAST(request_body AS BLOB))), 0), "
            "coalesce(sum(length(CAST(response_body AS BLOB))), 0) "
            f"FROM exchanges WHERE {where}",
            params,
        ).fetchone()

        def grouped(column: str, order: str = "n DESC") -> dict[str, int]:
            rows = self._read(
                f"SELECT {column}, count(*) AS n FROM exchanges WHERE {where} "
                f"GROUP BY {column} ORDER BY {order}, {column}",
                params,
            )
            return {("none" if key is None else str(as_text(key))): n for key, n in rows}

        endpoints = [
            {"method": as_text(method), "path": as_text(path), "count": n}
            for method, path, n in self._read(
                f"SELECT method, path, count(*) AS n FROM exchanges WHERE {where} "
                "GROUP BY method, path ORDER BY n DESC, path, method LIMIT ?",
                [*params, TOP_ENDPOINTS],
            )
        ]
        return {
            "total": total,
            "errors": errors,
            "first": first,
            "last": last,
            "request_bytes": req_bytes,
            "response_bytes": resp_bytes,
            "sessions": grouped("session"),
            "kinds": grouped("kind"),
            "methods": grouped("method"),
            "statuses": grouped("status", order="status IS NULL"),
            "endpoints": endpoints,
        }

    def sessions(self) -> list[str]:
        """Session names, in the order they were first recorded."""
        rows = self._read("SELECT session FROM exchanges GROUP BY session ORDER BY min(id)", ())
        return [as_text(name) for (name,) in rows]

    def redaction_key(self) -> bytes:
        """The store's secret for keyed redaction hashes (made when the store was created)."""
        if self._key is None:
            value = self._read("SELECT value FROM meta WHERE key = 'redaction_key'", ()).fetchone()
            if value is None:
                raise StoreError(
                    f"{self.path} has no redaction key in its meta table.",
                    "The file was edited by hand; move it away and record again.",
                )
            self._key = bytes.fromhex(value[0])
        return self._key

    def _read(self, sql: str, params) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, "read", exc, self.timeout) from None

    def _with_messages(self, row: tuple) -> Exchange:
        messages: tuple[Message, ...] = ()
        if row[-1]:
            messages = tuple(
                Message(
                    direction=as_text(direction),
                    content=body_bytes(content),
                    is_text=bool(is_text),
                    timestamp=timestamp,
                )
                for direction, is_text, content, timestamp in self._read(
                    "SELECT direction, is_text, content, timestamp FROM messages "
                    "WHERE exchange_id = ? ORDER BY seq",
                    (row[0],),
                )
            )
        return from_row(row, messages)


class Pending:
    """Exchanges written in one open transaction of a store, kept together by `commit()` or
    dropped together by `rollback()`. The store's write lock is held until then."""

    def __init__(self, store: Store):
        self._store = store
        self._transaction = store._transaction()
        try:
            self._transaction.__enter__()
        except sqlite3.Error as exc:
            raise sqlite_error(store.path, "write to", exc, store.timeout) from None
        self.open = True

    def add(self, ex: Exchange) -> int:
        """Insert one exchange (rolling all back if it cannot be written); its new id."""
        try:
            return self._store._insert(ex)
        except sqlite3.Error as exc:
            self.rollback()
            raise sqlite_error(self._store.path, "write to", exc, self._store.timeout) from None

    def commit(self) -> None:
        if not self.open:
            return
        self.open = False
        try:
            self._transaction.__exit__(None, None, None)
        except sqlite3.Error as exc:
            raise sqlite_error(self._store.path, "write to", exc, self._store.timeout) from None

    def rollback(self) -> None:
        if self.open:
            self.open = False
            with contextlib.suppress(sqlite3.Error):
                self._transaction.__exit__(StoreError, None, None)
