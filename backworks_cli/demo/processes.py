"""The demo's child processes: `backworks` commands run in the demo's directory, waited on
through the signals they give (a listening port, a healthy admin API) with deadlines, and a
running host (mock or serve) with a client for it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from backworks_cli.core.errors import BackworksError, ExitCode, NetworkError

SESSION = "demo"
READY_TIMEOUT = 30.0  # seconds for a child server to accept connections
CLI_TIMEOUT = 60.0  # seconds for a one-shot command (infer, promote, modes)


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


# --- child processes -------------------------------------------------------------------------


def child_env(workdir: Path) -> dict[str, str]:
    """The environment of every `backworks` child: this very package importable (even from a
    source checkout), and BACKWORKS_HOME inside the demo's directory so that nothing (the
    capture CA, for one) lands in the user's home."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", BACKWORKS_HOME=str(workdir / ".backworks"))
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


def cli_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "backworks_cli", *args]


@dataclass
class Child:
    """A child process whose stderr is read line by line in a thread (so it never blocks)."""

    process: subprocess.Popen[str]
    name: str = "backworks capture"
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @classmethod
    def start(cls, argv: list[str], cwd: Path, name: str = "backworks capture") -> Child:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=child_env(cwd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        child = cls(process, name)
        child.reader = threading.Thread(target=child._read, name=f"{name} stderr", daemon=True)
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
                f"{self.name} did not stop within {timeout:.0f} s of SIGTERM and was killed.",
                hint=f"Run `{self.name}` on its own to see where it hangs.",
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


def run_cli(workdir: Path, *args: str, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """Run `backworks ARGS` in `workdir` to completion; BackworksError with what it said on
    stderr (and its exit code) when it fails. subprocess.run kills it on timeout or Ctrl-C."""
    command = "backworks " + " ".join(args)
    try:
        done = subprocess.run(
            cli_argv(*args),
            cwd=workdir,
            env=child_env(workdir),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise BackworksError(
            f"`{command}` did not finish within {timeout:.0f} s and was stopped.",
            hint=f"Run it yourself in {workdir} to see where it hangs.",
        ) from None
    if done.returncode != 0:
        said = done.stderr.strip() or done.stdout.strip() or "(nothing)"
        code = done.returncode
        raise BackworksError(
            f"`{command}` failed with exit code {code}. It said:\n{said}",
            hint=f"Run it yourself in {workdir} to investigate.",
            exit_code=ExitCode(code) if code in ExitCode._value2member_map_ else ExitCode.ERROR,
        )
    return done


def capture_command(upstream: str, port: int, store: Path) -> list[str]:
    return cli_argv(
        "capture",
        "--upstream", upstream,
        "--listen", f"127.0.0.1:{port}",
        "--store", str(store),
        "--session", SESSION,
        "--admin", "off",
    )  # fmt: skip


def _exited(child: Child, code: int, what: str) -> NetworkError:
    return NetworkError(
        f"{child.name} exited (code {code}) before it {what}. It said:\n"
        f"{child.stderr() or '(nothing)'}",
        hint=f"Fix what the message above names, or run `{child.name}` on its own.",
    )


def _too_slow(child: Child, timeout: float, what: str) -> NetworkError:
    return NetworkError(
        f"{child.name} did not {what} within {timeout:.0f} s. It said:\n"
        f"{child.stderr() or '(nothing)'}",
        hint=f"The machine may be very busy; try again, or run `{child.name}` on its own.",
    )


def wait_until_listening(child: Child, port: int, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not port_open("127.0.0.1", port):
        code = child.process.poll()
        if code is not None:
            raise _exited(child, code, f"accepted connections on 127.0.0.1:{port}")
        if time.monotonic() > deadline:
            raise _too_slow(child, timeout, f"accept connections on 127.0.0.1:{port}")
        time.sleep(0.05)


def wait_until_healthy(child: Child, admin_url: str, timeout: float = READY_TIMEOUT) -> None:
    """Until GET /__backworks/health answers 200 (the host has built its engine)."""
    url = f"{admin_url}/__backworks/health"
    deadline = time.monotonic() + timeout
    while True:
        code = child.process.poll()
        if code is not None:
            raise _exited(child, code, f"answered {url}")
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise _too_slow(child, timeout, f"answer {url}")
        time.sleep(0.05)


# --- a running host (mock or serve) ----------------------------------------------------------


@dataclass
class Host:
    """A `backworks mock` or `backworks serve` child and a client for it."""

    child: Child
    url: str  # where the endpoints answer
    admin: str  # where /__backworks/ answers
    client: httpx.Client

    @classmethod
    def start(cls, args: list[str], workdir: Path, port: int, admin_port: int | None) -> Host:
        """Start `backworks ARGS` and wait until it answers its health check."""
        child = Child.start(cli_argv(*args), workdir, name=f"backworks {args[0]}")
        url = f"http://127.0.0.1:{port}"
        admin = f"http://127.0.0.1:{admin_port}" if admin_port else url
        host = cls(child, url, admin, httpx.Client(base_url=url, trust_env=False, timeout=15))
        try:
            wait_until_healthy(child, admin)
            if admin_port:
                wait_until_listening(child, port)
        except BaseException:
            host.stop()
            raise
        return host

    def stop(self) -> None:
        self.client.close()
        self.child.kill()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise self.failed(f"{method} {path} failed: {error!r}.") from None

    def admin_json(self, resource: str) -> Any:
        try:
            return httpx.get(f"{self.admin}/__backworks/{resource}", trust_env=False).json()
        except (httpx.HTTPError, ValueError) as error:
            raise self.failed(f"GET /__backworks/{resource} failed: {error!r}.") from None

    def failed(self, message: str) -> BackworksError:
        return NetworkError(
            f"{message} {self.child.name} said:\n{self.child.stderr() or '(nothing)'}",
            hint=f"Run `{self.child.name}` on its own in the demo directory to investigate.",
        )

    def expect(self, response: httpx.Response, status: int) -> httpx.Response:
        if response.status_code != status:
            request = response.request
            raise self.failed(
                f"{request.method} {request.url.raw_path.decode()} answered "
                f"{response.status_code} instead of {status}: {response.text[:400]}"
            )
        return response
