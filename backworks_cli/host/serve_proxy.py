"""The mitmproxy side of `backworks serve`: the Serve addon, which answers each request in its
endpoint's mode and forwards proxy endpoints, and `run_serve`, which runs it on the main port
with the admin API beside it, on host/runner.py. The Recorder (record/capture.py) records
what proxy endpoints forward when asked; the host apart from mitmproxy is host/serve.py.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

from mitmproxy import ctx, http

from backworks_cli.answer.modes.base import Outcome, json_response
from backworks_cli.answer.modes.proxy import (
    Pool,
    ProxyMode,
    Upstream,
    check_health,
    connect_error,
    watch_health,
)
from backworks_cli.core.errors import BackworksError
from backworks_cli.core.exchange import Request, Response
from backworks_cli.host import admin
from backworks_cli.host.admin_access import exposure_warning, is_loopback
from backworks_cli.host.mitm_http1 import BODY_LIMIT, BODY_OVER
from backworks_cli.host.refusals import bad_request, request_line_problem, too_large
from backworks_cli.host.runner import (
    InThread,
    Proxy,
    check_addresses,
    journal_entry,
    proxy_settings,
    run_with_admin,
    started_at,
)
from backworks_cli.host.serve import ServeHost, ServeOptions, build_engine
from backworks_cli.record.capture import Recorder, open_recorder, to_request

PLACEHOLDER_UPSTREAM = "http://upstream.invalid"  # reverse mode needs a target; never used
# Headers about the framing on the wire, which mitmproxy writes for the response it is given.
_FRAMING = frozenset(
    {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive"}
)
_NO_BODY = frozenset({204, 304})
# flow.metadata keys of the Serve addon.
_ROW = "backworks_row"  # (start as perf_counter, method, path, query) until counted
_HOW = "backworks_how"  # (endpoint, mode, how, detail, fault)
_UPSTREAM = "backworks_upstream"  # (Pool, Upstream) a proxied request went to
_RECORD = "backworks_record"  # the proxied exchange is recorded


def flow_response(response: Response, *, head: bool = False) -> http.Response:
    """An engine Response as mitmproxy's, with fresh framing (HEAD: the length, no body)."""
    headers = http.Headers(
        [
            (name.encode("utf-8", "surrogateescape"), value.encode("utf-8", "surrogateescape"))
            for name, value in response.headers
            if name.lower() not in _FRAMING
        ]
    )
    body = b"" if response.status in _NO_BODY else response.body
    made = http.Response.make(response.status, b"" if head else body, headers)
    if response.status in _NO_BODY:
        del made.headers["content-length"]
    elif head:
        made.headers["content-length"] = str(len(body))
    return made


def _retarget(request: http.Request, upstream: Upstream) -> None:
    """Send the request to `upstream`, with a Host header naming it (serve keeps the client's
    Host for the requests it answers itself)."""
    if request.scheme != upstream.scheme:
        request.scheme = upstream.scheme
    if request.port != upstream.port:
        request.port = upstream.port
    request.host = upstream.host  # sets the Host header from scheme, host and port
    if upstream.prefix:
        request.path = upstream.prefix + request.path


