"""Shared test helpers: a real sample API and upstreams on loopback, real backworks subprocesses
(capture, mock, serve) with their stderr, and admin event streams read as events."""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self, TypeVar

import httpx
import pytest

# The admin token tests give a host (through BACKWORKS_ADMIN_TOKEN), and the header it goes in.
ADMIN_TOKEN = "test-admin-token-3f9c2e7d41"
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

T = TypeVar("T")


def dead_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (for an upstream or database that must
    refuse connections): bound and closed, and never handed to a host to listen on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], object], what: str, timeout: float = 30.0) -> object:
    """Poll `condition()` until it returns something true, and return that; fail naming `what`
    after `timeout` seconds. The one place a test waits by polling."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def on_a_fixed_port(start: Callable[[int], T], attempts: int = 5) -> T:
    """`start(port)` with a port nothing listened on a moment ago, for behaviour that depends
    on the number (`--admin on` takes the port + 1); when the host says a port it needs is in
    use (another process took it since), again with another. Other tests use port 0."""
    for _ in range(attempts - 1):
        try:
            return start(dead_port())
        except AssertionError as failed:
            if "already in use" not in str(failed):
                raise
    return start(dead_port())


# The addresses a host's ready line names: http://HOST:PORT, with HOST a name, an IPv4 address
# or a bracketed IPv6 one.
_URL = re.compile(r"http://(?:\[[0-9a-fA-F:.]+\]|[\w.-]+):(\d+)")


def ports_in(line: str) -> list[int]:
    """The ports of the http:// addresses in `line`, in order."""
    return [int(port) for port in _URL.findall(line)]


def admin_port_in(line: str) -> int:
    """The port of the admin API a capture or serve ready line names ("Admin API: http://…")."""
    match = re.search(r"Admin API: " + _URL.pattern, line)
    assert match, f"no admin API address in {line!r}"
    return int(match.group(1))


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`backworks ARGS` as a subprocess in `cwd` (BACKWORKS_HOME is cwd/home), to its end."""
    env = {**os.environ, "BACKWORKS_HOME": str(cwd / "home"), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "backworks_cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


@pytest.fixture
def sample_api():
    from backworks_cli.demo.sample_api import serve_sample_api

    with serve_sample_api() as url:
        yield url


@dataclass
class Running:
    """A running backworks subprocess; a thread collects its stderr. Subclasses add what their
    tests need (ports, paths) and are built from a started one: `Sub(**vars(running), ...)`."""

    proc: subprocess.Popen
    lines: list[str]
    reader: threading.Thread
    # The line that said it was ready (it names the addresses a host bound).
    ready_line: str = field(default="", kw_only=True)
    # What stop() sends unless told otherwise: each test file stops its hosts as it always has.
    stop_signal: int = field(default=signal.SIGTERM, kw_only=True)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int | None = None, timeout: float = 30) -> tuple[int, str]:
        """Signal the process (unless it has exited), wait, and return (exit code, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal if sig is None else sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 30) -> tuple[int, str]:
        """Wait for the process to exit (killing it after `timeout`) and for the rest of its
        stderr; return (exit code, stderr)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=10)
        return self.proc.returncode, self.stderr


@dataclass(kw_only=True)
class Listening(Running):
    """A running backworks host whose traffic port is known."""

    port: int

    @classmethod
    def bound(cls, running: Running, **more) -> Self:
        """`running` with the port its ready line names (the one it bound, given port 0)."""
        return cls(**vars(running), port=ports_in(running.ready_line)[0], **more)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def follow_stderr(proc: subprocess.Popen, ready_prefix: str):
    """Collect a backworks subprocess's stderr in a thread: (lines, reader thread, event set
    once a line starts with `ready_prefix` or the stream ends). The event's `line` is the ready
    line, once there is one."""
    lines: list[str] = []
    ready = threading.Event()
    ready.line = ""

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if not ready.line and line.startswith(ready_prefix):
                ready.line = line
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader, ready


def start_backworks(
    args: list[str],
    *,
    cwd: Path,
    ready: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    stop_signal: int = signal.SIGTERM,
    **popen,
) -> Running:
    """`backworks ARGS` in `cwd` (BACKWORKS_HOME is cwd/home unless `env` names another), once a
    line of its stderr starts with `ready`; if it does not, stop it and fail with its stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "backworks_cli", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "BACKWORKS_HOME": str(cwd / "home"),
            **(env or {}),
        },
        **popen,
    )
    lines, reader, started = follow_stderr(proc, ready)
    running = Running(proc, lines, reader, stop_signal=stop_signal)
    if not started.wait(timeout) or not started.line or proc.poll() is not None:
        code, err = running.stop()
        raise AssertionError(f"backworks {args[0]} did not start (exit {code}):\n{err}")
    running.ready_line = started.line
    return running


