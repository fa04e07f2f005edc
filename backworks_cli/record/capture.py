"""Capture: a mitmproxy addon that records every exchange into the store, redacted, before the
response is released to the client; the admin API's journal rows for finished flows; and the
runner behind `backworks capture`, `serve` and `certs`. The addon of `backworks serve` is in
backworks_cli.host.serve_proxy, which runs on this module's runner.

This module and backworks_cli.host.serve_proxy are the only ones in the package that import mitmproxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mitmproxy import http
from mitmproxy.addons import block, core, disable_h2c, next_layer, proxyserver, tlsconfig
from mitmproxy.master import Master
from mitmproxy.net import encoding as mitm_encoding
from mitmproxy.options import Options

from backworks_cli.host import admin
from backworks_cli.config.model import Config, RedactConfig
from backworks_cli.answer.drift import DriftCheck
from backworks_cli.answer.engine import Router
from backworks_cli.core.errors import BackworksError, NetworkError, StoreError
from backworks_cli.core.exchange import Exchange, Message, Request, Response
from backworks_cli.core.ports import check_port_free
from backworks_cli.host.serve import ServeHost, ServeOptions
from backworks_cli.record.store import Store

logger = logging.getLogger("backworks.capture")

MAX_BODY = 64 * 1024 * 1024  # bytes kept per body; the rest is counted and noted, never silent
DRAIN_SECONDS = 10.0  # how long a graceful stop waits for in-flight exchanges


def backworks_home() -> Path:
    return Path(os.environ.get("BACKWORKS_HOME") or Path.home() / ".backworks")


def certs_dir() -> Path:
    return backworks_home() / "certs"


def parse_listen(value: str, option: str = "--listen") -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` or `PORT` -> (host, port); host defaults to loopback. `option`
    names the command-line option in the error."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 < number < 65536:
        raise BackworksError(
            f"{option} {value!r} is not HOST:PORT with a port from 1 to 65535.",
            f"Use e.g. {option} 127.0.0.1:8080.",
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
    admin: tuple[str, int] | None = None  # where the admin API listens; None: nowhere
    config: Config | None = None  # backworks.yaml: its endpoints name exchanges in the admin API


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
        if self.on_recorded is not None:
            self.on_recorded(flow)

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


# --- the admin API's journal: rows for flows a capture recorded or serve answered ----------


class _Kept:
    """A request or response of a finished flow as the admin API's journal reads it (headers
    as pairs, the decoded body), converted only when someone asks for it."""

    __slots__ = ("_message",)

    def __init__(self, message: http.Message):
        self._message = message

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        return _pairs(self._message.headers)

    @property
    def body(self) -> bytes:
        return self._message.get_content(strict=False) or b""


def journal_row(flow: http.HTTPFlow, row: tuple, status: int, how: tuple) -> tuple:
    """An admin.Stats journal row for a finished flow: `row` is (start as perf_counter, method,
    path, query), `how` is (endpoint, mode, how, detail, fault); the request as received (or
    forwarded) and the response as sent are kept when their bodies are small."""
    start, method, path, query = row
    endpoint, mode, how_, detail, fault = how
    small = admin.KEEP_BODY
    sent = flow.response if status else None
    return (
        start,
        method,
        path,
        query.encode("utf-8", "surrogateescape"),
        endpoint,
        mode,
        how_,
        status,
        time.perf_counter() - start,
        detail,
        fault,
        _Kept(flow.request) if len(flow.request.raw_content or b"") <= small else None,
        _Kept(sent) if sent and len(sent.raw_content or b"") <= small else None,
    )


def started_at(request: http.Request) -> float:
    """When the request arrived, on the perf_counter clock the journal uses."""
    return time.perf_counter() - (time.time() - request.timestamp_start)


class _Named:
    """A capture's engine, as its admin API sees it: backworks.yaml's endpoints routed, so the
    journal names the endpoint of each recorded exchange and /endpoints lists them with mode
    "capture". Nothing is answered here: every request goes to the upstream."""

    def __init__(self, endpoints: list) -> None:
        self._router = Router()
        for endpoint in endpoints:
            self._router.add(endpoint)
        self._rows = [
            {
                "name": e.name,
                "path": e.path,
                "methods": list(e.methods),
                "mode": "capture",
                "recordings": 0,
            }
            for e in endpoints
        ]

    def name(self, method: str, path: str) -> str | None:
        found = self._router.resolve(method.upper(), path)
        return found[0].endpoint if found.__class__ is tuple else None

    def endpoints(self) -> list[dict]:
        return self._rows

    def modes(self) -> dict:
        return {}

    def reset(self) -> None:
        """A capture keeps no state to reset."""


def _capture_host(options: CaptureOptions, log: Callable[[str], None]) -> ServeHost | None:
    """The admin API of a capture, or None when --admin is off. It watches no configuration:
    the endpoints and schemas of backworks.yaml as it was at start name the exchanges and are
    what drift is checked against."""
    if options.admin is None:
        return None
    admin_host, admin_port = options.admin
    serve = ServeOptions(
        Config(),
        listen_host=options.listen_host,
        listen_port=options.listen_port,
        admin_host=admin_host,
        admin_port=admin_port,
    )
    config = options.config or Config()
    host = ServeHost(_Named(config.endpoint_list()), serve, log)
    host.stats.drift = DriftCheck(config)
    return host


def _report(host: ServeHost) -> Callable[[http.HTTPFlow], None]:
    """What tells the admin API of each exchange the capture recorded."""
    name = host.engine.name

    def recorded(flow: http.HTTPFlow) -> None:
        r = flow.request
        path, _, query = r.path.partition("?")
        if flow.response is not None:
            status = flow.response.status_code
        else:  # mitmproxy answered 502 if the client was still there
            status = 502 if flow.client_conn.connected else 0
        row = (started_at(r), r.method, path, query)
        how = (name(r.method, path), "capture", "recorded", None, None)
        host.record(journal_row(flow, row, status, how))

    return recorded


def check_addresses(listen: tuple[str, int], admin_at: tuple[str, int] | None) -> None:
    """NetworkError (exit 5) unless the main port and the admin port are distinct and free."""
    if admin_at is not None and listen == admin_at:
        raise BackworksError(
            f"--admin {admin_at[0]}:{admin_at[1]} is the --listen address too.",
            "Give the admin API a port of its own, e.g. the main port + 1 (the default).",
        )
    check_port_free(*listen)
    if admin_at is not None:
        check_port_free(*admin_at, option="--admin HOST:PORT")


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


def proxy_settings(options: CaptureOptions | None = None) -> dict:
    """The options that mitmproxy's addons declare, set once the addons are added."""
    settings: dict = {"connection_strategy": "lazy"}
    if options is not None:
        settings["ssl_insecure"] = options.insecure
        if options.upstream_ca:
            settings["ssl_verify_upstream_trusted_ca"] = str(options.upstream_ca)
    return settings


