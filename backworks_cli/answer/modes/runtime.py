"""Mode `runtime`: a handler answers. A Python module in process, or a worker process in any
language speaking JSON lines (see workers.py and the runtime protocol in the README).

The endpoint's `runtime:` block says which:

    runtime:
      language: python            # python | node | shell | command (javascript = node)
      handler: handlers/users.py  # relative to backworks.yaml
      command: [dotnet, run]      # language command: the worker's argv
      timeout_ms: 5000
      env: {KEY: value}           # added to a worker's environment
      allow_outside_project: false  # true: the handler may lie outside the project folder

A node `handler` may also be the code itself, `function handler(req) {...}` written in the
YAML as the original Backworks blueprints do; it is wrapped in a JSON-lines loop.

A request becomes a dict: method, path, params (typed path parameters), query ({name:
[values]}), headers ({lower-case name: value}, repeats joined), endpoint, and `body`: the JSON
value when the content type is JSON, a string for other text, None when empty; a binary body
comes as `body_base64` instead. The answer is a dict: status (200 by default), headers, and
`body` (a string is sent as text/plain, any other JSON value as application/json, unless the
headers give a content type) or `body_base64`.

Python handlers: `handle(request) -> dict`, loaded from the file (not imported by module name)
and loaded again when the file changes (checked at most every RELOAD_CHECK_S). A plain `def`
runs on the caller's thread, so timeout_ms does not bound it. An `async def` runs on an event
loop in a background thread of this mode, and the caller waits for it at most timeout_ms (then
504, and the coroutine is cancelled): the engine's `handle` is synchronous, and this keeps
handlers free to await while the host thread waits. Other languages run in one long-lived worker
process per endpoint, started on the first request, with the directory of backworks.yaml as
working directory; requests to it are serialised (one in flight at a time).

Outcomes: `handler` for an answer; `handler_error` for a handler that raised or answered
something unusable (500), a worker that exited or did not start (502), or no answer in time
(504). A failure's traceback or reason is logged once; its repeats get one line each.
`reset()` stops the worker and forgets the Python module (the next request starts afresh);
`close()` stops the worker and the event loop for good.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import difflib
import inspect
import logging
import shlex
import shutil
import sys
import threading
import time
import traceback
import types
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backworks_cli.answer.modes.base import Context, Outcome, json_body, json_response, known_keys
from backworks_cli.answer.workers import HandlerError, Log, Worker
from backworks_cli.core.errors import ConfigError
from backworks_cli.core.exchange import Request, Response, is_text_type, load_json, text_bytes
from backworks_cli.core.files import in_project, stamp

logger = logging.getLogger("backworks.runtime")

LANGUAGES = ("python", "node", "shell", "command")
ALIASES = {"javascript": "node", "js": "node", "sh": "shell", "py": "python"}
SUFFIXES = {".py": "python", ".js": "node", ".mjs": "node", ".cjs": "node", ".sh": "shell"}
SOURCE = "backworks.yaml"  # how messages name the configuration file
KEYS = ("language", "handler", "command", "timeout_ms", "env", "allow_outside_project")
DEFAULT_TIMEOUT_MS = 5000
RELOAD_CHECK_S = 0.5
SEEN = 256  # distinct failures remembered for logging each traceback once
TEXT = "text/plain; charset=utf-8"
BINARY = "application/octet-stream"
# Headers about the framing on the wire, which the host writes itself.
FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})

# A node worker around an inline `function handler(req)`, as the original Backworks blueprints
# write it: the handler's code, then a loop answering one JSON line at a time.
NODE_INLINE = """\
%s
;(() => {
  const rl = require("node:readline").createInterface({ input: process.stdin });
  rl.on("line", async (line) => {
    const req = JSON.parse(line);
    let res;
    try {
      res = await handler(req);
    } catch (error) {
      console.error(error && error.stack ? error.stack : String(error));
      res = { status: 500, body: { error: "handler failed", detail: String(error) } };
    }
    process.stdout.write(JSON.stringify({ ...(res || {}), id: req.id }) + "\\n");
  });
})();
"""


# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """An endpoint's `runtime:` block, checked, with paths resolved."""

    language: str
    handler: Path | None  # the handler file; None for inline code and `command`
    argv: tuple[str, ...]  # a worker's command line; () for python
    timeout: float  # seconds
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = Path()


