"""The dashboard against real `backworks mock` subprocesses on loopback, driven by the Textual
pilot; the event-stream parser and the model as plain functions (with hypothesis); and SVG
snapshots of the main screens built from fixed data, with no host and no clock."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from backworks_cli.config.load import load_config
from backworks_cli.config.model import RedactConfig
from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.dashboard import create_app
from backworks_cli.dashboard.app import Dashboard
from backworks_cli.dashboard.messages import (
    Connected,
    EndpointsSnapshot,
    EventsReceived,
    Streaming,
)
from backworks_cli.dashboard.model import (
    LOG_SIZE,
    MAX_ALERTS,
    Model,
    SSEParser,
    event_matches,
    parse_filter,
    percentile,
    sparkline,
)
from backworks_cli.dashboard.screens import DetailScreen, HelpScreen, ModePicker, TooSmall
from backworks_cli.demo.sample_api import create_app as sample_app
from backworks_cli.host.admin_access import dashboard_token
from backworks_cli.record.redact import Redactor
from backworks_cli.record.store import Store
from tests.conftest import (
    Listening,
    admin_port_in,
    dead_port,
    on_a_fixed_port,
    wait_until,
)

WAIT = 30.0  # seconds a pilot test waits for something that happens over the network

# A backworks.yaml as a person writes it: comments that promotion must keep.
CONFIG = """\
# The sample shop, recorded once.
name: shop
recordings:
  path: recordings.db
endpoints:
  get_health:
    path: /api/health
    methods: [GET]
    mode: replay
  get_users:
    path: /api/users
    methods: [GET]
    mode: replay   # lists, paged
  get_users_id:
    path: /api/users/{id}
    methods: [GET]
    mode: replay
  get_products_id:
    path: /api/products/{id}
    methods: [GET]
    mode: replay
