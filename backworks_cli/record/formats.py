"""Exchanges in and out of files: HAR 1.2 and backworks JSON lines.

HAR is what browsers' devtools and mitmproxy write. backworks' own HAR keeps what HAR has no
field for in underscore fields (`_backworks`, and Chrome's `_webSocketMessages`), so that an
export imports back to equal exchanges. JSON lines are one exchange per line with sorted keys
and a format version: readable, diffable, streamable.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import itertools
import json
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlencode

from backworks_cli import __version__
from backworks_cli.config.model import RedactConfig
from backworks_cli.core.errors import BackworksError, InputError
from backworks_cli.core.exchange import Exchange, Message, Request, Response
from backworks_cli.core.files import replacing

JSONL_VERSION = 1
FORMATS = ("har", "jsonl")
CONTENT_ENCODINGS = frozenset({"gzip", "deflate", "br", "zstd"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)", re.DOTALL)


class _Malformed(ValueError):
    """A value in an input record that cannot be used; the reader adds the file and place."""


# --- bodies -------------------------------------------------------------------------------------


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise _Malformed(f"base64 data must be a string, not {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _Malformed(f"invalid base64 data ({exc})") from None


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _Malformed(f"{what} must be a string, not {json.dumps(value)[:40]}")
    return value


def _pairs(items: Any, what: str) -> tuple[tuple[str, str], ...]:
    """[[name, value], ...] (JSON lines) as a tuple of pairs."""
    if not isinstance(items, list):
        raise _Malformed(f"{what} must be a list of [name, value] pairs")
    pairs = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 2):
            raise _Malformed(f"{what} must be a list of [name, value] pairs, found {item!r:.40}")
        pairs.append((_str(item[0], what), _str(item[1], what)))
    return tuple(pairs)


def _har_pairs(items: Any, what: str) -> tuple[tuple[str, str], ...]:
    """[{"name": ..., "value": ...}, ...] (HAR) as a tuple of pairs."""
    if items is None:
        return ()
    if not isinstance(items, list):
        raise _Malformed(f"{what} must be a list of {{name, value}} objects")
    pairs = []
    for item in items:
        if not isinstance(item, dict) or "name" not in item:
            raise _Malformed(f"{what} must be a list of {{name, value}} objects")
        value = item.get("value", "")
        pairs.append((_str(item["name"], what), "" if value is None else str(value)))
    return tuple(pairs)


def _to_har_pairs(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    lname = name.lower()
    return next((value for key, value in headers if key.lower() == lname), None)


def _content_encoding(headers: tuple[tuple[str, str], ...]) -> str | None:
    value = (_header(headers, "content-encoding") or "").strip().lower()
    return value if value in CONTENT_ENCODINGS else None


# --- JSON lines ---------------------------------------------------------------------------------


def _body_json(body: bytes, key: str) -> dict[str, str]:
    text = _utf8(body)
    return {key: text} if text is not None else {f"{key}_base64": _b64(body)}


def _body_from_json(d: dict, key: str) -> bytes:
    if f"{key}_base64" in d:
        return _unb64(d[f"{key}_base64"])
    return _str(d.get(key, ""), key).encode("utf-8", "surrogatepass")


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
        raise _Malformed("not a backworks exchange (no request object)")
    version = d.get("format_version", JSONL_VERSION)
    if not isinstance(version, int) or version > JSONL_VERSION:
        raise _Malformed(
            f"format_version {version!r} is newer than this backworks reads ({JSONL_VERSION}); "
            "upgrade backworks"
        )
    r = d["request"]
    request = Request(
        method=_str(r.get("method"), "request.method"),
        path=_str(r.get("path"), "request.path"),
        query=_pairs(r.get("query", []), "request.query"),
        headers=_pairs(r.get("headers", []), "request.headers"),
        body=_body_from_json(r, "body"),
        scheme=_str(r.get("scheme", "http"), "request.scheme"),
        host=_str(r.get("host", ""), "request.host"),
        port=_int(r.get("port", 0), "request.port"),
        http_version=_str(r.get("http_version", "HTTP/1.1"), "request.http_version"),
        encoding=_opt_str(r.get("encoding"), "request.encoding"),
    )
    response = None
    if d.get("response") is not None:
        s = d["response"]
        if not isinstance(s, dict):
            raise _Malformed("response must be an object or null")
        response = Response(
            status=_int(s.get("status"), "response.status"),
            headers=_pairs(s.get("headers", []), "response.headers"),
            body=_body_from_json(s, "body"),
            reason=_str(s.get("reason", ""), "response.reason"),
            http_version=_str(s.get("http_version", "HTTP/1.1"), "response.http_version"),
            encoding=_opt_str(s.get("encoding"), "response.encoding"),
        )
    messages = []
    for m in d.get("messages") or []:
        if not isinstance(m, dict) or m.get("direction") not in ("client", "server"):
            raise _Malformed("messages must be objects with direction client or server")
        messages.append(
            Message(
                direction=m["direction"],
                content=_body_from_json(m, "content"),
                is_text=bool(m.get("is_text", True)),
                timestamp=_number(m.get("timestamp", 0.0), "message timestamp"),
            )
        )
    kind = d.get("kind", "http")
    if kind not in ("http", "websocket", "sse"):
        raise _Malformed(f"kind must be http, websocket or sse, not {kind!r}")
    duration = d.get("duration_ms")
    return Exchange(
        request=request,
        response=response,
        started_at=_number(d.get("started_at", 0.0), "started_at"),
        duration_ms=None if duration is None else _number(duration, "duration_ms"),
        session=_str(d.get("session", "default"), "session"),
        error=_opt_str(d.get("error"), "error"),
        kind=kind,
        messages=tuple(messages),
    )


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Malformed(f"{what} must be an integer, not {json.dumps(value)[:40]}")
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Malformed(f"{what} must be a number, not {json.dumps(value)[:40]}")
    return value


def _opt_str(value: Any, what: str) -> str | None:
    return None if value is None else _str(value, what)


# --- HAR ----------------------------------------------------------------------------------------


def _netloc(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if not port or port == DEFAULT_PORTS.get(scheme) else f"{shown}:{port}"


def _url(req: Request) -> str:
    query = urlencode(req.query, errors="surrogatepass") if req.query else ""
    return f"{req.scheme}://{_netloc(req.host, req.port, req.scheme)}{req.path}" + (
        f"?{query}" if query else ""
    )


def _split_url(url: str) -> tuple[str, str, int | None, str, str]:
    """scheme, host, port (None when the URL has none), path, query string."""
    match = URL_RE.fullmatch(url)
    if not match:
        raise _Malformed(f"request.url {url[:80]!r} is not an absolute URL")
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
    text = _str(text, "startedDateTime")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Malformed(f"startedDateTime {text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _har_message(m: Message) -> dict:
    text = _utf8(m.content) if m.is_text else None
    message = {
        "type": "send" if m.direction == "client" else "receive",
        "time": m.timestamp,
        "opcode": 1 if m.is_text else 2,
        "data": text if text is not None else _b64(m.content),
    }
    if m.is_text and text is None:
        message["_encoding"] = "base64"  # a text frame whose bytes are not UTF-8
    return message


def _har_to_message(m: Any) -> Message | None:
    if not isinstance(m, dict) or m.get("type") not in ("send", "receive"):
        raise _Malformed("_webSocketMessages must be objects with type send or receive")
    opcode = m.get("opcode", 1)
    if opcode not in (1, 2):
        return None  # control frames (close, ping, pong) carry no message
    data = m.get("data", "")
    if opcode == 2 or m.get("_encoding") == "base64":
        content = _unb64(data)
    else:
        content = _str(data, "message data").encode("utf-8", "surrogatepass")
    return Message(
        direction="client" if m["type"] == "send" else "server",
        content=content,
        is_text=opcode == 1,
        timestamp=_number(m.get("time", 0.0), "message time"),
    )


def _har_content(body: bytes, mime: str) -> dict:
    text = _utf8(body)
    content: dict[str, Any] = {"size": len(body), "mimeType": mime}
    if text is not None:
        content["text"] = text
    else:
        content["text"] = _b64(body)
        content["encoding"] = "base64"
    return content


def _har_body(content: Any, what: str) -> bytes:
    if content is None:
        return b""
    if not isinstance(content, dict):
        raise _Malformed(f"{what} must be an object")
    text = content.get("text")
    if text is None:
        params = content.get("params")
        return urlencode(_har_pairs(params, f"{what}.params")).encode() if params else b""
    if content.get("encoding") == "base64":
        return _unb64(text)
    return _str(text, f"{what}.text").encode("utf-8", "surrogatepass")


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
        raise _Malformed("an entry must be an object")
    ours = entry.get("_backworks")
    ours = ours if isinstance(ours, dict) else None
    r = entry.get("request")
    if not isinstance(r, dict):
        raise _Malformed("the entry has no request object")
    scheme, host, port, path, query_string = _split_url(_str(r.get("url"), "request.url"))
    headers = _har_pairs(r.get("headers"), "request.headers")
    if ours is None:
        headers = tuple(pair for pair in headers if not pair[0].startswith(":"))  # HTTP/2 pseudo
        query = tuple(parse_qsl(query_string, keep_blank_values=True))
        port = port if port is not None else DEFAULT_PORTS.get(scheme, 0)
    else:
        query = _har_pairs(r.get("queryString"), "request.queryString")
        port = _int(ours.get("port", port or 0), "_backworks.port")
    request = Request(
        method=_str(r.get("method"), "request.method"),
        path=path,
        query=query,
        headers=headers,
        body=_har_body(r.get("postData"), "request.postData"),
        scheme=scheme,
        host=host,
        port=port,
        http_version=_str(r.get("httpVersion") or "HTTP/1.1", "request.httpVersion"),
        encoding=ours.get("request_encoding") if ours else _content_encoding(headers),
    )

    s = entry.get("response")
    response = None
    error = None
    if isinstance(s, dict):
        error = s.get("_error") if isinstance(s.get("_error"), str) else None
        status = s.get("status", 0)
        if _int(status, "response.status") > 0:
            resp_headers = _har_pairs(s.get("headers"), "response.headers")
            if ours is None:
                resp_headers = tuple(p for p in resp_headers if not p[0].startswith(":"))
            response = Response(
                status=status,
                headers=resp_headers,
                body=_har_body(s.get("content"), "response.content"),
                reason=str(s.get("statusText") or ""),
                http_version=_str(s.get("httpVersion") or "HTTP/1.1", "response.httpVersion"),
                encoding=ours.get("response_encoding") if ours else _content_encoding(resp_headers),
            )

    raw_messages = entry.get("_webSocketMessages")
    if raw_messages is None and ours is not None:
        raw_messages = ours.get("messages")
    messages = tuple(m for m in map(_har_to_message, raw_messages or []) if m is not None)

    if ours is not None:
        kind = ours.get("kind", "http")
        started_at = _number(ours.get("started_at", 0.0), "_backworks.started_at")
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
        raise _Malformed(f"kind must be http, websocket or sse, not {kind!r}")
    return Exchange(
        request=request,
        response=response,
        started_at=started_at,
        duration_ms=duration,
        session=session if session is not None else _str(name, "session"),
        error=_opt_str(error, "error"),
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


def export_exchanges(
    rows: Iterable[Exchange],
    output: Path,
    fmt: str,
    *,
    redact: RedactConfig | None,
    key: bytes,
) -> int:
    """Write `rows` as HAR ("har") or JSON lines ("jsonl") to `output` ("-": stdout).

    With `redact`, every exchange passes through the Redactor first, so an export never
    carries a secret that slipped past capture. A file is written whole or not at all.
    """
    if fmt not in FORMATS:
        raise BackworksError(
            f"Unknown export format {fmt!r}.", f"Use one of: {', '.join(FORMATS)}."
        )
    if redact is not None:
        from backworks_cli.record.redact import Redactor

        redactor = Redactor(key, redact)
        rows = (redactor.exchange(ex) for ex in rows)
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
        except (_Malformed, KeyError, TypeError, ValueError) as exc:
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
        except (_Malformed, KeyError, TypeError, ValueError) as exc:
            where = ""
            if isinstance(entry, dict) and isinstance(entry.get("request"), dict):
                where = f" ({entry['request'].get('method')} {entry['request'].get('url')})"
            raise InputError(f"{path}, entry {index}{where}: {exc}.", HINT) from None