class _StderrErrors(logging.Handler):
    """mitmproxy's own warnings and errors (TLS failures, bad requests) reach the user."""

    def __init__(self, log: Callable[[str], None]):
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "Error logged during startup" not in message:
            self.log(f"proxy: {message}")


def open_recorder(store_path: Path, redact: RedactConfig | None, **options) -> Recorder:
    """A Recorder over the store at `store_path` (created if need be), redacting unless
    `redact` is None or disabled; the caller closes recorder.store."""
    store = Store.open(store_path, create=True)
    try:
        redactor = None
        if redact is not None and redact.enabled:
            from backworks_cli.record.redact import Redactor

            redactor = Redactor(store.redaction_key(), redact)
        return Recorder(store, redactor=redactor, **options)
    except BaseException:
        store.close()
        raise


def run_capture(
    options: CaptureOptions, *, log: Callable[[str], None], control: InThread | None = None
) -> CaptureSummary:
    """Run the capture proxy until SIGINT/SIGTERM (or `control.stop()` when it runs on a
    thread of its own); returns what was recorded."""
    mode = _mode(options)
    check_addresses((options.listen_host, options.listen_port), options.admin)
    host = _capture_host(options, log)
    recorder = open_recorder(
        options.store_path,
        options.redact,
        session=options.session,
        include=options.include,
        exclude=options.exclude,
        max_body=options.max_body,
        on_recorded=_report(host) if host else None,
    )

    def ready() -> str:
        where = f"http://{options.listen_host}:{options.listen_port}"
        target = "as an HTTP(S) proxy" if options.forward else f"-> {options.upstream}"
        redaction = "on" if recorder.redactor else "OFF"
        watch = f" Admin API: {host.admin_url}{admin.PREFIX}." if host else ""
        return (
            f"Listening on {where} {target}; recording to {recorder.store.path} "
            f"(session {recorder.session!r}, redaction {redaction}).{watch} Ctrl-C to stop."
        )

    proxy = Proxy(
        mode,
        options.listen_host,
        options.listen_port,
        [recorder],
        proxy_settings(options),
        ready,
        lambda: recorder.in_flight,
        recorder,
    )
    try:
        run_with_admin(proxy, host, log, control)
    finally:
        recorder.store.close()
    recorder.summary.stopped = time.monotonic()
    if recorder.fatal:
        log(recorder.summary.render())
        raise recorder.fatal
    return recorder.summary


