"""`backworks mock` on uvicorn: the settings (shared with the benchmark's bare floor app), the
HTTP protocol they choose (backworks_cli.host.fastpath, which answers a stable replay from the
parser's callbacks), one process or --workers processes (each builds its own app from the
options put in the environment), and a server on a thread of its own for --tui.

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
from backworks_cli.core.errors import BackworksError
from backworks_cli.core.ports import check_port_free
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
    app = create_app(
        config,
        seed=options["seed"],
        strict=options["strict"],
        edge_cases=options["edge_cases"],
        max_body=options["max_body"],
        config_path=path,
        store_path=Path(options["store"]) if options.get("store") else None,
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
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve `app` with uvicorn until Ctrl-C or SIGTERM; NetworkError if the port is taken.

    With workers > 1 each worker process builds its own app from the same options (uvicorn
    needs an import string for that), so the admin API of each shows its own requests.
    """
    import uvicorn

    check_port_free(host, port, option="--host and --port")
    settings = uvicorn_settings(host, port)
    _freeze_heap()
    previous = signal.getsignal(signal.SIGTERM)
    # uvicorn raises the stopping signal again after a graceful stop; SIGTERM then ends here.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        if workers > 1:
            os.environ[ENV_OPTIONS] = json.dumps(
                {
                    "config": str(app.config_path.resolve()) if app.config_path else None,
                    "store": str(app.store_path.resolve()) if app.store_path else None,
                    "seed": app.seed,
                    "strict": app.strict,
                    "edge_cases": app.edge_cases,
                    "max_body": app.max_body,
                }
            )
            if on_ready:
                on_ready()
            uvicorn.run(
                "backworks_cli.host.mock_run:app_from_env",
                factory=True,
                workers=workers,
                **settings,
            )
        else:
            config = uvicorn.Config(app, lifespan="on", **settings)
            server = uvicorn.Server(config)
            with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
                runner.run(_serve(server, on_ready))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve_in_thread(app: MockApp, *, host: str, port: int, timeout: float = 30.0) -> Callable:
    """Serve `app` with uvicorn in a daemon thread (for `backworks mock --tui`, whose main
    thread runs the dashboard); returns once it accepts connections. The returned function
    stops the server and waits for the thread. NetworkError if the port is taken."""
    import threading

    import uvicorn

    check_port_free(host, port, option="--host and --port")
    config = uvicorn.Config(app, lifespan="on", **uvicorn_settings(host, port))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="backworks-mock", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        thread.join(timeout)
        raise BackworksError(f"The mock did not start on {host}:{port}.", "Try another --port.")

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout)

    return stop


async def _serve(server: Any, on_ready: Callable[[], None] | None) -> None:
    task = asyncio.ensure_future(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started and on_ready is not None:
        on_ready()
    await task
