"""The mock host: an ASGI app that answers every request through the engine, with the admin
API under /__backworks/ (backworks_cli.host.admin; to loopback clients only, and alone on the
address of --admin-listen, see host/admin_access.py) and hot reload of backworks.yaml
(backworks_cli.host.reload); create_app builds it. uvicorn runs it (backworks_cli.host.mock_run).

The request path is kept lean because it is what a load test measures: the wire form of a
replayed or generated response (header list, Content-Length; backworks_cli.host.wire) is built
once and reused, and counting is a few dict and deque operations (see stats.Stats). Nothing is
logged per request. An answer the engine marks stable (Outcome.stable: a recording alone with
its match key, or a generated answer that no state or header decides; no latency or faults) is
remembered by what identifies the request to the replay index (method, raw path, raw query,
body and its content type), so a repeat is answered without decoding the request or asking the
engine, and over HTTP without an ASGI round either (backworks_cli.host.fastpath); a reload
forgets them all. Answers of runtime handlers and database tables are checked for drift from
the learned response schemas as they are counted, within the small CPU budget of
backworks_cli.answer.drift.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path

from backworks_cli.answer.drift import DriftCheck
from backworks_cli.answer.engine import Engine, Outcome
from backworks_cli.config.load import load_config_or_default
from backworks_cli.config.model import Config
from backworks_cli.core.asgi import Receive, Scope, Send, read_body
from backworks_cli.core.exchange import Request, Response
from backworks_cli.host import admin
from backworks_cli.host.admin import send_json
from backworks_cli.host.admin_access import AdminAccess
from backworks_cli.host.refusals import bad_request, request_line_problem, too_large
from backworks_cli.host.reload import RELOAD_INTERVAL, Reloader
from backworks_cli.host.scrub import Scrubber, store_key
from backworks_cli.host.stats import JOURNAL_SIZE, KEEP_BODY, Row, Stats, make_row
from backworks_cli.host.wire import (
    Received,
    content_type,
    query_pairs,
    request_path,
    wire_messages,
)

logger = logging.getLogger("backworks.mock")

Log = Callable[[str], None]

WIRE_CACHE = 10_000  # responses whose wire form is kept; cleared when full
STABLE_CACHE = 10_000  # requests whose stable replay is remembered; cleared when full
STABLE_BODY = 4096  # request bodies up to this size take part in that
SLOW_CHUNKS_PER_SECOND = 10  # a slow_body fault sends this many chunks a second

# Outcomes whose response objects the modes build once and hand out again: their wire form is
# cached by identity.
_CACHED = frozenset({"replayed", "generated"})
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})
_VERSIONS = {"1.0": "HTTP/1.0", "1.1": "HTTP/1.1", "2": "HTTP/2"}
_ADMIN = admin.PREFIX.encode()
_PLAIN_TARGET = re.compile(rb"[!-~]*").fullmatch  # printable ASCII: a target to take as it is


# --- the app -------------------------------------------------------------------------------------


class MockApp:
    """The ASGI app: engine-backed answers for every path, the admin API under /__backworks/."""

    stable_body = STABLE_BODY  # request bodies up to this size may take the fast path

    def __init__(
        self,
        engine: Engine,
        config: Config,
        *,
        seed: int = 0,
        strict: bool = False,
        edge_cases: bool = False,
        max_body: int | None = None,
        config_path: Path | None = None,
        store_path: Path | None = None,
        log: Log | None = None,
        journal_size: int = JOURNAL_SIZE,
        reload_interval: float = RELOAD_INTERVAL,
        access: AdminAccess | None = None,
    ):
        self.engine = engine
        self.store_path = store_path
        self.config = config
        self.seed, self.strict, self.edge_cases = seed, strict, edge_cases
        self.given_max_body = max_body  # None: server.max_body of the configuration in use
        self.config_path = Path(config_path) if config_path is not None else None
        self.log: Log = log or logger.warning
        self.stats = Stats(journal_size, drift=DriftCheck(config), scrub=self._scrubber(config))
        # Who may use the admin API; on its own address (access.listen) it is all that answers.
        self.access = access or AdminAccess.create()
        self.admin_port = self.access.listen[1] if self.access.listen else None
        self.reloader = Reloader(
            self.config_path, self._rebuild, self.stats, self.log, reload_interval
        )
        self._wire_cache: dict[int, tuple[Response, dict, dict, bytes]] = {}
        # Stable replays (Outcome.stable) by what identifies the request to the replay index,
        # answered without decoding the request or asking the engine; cleared on a reload.
        self._stable: dict[tuple, tuple[Outcome, dict, dict, str, bytes]] = {}
        # (method, raw URL) of every key above, for fastpath.ReplayProtocol to tell early
        # whether a request may be one of them.
        self.stable_urls: set[tuple[str, bytes]] = set()
        self._stable_engine: Engine | None = None
        self._watch_pending = self.config_path is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if self._watch_pending:
                self.start_watching()
            raw = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            on_admin = self.admin_port is not None and self._on_admin_port(scope)
            if raw.startswith(_ADMIN):
                name = raw[len(_ADMIN) :].decode("latin-1")
                await admin.answer(self, scope, receive, send, name, main_port=not on_admin)
            elif on_admin:
                error = {"error": "this address answers only the admin API under /__backworks/"}
                await send_json(send, 404, error)
            else:
                await self._answer(scope, receive, send, raw)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1003})

    def _scrubber(self, config: Config) -> Scrubber:
        """What the admin API shows goes through: redaction under the store's key."""
        return Scrubber(config.redact, store_key(self.store_path or config.recordings.path))

    def _on_admin_port(self, scope: Scope) -> bool:
        """Whether the request came to the admin API's own address (--admin-listen)."""
        server = scope.get("server")
        return server is not None and server[1] == self.admin_port

    @property
    def admin_max_rows(self) -> int:
        return self.config.server.admin_max_rows

    @property
    def max_body(self) -> int:
        """Request body bytes accepted; a larger body gets 413 without the rest being read."""
        given = self.given_max_body
        return self.config.server.max_body if given is None else given

    # the request path ---------------------------------------------------------------------------

    async def _answer(self, scope: Scope, receive: Receive, send: Send, raw: bytes) -> None:
        start = time.perf_counter()
        if not _PLAIN_TARGET(raw):  # a cheap look first: printable ASCII needs no more
            problem = request_line_problem(scope["method"].encode("latin-1"), raw)
            if problem is not None:
                await self._refuse(scope, send, start, raw, 400, bad_request(problem))
                return
        raw_headers = scope["headers"]
        body: bytes | bool | None = b""
        for name, value in raw_headers:
            if name in _BODY_HEADERS:
                limit = self.max_body
                length = value if name == b"content-length" else None
                too_long = length is not None and (
                    not length.isdigit() or len(length) > 18 or int(length) > limit
                )
                body = None if too_long else await read_body(receive, limit)
                if body is False:
                    return  # the client went away
                if body is None:
                    await self._refuse(scope, send, start, raw, 413, too_large(limit))
                    return
                break
        method = scope["method"]
        qs = scope["query_string"]
        key, known = self._stable_lookup(method, raw, qs, body, raw_headers)
        if known is not None:  # a stable replay: the engine would answer just this again
            await send(known[1])
            await send(known[2])
            self._count_stable(known, start, method, qs, raw_headers, body)
            return
        headers = tuple(
            [(n.decode("latin-1"), v.decode("utf-8", "surrogateescape")) for n, v in raw_headers]
        )
        path = request_path(raw)
        version = scope["http_version"]
        # Every field given by position: a third faster than keywords and defaults.
        request = Request(
            method,
            path,
            query_pairs(qs) if qs else (),
            headers,
            body,
            scope["scheme"],
            "",
            0,
            "HTTP/1.1" if version == "1.1" else _VERSIONS.get(version, "HTTP/1.1"),
            None,
        )
        engine = self.engine
        try:
            if engine.blocking and engine.blocks(request):
                outcome = await asyncio.to_thread(engine.handle, request)
            else:
                outcome = engine.handle(request)
        except Exception as exc:  # a bug in a mode must not take the host down
            outcome = self._crashed(request, exc)
        if outcome.delay_ms > 0:
            await asyncio.sleep(outcome.delay_ms / 1000)
        response = outcome.response
        fault = outcome.fault
        if fault == "reset":
            await _drop_connection(receive)
            status = 0
        else:
            status = response.status
            if outcome.how in _CACHED:
                cached = self._wire_cache.get(id(response))
                if cached is None or cached[0] is not response:
                    if len(self._wire_cache) >= WIRE_CACHE:
                        self._wire_cache.clear()
                    cached = self._wire_cache[id(response)] = (response, *wire_messages(response))
                head, tail = cached[1], cached[2]
                if outcome.stable and not outcome.delay_ms and len(body) <= STABLE_BODY:
                    self._remember_stable(key, outcome, cached, path)
            else:
                head, tail, _ = wire_messages(response)
            await send(head)
            if fault == "slow_body":
                await _dribble(send, tail["body"], outcome.fault_arg)
            else:
                await send(tail)
        how = outcome.how
        self.stats.record(
            make_row(
                (
                    start,
                    method,
                    path,
                    qs,
                    outcome.endpoint,
                    outcome.mode,
                    how,
                    status,
                    time.perf_counter() - start,
                    outcome.detail if how != "replayed" else None,
                    fault,
                )
            ),
            # Kept for /__backworks/exchange; replayed responses are shared, so this is two
            # references per row unless a body is large.
            request if len(request.body) <= KEEP_BODY else None,
            response if status and len(response.body) <= KEEP_BODY else None,
        )

    # stable replays --------------------------------------------------------------------------

    def _stable_lookup(
        self,
        method: str,
        raw: bytes,
        qs: bytes,
        body: bytes,
        raw_headers: list[tuple[bytes, bytes]],
    ) -> tuple[tuple, tuple | None]:
        """The request's key among stable answers, and what is remembered for it (None if
        nothing); everything remembered is forgotten first when the engine was reloaded."""
        if self._stable_engine is not self.engine:
            self._forget_stable()
        # The index's key reads the body by its content type; without a body, it reads neither.
        key = (method, raw, qs, body, content_type(raw_headers) if body else None)
        return key, self._stable.get(key)

    def _remember_stable(self, key: tuple, outcome: Outcome, cached: tuple, path: str) -> None:
        """Keep a stable answer's messages and wire bytes (`cached`, an entry of the wire
        cache, shared by every request that gets the same response) for answering `key`
        again."""
        if len(self._stable) >= STABLE_CACHE:
            self._forget_stable()
        _, head, tail, wire = cached
        self._stable[key] = (outcome, head, tail, path, wire)
        method, raw, qs = key[:3]
        # The shortcut writes a body, which HEAD must not get; large bodies are not copied.
        if wire and method != "HEAD":
            self.stable_urls.add((method, raw + b"?" + qs if qs else raw))

    def _forget_stable(self) -> None:
        """Forget every stable replay (on a reload what was stable may be no more)."""
        self._stable.clear()
        self.stable_urls.clear()
        self._stable_engine = self.engine

    def _count_stable(
        self,
        known: tuple,
        start: float,
        method: str,
        qs: bytes,
        raw_headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> None:
        outcome = known[0]
        response = outcome.response
        self.stats.record(
            make_row(
                (
                    start,
                    method,
                    known[3],
                    qs,
                    outcome.endpoint,
                    outcome.mode,
                    outcome.how,
                    response.status,
                    time.perf_counter() - start,
                    None if outcome.how == "replayed" else outcome.detail,
                    None,
                )
            ),
            Received(raw_headers, body) if len(body) <= KEEP_BODY else None,
            response if len(response.body) <= KEEP_BODY else None,
        )

    def stable_wire(
        self,
        method: str,
        raw: bytes,
        qs: bytes,
        body: bytes,
        raw_headers: list[tuple[bytes, bytes]],
        start: float,
    ) -> tuple[int, bytes] | None:
        """(status, the bytes after the status line and Date header) of the stable replay for
        this request, counted as answered; None when it is not one (the request then goes
        through the app). For fastpath.ReplayProtocol."""
        known = self._stable_lookup(method, raw, qs, body, raw_headers)[1]
        if known is None or not known[4]:  # too large for the shortcut: through the app
            return None
        self._count_stable(known, start, method, qs, raw_headers, body)
        return known[0].response.status, known[4]

    async def _refuse(
        self, scope: Scope, send: Send, start: float, raw: bytes, status: int, detail: dict
    ) -> None:
        """Answer a request the host will not take (host.refusals) and count it as invalid;
        the connection is closed, as a 413's body is left unread."""
        await send_json(send, status, detail, [(b"connection", b"close")])
        self.stats.record(
            Row(
                start,
                scope["method"],
                request_path(raw),
                scope["query_string"],
                None,
                None,
                "invalid",
                status,
                time.perf_counter() - start,
                {k: v for k, v in detail.items() if k != "hint"},
                None,
            )
        )

    def _crashed(self, request: Request, exc: Exception) -> Outcome:
        self.log(f"Error: the engine failed on {request.method} {request.path}: {exc!r}")
        body = json.dumps({"error": "backworks failed to answer", "detail": repr(exc)}).encode()
        return Outcome(
            response=Response(500, (("Content-Type", "application/json"),), body),
            endpoint=None,
            mode=None,
            how="error",
            detail={"error": repr(exc)},
        )

    # hot reload ---------------------------------------------------------------------------------

    @property
    def reload_error(self) -> str | None:
        return self.reloader.error

    def start_watching(self) -> None:
        """Poll backworks.yaml for changes in a background task of the running loop."""
        self._watch_pending = False
        self.reloader.start()

    async def stop_watching(self) -> None:
        await self.reloader.stop()

    async def reload_if_changed(self) -> bool | None:
        """Reload backworks.yaml if it changed since it was last read (None when it did not):
        the watcher's check, also made right after the admin API rewrote the file."""
        return await self.reloader.check()

    async def reload(self) -> bool:
        """Load backworks.yaml again and swap in a new engine; on failure keep the old one."""
        return await self.reloader.reload()

    async def _rebuild(self) -> tuple[str, list[str]]:
        config, engine = await asyncio.to_thread(self._build, self.config_path)
        previous = self.engine
        self.engine, self.config = engine, config
        self.stats.drift = DriftCheck(config, previous=self.stats.drift)
        self.stats.scrub = self._scrubber(config)
        previous.close()
        self._wire_cache = {}
        return f"{len(engine.endpoints())} endpoint(s)", list(engine.notes)

    def endpoints(self) -> list[dict]:
        return self.engine.endpoints()

    def reset(self) -> None:
        self.engine.reset()

    def _build(self, path: Path) -> tuple[Config, Engine]:
        config = load_config_or_default(path)
        engine = build_engine(
            config,
            seed=self.seed,
            strict=self.strict,
            edge_cases=self.edge_cases,
            store_path=self.store_path,
        )
        return config, engine

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start_watching()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop_watching()
                self.engine.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _drop_connection(receive: Receive) -> None:
    """Drop the connection without an answer: abort the transport with SO_LINGER 0 (a TCP RST).

    ASGI has no message for this, so the transport is taken from uvicorn's request cycle (the
    owner of `receive`); under another server the app raises, which such servers report as a
    broken connection too.
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionResetError("backworks: connection reset by a configured fault")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        import socket
        import struct

        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    cycle.disconnected = True  # so the server does not try to answer with a 500 instead


async def _dribble(send: Send, body: bytes, bytes_per_second: float | None) -> None:
    """Send `body` in small chunks at about `bytes_per_second`."""
    rate = max(1.0, float(bytes_per_second or 1024))
    size = max(1, int(rate / SLOW_CHUNKS_PER_SECOND))
    pause = size / rate
    for offset in range(0, len(body), size):
        more = offset + size < len(body)
        await send(
            {"type": "http.response.body", "body": body[offset : offset + size], "more_body": more}
        )
        if more:
            await asyncio.sleep(pause)
    if not body:
        await send({"type": "http.response.body", "body": b""})


# --- building and running ------------------------------------------------------------------------


def build_engine(
    config: Config,
    *,
    seed: int = 0,
    strict: bool = False,
    edge_cases: bool = False,
    store_path: Path | None = None,
) -> Engine:
    """The engine for `config`, reading recordings from `store_path` instead of the store
    that backworks.yaml names when it is given."""
    options = {"seed": seed, "strict": strict, "edge_cases": edge_cases}
    if store_path is None:
        return Engine.build(config, **options)
    from backworks_cli.record.store import Store

    with Store.open(store_path) as store:
        return Engine.build(config, store=store, **options)


def create_app(
    config: Config,
    *,
    seed: int = 0,
    strict: bool = False,
    edge_cases: bool = False,
    max_body: int | None = None,
    config_path: Path | None = None,
    store_path: Path | None = None,
    log: Log | None = None,
    journal_size: int = JOURNAL_SIZE,
    reload_interval: float = RELOAD_INTERVAL,
    access: AdminAccess | None = None,
) -> MockApp:
    """The mock host for `config`; builds the engine now, so a bad store or config raises
    here (ConfigError, StoreError) rather than on the first request. With `config_path`, the
    file is watched and reloaded when it changes; `store_path` overrides recordings.path and
    `max_body` server.max_body; `access` is who may use the admin API (by default: a new
    token, written nowhere)."""
    engine = build_engine(
        config, seed=seed, strict=strict, edge_cases=edge_cases, store_path=store_path
    )
    return MockApp(
        engine,
        config,
        seed=seed,
        strict=strict,
        edge_cases=edge_cases,
        max_body=max_body,
        config_path=config_path,
        store_path=store_path,
        log=log,
        journal_size=journal_size,
        reload_interval=reload_interval,
        access=access,
    )