"""
RECORDED = [
    "/api/health",
    "/api/users",
    "/api/users/1",
    "/api/users/2",
    "/api/products/3",
]


async def _record() -> list[Exchange]:
    """The sample API's answers to RECORDED, as exchanges."""
    exchanges = []
    transport = httpx.ASGITransport(app=sample_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as shop:
        for path in RECORDED:
            reply = await shop.get(path)
            sent = reply.request
            exchanges.append(
                Exchange(
                    request=Request(
                        "GET", path, headers=tuple(sent.headers.multi_items()), host="shop.test"
                    ),
                    response=Response(
                        reply.status_code, tuple(reply.headers.multi_items()), reply.content
                    ),
                    started_at=time.time(),
                    duration_ms=1.0,
                    session="test",
                )
            )
    return exchanges


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """A directory with recordings.db from the sample API and the backworks.yaml above."""
    directory = tmp_path_factory.mktemp("shop")
    with Store.open(directory / "recordings.db", create=True) as store:
        store.add_many(
            asyncio.run(_record()), redactor=Redactor(store.redaction_key(), RedactConfig())
        )
    (directory / "backworks.yaml").write_text(CONFIG)
    return directory


@pytest.fixture
def project(recorded, tmp_path) -> Path:
    """A copy of the recorded project that a test may change."""
    return Path(shutil.copytree(recorded, tmp_path / "shop"))


@pytest.fixture
def start_mock(backworks):
    """Factory: start_mock(directory, port=0) -> Listening, once it says it is serving (on
    which port: the one the system chose, given 0)."""

    def start(directory: Path, port: int = 0) -> Listening:
        running = backworks(
            ["mock", "-c", "backworks.yaml", "--port", str(port)],
            cwd=directory,
            ready="Mock serving",
        )
        return Listening.bound(running)

    return start


# --- helpers for the pilot ---------------------------------------------------------------------


async def until(pilot, condition: Callable[[], object], what: str, timeout: float = WAIT):
    """Let the app run until `condition()` is true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def text(renderable) -> str:
    """What a renderable (a Static's content) reads as, without styles."""
    console = Console(width=160, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def static_text(app: Dashboard, selector: str) -> str:
    return text(app.screen.query_one(selector).content)


def log_rows(app: Dashboard) -> list[str]:
    table = app.query_one("#log-table")
    return [" ".join(str(c) for c in table.cells_at(i)) for i in range(table.row_count)]


async def select_endpoint(app: Dashboard, pilot, endpoint: str) -> None:
    """Show the endpoints tab and put its cursor on `endpoint`'s row."""
    await pilot.press("2")
    await until(
        pilot,
        lambda: endpoint in app.query_one("#endpoints-table").keys,
        "the endpoints table",
    )
    table = app.query_one("#endpoints-table")
    table.move_cursor(table.keys[endpoint])


async def promote_with_keys(app: Dashboard, pilot, endpoint: str, mode: str) -> None:
    """Select `endpoint`, press p, pick `mode` in the mode picker and wait until the dashboard
    shows the endpoint in it."""
    await select_endpoint(app, pilot, endpoint)
    await pilot.press("p")
    picker = await until(
        pilot,
        lambda: app.screen if isinstance(app.screen, ModePicker) else None,
        "the mode picker",
    )
    options = picker.query_one("OptionList")
    options.highlighted = next(
        i for i in range(options.option_count) if options.get_option_at_index(i).id == mode
    )
    await pilot.press("enter")
    await until(
        pilot,
        lambda: app.model.endpoints[endpoint].mode == mode,
        "the new mode in the dashboard",
    )


def run(scenario):
    return asyncio.run(scenario())


# --- against a real `backworks mock` -----------------------------------------------------------


def test_a_request_appears_in_the_log(recorded, start_mock):
    mock = start_mock(recorded)
    app = create_app(mock.url)

    async def scenario():
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.streaming, "the event stream")
            async with httpx.AsyncClient(trust_env=False) as client:
                reply = await client.get(f"{mock.url}/api/users/2")
            assert reply.status_code == 200
            row = await until(
                pilot,
                lambda: next((r for r in log_rows(app) if "/api/users/2" in r), None),
                "the request in the log",
            )
            assert "get_users_id" in row and "replayed" in row and "200" in row
            assert "● live" in static_text(app, "#status")

    run(scenario)


def test_a_miss_explains_itself_in_the_detail_screen(recorded, start_mock):
    mock = start_mock(recorded)
    app = create_app(mock.url)

    async def scenario():
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.streaming, "the event stream")
            async with httpx.AsyncClient(trust_env=False) as client:
                reply = await client.get(f"{mock.url}/api/users", params={"page": "7"})
            assert reply.status_code == 404
            await until(
                pilot, lambda: any("miss" in r for r in log_rows(app)), "the miss in the log"
            )
            table = app.query_one("#log-table")
            index = next(i for i, r in enumerate(log_rows(app)) if "page=7" in r)
            table.move_cursor(index)
            await pilot.press("enter")
            screen = await until(
                pilot,
                lambda: app.screen if isinstance(app.screen, DetailScreen) else None,
                "the detail screen",
            )
            why = static_text(app, "#why")
            assert "#" in why and "GET /api/users" in why
            assert "✗ query" in why and "✓ method" in why
            assert "+page=7" in why  # the request's side of the query's diff
            await until(
                pilot,
                lambda: "Response" in static_text(app, "#exchange"),
                "headers and bodies",
            )
            exchange = static_text(app, "#exchange")
            assert "x-backworks-miss" in exchange and "no recording matches" in exchange
            await pilot.press("escape")
            assert app.screen is not screen

    run(scenario)


def token_of(directory: Path, url: str) -> str:
    """The admin token as `backworks dashboard` finds it: in admin.token next to the store."""
    config = directory / "backworks.yaml"
    token = dashboard_token(url, lambda: load_config(config).recordings.path)
    assert token, f"no admin token next to the store of {config}"
    return token


def test_promote_key_changes_the_mode_in_the_yaml_and_over_http(project, start_mock):
    mock = start_mock(project)
    app = create_app(mock.url, token=token_of(project, mock.url))

    async def scenario():
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.model.endpoints.get("get_users_id"), "endpoints")
            await promote_with_keys(app, pilot, "get_users_id", "mock")

    run(scenario)
    text_after = (project / "backworks.yaml").read_text()
    assert text_after == CONFIG.replace(
        "    path: /api/users/{id}\n    methods: [GET]\n    mode: replay\n",
        "    path: /api/users/{id}\n    methods: [GET]\n    mode: mock\n",
    )
    rows = httpx.get(f"{mock.url}/__backworks/endpoints", trust_env=False).json()["endpoints"]
    assert {r["name"]: r["mode"] for r in rows}["get_users_id"] == "mock"


def test_without_the_token_it_watches_but_its_actions_are_refused(project, start_mock):
    mock = start_mock(project)
    token_file = project / "admin.token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    app = create_app(mock.url)  # no token: what a dashboard of another folder would send
    told: list[str] = []
    app.notify = lambda message, **_: told.append(str(message))

    async def scenario():
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.streaming, "the event stream, token or not")
            await pilot.press("r")
            await until(pilot, lambda: told, "the refusal")

    run(scenario)
    assert told[0].startswith("Reset failed: this admin request needs the admin token")
    assert str(token_file) in told[0]


