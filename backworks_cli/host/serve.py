"""The serve host apart from mitmproxy: the engine with proxy endpoints enabled, the counts of
the admin API, and the admin API itself on its own port.

`backworks serve` runs two servers in one process. mitmproxy (serve_proxy.run_serve, with
the serve_proxy.Serve addon) answers the main port: local modes through the engine, proxy
endpoints by forwarding. uvicorn answers the admin port from a background thread with the
same admin API as `backworks mock` (backworks_cli.host.admin), including the `events` stream, which
an addon cannot stream. The main port answers the admin API's JSON and text resources too, and
redirects /__backworks/events to the admin port.

The admin thread's event loop owns the `admin.Stats`: the addon hands it each answered request
with `record()` (a queue, emptied on that loop), and admin requests arriving on the main port
are run on that loop as well, so the counts, the journal and the event queues are only ever
touched from one thread and need no locks. Answers from live sources are checked for drift
from the learned response schemas there too (backworks_cli.answer.drift), off the request path.

backworks.yaml is watched from that loop too and reloaded when it changes (or when the admin
API's promote rewrote it): the new engine is swapped in for the next request and the addon is
told to check the new upstream pools; a file that cannot be used leaves the old engine serving.
The store is opened when the first proxy endpoint records: at start, after a reload that gives
one `record: true`, or when the admin API's `record` resource switches one on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from backworks_cli.host import admin
from backworks_cli.config.model import Config, load_config_or_default
from backworks_cli.answer.drift import DriftCheck
from backworks_cli.answer.engine import Engine, Router
from backworks_cli.core.errors import BackworksError, ConfigError, NetworkError
from backworks_cli.answer.modes.proxy import Pool, ProxyMode

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

ADMIN_START_S = 15.0  # how long the admin server may take to start listening
RELOAD_INTERVAL = 0.5  # seconds between checks of backworks.yaml for changes


@dataclass(frozen=True)
class ServeOptions:
    config: Config
    listen_host: str = "127.0.0.1"
    listen_port: int = 3000
    admin_host: str = "127.0.0.1"
    admin_port: int = 3001
    store_path: Path | None = None  # None: config.recordings.path
    seed: int = 0


def build_engine(options: ServeOptions) -> Engine:
    """The engine with proxy endpoints forwarding. Without endpoints every request goes to the
    top-level upstream, and recordings are not replayed (that is `backworks mock`)."""
    config = options.config
    if not config.endpoints:
        if not config.upstream:
            raise ConfigError(
                f"Nothing to serve: {config.path or 'backworks.yaml'} has no endpoints and no "
                "`upstream`.",
                "Add endpoints (`backworks infer` writes them from recordings) or set "
                "`upstream: https://api.example.com` to proxy everything.",
            )
        note = f"No endpoints in the configuration: every request goes to {config.upstream}."
        return Engine(Router(), {}, [note])
    if options.store_path is None:
        return Engine.build(config, seed=options.seed, local_only=False)
    from backworks_cli.record.store import Store

    with Store.open(options.store_path) as store:
        return Engine.build(config, seed=options.seed, store=store, local_only=False)


class ServeHost:
    """What the admin API reads of a host (as of mockserver.MockApp: engine, stats,
    config_path, reload_error, read_body), the ASGI app of the admin port, and its thread."""

    def __init__(self, engine: Engine, options: ServeOptions, log: Callable[[str], None]):
        self.engine = engine
        self.options = options
        self.log = log
        self.config_path = options.config.path
        self.reload_error: str | None = None
        self.on_reload: Callable[[], None] | None = None  # called on the admin thread
        # Set by the proxy: opens the store once an endpoint records; returns where it records.
        self.start_recording: Callable[[], Awaitable[str]] | None = None
        self.recording: dict[str, bool] = {}  # endpoints whose recording the admin API switched
        self.stats = admin.Stats(drift=DriftCheck(options.config))
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stamp = _stamp(self.config_path)
        self._pending: deque[tuple] = deque()  # rows not yet counted by the admin thread
        self.fallback = _fallback(options.config)

    @property
    def admin_url(self) -> str:
        host = self.options.admin_host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.options.admin_port}"

    def pools(self) -> list[Pool]:
        """The upstream pools of the proxy endpoints, each once."""
        found: dict[int, Pool] = {}
        for mode in self.engine.modes().values():
            if isinstance(mode, ProxyMode):
                found.setdefault(id(mode.pool), mode.pool)
        return list(found.values())

    def records(self) -> bool:
        """Whether a proxy endpoint records its exchanges (`record: true`)."""
        return any(isinstance(m, ProxyMode) and m.record for m in self.engine.modes().values())

    async def set_recording(self, name: str, record: bool | None) -> dict:
        """Turn recording of proxy endpoint `name` on or off (None: the other way round) for
        as long as serve runs, reloads included; backworks.yaml is not changed. BackworksError
        when the endpoint is not a proxy endpoint or the store cannot be opened."""
        mode = self.engine.modes().get(name)
        if mode is None:
            raise BackworksError(
                f"No endpoint {name!r} in {self.config_path or 'the configuration'}.",
                "GET /__backworks/endpoints lists them.",
            )
        if not isinstance(mode, ProxyMode):
            raise BackworksError(
                f"{name} is in mode {mode.name}; only proxy endpoints record what they forward.",
                "Promote it to proxy first, or record the upstream with `backworks capture`.",
            )
        on = (not mode.record) if record is None else bool(record)
        previous, mode.record = mode.record, on
        self.recording[name] = on
        store = None
        if on and self.start_recording is not None:
            try:
                store = await self.start_recording()
            except BackworksError:
                mode.record = previous
                self.recording[name] = previous
                raise
        return {"endpoint": name, "record": on, "store": store}

    def _apply_recording(self, engine: Engine) -> None:
        """Carry the switches of set_recording over to a reloaded engine."""
        modes = engine.modes()
        for name, on in self.recording.items():
            mode = modes.get(name)
            if isinstance(mode, ProxyMode):
                mode.record = on

    # -- counting -----------------------------------------------------------------------------

    def record(self, row: tuple) -> None:
        """Count one answered request (an admin.Stats journal row) on the admin thread.

        Rows queue up and the admin loop is woken only by the first of a batch: waking it for
        every request would cost a thread switch each."""
        pending = self._pending
        pending.append(row)
        loop = self.loop
        if len(pending) == 1 and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._count_pending)

    def _count_pending(self) -> None:
        pending, record = self._pending, self.stats.record
        while pending:
            record(pending.popleft())

    # -- the admin API ------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The admin port: the admin API under /__backworks/, 404 for anything else."""
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1003})
            return
        if scope["type"] != "http":
            return
        raw = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        prefix = admin.PREFIX.encode()
        if raw.startswith(prefix):
            await admin.answer(self, scope, receive, send, raw[len(prefix) :].decode("latin-1"))
            return
        await admin.send_json(
            send,
            404,
            {
                "error": "this port answers only the admin API",
                "resources": [f"{admin.PREFIX}{name}" for name in admin.ROUTES],
            },
        )

    async def read_body(self, receive: Receive) -> bytes | bool:
        """The request body, or False when the client went away."""
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return False
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                return b"".join(chunks)

    async def answer_admin(
        self, method: str, path: str, query: str, headers: list, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """An admin request that came to the main port: (status, headers, body), answered on
        the admin thread; the event stream is a redirect to the admin port."""
        name = path[len(admin.PREFIX) :]
        if name.strip("/") == "events":
            location = f"{self.admin_url}{admin.PREFIX}events" + (f"?{query}" if query else "")
            data = {"error": "the event stream is served on the admin port", "location": location}
            return (
                307,
                [(b"location", location.encode()), (b"content-type", b"application/json")],
                json.dumps(data).encode() + b"\n",
            )
        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "raw_path": path.encode("utf-8", "surrogateescape"),
            "query_string": query.encode("utf-8", "surrogateescape"),
            "headers": headers,
        }
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        work = admin.answer(self, scope, receive, send, name)
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))
        return (
            sent[0]["status"],
            list(sent[0]["headers"]),
            b"".join(m.get("body", b"") for m in sent[1:]),
        )

    # -- reloading ----------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(RELOAD_INTERVAL)
            await self.reload_if_changed()

    async def reload_if_changed(self) -> bool | None:
        """Reload backworks.yaml if it changed since it was read (None when it did not); False
        when the new file cannot be used, and the previous engine keeps serving."""
        stamp = _stamp(self.config_path)
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        path = self.config_path
        try:
            config = await asyncio.to_thread(load_config_or_default, path)
            options = replace(self.options, config=config)
            engine = await asyncio.to_thread(build_engine, options)
        except BackworksError as error:
            self.reload_error = str(error).replace("\n", " ")
            self.log(
                f"Error: {path} changed but cannot be used; still serving the previous "
                f"configuration.\n{error}"
            )
            ok = False
        else:
            self._apply_recording(engine)
            previous, self.engine = self.engine, engine
            self.options, self.fallback, self.reload_error = options, _fallback(config), None
            self.stats.drift = DriftCheck(config, previous=self.stats.drift)
            previous.close()
            self.log(f"Reloaded {path}: {len(engine.modes())} endpoint(s).")
            for note in engine.notes:
                self.log(f"Note: {note}")
            if self.on_reload is not None:
                self.on_reload()
            ok = True
        self.stats.reloads["ok" if ok else "error"] += 1
        if self.stats.subscribers:
            event = {"type": "reload", "ok": ok, "config": str(path)}
            self.stats.publish(event if ok else {**event, "error": self.reload_error})
        return ok

    # -- the admin server ---------------------------------------------------------------------

    def start_admin(self) -> None:
        """Serve the admin API on the admin port from a background thread; NetworkError when it
        cannot listen there."""
        import uvicorn

        config = uvicorn.Config(
            self,
            host=self.options.admin_host,
            port=self.options.admin_port,
            loop="asyncio",
            lifespan="off",
            access_log=False,
            log_level="critical",
            timeout_graceful_shutdown=1,
        )
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run_admin, name="backworks-admin", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + ADMIN_START_S
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop_admin()
                raise NetworkError(
                    f"Cannot serve the admin API on {self.options.admin_host}:"
                    f"{self.options.admin_port}.",
                    "Stop what is using that port or choose another with --admin HOST:PORT.",
                )
            time.sleep(0.01)

    def _run_admin(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            watcher = self.loop.create_task(self._watch()) if self.config_path else None
            await self._server.serve()
            if watcher is not None:
                watcher.cancel()

        asyncio.run(main())

    def stop_admin(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


def _fallback(config: Config) -> ProxyMode | None:
    """Where requests no endpoint answers go: the top-level upstream, if there is one."""
    return ProxyMode.forwarding(config.upstream) if config.upstream else None


def _stamp(path: Path | None) -> tuple[int, int] | None:
    """What tells that backworks.yaml changed: its modification time and size."""
    with contextlib.suppress(OSError, TypeError):
        found = Path(path).stat()
        return found.st_mtime_ns, found.st_size
    return None
