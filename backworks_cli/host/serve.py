"""The serve host apart from mitmproxy: the engine with proxy endpoints enabled, served
beside the admin API on its own port (admin_port.AdminPort).

`backworks serve` runs two servers in one process. mitmproxy (serve_proxy.run_serve, with
the serve_proxy.Serve addon) answers the main port: local modes through the engine, proxy
endpoints by forwarding. uvicorn answers the admin port from a background thread with the
same admin API as `backworks mock`, including the `events` stream, which an addon cannot
stream. The main port answers the admin API's JSON and text resources too, and redirects
/__backworks/events to the admin port.

backworks.yaml is watched from the admin thread's loop (host/reload.py) and reloaded when it
changes (or when the admin API's promote rewrote it): the new engine is swapped in for the
next request and the addon is told to check the new upstream pools; a file that cannot be
used leaves the old engine serving. The store is opened when the first proxy endpoint
records: at start, after a reload that gives one `record: true`, or when the admin API's
`record` resource switches one on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from backworks_cli.answer.drift import DriftCheck
from backworks_cli.answer.engine import Engine
from backworks_cli.answer.modes.proxy import Pool, ProxyMode
from backworks_cli.config.load import load_config_or_default
from backworks_cli.config.model import Config
from backworks_cli.core.errors import BackworksError, ConfigError
from backworks_cli.core.routing import Router
from backworks_cli.host.admin_access import AdminAccess, token_file
from backworks_cli.host.admin_port import AdminPort
from backworks_cli.host.reload import Reloader
from backworks_cli.host.scrub import Scrubber, store_key


@dataclass(frozen=True)
class ServeOptions:
    config: Config
    listen_host: str = "127.0.0.1"
    listen_port: int = 3000
    admin_host: str = "127.0.0.1"
    admin_port: int = 3001
    store_path: Path | None = None  # None: config.recordings.path
    seed: int = 0
    access: AdminAccess | None = None  # None: a new token, written next to the store


def serve_access(options: ServeOptions) -> AdminAccess:
    """Who may use serve's admin API: `options.access`, else a new token in the token file
    next to the store."""
    if options.access is not None:
        return options.access
    return AdminAccess.create(
        listen=(options.admin_host, options.admin_port),
        hosts=(options.listen_host,),
        file=token_file(options.store_path or options.config.recordings.path),
    )


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


class ServeHost(AdminPort):
    """serve's admin API (admin_port.AdminPort) with the engine it answers from, the
    switches of recording, and hot reload of backworks.yaml."""

    def __init__(self, engine: Engine, options: ServeOptions, log: Callable[[str], None]):
        super().__init__(options.admin_host, options.admin_port, log, serve_access(options))
        self.engine = engine
        self.options = options
        self.config_path = options.config.path
        self.on_reload: Callable[[], None] | None = None  # called on the admin thread
        # Set by the proxy: opens the store once an endpoint records; returns where it records.
        self.start_recording: Callable[[], Awaitable[str]] | None = None
        self.recording: dict[str, bool] = {}  # endpoints whose recording the admin API switched
        self.stats.drift = DriftCheck(options.config)
        self.stats.scrub = _scrubber(options)
        self.reloader = Reloader(self.config_path, self._rebuild, self.stats, log)
        self.fallback = _fallback(options.config)

    @property
    def reload_error(self) -> str | None:
        return self.reloader.error

    @property
    def admin_max_rows(self) -> int:
        return self.options.config.server.admin_max_rows

    def endpoints(self) -> list[dict]:
        return self.engine.endpoints()

    def reset(self) -> None:
        self.engine.reset()

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

    # -- reloading ----------------------------------------------------------------------------

    async def on_loop(self) -> None:
        self.reloader.start()

    async def reload_if_changed(self) -> bool | None:
        """Reload backworks.yaml if it changed since it was read (None when it did not); False
        when the new file cannot be used, and the previous engine keeps serving."""
        return await self.reloader.check()

    async def _rebuild(self) -> tuple[str, list[str]]:
        config = await asyncio.to_thread(load_config_or_default, self.config_path)
        options = replace(self.options, config=config)
        engine = await asyncio.to_thread(build_engine, options)
        self._apply_recording(engine)
        previous, self.engine = self.engine, engine
        self.options, self.fallback = options, _fallback(config)
        self.stats.drift = DriftCheck(config, previous=self.stats.drift)
        self.stats.scrub = _scrubber(options)
        previous.close()
        if self.on_reload is not None:
            self.on_reload()
        return f"{len(engine.modes())} endpoint(s)", list(engine.notes)


def _scrubber(options: ServeOptions) -> Scrubber:
    """What the admin API shows goes through: redaction under the store's key."""
    config = options.config
    return Scrubber(config.redact, store_key(options.store_path or config.recordings.path))


def _fallback(config: Config) -> ProxyMode | None:
    """Where requests no endpoint answers go: the top-level upstream, if there is one."""
    return ProxyMode.forwarding(config.upstream) if config.upstream else None
