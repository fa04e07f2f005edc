"""The `backworks` command. Each command parses its options, makes one call into a core module
and renders the result; the only `except` here turns a BackworksError into a message on stderr
and an exit code. Core modules are imported inside the commands so that `backworks --help`
stays fast."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from backworks_cli.core.errors import BackworksError, ConfigError, ExitCode

app = typer.Typer(
    name="backworks",
    help="Record, learn, replay and evolve HTTP APIs you do not control.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)
recordings_app = typer.Typer(
    help="Inspect, export, import and prune recorded exchanges.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(recordings_app, name="recordings")


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        dir_okay=False,
        help="backworks.yaml to read (default: ./backworks.yaml if present).",
    ),
]
WriteConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        dir_okay=False,
        help="backworks.yaml to write or update (default: ./backworks.yaml).",
    ),
]
AdminTokenOpt = Annotated[
    str | None,
    typer.Option(
        envvar="BACKWORKS_ADMIN_TOKEN",
        show_envvar=True,
        help="Bearer token of the admin API (default: a new one each start, printed and "
        "written to admin.token next to the store).",
    ),
]
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        dir_okay=False,
        help="Recordings store (default: from backworks.yaml, else recordings/backworks.db).",
    ),
]


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _local_url(host: str, port: int) -> str:
    """The URL a client on this machine uses for a server listening on host:port."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _watch(start: Callable[[], tuple[Callable[[], Any], str]], held: list[str], token: str) -> Any:
    """--tui: start a server on a thread of its own (`start` returns what stops it and the URL
    of its admin API, known once it listens), run the dashboard on that URL with the admin
    `token` in this terminal until it is closed, then stop the server and return what stopping
    it returned. The server's messages, held meanwhile, are printed at the end."""
    from backworks_cli.dashboard import run_dashboard

    try:
        stop, url = start()
        try:
            run_dashboard(url, token)
        finally:
            result = stop()
    finally:
        for line in held:
            _err(line)
    return result


def _next_port(port: int) -> int:
    """The admin API's default port beside a host on `port`: the next one, or any free one
    (0) when the host takes any free port or the last one."""
    return port + 1 if 0 < port < 65535 else 0


def _in_thread(run: Callable) -> tuple[Callable[[], Any], str]:
    """Start a capture or serve proxy on a thread of its own (runner.InThread): what stops it
    and the URL of its admin API."""
    from backworks_cli.host.runner import InThread

    control = InThread()
    stop = control.start(run)
    if control.admin_url is None:  # --tui always gives it one; a proxy without is a fault here
        stop()
        raise BackworksError("The proxy started without its admin API, which --tui watches.")
    return stop, control.admin_url


def _load_config(path: Path | None):
    from backworks_cli.config.load import load_config_or_default

    config = load_config_or_default(path)
    for warning in config.warnings:
        _err(f"Warning: {warning}")
    return config


def _store_path(store: Path | None, config) -> Path:
    return store if store is not None else config.recordings.path


# --- capture -------------------------------------------------------------------------------


