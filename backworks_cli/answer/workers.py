"""Worker processes that answer JSON lines: the runtime mode's handlers in other languages.

A `Worker` owns one long-lived process. Each call writes one request line on the process's
stdin (`{"id": N, ...}`, the id always first) and waits for the stdout line carrying the same
id. Calls are serialised with a lock, so one request is in flight per worker at a time; the
order of answers is therefore the order of requests. Lines on stdout that are not the awaited
answer (a stray `console.log`) are passed to the log, not taken as an answer. Each line the
process writes on stderr goes to the log, prefixed with the worker's name, from a reader thread.

Failures raise `HandlerError`:
- "timeout": no answer within the call's timeout (the first answer of a new process gets
  STARTUP_S more, for programs slow to start); the process is killed, because its output is now
  out of step with the requests, and the next call starts a new one.
- "exit": the process closed stdout or exited; the next call starts a new one at once, and
  after two deaths in a row with no answer between them, only once a backoff has passed
  (doubling up to a limit), during which calls fail at once without starting anything.
- "start": the program could not be started (missing, not executable).
- "busy": the lock was not free within the call's timeout.

Processes start lazily on the first call, in a session of their own, so stopping one kills
whatever it started too. `stop()` closes stdin (a well-behaved worker exits on end of input),
then sends SIGTERM and SIGKILL to the group if needed. A finaliser stops the process when the
worker is garbage-collected or the interpreter exits, so none is left behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger("backworks.runtime")

Log = Callable[[str], None]

BACKOFF_S = 0.25  # the wait before a restart after the second death in a row; it doubles
BACKOFF_MAX_S = 10.0
STARTUP_S = 30.0  # extra time for the first answer of a new process, which may start slowly
STOP_GRACE_S = 0.5  # how long a worker has to exit by itself after its stdin closes
KILL_WAIT_S = 2.0
CHUNK = 1 << 16
SHOWN = 300  # characters of a stray stdout line shown in the log

# HTTP status a client gets for each kind of failure.
STATUS = {"exception": 500, "load": 500, "invalid": 500, "timeout": 504, "busy": 504}
STATUS.update({"exit": 502, "start": 502})

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class HandlerError(Exception):
    """A handler did not answer: `kind` is a key of STATUS, `message` says why in a sentence,
    `trace` is the traceback of a handler that raised."""

    def __init__(self, kind: str, message: str, trace: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.trace = trace

    @property
    def status(self) -> int:
        return STATUS[self.kind]


@dataclass(eq=False)
class _Process:
    """One running worker process and what reading its stdout has buffered."""

    popen: subprocess.Popen
    poller: select.poll
    stderr: threading.Thread
    buffer: bytearray = field(default_factory=bytearray)
    stopped: bool = False  # stopped on purpose: its end is not a death
    answers: int = 0

    @property
    def stdin(self) -> int:
        return self.popen.stdin.fileno()

    @property
    def stdout(self) -> int:
        return self.popen.stdout.fileno()


class _Slot:
    """The worker's current process, held apart from the worker so that the finaliser can stop
    it without keeping the worker alive."""

    def __init__(self) -> None:
        self.process: _Process | None = None

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        process, self.process = self.process, None
        if process is not None:
            _stop(process, grace)


class Worker:
    """One JSON-lines worker process for `argv`, run in `cwd` with `env` added to the
    environment; see the module docstring."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        log: Log | None = None,
        backoff: float = BACKOFF_S,
        backoff_max: float = BACKOFF_MAX_S,
        startup: float = STARTUP_S,
    ):
        self.argv = list(argv)
        self.name = name
        self.cwd = cwd
        self.env = {**os.environ, **(env or {})}
        self.log: Log = log if log is not None else logger.warning
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.startup = startup
        self.starts = 0  # processes started so far
        self._slot = _Slot()
        self._lock = threading.Lock()
        self._ids = 0
        self._deaths = 0  # in a row, without an answer in between
        self._not_before = 0.0  # monotonic time before which no process is started
        self._finalizer = weakref.finalize(self, self._slot.stop)

    @property
    def pid(self) -> int | None:
        process = self._slot.process
        return process.popen.pid if process is not None else None

    def call(self, message: Mapping[str, Any], timeout: float) -> dict:
        """The worker's answer to `message` (sent with a fresh id first), within `timeout`
        seconds, waiting for the lock included; HandlerError when there is none."""
        deadline = time.monotonic() + timeout
        if not self._lock.acquire(timeout=max(timeout, 0.0)):
            raise HandlerError("busy", f"the worker was busy for {timeout * 1000:.0f} ms")
        try:
            process = self._ready()
            if not process.answers:
                deadline += self.startup
            self._ids += 1
            ident = self._ids
            # Lone surrogates (request bytes that were not UTF-8) become \udcXX escapes.
            line = (_encode({"id": ident, **message}) + "\n").encode("utf-8", "backslashreplace")
            try:
                answer = self._exchange(process, line, ident, deadline)
            except HandlerError as error:
                if error.kind == "timeout":
                    self._discard(process, grace=0.0)
                else:
                    self._died(process)
                raise
            process.answers += 1
            self._deaths = 0
            return answer
        finally:
            self._lock.release()

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop the process, if any, once the request in flight (if one is) has its answer;
        the next call starts a new process."""
        with self._lock:
            self._slot.stop(grace)

    close = stop

    # the process ------------------------------------------------------------------------------

    def _ready(self) -> _Process:
        process = self._slot.process
        if process is not None:
            if process.popen.poll() is None:
                return process
            self._died(process)  # it exited while idle
        wait = self._not_before - time.monotonic()
        if wait > 0:
            raise HandlerError(
                "exit",
                f"the worker keeps exiting ({self._deaths} times in a row); "
                f"the next start is in {wait * 1000:.0f} ms",
            )
        return self._start()

    def _start(self) -> _Process:
        try:
            popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
            )
        except OSError as error:
            self._count_death()
            reason = error.strerror or str(error)
            raise HandlerError("start", f"cannot start {self.argv[0]}: {reason}") from None
        self.starts += 1
        os.set_blocking(popen.stdin.fileno(), False)
        poller = select.poll()
        poller.register(popen.stdout.fileno(), select.POLLIN)
        reader = threading.Thread(
            target=_forward,
            args=(popen.stderr, self.name, self.log),
            name=f"backworks-stderr-{self.name}",
            daemon=True,
        )
        reader.start()
        process = _Process(popen, poller, reader)
        self._slot.process = process
        return process

    def _died(self, process: _Process) -> None:
        """Forget a process that ended without being asked to, and count the death."""
        if process.stopped:
            return
        self._discard(process, grace=STOP_GRACE_S)
        self.log(f"{self.name}: worker {_ended(process.popen.returncode)}")
        self._count_death()

    def _count_death(self) -> None:
        self._deaths += 1
        if self._deaths >= 2:
            wait = min(self.backoff * 2 ** (self._deaths - 2), self.backoff_max)
            self._not_before = time.monotonic() + wait

    def _discard(self, process: _Process, grace: float) -> None:
        process.stopped = True
        if self._slot.process is process:
            self._slot.process = None
        _stop(process, grace)

    # one exchange -----------------------------------------------------------------------------

    def _exchange(self, process: _Process, line: bytes, ident: int, deadline: float) -> dict:
        """Write `line` and read until the answer with id `ident`, both within `deadline`."""
        pending = memoryview(line)
        poller = process.poller
        stdin, stdout = process.stdin, process.stdout
        poller.register(stdin, select.POLLOUT)
        try:
            while True:
                if not pending:
                    answer = self._take(process, ident)
                    if answer is not None:
                        return answer
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise HandlerError("timeout", "no answer in time")
                for fd, event in poller.poll(remaining * 1000):
                    if fd == stdout:
                        data = os.read(stdout, CHUNK)
                        if not data:
                            raise HandlerError("exit", "the worker closed its output")
                        process.buffer += data
                    elif event & (select.POLLERR | select.POLLHUP):
                        raise HandlerError("exit", "the worker closed its input")
                    else:
                        try:
                            written = os.write(stdin, pending[:CHUNK])
                        except BrokenPipeError:
                            raise HandlerError("exit", "the worker closed its input") from None
                        except BlockingIOError:
                            continue
                        pending = pending[written:]
                        if not pending:
                            poller.unregister(stdin)
        finally:
            if pending:
                poller.unregister(stdin)

    def _take(self, process: _Process, ident: int) -> dict | None:
        """The buffered answer with id `ident`, if complete; other lines go to the log."""
        buffer = process.buffer
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                return None
            raw = bytes(buffer[:end]).rstrip(b"\r")
            del buffer[: end + 1]
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = None
            if isinstance(answer, dict) and answer.get("id") == ident:
                return answer
            if raw.strip():
                text = raw.decode("utf-8", "replace")
                if len(text) > SHOWN:
                    text = text[: SHOWN - 1] + "…"
                self.log(f"{self.name}: not an answer to request {ident} on stdout: {text}")


def _forward(stream: Any, name: str, log: Log) -> None:
    """Each line of a worker's stderr to the log, until the stream ends."""
    with contextlib.suppress(OSError, ValueError):  # the stream closed under the reader
        for raw in stream:
            log(f"{name}: {raw.decode('utf-8', 'replace').rstrip()}")


