"""`backworks demo`: record the built-in sample shop API through a real capture proxy, offline.

The sample API runs in this process (a uvicorn thread); `backworks capture` runs as a child
process in front of it; a scripted client walks a typical journey through the proxy; then the
recordings are shown, secrets redacted. Every child is stopped on the way out, whatever happens.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from backworks_cli.errors import BackworksError, NetworkError

Out = Callable[[str], None]

SESSION = "demo"
STORE = Path("recordings") / "backworks.db"
READY_TIMEOUT = 30.0  # seconds for the capture proxy to accept connections
STOP_TIMEOUT = 20.0  # seconds for the capture proxy to drain and exit after SIGTERM


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --- the capture child -----------------------------------------------------------------------


@dataclass
class Child:
    """A child process whose stderr is read line by line in a thread (so it never blocks)."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @classmethod
    def start(cls, argv: list[str], cwd: Path) -> Child:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # The child must import this very package, even when run from a source checkout.
        package_root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        child = cls(process)
        child.reader = threading.Thread(target=child._read, name="capture-stderr", daemon=True)
        child.reader.start()
        return child

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def stderr(self) -> str:
        if self.reader is not None and self.process.poll() is not None:
            self.reader.join(timeout=5)
        return "\n".join(self.lines)

    def stop(self, timeout: float) -> int:
        """SIGTERM, then wait; returns the exit code (kills it if it does not exit in time)."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
            raise BackworksError(
                f"backworks capture did not stop within {timeout:.0f} s of SIGTERM and was killed.",
                hint="Run the capture command on its own to see where it hangs.",
            ) from None

    def kill(self, grace: float = 5.0) -> None:
        """Make sure the child is gone: SIGTERM, and SIGKILL after `grace` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.reader is not None:
            self.reader.join(timeout=5)


def capture_command(upstream: str, port: int, store: Path) -> list[str]:
    return [
        sys.executable, "-m", "backworks_cli", "capture",
        "--upstream", upstream,
        "--listen", f"127.0.0.1:{port}",
        "--store", str(store),
        "--session", SESSION,
    ]  # fmt: skip


