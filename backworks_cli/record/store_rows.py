"""How an Exchange is laid out in the recordings store: the columns of `exchanges` and
`messages`, the statements that write and read them, and the conversion of an Exchange to a row
and back.

Bodies are TEXT when they are UTF-8 text and BLOB otherwise, headers and query JSON lists of
pairs, so that `sqlite-utils` and Datasette users can read them; a text value SQLite cannot
take (lone surrogates) is stored as the BLOB of its bytes.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from backworks_cli.core.exchange import Exchange, Message, Request, Response

# Columns of `exchanges` in insertion order (id is assigned by SQLite).
COLUMNS = (
    "session",
    "started_at",
    "started_iso",
    "duration_ms",
    "kind",
    "method",
    "scheme",
    "host",
    "port",
    "path",
    "query",
    "request_headers",
    "request_body",
    "request_encoding",
    "http_version",
    "status",
    "reason",
    "response_http_version",
    "response_headers",
    "response_body",
    "response_encoding",
    "error",
    "message_count",
)
# Plain text columns; a value that is not valid UTF-8 (a surrogate-escaped path, say) is stored
# as a BLOB of its bytes (surrogates passed through) instead of failing the insert.
TEXT_COLUMNS = frozenset(
    {"session", "kind", "method", "scheme", "host", "path", "request_encoding", "http_version"}
    | {"reason", "response_http_version", "response_encoding", "error"}
)
INSERT_EXCHANGE = (
    f"INSERT INTO exchanges ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)
INSERT_MESSAGE = (
    "INSERT INTO messages (exchange_id, seq, direction, is_text, content, timestamp) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
SELECT_EXCHANGE = f"SELECT id, {', '.join(COLUMNS)} FROM exchanges"
# What scan() can read besides the table's own columns: the first Content-Type value of each
# side, found in the headers' JSON text without decoding the whole list.
CONTENT_TYPES = {
    "request_content_type": "request_headers",
    "response_content_type": "response_headers",
}
SCAN_COLUMNS = frozenset({"id", *COLUMNS, *CONTENT_TYPES})
PAIR_COLUMNS = frozenset({"query", "request_headers", "response_headers"})


def _body_value(body: bytes) -> str | bytes:
    """Text when the body is UTF-8 without NULs (readable in Datasette), else the bytes."""
    if not body:
        return ""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    return body if "\x00" in text else text


def body_bytes(value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else value.encode("utf-8")


_to_json = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
_to_ascii_json = json.JSONEncoder(check_circular=False).encode


def _pairs_json(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return "[]"
    text = _to_json(pairs)
    if text.isascii() or _utf8_ok(text):
        return text
    return _to_ascii_json(pairs)  # surrogate-escaped bytes: keep them as JSON \u escapes


def pairs(text: str | bytes | None) -> tuple[tuple[str, str], ...]:
    if not text or text == "[]":
        return ()
    return tuple((name, value) for name, value in json.loads(text))


# A ["content-type", "value"] pair in JSON text without backslashes, where every string is a
# run of non-quote characters, so that this finds exactly the first such pair.
_CONTENT_TYPE_PAIR = re.compile(r'\[\s*"content-type"\s*,\s*"([^"]*)"', re.IGNORECASE)


def content_type(headers: str | bytes | None) -> str | None:
    """The first Content-Type value of a headers JSON list of pairs, or None."""
    if not headers or headers == "[]":
        return None
    if isinstance(headers, str) and "\\" not in headers:
        match = _CONTENT_TYPE_PAIR.search(headers)
        return match[1] if match is not None else None
    for name, value in pairs(headers):  # escapes (or bytes): decode the list, exactly
        if name.lower() == "content-type":
            return value
    return None


def iso(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
    except (OverflowError, OSError, ValueError):
        return ""


def to_row(ex: Exchange) -> tuple:
    req, resp = ex.request, ex.response
    return (
        ex.session,
        ex.started_at,
        iso(ex.started_at),
        ex.duration_ms,
        ex.kind,
        req.method,
        req.scheme,
        req.host,
        req.port,
        req.path,
        _pairs_json(req.query),
        _pairs_json(req.headers),
        _body_value(req.body),
        req.encoding,
        req.http_version,
        resp.status if resp else None,
        resp.reason if resp else None,
        resp.http_version if resp else None,
        _pairs_json(resp.headers) if resp else None,
        _body_value(resp.body) if resp else None,
        resp.encoding if resp else None,
        ex.error,
        len(ex.messages),
    )


def escape_row(row: tuple) -> tuple:
    """`row` with text SQLite cannot take (lone surrogates) stored as bytes instead."""
    return tuple(
        value.encode("utf-8", "surrogatepass")
        if name in TEXT_COLUMNS and isinstance(value, str) and not _utf8_ok(value)
        else value
        for name, value in zip(COLUMNS, row, strict=True)
    )


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_text(value: Any) -> Any:
    return value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value


def message_rows(exchange_id: int, messages: tuple[Message, ...]) -> list[tuple]:
    return [
        (
            exchange_id,
            seq,
            m.direction,
            int(m.is_text),
            _body_value(m.content),
            m.timestamp,
        )
        for seq, m in enumerate(messages)
    ]


def from_row(row: tuple, messages: tuple[Message, ...]) -> Exchange:
    (id_, session, started_at, _, duration_ms, kind, method, scheme, host, port, path, query) = row[
        :12
    ]
    (req_headers, req_body, req_enc, http_version, status, reason, resp_version) = row[12:19]
    (resp_headers, resp_body, resp_enc, error) = row[19:23]
    request = Request(
        method=as_text(method),
        path=as_text(path),
        query=pairs(query),
        headers=pairs(req_headers),
        body=body_bytes(req_body),
        scheme=as_text(scheme),
        host=as_text(host),
        port=port,
        http_version=as_text(http_version),
        encoding=as_text(req_enc),
    )
    response = None
    if status is not None:
        response = Response(
            status=status,
            headers=pairs(resp_headers),
            body=body_bytes(resp_body),
            reason=as_text(reason),
            http_version=as_text(resp_version),
            encoding=as_text(resp_enc),
        )
    return Exchange(
        request=request,
        response=response,
        started_at=started_at,
        duration_ms=duration_ms,
        session=as_text(session),
        error=as_text(error),
        kind=as_text(kind),
        messages=messages,
        id=id_,
    )