def test_reconnects_when_the_host_restarts(recorded, start_mock):
    mock = start_mock(recorded)
    app = create_app(mock.url)

    async def scenario():
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.streaming, "the event stream")
            mock.stop(signal.SIGKILL)
            await until(
                pilot,
                lambda: "disconnected — retrying in 2s" in static_text(app, "#status"),
                "the disconnected notice",
            )
            again = await asyncio.to_thread(start_mock, recorded, mock.port)
            await until(pilot, lambda: app.streaming, "the event stream again")
            assert "reconnected" in static_text(app, "#status")
            assert app.model.generation == 2
            async with httpx.AsyncClient(trust_env=False) as client:
                await client.get(f"{again.url}/api/products/3")
            await until(
                pilot,
                lambda: any("/api/products/3" in r for r in log_rows(app)),
                "an event from the restarted host",
            )

    run(scenario)


# --- against `backworks serve` and `backworks capture`, through their admin ports -------------


async def request_in_log(app: Dashboard, pilot, host: str, path: str, what: str) -> str:
    """Once the event stream is live, GET `path` from `host` (it must succeed) and wait for
    the request in the log, naming it `what`; returns its log row."""
    await until(pilot, lambda: app.streaming, "the event stream")
    async with httpx.AsyncClient(trust_env=False) as client:
        assert (await client.get(f"{host}{path}")).is_success
    return await until(
        pilot,
        lambda: next((r for r in log_rows(app) if path in r), None),
        f"{what} in the log",
    )


def test_serve_proxied_requests_show_and_the_record_and_promote_keys_work_through_serve(
    project, sample_api, backworks
):
    config = project / "backworks.yaml"
    proxied = CONFIG.replace(
        "    path: /api/products/{id}\n    methods: [GET]\n    mode: replay\n",
        "    path: /api/products/{id}\n    methods: [GET]\n    mode: proxy\n",
    )
    config.write_text(f"upstream: {sample_api}\n{proxied}")
    serving = Listening.bound(
        backworks(
            ["serve", "-c", "backworks.yaml", "--listen", "127.0.0.1:0"]
            + ["--admin", "127.0.0.1:0"],
            cwd=project,
            ready="Serving",
        )
    )
    port = serving.port
    admin_url = f"http://127.0.0.1:{admin_port_in(serving.ready_line)}"
    app = create_app(admin_url, token=token_of(project, admin_url))

    async def scenario():
        async with app.run_test(size=(120, 30)) as pilot:
            row = await request_in_log(
                app, pilot, f"http://127.0.0.1:{port}", "/api/products/3", "the proxied request"
            )
            assert "get_products_id" in row and "proxied" in row and "200" in row
            await select_endpoint(app, pilot, "get_products_id")
            await pilot.press("t")
            await until(
                pilot,
                lambda: app.model.endpoints["get_products_id"].record is True,
                "recording switched on, as the host reports it",
            )
            async with httpx.AsyncClient(trust_env=False) as client:
                assert (await client.get(f"http://127.0.0.1:{port}/api/products/4")).is_success
            await promote_with_keys(app, pilot, "get_products_id", "replay")

    run(scenario)
    assert "    path: /api/products/{id}\n    methods: [GET]\n    mode: replay\n" in (
        config.read_text()
    )
    rows = httpx.get(f"{admin_url}/__backworks/endpoints", trust_env=False).json()["endpoints"]
    assert {r["name"]: r["mode"] for r in rows}["get_products_id"] == "replay"
    with Store.open(project / "recordings.db") as store:  # recorded while the switch was on
        assert [e.request.path for e in store.query()].count("/api/products/4") == 1