def read_settings(context: Context) -> Settings:
    """The endpoint's runtime settings; ConfigError naming the key and the fix when unusable."""
    name = context.name
    where = f"endpoints.{name}.runtime"
    base = context.base_dir or Path.cwd()
    block = context.endpoint.runtime
    if not isinstance(block, dict):
        raise ConfigError(
            f"{SOURCE}: endpoint {name} is in mode runtime but has no `runtime:` block.",
            f"Add one, e.g. `runtime: {{language: python, handler: handlers/{name}.py}}`, "
            "or choose another mode.",
        )
    known_keys(block, KEYS, where, context.notes)
    handler = block.get("handler")
    command = block.get("command")
    language = _language(block.get("language"), handler, command, where)
    timeout_ms = block.get("timeout_ms", DEFAULT_TIMEOUT_MS)
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int | float) or timeout_ms <= 0:
        raise ConfigError(
            f"{SOURCE}: {where}.timeout_ms is {timeout_ms!r}; it must be a positive number of "
            "milliseconds.",
            f"Write e.g. `timeout_ms: {DEFAULT_TIMEOUT_MS}`.",
        )
    env = block.get("env") or {}
    if not isinstance(env, dict) or any(isinstance(v, dict | list) for v in env.values()):
        raise ConfigError(
            f"{SOURCE}: {where}.env must map variable names to plain values.",
            "Write e.g. `env: {API_KEY: abc, DEBUG: 1}`.",
        )
    env = {str(k): "" if v is None else _scalar(v) for k, v in env.items()}
    if env and language == "python":
        context.notes.append(
            f"{where}.env is not applied to a python handler: it runs inside backworks and "
            "sees backworks's environment."
        )
    path: Path | None = None
    argv: tuple[str, ...] = ()
    outside = block.get("allow_outside_project") is True
    if language == "command":
        argv = _command(command, where)
        program = argv[0]
        if "/" not in program:
            argv = (_program(program, where), *argv[1:])
        elif Path(program).expanduser().is_absolute():
            if not Path(program).expanduser().exists():
                raise ConfigError(
                    f"{SOURCE}: {where}.command runs {program}, but there is no such file.",
                    "Fix the path or build the program.",
                )
        else:
            found = _contained(program, base, f"{where}.command", outside)
            if not found.exists():
                raise ConfigError(
                    f"{SOURCE}: {where}.command runs {program}, but there is no such file.",
                    f"Fix the path (relative to the directory of {SOURCE}) or build the program.",
                )
    elif not isinstance(handler, str) or not handler.strip():
        raise ConfigError(
            f"{SOURCE}: {where}.handler is missing; a {language} handler needs its file.",
            f"Write e.g. `handler: handlers/{name}{_suffix(language)}` (relative to {SOURCE}).",
        )
    elif language == "node" and _inline(handler, base):
        argv = (_program("node", where), "-e", NODE_INLINE % handler)
    else:
        path = _handler_path(handler, base, where, outside)
        if language == "node":
            argv = (_program("node", where), str(path))
        elif language == "shell":
            argv = (_program("sh", where), str(path))
    return Settings(language, path, argv, float(timeout_ms) / 1000, env, base)


def _language(value: Any, handler: Any, command: Any, where: str) -> str:
    if value is None:
        if command is not None:
            return "command"
        if isinstance(handler, str):
            found = SUFFIXES.get(Path(handler.strip()).suffix.lower())
            if found:
                return found
        raise ConfigError(
            f"{SOURCE}: {where}.language is missing and the handler does not say it.",
            f"Add `language:` with one of {', '.join(LANGUAGES)}.",
        )
    language = ALIASES.get(str(value).lower(), str(value).lower())
    if language not in LANGUAGES:
        close = difflib.get_close_matches(language, LANGUAGES, n=1)
        hint = f'Did you mean "{close[0]}"? ' if close else ""
        raise ConfigError(
            f"{SOURCE}: {where}.language is {value!r}, which backworks does not run.",
            f"{hint}Use one of {', '.join(LANGUAGES)}; `command` runs any program that speaks "
            "the JSON-lines protocol.",
        )
    return language


def _command(command: Any, where: str) -> tuple[str, ...]:
    if isinstance(command, str):
        command = shlex.split(command)
    if (
        not isinstance(command, list)
        or not command
        or not all(isinstance(a, str | int | float) and not isinstance(a, bool) for a in command)
    ):
        raise ConfigError(
            f"{SOURCE}: {where}.command must be the worker's command line as a list of strings.",
            "Write e.g. `command: [dotnet, run, --project, handlers/Users]`.",
        )
    return tuple(str(a) for a in command)