@pytest.fixture
def backworks():
    """Factory: backworks(args, cwd=..., ready=..., ...) -> Running, as start_backworks; every
    process started is killed afterwards."""
    started: list[Running] = []

    def start(args: list[str], **kwargs) -> Running:
        started.append(start_backworks(args, **kwargs))
        return started[-1]

    yield start
    for running in started:
        running.stop(signal.SIGKILL)


@dataclass(kw_only=True)
class Capture(Listening):
    """A running `backworks capture` and where it records."""

    store: Path
    home: Path
    admin_port: int | None = None


def start_capture(
    tmp_path: Path,
    *args: str,
    store: Path | None = None,
    env=None,
    default_admin: bool = False,
    **popen,
) -> Capture:
    """Start capture on a port the system chooses and wait until it says it is listening (on
    which port). The admin API is served on a port of its own unless `--admin` is given or
    `default_admin` asks for the default (off)."""
    store = store or tmp_path / "recordings" / "backworks.db"
    if "--admin" not in args and not default_admin:
        args = (*args, "--admin", "127.0.0.1:0")
    running = start_backworks(
        ["capture", "--listen", "127.0.0.1:0", "--store", str(store), *args],
        cwd=tmp_path,
        ready="Listening on",
        env=env,
        **popen,
    )
    admin = admin_port_in(running.ready_line) if "Admin API:" in running.ready_line else None
    return Capture.bound(running, store=store, home=tmp_path / "home", admin_port=admin)


@pytest.fixture
def capture(tmp_path):
    """Factory: capture(*cli_args) -> Capture; every process started is stopped afterwards."""
    started: list[Capture] = []

    def start(*args: str, **kwargs) -> Capture:
        started.append(start_capture(tmp_path, *args, **kwargs))
        return started[-1]

    yield start
    for cap in started:
        cap.stop(signal.SIGKILL)


class LoopbackServer:
    """An HTTP server on 127.0.0.1 (a free port unless given) answering with `handler` in
    threads of its own, for as long as the `with` block runs."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler that speaks HTTP/1.1 quietly and answers JSON."""

    protocol_version = "HTTP/1.1"

    def send_json(self, value: object) -> None:
        body = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def sse_events(lines: Iterator[str], count: int) -> list[dict]:
    """The next `count` events of an admin event stream, read from its lines: each `data:`
    line's JSON (the stream's comments are skipped)."""
    seen: list[dict] = []
    for line in lines:
        if line.startswith("data: "):
            seen.append(json.loads(line[len("data: ") :]))
            if len(seen) == count:
                break
    return seen


def listen_for_events(url: str, count: int) -> tuple[list[dict], threading.Thread]:
    """Follow the event stream at `url` in a thread, returning once subscribed: the list the
    thread fills with the next `count` events, and the thread (joined by the caller)."""
    events: list[dict] = []
    subscribed = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", url, timeout=20) as stream:
            lines = stream.iter_lines()
            next(lines)  # ": connected", once the host has subscribed this stream
            subscribed.set()
            events.extend(sse_events(lines, count))

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert subscribed.wait(10)
    return events, listener


@dataclass
class TlsFiles:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path


def make_tls(directory: Path) -> TlsFiles:
    """A private CA and a certificate for localhost/127.0.0.1 signed by it."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "backworks test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    files.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files