def test_a_capture_shows_each_recorded_exchange_with_its_endpoint(
    recorded, sample_api, tmp_path, backworks
):
    shutil.copy(recorded / "backworks.yaml", tmp_path / "backworks.yaml")
    capturing = Listening.bound(
        backworks(
            ["capture", "--upstream", sample_api, "--listen", "127.0.0.1:0"]
            + ["--admin", "127.0.0.1:0", "--store", str(tmp_path / "c.db")],
            cwd=tmp_path,
            ready="Listening on",
        )
    )
    port = capturing.port
    app = create_app(f"http://127.0.0.1:{admin_port_in(capturing.ready_line)}")

    async def scenario():
        async with app.run_test(size=(120, 30)) as pilot:
            row = await request_in_log(
                app, pilot, f"http://127.0.0.1:{port}", "/api/users/2", "the recorded exchange"
            )
            assert "get_users_id" in row and "recorded" in row and "capture" in row
            await until(
                pilot,
                lambda: (
                    app.model.endpoints.get("get_users_id")
                    and app.model.endpoints["get_users_id"].hits == 1
                ),
                "the endpoint's hit from the capture's counters",
            )

    run(scenario)


def test_no_host_says_what_to_start():
    app = create_app(f"http://127.0.0.1:{dead_port()}")

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.state == "offline", "the offline screen")
            shown = static_text(app, "#offline")
            assert "No backworks host answers at http://127.0.0.1:" in shown
            assert "connection refused" in shown
            assert "backworks mock" in shown and "--url" in shown
            assert "retrying" in static_text(app, "#status")

    run(scenario)


def test_a_server_that_is_not_backworks_is_named_as_such(sample_api):
    app = create_app(sample_api)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.state == "offline", "the offline screen")
            shown = static_text(app, "#offline")
            assert "answers, but not as a backworks host" in shown
            assert "/__backworks/health gave 404" in shown
            assert "backworks mock" in shown

    run(scenario)


# --- a host that sends malformed event lines ---------------------------------------------------

GOOD = {
    "type": "request",
    "id": 1,
    "time": 0.0,
    "method": "GET",
    "path": "/good",
    "endpoint": "e",
    "mode": "mock",
    "how": "generated",
    "status": 200,
    "latency_ms": 1.0,
}
STREAM = (
    b": connected\n\n"
    b"data: " + json.dumps(GOOD).encode() + b"\n\n"
    b"data: {not json\n\n"  # malformed: not JSON
    b"garbage line\n"  # malformed: not an SSE field
    b"data: [1, 2]\n\n"  # malformed: not an object
    b"event: request\nid: 9\nretry: 100\n"  # fields the dashboard ignores
    b"data: " + json.dumps({**GOOD, "id": 2, "path": "/also-good"}).encode() + b"\r\n\r\n"
)


async def fake_host(scope, receive, send):
    """Answers the admin API's JSON resources plainly, and STREAM as its event stream."""
    if scope["type"] != "http":
        return
    name = scope["path"].removeprefix("/__backworks/")
    if name == "events":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        await send({"type": "http.response.body", "body": STREAM, "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass
        return
    data = {
        "health": {"status": "ok", "uptime_s": 1.0, "endpoints": 1},
        "endpoints": {"endpoints": [{"name": "e", "mode": "mock", "hits": 2}]},
        "requests": {"requests": []},
    }.get(name)
    body = json.dumps(data).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200 if data else 404,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def fake_host_url():
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(fake_host, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), "the fake host to start")
    assert server.started, "the fake host did not start"
    port = server.servers[0].sockets[0].getsockname()[1]  # the one the system chose
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_malformed_event_lines_are_skipped_and_counted(fake_host_url):
    app = create_app(fake_host_url)

    async def scenario():
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.model.received == 2, "the two good events")
            await until(pilot, lambda: app.model.malformed == 3, "three malformed lines")
            await until(pilot, lambda: len(log_rows(app)) == 2, "two rows in the log")
            rows = log_rows(app)
            assert ["/good" in rows[0], "/also-good" in rows[1]] == [True, True], rows
            assert "3 malformed lines skipped" in static_text(app, "#status")

    run(scenario)


# --- the terminal's size -----------------------------------------------------------------------


def test_a_terminal_too_small_shows_a_notice_until_it_grows():
    app = create_app(connect=False)

    async def scenario():
        async with app.run_test(size=(50, 12)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, TooSmall), "the notice")
            shown = static_text(app, "#too-small")
            assert "50×12" in shown and "60×16" in shown
            await pilot.resize_terminal(100, 30)
            await until(pilot, lambda: not isinstance(app.screen, TooSmall), "the dashboard")

    run(scenario)


# --- --tui: the server and the dashboard in one process --------------------------------------


