"""Runtime mode with real handlers: Python modules in process (sync, async, reloaded when the
file changes), real node and sh worker processes speaking JSON lines, failures (exceptions,
timeouts, crashes, restarts with backoff), stderr forwarding, binary bodies, concurrency, and no
process left behind."""

from __future__ import annotations

import base64
import json
import os
import textwrap
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backworks_cli.answer.engine import Engine
from backworks_cli.answer.match_rules import MatchRules
from backworks_cli.answer.matching import ReplayIndex
from backworks_cli.answer.modes import runtime as runtime_module
from backworks_cli.answer.modes.base import Context
from backworks_cli.answer.modes.runtime import RuntimeMode, build_response, request_message
from backworks_cli.config.load import load_config
from backworks_cli.config.model import make_endpoint
from backworks_cli.core.errors import ConfigError
from backworks_cli.core.exchange import Request
from tests.conftest import wait_until

JSON_HEADERS = (("Content-Type", "application/json"),)

NODE_ECHO = """\
const rl = require("node:readline").createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const req = JSON.parse(line);
  if (req.path === "/crash") process.exit(3);
  if (req.path === "/slow") return;  // never answers
  if (req.path === "/later") {
    const answer = { id: req.id, status: 200, body: { later: true } };
    console.error("answering /later in a while");  // the request has arrived
    // A second later: time for a reset to come while the request is in flight.
    setTimeout(() => process.stdout.write(JSON.stringify(answer) + "\\n"), 1000);
    return;
  }
  if (req.path === "/noisy") {
    console.log("debug output on stdout");
    console.error("hello from node on stderr");
  }
  if (req.body_base64 !== undefined) {
    const bytes = Buffer.from(req.body_base64, "base64").reverse();
    const answer = { id: req.id, headers: { "content-type": "application/octet-stream" },
                     body_base64: bytes.toString("base64") };
    process.stdout.write(JSON.stringify(answer) + "\\n");
    return;
  }
  const answer = { id: req.id, status: 200, headers: { "x-pid": String(process.pid) },
                   body: { seen: req } };
  process.stdout.write(JSON.stringify(answer) + "\\n");
});
"""

SHELL_WORKER = """\
while IFS= read -r line; do
  id=${line#'{"id":'}
  id=${id%%,*}
  case "$line" in
    *'"path":"/fail"'*) echo "giving up on request $id" >&2; exit 4 ;;
  esac
  printf '{"id":%s,"status":201,"headers":{"x-shell":"yes"},"body":"pwd=%s greeting=%s"}\\n' \\
    "$id" "$PWD" "$GREETING"
done
"""


# --- helpers ------------------------------------------------------------------------------


class Lines(list):
    """The log: every line a mode writes, in order."""

    def __call__(self, line: str) -> None:
        self.append(line)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        """The first line logged that holds `text`, once there is one."""

        def logged() -> str | None:
            return next((line for line in list(self) if text in line), None)

        try:
            return wait_until(logged, f"{text!r} to be logged", timeout)
        except AssertionError as failed:
            raise AssertionError(f"{failed}; log: {list(self)}") from None


def make_mode(tmp_path: Path, runtime: dict, log: Lines | None = None, **options) -> RuntimeMode:
    spec = {
        "path": "/items/{id}",
        "methods": ["GET", "POST"],
        "mode": "runtime",
        "params": {"id": {"type": "integer"}},
        "runtime": runtime,
    }
    context = Context(
        endpoint=make_endpoint("items", spec),
        shape="/items/{}",
        recordings=[],
        index=ReplayIndex(MatchRules.from_config({}, {})),
        redact=None,
        seed=0,
        base_dir=tmp_path,
    )
    return RuntimeMode(context, log=log if log is not None else Lines(), **options)


def write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(textwrap.dedent(text))
    return name


def get(path: str = "/items/7", **kwargs) -> Request:
    return Request("GET", path, **kwargs)


def body(outcome) -> object:
    return json.loads(outcome.response.body)