def _stop(process: _Process, grace: float) -> None:
    """End a worker process and everything it started: end of input and `grace` seconds to
    exit, then SIGTERM, then SIGKILL; with no grace, SIGKILL at once."""
    popen = process.popen
    process.stopped = True
    with contextlib.suppress(OSError):
        popen.stdin.close()
    if grace <= 0 or not _wait(popen, grace):
        _signal_group(popen.pid, signal.SIGKILL if grace <= 0 else signal.SIGTERM)
        if not _wait(popen, KILL_WAIT_S):
            _signal_group(popen.pid, signal.SIGKILL)
            popen.wait()
    # Whatever the worker started and left running goes too.
    _signal_group(popen.pid, signal.SIGKILL)
    process.stderr.join(KILL_WAIT_S)
    for stream in (popen.stdout, popen.stderr):
        with contextlib.suppress(OSError):
            stream.close()


def _ended(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}" if code else "exited"


def _wait(popen: subprocess.Popen, timeout: float) -> bool:
    """Whether the process ended within `timeout` seconds. A pidfd says so the moment it ends,
    where Popen.wait(timeout) polls with sleeps of up to 50 ms."""
    if popen.returncode is None and hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(popen.pid)
        except OSError:  # already reaped, or an old kernel
            pass
        else:
            try:
                ended = bool(select.select([pidfd], [], [], timeout)[0])
            finally:
                os.close(pidfd)
            if not ended:
                return popen.poll() is not None
    try:
        popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