def run_tui(args: list[str], cwd: Path, visit: Callable[[str], None], stopped: bytes) -> bytes:
    """Run `backworks ARGS --tui` in a pseudo terminal; once the dashboard is live, call
    `visit` with what the terminal showed so far, as text (it makes a request), wait for its
    path on screen, press q and wait for `stopped`. Returns everything the terminal showed.
    Fails with the end of the screen when the dashboard does not come up (a host that cannot
    listen says why there, e.g. that its port is already in use)."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "backworks_cli", *args, "--tui"],
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "TERM": "xterm-256color", "BACKWORKS_HOME": str(cwd / "home")},
        start_new_session=True,
    )
    os.close(slave)
    screen = bytearray()

    def read_until(word: bytes, timeout: float = WAIT) -> bool:
        deadline = time.monotonic() + timeout
        while word not in screen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    screen.extend(os.read(master, 65536))
                except OSError:
                    break
        return word in screen

    try:
        assert read_until(b"live"), screen.decode(errors="replace")[-2000:]
        visit(shown_text(bytes(screen)))
        assert read_until(b"/api/products/3"), screen.decode(errors="replace")[-2000:]
        os.write(master, b"q")
        assert read_until(stopped), screen.decode(errors="replace")[-2000:]
        assert proc.wait(timeout=30) == 0
        assert b"Traceback" not in screen
        return bytes(screen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def shown_text(screen: bytes) -> str:
    """What a terminal showed, as text: escape sequences (colours, cursor moves) left out."""
    escapes = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
    return escapes.sub("", screen.decode(errors="replace"))


def watched_port(shown: str) -> int:
    """The port of the host the dashboard's title says it watches ("backworks · URL")."""
    match = re.search(r"backworks · http://127\.0\.0\.1:(\d+)", shown)
    assert match, f"no host address in the dashboard's title:\n{shown[-2000:]}"
    return int(match.group(1))


def get_product(port: int | None = None) -> Callable[[str], None]:
    """A visit that GETs /api/products/3 from the host at `port` (by default the one the
    dashboard's title names: a mock's own port) and checks it was answered."""

    def visit(shown: str) -> None:
        at = watched_port(shown) if port is None else port
        reply = httpx.get(f"http://127.0.0.1:{at}/api/products/3", trust_env=False)
        assert reply.status_code == 200

    return visit


def test_mock_tui_serves_and_watches_in_one_process(recorded):
    # Port 0: the dashboard watches the port the mock bound, and its title says which.
    args = ["mock", "-c", "backworks.yaml", "--port", "0"]
    run_tui(args, recorded, get_product(), b"Mock stopped.")


# serve and capture --tui hold their ready line (which names the proxy's port) until the
# dashboard closes, and the dashboard names only the admin API's address (port 0 here): the
# proxy listens on a port the test chooses.


def test_serve_tui_serves_and_watches_in_one_process(recorded):
    def start(port: int) -> bytes:
        args = ["serve", "-c", "backworks.yaml", "--listen", f"127.0.0.1:{port}"]
        args += ["--admin", "127.0.0.1:0"]
        return run_tui(args, recorded, get_product(port), b"Serve stopped.")

    on_a_fixed_port(start)


def test_capture_tui_records_and_watches_in_one_process(sample_api, tmp_path):
    store = tmp_path / "tui.db"

    def start(port: int) -> bytes:
        args = ["capture", "--upstream", sample_api, "--listen", f"127.0.0.1:{port}"]
        args += ["--admin", "127.0.0.1:0", "--store", str(store)]
        return run_tui(args, tmp_path, get_product(port), b"Recorded 1 exchange(s)")

    screen = on_a_fixed_port(start)
    assert b"Listening on" in screen  # the proxy's messages, printed once the dashboard closed
    with Store.open(store) as recordings:
        assert [e.request.path for e in recordings.query()] == ["/api/products/3"]