def wait_until_listening(child: Child, port: int, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not port_open("127.0.0.1", port):
        code = child.process.poll()
        if code is not None:
            raise NetworkError(
                f"backworks capture exited (code {code}) before it accepted connections on "
                f"127.0.0.1:{port}. It said:\n{child.stderr() or '(nothing)'}",
                hint="Fix what the message above names, or run `backworks capture` on its own.",
            )
        if time.monotonic() > deadline:
            raise NetworkError(
                f"backworks capture did not accept connections on 127.0.0.1:{port} within "
                f"{timeout:.0f} s. It said:\n{child.stderr() or '(nothing)'}",
                hint="The machine may be very busy; try again, or run `backworks capture` alone.",
            )
        time.sleep(0.05)


# --- the scripted client ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    status: int
    expected: int


@dataclass
class Journey:
    """Sends requests, prints one line for each, and remembers what came back."""

    client: httpx.Client
    out: Out
    sent: list[Sent] = field(default_factory=list)

    def request(self, method: str, path: str, expected: int, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, path, **kwargs)
        self.note(method, path, response.status_code, expected, _describe(response))
        return response

    def note(self, method: str, path: str, status: int, expected: int, detail: str) -> None:
        self.sent.append(Sent(method, path, status, expected))
        surprise = "" if status == expected else f"  (expected {expected})"
        self.out(f"  {method:<4} {path:<34} {status}  {detail}{surprise}")

    def events(self, path: str) -> None:
        with self.client.stream("GET", path) as response:
            events = sum(1 for line in response.iter_lines() if line.startswith("event:"))
        self.note("GET", path, response.status_code, 200, f"text/event-stream, {events} events")

    def websocket(self, path: str, messages: tuple[str | bytes, ...]) -> None:
        from websockets.sync.client import connect

        url = str(self.client.base_url).replace("http", "ws", 1).rstrip("/") + path
        with connect(url, open_timeout=15, proxy=None) as ws:
            echoed = 0
            for message in messages:
                ws.send(message)
                echoed += ws.recv(timeout=15) is not None
            status = ws.response.status_code if ws.response else 0
        self.note("GET", path, status, 101, f"WebSocket, {echoed} messages echoed")


def _describe(response: httpx.Response) -> str:
    kind = (response.headers.get("content-type") or "no body").split(";")[0]
    detail = f"{kind}, {len(response.content)} bytes"
    if "content-encoding" in response.headers:
        detail += f" ({response.headers['content-encoding']} on the wire)"
    return detail


def drive_journey(base_url: str, username: str, password: str, out: Out) -> list[Sent]:
    """A client's visit to the shop: browse, log in, order, hit a few errors, stream events,
    chat over a WebSocket."""
    with httpx.Client(base_url=base_url, trust_env=False, timeout=15) as client:
        trip = Journey(client, out)
        trip.request("GET", "/api/health", 200)
        login = trip.request(
            "POST", "/api/login", 200, json={"username": username, "password": password}
        )
        token = login.json().get("access_token", "") if login.status_code == 200 else ""
        for page in (1, 2, 3):
            trip.request("GET", f"/api/users?page={page}&per_page=10", 200)
        for uid in (1, 7, 12):
            trip.request("GET", f"/api/users/{uid}", 200)
        trip.request("GET", "/api/users/me", 200, headers={"Authorization": f"Bearer {token}"})
        trip.request("GET", "/api/products", 200, headers={"Accept-Encoding": "gzip"})
        trip.request("GET", "/api/products/3", 200)
        created = [
            trip.request("POST", "/api/orders", 201, json={"user_id": 1, "items": items})
            for items in (
                [{"product_id": 3, "quantity": 1}, {"product_id": 5, "quantity": 2}],
                [{"product_id": 8, "quantity": 1}],
            )
        ]
        bad = {"user_id": 1, "items": [{"product_id": 3, "quantity": 0}]}
        trip.request("POST", "/api/orders", 422, json=bad)
        location = created[0].headers.get("location", "/api/orders/1")
        trip.request("GET", location, 200)
        trip.request("GET", "/api/users/9999", 404)
        trip.request("GET", "/api/reports/daily", 500)
        trip.request("GET", "/api/avatar/7.png", 200)
        trip.events("/api/events")
        trip.websocket("/api/ws", ("hello", b"\x00binary\xff"))
        return trip.sent


# --- the demo --------------------------------------------------------------------------------


@contextmanager
def _workdir(directory: Path | None, out: Out) -> Iterator[Path]:
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        out(f"Working in {directory.resolve()} (files kept).")
        yield directory.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="backworks-demo-") as tmp:
        out(f"Working in a temporary directory ({tmp}), removed at the end;")
        out("run `backworks demo --dir DIR` to keep the files.")
        yield Path(tmp)


def _heading(out: Out, number: int, text: str) -> None:
    out("")
    out(f"{number}. {text}")


