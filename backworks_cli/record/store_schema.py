"""The recordings file itself: the tables and meta rows of a new store, the checks that an
existing file is a store this backworks can read, its transactions, and the StoreError that
names the fix for each way SQLite fails on it.

Tables: `meta` (format_version, redaction_key, created_at), `exchanges` (one row per request;
its columns are in store_rows) and `messages` (WebSocket messages and server-sent events of an
exchange). The only module that imports sqlite_utils, which does the DDL.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from pathlib import Path

from backworks_cli.core.errors import StoreError
from backworks_cli.core.files import disk_full, sqlite_full
from backworks_cli.record.store_rows import iso

FORMAT_VERSION = 1


def prepare(conn: sqlite3.Connection, path: Path, lock: threading.Lock, *, create: bool) -> None:
    """Make `conn` ready: a new store's tables when it has none (and `create`), else the checks
    that it is a store of a format this backworks reads; WAL journal either way."""
    conn.execute("PRAGMA synchronous = NORMAL")
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    if "meta" not in tables:
        if tables:
            raise StoreError(
                f"{path} is an SQLite database, but not a backworks recordings store "
                "(it has no meta table).",
                "Pass --store with the path of a recordings store, or a new file name.",
            )
        if not create:
            raise StoreError(
                f"{path} is an empty file, not a recordings store.",
                "Run `backworks capture` first to record some traffic, or pass --store "
                "with the path of an existing store.",
            )
        create_tables(conn, lock)
        return
    version = _meta(conn, "format_version")
    if version is None or not version.isdigit():
        raise StoreError(
            f"{path} has no valid format_version in its meta table.",
            "The file was not made by backworks, or was edited; move it away and record again.",
        )
    if int(version) > FORMAT_VERSION:
        raise StoreError(
            f"{path} is a recordings store of format {version}, newer than this backworks "
            f"understands (format {FORMAT_VERSION}).",
            "Upgrade backworks (pip install -U backworks) to read it.",
        )
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        conn.execute("PRAGMA journal_mode = WAL")


def create_tables(conn: sqlite3.Connection, lock: threading.Lock) -> None:
    """Make the tables and indexes of a new store (sqlite_utils does the DDL)."""
    import sqlite_utils

    db = sqlite_utils.Database(conn, execute_plugins=False)
    db.enable_wal()
    with Transaction(conn, lock):
        db["meta"].create({"key": str, "value": str}, pk="key")
        db["exchanges"].create(
            {
                "id": int,
                "session": str,
                "started_at": float,
                "started_iso": str,
                "duration_ms": float,
                "kind": str,
                "method": str,
                "scheme": str,
                "host": str,
                "port": int,
                "path": str,
                "query": str,
                "request_headers": str,
                "request_body": bytes,
                "request_encoding": str,
                "http_version": str,
                "status": int,
                "reason": str,
                "response_http_version": str,
                "response_headers": str,
                "response_body": bytes,
                "response_encoding": str,
                "error": str,
                "message_count": int,
            },
            pk="id",
            not_null={"session", "started_at", "kind", "method", "path"},
        )
        db["messages"].create(
            {
                "exchange_id": int,
                "seq": int,
                "direction": str,
                "is_text": int,
                "content": bytes,
                "timestamp": float,
            },
            pk=("exchange_id", "seq"),
            foreign_keys=[("exchange_id", "exchanges", "id")],
        )
        db["exchanges"].create_index(["method", "path"])
        db["exchanges"].create_index(["session"])
        db["exchanges"].create_index(["status"])
        db["meta"].insert_all(
            [
                {"key": "format_version", "value": str(FORMAT_VERSION)},
                {"key": "redaction_key", "value": secrets.token_bytes(32).hex()},
                {"key": "created_at", "value": iso(time.time())},
            ]
        )


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def sqlite_error(path: Path, doing: str, exc: BaseException, timeout: float) -> StoreError:
    """A StoreError for an sqlite3/OS failure, with the hint that fits its cause."""
    text = str(exc)
    low = text.lower()
    if "not a database" in low or "malformed" in low:
        return StoreError(
            f"{path} is not a backworks recordings store (SQLite says: {text}).",
            "Point --store at the recordings file, or move this file away so that "
            "`backworks capture` can create a new store.",
        )
    if "locked" in low or "busy" in low:
        return StoreError(
            f"Could not {doing} {path}: another process has held it locked for more than "
            f"{timeout:g} seconds ({text}).",
            "Another backworks (a capture or an import) may be writing to it; wait for it to "
            "finish or stop it, then try again.",
        )
    why = sqlite_full(exc, path)
    if why:
        return disk_full(path, why, StoreError, _ELSEWHERE)
    if "readonly" in low or "read-only" in low or "permission" in low or "unable to open" in low:
        return StoreError(
            f"Could not {doing} {path}: it is not writable ({text}).",
            "Check the permissions of the file and of its directory (SQLite also writes "
            "-wal and -shm files beside it), or pass --store with a writable path.",
        )
    return StoreError(
        f"Could not {doing} {path}: {text}.",
        "Check that the disk is writable and not full; if the file is damaged, move it away "
        "and record again.",
    )


_ELSEWHERE = "pass --store with a path on another disk"


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error; holds the store's thread lock."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock):
        self._conn = conn
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                try:
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            elif self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        finally:
            self._lock.release()
