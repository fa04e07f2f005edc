"""The mitmproxy runner behind `backworks capture` and `serve`: the addons a proxy needs, the
master on an event loop with graceful stops (SIGINT/SIGTERM, or a thread of its own for
--tui), the admin API on its own port beside it, and the journal rows of finished flows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mitmproxy import http
from mitmproxy.addons import block, core, disable_h2c, next_layer, proxyserver, tlsconfig
from mitmproxy.master import Master
from mitmproxy.options import Options

from backworks_cli.core.errors import BackworksError, NetworkError
from backworks_cli.core.ports import check_port_free
from backworks_cli.host import mitm_http1
from backworks_cli.host.admin_port import AdminPort
from backworks_cli.host.certs import certs_dir
from backworks_cli.host.stats import KEEP_BODY, Row
from backworks_cli.record.capture import Recorder, pairs

DRAIN_SECONDS = 10.0  # how long a graceful stop waits for in-flight exchanges


def parse_listen(value: str, option: str = "--listen") -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` or `PORT` -> (host, port); host defaults to loopback. Port 0 asks
    the system for a free port, which the host's ready line names. `option` names the
    command-line option in the error."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number < 65536:
        raise BackworksError(
            f"{option} {value!r} is not HOST:PORT with a port from 0 (any free one) to 65535.",
            f"Use e.g. {option} 127.0.0.1:8080.",
        )
    return host, number


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
        return pairs(self._message.headers)

    @property
    def body(self) -> bytes:
        return self._message.get_content(strict=False) or b""


def journal_entry(
    flow: http.HTTPFlow, row: tuple, status: int, how: tuple
) -> tuple[Row, _Kept | None, _Kept | None]:
    """What a host records for a finished flow (see stats.Stats.record): `row` is (start as
    perf_counter, method, path, query), `how` is (endpoint, mode, how, detail, fault); the
    request as received (or forwarded) and the response as sent are kept when their bodies
    are small."""
    start, method, path, query = row
    endpoint, mode, how_, detail, fault = how
    sent = flow.response if status else None
    journaled = Row(
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
    )
    return (
        journaled,
        _Kept(flow.request) if len(flow.request.raw_content or b"") <= KEEP_BODY else None,
        _Kept(sent) if sent and len(sent.raw_content or b"") <= KEEP_BODY else None,
    )


def started_at(request: http.Request) -> float:
    """When the request arrived, on the perf_counter clock the journal uses."""
    return time.perf_counter() - (time.time() - request.timestamp_start)


def check_addresses(listen: tuple[str, int], admin_at: tuple[str, int] | None) -> None:
    """NetworkError (exit 5) unless the main port and the admin port are distinct and free."""
    if admin_at is not None and listen == admin_at and listen[1] != 0:
        raise BackworksError(
            f"--admin {admin_at[0]}:{admin_at[1]} is the --listen address too.",
            "Give the admin API a port of its own, e.g. the main port + 1 (the default).",
        )
    check_port_free(*listen)
    if admin_at is not None:
        check_port_free(*admin_at, option="--admin HOST:PORT")


def proxy_settings(*, insecure: bool = False, upstream_ca: Path | None = None) -> dict:
    """The options that mitmproxy's addons declare, set once the addons are added."""
    settings: dict = {"connection_strategy": "lazy", "ssl_insecure": insecure}
    if upstream_ca:
        settings["ssl_verify_upstream_trusted_ca"] = str(upstream_ca)
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


def run_with_admin(
    proxy: Proxy,
    host: AdminPort | None,
    log: Callable[[str], None],
    control: InThread | None = None,
) -> None:
    """Run the proxy with the admin API on its own port beside it (when there is a host)."""
    try:
        if host is not None:
            host.start_admin()
            if control is not None:
                control.admin_url = host.admin_url
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
    ready: Callable[[int], str]  # given the port it listens on
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
        self.admin_url: str | None = None  # where its admin API listens, once it does

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
    mitm_http1.install()
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
        proxy.port = proxyserver.listen_addrs()[0][1]  # the bound one, when asked for port 0
        log(proxy.ready(proxy.port))
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
