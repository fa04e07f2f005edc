"""`backworks mock` on uvicorn: the settings (shared with the benchmark's bare floor app), the
HTTP protocol they choose (backworks_cli.host.fastpath, which answers a stable replay from the
parser's callbacks), one process or --workers processes (each builds its own app from the
options put in the environment), and a server on a thread of its own for --tui. Before it
serves: the warnings for addresses other machines reach, the admin token file, and with
--admin-listen the second socket, bound beside the main one.

Besides sample_api and fastpath this is the only module that imports uvicorn, and it does so
when the mock starts.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backworks_cli.config.load import load_config_or_default
from backworks_cli.core.errors import BackworksError, ExitCode
from backworks_cli.core.ports import listen_socket
from backworks_cli.host.admin_access import WILDCARDS, AdminAccess, exposure_warning, shown
from backworks_cli.host.mock import MockApp, create_app

ENV_OPTIONS = "BACKWORKS_MOCK_OPTIONS"  # carries the options to --workers processes


def _freeze_heap() -> None:
    """Move everything built so far (the engine and its recordings, which live as long as the
    process) out of the cyclic garbage collector's sight, so that full collections do not walk
    hundreds of thousands of objects while requests wait."""
    gc.collect()
    gc.freeze()


def app_from_env() -> MockApp:
    """The app of one --workers process, from the options the parent put in the environment."""
    options = json.loads(os.environ[ENV_OPTIONS])
    path = Path(options["config"]) if options.get("config") else None
    config = load_config_or_default(path)
    # The parent wrote the token file and said where it is; each worker checks the same token.
    access = AdminAccess(options["admin_token"], hosts=(options["host"],), given=True)
    app = create_app(
        config,
        seed=options["seed"],
        strict=options["strict"],
        edge_cases=options["edge_cases"],
        max_body=options["max_body"],
        config_path=path,
        store_path=Path(options["store"]) if options.get("store") else None,
        access=access,
    )
    _freeze_heap()
    return app


def uvicorn_settings(host: str, port: int) -> dict[str, Any]:
    """The same settings for `backworks mock` and for the benchmark's bare floor app."""
    import importlib.util

    have = importlib.util.find_spec
    return {
        "host": host,
        "port": port,
        "loop": "uvloop" if have("uvloop") else "asyncio",
        "http": _http_protocol() if have("httptools") else "h11",
        "access_log": False,
        "log_level": "warning",
        "server_header": False,
        "proxy_headers": False,
        "timeout_graceful_shutdown": 3,
    }


def _http_protocol() -> type | str:
    """uvicorn's httptools protocol with the shortcut for stable answers (host/fastpath.py),
    or uvicorn's own when this uvicorn lacks what the shortcut builds on."""
    try:
        from backworks_cli.host.fastpath import ReplayProtocol
    except ImportError:
        return "httptools"
    return ReplayProtocol


