"""`backworks capture`: the Recorder (record.capture) behind mitmproxy in reverse or forward
mode, run by the runner, with an admin API that names each recorded exchange's endpoint
from backworks.yaml and checks it for drift.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mitmproxy import http

from backworks_cli.answer.drift import DriftCheck
from backworks_cli.config.model import Config, RedactConfig
from backworks_cli.core.errors import BackworksError
from backworks_cli.core.routing import Router
from backworks_cli.host import admin
from backworks_cli.host.admin_access import AdminAccess, exposure_warning, token_file
from backworks_cli.host.admin_port import AdminPort
from backworks_cli.host.runner import (
    InThread,
    Proxy,
    check_addresses,
    journal_entry,
    proxy_settings,
    run_with_admin,
    started_at,
)
from backworks_cli.host.scrub import Scrubber
from backworks_cli.record.capture import MAX_BODY, CaptureSummary, open_recorder


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
    access: AdminAccess | None = None  # None: a new token, written next to the store


class CaptureHost(AdminPort):
    """A capture's admin API: backworks.yaml's endpoints (as it was at start) routed, so the
    journal names the endpoint of each recorded exchange, /endpoints lists them with mode
    "capture", and recorded answers are checked for drift from their learned schemas.
    Nothing is answered here: every request goes to the upstream."""

    def __init__(
        self,
        config: Config,
        admin_at: tuple[str, int],
        log: Callable[[str], None],
        access: AdminAccess | None = None,
    ):
        super().__init__(*admin_at, log, access)
        endpoints = config.endpoint_list()
        self.stats.drift = DriftCheck(config)
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
        """The endpoint that `method path` routes to, if any."""
        found = self._router.resolve(method.upper(), path)
        return found[0].endpoint if found.__class__ is tuple else None

    def endpoints(self) -> list[dict]:
        return self._rows


def _report(host: CaptureHost) -> Callable[[http.HTTPFlow], None]:
    """What tells the admin API of each exchange the capture recorded."""

    def recorded(flow: http.HTTPFlow) -> None:
        r = flow.request
        path, _, query = r.path.partition("?")
        if flow.response is not None:
            status = flow.response.status_code
        else:  # mitmproxy answered 502 if the client was still there
            status = 502 if flow.client_conn.connected else 0
        row = (started_at(r), r.method, path, query)
        how = (host.name(r.method, path), "capture", "recorded", None, None)
        host.record(*journal_entry(flow, row, status, how))

    return recorded


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


def run_capture(
    options: CaptureOptions, *, log: Callable[[str], None], control: InThread | None = None
) -> CaptureSummary:
    """Run the capture proxy until SIGINT/SIGTERM (or `control.stop()` when it runs on a
    thread of its own); returns what was recorded."""
    mode = _mode(options)
    check_addresses((options.listen_host, options.listen_port), options.admin)
    host = None
    if options.admin:
        access = options.access or AdminAccess.create(
            listen=options.admin,
            hosts=(options.listen_host,),
            file=token_file(options.store_path),
        )
        host = CaptureHost(options.config or Config(), options.admin, log, access)
    target = "anywhere, as an HTTP(S) proxy" if options.forward else options.upstream
    warnings = (
        exposure_warning(
            "The capture",
            options.listen_host,
            options.listen_port,
            f"they can send requests through it to {target}, recorded in {options.store_path}.",
        ),
        host
        and exposure_warning(
            "The admin API",
            *options.admin,
            "with the token one can read every journaled request; there every admin request "
            "needs the token.",
        ),
    )
    for warning in warnings:
        if warning:
            log(warning)
    recorder = open_recorder(
        options.store_path,
        options.redact,
        session=options.session,
        include=options.include,
        exclude=options.exclude,
        max_body=options.max_body,
        on_recorded=_report(host) if host else None,
    )
    if host is not None:  # what the admin API shows is redacted, under the store's key
        host.stats.scrub = Scrubber(options.redact, recorder.store.redaction_key())

    def ready(port: int) -> str:
        where = f"http://{options.listen_host}:{port}"
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
        proxy_settings(insecure=options.insecure, upstream_ca=options.upstream_ca),
        ready,
        lambda: recorder.in_flight,
        recorder,
    )
    if host is not None:
        host.access.publish(log)
    try:
        run_with_admin(proxy, host, log, control)
    finally:
        if host is not None:
            host.access.withdraw()
        recorder.close()
    recorder.summary.stopped = time.monotonic()
    if recorder.fatal:
        log(recorder.summary.render())
        raise recorder.fatal
    return recorder.summary
