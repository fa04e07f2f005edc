"""The admin API on a port of its own, for the hosts whose main port mitmproxy answers
(`backworks serve` and `backworks capture`).

uvicorn answers the admin port from a background thread. That thread's event loop owns the
`Stats`: the proxy hands it each answered request with `record()` (a queue, emptied on that
loop), and admin requests arriving on the main port are run on that loop as well
(`answer_admin`), so the counts, the journal and the event queues are only ever touched from
one thread and need no locks. Answers from live sources are checked for drift there too, off
the request path. A host adds what it serves: `endpoints()`, `reset()` and, where it watches
a file, `reload_if_changed()`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backworks_cli.config.model import ServerConfig
from backworks_cli.core.asgi import Receive, Scope, Send
from backworks_cli.core.errors import NetworkError
from backworks_cli.host import admin
from backworks_cli.host.admin import send_json
from backworks_cli.host.admin_access import AdminAccess
from backworks_cli.host.stats import Row, Stats

ADMIN_START_S = 15.0  # how long the admin server may take to start listening


class AdminPort:
    """The admin API of a proxying host: its Stats, the ASGI app of the admin port and the
    thread that serves it (see the module docstring)."""

    config_path: Path | None = None
    admin_max_rows = ServerConfig.admin_max_rows

    def __init__(
        self,
        admin_host: str,
        admin_port: int,
        log: Callable[[str], None],
        access: AdminAccess | None = None,
    ):
        self.admin_host, self.admin_port = admin_host, admin_port
        self.log = log
        # Who may use the admin API (by default: a new token, written nowhere).
        self.access = access or AdminAccess.create(listen=(admin_host, admin_port))
        self.stats = Stats()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._pending: deque[tuple] = deque()  # rows not yet counted by the admin thread

    @property
    def admin_url(self) -> str:
        host = self.admin_host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.admin_port}"

    @property
    def reload_error(self) -> str | None:
        return None

    def endpoints(self) -> list[dict]:
        return []

    def reset(self) -> None:
        """Nothing to reset unless the host keeps state."""

    async def reload_if_changed(self) -> bool | None:
        return None

    async def on_loop(self) -> None:
        """Called on the admin thread's loop once it runs (a host starts its watcher here)."""

    # -- counting -----------------------------------------------------------------------------

    def record(self, row: Row, request: Any = None, response: Any = None) -> None:
        """Count one answered request (a journal row, see stats.Stats) on the admin thread.

        Rows queue up and the admin loop is woken only by the first of a batch: waking it for
        every request would cost a thread switch each."""
        pending = self._pending
        pending.append((row, request, response))
        loop = self.loop
        if len(pending) == 1 and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._count_pending)

    def _count_pending(self) -> None:
        pending, record = self._pending, self.stats.record
        while pending:
            record(*pending.popleft())

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
            name = raw[len(prefix) :].decode("latin-1")
            await admin.answer(self, scope, receive, send, name, main_port=False)
            return
        await send_json(
            send,
            404,
            {
                "error": "this port answers only the admin API",
                "resources": [f"{admin.PREFIX}{name}" for name in admin.ROUTES],
            },
        )

    async def answer_admin(
        self,
        method: str,
        path: str,
        query: str,
        headers: list,
        body: bytes,
        client: tuple[str, int] | None = None,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """An admin request that came to the main port from `client`: (status, headers, body),
        answered on the admin thread; the event stream is a redirect to the admin port."""
        name = path[len(admin.PREFIX) :]
        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "raw_path": path.encode("utf-8", "surrogateescape"),
            "query_string": query.encode("utf-8", "surrogateescape"),
            "headers": headers,
            "client": client,
        }
        refused = admin.refusal(self, scope, name, main_port=True)
        if refused is not None:
            status, data, extra = refused
            return status, [(b"content-type", b"application/json"), *extra], admin.dumps_line(data)
        if name.strip("/") == "events":
            location = f"{self.admin_url}{admin.PREFIX}events" + (f"?{query}" if query else "")
            data = {"error": "the event stream is served on the admin port", "location": location}
            return (
                307,
                [(b"location", location.encode()), (b"content-type", b"application/json")],
                json.dumps(data).encode() + b"\n",
            )
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        work = admin.answer(self, scope, receive, send, name, main_port=True)
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))
        return (
            sent[0]["status"],
            list(sent[0]["headers"]),
            b"".join(m.get("body", b"") for m in sent[1:]),
        )

    # -- the admin server ---------------------------------------------------------------------

    def start_admin(self) -> None:
        """Serve the admin API on the admin port from a background thread; NetworkError when it
        cannot listen there."""
        import uvicorn

        config = uvicorn.Config(
            self,
            host=self.admin_host,
            port=self.admin_port,
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
                    f"Cannot serve the admin API on {self.admin_host}:{self.admin_port}.",
                    "Stop what is using that port or choose another with --admin HOST:PORT.",
                )
            time.sleep(0.01)
        # The port it bound, when asked for any free one (port 0).
        self.admin_port = server.servers[0].sockets[0].getsockname()[1]

    def _run_admin(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            await self.on_loop()
            await self._server.serve()

        asyncio.run(main())

    def stop_admin(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