@app.command()
def capture(
    upstream: Annotated[
        str | None,
        typer.Option(
            help="Reverse-proxy to this URL, e.g. https://api.example.com "
            "(default: from backworks.yaml)."
        ),
    ] = None,
    listen: Annotated[str, typer.Option(help="HOST:PORT to listen on.")] = "127.0.0.1:8080",
    forward: Annotated[
        bool,
        typer.Option(
            "--forward",
            help="Run as an explicit HTTP/HTTPS proxy (clients set HTTPS_PROXY) "
            "with TLS interception.",
        ),
    ] = False,
    store: StoreOpt = None,
    session: Annotated[str | None, typer.Option(help="Name of this capture session.")] = None,
    include: Annotated[
        list[str] | None, typer.Option(help="Record only paths matching this glob (repeatable).")
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(help="Do not record paths matching this glob (repeatable)."),
    ] = None,
    no_redact: Annotated[
        bool,
        typer.Option("--no-redact", help="Store secrets as they are. Off by default, on purpose."),
    ] = False,
    upstream_ca: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="PEM file of a CA to trust for the upstream's certificate.",
        ),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Do not verify the upstream's certificate.")
    ] = False,
    admin: Annotated[
        str | None,
        typer.Option(
            "--admin",
            "--admin-listen",
            help="Serve the admin API, for `backworks dashboard`, on HOST:PORT (`on`: "
            "127.0.0.1 and the listen port + 1). Off unless asked: it costs the proxy some "
            "throughput.",
        ),
    ] = None,
    admin_token: AdminTokenOpt = None,
    config: ConfigOpt = None,
    tui: Annotated[
        bool,
        typer.Option(
            "--tui", help="Watch it live in this terminal (the dashboard; implies --admin on)."
        ),
    ] = False,
) -> None:
    """Record real traffic through a proxy; secrets are redacted before anything is written."""
    from backworks_cli.host.admin_access import AdminAccess, token_file
    from backworks_cli.host.capture_proxy import CaptureOptions, run_capture
    from backworks_cli.host.runner import parse_listen

    cfg = _load_config(config)
    host, port = parse_listen(listen)
    if not no_redact and not cfg.redact.enabled:
        raise ConfigError(
            "backworks.yaml turns redaction off (redact.enabled: false), so capture would store "
            "secrets as they are.",
            "Pass --no-redact to do so on purpose, or remove redact.enabled: false.",
        )
    if tui and admin is not None and admin.lower() == "off":
        raise BackworksError(
            "--tui watches the capture through its admin API, which --admin off turns off.",
            "Leave out --admin off, or give the admin API an address with --admin HOST:PORT.",
            exit_code=ExitCode.USAGE,
        )
    beside = ("127.0.0.1", _next_port(port))  # --admin on
    if admin is None and tui:
        admin_at = beside
    elif admin is None or admin.lower() == "off":
        admin_at = None
    elif admin.lower() == "on":
        admin_at = beside
    else:
        admin_at = parse_listen(admin, "--admin")
    store_path = _store_path(store, cfg)
    access = AdminAccess.create(
        admin_token, listen=admin_at, hosts=(host,), file=token_file(store_path)
    )
    options = CaptureOptions(
        upstream=upstream or cfg.upstream,
        forward=forward,
        listen_host=host,
        listen_port=port,
        store_path=store_path,
        session=session or cfg.recordings.session,
        include=tuple(include or cfg.recordings.include),
        exclude=tuple(exclude or cfg.recordings.exclude),
        redact=None if no_redact else cfg.redact,
        upstream_ca=upstream_ca,
        insecure=insecure,
        admin=admin_at,
        config=cfg,
        access=access,
    )
    if tui:
        held: list[str] = []  # the proxy's messages wait until the dashboard is closed
        summary = _watch(
            lambda: _in_thread(lambda c: run_capture(options, log=held.append, control=c)),
            held,
            access.token,
        )
    else:
        summary = run_capture(options, log=_err)
    _err(summary.render())


@app.command()
def certs() -> None:
    """Show where the capture CA certificate is and how to trust it (for --forward)."""
    from backworks_cli.host.certs import ensure_ca

    info = ensure_ca()
    print(info.render())


# --- recordings -----------------------------------------------------------------------------


class Format(StrEnum):
    har = "har"
    jsonl = "jsonl"


@recordings_app.command("list")
def recordings_list(
    store: StoreOpt = None,
    method: Annotated[str | None, typer.Option(help="Only this HTTP method.")] = None,
    path: Annotated[
        str | None, typer.Option(help="Only paths matching this glob, e.g. '/users/*'.")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="Only this status, or a class such as 4xx.")
    ] = None,
    session: Annotated[str | None, typer.Option(help="Only this capture session.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many (0: all).")] = 100,
    config: ConfigOpt = None,
) -> None:
    """List recorded exchanges as a table."""
    from backworks_cli.record.render import exchanges_table
    from backworks_cli.record.store import Filter, Store

    with Store.open(_store_path(store, _load_config(config))) as db:
        rows = db.query(
            Filter.build(method=method, path=path, status=status, session=session),
            limit=limit or None,
        )
        print(exchanges_table(rows), end="")


