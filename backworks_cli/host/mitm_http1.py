"""Three gaps in mitmproxy 11's HTTP/1 layer that capture and serve must not fall into, closed
by `install()` before a proxy starts. Each wraps one mitmproxy method and changes nothing else.

- Chunked trailers. mitmproxy's HTTP/1 reader raises NotImplementedError on a chunked body
  that ends with trailer fields (mitmproxy issue #2474, open since 2017); the proxy logs
  "mitmproxy has crashed!" and the client never gets an answer. The chunked reader now keeps
  the trailers aside and they reach the flow as mitmproxy's own HTTP/2 layer hands them over
  (Request/ResponseTrailers events, `flow.request.trailers`); the HTTP/1 writers, which had no
  case for those events either, put them after the last chunk. A message that is not chunked
  on the way out cannot carry trailers in HTTP/1, and goes without them.
- An empty line before a request line. The buffer hands it over as a block of no lines,
  which mitmproxy takes for "not complete yet", so a request sent after one in the same packet
  waited for bytes that never came. It is skipped, as RFC 9112 section 2.2 asks of servers.
- A request body over a limit. mitmproxy's `body_size_limit` bounds responses too and answers
  with its own HTML page. With the option BODY_LIMIT set (serve sets it from server.max_body),
  a request whose Content-Length, or whose chunked body read so far, passes it is not read
  further: the `request` hook sees the flow with `flow.metadata[BODY_OVER]` set to the limit
  and an empty body, and answers (a 413); the connection is then closed, the rest unread.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import h11
from h11._readers import ChunkedReader
from mitmproxy import http, version
from mitmproxy.net.http.http1 import expected_http_body_size
from mitmproxy.net.http.status_codes import NO_RESPONSE
from mitmproxy.proxy import commands, events
from mitmproxy.proxy.layers import http as layers
from mitmproxy.proxy.layers.http import _http1

BODY_LIMIT = "backworks_body_limit"  # the mitmproxy option: request bytes accepted (None: any)
BODY_OVER = "backworks_body_over"  # flow.metadata key: the limit the request's body passed

_LAST_CHUNK = b"0\r\n\r\n"
_installed = False


def install() -> None:
    """Close the three gaps (once per process). RuntimeError under another mitmproxy major
    version, whose internals these wrappers were not written against."""
    global _installed
    if _installed:
        return
    if not version.VERSION.startswith("11."):
        raise RuntimeError(
            f"backworks_cli.host.mitm_http1 supports mitmproxy 11, not {version.VERSION}"
        )
    _http1.make_body_reader = _make_body_reader
    connection = _http1.Http1Connection
    connection.read_body = _with_trailers(connection.read_body)
    for writer, kinds in (
        (_http1.Http1Server, (layers.ResponseTrailers, layers.ResponseEndOfMessage)),
        (_http1.Http1Client, (layers.RequestTrailers, layers.RequestEndOfMessage)),
    ):
        writer.send = _sending_trailers(writer.send, *kinds)
    server = _http1.Http1Server
    server.read_headers = _skipping_blank_lines(server.read_headers)
    stream = layers.HttpStream
    stream.check_body_size = _limiting_request_bodies(stream.check_body_size)
    _installed = True


Commands = Generator[Any, Any, Any]


def _rewrite(commands_: Commands, change: Callable[[Any], list]) -> Commands:
    """Delegate to a command generator, yielding what `change` makes of each of its commands
    (a list: none, that one, or more) and passing answers back to it."""
    answer = None
    while True:
        try:
            command = commands_.send(answer)
        except StopIteration as done:
            return done.value
        made = change(command)
        yield from made[:-1]
        answer = (yield made[-1]) if made else None


# --- chunked trailers ----------------------------------------------------------------------


class _TrailerKeepingReader(ChunkedReader):
    """h11's chunked reader, ending with an EndOfMessage without headers; the trailers it read
    are kept in `trailers` for the connection to hand on."""

    trailers: list[tuple[bytes, bytes]] | None = None

    def __call__(self, buf):  # type: ignore[override]
        event = super().__call__(buf)
        if isinstance(event, h11.EndOfMessage) and event.headers:
            self.trailers = event.headers.raw_items()
            return h11.EndOfMessage()
        return event


def _make_body_reader(expected_size: int | None):
    return _TrailerKeepingReader() if expected_size is None else _MAKE_BODY_READER(expected_size)


_MAKE_BODY_READER = _http1.make_body_reader


def _with_trailers(read_body: Callable) -> Callable:
    """Http1Connection.read_body, handing on a chunked body's trailers just before its end."""

    def wrapped(self, event: events.Event) -> Commands:
        if not isinstance(self.body_reader, _TrailerKeepingReader):  # not chunked: no trailers
            return (yield from read_body(self, event))

        def change(command: Any) -> list:
            if isinstance(command, layers.ReceiveHttp) and isinstance(
                command.event, layers.RequestEndOfMessage | layers.ResponseEndOfMessage
            ):
                trailers = getattr(self.body_reader, "trailers", None)
                if trailers:
                    self.body_reader.trailers = None
                    kind = (
                        layers.RequestTrailers
                        if isinstance(command.event, layers.RequestEndOfMessage)
                        else layers.ResponseTrailers
                    )
                    headed = layers.ReceiveHttp(
                        kind(command.event.stream_id, http.Headers(trailers))
                    )
                    return [headed, command]
            return [command]

        return (yield from _rewrite(read_body(self, event), change))

    return wrapped