def run_demo(directory: Path | None, *, out: Out, log: Out) -> None:
    """Run the whole demo; raises BackworksError (after cleaning up) if a step fails."""
    from backworks_cli.sample_api import DEMO_PASSWORD, create_app, serve_sample_api

    with ExitStack() as stack:
        workdir = stack.enter_context(_workdir(directory, out))
        store = workdir / STORE
        store.parent.mkdir(parents=True, exist_ok=True)
        before = _last_id(store)

        _heading(out, 1, "Starting the sample shop API (in this process)")
        app = create_app()
        api_url = stack.enter_context(serve_sample_api("127.0.0.1", 0, app=app))
        out(f"  {api_url}/api/health")

        _heading(out, 2, "Starting `backworks capture` in front of it")
        port = free_port()
        argv = capture_command(api_url, port, store)
        out("  backworks " + " ".join(argv[3:]))
        child = Child.start(argv, workdir)
        stack.callback(child.kill)
        wait_until_listening(child, port)
        capture_url = f"http://127.0.0.1:{port}"
        out(f"  Capture proxy listening on {capture_url}")

        _heading(out, 3, "Sending a client's journey through the proxy")
        try:
            sent = drive_journey(capture_url, app.users[0]["username"], DEMO_PASSWORD, out)
        except httpx.HTTPError as error:
            raise NetworkError(
                f"A demo request through the capture proxy failed: {error!r}. "
                f"Capture said:\n{child.stderr() or '(nothing)'}",
                hint="Run `backworks capture` on its own against the sample API to investigate.",
            ) from None
        except websockets_errors() as error:
            raise NetworkError(
                f"The demo's WebSocket through the capture proxy failed: {error!r}. "
                f"Capture said:\n{child.stderr() or '(nothing)'}",
                hint="Run `backworks capture` on its own against the sample API to investigate.",
            ) from None

        _heading(out, 4, "Stopping capture (SIGTERM)")
        code = child.stop(STOP_TIMEOUT)
        said = _after_listening(child.stderr())
        if code != 0:
            raise BackworksError(
                f"backworks capture exited with code {code}. It said:\n{said or '(nothing)'}",
                hint="Run `backworks capture` on its own against the sample API to investigate.",
            )
        for line in said.splitlines():
            out(f"  {line}")

        login_id = _show_recordings(store, before, len(sent), out=out, log=log)
        _show_next_steps(store if directory is not None else None, login_id, out)
        surprises = [s for s in sent if s.status != s.expected]
        if surprises:
            listing = ", ".join(f"{s.method} {s.path} -> {s.status}" for s in surprises)
            raise BackworksError(
                f"Some demo requests got an unexpected status through the proxy: {listing}.",
                hint="Compare with the sample API directly: python -m backworks_cli.sample_api",
            )


def websockets_errors() -> tuple[type[BaseException], ...]:
    from websockets.exceptions import WebSocketException

    return (WebSocketException, TimeoutError, OSError)


def _after_listening(stderr: str) -> str:
    """What capture printed after its start-up line: the summary."""
    lines = stderr.splitlines()
    for n, line in enumerate(lines):
        if line.startswith("Listening on"):
            return "\n".join(lines[n + 1 :]).strip("\n")
    return stderr.strip("\n")


def _last_id(store: Path) -> int:
    """The highest exchange id already in `store` (0 if none), so a rerun shows only its own."""
    if not store.exists():
        return 0
    from backworks_cli.store import Store

    with Store.open(store) as db:
        return max((ex.id or 0 for ex in db.query()), default=0)


def _show_recordings(store: Path, before: int, sent: int, *, out: Out, log: Out) -> int | None:
    """Print the new exchanges and the stored login exchange; returns the login's id."""
    from backworks_cli.render import exchange_detail, exchanges_table
    from backworks_cli.store import Store

    with Store.open(store) as db:
        rows = [ex for ex in db.query() if (ex.id or 0) > before]
    _heading(out, 5, f"Recorded {len(rows)} exchange(s) in {store}")
    if len(rows) != sent:
        log(f"Warning: {sent} requests were sent but {len(rows)} exchanges were recorded.")
    out(exchanges_table(rows).rstrip("\n"))

    login = next((ex for ex in rows if ex.request.path == "/api/login"), None)
    if login is None:
        log("Warning: the login exchange was not recorded, so there is no redaction to show.")
        return None
    _heading(out, 6, "The login exchange as stored: password, tokens and cookie redacted")
    detail = exchange_detail(login).rstrip("\n")
    out(detail)
    if "redacted:" in detail:
        out("")
        out("  The secrets above were replaced by `redacted:` placeholders before the row was")
        out("  written: nothing secret ever reached the disk.")
    else:
        log("Warning: no `redacted:` placeholder in the stored login exchange.")
    return login.id


def _show_next_steps(store: Path | None, login_id: int | None, out: Out) -> None:
    where = str(store) if store is not None else "DIR/recordings/backworks.db"
    out("")
    out("Next, try:")
    if store is None:
        out("  backworks demo --dir DIR                  # keep the files this time")
    out(f"  backworks recordings list --store {where}")
    out(f"  backworks recordings show {login_id or 1} --store {where}")
    out(f"  backworks recordings stats --store {where}")
    out(f"  backworks recordings export --store {where} -f har -o demo.har")
    out("  python -m backworks_cli.sample_api --port 8000   # the sample API, to capture yourself")
    out("  backworks capture --upstream http://127.0.0.1:8000 --listen 127.0.0.1:8080")