def run_mock(
    app: MockApp,
    *,
    host: str,
    port: int,
    workers: int = 1,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Serve `app` with uvicorn until Ctrl-C or SIGTERM; NetworkError if the port is taken.
    `on_ready` is given the port it listens on (the one the system chose, for port 0).

    With workers > 1 each worker process builds its own app from the same options (uvicorn
    needs an import string for that), so the admin API of each shows its own requests.
    """
    import uvicorn

    if workers > 1 and app.access.listen is not None:
        raise BackworksError(
            "--admin-listen serves the admin API of one process; --workers runs several.",
            "Leave out --workers, or --admin-listen (each worker answers /__backworks/ on its "
            "port to this machine).",
            exit_code=ExitCode.USAGE,
        )
    sockets = _bind(app, host, port)
    port = sockets[0].getsockname()[1]
    settings = uvicorn_settings(host, port)
    _freeze_heap()
    previous = signal.getsignal(signal.SIGTERM)
    # uvicorn raises the stopping signal again after a graceful stop; SIGTERM then ends here.
    signal.signal(signal.SIGTERM, lambda *_: None)
    _announce(app, host, port)
    try:
        if workers > 1:
            from uvicorn.supervisors import Multiprocess

            os.environ[ENV_OPTIONS] = json.dumps(
                {
                    "config": str(app.config_path.resolve()) if app.config_path else None,
                    "store": str(app.store_path.resolve()) if app.store_path else None,
                    "seed": app.seed,
                    "strict": app.strict,
                    "edge_cases": app.edge_cases,
                    "max_body": app.given_max_body,
                    "host": host,
                    "admin_token": app.access.token,
                }
            )
            if on_ready:
                on_ready(port)
            config = uvicorn.Config(
                "backworks_cli.host.mock_run:app_from_env",
                factory=True,
                workers=workers,
                **settings,
            )
            Multiprocess(config, sockets=sockets).run()
        else:
            config = uvicorn.Config(app, lifespan="on", **settings)
            server = uvicorn.Server(config)
            with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
                runner.run(_serve(server, lambda: on_ready and on_ready(port), sockets))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        app.access.withdraw()
        for sock in sockets:
            sock.close()


def serve_in_thread(
    app: MockApp, *, host: str, port: int, timeout: float = 30.0
) -> tuple[Callable[[], None], int]:
    """Serve `app` with uvicorn in a daemon thread (for `backworks mock --tui`, whose main
    thread runs the dashboard); returns once it accepts connections: the function that stops
    the server and waits for the thread, and the port it listens on. NetworkError if the port
    is taken."""
    import threading

    import uvicorn

    sockets = _bind(app, host, port)
    port = sockets[0].getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", **uvicorn_settings(host, port))
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, args=(sockets,), name="backworks-mock", daemon=True
    )
    _announce(app, host, port)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout)
        app.access.withdraw()
        for sock in sockets:
            sock.close()

    if not server.started:
        stop()
        raise BackworksError(f"The mock did not start on {host}:{port}.", "Try another --port.")
    return stop, port


def _bind(app: MockApp, host: str, port: int) -> list:
    """Bind the mock's address and, with an admin address of its own (--admin-listen), that
    one too: the sockets uvicorn serves. A port 0 becomes the one the system chose, which the
    app is told for the admin address. NetworkError when an address cannot be had."""
    sockets = [listen_socket(host, port, option="--host and --port")]
    if app.access.listen is not None:
        admin_host, admin_port = app.access.listen
        if admin_port == port and port != 0:
            sockets[0].close()
            raise BackworksError(
                f"--admin-listen {shown(admin_host, admin_port)} has the mock's own port.",
                "Give the admin API a port of its own, e.g. the mock's port + 1.",
                exit_code=ExitCode.USAGE,
            )
        try:
            sockets.append(listen_socket(admin_host, admin_port, option="--admin-listen HOST:PORT"))
        except BaseException:
            sockets[0].close()
            raise
    if len(sockets) > 1:
        bound = sockets[1].getsockname()[1]
        app.access.listen = (app.access.listen[0], bound)
        app.admin_port = bound
    return sockets


def _announce(app: MockApp, host: str, port: int) -> None:
    """Warn of every address other machines can reach, write the admin token file and say
    where the token is."""
    listen = app.access.listen
    if listen:
        where = f"the admin API is served on {shown(*listen)}."
    elif host in WILDCARDS:
        where = f"the admin API answers only this machine, at {shown('127.0.0.1', port)}."
    else:
        where = (
            "the admin API answers only this machine's loopback, which is not this address: "
            f"add --admin-listen {shown('127.0.0.1', port + 1)} to watch it."
        )
    warnings = [
        exposure_warning(
            "The mock",
            host,
            port,
            f"it serves its recordings and generated answers to them; {where}",
        ),
        listen
        and exposure_warning(
            "The admin API",
            *listen,
            "with the token one can rewrite backworks.yaml (promote), reset state and read "
            "every journaled request; there every admin request needs the token.",
        ),
    ]
    for warning in warnings:
        if warning:
            app.log(warning)
    app.access.publish(app.log)


async def _serve(server: Any, on_ready: Callable[[], None] | None, sockets: list | None) -> None:
    task = asyncio.ensure_future(server.serve(sockets))
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started and on_ready is not None:
        on_ready()
    await task