def test_capture_tui_needs_the_admin_api(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "backworks_cli", "capture", "--upstream", "http://127.0.0.1:9"]
        + ["--admin", "off", "--tui"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--tui watches the capture through its admin API" in done.stderr
    assert "Traceback" not in done.stderr


def test_tui_on_a_port_in_use_says_so_without_a_dashboard(recorded, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "backworks_cli", "serve", "-c", "backworks.yaml"]
            + ["--listen", f"127.0.0.1:{port}", "--admin", "127.0.0.1:0", "--tui"],
            cwd=recorded,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 5, done.stderr
    assert f"127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr


# --- keys and mouse on fixed data --------------------------------------------------------------


def test_filter_pause_and_mouse():
    app = snapshot_app()

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            feed(app)
            await until(pilot, lambda: len(log_rows(app)) == 38, "the fed events")
            await pilot.press("slash", *"how:miss", "enter")
            await until(pilot, lambda: len(log_rows(app)) == 1, "the filtered log")
            assert "page=7" in log_rows(app)[0]
            await pilot.press("escape")
            await until(pilot, lambda: len(log_rows(app)) == 38, "the whole log again")
            await pilot.press("space")
            app.post_message(EventsReceived([request_event(99, time=WALL + 20)]))
            await until(pilot, lambda: app.held == 1, "the event counted while paused")
            # The redraw that would have shown it in the log says it is held.
            await until(
                pilot,
                lambda: "PAUSED  1 new" in static_text(app, "#status"),
                "a redraw counting the held event",
            )
            assert len(log_rows(app)) == 38
            await pilot.press("space")
            await until(pilot, lambda: len(log_rows(app)) == 39, "the log resumed")
            # A click moves the cursor to a row; a click on the cursor's row opens it.
            table = app.query_one("#log-table")
            table.move_cursor(0)
            await pilot.pause()
            await pilot.click("#log-table", offset=(10, 2))
            assert table.cursor_row == 2
            await pilot.click("#log-table", offset=(10, 2))
            await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
            await pilot.press("escape", "2", "s")
            assert app.sort == "mode"

    run(scenario)


# --- the event stream and the model, as plain functions ----------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    path=st.text(min_size=1, max_size=20),
    query=st.binary(max_size=10),
    endpoint=st.none() | st.text(max_size=8),
    status=st.sampled_from([0, 200, 404, 500]),
    seconds=st.floats(min_value=0, max_value=30),
    detail=st.none() | st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
def test_an_event_line_says_what_the_journal_entry_says(
    path, query, endpoint, status, seconds, detail
):
    from backworks_cli.host.stats import Stats

    stats = Stats()
    row = (
        stats.started_perf + 1.5,
        "GET",
        "/" + path,
        query,
        endpoint,
        "mock",
        "miss",
        status,
        seconds,
        detail,
        None,
    )
    line = stats.event_line(row, 42)
    assert line.startswith(b"data: ") and line.endswith(b"\n\n")
    parsed = SSEParser().feed(line)
    assert parsed == [json.loads(json.dumps({"type": "request", **stats.entry(row, 42)}))]


def test_sse_parser_counts_what_it_skips():
    parser = SSEParser()
    events = parser.feed(STREAM)
    assert [e["path"] for e in events] == ["/good", "/also-good"]
    assert parser.malformed == 3


def test_an_overlong_line_is_dropped_and_the_stream_goes_on():
    parser = SSEParser()
    assert parser.feed(b"data: " + b"x" * (2 << 20)) == []
    assert parser.feed(b'still the long line\n\ndata: {"a": 1}\n\n') == [{"a": 1}]
    assert parser.malformed == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM)), max_size=12))
def test_sse_parsing_does_not_depend_on_chunking(cuts):
    whole = SSEParser()
    expected = whole.feed(STREAM)
    parser, events, start = SSEParser(), [], 0
    for cut in [*sorted(cuts), len(STREAM)]:
        events += parser.feed(STREAM[start:cut])
        start = max(start, cut)
    assert events == expected and parser.malformed == whole.malformed


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e4), min_size=1, max_size=200))
def test_percentiles_are_values_in_order(values):
    ordered = sorted(values)
    p50, p95 = percentile(ordered, 50), percentile(ordered, 95)
    assert p50 in ordered and p95 in ordered and p50 <= p95
    assert len(sparkline(values, 10)) == min(10, len(values))


def request_event(n: int, **fields) -> dict:
    event = {
        "type": "request",
        "id": n,
        "time": 1_700_000_000 + n / 100,
        "method": "GET",
        "path": f"/api/users/{n % 7}",
        "query": "",
        "endpoint": "get_users_id",
        "mode": "replay",
        "how": "replayed",
        "status": 200,
        "latency_ms": 0.5,
    }
    return {**event, **fields}


def test_the_model_stays_bounded_under_any_load():
    model = Model()
    for start in range(0, 30_000, 500):
        batch = [
            request_event(n, path=f"/unknown/{n}", endpoint=None, how="not_found", status=404)
            if n % 3 == 0
            else request_event(n)
            for n in range(start + 1, start + 501)
        ]
        model.ingest(batch)
    assert len(model.log) == LOG_SIZE
    assert len(model.alerts) == MAX_ALERTS
    assert all(len(v.latencies) <= 1000 for v in model.endpoints.values())
    assert model.received == 30_000


