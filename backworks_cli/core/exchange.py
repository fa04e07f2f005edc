"""The records every part of backworks passes around: requests, responses, exchanges.

Bodies are held decoded (no Content-Encoding applied); the encoding the wire used is kept in
`encoding` so that it can be reported and re-applied. Headers are ordered (name, value) pairs,
because HTTP allows repeats (Set-Cookie) and order matters to some clients.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlencode

Headers = tuple[tuple[str, str], ...]
Query = tuple[tuple[str, str], ...]

TEXT_TYPES = ("text/", "json", "xml", "javascript", "x-www-form-urlencoded", "yaml", "csv")


def header(headers: Headers, name: str, default: str | None = None) -> str | None:
    """The first value of header `name` (case-insensitive), or `default`."""
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return default


def text_bytes(text: str) -> bytes:
    """`text` as UTF-8, never raising: lone surrogates that surrogateescape made of request
    bytes that were not UTF-8 become those bytes again, and any other (a JSON \\ud800 escape)
    is written as surrogatepass writes it."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return text.encode("utf-8", "surrogatepass")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


_DECODER = json.JSONDecoder(parse_float=_finite, parse_constant=_not_json)


def load_json(body: bytes | str) -> Any:
    """A body's JSON as data, as the modes read a request's. ValueError (or RecursionError, for
    deep nesting) when it is not JSON, and also for numbers a double cannot hold (1e999) and
    Python's NaN and Infinity, which no JSON answer could give back; integers longer than
    Python converts (4300 digits) are a ValueError of json's own."""
    if isinstance(body, bytes | bytearray):
        body = body.decode(json.detect_encoding(body), "surrogatepass")
    return _DECODER.decode(body)


def is_text_type(content_type: str | None) -> bool:
    return bool(content_type) and any(t in content_type.lower() for t in TEXT_TYPES)


def body_text(body: bytes, content_type: str | None = None) -> str | None:
    """The body as text when it is text (UTF-8 that decodes), else None."""
    if not body:
        return ""
    if content_type and not is_text_type(content_type) and b"\x00" in body[:1024]:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


class HttpMessage:
    """What a request and a response share: headers and a body, read the same way."""

    __slots__ = ()
    headers: Headers
    body: bytes

    def header(self, name: str, default: str | None = None) -> str | None:
        return header(self.headers, name, default)

    @property
    def content_type(self) -> str | None:
        return self.header("content-type")

    @property
    def text(self) -> str | None:
        return body_text(self.body, self.content_type)

    def json(self) -> Any:
        return load_json(self.body)


@dataclass(frozen=True, slots=True)
class Request(HttpMessage):
    method: str
    path: str
    query: Query = ()
    headers: Headers = ()
    body: bytes = b""
    scheme: str = "http"
    host: str = ""
    port: int = 0
    http_version: str = "HTTP/1.1"
    encoding: str | None = None

    @property
    def target(self) -> str:
        """Path and query string, as on the request line."""
        return self.path + ("?" + urlencode(self.query) if self.query else "")

    @property
    def url(self) -> str:
        default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(self.scheme)
        netloc = self.host if not self.port or self.port == default else f"{self.host}:{self.port}"
        return f"{self.scheme}://{netloc}{self.target}"


@dataclass(frozen=True, slots=True)
class Response(HttpMessage):
    status: int
    headers: Headers = ()
    body: bytes = b""
    reason: str = ""
    http_version: str = "HTTP/1.1"
    encoding: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """One WebSocket message or server-sent event of a streaming exchange."""

    direction: Literal["client", "server"]
    content: bytes
    is_text: bool = True
    timestamp: float = 0.0


Kind = Literal["http", "websocket", "sse"]


@dataclass(frozen=True, slots=True)
class Exchange:
    """A request, what answered it (a response, an error, or both), and when."""

    request: Request
    response: Response | None = None
    started_at: float = 0.0  # unix time the request began
    duration_ms: float | None = None  # request start to response end
    session: str = "default"
    error: str | None = None  # why no (real) response came, e.g. upstream unreachable
    kind: Kind = "http"
    messages: tuple[Message, ...] = field(default=())
    id: int | None = None

    def with_id(self, id: int) -> Exchange:
        return replace(self, id=id)