@pytest.fixture
def node_mode(tmp_path):
    log = Lines()
    mode = make_mode(
        tmp_path, {"language": "node", "handler": write(tmp_path, "echo.js", NODE_ECHO)}, log
    )
    mode.log_lines = log
    yield mode
    mode.close()


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for_group_to_end(group: int, timeout: float = 30.0) -> None:
    """Wait until every process of a process group is gone (a killed process takes a moment to
    die); fail if one is still there at the deadline."""
    wait_until(
        lambda: not any(g == group for _, _, g in processes()),
        f"every process of group {group} to end",
        timeout,
    )


def processes() -> list[tuple[int, int, int]]:
    """(pid, parent pid, process group) of every live process."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                found.append((int(entry.name), int(fields[1]), int(fields[2])))
    return found


# --- python handlers ----------------------------------------------------------------------


def test_python_handler_sees_the_request_and_shapes_the_response(tmp_path):
    handler = write(
        tmp_path,
        "items.py",
        """
        def handle(request):
            return {
                "status": 201,
                "headers": {"X-Seen": request["method"], "Set-Cookie": ["a=1", "b=2"]},
                "body": {key: request[key] for key in sorted(request)},
            }
        """,
    )
    mode = make_mode(tmp_path, {"handler": handler})
    request = Request(
        "POST",
        "/items/7",
        (("tag", "a"), ("tag", "b"), ("q", "x")),
        (*JSON_HEADERS, ("Accept", "text/plain"), ("Accept", "application/json")),
        b'{"qty": 2}',
    )
    outcome = mode.handle(request, {"id": 7})
    assert (outcome.how, outcome.mode, outcome.endpoint) == ("handler", "runtime", "items")
    assert outcome.response.status == 201
    assert outcome.response.headers == (
        ("X-Seen", "POST"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Content-Type", "application/json"),
    )
    assert body(outcome) == {
        "body": {"qty": 2},
        "endpoint": "items",
        "headers": {"content-type": "application/json", "accept": "text/plain, application/json"},
        "method": "POST",
        "params": {"id": 7},
        "path": "/items/7",
        "query": {"tag": ["a", "b"], "q": ["x"]},
    }


def test_python_text_and_empty_bodies(tmp_path):
    handler = write(
        tmp_path,
        "text.py",
        """
        def handle(request):
            if request["path"].endswith("/1"):
                return {"body": "plain words"}
            if request["path"].endswith("/2"):
                return {"headers": {"content-type": "text/csv"}, "body": "a,b"}
            return {"status": 204}
        """,
    )
    mode = make_mode(tmp_path, {"handler": handler})
    first = mode.handle(get("/items/1"), {"id": 1}).response
    assert (first.status, first.body, first.content_type) == (
        200,
        b"plain words",
        "text/plain; charset=utf-8",
    )
    second = mode.handle(get("/items/2"), {"id": 2}).response
    assert (second.body, second.headers) == (b"a,b", (("content-type", "text/csv"),))
    third = mode.handle(get("/items/3"), {"id": 3}).response
    assert (third.status, third.body, third.headers) == (204, b"", ())


def test_python_async_handler_and_its_timeout(tmp_path):
    handler = write(
        tmp_path,
        "slow.py",
        """
        import asyncio

        async def handle(request):
            if request["path"] == "/items/0":
                await asyncio.sleep(600)  # far longer than timeout_ms: cancelled at the timeout
            await asyncio.sleep(0)
            return {"body": {"id": request["params"]["id"], "loop": "running"}}
        """,
    )
    log = Lines()
    # Generous: the requests that must succeed have seconds, even on a loaded machine.
    mode = make_mode(tmp_path, {"handler": handler, "timeout_ms": 3000}, log)
    assert body(mode.handle(get(), {"id": 7})) == {"id": 7, "loop": "running"}
    timed_out = mode.handle(get("/items/0"), {"id": 0})
    assert timed_out.response.status == 504
    assert timed_out.how == "handler_error"
    assert body(timed_out) == {
        "error": "handler timed out",
        "endpoint": "items",
        "detail": "no answer in time",
        "timeout_ms": 3000,
    }
    assert body(mode.handle(get("/items/8"), {"id": 8})) == {"id": 8, "loop": "running"}
    mode.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("backworks-async-")]


def test_python_exception_is_500_and_its_traceback_is_logged_once(tmp_path):
    handler = write(
        tmp_path,
        "broken.py",
        """
        def lookup(key):
            return {"a": 1}[key]

        def handle(request):
            return {"body": lookup(request["path"])}
        """,
    )
    log = Lines()
    mode = make_mode(tmp_path, {"handler": handler}, log)
    first = mode.handle(get(), {"id": 7})
    again = mode.handle(get(), {"id": 7})
    for outcome in (first, again):
        assert outcome.response.status == 500
        assert outcome.how == "handler_error"
        assert body(outcome) == {
            "error": "handler failed",
            "endpoint": "items",
            "detail": "KeyError: '/items/7'",
        }
    tracebacks = [line for line in log if "Traceback (most recent call last)" in line]
    assert len(tracebacks) == 1
    assert 'broken.py", line 3, in lookup' in tracebacks[0]
    assert "runtime.py" not in tracebacks[0]  # backworks's own frames are left out
    assert len(log) == 2 and "again" in log[1]


def test_python_handler_reloads_when_the_file_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime_module, "RELOAD_CHECK_S", 0.0)
    path = tmp_path / "counter.py"
    path.write_text(
        "count = 0\ndef handle(request):\n    global count\n    count += 1\n"
        "    return {'body': {'version': 1, 'count': count}}\n"
    )
    log = Lines()
    mode = make_mode(tmp_path, {"handler": "counter.py"}, log)
    assert body(mode.handle(get(), {"id": 7})) == {"version": 1, "count": 1}
    assert body(mode.handle(get(), {"id": 7})) == {"version": 1, "count": 2}

    def rewrite(text: str) -> None:
        stamp = path.stat().st_mtime_ns
        path.write_text(text)
        os.utime(path, ns=(stamp + 10**9, stamp + 10**9))

    rewrite("def handle(request):\n    return {'body': {'version': 2}}\n")
    assert body(mode.handle(get(), {"id": 7})) == {"version": 2}
    assert any("reloaded" in line for line in log)

    rewrite("def handle(request)\n    return {}\n")  # a syntax error
    broken = mode.handle(get(), {"id": 7})
    assert broken.response.status == 500
    assert body(broken)["error"] == "handler failed to load"
    assert body(broken)["detail"].endswith("counter.py:1: expected ':'")

    rewrite("def handle(request):\n    return {'body': {'version': 3}}\n")
    assert body(mode.handle(get(), {"id": 7})) == {"version": 3}

    # reset() forgets the module: its state starts afresh on the next request.
    rewrite(path.read_text().replace("version': 3", "version': 4"))
    mode.reset()
    assert body(mode.handle(get(), {"id": 7})) == {"version": 4}


def test_python_handler_that_does_not_load_is_a_config_error(tmp_path):
    write(tmp_path, "raises.py", "x = 1 / 0\ndef handle(request):\n    return {}\n")
    with pytest.raises(ConfigError) as caught:
        make_mode(tmp_path, {"handler": "raises.py"})
    assert "raises.py:1: ZeroDivisionError: division by zero" in caught.value.message
    write(tmp_path, "nothing.py", "def answer(request):\n    return {}\n")
    with pytest.raises(ConfigError, match="defines no `handle"):
        make_mode(tmp_path, {"handler": "nothing.py"})


def test_invalid_answers_are_500_naming_the_problem(tmp_path):
    handler = write(
        tmp_path,
        "bad.py",
        """
        ANSWERS = {
            "/items/1": {"status": "abc"},
            "/items/2": ["not", "an", "object"],
            "/items/3": {"body_base64": "***"},
            "/items/4": {"headers": {"X-Bad": "a\\r\\nInjected: 1"}},
            "/items/5": {"body": {1, 2}},
        }

        def handle(request):
            return ANSWERS[request["path"]]
        """,
    )
    mode = make_mode(tmp_path, {"handler": handler})
    details = []
    for n in range(1, 6):
        outcome = mode.handle(get(f"/items/{n}"), {"id": n})
        assert outcome.response.status == 500
        assert body(outcome)["error"] == "handler returned an invalid response"
        details.append(body(outcome)["detail"])
    assert details[0] == "status is 'abc', not an HTTP status code from 100 to 599"
    assert details[1] == "the answer is a list, not an object with status and body"
    assert details[2].startswith("body_base64 is not valid base64")
    assert "line break" in details[3]
    assert details[4].startswith("body is not JSON")


def test_binary_bodies_in_process(tmp_path):
    handler = write(
        tmp_path,
        "binary.py",
        """
        import base64

        def handle(request):
            data = base64.b64decode(request["body_base64"])
            return {"body": data[::-1]}
        """,
    )
    mode = make_mode(tmp_path, {"handler": handler})
    data = bytes(range(256))
    request = Request("POST", "/items/1", (), (("Content-Type", "image/png"),), data)
    response = mode.handle(request, {"id": 1}).response
    assert response.body == data[::-1]
    assert response.content_type == "application/octet-stream"


# --- worker processes ---------------------------------------------------------------------


def test_node_worker_answers_and_is_reused(node_mode):
    request = Request("POST", "/items/3", (("q", "1"),), JSON_HEADERS, b'{"name": "x"}')
    first = node_mode.handle(request, {"id": 3})
    assert first.how == "handler" and first.response.status == 200
    seen = body(first)["seen"]
    assert list(seen) == ["id", "method", "path", "endpoint", "params", "query", "headers", "body"]
    assert seen["body"] == {"name": "x"} and seen["params"] == {"id": 3}
    assert seen["query"] == {"q": ["1"]}
    second = node_mode.handle(get(), {"id": 7})
    assert second.response.header("x-pid") == first.response.header("x-pid")
    assert body(second)["seen"]["id"] == seen["id"] + 1
    assert node_mode.worker.starts == 1


def test_node_worker_timeout_is_504_and_the_next_request_works(tmp_path):
    handler = write(tmp_path, "echo.js", NODE_ECHO)
    mode = make_mode(tmp_path, {"language": "node", "handler": handler, "timeout_ms": 300})
    try:
        pid = mode.handle(get(), {"id": 7}).response.header("x-pid")
        slow = mode.handle(get("/slow"), {})
        assert slow.response.status == 504
        assert body(slow)["error"] == "handler timed out"
        assert not alive(int(pid))  # killed: its output is out of step
        after = mode.handle(get(), {"id": 7})
        assert after.response.status == 200
        assert after.response.header("x-pid") != pid
    finally:
        mode.close()


def test_crashed_worker_is_502_then_restarted(node_mode):
    pid = node_mode.handle(get(), {"id": 7}).response.header("x-pid")
    crashed = node_mode.handle(get("/crash"), {})
    assert crashed.response.status == 502
    assert crashed.how == "handler_error"
    assert body(crashed)["error"] == "handler worker exited"
    node_mode.log_lines.wait_for("items: worker exited with status 3")
    after = node_mode.handle(get(), {"id": 7})
    assert after.response.status == 200
    assert after.response.header("x-pid") != pid
    assert node_mode.worker.starts == 2


def test_a_worker_that_keeps_dying_is_restarted_after_a_backoff(tmp_path):
    log = Lines()
    mode = make_mode(tmp_path, {"command": ["sh", "-c", "exit 5"]}, log, backoff=60)
    try:
        answers = [mode.handle(get(), {"id": 7}) for _ in range(3)]
        assert [a.response.status for a in answers] == [502, 502, 502]
        assert mode.worker.starts == 2  # the third waits for the backoff
        assert "keeps exiting (2 times in a row)" in body(answers[2])["detail"]
    finally:
        mode.close()


def test_a_program_that_cannot_start_is_502(tmp_path):
    script = tmp_path / "worker"
    script.write_text("#!/bin/sh\n")  # not executable
    mode = make_mode(tmp_path, {"command": ["./worker"]})
    outcome = mode.handle(get(), {"id": 7})
    assert outcome.response.status == 502
    assert body(outcome)["error"] == "handler worker did not start"
    assert "Permission denied" in body(outcome)["detail"]


def test_stderr_is_forwarded_and_stray_stdout_is_not_an_answer(node_mode):
    outcome = node_mode.handle(get("/noisy"), {})
    assert outcome.response.status == 200
    assert body(outcome)["seen"]["path"] == "/noisy"
    node_mode.log_lines.wait_for("items: hello from node on stderr")
    line = node_mode.log_lines.wait_for("debug output on stdout")
    assert "not an answer" in line


def test_binary_bodies_through_a_worker(node_mode):
    data = bytes(range(256)) * 4
    request = Request("PUT", "/items/1", (), (("Content-Type", "application/octet-stream"),), data)
    response = node_mode.handle(request, {"id": 1}).response
    assert response.body == data[::-1]
    assert response.content_type == "application/octet-stream"


def test_concurrent_calls_are_serialised_and_not_mixed_up(node_mode):
    failures = []

    def client(n: int) -> None:
        for i in range(25):
            path = f"/items/{n}-{i}"
            outcome = node_mode.handle(get(path, query=(("n", str(n)),)), {"id": n})
            seen = body(outcome)["seen"]
            if (seen["path"], seen["query"]) != (path, {"n": [str(n)]}):
                failures.append((path, seen))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert node_mode.worker.starts == 1


def test_reset_lets_the_request_in_flight_finish(node_mode):
    answers = []
    thread = threading.Thread(target=lambda: answers.append(node_mode.handle(get("/later"), {})))
    thread.start()
    node_mode.log_lines.wait_for("items: answering /later in a while")  # it is in flight
    node_mode.reset()
    thread.join()
    assert body(answers[0]) == {"later": True}
    assert node_mode.handle(get(), {"id": 7}).response.status == 200


def test_shell_worker_with_env_in_the_config_directory(tmp_path):
    handler = write(tmp_path, "worker.sh", SHELL_WORKER)
    log = Lines()
    runtime = {"language": "shell", "handler": handler, "env": {"GREETING": "hej"}}
    mode = make_mode(tmp_path, runtime, log)
    try:
        outcome = mode.handle(get(), {"id": 7})
        assert outcome.response.status == 201
        assert outcome.response.header("x-shell") == "yes"
        assert outcome.response.body == f"pwd={tmp_path} greeting=hej".encode()
        assert mode.handle(get("/fail"), {}).response.status == 502
        log.wait_for("items: giving up on request 2")
        assert mode.handle(get(), {"id": 7}).response.status == 201
    finally:
        mode.close()


def test_no_process_is_left_behind(tmp_path):
    # A worker that starts a child of its own, which would outlive a worker killed alone.
    handler = write(tmp_path, "spawns.sh", "sleep 300 &\n" + SHELL_WORKER)
    mode = make_mode(tmp_path, {"language": "shell", "handler": handler})
    before = {pid for pid, parent, _ in processes() if parent == os.getpid()}
    assert mode.handle(get(), {"id": 7}).response.status == 201
    worker = mode.worker.pid
    assert [pid for pid, _, group in processes() if group == worker and pid != worker]
    mode.reset()  # stops the worker; the next request starts another
    wait_for_group_to_end(worker)
    assert mode.handle(get(), {"id": 7}).response.status == 201
    second = mode.worker.pid
    assert second != worker
    mode.close()
    wait_for_group_to_end(second)
    after = {pid for pid, parent, _ in processes() if parent == os.getpid()}
    assert after <= before


# --- configuration ------------------------------------------------------------------------


def test_engine_runs_handlers_relative_to_backworks_yaml(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "handlers").mkdir(parents=True)
    write(project / "handlers", "hello.py", "def handle(r):\n    return {'body': r['params']}\n")
    write(project / "handlers", "echo.js", NODE_ECHO)
    write(
        project,
        "backworks.yaml",
        """
        endpoints:
          hello:
            path: /hello/{id}
            mode: runtime
            params: {id: {type: integer}}
            runtime: {handler: handlers/hello.py}
          echo:
            path: /echo
            methods: [POST]
            mode: runtime
            runtime: {language: node, handler: handlers/echo.js}
          inline:
            path: /inline
            mode: runtime
            runtime:
              language: javascript
              handler: "function handler(req) { return { status: 200, body: 'hi ' + req.path }; }"
        """,
    )
    monkeypatch.chdir(tmp_path)
    engine = Engine.build(load_config(Path("project/backworks.yaml")))
    try:
        assert body(engine.handle(get("/hello/5"))) == {"id": 5}
        echoed = engine.handle(Request("POST", "/echo", (), JSON_HEADERS, b"[1]"))
        assert body(echoed)["seen"]["body"] == [1]
        inline = engine.handle(get("/inline")).response
        assert (inline.body, inline.content_type) == (b"hi /inline", "text/plain; charset=utf-8")
        assert {e["name"]: e["mode"] for e in engine.endpoints()} == {
            "hello": "runtime",
            "echo": "runtime",
            "inline": "runtime",
        }
    finally:
        for served in engine._served.values():
            served.mode.close()


@pytest.mark.parametrize(
    ("runtime", "message"),
    [
        (None, "has no `runtime:` block"),
        ({"handler": "missing.py"}, "there is no file"),
        ({"language": "cobol", "handler": "x.cob"}, "'cobol', which backworks does not run"),
        ({"handler": "handler"}, "language is missing"),
        ({"language": "node"}, "handler is missing"),
        ({"handler": "ok.py", "timeout_ms": 0}, "timeout_ms is 0"),
        ({"handler": "ok.py", "env": {"A": [1]}}, "env must map"),
        ({"command": []}, "command must be the worker's command line"),
        ({"command": ["no-such-program-here"]}, "needs `no-such-program-here`"),
        ({"command": ["./missing-binary"]}, "there is no such file"),
    ],
)
def test_unusable_runtime_blocks_are_config_errors(tmp_path, runtime, message):
    write(tmp_path, "ok.py", "def handle(request):\n    return {}\n")
    with pytest.raises(ConfigError) as caught:
        make_mode(tmp_path, runtime)
    assert message in caught.value.message
    assert caught.value.hint


def test_the_mode_keeps_handlers_and_workers_inside_the_project_folder(tmp_path):
    """The same rule as loading (see tests/config/test_containment.py), for a mode built
    without load_config: a path out of the project folder is refused unless allowed."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    write(outside, "evil.py", "def handle(request):\n    return {'body': 'outside'}\n")
    write(outside, "worker", "#!/bin/sh\n")
    (project / "link.py").symlink_to(outside / "evil.py")
    for runtime, key in [
        ({"handler": "../outside/evil.py"}, "runtime.handler"),
        ({"handler": str(outside / "evil.py")}, "runtime.handler"),
        ({"handler": "link.py"}, "runtime.handler"),
        ({"language": "node", "handler": "../outside/w.js"}, "runtime.handler"),
        ({"command": ["../outside/worker"]}, "runtime.command"),
    ]:
        with pytest.raises(ConfigError) as caught:
            make_mode(project, runtime)
        assert f"endpoints.items.{key} is " in caught.value.message
        assert "outside the project folder" in caught.value.message
        assert "allow_outside_project: true" in caught.value.hint
    mode = make_mode(project, {"handler": "../outside/evil.py", "allow_outside_project": True})
    try:
        assert mode.settings.handler == project / "../outside/evil.py"
        assert mode.handle(get(), {"id": 7}).response.body == b"outside"
    finally:
        mode.close()


# --- requests and answers -----------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(value=JSON_VALUES)
def test_json_bodies_reach_the_handler_as_values_and_come_back(value):
    raw = json.dumps(value).encode()
    request = Request("POST", "/x", (), JSON_HEADERS, raw)
    message = request_message(request, {}, "x")
    assert message["body"] == value
    if value is not None and not isinstance(value, str):
        response = build_response({"body": value})
        assert json.loads(response.body) == value
        assert response.content_type == "application/json"


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=1))
def test_binary_bodies_travel_as_base64(data):
    request = Request("POST", "/x", (), (("Content-Type", "application/octet-stream"),), data)
    message = request_message(request, {}, "x")
    assert "body" not in message
    assert base64.b64decode(message["body_base64"]) == data
    assert build_response({"body_base64": message["body_base64"]}).body == data


def test_text_that_is_not_utf8_is_binary():
    request = Request("POST", "/x", (), (("Content-Type", "text/plain"),), b"\xff\xfe")
    assert request_message(request, {}, "x")["body_base64"] == "//4="