class Serve:
    """The mitmproxy addon of `backworks serve`: each request is answered by its endpoint's
    mode.

    Local modes answer here, from the engine's Outcome (runtime handlers on a worker thread,
    since they may block; delays with asyncio.sleep; a reset fault kills the connection; a
    slow_body fault holds the answer back as long as dribbling it would take). Proxy endpoints
    are forwarded by mitmproxy to the upstream their mode chose. Before a request opens a new
    connection to an upstream, a TCP connection to it is tried, so that an upstream that is
    down counts as a failure for its circuit breaker and gets a retry (idempotent methods) or a
    JSON 502/503 instead of mitmproxy's error page. Requests no endpoint answers go to the
    top-level upstream, else get the engine's 404. Exchanges of proxy endpoints with
    `record: true` go through the capture Recorder, redaction included; the store is opened
    when the first endpoint records, at start or once a reload or the admin API turns it on.
    """

    def __init__(
        self,
        host: ServeHost,
        log: Callable[[str], None],
        open_recorder: Callable[[], Recorder] | None = None,
    ):
        self.host = host
        self.recorder: Recorder | None = None  # opened once an endpoint records
        self.log = log
        self.open_recorder = open_recorder
        self.in_flight = 0
        # (client connection id, upstream address) -> server connections open between them
        self._open: Counter = Counter()
        self._watchers: list[asyncio.Task] = []

    # -- lifecycle -----------------------------------------------------------------------------

    def load(self, loader) -> None:
        loader.add_option(
            BODY_LIMIT,
            int | None,
            None,
            "Request body bytes accepted (server.max_body); a larger body is 413, unread.",
        )

    async def running(self) -> None:
        """One round of health checks before the host says it is ready, then one every
        interval; after a reload, the new pools are checked at once."""
        pools = [pool for pool in self.host.pools() if pool.settings.health_path]
        await asyncio.gather(*(check_health(pool) for pool in pools))
        self._watch(now=False)
        loop = asyncio.get_running_loop()
        self.host.on_reload = lambda: loop.call_soon_threadsafe(self._watch)

        async def start_recording() -> str:
            # Called on the admin thread; the store is opened on this loop's thread, its own.
            future = asyncio.run_coroutine_threadsafe(self._open_recorder(), loop)
            return await asyncio.wrap_future(future)

        self.host.start_recording = start_recording

    async def _open_recorder(self) -> str:
        return str(self._recorder().store.path)

    def _recorder(self) -> Recorder:
        """The recorder, its store opened now if it was not yet; BackworksError if it cannot be."""
        if self.recorder is None:
            if self.open_recorder is None:
                raise BackworksError("This proxy was started without a store to record to.")
            self.recorder = self.open_recorder()
            self.log(f"Recording proxied exchanges to {self.recorder.store.path}.")
        return self.recorder

    def _watch(self, now: bool = True) -> None:
        ctx.options.update(**{BODY_LIMIT: self.host.options.config.server.max_body})
        if self.recorder is None and self.host.records():
            try:
                self._recorder()
            except BackworksError as error:  # the endpoints answer on, unrecorded
                self.log(f"Error: cannot record: {error.message}")
        for task in self._watchers:
            task.cancel()
        pools = [pool for pool in self.host.pools() if pool.settings.health_path]
        self._watchers = [asyncio.create_task(watch_health(p, now=now)) for p in pools]

    def done(self) -> None:
        self.host.on_reload = self.host.start_recording = None
        for task in self._watchers:
            task.cancel()
        if self.recorder is not None:
            self.recorder.done()

    def server_connected(self, data) -> None:
        self._open[(data.client.id, data.server.address)] += 1

    def server_disconnected(self, data) -> None:
        key = (data.client.id, data.server.address)
        if self._open[key] > 1:
            self._open[key] -= 1
        else:
            self._open.pop(key, None)

    # -- requests ------------------------------------------------------------------------------

    async def request(self, flow: http.HTTPFlow) -> None:
        r = flow.request
        path, _, query = r.path.partition("?")
        refusal = self._refusal(flow)
        if refusal is not None:
            self.in_flight += 1
            flow.metadata[_ROW] = (started_at(r), r.method, path, query)
            detail = {k: v for k, v in refusal[1].items() if k != "hint"}
            flow.metadata[_HOW] = (None, None, "invalid", detail, None)
            flow.response = flow_response(json_response(*refusal))
            flow.response.headers["connection"] = "close"
            return
        if path.startswith(admin.PREFIX):
            body = r.get_content(strict=False) or b""
            headers = [(name.lower(), value) for name, value in r.headers.fields]
            client = flow.client_conn.peername
            answer = await self.host.answer_admin(r.method, path, query, headers, body, client)
            flow.response = http.Response.make(answer[0], answer[2], answer[1])
            return
        self.in_flight += 1
        flow.metadata[_ROW] = (started_at(r), r.method, path, query)
        engine = self.host.engine
        try:
            mode = engine.mode_for(r.method, path)
            if mode is None and self.host.fallback is not None:
                mode = self.host.fallback
                outcome = mode.pick()
            elif mode is not None and mode.name == "proxy":
                outcome = engine.handle(Request(r.method, path))  # the mode needs the route only
            elif mode is not None and mode.name == "runtime":
                outcome = await asyncio.to_thread(engine.handle, to_request(flow))
            else:
                outcome = engine.handle(to_request(flow))
        except Exception as exc:  # a bug in a mode must not take the host down
            self.log(f"Error: the engine failed on {r.method} {path}: {exc!r}")
            body = {"error": "backworks failed to answer", "detail": repr(exc)}
            outcome = Outcome(json_response(500, body), None, None, "error", body)
        if outcome.delay_ms > 0:
            await asyncio.sleep(outcome.delay_ms / 1000)
        if outcome.how == "proxy":
            await self._forward(flow, mode, outcome)
        else:
            await self._answer(flow, outcome)

    def _refusal(self, flow: http.HTTPFlow) -> tuple[int, dict] | None:
        """(status, body) for a request serve will not take (host.refusals), else None."""
        over = flow.metadata.get(BODY_OVER)
        if over is not None:  # mitm_http1 stopped reading its body
            return 413, too_large(over)
        data = flow.request.data
        problem = request_line_problem(data.method, data.path)
        return None if problem is None else (400, bad_request(problem))

    async def _forward(self, flow: http.HTTPFlow, mode: ProxyMode, outcome: Outcome) -> None:
        pool = mode.pool
        upstream = pool.get(outcome.detail["upstream"])
        attempts = mode.attempts(flow.request.method)
        tried: list[Upstream] = []
        while (error := await self._unreachable(flow, pool, upstream)) is not None:
            pool.failed(upstream, error)
            tried.append(upstream)
            outcome = mode.pick(tried) if len(tried) < attempts else mode.refusal(tried)
            if outcome.how != "proxy":
                await self._answer(flow, outcome)
                return
            upstream = pool.get(outcome.detail["upstream"])
        _retarget(flow.request, upstream)
        flow.metadata[_UPSTREAM] = (pool, upstream)
        flow.metadata[_HOW] = (outcome.endpoint, "proxy", "proxy", outcome.detail, None)
        if mode.record and self.recorder is not None:
            flow.metadata[_RECORD] = True
            self.recorder.requestheaders(flow)

    async def _unreachable(self, flow: http.HTTPFlow, pool: Pool, upstream: Upstream) -> str | None:
        """Why a new connection to the upstream cannot be made; None when it can, or when this
        client's requests already have one open."""
        if self._open[(flow.client_conn.id, upstream.address)]:
            return None
        return await connect_error(upstream, pool.settings.connect_timeout)

    async def _answer(self, flow: http.HTTPFlow, outcome: Outcome) -> None:
        detail = None if outcome.how == "replayed" else outcome.detail
        flow.metadata[_HOW] = (outcome.endpoint, outcome.mode, outcome.how, detail, outcome.fault)
        if outcome.fault == "reset":
            self._count(flow, 0)
            flow.kill()
            return
        response = outcome.response
        if outcome.fault == "slow_body" and outcome.fault_arg:
            await asyncio.sleep(len(response.body) / max(1.0, outcome.fault_arg))
        flow.response = flow_response(response, head=flow.request.method == "HEAD")

    # -- answers -------------------------------------------------------------------------------

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get(_RECORD):
            self.recorder.responseheaders(flow)
        elif _UPSTREAM in flow.metadata and "text/event-stream" in flow.response.headers.get(
            "content-type", ""
        ):
            flow.response.stream = True  # events reach the client as they come

    def response(self, flow: http.HTTPFlow) -> asyncio.Future | None:
        used = flow.metadata.get(_UPSTREAM)
        if used is not None:
            used[0].succeeded(used[1])
        self._count(flow, flow.response.status_code)
        if flow.metadata.get(_RECORD):
            return self.recorder.response(flow)  # done once the exchange is kept
        return None

    def error(self, flow: http.HTTPFlow) -> asyncio.Future | None:
        # With the client still there, the upstream failed and mitmproxy answers 502.
        upstream_failed = flow.client_conn.connected and flow.response is None
        used = flow.metadata.get(_UPSTREAM)
        if used is not None and upstream_failed:
            used[0].failed(used[1], flow.error.msg if flow.error else "connection failed")
        self._count(flow, 502 if upstream_failed else 0)
        if flow.metadata.get(_RECORD):
            return self.recorder.error(flow)
        return None

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get(_RECORD):
            self.recorder.websocket_end(flow)

    def _count(self, flow: http.HTTPFlow, status: int) -> None:
        """Hand the answered request to the admin API's counts, once, with the request as
        received (or forwarded) and the response as sent when their bodies are small."""
        row = flow.metadata.pop(_ROW, None)
        if row is None:
            return
        self.in_flight -= 1
        unknown = (None, None, "error", None, None)
        self.host.record(*journal_entry(flow, row, status, flow.metadata.get(_HOW) or unknown))


