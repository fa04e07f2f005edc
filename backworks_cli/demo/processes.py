"""The demo's child processes: `backworks` commands run in the demo's directory, waited on
through the signals they give (the line that says where they listen, a healthy admin API) with
deadlines, and a running host (mock or serve) with a client for it. Hosts listen on port 0 and
say which port they got, so no two runs race for one.
"""

from __future__ import annotations

import os
import re
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


# An address a host's ready line names, and the admin API's among them.
_URL = re.compile(r"http://127\.0\.0\.1:(\d+)")
_ADMIN_URL = re.compile(r"Admin API: http://127\.0\.0\.1:(\d+)")


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
    # Notified for each line and at the end of the stream.
    said: threading.Condition = field(default_factory=threading.Condition)

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
            with self.said:
                self.lines.append(line.rstrip("\n"))
                self.said.notify_all()
        with self.said:
            self.said.notify_all()

    def line_starting(self, prefix: str, timeout: float = READY_TIMEOUT) -> str:
        """The first line of its stderr that starts with `prefix` (its ready line), once it has
        said it; NetworkError if it exits first or says nothing of the kind in time."""
        deadline = time.monotonic() + timeout
        with self.said:
            while True:
                for line in self.lines:
                    if line.startswith(prefix):
                        return line
                if self.reader is not None and not self.reader.is_alive():
                    code = self.process.wait()
                    raise _exited(self, code, f"said where it listens ({prefix!r})")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _too_slow(self, timeout, f"say where it listens ({prefix!r})")
                self.said.wait(left)

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


def capture_command(upstream: str, store: Path) -> list[str]:
    return cli_argv(
        "capture",
        "--upstream", upstream,
        "--listen", "127.0.0.1:0",
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


def listening_port(child: Child, prefix: str, timeout: float = READY_TIMEOUT) -> int:
    """The port a host's ready line (starting with `prefix`) names first: where it listens."""
    line = child.line_starting(prefix, timeout)
    found = _URL.search(line)
    if found is None:
        raise NetworkError(
            f"{child.name} said {line!r}, which names no address on 127.0.0.1.",
            hint=f"Run `{child.name}` on its own to see where it listens.",
        )
    return int(found.group(1))


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
    def start(cls, args: list[str], workdir: Path, ready: str) -> Host:
        """Start `backworks ARGS` (listening on port 0) and wait until its ready line, starting
        with `ready`, names its port (and its admin API's, where that has one of its own) and it
        answers its health check."""
        child = Child.start(cli_argv(*args), workdir, name=f"backworks {args[0]}")
        try:
            port = listening_port(child, ready)
            admin_port = _ADMIN_URL.search(child.line_starting(ready))
            url = f"http://127.0.0.1:{port}"
            admin = f"http://127.0.0.1:{admin_port.group(1)}" if admin_port else url
            wait_until_healthy(child, admin)
        except BaseException:
            child.kill()
            raise
        return cls(child, url, admin, httpx.Client(base_url=url, trust_env=False, timeout=15))

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
