"""backworks JSON lines: each exchange as one JSON object with a format version (formats
writes one a line, keys sorted: readable, diffable, streamable). Bodies are text when they are
UTF-8, else base64 under `body_base64` (`content_base64` for messages).
"""

from __future__ import annotations

from typing import Any

from backworks_cli.core.exchange import Exchange, Message, Request, Response
from backworks_cli.record.format_values import (
    Malformed,
    b64,
    int_value,
    number_value,
    opt_str_value,
    str_value,
    unb64,
    utf8,
)

JSONL_VERSION = 1


def _pairs(items: Any, what: str) -> tuple[tuple[str, str], ...]:
    """[[name, value], ...] (JSON lines) as a tuple of pairs."""
    if not isinstance(items, list):
        raise Malformed(f"{what} must be a list of [name, value] pairs")
    pairs = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 2):
            raise Malformed(f"{what} must be a list of [name, value] pairs, found {item!r:.40}")
        pairs.append((str_value(item[0], what), str_value(item[1], what)))
    return tuple(pairs)


def _body_json(body: bytes, key: str) -> dict[str, str]:
    text = utf8(body)
    return {key: text} if text is not None else {f"{key}_base64": b64(body)}


def _body_from_json(d: dict, key: str) -> bytes:
    if f"{key}_base64" in d:
        return unb64(d[f"{key}_base64"])
    return str_value(d.get(key, ""), key).encode("utf-8", "surrogatepass")


def exchange_to_json(ex: Exchange) -> dict:
    """An exchange as a JSON-ready dict (the `id` of a store row is left out)."""
    req, resp = ex.request, ex.response
    return {
        "format_version": JSONL_VERSION,
        "session": ex.session,
        "kind": ex.kind,
        "started_at": ex.started_at,
        "duration_ms": ex.duration_ms,
        "error": ex.error,
        "request": {
            "method": req.method,
            "scheme": req.scheme,
            "host": req.host,
            "port": req.port,
            "path": req.path,
            "query": [list(pair) for pair in req.query],
            "headers": [list(pair) for pair in req.headers],
            "http_version": req.http_version,
            "encoding": req.encoding,
            **_body_json(req.body, "body"),
        },
        "response": None
        if resp is None
        else {
            "status": resp.status,
            "reason": resp.reason,
            "http_version": resp.http_version,
            "headers": [list(pair) for pair in resp.headers],
            "encoding": resp.encoding,
            **_body_json(resp.body, "body"),
        },
        "messages": [
            {
                "direction": m.direction,
                "is_text": m.is_text,
                "timestamp": m.timestamp,
                **_body_json(m.content, "content"),
            }
            for m in ex.messages
        ],
    }


def json_to_exchange(d: dict) -> Exchange:
    """The exchange a dict from exchange_to_json() describes (ValueError if it is not one)."""
    if not isinstance(d, dict) or not isinstance(d.get("request"), dict):
        raise Malformed("not a backworks exchange (no request object)")
    version = d.get("format_version", JSONL_VERSION)
    if not isinstance(version, int) or version > JSONL_VERSION:
        raise Malformed(
            f"format_version {version!r} is newer than this backworks reads ({JSONL_VERSION}); "
            "upgrade backworks"
        )
    r = d["request"]
    request = Request(
        method=str_value(r.get("method"), "request.method"),
        path=str_value(r.get("path"), "request.path"),
        query=_pairs(r.get("query", []), "request.query"),
        headers=_pairs(r.get("headers", []), "request.headers"),
        body=_body_from_json(r, "body"),
        scheme=str_value(r.get("scheme", "http"), "request.scheme"),
        host=str_value(r.get("host", ""), "request.host"),
        port=int_value(r.get("port", 0), "request.port"),
        http_version=str_value(r.get("http_version", "HTTP/1.1"), "request.http_version"),
        encoding=opt_str_value(r.get("encoding"), "request.encoding"),
    )
    response = None
    if d.get("response") is not None:
        s = d["response"]
        if not isinstance(s, dict):
            raise Malformed("response must be an object or null")
        response = Response(
            status=int_value(s.get("status"), "response.status"),
            headers=_pairs(s.get("headers", []), "response.headers"),
            body=_body_from_json(s, "body"),
            reason=str_value(s.get("reason", ""), "response.reason"),
            http_version=str_value(s.get("http_version", "HTTP/1.1"), "response.http_version"),
            encoding=opt_str_value(s.get("encoding"), "response.encoding"),
        )
    messages = []
    for m in d.get("messages") or []:
        if not isinstance(m, dict) or m.get("direction") not in ("client", "server"):
            raise Malformed("messages must be objects with direction client or server")
        messages.append(
            Message(
                direction=m["direction"],
                content=_body_from_json(m, "content"),
                is_text=bool(m.get("is_text", True)),
                timestamp=number_value(m.get("timestamp", 0.0), "message timestamp"),
            )
        )
    kind = d.get("kind", "http")
    if kind not in ("http", "websocket", "sse"):
        raise Malformed(f"kind must be http, websocket or sse, not {kind!r}")
    duration = d.get("duration_ms")
    return Exchange(
        request=request,
        response=response,
        started_at=number_value(d.get("started_at", 0.0), "started_at"),
        duration_ms=None if duration is None else number_value(duration, "duration_ms"),
        session=str_value(d.get("session", "default"), "session"),
        error=opt_str_value(d.get("error"), "error"),
        kind=kind,
        messages=tuple(messages),
    )