def run_serve(
    options: ServeOptions, *, log: Callable[[str], None], control: InThread | None = None
) -> None:
    """Run `backworks serve` until SIGINT/SIGTERM (or `control.stop()`): the Serve addon on the
    main port, the admin API on the admin port (see backworks_cli.host.serve)."""
    config = options.config
    listen = (options.listen_host, options.listen_port)
    check_addresses(listen, (options.admin_host, options.admin_port))
    engine = build_engine(options)
    for note in engine.notes:
        log(f"Note: {note}")
    host = ServeHost(engine, options, log)
    warnings = (
        exposure_warning(
            "Serve",
            *listen,
            "they get its endpoints' answers and, through proxy endpoints and the top-level "
            f"upstream, the upstreams'; the admin API stays on {host.admin_url}.",
        ),
        exposure_warning(
            "The admin API",
            options.admin_host,
            options.admin_port,
            "with the token one can rewrite backworks.yaml (promote), switch recording, reset "
            "state and read every journaled request; there every admin request needs the token.",
        ),
    )
    for warning in warnings:
        if warning:
            log(warning)
    recordings = config.recordings

    def new_recorder() -> Recorder:
        recorder = open_recorder(
            options.store_path or recordings.path,
            config.redact,
            session=recordings.session,
            include=recordings.include,
            exclude=recordings.exclude,
        )
        recorder.on_fatal = proxy.on_fatal
        return recorder

    addon = Serve(host, log, new_recorder)

    def ready(port: int) -> str:
        where = f"http://{options.listen_host}:{port}"
        rest = f"go to {config.upstream}" if config.upstream else "get 404"
        recorder = addon.recorder
        recording = f"; recording to {recorder.store.path}" if recorder else ""
        also = "" if is_loopback(options.listen_host) else " from this machine"
        return (
            f"Serving {len(engine.modes())} endpoint(s) on {where}; requests no endpoint "
            f"answers {rest}{recording}. Admin API: {host.admin_url}{admin.PREFIX} "
            f"(and {where}{admin.PREFIX}{also}). Ctrl-C to stop."
        )

    mode = f"reverse:{config.upstream or PLACEHOLDER_UPSTREAM}"
    proxy = Proxy(
        mode,
        options.listen_host,
        options.listen_port,
        [addon],
        {**proxy_settings(), "keep_host_header": True, BODY_LIMIT: config.server.max_body},
        ready,
        lambda: addon.in_flight,
        None,
    )
    if host.records():
        addon.recorder = proxy.recorder = new_recorder()
    host.access.publish(log)
    try:
        run_with_admin(proxy, host, log, control)
    finally:
        host.access.withdraw()
        host.engine.close()  # the engine serving last, after any reload
        if addon.recorder is not None:
            addon.recorder.close()
    recorder = addon.recorder
    if recorder is not None:
        recorder.summary.stopped = time.monotonic()
        log(recorder.summary.render())
        if recorder.fatal:
            raise recorder.fatal


__all__ = ["Serve", "run_serve"]
