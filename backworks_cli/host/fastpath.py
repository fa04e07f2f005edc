"""uvicorn's httptools protocol with a shortcut for stable answers, the HTTP protocol of
`backworks mock`.

A request whose answer the mock already knows to be stable (a replay or a generated answer that
the same request always gets, see host.mock.MockApp.stable_wire) is answered from the parser's
callbacks: its bytes are written to the transport and the request is counted like any other,
without an ASGI scope, task or message. Everything else, and any request the shortcut is unsure
of (HTTP/1.0, `Connection: close`, `Expect: 100-continue`, HEAD, upgrades, a pipelined request
behind one still being answered, a body over the app's `stable_body`, a paused transport), goes
through the ASGI app exactly as with uvicorn's own protocol. Apps other than the mock are
never shortcut: an app takes part by having `stable_urls`, `stable_body` and
`stable_wire`, so this module needs nothing from the mock host.

A request the parser refuses gets a JSON 400 with the parser's reason (host.refusals), not
uvicorn's plain "Invalid HTTP request received.". This leans on uvicorn's HttpToolsProtocol
internals (its parser callbacks, `data_received`, `cycle`, `pipeline` and
`on_response_complete`), hence the upper bound on uvicorn in pyproject.toml; the tests
send every request shape above over a socket and compare both paths byte for byte.
"""

from __future__ import annotations

import json
import time

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from backworks_cli.host import refusals


class ReplayProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that answers the mock's stable answers from the parser callbacks."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        app = self.app
        self.mock = app if getattr(app, "stable_urls", None) is not None else None
        self._limit = getattr(app, "stable_body", 0)
        self._held: str | None = None  # the method of a request held back for the shortcut
        self._held_body = b""
        self._date: tuple[object, bytes] = (None, b"")

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        mock = self.mock
        if mock is not None and self.server and self.server[1] == getattr(mock, "admin_port", None):
            self.mock = None  # the admin API's own address answers nothing else, so no shortcut

    def data_received(self, data: bytes) -> None:
        # As uvicorn's, but a request the parser refuses gets a 400 that names what is wrong,
        # in JSON like every refusal of serve's too.
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserInvalidMethodError:
            self._refuse(refusals.NOT_A_TOKEN)
        except httptools.HttpParserInvalidURLError:  # llhttp takes printable ASCII only
            self._refuse(refusals.NOT_ASCII)
        except httptools.HttpParserError as error:
            self._refuse(f"not valid HTTP/1.1: {error or 'the parser refused it'}")

    def _refuse(self, reason: str) -> None:
        body = json.dumps(refusals.bad_request(reason)).encode()
        defaults = self.server_state.default_headers
        head = b"".join(b"%s: %s\r\n" % pair for pair in defaults)
        framing = b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body)
        self.transport.write(
            b"".join((STATUS_LINE[400], head, framing, b"connection: close\r\n\r\n", body))
        )
        self.transport.close()

    def on_headers_complete(self) -> None:
        # A shortcut answer armed the keep-alive timer; a request behind it in the same read
        # must not be timed out while it is answered.
        self._unset_keepalive_if_required()
        mock = self.mock
        if (
            mock is not None
            and (self.cycle is None or self.cycle.response_complete)
            and not self.pipeline
            and not self.expect_100_continue
        ):
            parser = self.parser
            method = parser.get_method().decode("ascii")
            if (
                (method, self.url) in mock.stable_urls
                and parser.get_http_version() == "1.1"
                and parser.should_keep_alive()
                and not parser.should_upgrade()
            ):
                self._held, self._held_body = method, b""
                return
        self._held = None
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._held is None:
            super().on_body(body)
            return
        self._held_body += body
        if len(self._held_body) > self._limit:
            self._release()

    def on_message_complete(self) -> None:
        method = self._held
        if method is None:
            super().on_message_complete()
            return
        if not self.flow.write_paused:
            path, _, qs = self.url.partition(b"?")
            now = time.perf_counter()
            wire = self.mock.stable_wire(method, path, qs, self._held_body, self.headers, now)
            if wire is not None:
                self._held, self._held_body = None, b""
                self.transport.write(b"".join((STATUS_LINE[wire[0]], self._date_lines(), wire[1])))
                self.on_response_complete()
                return
        self._release()
        super().on_message_complete()

    def _release(self) -> None:
        """Hand the held request to the ASGI app after all, with the body read so far."""
        body, self._held_body, self._held = self._held_body, b"", None
        super().on_headers_complete()
        if body:
            super().on_body(body)

    def _date_lines(self) -> bytes:
        """uvicorn's default headers (Date, refreshed every second) as wire bytes."""
        headers = self.server_state.default_headers
        if self._date[0] is not headers:
            self._date = (headers, b"".join(b"%s: %s\r\n" % pair for pair in headers))
        return self._date[1]
