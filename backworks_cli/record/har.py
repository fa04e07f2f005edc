"""HAR 1.2 entries to and from exchanges.

HAR is what browsers' devtools and mitmproxy write. backworks' own HAR keeps what HAR has no
field for in underscore fields (`_backworks`, and Chrome's `_webSocketMessages`), so that an
export imports back to equal exchanges; entries of other tools (Chrome, Firefox, mitmproxy)
read with what they have.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from backworks_cli import __version__
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

CONTENT_ENCODINGS = frozenset({"gzip", "deflate", "br", "zstd"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)", re.DOTALL)


def _har_pairs(items: Any, what: str) -> tuple[tuple[str, str], ...]:
    """[{"name": ..., "value": ...}, ...] (HAR) as a tuple of pairs."""
    if items is None:
        return ()
    if not isinstance(items, list):
        raise Malformed(f"{what} must be a list of {{name, value}} objects")
    pairs = []
    for item in items:
        if not isinstance(item, dict) or "name" not in item:
            raise Malformed(f"{what} must be a list of {{name, value}} objects")
        value = item.get("value")
        pairs.append((str_value(item["name"], what), "" if value is None else str(value)))
    return tuple(pairs)


def _to_har_pairs(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    lname = name.lower()
    return next((value for key, value in headers if key.lower() == lname), None)


def _content_encoding(headers: tuple[tuple[str, str], ...]) -> str | None:
    value = (_header(headers, "content-encoding") or "").strip().lower()
    return value if value in CONTENT_ENCODINGS else None


def _netloc(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if not port or port == DEFAULT_PORTS.get(scheme) else f"{shown}:{port}"


def _url(req: Request) -> str:
    query = urlencode(req.query, errors="surrogatepass")
    return f"{req.scheme}://{_netloc(req.host, req.port, req.scheme)}{req.path}" + (
        f"?{query}" if query else ""
    )


def _split_url(url: str) -> tuple[str, str, int | None, str, str]:
    """scheme, host, port (None when the URL has none), path, query string."""
    match = URL_RE.fullmatch(url)
    if not match:
        raise Malformed(f"request.url {url[:80]!r} is not an absolute URL")
    scheme, netloc, rest = match[1].lower(), match[2].rpartition("@")[2], match[3]
    if netloc.startswith("["):
        host, _, after = netloc[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ""
    else:
        host, colon, port_text = netloc.rpartition(":")
        if not colon or not port_text.isdigit():
            host, port_text = netloc, ""
    path, _, query = rest.partition("?")
    return scheme, host, int(port_text) if port_text else None, path or "/", query


def _har_time(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return "1970-01-01T00:00:00+00:00"


def _parse_har_time(text: Any) -> float:
    text = str_value(text, "startedDateTime")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Malformed(f"startedDateTime {text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _har_message(m: Message) -> dict:
    text = utf8(m.content) if m.is_text else None
    message = {
        "type": "send" if m.direction == "client" else "receive",
        "time": m.timestamp,
        "opcode": 1 if m.is_text else 2,
        "data": text if text is not None else b64(m.content),
    }
    if m.is_text and text is None:
        message["_encoding"] = "base64"  # a text frame whose bytes are not UTF-8
    return message


def _har_to_message(m: Any) -> Message | None:
    if not isinstance(m, dict) or m.get("type") not in ("send", "receive"):
        raise Malformed("_webSocketMessages must be objects with type send or receive")
    opcode = m.get("opcode", 1)
    if opcode not in (1, 2):
        return None  # control frames (close, ping, pong) carry no message
    data = m.get("data", "")
    if opcode == 2 or m.get("_encoding") == "base64":
        content = unb64(data)
    else:
        content = str_value(data, "message data").encode("utf-8", "surrogatepass")
    return Message(
        direction="client" if m["type"] == "send" else "server",
        content=content,
        is_text=opcode == 1,
        timestamp=number_value(m.get("time", 0.0), "message time"),
    )


def _har_content(body: bytes, mime: str) -> dict:
    text = utf8(body)
    content: dict[str, Any] = {"size": len(body), "mimeType": mime}
    if text is not None:
        content["text"] = text
    else:
        content["text"] = b64(body)
        content["encoding"] = "base64"
    return content


def _har_body(content: Any, what: str) -> bytes:
    if content is None:
        return b""
    if not isinstance(content, dict):
        raise Malformed(f"{what} must be an object")
    text = content.get("text")
    if text is None:
        params = content.get("params")
        return urlencode(_har_pairs(params, f"{what}.params")).encode() if params else b""
    if content.get("encoding") == "base64":
        return unb64(text)
    return str_value(text, f"{what}.text").encode("utf-8", "surrogatepass")


def exchange_to_har_entry(ex: Exchange) -> dict:
    """A HAR 1.2 entry, with backworks details in `_backworks` (and `_webSocketMessages`)."""
    req, resp = ex.request, ex.response
    duration = ex.duration_ms if ex.duration_ms is not None else 0
    request: dict[str, Any] = {
        "method": req.method,
        "url": _url(req),
        "httpVersion": req.http_version,
        "cookies": [],
        "headers": _to_har_pairs(req.headers),
        "queryString": _to_har_pairs(req.query),
        "headersSize": -1,
        "bodySize": len(req.body),
    }
    if req.body:
        post = _har_content(req.body, req.content_type or "")
        del post["size"]
        request["postData"] = post
    if resp is not None:
        response: dict[str, Any] = {
            "status": resp.status,
            "statusText": resp.reason,
            "httpVersion": resp.http_version,
            "cookies": [],
            "headers": _to_har_pairs(resp.headers),
            "content": _har_content(resp.body, resp.content_type or ""),
            "redirectURL": resp.header("location") or "",
            "headersSize": -1,
            "bodySize": len(resp.body),
        }
    else:
        response = {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_error": ex.error,
        }
    backworks: dict[str, Any] = {
        "session": ex.session,
        "kind": ex.kind,
        "error": ex.error,
        "request_encoding": req.encoding,
        "response_encoding": resp.encoding if resp else None,
        "started_at": ex.started_at,
        "duration_ms": ex.duration_ms,
        "port": req.port,
    }
    entry: dict[str, Any] = {
        "startedDateTime": _har_time(ex.started_at),
        "time": duration,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": duration, "receive": 0},
        "_backworks": backworks,
    }
    messages = [_har_message(m) for m in ex.messages]
    if ex.kind == "websocket":
        entry["_resourceType"] = "websocket"
        entry["_webSocketMessages"] = messages
    elif messages:
        backworks["messages"] = messages
    return entry


def har_entry_to_exchange(
    entry: dict, *, session: str | None = None, fallback_session: str = "default"
) -> Exchange:
    """The exchange a HAR entry describes: backworks' own, Chrome's, Firefox's or mitmproxy's.

    `session` overrides any session the entry names; entries from other tools, which name
    none, get `fallback_session`.
    """
    if not isinstance(entry, dict):
        raise Malformed("an entry must be an object")
    ours = entry.get("_backworks")
    ours = ours if isinstance(ours, dict) else None
    r = entry.get("request")
    if not isinstance(r, dict):
        raise Malformed("the entry has no request object")
    scheme, host, port, path, query_string = _split_url(str_value(r.get("url"), "request.url"))
    headers = _har_pairs(r.get("headers"), "request.headers")
    if ours is None:
        headers = tuple(pair for pair in headers if not pair[0].startswith(":"))  # HTTP/2 pseudo
        query = tuple(parse_qsl(query_string, keep_blank_values=True))
        port = port if port is not None else DEFAULT_PORTS.get(scheme, 0)
    else:
        query = _har_pairs(r.get("queryString"), "request.queryString")
        port = int_value(ours.get("port", port or 0), "_backworks.port")
    request = Request(
        method=str_value(r.get("method"), "request.method"),
        path=path,
        query=query,
        headers=headers,
        body=_har_body(r.get("postData"), "request.postData"),
        scheme=scheme,
        host=host,
        port=port,
        http_version=str_value(r.get("httpVersion") or "HTTP/1.1", "request.httpVersion"),
        encoding=ours.get("request_encoding") if ours else _content_encoding(headers),
    )

    s = entry.get("response")
    response = None
    error = None
    if isinstance(s, dict):
        error = s.get("_error") if isinstance(s.get("_error"), str) else None
        status = s.get("status", 0)
        if int_value(status, "response.status") > 0:
            resp_headers = _har_pairs(s.get("headers"), "response.headers")
            if ours is None:
                resp_headers = tuple(p for p in resp_headers if not p[0].startswith(":"))
            response = Response(
                status=status,
                headers=resp_headers,
                body=_har_body(s.get("content"), "response.content"),
                reason=str(s.get("statusText") or ""),
                http_version=str_value(s.get("httpVersion") or "HTTP/1.1", "response.httpVersion"),
                encoding=ours.get("response_encoding") if ours else _content_encoding(resp_headers),
            )

    raw_messages = entry.get("_webSocketMessages")
    if raw_messages is None and ours is not None:
        raw_messages = ours.get("messages")
    messages = tuple(m for m in map(_har_to_message, raw_messages or []) if m is not None)

    if ours is not None:
        kind = ours.get("kind", "http")
        started_at = number_value(ours.get("started_at", 0.0), "_backworks.started_at")
        duration = ours.get("duration_ms")
        error = ours.get("error")
        name = ours.get("session", fallback_session)
    else:
        content_type = (response.content_type or "") if response else ""
        if entry.get("_resourceType") == "websocket" or "_webSocketMessages" in entry:
            kind = "websocket"
        elif content_type.startswith("text/event-stream"):
            kind = "sse"
        else:
            kind = "http"
        started_at = _parse_har_time(entry.get("startedDateTime"))
        duration = entry.get("time")
        if not isinstance(duration, int | float) or isinstance(duration, bool) or duration < 0:
            duration = None
        name = fallback_session
    if kind not in ("http", "websocket", "sse"):
        raise Malformed(f"kind must be http, websocket or sse, not {kind!r}")
    return Exchange(
        request=request,
        response=response,
        started_at=started_at,
        duration_ms=duration,
        session=session if session is not None else str_value(name, "session"),
        error=opt_str_value(error, "error"),
        kind=kind,
        messages=messages,
    )


def har_document(entries: Iterable[dict]) -> dict:
    """A whole HAR 1.2 document around `entries`."""
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "backworks", "version": __version__},
            "pages": [],
            "entries": list(entries),
        }
    }