def test_alerts_for_outliers_bursts_misses_and_unknown_paths():
    model = Model()
    model.ingest([request_event(n) for n in range(1, 101)])
    model.ingest([request_event(101, latency_ms=250.0)])
    model.ingest([request_event(200 + n, status=500, how="error") for n in range(5)])
    model.ingest(
        [
            request_event(
                300,
                how="miss",
                status=404,
                detail={
                    "nearest": [
                        {
                            "id": 4,
                            "method": "GET",
                            "target": "/api/users/1",
                            "score": 0.5,
                            "matchers": [
                                {"name": "path", "ok": False, "why": "expected /api/users/1"}
                            ],
                        }
                    ]
                },
            )
        ]
    )
    model.ingest([request_event(301, endpoint=None, how="not_found", status=404, path="/x")])
    kinds = {kind for kind, _ in model.alerts}
    assert kinds == {"latency", "burst", "miss", "unknown"}
    miss = model.alerts[("miss", "get_users_id:GET /api/users/6")]
    assert "nearest #4: expected /api/users/1" in miss.message


def test_a_repeated_id_is_taken_in_once_and_a_new_host_starts_again():
    model = Model()
    model.connected({"uptime_s": 10}, wall=1000.0)
    model.seed([request_event(1), request_event(2)])
    model.ingest([request_event(2), request_event(3)])
    assert [e["id"] for e in model.log] == [1, 2, 3]
    assert not model.connected({"uptime_s": 20}, wall=1010.5)  # the same process
    assert model.connected({"uptime_s": 1}, wall=1020.0)  # another one
    model.ingest([request_event(1)])
    assert [e["id"] for e in model.log] == [1, 2, 3, 1] and model.generation == 2
    assert model.connected({"started": 1019.5, "uptime_s": 2}, wall=1021.0)  # says when
    assert not model.connected({"started": 1019.5, "uptime_s": 9}, wall=1028.0)


def test_filter_terms():
    event = request_event(3, how="miss", status=404)
    assert event_matches(event, parse_filter("how:miss users"))
    assert event_matches(event, parse_filter("status:4"))
    assert not event_matches(event, parse_filter("status:5"))
    assert not event_matches(event, parse_filter("orders"))


# --- snapshots: fixed data, no host, no clock --------------------------------------------------

WALL = 1_700_000_000.0
ENDPOINT_ROWS = [
    {
        "name": "get_users",
        "path": "/api/users",
        "methods": ["GET"],
        "mode": "replay",
        "recordings": 3,
        "hits": 40,
        "misses": 4,
        "generated": 0,
        "errors": 0,
    },
    {
        "name": "get_users_id",
        "path": "/api/users/{id}",
        "methods": ["GET"],
        "mode": "replay",
        "recordings": 2,
        "hits": 120,
        "misses": 0,
        "generated": 0,
        "errors": 0,
    },
    {
        "name": "get_widgets_id",
        "path": "/api/widgets/{id}",
        "methods": ["GET"],
        "mode": "mock",
        "recordings": 0,
        "hits": 60,
        "misses": 0,
        "generated": 60,
        "errors": 6,
    },
    {
        "name": None,
        "path": None,
        "methods": [],
        "mode": None,
        "recordings": 0,
        "hits": 2,
        "misses": 0,
        "generated": 0,
        "errors": 0,
    },
]
MISS_DETAIL = {
    "error": "no recording matches",
    "request": {"method": "GET", "target": "/api/users?page=7"},
    "nearest": [
        {
            "id": 2,
            "method": "GET",
            "target": "/api/users",
            "score": 0.667,
            "matchers": [
                {"name": "method", "ok": True, "why": "GET matches"},
                {"name": "path", "ok": True, "why": "/api/users matches"},
                {
                    "name": "query",
                    "ok": False,
                    "why": "query page: expected absent, got '7'",
                    "diff": [" limit=20", "+page=7"],
                },
            ],
        },
    ],
}


