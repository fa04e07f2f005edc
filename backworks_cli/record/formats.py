"""Exchanges in and out of files: HAR 1.2 (har) and backworks JSON lines (jsonl).

An export is written whole or not at all (to stdout with "-"); an import detects the format
from the content, reads gzip and mitmproxy's .zhar, streams, and names the file and the line
or entry of anything it cannot read.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from backworks_cli.config.model import RedactConfig
from backworks_cli.core.errors import BackworksError, InputError
from backworks_cli.core.exchange import Exchange
from backworks_cli.core.files import disk_full, full, replacing
from backworks_cli.record.format_values import Malformed
from backworks_cli.record.har import exchange_to_har_entry, har_document, har_entry_to_exchange
from backworks_cli.record.jsonl import exchange_to_json, json_to_exchange

FORMATS = ("har", "jsonl")


# --- writing ------------------------------------------------------------------------------------


def _dumps(value: Any, **options: Any) -> bytes:
    """UTF-8 JSON; text with surrogate-escaped bytes falls back to \\u escapes."""
    text = json.dumps(value, ensure_ascii=False, **options)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, **options).encode("ascii")


def _write_har(rows: Iterable[Exchange], out: IO[bytes]) -> int:
    head = json.dumps(har_document([]), indent=2)
    prefix, _, suffix = head.partition('"entries": []')
    out.write(prefix.encode() + b'"entries": [')
    count = 0
    for ex in rows:
        entry = _dumps(exchange_to_har_entry(ex), indent=2).replace(b"\n", b"\n      ")
        out.write((b",\n      " if count else b"\n      ") + entry)
        count += 1
    out.write((b"\n    ]" if count else b"]") + suffix.encode() + b"\n")
    return count


def _write_jsonl(rows: Iterable[Exchange], out: IO[bytes]) -> int:
    count = 0
    for ex in rows:
        out.write(_dumps(exchange_to_json(ex), sort_keys=True, separators=(",", ":")) + b"\n")
        count += 1
    return count


def _refusing_secrets(rows: Iterable[Exchange]) -> Iterator[Exchange]:
    """`rows`, stopping the export at the first exchange `backworks scan` would flag."""
    from backworks_cli.record.redact import Redactor

    finder = Redactor(b"export-check")
    for number, ex in enumerate(rows, start=1):
        found = finder.findings(ex)
        if found:
            rule = next(iter(found.values()))
            raise BackworksError(
                f"Refusing to export: exchange {ex.id or number} ({ex.request.method}) holds a "
                f"secret ({rule}) and redaction is off in backworks.yaml.",
                "Turn redaction back on, or pass --no-redact to export secrets on purpose.",
            )
        yield ex


def export_exchanges(
    rows: Iterable[Exchange],
    output: Path,
    fmt: str,
    *,
    redact: RedactConfig | None,
    key: bytes,
    allow_secrets: bool = False,
) -> int:
    """Write `rows` as HAR ("har") or JSON lines ("jsonl") to `output` ("-": stdout).

    With `redact`, every exchange passes through the Redactor first, so an export never
    carries a secret that slipped past capture. A file is written whole or not at all.
    """
    if fmt not in FORMATS:
        raise BackworksError(
            f"Unknown export format {fmt!r}.", f"Use one of: {', '.join(FORMATS)}."
        )
    if redact is not None and redact.enabled:
        from backworks_cli.record.redact import Redactor

        redactor = Redactor(key, redact)
        rows = (redactor.exchange(ex) for ex in rows)
    elif redact is not None and not allow_secrets:
        rows = _refusing_secrets(rows)  # off in backworks.yaml, but not asked for on purpose
    write = _write_har if fmt == "har" else _write_jsonl
    if str(output) == "-":
        count = write(rows, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return count
    output = Path(output)
    if not output.parent.is_dir():
        raise BackworksError(
            f"Cannot write {output}: the directory {output.parent} does not exist.",
            "Create the directory first, or pass another --output.",
        )
    try:
        with replacing(output) as out:
            count = write(rows, out)
    except OSError as exc:
        if why := full(exc):
            raise disk_full(output, why, elsewhere="pass --output on another disk") from None
        raise BackworksError(
            f"Cannot write {output}: {exc.strerror or exc}.",
            "Check free disk space and permissions, or pass another --output with a path in "
            "a writable directory.",
        ) from None
    return count


# --- reading ------------------------------------------------------------------------------------


def _open_input(path: Path) -> IO[bytes]:
    """The file's bytes, gunzipped or (mitmproxy's .zhar) inflated when it is compressed."""
    try:
        raw = path.open("rb")
        magic = raw.peek(2)[:2]
    except OSError as exc:
        raise InputError(
            f"Cannot read {path}: {exc.strerror or exc}.",
            "Check the path and its permissions.",
        ) from None
    if magic == b"\x1f\x8b":
        raw.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if path.suffix == ".zhar":
        with raw:
            try:
                return io.BytesIO(zlib.decompress(raw.read()))
            except zlib.error as exc:
                raise InputError(
                    f"{path} is not a zlib-compressed HAR file ({exc}).",
                    "Pass the .har file itself, or a .zhar written by mitmproxy.",
                ) from None
    return raw


HINT = "backworks reads HAR 1.2 files (browser devtools, mitmproxy) and its own JSON lines export."


def read_exchanges(path: Path, *, session: str | None = None) -> Iterator[Exchange]:
    """The exchanges in a HAR or JSON lines file (detected from the content), streamed.

    `session` names the session of every exchange; without it, each keeps the session the
    file records, and entries of other tools' HAR files get the file's name (without suffix).
    """
    path = Path(path)
    with _open_input(path) as stream:
        try:
            skipped, first = 0, stream.readline()
            while first and not first.strip():
                skipped, first = skipped + 1, stream.readline()
            if not first and path.suffix in (".jsonl", ".ndjson"):
                return  # an export of nothing
            first_value = _first_line_value(first)
            if isinstance(first_value, dict) and "log" not in first_value:
                lines = itertools.chain([first], stream)
                yield from _read_jsonl(path, lines, skipped + 1, session)
                return
            data = first + stream.read()
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"Cannot read {path}: {exc}.", HINT) from None
    yield from _read_har(path, data, session)


def _first_line_value(line: bytes) -> Any:
    try:
        return json.loads(line.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None


def _read_jsonl(
    path: Path, lines: Iterable[bytes], start: int, session: str | None
) -> Iterator[Exchange]:
    for number, line in enumerate(lines, start=start):
        if not line.strip():
            continue
        try:
            ex = json_to_exchange(json.loads(line.decode("utf-8-sig")))
        except UnicodeDecodeError:
            raise InputError(f"{path}, line {number}: not UTF-8 text.", HINT) from None
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}, line {number}: not valid JSON ({exc.msg}, column {exc.colno}).",
                "Each line of a JSON lines file must be one whole exchange object; "
                "the file may be truncated or edited by hand.",
            ) from None
        except (Malformed, KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}, line {number}: {exc}.", HINT) from None
        yield ex if session is None else replace(ex, session=session)


def _read_har(path: Path, data: bytes, session: str | None) -> Iterator[Exchange]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start}).", HINT) from None
    if not text.strip():
        raise InputError(f"{path} is empty.", HINT)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        ending = " (the file ends early: truncated?)" if exc.pos >= len(text.rstrip()) else ""
        raise InputError(
            f"{path} is neither a HAR file nor JSON lines: invalid JSON at line {exc.lineno}, "
            f"column {exc.colno}: {exc.msg}{ending}.",
            HINT,
        ) from None
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise InputError(
            f"{path} is JSON but not a HAR file: it has no log.entries list.",
            HINT,
        )
    fallback = path.name.partition(".")[0] or "default"
    for index, entry in enumerate(entries):
        try:
            yield har_entry_to_exchange(entry, session=session, fallback_session=fallback)
        except (Malformed, KeyError, TypeError, ValueError) as exc:
            where = ""
            if isinstance(entry, dict) and isinstance(entry.get("request"), dict):
                where = f" ({entry['request'].get('method')} {entry['request'].get('url')})"
            raise InputError(f"{path}, entry {index}{where}: {exc}.", HINT) from None