def run_with_admin(
    proxy: Proxy,
    host: ServeHost | None,
    log: Callable[[str], None],
    control: InThread | None = None,
) -> None:
    """Run the proxy with the admin API on its own port beside it (when there is a host)."""
    try:
        if host is not None:
            host.start_admin()
        asyncio.run(_run(proxy, log, control))
    finally:
        if host is not None:
            host.stop_admin()


@dataclass
class Proxy:
    """What the runner starts: mitmproxy's mode and address, the addons, the mitmproxy
    options set once they are loaded, the line that says it is ready, how many exchanges a
    graceful stop waits for, and the Recorder whose failure stops it."""

    mode: str
    host: str
    port: int
    addons: list
    settings: dict
    ready: Callable[[], str]
    busy: Callable[[], int]
    recorder: Recorder | None
    # What stops the proxy when a recorder fails; set by the runner, for recorders opened later.
    on_fatal: Callable[[BackworksError], None] | None = None


class InThread:
    """A capture or serve proxy on a thread of its own, for --tui, whose main thread runs the
    dashboard. `start` returns once the proxy listens, or raises what stopped it; `stop` stops
    it as SIGINT would (in-flight exchanges drain and are recorded) and returns what the run
    returned. Signals stay with the main thread: the runner installs no handlers here."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: Callable[[], None] | None = None
        self._result: Any = None
        self._error: BaseException | None = None

    def start(self, run: Callable[[InThread], Any]) -> Callable[[], Any]:
        """Call `run(self)` on a new thread (it passes this object on to the runner); returns
        `stop`."""

        def target() -> None:
            try:
                self._result = run(self)
            except BaseException as exc:  # handed to the main thread, which reports it
                self._error = exc
            finally:
                self._listening.set()

        self._thread = threading.Thread(target=target, name="backworks-proxy", daemon=True)
        self._thread.start()
        if not self._listening.wait(self.timeout):
            self.stop()
            raise NetworkError(
                f"The proxy did not start listening within {self.timeout:g} s.",
                "Check that the address can be bound, or run without --tui to see its messages.",
            )
        if self._error is not None:
            self._thread.join(self.timeout)
            raise self._error
        return self.stop

    def stop(self) -> Any:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(stop)
        if self._thread is not None:
            self._thread.join(DRAIN_SECONDS + self.timeout)
        if self._error is not None:
            raise self._error
        return self._result

    def _attach(self, loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> None:
        self._loop, self._stop = loop, stop

    def _listens(self) -> None:
        self._listening.set()


async def _run(proxy: Proxy, log: Callable[[str], None], control: InThread | None = None) -> None:
    loop = asyncio.get_running_loop()
    master = Master(
        Options(
            mode=[proxy.mode],
            listen_host=proxy.host,
            listen_port=proxy.port,
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
        log(proxy.ready())
        if control is not None:
            control._listens()

    async def drain_and_stop() -> None:
        """Stop accepting, let in-flight exchanges finish (and be recorded), then exit."""
        proxyserver = master.addons.get("proxyserver")
        await proxyserver.servers.update([])
        deadline = loop.time() + DRAIN_SECONDS
        while proxy.busy() > 0 and loop.time() < deadline:
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

    proxy.on_fatal = on_fatal
    if proxy.recorder is not None:
        proxy.recorder.on_fatal = on_fatal
    master.addons.add(*proxy_addons())
    master.addons.add(*proxy.addons, _Lifecycle(announce))
    master.options.update(**proxy.settings)
    signals = () if control is not None else (signal.SIGINT, signal.SIGTERM)
    if control is not None:
        control._attach(loop, on_signal)
    for sig in signals:
        loop.add_signal_handler(sig, on_signal)
    try:
        await master.run()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        logging.getLogger("mitmproxy").removeHandler(handler)
    if bind_error:
        raise NetworkError(
            f"Cannot listen on {proxy.host}:{proxy.port}: {bind_error[0]}",
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