@recordings_app.command("show")
def recordings_show(
    exchange_id: Annotated[
        int, typer.Argument(help="Id of the exchange, as `recordings list` shows it.")
    ],
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Show one exchange: request, response, headers and pretty-printed bodies."""
    from backworks_cli.record.render import exchange_detail
    from backworks_cli.record.store import Store

    with Store.open(_store_path(store, _load_config(config))) as db:
        print(exchange_detail(db.get(exchange_id)), end="")


@recordings_app.command("stats")
def recordings_stats(
    store: StoreOpt = None,
    session: Annotated[str | None, typer.Option(help="Only this capture session.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Count exchanges by session, method, status and path."""
    from backworks_cli.record.render import stats_report
    from backworks_cli.record.store import Filter, Store

    with Store.open(_store_path(store, _load_config(config))) as db:
        print(stats_report(db.stats(Filter.build(session=session))), end="")


@recordings_app.command("export")
def recordings_export(
    output: Annotated[
        Path, typer.Option("--output", "-o", dir_okay=False, help="File to write ('-' for stdout).")
    ],
    format: Annotated[
        Format, typer.Option("--format", "-f", help="har (HAR 1.2) or jsonl (one exchange a line).")
    ] = Format.har,
    store: StoreOpt = None,
    method: Annotated[str | None, typer.Option(help="Only this HTTP method.")] = None,
    path: Annotated[str | None, typer.Option(help="Only paths matching this glob.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only this status, or a class such as 4xx.")
    ] = None,
    session: Annotated[str | None, typer.Option(help="Only this capture session.")] = None,
    no_redact: Annotated[
        bool,
        typer.Option("--no-redact", help="Write secrets as they are (else an export refuses)."),
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Export exchanges as HAR 1.2 or JSON lines (secrets redacted again on the way out)."""
    from backworks_cli.record.formats import export_exchanges
    from backworks_cli.record.store import Filter, Store

    cfg = _load_config(config)
    with Store.open(_store_path(store, cfg)) as db:
        rows = db.query(Filter.build(method=method, path=path, status=status, session=session))
        count = export_exchanges(
            rows,
            output,
            format.value,
            redact=cfg.redact,
            key=db.redaction_key(),
            allow_secrets=no_redact,
        )
    _err(f"Exported {count} exchange(s) to {output}.")


@recordings_app.command("import")
def recordings_import(
    source: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="HAR or JSON lines file.")
    ],
    store: StoreOpt = None,
    session: Annotated[
        str | None, typer.Option(help="Session name for the imported exchanges.")
    ] = None,
    no_redact: Annotated[
        bool, typer.Option("--no-redact", help="Import secrets as they are.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Import a HAR file (browser devtools, mitmproxy) or JSON lines into the store."""
    from backworks_cli.record.formats import read_exchanges
    from backworks_cli.record.redact import SESSION_MEMORY, Redactor
    from backworks_cli.record.store import Store

    cfg = _load_config(config)
    with Store.open(_store_path(store, cfg), create=True) as db:
        redactor = None
        if not no_redact:
            redactor = Redactor(db.redaction_key(), cfg.redact, remember=SESSION_MEMORY)
        count = db.add_many(read_exchanges(source, session=session), redactor=redactor)
    _err(f"Imported {count} exchange(s) from {source}.")


@recordings_app.command("prune")
def recordings_prune(
    store: StoreOpt = None,
    session: Annotated[str | None, typer.Option(help="Only this capture session.")] = None,
    method: Annotated[str | None, typer.Option(help="Only this HTTP method.")] = None,
    path: Annotated[str | None, typer.Option(help="Only paths matching this glob.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only this status, or a class such as 4xx.")
    ] = None,
    older_than: Annotated[
        str | None, typer.Option(help="Only exchanges older than this, e.g. 7d, 12h, 30m.")
    ] = None,
    keep_last: Annotated[
        int | None, typer.Option(help="Keep the newest N exchanges of each method and path.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Delete exchanges matching the filters (at least one filter is required)."""
    from backworks_cli.record.store import Filter, Store

    flt = Filter.build(
        method=method, path=path, status=status, session=session, older_than=older_than
    )
    with Store.open(_store_path(store, _load_config(config))) as db:
        count = db.prune(flt, keep_last=keep_last, dry_run=dry_run)
    _err(f"{'Would delete' if dry_run else 'Deleted'} {count} exchange(s).")


# --- infer ----------------------------------------------------------------------------------


@app.command()
def scan(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders to scan (default: the current folder)."),
    ] = None,
) -> None:
    """Find live-looking secrets in stores, HAR/JSONL, fixtures, backworks.yaml and OpenAPI
    files; exit 1 naming file, location and rule when any is found (a pre-commit hook)."""
    from backworks_cli.record.scan import Scanner

    scanner = Scanner()
    found = 0
    for finding in scanner.scan(paths or [Path(".")]):
        print(finding)
        found += 1
    if found:
        _err(f"{found} secret(s) found in {scanner.files} file(s) scanned.")
        _err("Hint: redact them (backworks recordings import/export redacts) or remove the files.")
        raise typer.Exit(int(ExitCode.ERROR))
    _err(f"No secrets found in {scanner.files} file(s).")


@app.command()
def infer(
    store: StoreOpt = None,
    config: WriteConfigOpt = None,
    session: Annotated[
        str | None, typer.Option(help="Learn from this capture session only (default: all).")
    ] = None,
) -> None:
    """Learn endpoints, path parameters, schemas and field semantics from recordings into
    backworks.yaml, keeping your edits to it."""
    from rich import box
    from rich.console import Console
    from rich.progress import MofNCompleteColumn, Progress
    from rich.table import Table

    from backworks_cli.config.model import DEFAULT_CONFIG, Config
    from backworks_cli.learn.infer import infer as learn
    from backworks_cli.learn.infer import write_config
    from backworks_cli.record.store import Store

    console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
    target = config or DEFAULT_CONFIG
    cfg = _load_config(target) if target.exists() else Config()
    bars: list[Progress] = []

    def progress(done: int, total: int) -> None:
        if total <= 1000:
            return
        if not bars:
            bars.append(
                Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console)
            )
            bars[0].start()
            bars[0].add_task("Learning from recordings", total=total)
        bars[0].update(bars[0].task_ids[0], completed=done)

    try:
        with Store.open(_store_path(store, cfg)) as db:
            result = learn(db, session=session, existing=target, progress=progress)
    finally:
        for bar in bars:
            bar.stop()
    if result.changed:
        write_config(target, result.text)
    for note in result.notes:
        _err(f"Warning: {note}")
    table = Table(box=box.SIMPLE_HEAD)
    for title in ("Endpoint", "Methods", "Path", "Samples", "Semantic fields", "State"):
        right = title in ("Samples", "Semantic fields")
        table.add_column(title, overflow="fold", justify="right" if right else "left")
    for e in result.endpoints:
        table.add_row(
            e.name, ",".join(e.methods), e.path, str(e.samples), str(e.semantics), e.state
        )
    console.print(table)
    states = ("new", "updated", "unchanged", "not seen")
    counts = ", ".join(f"{result.count(s)} {s}" for s in states if result.count(s))
    done = f"Wrote {target}" if result.changed else f"{target} is already up to date"
    total = f"{len(result.endpoints)} endpoint(s) from {result.exchanges} exchange(s)"
    _err(f"{done}: {total} ({counts}).")
    if result.unseen:
        _err("Kept as they are, with no recording reaching them: " + ", ".join(result.unseen) + ".")


# --- mock -----------------------------------------------------------------------------------


@app.command()
def mock(
    config: ConfigOpt = None,
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on (default: server.host, else 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Port to listen on; 0 for any free one (default: server.port, else 3000).",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of generated data: the same seed gives the same bytes.")
    ] = 0,
    workers: Annotated[
        int,
        typer.Option(min=1, help="Worker processes; each keeps its own admin API counters."),
    ] = 1,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Never generate: a request no recording matches gets a 404 miss."
        ),
    ] = False,
    edge_cases: Annotated[
        bool,
        typer.Option(
            "--edge-cases", help="Generate boundary values (empty, extreme, odd) instead of data."
        ),
    ] = False,
    store: StoreOpt = None,
    admin_listen: Annotated[
        str | None,
        typer.Option(
            help="Also serve the admin API on HOST:PORT, e.g. for a dashboard on another "
            "machine (default: only /__backworks/ on the mock's port, to this machine)."
        ),
    ] = None,
    admin_token: AdminTokenOpt = None,
    tui: Annotated[
        bool,
        typer.Option("--tui", help="Watch it live in this terminal: the dashboard, one process."),
    ] = False,
) -> None:
    """Serve recorded responses offline, and data generated from schemas for the rest."""
    from backworks_cli.host.admin_access import AdminAccess, token_file
    from backworks_cli.host.admin_access import shown as shown_address
    from backworks_cli.host.mock import create_app
    from backworks_cli.host.mock_run import run_mock
    from backworks_cli.host.runner import parse_listen

    if tui and workers > 1:
        raise BackworksError(
            "--tui runs the mock in one process.", "Leave out --workers.", exit_code=ExitCode.USAGE
        )
    cfg = _load_config(config)
    host = host or cfg.server.host
    port = cfg.server.port if port is None else port
    access = AdminAccess.create(
        admin_token,
        listen=parse_listen(admin_listen, "--admin-listen") if admin_listen else None,
        hosts=(host,),
        file=token_file(_store_path(store, cfg)),
    )
    held: list[str] = []  # with --tui, the host's messages wait until the dashboard is closed
    mock_app = create_app(
        cfg,
        seed=seed,
        strict=strict,
        edge_cases=edge_cases,
        config_path=cfg.path,
        store_path=store,
        log=held.append if tui else _err,
        access=access,
    )
    for note in mock_app.engine.notes:
        _err(f"Note: {note}")
    count = len(mock_app.engine.endpoints())
    shown = f"[{host}]" if ":" in host else host

    def admin_at() -> str:
        """Where the admin API answers: the mock's own port, and its --admin-listen address
        (bound by now, so a port 0 shows the chosen one)."""
        if mock_app.access.listen is None:
            return "/__backworks/"
        return f"/__backworks/, and http://{shown_address(*mock_app.access.listen)}/__backworks/"

    if tui:
        from backworks_cli.host.mock_run import serve_in_thread

        def start() -> tuple[Callable[[], Any], str]:
            stop, bound = serve_in_thread(mock_app, host=host, port=port)
            return stop, _local_url(host, bound)

        _watch(start, held, access.token)
        _err("Mock stopped.")
        return
    run_mock(
        mock_app,
        host=host,
        port=port,
        workers=workers,
        on_ready=lambda bound: _err(
            f"Mock serving {count} endpoints on http://{shown}:{bound} (admin: {admin_at()})"
        ),
    )
    _err("Mock stopped.")


@app.command()
def serve(
    config: ConfigOpt = None,
    listen: Annotated[
        str | None,
        typer.Option(help="HOST:PORT to listen on (default: server.host and server.port)."),
    ] = None,
    admin: Annotated[
        str | None,
        typer.Option(
            "--admin-listen",
            "--admin",
            help="HOST:PORT of the admin API with its event stream (default: 127.0.0.1 and "
            "the port + 1).",
        ),
    ] = None,
    admin_token: AdminTokenOpt = None,
    seed: Annotated[
        int, typer.Option(help="Seed of generated data: the same seed gives the same bytes.")
    ] = 0,
    store: StoreOpt = None,
    tui: Annotated[
        bool,
        typer.Option("--tui", help="Watch it live in this terminal: the dashboard, one process."),
    ] = False,
) -> None:
    """Serve every endpoint in its own mode; proxy endpoints and unknown paths go upstream."""
    from backworks_cli.host.admin_access import AdminAccess, token_file
    from backworks_cli.host.runner import parse_listen
    from backworks_cli.host.serve import ServeOptions
    from backworks_cli.host.serve_proxy import run_serve

    cfg = _load_config(config)
    host, port = parse_listen(listen or f"{cfg.server.host}:{cfg.server.port}")
    admin_host, admin_port = parse_listen(admin or f"127.0.0.1:{_next_port(port)}", "--admin")
    access = AdminAccess.create(
        admin_token,
        listen=(admin_host, admin_port),
        hosts=(host,),
        file=token_file(_store_path(store, cfg)),
    )
    options = ServeOptions(
        config=cfg,
        listen_host=host,
        listen_port=port,
        admin_host=admin_host,
        admin_port=admin_port,
        store_path=store,
        seed=seed,
        access=access,
    )
    if tui:
        held: list[str] = []  # the proxy's messages wait until the dashboard is closed
        _watch(
            lambda: _in_thread(lambda c: run_serve(options, log=held.append, control=c)),
            held,
            access.token,
        )
    else:
        run_serve(options, log=_err)
    _err("Serve stopped.")


# --- promote and modes ----------------------------------------------------------------------


class PromoteMode(StrEnum):
    proxy = "proxy"
    runtime = "runtime"
    database = "database"
    mock = "mock"
    replay = "replay"


class Language(StrEnum):
    python = "python"
    node = "node"
    shell = "shell"
    command = "command"


@app.command()
def promote(
    to: Annotated[PromoteMode, typer.Option("--to", help="The mode to move the endpoint(s) to.")],
    names: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="NAME...", help="Endpoint name(s) as in backworks.yaml.", show_default=False
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            dir_okay=False,
            help="backworks.yaml to rewrite (default: ./backworks.yaml).",
        ),
    ] = None,
    all_endpoints: Annotated[
        bool, typer.Option("--all", help="Promote every endpoint instead of named ones.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the diff of backworks.yaml; change nothing."),
    ] = False,
    upstream: Annotated[
        str | None,
        typer.Option(help="proxy: the URL to forward to (default: the top-level upstream)."),
    ] = None,
    language: Annotated[
        Language,
        typer.Option(
            help="runtime: the handler to scaffold under handlers/ (command: your own argv)."
        ),
    ] = Language.python,
    rows: Annotated[
        int,
        typer.Option(
            min=0,
            help="database: rows the new table holds: recorded ones first, generated up to N.",
        ),
    ] = 50,
) -> None:
    """Move endpoints to another mode, rewriting backworks.yaml in place (comments kept)."""
    from backworks_cli.evolve.promote import promote as run_promote

    if all_endpoints == bool(names):
        raise BackworksError(
            "Name the endpoint(s) to promote, or pass --all (not both).",
            "`backworks modes` lists the endpoints.",
            exit_code=ExitCode.USAGE,
        )
    result = run_promote(
        config,
        "all" if all_endpoints else list(names or ()),
        to.value,
        upstream=upstream,
        language=language.value,
        rows=rows,
        dry_run=dry_run,
    )
    if dry_run:
        print(result.diff, end="")
    for change in result.changes:
        _err(change.render())
    for note in result.notes:
        _err(f"Note: {note}")
    if dry_run:
        _err("Dry run: nothing was written.")
    elif not result.changes:
        _err("Nothing to change.")


