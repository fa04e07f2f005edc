"""Capture: a mitmproxy addon that records every exchange into the store, redacted, before the
response is released to the client; and the runner behind `backworks capture` and `certs`.

This is the only module that imports mitmproxy.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from mitmproxy import http
from mitmproxy.addons import block, core, disable_h2c, next_layer, proxyserver, tlsconfig
from mitmproxy.master import Master
from mitmproxy.net import encoding as mitm_encoding
from mitmproxy.options import Options

from backworks_cli.config import RedactConfig
from backworks_cli.errors import BackworksError, NetworkError, StoreError
from backworks_cli.exchange import Exchange, Message, Request, Response
from backworks_cli.ports import check_port_free
from backworks_cli.store import Store

logger = logging.getLogger("backworks.capture")

MAX_BODY = 64 * 1024 * 1024  # bytes kept per body; the rest is counted and noted, never silent
DRAIN_SECONDS = 10.0  # how long a graceful stop waits for in-flight exchanges


def backworks_home() -> Path:
    return Path(os.environ.get("BACKWORKS_HOME") or Path.home() / ".backworks")


def certs_dir() -> Path:
    return backworks_home() / "certs"


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` or `PORT` -> (host, port); host defaults to loopback."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 < number < 65536:
        raise BackworksError(
            f"--listen {value!r} is not HOST:PORT with a port from 1 to 65535.",
            "Use e.g. --listen 127.0.0.1:8080.",
        )
    return host, number


@dataclass(frozen=True)
class CaptureOptions:
    upstream: str | None
    store_path: Path
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    forward: bool = False
    session: str = "default"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    redact: RedactConfig | None = field(default_factory=RedactConfig)  # None: redaction off
    upstream_ca: Path | None = None
    insecure: bool = False
    max_body: int = MAX_BODY


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


def _pairs(headers: http.Headers) -> tuple[tuple[str, str], ...]:
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
        headers=_pairs(r.headers),
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
        headers=_pairs(r.headers),
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
        redactor,  # backworks_cli.redact.Redactor, or None when redaction is off
        session: str,
        include: tuple[str, ...] = (),
        exclude: tuple[str, ...] = (),
        max_body: int = MAX_BODY,
        on_fatal: Callable[[BackworksError], None] | None = None,
    ):
        self.store = store
        self.redactor = redactor
        self.session = session
        self.include = include
        self.exclude = exclude
        self.max_body = max_body
        self.on_fatal = on_fatal
        self.summary = CaptureSummary(store_path=store.path)
        self.in_flight = 0
        self.fatal: BackworksError | None = None
        self._open_websockets: dict[str, http.HTTPFlow] = {}

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

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get("backworks_skip"):
            return
        if flow.websocket is not None:
            # The handshake is recorded with its messages when the connection ends.
            self._open_websockets[flow.id] = flow
            self._done(flow)
            return
        streamed = "backworks_resp_tee" in flow.metadata
        kind = (
            "sse"
            if "text/event-stream" in flow.response.headers.get("content-type", "")
            else "http"
        )
        self._record(flow, kind=kind, released=streamed)

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get("backworks_skip") or not flow.metadata.get("backworks_live"):
            return
        if flow.websocket is not None:
            return
        self._record(flow, kind="http", released=False)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        if self._open_websockets.pop(flow.id, None) is None:
            return
        self._record(flow, kind="websocket", released=True)

    def done(self) -> None:
        for flow in list(self._open_websockets.values()):
            self.websocket_end(flow)

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

    def _record(self, flow: http.HTTPFlow, *, kind: str, released: bool) -> None:
        self._done(flow)
        try:
            exchange = self.exchange(flow, kind)
            if self.redactor is not None:
                exchange = self.redactor.exchange(exchange)
            self.store.add(exchange)
        except StoreError as error:
            self._fail(flow, error, released)
            return
        self.summary.recorded[(exchange.request.method, exchange.request.path)] += 1
        if exchange.error:
            self.summary.errors += 1

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


def proxy_addons() -> list:
    """The mitmproxy addons a recording proxy needs. mitmdump loads some thirty more (scripting,
    replay, body rewriting…) that backworks does not expose and every flow would pass through."""
    return [
        core.Core(),
        block.Block(),
        disable_h2c.DisableH2C(),
        proxyserver.Proxyserver(),
        next_layer.NextLayer(),
        tlsconfig.TlsConfig(),
    ]


class _Lifecycle:
    """Addon that reports readiness and turns a failed listen into an error."""

    def __init__(self, on_running: Callable[[], None]):
        self.on_running = on_running

    def running(self) -> None:
        self.on_running()


def _mode(options: CaptureOptions) -> str:
    if options.forward:
        return "regular"
    if not options.upstream:
        raise BackworksError(
            "Nothing to capture from: no --upstream given and backworks.yaml has no `upstream`.",
            "Pass --upstream https://api.example.com, or --forward to run as an HTTP(S) proxy.",
        )
    parts = urlsplit(options.upstream)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackworksError(
            f"--upstream {options.upstream!r} is not an http:// or https:// URL.",
            "Use e.g. --upstream https://api.example.com.",
        )
    return f"reverse:{options.upstream}"


def _configure(master: Master, options: CaptureOptions) -> None:
    """Set the options that mitmproxy's addons declare; call after the addons are added."""
    master.options.update(
        connection_strategy="lazy",
        ssl_insecure=options.insecure,
    )
    if options.upstream_ca:
        master.options.update(ssl_verify_upstream_trusted_ca=str(options.upstream_ca))