def _program(program: str, where: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise ConfigError(
            f"{SOURCE}: {where} needs `{program}`, which is not on the PATH.",
            f"Install {program} (or put it on the PATH), or use `language: command` with the "
            "full path of the program.",
        )
    return found


def _inline(handler: str, base: Path) -> bool:
    """Whether a node handler is code written in the YAML rather than a file name."""
    return "\n" in handler.strip() or ("(" in handler and not (base / handler).exists())


def _contained(written: str, base: Path, where: str, outside: bool) -> Path:
    """The file `written` names, relative to the project folder `base`; ConfigError when it
    lies outside that folder and the block does not allow it (load.py words the same rule with
    the line)."""
    path, inside = in_project(base, written)
    if not inside and not outside:
        raise ConfigError(
            f"{SOURCE}: {where} is {written!r}, which lies outside the project folder {base}.",
            f"Move it into the folder of {SOURCE}, or add `allow_outside_project: true` to the "
            "runtime block.",
        )
    return path


def _handler_path(handler: str, base: Path, where: str, outside: bool) -> Path:
    path = _contained(handler.strip(), base, f"{where}.handler", outside)
    if not path.is_file():
        raise ConfigError(
            f"{SOURCE}: {where}.handler is {handler!r}, but there is no file {path}.",
            f"Create it, or fix the path (it is relative to the directory of {SOURCE}).",
        )
    return path


def _suffix(language: str) -> str:
    return {"python": ".py", "node": ".js", "shell": ".sh"}.get(language, "")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- requests and answers --------------------------------------------------------------------


def request_message(request: Request, params: Mapping[str, Any], endpoint: str) -> dict:
    """The request as a handler sees it (see the module docstring)."""
    headers: dict[str, str] = {}
    for name, value in request.headers:
        key = name.lower()
        if key in headers:
            headers[key] += ("; " if key == "cookie" else ", ") + value
        else:
            headers[key] = value
    query: dict[str, list[str]] = {}
    for name, value in request.query:
        query.setdefault(name, []).append(value)
    message = {
        "method": request.method,
        "path": request.path,
        "endpoint": endpoint,
        "params": dict(params),
        "query": query,
        "headers": headers,
    }
    body = request.body
    if not body:
        message["body"] = None
        return message
    content_type = (headers.get("content-type") or "").lower()
    if content_type and not is_text_type(content_type):
        message["body_base64"] = base64.b64encode(body).decode("ascii")
        return message
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        message["body_base64"] = base64.b64encode(body).decode("ascii")
        return message
    if "json" in content_type:
        try:
            message["body"] = load_json(text)
            return message
        except (ValueError, RecursionError):
            pass
    message["body"] = text
    return message


def build_response(answer: Any) -> Response:
    """The HTTP response for a handler's answer; ValueError saying what is wrong with it."""
    if not isinstance(answer, dict):
        raise ValueError(f"the answer is {_kind(answer)}, not an object with status and body")
    status = answer.get("status", 200)
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"status is {status!r}, not an HTTP status code from 100 to 599")
    headers = _answer_headers(answer.get("headers"))
    typed = any(name.lower() == "content-type" for name, _ in headers)
    encoded = answer.get("body_base64")
    if encoded is not None:
        if not isinstance(encoded, str):
            raise ValueError(f"body_base64 is {_kind(encoded)}, not a base64 string")
        try:
            body, default = base64.b64decode(encoded, validate=True), BINARY
        except binascii.Error as error:
            raise ValueError(f"body_base64 is not valid base64 ({error})") from None
    else:
        value = answer.get("body")
        if value is None:
            body, default = b"", None
        elif isinstance(value, bytes | bytearray):
            body, default = bytes(value), BINARY
        elif isinstance(value, str):
            body, default = text_bytes(value), TEXT
        else:
            try:
                body, default = json_body(value), "application/json"
            except (TypeError, ValueError) as error:
                raise ValueError(f"body is not JSON ({error})") from None
    if default is not None and not typed:
        headers.append(("Content-Type", default))
    return Response(status, tuple(headers), body)


def _answer_headers(given: Any) -> list[tuple[str, str]]:
    """Headers from {name: value or [values]} or [[name, value], ...], framing ones dropped."""
    if given is None:
        return []
    if isinstance(given, dict):
        pairs = [
            (name, item)
            for name, value in given.items()
            for item in (value if isinstance(value, list) else [value])
        ]
    elif isinstance(given, list) and all(
        isinstance(p, list | tuple) and len(p) == 2 for p in given
    ):
        pairs = [tuple(p) for p in given]
    else:
        raise ValueError(f"headers is {_kind(given)}, not an object of names and values")
    out = []
    for name, value in pairs:
        if not isinstance(name, str) or isinstance(value, dict | list):
            raise ValueError(f"header {name!r} has the value {value!r}, which is not text")
        text = _scalar(value) if value is not None else ""
        if any(c in name + text for c in "\r\n") or not name.strip():
            raise ValueError(f"header {name!r} has a line break or an empty name")
        if name.lower() not in FRAMING:
            out.append((name, text))
    return out


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", type(None): "null"}
    return names.get(type(value), f"a {type(value).__name__}")