@app.command()
def modes(config: ConfigOpt = None) -> None:
    """List every endpoint with its mode and what backs it."""
    from backworks_cli.evolve.inventory import endpoint_modes, modes_table

    cfg = _load_config(config)
    rows = endpoint_modes(cfg)
    print(modes_table(rows), end="")
    if not rows:
        _err(f"No endpoints in {cfg.path or 'the configuration'}; run `backworks infer` first.")


# --- OpenAPI --------------------------------------------------------------------------------

export_app = typer.Typer(
    help="Write backworks.yaml's endpoints in other formats.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
import_app = typer.Typer(
    help="Turn other API descriptions into backworks.yaml endpoints.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")


class ImportMode(StrEnum):
    mock = "mock"
    replay = "replay"
    proxy = "proxy"


@export_app.command("openapi")
def export_openapi(
    config: ConfigOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="File to write: a .json name writes JSON, any other YAML (default: stdout).",
        ),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Write the endpoints as an OpenAPI 3.1 document, with examples from the recordings."""
    from backworks_cli.learn.openapi import export as openapi

    cfg = _load_config(config)
    result = openapi.export_openapi(cfg, store_path=store)
    for note in result.notes:
        _err(f"Warning: {note}")
    if not result.operations:
        _err(f"No endpoints in {cfg.path or 'the configuration'}; run `backworks infer` first.")
    to_file = output is not None and str(output) != "-"
    as_json = to_file and output.suffix.lower() == ".json"
    text = openapi.render_openapi(result.document, "json" if as_json else "yaml")
    if not to_file:
        sys.stdout.write(text)
        return
    openapi.write_document(output, text)
    _err(f"Wrote {output}: OpenAPI {openapi.OPENAPI_VERSION}, {result.operations} operation(s).")


@import_app.command("openapi")
def import_openapi(
    spec: Annotated[Path, typer.Argument(help="OpenAPI 3.0 or 3.1 document, YAML or JSON.")],
    config: WriteConfigOpt = None,
    mode: Annotated[
        ImportMode, typer.Option(help="Mode of the new endpoints: mock, replay or proxy.")
    ] = ImportMode.mock,
) -> None:
    """Add one endpoint per OpenAPI operation to backworks.yaml, keeping what is there."""
    from backworks_cli.config.model import DEFAULT_CONFIG
    from backworks_cli.learn.infer import write_config
    from backworks_cli.learn.openapi.importing import import_openapi as merge

    target = config or DEFAULT_CONFIG
    result = merge(spec, existing=target, mode=mode.value)
    for note in result.notes:
        _err(f"Warning: {note}")
    if result.changed:
        write_config(target, result.text)
    if result.upstream:
        _err(f"Set upstream to {result.upstream} (the document's first server).")
    if result.kept:
        _err("Kept as they are (an endpoint of that name exists): " + ", ".join(result.kept) + ".")
    for clash in result.clashes:
        _err(f"Not added: {clash}.")
    if result.added:
        names = ", ".join(result.added)
        _err(f"Wrote {target}: {len(result.added)} endpoint(s) added from {spec} ({names}).")
    elif not result.changed:
        _err(f"Nothing to add: {target} is unchanged.")
    else:
        _err(f"Wrote {target}.")


# --- config and demo ------------------------------------------------------------------------


@app.command()
def schema() -> None:
    """Print the JSON Schema of backworks.yaml, for editor completion and validation."""
    import json

    from backworks_cli.config.schema import config_schema

    print(json.dumps(config_schema(), indent=2, sort_keys=True))


@app.command()
def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            file_okay=False,
            help="Keep the demo's files here (default: a temporary directory).",
        ),
    ] = None,
) -> None:
    """Run the whole journey on a built-in sample shop API: no network, under a minute."""
    from backworks_cli.demo.journey import run_demo

    run_demo(directory, out=print, log=_err)


@app.command()
def dashboard(
    url: Annotated[
        str,
        typer.Option(help="Base URL of a running host (`backworks mock`) to watch."),
    ] = "http://127.0.0.1:3000",
    admin_token: Annotated[
        str | None,
        typer.Option(
            envvar="BACKWORKS_ADMIN_TOKEN",
            show_envvar=True,
            help="The host's admin token (default: from admin.token next to the store, for a "
            "host on this machine).",
        ),
    ] = None,
    config: ConfigOpt = None,
    store: StoreOpt = None,
) -> None:
    """Watch a running host live: requests, endpoints, alerts; promote endpoints, reset state."""
    from backworks_cli.dashboard import run_dashboard
    from backworks_cli.dashboard.client import check_url
    from backworks_cli.host.admin_access import dashboard_token

    url = check_url(url)
    found = admin_token or dashboard_token(url, lambda: _store_path(store, _load_config(config)))
    run_dashboard(url, found)


@app.command()
def version() -> None:
    """Print the version."""
    from backworks_cli import __version__

    print(__version__)


def main() -> None:
    # Past the file size limit (`ulimit -f`) a write would kill the process with SIGXFSZ;
    # ignored, it fails with EFBIG instead, which is reported as a full disk.
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        app()
    except BackworksError as error:
        _err(f"Error: {error.message}")
        if error.hint:
            _err(f"Hint: {error.hint}")
        sys.exit(int(error.exit_code))
    except KeyboardInterrupt:
        _err("Interrupted.")
        sys.exit(int(ExitCode.INTERRUPTED))