class _StderrErrors(logging.Handler):
    """mitmproxy's own warnings and errors (TLS failures, bad requests) reach the user."""

    def __init__(self, log: Callable[[str], None]):
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "Error logged during startup" not in message:
            self.log(f"proxy: {message}")


def run_capture(options: CaptureOptions, *, log: Callable[[str], None]) -> CaptureSummary:
    """Run the capture proxy until SIGINT/SIGTERM; returns what was recorded."""
    mode = _mode(options)
    check_port_free(options.listen_host, options.listen_port)
    store = Store.open(options.store_path, create=True)
    try:
        redactor = None
        if options.redact is not None and options.redact.enabled:
            from backworks_cli.redact import Redactor

            redactor = Redactor(store.redaction_key(), options.redact)
        recorder = Recorder(
            store,
            redactor=redactor,
            session=options.session,
            include=options.include,
            exclude=options.exclude,
            max_body=options.max_body,
        )
        asyncio.run(_serve(options, mode, recorder, log))
    finally:
        store.close()
    recorder.summary.stopped = time.monotonic()
    if recorder.fatal:
        log(recorder.summary.render())
        raise recorder.fatal
    return recorder.summary


async def _serve(options: CaptureOptions, mode: str, recorder: Recorder, log) -> None:
    loop = asyncio.get_running_loop()
    master = Master(
        Options(
            mode=[mode],
            listen_host=options.listen_host,
            listen_port=options.listen_port,
            confdir=str(certs_dir()),
        )
    )
    handler = _StderrErrors(log)
    logging.getLogger("mitmproxy").addHandler(handler)
    logging.getLogger("mitmproxy").propagate = False
    stopping = asyncio.Event()
    tasks: set[asyncio.Task] = set()  # keeps the drain task referenced until the loop ends
    bind_error: list[str] = []

    def announce() -> None:
        proxyserver = master.addons.get("proxyserver")
        failed = [s for s in proxyserver.servers if s.last_exception is not None]
        if failed or not proxyserver.listen_addrs():
            reason = failed[0].last_exception if failed else "no listening socket"
            bind_error.append(str(reason))
            master.shutdown()
            return
        where = f"http://{options.listen_host}:{options.listen_port}"
        target = "as an HTTP(S) proxy" if options.forward else f"-> {options.upstream}"
        redaction = "on" if recorder.redactor else "OFF"
        log(
            f"Listening on {where} {target}; recording to {recorder.store.path} "
            f"(session {recorder.session!r}, redaction {redaction}). Ctrl-C to stop."
        )

    async def drain_and_stop() -> None:
        """Stop accepting, let in-flight exchanges finish and be recorded, then exit."""
        proxyserver = master.addons.get("proxyserver")
        await proxyserver.servers.update([])
        deadline = loop.time() + DRAIN_SECONDS
        while recorder.in_flight > 0 and loop.time() < deadline:
            await asyncio.sleep(0.02)
        master.shutdown()

    def on_signal() -> None:
        if stopping.is_set():
            master.shutdown()
            return
        stopping.set()
        tasks.add(loop.create_task(drain_and_stop()))

    def on_fatal(error: BackworksError) -> None:
        stopping.set()
        tasks.add(loop.create_task(drain_and_stop()))

    recorder.on_fatal = on_fatal
    master.addons.add(*proxy_addons())
    master.addons.add(recorder, _Lifecycle(announce))
    _configure(master, options)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        await master.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        logging.getLogger("mitmproxy").removeHandler(handler)
    if bind_error:
        raise NetworkError(
            f"Cannot listen on {options.listen_host}:{options.listen_port}: {bind_error[0]}",
            "Stop the other process or choose another port with --listen HOST:PORT.",
        )


@dataclass(frozen=True)
class CAInfo:
    directory: Path
    pem: Path

    def render(self) -> str:
        return (
            f"Capture CA certificate: {self.pem}\n"
            f"(directory {self.directory}; set BACKWORKS_HOME to keep it elsewhere)\n\n"
            "`backworks capture --forward` intercepts HTTPS with certificates signed by this CA.\n"
            "Trust it in the client you capture from, for example:\n"
            f"  curl --cacert {self.pem} --proxy http://127.0.0.1:8080 https://api.example.com/\n"
            f"  REQUESTS_CA_BUNDLE={self.pem} SSL_CERT_FILE={self.pem} "
            "HTTPS_PROXY=http://127.0.0.1:8080 python app.py\n"
            f"  NODE_EXTRA_CA_CERTS={self.pem} HTTPS_PROXY=http://127.0.0.1:8080 node app.js\n"
            "or system-wide on Debian/Ubuntu:\n"
            f"  sudo cp {self.pem} /usr/local/share/ca-certificates/backworks.crt "
            "&& sudo update-ca-certificates\n"
            "Keep the CA's private key (mitmproxy-ca.pem beside it) to yourself."
        )


def ensure_ca() -> CAInfo:
    """Create the capture CA if it does not exist yet and say where it is."""
    from mitmproxy.certs import CertStore

    directory = certs_dir()
    directory.mkdir(parents=True, exist_ok=True)
    CertStore.from_store(directory, "mitmproxy", 2048)
    return CAInfo(directory=directory, pem=directory / "mitmproxy-ca-cert.pem")


__all__ = [
    "CaptureOptions",
    "CaptureSummary",
    "Recorder",
    "ensure_ca",
    "parse_listen",
    "run_capture",
]