# --- python handlers -------------------------------------------------------------------------


class PythonHandler:
    """The `handle` function of a Python file, loaded again when the file changes."""

    def __init__(self, path: Path, endpoint: str, log: Log):
        self.path = path
        self.endpoint = endpoint
        self.log = log
        self.loads = 0  # times the file was loaded
        self._module_name = f"backworks_handler_{endpoint}"
        self._handle: Callable[[dict], Any] | None = None
        self._failure: str | None = None  # why the current file does not load, in a line
        self._trace: str | None = None  # and its traceback, when loading it raised
        self._stamp: tuple[int, int, int] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._loop = _Loop(endpoint)

    def load(self) -> None:
        """Load the file now; ConfigError when it cannot be (at build time)."""
        with self._lock:
            self._load()
        if self._failure is not None:
            raise ConfigError(
                f"The handler of endpoint {self.endpoint}, {self.path}, does not load: "
                f"{self._failure}",
                "Fix the handler file: it must define `def handle(request)` or "
                "`async def handle(request)` returning a dict with status, headers and body.",
            )

    def forget(self) -> None:
        """Load the file again on the next call, for module state that starts afresh."""
        self._stamp = None
        self._checked = 0.0

    def close(self) -> None:
        self._loop.stop()

    def call(self, message: dict, timeout: float) -> Any:
        """The handler's answer; HandlerError when it raised, does not load or took too long."""
        handle = self._current()
        try:
            result = handle(message)
            if inspect.isawaitable(result):
                result = self._loop.run(result, timeout)
        except HandlerError:
            raise
        except (Exception, SystemExit) as error:
            raise HandlerError("exception", _summary(error), self._traceback(error)) from None
        return result

    def _current(self) -> Callable[[dict], Any]:
        now = time.monotonic()
        if now - self._checked >= RELOAD_CHECK_S:
            with self._lock:
                if now - self._checked >= RELOAD_CHECK_S:
                    self._checked = now
                    if stamp(self.path) != self._stamp:
                        self._load()
                        if self._handle is not None and self.loads > 1:
                            self.log(f"{self.endpoint}: reloaded {self.path}")
        if self._handle is None:
            raise HandlerError("load", self._failure or "it did not load", self._trace)
        return self._handle

    def _load(self) -> None:
        """Run the file as a fresh module; its `handle`, or why there is none. Callers on other
        threads keep the previous function until the new one is in place."""
        self._stamp = stamp(self.path)
        name = self._module_name
        handle = trace = None
        try:
            code = compile(self.path.read_bytes(), str(self.path), "exec")
            module = types.ModuleType(name)
            module.__file__ = str(self.path)
            # Registered while it runs, as an import would, for dataclasses and pickling.
            sys.modules[name] = module
            exec(code, module.__dict__)
        except SyntaxError as error:
            sys.modules.pop(name, None)
            failure = f"{error.filename}:{error.lineno}: {error.msg}"
        except (Exception, SystemExit) as error:
            sys.modules.pop(name, None)
            failure, trace = self._located(error), self._traceback(error)
        else:
            handle = module.__dict__.get("handle")
            failure = None if callable(handle) else "it defines no `handle(request)` function"
            if failure is None:
                self.loads += 1
            else:
                handle = None
        self._handle, self._failure, self._trace = handle, failure, trace

    def _located(self, error: BaseException) -> str:
        """The exception in one line, after the line of the handler file it came from."""
        line = None
        tb = error.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == str(self.path):
                line = tb.tb_lineno
            tb = tb.tb_next
        return f"{self.path}:{line}: {_summary(error)}" if line else _summary(error)

    def _traceback(self, error: BaseException) -> str:
        """The traceback from the handler file's first frame on (ours are not interesting)."""
        tb = error.__traceback__
        mine = str(self.path)
        start = tb
        while start is not None and start.tb_frame.f_code.co_filename != mine:
            start = start.tb_next
        lines = traceback.format_exception(type(error), error, start or tb)
        return "".join(lines)


def _summary(error: BaseException) -> str:
    """The exception in one line, as the last line of its traceback shows it."""
    return traceback.format_exception_only(type(error), error)[-1].strip()


