"""`backworks mock` as a user runs it: real subprocesses on loopback ports."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.record.store import Store
from tests.conftest import Listening, ports_in

USER = json.dumps({"id": 1, "name": "Ada"}).encode()
WIDGET = {
    "type": "object",
    "required": ["id", "name", "price", "tags"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "price": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


def make_project(directory: Path, *, store: bool = True, endpoints: dict | None = None) -> Path:
    """recordings.db with GET /users/1, and a backworks.yaml over it."""
    if store:
        with Store.open(directory / "recordings.db", create=True) as db:
            db.add(
                Exchange(
                    Request("GET", "/users/1", host="api.test"),
                    Response(200, (("Content-Type", "application/json"),), USER),
                    started_at=time.time(),
                )
            )
    endpoints = endpoints or {
        "get_users_id": {"path": "/users/{id}", "methods": ["GET"], "mode": "replay"},
        "get_widgets_id": {
            "path": "/widgets/{id}",
            "methods": ["GET"],
            "mode": "mock",
            "responses": {"200": {"content_type": "application/json", "schema": WIDGET}},
        },
    }
    config = directory / "backworks.yaml"
    config.write_text(
        json.dumps({"recordings": {"path": "recordings.db"}, "endpoints": endpoints}, indent=2)
    )
    return config


def run_mock(directory: Path, *args: str) -> subprocess.CompletedProcess:
    """`backworks mock` expected to fail at start-up."""
    return subprocess.run(
        [sys.executable, "-m", "backworks_cli", "mock", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def start_mock(backworks):
    """Factory: start_mock(directory, *args) -> Listening on the port its ready line names
    (--port 0 unless `args` give one), once it says it is serving; stopped with SIGINT, as
    Ctrl-C. With `--workers` the parent has bound the port before it says so: a connection made
    then waits in the backlog until a worker accepts it."""

    def start(directory: Path, *args: str) -> Listening:
        port = () if "--port" in args else ("--port", "0")
        running = backworks(
            ["mock", *port, *args],
            cwd=directory,
            ready="Mock serving",
            stop_signal=signal.SIGINT,
        )
        return Listening.bound(running)

    return start


def test_mock_serves_recordings_and_stops_cleanly(tmp_path, start_mock):
    config = make_project(tmp_path)
    mock = start_mock(tmp_path, "-c", str(config))
    reply = httpx.get(f"{mock.url}/users/1")
    assert reply.status_code == 200 and reply.content == USER
    assert reply.headers["content-type"] == "application/json"
    health = httpx.get(f"{mock.url}/__backworks/health").json()
    assert health["status"] == "ok" and health["endpoints"] == 2
    code, stderr = mock.stop(signal.SIGINT)
    assert code == 0, stderr
    assert f"Mock serving 2 endpoints on http://127.0.0.1:{mock.port} (admin: /__backworks/)" in (
        stderr
    )
    assert "Mock stopped." in stderr
    assert "Traceback" not in stderr


def test_port_0_serves_on_the_port_the_ready_line_names(tmp_path, start_mock):
    mock = start_mock(tmp_path, "-c", str(make_project(tmp_path)), "--port", "0")
    said = re.fullmatch(
        r"Mock serving 2 endpoints on http://127\.0\.0\.1:(\d+) \(admin: /__backworks/\)\n",
        mock.ready_line,
    )
    assert said, mock.ready_line
    assert int(said.group(1)) == mock.port != 0
    reply = httpx.get(f"{mock.url}/users/1", timeout=10)
    assert reply.status_code == 200 and reply.content == USER
    assert httpx.get(f"{mock.url}/__backworks/health", timeout=10).json()["endpoints"] == 2


def test_an_admin_address_on_port_0_is_named_with_the_port_it_bound(tmp_path, start_mock):
    config = make_project(tmp_path)
    mock = start_mock(tmp_path, "-c", str(config), "--admin-listen", "127.0.0.1:0")
    said = re.fullmatch(
        r"Mock serving 2 endpoints on http://127\.0\.0\.1:(\d+) \(admin: /__backworks/, "
        r"and http://127\.0\.0\.1:(\d+)/__backworks/\)\n",
        mock.ready_line,
    )
    assert said, mock.ready_line
    port, admin_port = ports_in(mock.ready_line)
    assert port == mock.port and 0 not in (port, admin_port) and port != admin_port
    admin = f"http://127.0.0.1:{admin_port}"
    health = httpx.get(f"{admin}/__backworks/health", timeout=10).json()
    assert health["status"] == "ok" and health["endpoints"] == 2
    # the admin address answers the admin API only; the mock's port serves the recordings
    assert httpx.get(f"{admin}/users/1", timeout=10).status_code == 404
    assert httpx.get(f"{mock.url}/users/1", timeout=10).content == USER
    code, stderr = mock.stop()
    assert code == 0 and "Traceback" not in stderr


def test_sigterm_stops_cleanly_too(tmp_path, start_mock):
    mock = start_mock(tmp_path, "-c", str(make_project(tmp_path)))
    code, stderr = mock.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert "Traceback" not in stderr


def test_port_in_use_exits_5_without_traceback(tmp_path):
    config = make_project(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_mock(tmp_path, "-c", str(config), "--port", str(port))
    assert result.returncode == 5, result.stderr
    assert "already in use" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_admin_address_in_use_exits_5_without_traceback(tmp_path):
    config = make_project(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        admin = f"127.0.0.1:{taken.getsockname()[1]}"
        result = run_mock(tmp_path, "-c", str(config), "--port", "0", "--admin-listen", admin)
    assert result.returncode == 5, result.stderr
    assert f"Cannot listen on {admin}: the port is already in use." in result.stderr
    assert "--admin-listen" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_store_is_a_clear_error(tmp_path):
    config = make_project(tmp_path, store=False)
    result = run_mock(tmp_path, "-c", str(config), "--port", "0")
    assert result.returncode == 4, result.stderr
    assert "recordings.db" in result.stderr
    assert "Hint:" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_yaml_exits_3(tmp_path):
    config = tmp_path / "backworks.yaml"
    config.write_text("endpoints:\n  users: [unclosed\n")
    result = run_mock(tmp_path, "-c", str(config), "--port", "0")
    assert result.returncode == 3, result.stderr
    assert "backworks.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def _exchange_raw(port: int, data: bytes) -> bytes:
    """Send raw bytes; read one response (to its Content-Length, or until the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(data)
        received = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except ConnectionResetError:
                return received
            if not chunk:
                return received
            received += chunk
            head, blank, body = received.partition(b"\r\n\r\n")
            lengths = [
                int(line.split(b":", 1)[1])
                for line in head.lower().split(b"\r\n")
                if line.startswith(b"content-length:")
            ]
            if blank and lengths and len(body) >= lengths[0]:
                return received


def test_malformed_http_gets_400_and_the_mock_keeps_serving(tmp_path, start_mock):
    mock = start_mock(tmp_path, "-c", str(make_project(tmp_path)))
    for garbage in (
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET /users/1 HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
        b"GET /users/1 HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
    ):
        reply = _exchange_raw(mock.port, garbage)
        assert reply.startswith(b"HTTP/1.1 400"), reply
    good = _exchange_raw(mock.port, b"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert good.startswith(b"HTTP/1.1 200") and good.endswith(USER)
    code, stderr = mock.stop()
    assert code == 0 and "Traceback" not in stderr


def test_the_same_seed_generates_the_same_bytes_in_every_process(tmp_path, start_mock):
    config = make_project(tmp_path)
    bodies = []
    for seed in ("11", "11"):
        mock = start_mock(tmp_path, "-c", str(config), "--seed", seed)
        reply = httpx.get(f"{mock.url}/widgets/42")
        assert reply.status_code == 200
        assert reply.json()["id"] == 42
        bodies.append(reply.content)
        mock.stop()
    assert bodies[0] == bodies[1]


def test_workers_serve_from_the_same_options(tmp_path, start_mock):
    config = make_project(tmp_path)
    mock = start_mock(tmp_path, "-c", str(config), "--port", "0", "--workers", "2", "--seed", "5")
    assert mock.port != 0
    assert mock.ready_line.startswith(f"Mock serving 2 endpoints on http://127.0.0.1:{mock.port} ")
    # Asked at once: the connection waits until a worker has started and accepts it.
    replies = [httpx.get(f"{mock.url}/widgets/7", timeout=60) for _ in range(4)]
    assert {r.status_code for r in replies} == {200}
    assert len({r.content for r in replies}) == 1  # every worker generates the same bytes
    assert httpx.get(f"{mock.url}/users/1", timeout=60).content == USER
    code, stderr = mock.stop()
    assert code == 0, stderr
    assert "Traceback" not in stderr