def _sending_trailers(send: Callable, trailers_kind: type, end_kind: type) -> Callable:
    """Http1Server.send or Http1Client.send, writing trailers after the last chunk."""

    def wrapped(self, event: Any) -> Commands:
        if isinstance(event, trailers_kind):
            self.backworks_trailers = event.trailers
            return None
        pending = None
        if isinstance(event, end_kind):
            pending, self.backworks_trailers = getattr(self, "backworks_trailers", None), None
        if not pending:  # the common case, passed on as it is
            return (yield from send(self, event))

        def change(command: Any) -> list:
            if pending and isinstance(command, commands.SendData) and command.data == _LAST_CHUNK:
                return [commands.SendData(command.connection, b"0\r\n" + bytes(pending) + b"\r\n")]
            return [command]

        return (yield from _rewrite(send(self, event), change))

    return wrapped


# --- empty lines before a request line -----------------------------------------------------


def _skipping_blank_lines(read_headers: Callable) -> Callable:
    def wrapped(self, event: events.Event) -> Commands:
        buf = self.buf
        # A cheap look first: true when the next byte is below "!" (CR and LF are).
        if (
            isinstance(event, events.DataReceived)
            and buf.is_next_line_obviously_invalid_request_line()
        ):
            data = bytes(buf)
            blank = len(data) - len(data.lstrip(b"\r\n"))
            if blank:
                buf.maybe_extract_at_most(blank)
        return (yield from read_headers(self, event))

    return wrapped


# --- request bodies over a limit -----------------------------------------------------------


def _limiting_request_bodies(check_body_size: Callable) -> Callable:
    def wrapped(self, request: bool) -> Commands:
        limit = getattr(self.context.options, BODY_LIMIT, None) if request else None
        if limit is not None:
            size = len(self.request_body_buf)
            if not size:
                try:
                    size = expected_http_body_size(self.flow.request) or 0
                except ValueError:  # a malformed Content-Length is the parser's to refuse
                    size = 0
            if size > limit:
                yield from _refuse_body(self, limit)
                return True
        return (yield from check_body_size(self, request))

    return wrapped


def _refuse_body(stream: Any, limit: int) -> Commands:
    """Answer a request whose body is over `limit` through the `request` hook, unread, then
    close the connection (the client may still be sending)."""
    flow = stream.flow
    if not stream.request_body_buf:  # the headers hook has not run yet
        yield layers.HttpRequestHeadersHook(flow)
    stream.request_body_buf.clear()
    stream.client_state = stream.state_errored
    flow.request.data.content = b""
    flow.metadata[BODY_OVER] = limit
    yield layers.HttpRequestHook(flow)
    if flow.response is None:
        flow.response = http.Response.make(413, b"request body too large\n")
    yield layers.HttpResponseHeadersHook(flow)
    yield from stream.send_response()
    flow.live = False
    yield layers.SendHttp(
        layers.ResponseProtocolError(stream.stream_id, "request body too large", NO_RESPONSE),
        stream.context.client,
    )
