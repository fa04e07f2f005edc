"""`backworks scan`: live-looking secrets in the files a project keeps or commits.

The rules are the Redactor's own (names, shapes, URL credentials, `name = value` text), so a
file is clean exactly when redacting it would change nothing. Recordings stores are read
exchange by exchange and also byte by byte (the database, its WAL and shared-memory files, so
a secret left in a freed page is found too); HAR and JSON lines files exchange by exchange;
any other file as text, with line numbers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from backworks_cli.core.errors import BackworksError, InputError
from backworks_cli.core.exchange import Exchange, Request
from backworks_cli.record.detectors import DETECTORS
from backworks_cli.record.redact import Redactor

_SQLITE_MAGIC = b"SQLite format 3\x00"
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv",
                        ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox"})  # fmt: skip
_EXCHANGE_SUFFIXES = (".har", ".zhar", ".jsonl", ".ndjson")
_CHUNK = 1 << 20
# Values that stand for a secret rather than hold one: references and obvious fillers.
_REFERENCE_STARTS = ("$", "{{", "<", "%(", "${", "env:", "vault:", "redacted")


@dataclass(frozen=True)
class Finding:
    path: Path
    location: str  # "line 12", "exchange 4 (GET /login)", "byte 40960"
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.location}: {self.rule}"


def _real(secret: str) -> bool:
    """Whether a flagged value looks like a live secret rather than a reference or filler."""
    value = secret.strip().strip("\"'")
    if len(value) < 4 or value.startswith(_REFERENCE_STARTS):
        return False
    return len(set(value.lower()) - set("*x.-_ ")) > 1


class Scanner:
    """Finds secrets in paths; one Redactor (any key will do: only what it finds matters)."""

    def __init__(self) -> None:
        self.redactor = Redactor(b"backworks-scan")
        self.files = 0

    def scan(self, paths: Iterable[Path]) -> Iterator[Finding]:
        for path in paths:
            if not path.exists():
                raise InputError(f"Cannot scan {path}: no such file or directory.",
                                 "Check the path, or run `backworks scan` with no argument "
                                 "to scan the current directory.")  # fmt: skip
            for file in _files(path):
                self.files += 1
                yield from self.file(file)

    def file(self, path: Path) -> Iterator[Finding]:
        try:
            with path.open("rb") as handle:
                head = handle.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise InputError(f"Cannot read {path}: {exc.strerror or exc}.",
                             "Check the file's permissions.") from None  # fmt: skip
        if head == _SQLITE_MAGIC:
            yield from self._store(path)
        elif path.name.endswith(("-wal", "-shm", "-journal")):
            yield from self._bytes(path)
        elif path.suffix.lower() in _EXCHANGE_SUFFIXES:
            yield from self._exchange_file(path)
        else:
            yield from self._text_file(path)

    # --- kinds of file -------------------------------------------------------------------------

    def exchange(self, ex: Exchange, path: Path, location: str) -> Iterator[Finding]:
        for secret, rule in self.redactor.findings(ex).items():
            if _real(secret):
                yield Finding(path, location, rule)

    def _where(self, ex: Exchange) -> str:
        """An exchange's method and path, the path redacted: a finding never shows a secret."""
        return f"{ex.request.method} {self.redactor.request(ex.request).path}"

    def _store(self, path: Path) -> Iterator[Finding]:
        from backworks_cli.record.store import Store

        yield from self._bytes(path)
        try:
            with Store.open(path) as store:
                for ex in store.query():
                    where = f"exchange {ex.id} ({self._where(ex)})"
                    yield from self.exchange(ex, path, where)
        except BackworksError:
            return  # not a recordings store: its bytes were scanned above

    def _exchange_file(self, path: Path) -> Iterator[Finding]:
        from backworks_cli.record.formats import read_exchanges

        try:
            for number, ex in enumerate(read_exchanges(path), start=1):
                where = f"entry {number} ({self._where(ex)})"
                yield from self.exchange(ex, path, where)
        except InputError:
            yield from self._text_file(path)

    def _text_file(self, path: Path) -> Iterator[Finding]:
        data = path.read_bytes()
        if b"\x00" in data[:8192]:
            yield from self._bytes(path)
            return
        text = data.decode("utf-8", "replace")
        probe = Request("POST", "/", headers=(("Content-Type", "text/plain"),), body=data)
        seen: set[tuple[int, str]] = set()
        for secret, rule in self.redactor.findings(Exchange(probe)).items():
            if not _real(secret):
                continue
            line = text.count("\n", 0, max(text.find(secret), 0)) + 1
            if (line, rule) not in seen:
                seen.add((line, rule))
                yield Finding(path, f"line {line}", rule)

    def _bytes(self, path: Path) -> Iterator[Finding]:
        """Secrets by shape anywhere in a file's bytes, read in overlapping chunks."""
        seen: set[str] = set()
        with path.open("rb") as handle:
            offset, tail = 0, b""
            while chunk := handle.read(_CHUNK):
                data = tail + chunk
                text = data.decode("latin-1")
                for start, end, rule in DETECTORS.find(text):
                    secret = text[start:end]
                    if secret not in seen and _real(secret):
                        seen.add(secret)
                        yield Finding(path, f"byte {offset - len(tail) + start}", rule)
                tail = data[-4096:]
                offset += len(chunk)


def _files(path: Path) -> Iterator[Path]:
    """The files below `path`; a file named alone brings its SQLite WAL and shared-memory
    files along, where a secret may still sit that the database file no longer shows."""
    if path.is_file():
        yield path
        for suffix in ("-wal", "-shm"):
            sibling = path.with_name(path.name + suffix)
            if sibling.is_file():
                yield sibling
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            yield Path(root) / name