class _LoopState:
    """The event loop and its thread, apart from _Loop so a finaliser can stop them."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    def stop(self) -> None:
        loop, thread = self.loop, self.thread
        self.loop = self.thread = None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        if not loop.is_running():
            loop.close()


class _Loop:
    """An event loop on a background thread, started on first use, for async handlers."""

    def __init__(self, name: str):
        self.name = name
        self._state = _LoopState()
        self._lock = threading.Lock()
        weakref.finalize(self, self._state.stop)

    def run(self, awaitable: Any, timeout: float) -> Any:
        """The awaitable's result, waiting at most `timeout` seconds (then it is cancelled)."""
        future = asyncio.run_coroutine_threadsafe(_wrap(awaitable), self._started())
        done, _ = concurrent.futures.wait([future], timeout)
        if not done:
            future.cancel()
            raise HandlerError("timeout", "no answer in time")
        return future.result()

    def stop(self) -> None:
        with self._lock:
            self._state.stop()

    def _started(self) -> asyncio.AbstractEventLoop:
        state = self._state
        if state.loop is None:
            with self._lock:
                if state.loop is None:
                    loop = asyncio.new_event_loop()
                    thread = threading.Thread(
                        target=loop.run_forever, name=f"backworks-async-{self.name}", daemon=True
                    )
                    thread.start()
                    state.loop, state.thread = loop, thread
        return state.loop


async def _wrap(awaitable: Any) -> Any:
    return await awaitable


# --- the mode --------------------------------------------------------------------------------


class RuntimeMode:
    """Answers with the endpoint's handler; see the module docstring."""

    name = "runtime"
    blocking = True  # handlers run user code: hosts call handle() off their event loop

    def __init__(self, context: Context, *, log: Log | None = None, backoff: float | None = None):
        self.context = context
        self.endpoint = context.name
        self.log: Log = log if log is not None else logger.warning
        self.settings = settings = read_settings(context)
        self._timeout_ms = round(settings.timeout * 1000)
        self._seen: set[str] = set()
        self.python: PythonHandler | None = None
        self.worker: Worker | None = None
        if settings.language == "python":
            self.python = PythonHandler(settings.handler, self.endpoint, self.log)
            self.python.load()
        else:
            options = {} if backoff is None else {"backoff": backoff}
            self.worker = Worker(
                settings.argv,
                name=self.endpoint,
                cwd=settings.cwd,
                env=settings.env,
                log=self.log,
                **options,
            )

    def handle(self, request: Request, params: dict[str, Any]) -> Outcome:
        message = request_message(request, params, self.endpoint)
        timeout = self.settings.timeout
        try:
            if self.python is not None:
                answer = self.python.call(message, timeout)
            else:
                answer = self.worker.call(message, timeout)
        except HandlerError as error:
            return self._failed(request, error)
        try:
            response = build_response(answer)
        except ValueError as error:
            return self._failed(request, HandlerError("invalid", str(error)))
        return Outcome(response, self.endpoint, self.name, "handler")

    def reset(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self.python is not None:
            self.python.forget()
        self._seen.clear()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self.python is not None:
            self.python.close()

    def _failed(self, request: Request, error: HandlerError) -> Outcome:
        what = {
            "exception": "handler failed",
            "load": "handler failed to load",
            "invalid": "handler returned an invalid response",
            "timeout": "handler timed out",
            "busy": "handler timed out",
            "exit": "handler worker exited",
            "start": "handler worker did not start",
        }[error.kind]
        body: dict[str, Any] = {"error": what, "endpoint": self.endpoint, "detail": error.message}
        if error.kind in ("timeout", "busy"):
            body["timeout_ms"] = self._timeout_ms
        self._report(request, error, what)
        return Outcome(
            json_response(error.status, body), self.endpoint, self.name, "handler_error", body
        )

    def _report(self, request: Request, error: HandlerError, what: str) -> None:
        """Log a failure: in full the first time, one line when it happens again."""
        trace = error.trace
        key = f"{error.kind}|{trace or error.message}"
        where = f"{request.method} {request.path}"
        if key in self._seen:
            self.log(f"Error: {self.endpoint}: {what} again on {where}: {error.message}")
            return
        if len(self._seen) >= SEEN:
            self._seen.clear()
        self._seen.add(key)
        text = f"Error: {self.endpoint}: {what} on {where}: {error.message}"
        if trace:
            text += "\n" + trace.rstrip()
        self.log(text)


def create(context: Context) -> RuntimeMode:
    return RuntimeMode(context)
