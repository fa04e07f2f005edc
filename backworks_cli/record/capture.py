"""The capture addon: a stock-looking mitmproxy addon (`Recorder`) that turns every finished
flow into an Exchange and writes it to the store, redacted, before the response is released
to the client; and the conversions from mitmproxy's flows it uses. What runs mitmproxy is in
host/ (runner.py, capture_proxy.py, serve_proxy.py); what the Recorder needs from above (the
admin API's journal) is handed in as `on_recorded`.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from mitmproxy import http
from mitmproxy.net import encoding as mitm_encoding

from backworks_cli.config.model import RedactConfig
from backworks_cli.core.errors import BackworksError, StoreError
from backworks_cli.core.exchange import Exchange, Message, Request, Response
from backworks_cli.record.store import Pending, Store

logger = logging.getLogger("backworks.capture")


MAX_BODY = 64 * 1024 * 1024  # bytes kept per body; the rest is counted and noted, never silent


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # called outside an event loop (import, tests): written at once
        return None


@dataclass
class CaptureSummary:
    recorded: Counter = field(default_factory=Counter)  # (method, path) -> exchanges
    errors: int = 0
    skipped: int = 0
    started: float = field(default_factory=time.monotonic)
    stopped: float | None = None
    store_path: Path | None = None

    def render(self) -> str:
        total = sum(self.recorded.values())
        seconds = (self.stopped or time.monotonic()) - self.started
        lines = [
            f"Recorded {total} exchange(s) in {seconds:.1f}s into {self.store_path}"
            f" ({self.errors} with errors, {self.skipped} not recorded by --include/--exclude)."
        ]
        if total:
            width = max(len(method) for method, _ in self.recorded)
            for (method, path), count in sorted(
                self.recorded.items(), key=lambda kv: (-kv[1], kv[0])
            ):
                lines.append(f"  {count:>6}  {method:<{width}}  {path}")
        return "\n".join(lines)


def pairs(headers: http.Headers) -> tuple[tuple[str, str], ...]:
    return tuple(headers.items(multi=True))


def _body(message: http.Message, streamed: bytearray | None) -> bytes:
    """The decoded body; streamed bodies come from the tee buffer and are decoded here."""
    if streamed is not None:
        raw = bytes(streamed)
        enc = message.headers.get("content-encoding")
        if enc and raw:
            try:
                return mitm_encoding.decode(raw, enc)
            except ValueError:
                return raw
        return raw
    content = message.get_content(strict=False)
    return content or b""


def _encoding(message: http.Message) -> str | None:
    enc = message.headers.get("content-encoding", "").strip().lower()
    return enc or None


def to_request(flow: http.HTTPFlow) -> Request:
    r = flow.request
    return Request(
        method=r.method,
        path=r.path.split("?", 1)[0],
        query=tuple(r.query.items(multi=True)),
        headers=pairs(r.headers),
        body=_body(r, None),
        scheme=r.scheme,
        host=r.host,
        port=r.port,
        http_version=r.http_version,
        encoding=_encoding(r),
    )


def to_response(flow: http.HTTPFlow) -> Response | None:
    r = flow.response
    if r is None:
        return None
    return Response(
        status=r.status_code,
        headers=pairs(r.headers),
        body=_body(r, flow.metadata.get("backworks_resp_tee")),
        reason=r.reason,
        http_version=r.http_version,
        encoding=_encoding(r),
    )


def sse_messages(body: bytes, timestamp: float) -> tuple[Message, ...]:
    """Split a text/event-stream body into its events (blank-line separated blocks)."""
    text = body.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    blocks = [b for b in text.split("\n\n") if b.strip()]
    return tuple(Message("server", b.encode(), True, timestamp) for b in blocks)


class Recorder:
    """The mitmproxy addon: one exchange per flow, written before the client sees the answer."""

    def __init__(
        self,
        store: Store,
        *,
        redactor,  # backworks_cli.record.redact.Redactor, or None when redaction is off
        session: str,
        include: tuple[str, ...] = (),
        exclude: tuple[str, ...] = (),
        max_body: int = MAX_BODY,
        on_fatal: Callable[[BackworksError], None] | None = None,
        on_recorded: Callable[[http.HTTPFlow], None] | None = None,
    ):
        self.store = store
        self.redactor = redactor
        self.session = session
        self.include = include
        self.exclude = exclude
        self.max_body = max_body
        self.on_fatal = on_fatal
        self.on_recorded = on_recorded  # told of each exchange once it is in the store
        self.summary = CaptureSummary(store_path=store.path)
        self.in_flight = 0
        self.fatal: BackworksError | None = None
        self._open_websockets: dict[str, http.HTTPFlow] = {}
        self._pending: Pending | None = None  # written, not yet committed
        self._batch: list[tuple[http.HTTPFlow, Exchange, asyncio.Future]] = []

    # -- which flows are recorded ----------------------------------------------------------

    def wanted(self, path: str) -> bool:
        if self.include and not any(fnmatch.fnmatchcase(path, g) for g in self.include):
            return False
        return not any(fnmatch.fnmatchcase(path, g) for g in self.exclude)

    def _tee(self, flow: http.HTTPFlow) -> Callable[[bytes], bytes]:
        """Pass a streamed response body through to the client while keeping a copy."""
        buffer = flow.metadata["backworks_resp_tee"] = bytearray()

        def tee(data: bytes) -> bytes:
            room = self.max_body - len(buffer)
            buffer.extend(data[: max(room, 0)])
            if len(data) > room:
                flow.metadata["backworks_dropped"] = (
                    flow.metadata.get("backworks_dropped", 0) + len(data) - max(room, 0)
                )
            return data

        return tee

    # -- mitmproxy hooks -------------------------------------------------------------------

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if self.fatal:
            flow.kill()
            return
        path = flow.request.path.split("?", 1)[0]
        if not self.wanted(path):
            flow.metadata["backworks_skip"] = True
            self.summary.skipped += 1
            return
        self.in_flight += 1
        flow.metadata["backworks_live"] = True

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        # Event streams must reach the client as they come; everything else is buffered so that
        # it is recorded before the client sees it.
        response = flow.response
        if flow.metadata.get("backworks_skip") or response is None:
            return
        if "text/event-stream" in response.headers.get("content-type", ""):
            response.stream = self._tee(flow)

    def response(self, flow: http.HTTPFlow) -> asyncio.Future | None:
        if flow.metadata.get("backworks_skip"):
            return None
        if flow.websocket is not None:
            # The handshake is recorded with its messages when the connection ends.
            self._open_websockets[flow.id] = flow
            self._done(flow)
            return None
        streamed = "backworks_resp_tee" in flow.metadata
        kind = (
            "sse"
            if "text/event-stream" in flow.response.headers.get("content-type", "")
            else "http"
        )
        return self._record(flow, kind=kind, released=streamed)

    def error(self, flow: http.HTTPFlow) -> asyncio.Future | None:
        if flow.metadata.get("backworks_skip") or not flow.metadata.get("backworks_live"):
            return None
        if flow.websocket is not None:
            return None
        return self._record(flow, kind="http", released=False)

    def websocket_end(self, flow: http.HTTPFlow) -> asyncio.Future | None:
        if self._open_websockets.pop(flow.id, None) is None:
            return None
        return self._record(flow, kind="websocket", released=True)

    def done(self) -> None:
        for flow in list(self._open_websockets.values()):
            self.websocket_end(flow)
        self.commit()

    # -- recording -------------------------------------------------------------------------

    def _done(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.pop("backworks_live", False):
            self.in_flight -= 1

    def _cap(self, request, response, notes, flow):
        """Bodies over max_body are cut there; how much was left out is noted, never silent."""
        if len(request.body) > self.max_body:
            notes.append(self._cut_note("request", len(request.body)))
            request = replace(request, body=request.body[: self.max_body])
        if response is not None and len(response.body) > self.max_body:
            notes.append(self._cut_note("response", len(response.body)))
            response = replace(response, body=response.body[: self.max_body])
        elif "backworks_dropped" in flow.metadata:
            seen = self.max_body + flow.metadata["backworks_dropped"]
            notes.append(self._cut_note("response", seen))
        return request, response

    def _cut_note(self, side: str, size: int) -> str:
        return f"{side} body truncated: {size} bytes seen, first {self.max_body} kept"

    def exchange(self, flow: http.HTTPFlow, kind: str) -> Exchange:
        request = to_request(flow)
        response = to_response(flow)
        notes = []
        if flow.error and not (kind == "websocket" and response is not None):
            notes.append(flow.error.msg)
        request, response = self._cap(request, response, notes, flow)
        messages: tuple[Message, ...] = ()
        if kind == "websocket" and flow.websocket is not None:
            messages = tuple(
                Message(
                    "client" if m.from_client else "server",
                    m.content,
                    m.is_text,
                    m.timestamp,
                )
                for m in flow.websocket.messages
            )
        elif kind == "sse" and response is not None:
            messages = sse_messages(response.body, flow.response.timestamp_end or time.time())
        end = None
        if flow.response is not None:
            end = flow.response.timestamp_end
        if kind == "websocket" and flow.websocket is not None and flow.websocket.timestamp_end:
            end = flow.websocket.timestamp_end
        start = flow.request.timestamp_start
        return Exchange(
            request=request,
            response=response,
            started_at=start,
            duration_ms=round((end - start) * 1000, 3) if end else None,
            session=self.session,
            error="; ".join(notes) or None,
            kind=kind,
            messages=messages,
        )

    def _record(self, flow: http.HTTPFlow, *, kind: str, released: bool) -> asyncio.Future | None:
        """Write the flow's exchange. On mitmproxy's event loop it joins the exchanges of
        this turn of the loop, which are committed together at the next (one COMMIT, not one
        each); the future returned, which mitmproxy awaits before it goes on with the flow,
        is done once the exchange is kept, so the response still waits for its recording."""
        try:
            exchange = self.exchange(flow, kind)
            if self.redactor is not None:
                exchange = self.redactor.exchange(exchange)
            loop = _running_loop()
            if loop is None:
                self.store.add(exchange)
            else:
                waiter = self._join(loop, flow, exchange)
                return None if released else waiter
        except StoreError as error:
            self._done(flow)
            self._fail(flow, error, released)
            return None
        self._kept(flow, exchange)
        return None

    def _join(
        self, loop: asyncio.AbstractEventLoop, flow: http.HTTPFlow, exchange: Exchange
    ) -> asyncio.Future:
        if self._pending is None:
            self._pending = self.store.pending()
            self._batch = []
            loop.call_soon(self.commit)
        waiter = loop.create_future()
        self._batch.append((flow, exchange, waiter))
        try:
            self._pending.add(exchange)
        except StoreError as error:
            self._settle(error)
        return waiter

    def commit(self) -> None:
        """Commit the exchanges written since the last commit and release their flows."""
        if self._pending is None:
            return
        try:
            self._pending.commit()
        except StoreError as error:
            self._pending.rollback()
            self._settle(error)
            return
        self._settle(None)

    def _settle(self, error: StoreError | None) -> None:
        batch, self._batch, self._pending = self._batch, [], None
        for flow, exchange, waiter in batch:
            if error is None:
                self._kept(flow, exchange)
            else:
                self._done(flow)
                self._fail(flow, error, released=False)
            if not waiter.done():
                waiter.set_result(None)

    def _kept(self, flow: http.HTTPFlow, exchange: Exchange) -> None:
        self._done(flow)
        self.summary.recorded[(exchange.request.method, exchange.request.path)] += 1
        if exchange.error:
            self.summary.errors += 1
        if self.on_recorded is not None:
            self.on_recorded(flow)

    def close(self) -> None:
        """Commit what is pending and close the store."""
        self.commit()
        self.store.close()

    def _fail(self, flow: http.HTTPFlow, error: StoreError, released: bool) -> None:
        """The store cannot be written: hold back this response and stop capturing."""
        if not released and flow.killable:
            flow.kill()
        if self.fatal is None:
            self.fatal = StoreError(
                f"Capture stopped: could not record {flow.request.method} {flow.request.path}. "
                f"{error.message}",
                error.hint or "Free disk space or fix the store's permissions, then capture again.",
            )
            if self.on_fatal:
                self.on_fatal(self.fatal)


def open_recorder(store_path: Path, redact: RedactConfig | None, **options) -> Recorder:
    """A Recorder over the store at `store_path` (created if need be), redacting unless
    `redact` is None or disabled; the caller closes recorder.store."""
    store = Store.open(store_path, create=True)
    try:
        redactor = None
        if redact is not None and redact.enabled:
            from backworks_cli.record.redact import SESSION_MEMORY, Redactor

            redactor = Redactor(store.redaction_key(), redact, remember=SESSION_MEMORY)
        return Recorder(store, redactor=redactor, **options)
    except BaseException:
        store.close()
        raise