def fixed_events() -> list[dict]:
    events = []
    for n in range(1, 31):
        ms = 0.3 + (n % 5) * 0.1
        events.append(request_event(n, time=WALL + n * 0.25, latency_ms=round(ms, 2)))
    events += [
        request_event(
            31,
            time=WALL + 8,
            path="/api/users",
            query="page=7",
            endpoint="get_users",
            how="miss",
            status=404,
            latency_ms=1.2,
            detail=MISS_DETAIL,
            # As GET /__backworks/exchange gives them; a live dashboard fetches these.
            request={"headers": [["host", "127.0.0.1:3000"], ["accept", "*/*"]], "body": ""},
            response={
                "headers": [["content-type", "application/json"], ["x-backworks-miss", "1"]],
                "body": json.dumps({"error": "no recording matches"}),
            },
        ),
        request_event(
            32,
            time=WALL + 8.5,
            path="/api/widgets/9",
            endpoint="get_widgets_id",
            mode="mock",
            how="generated",
            latency_ms=2.5,
        ),
        request_event(
            33,
            time=WALL + 9,
            path="/api/orderz",
            endpoint=None,
            mode=None,
            how="not_found",
            status=404,
            latency_ms=0.2,
            detail={"error": "no endpoint matches", "closest": ["/api/orders"]},
        ),
    ]
    events += [
        request_event(
            34 + n,
            time=WALL + 9.5 + n * 0.1,
            path="/api/widgets/1",
            endpoint="get_widgets_id",
            mode="mock",
            how="error",
            status=500,
            latency_ms=0.8,
        )
        for n in range(5)
    ]
    return events


def snapshot_app() -> Dashboard:
    """A dashboard with no host, shown in UTC: the tests post what its worker would."""
    return create_app("http://127.0.0.1:3000", connect=False, tz=UTC)


def feed(app: Dashboard, events: list[dict] | None = None) -> None:
    app.post_message(Connected({"status": "ok", "uptime_s": 30.0, "endpoints": 3}, WALL))
    app.post_message(Streaming())
    # Nine snapshots a second apart, the hits growing unevenly: a trend to draw.
    for step in range(9):
        share = [0, 1, 3, 4, 4, 6, 7, 7, 8][step] / 8
        rows = [
            {**r, "hits": int(r["hits"] * share), "errors": int(r["errors"] * share)}
            for r in ENDPOINT_ROWS
        ]
        app.post_message(EndpointsSnapshot(rows, 100.0 + step))
    app.post_message(EventsReceived(fixed_events() if events is None else events))


def prepared(*keys: str, events: list[dict] | None = None, then=None):
    """run_before for snap_compare: feed the app, draw, press keys, draw again."""

    async def run_before(pilot) -> None:
        app = pilot.app
        feed(app, events)
        await pilot.pause()
        app.refresh_views()
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
            await pilot.pause()
        if then is not None:
            await then(pilot)
        app.refresh_views()
        await pilot.pause()

    return run_before


def test_snapshot_log(snap_compare):
    assert snap_compare(snapshot_app(), run_before=prepared())


def test_snapshot_log_wide(snap_compare):
    assert snap_compare(snapshot_app(), terminal_size=(120, 30), run_before=prepared())


def test_snapshot_endpoints_sorted_by_rate(snap_compare):
    assert snap_compare(snapshot_app(), run_before=prepared("2", "s", "s"))


def test_snapshot_alerts(snap_compare):
    assert snap_compare(snapshot_app(), terminal_size=(100, 24), run_before=prepared("3"))


def test_snapshot_detail_of_a_miss(snap_compare):
    async def open_miss(pilot) -> None:
        app = pilot.app
        app.refresh_views()
        await pilot.pause()
        table = app.query_one("#log-table")
        table.move_cursor(next(i for i, r in enumerate(log_rows(app)) if "page=7" in r))
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(snapshot_app(), terminal_size=(90, 30), run_before=prepared(then=open_miss))


def test_snapshot_help(snap_compare):
    async def shown(pilot) -> None:
        assert isinstance(pilot.app.screen, HelpScreen)

    assert snap_compare(snapshot_app(), run_before=prepared("question_mark", then=shown))


def test_snapshot_mode_picker(snap_compare):
    assert snap_compare(snapshot_app(), run_before=prepared("2", "down", "p"))


def test_snapshot_no_host(snap_compare):
    async def offline(pilot) -> None:
        from backworks_cli.dashboard.messages import Disconnected

        pilot.app.post_message(
            Disconnected(
                "nothing answers at http://127.0.0.1:3000 (connection refused)", False, 2.0
            )
        )
        await pilot.pause()

    assert snap_compare(snapshot_app(), run_before=offline)


def test_snapshot_too_small(snap_compare):
    assert snap_compare(snapshot_app(), terminal_size=(50, 12))


def test_requests_the_host_sampled_out_are_counted_not_shown():
    model = Model()
    model.ingest([request_event(1), {"type": "sampled", "skipped": 250}, request_event(2)])
    assert model.received == 2 and model.sampled == 250
