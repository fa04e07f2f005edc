"""The wire form of the mock's requests and responses: the request path and query decoded as
the capture decodes them, a stable replay's request as the journal keeps it, and a response's
ASGI messages and the bytes the fast path writes for them, built once per response."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote

from backworks_cli.core.exchange import Response

SHORTCUT_BODY = 1024 * 1024  # cached answers up to this size are also kept as wire bytes
# Headers of a recorded response that described the recorded connection, not this one: bodies
# are stored decoded (so no Content-Encoding), and Content-Length is computed again.
SKIP_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive"}
    | {"date", "proxy-connection", "trailer", "upgrade"}
)
_TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_NO_BODY_STATUS = frozenset({204, 304})


def request_path(raw: bytes) -> str:
    """The request path percent-decoded once, as matching decodes recorded paths.

    Undecodable bytes are kept as surrogates (as the capture stores them). A path that still
    holds `%` after decoding is passed as sent, so that it too is decoded exactly once.
    """
    text = raw.decode("utf-8", "surrogateescape")
    if "%" not in text:
        return text
    decoded = unquote(text, errors="surrogateescape")
    return text if "%" in decoded else decoded


def query_pairs(qs: bytes) -> tuple[tuple[str, str], ...]:
    """Query pairs decoded as the capture decodes them (blank values kept)."""
    text = qs.decode("utf-8", "surrogateescape")
    return tuple(parse_qsl(text, keep_blank_values=True, errors="surrogateescape"))


def content_type(raw_headers: list[tuple[bytes, bytes]]) -> bytes | None:
    for name, value in raw_headers:
        if name == b"content-type":
            return value
    return None


class Received:
    """A request's headers and body as the journal keeps them for a stable replay: decoded
    only when /__backworks/exchange asks."""

    __slots__ = ("_raw_headers", "body")

    def __init__(self, raw_headers: list[tuple[bytes, bytes]], body: bytes):
        self._raw_headers = raw_headers
        self.body = body

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        return tuple(
            (n.decode("latin-1"), v.decode("utf-8", "surrogateescape"))
            for n, v in self._raw_headers
        )


def wire_headers(response: Response, body_length: int) -> list[tuple[bytes, bytes]]:
    """A response's headers as ASGI wants them, with a fresh Content-Length.

    Names that are not HTTP tokens and values with control characters are left out rather
    than fail the response; values go back to the bytes they were captured from.
    """
    out = []
    for name, value in response.headers:
        if name.lower() in SKIP_HEADERS:
            continue
        raw_name = name.encode("utf-8", "surrogateescape")
        raw_value = value.encode("utf-8", "surrogateescape")
        if _TOKEN.match(raw_name) and not _BAD_VALUE.search(raw_value):
            out.append((raw_name, raw_value))
    if response.status not in _NO_BODY_STATUS:
        out.append((b"content-length", str(body_length).encode("ascii")))
    return out


def wire_messages(response: Response) -> tuple[dict, dict, bytes]:
    """The http.response.start and http.response.body messages for `response`, and the bytes
    uvicorn writes for them after the status line and its own Date header (empty when the
    body is over SHORTCUT_BODY or the status has no status line there)."""
    body = b"" if response.status in _NO_BODY_STATUS else response.body
    headers = wire_headers(response, len(body))
    start = {"type": "http.response.start", "status": response.status, "headers": headers}
    wire = b""
    if len(body) <= SHORTCUT_BODY and 100 <= response.status <= 599:
        lines = [b"%s: %s\r\n" % (name.lower(), value) for name, value in headers]
        wire = b"".join((*lines, b"\r\n", body))
    return start, {"type": "http.response.body", "body": body}, wire
