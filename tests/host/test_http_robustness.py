"""Hostile HTTP against real hosts on loopback: a seeded raw-socket fuzz of `backworks mock`,
`serve` and `capture` (capture in front of an h11 upstream of the test's own), and a test for
each gap it found: request lines that are not UTF-8, numbers too long to convert, chunked
bodies with trailers, the shared body limit `server.max_body`.

What counts as a failure of the fuzz: a 5xx, a connection neither answered nor closed within
hostile.DEADLINE, a host that stops answering or logs a traceback. The mock and serve answer
every request from their own code, so no 5xx is right for them. Capture forwards: a 502 would
be right only as mitmproxy's gateway page saying the upstream failed (it closed or sent what
is no HTTP); the upstream here answers everything it is sent, a 400 for what it refuses, so
none is expected, but such a 502 is not counted as the proxy's own failure.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from backworks_cli.record.store import Store
from tests.conftest import ADMIN_TOKEN, ports_in, start_backworks
from tests.host.hostile import (
    DIGITS,
    Raw,
    Upstream,
    cases,
    fire,
    request,
    send,
    write_project,
)

FUZZ_CASES = 300
SEED = 13_06  # issue 13, part 6
MB = 1024 * 1024
_BROKEN = ("Traceback", "mitmproxy has crashed", "Addon error", "Error: the engine failed")


class Host:
    """A running host of the module and the port its traffic goes to."""

    def __init__(self, name: str, running, port: int, **extra):
        self.name, self.running, self.port = name, running, port
        self.__dict__.update(extra)

    def stop(self) -> str:
        return self.running.stop(signal.SIGINT)[1]


def _start(name: str, directory: Path, env: dict | None = None, **extra) -> Host:
    """Start `name` on ports the system chooses (port 0); its ready line names the one bound."""
    args, ready = {
        "mock": (["mock", "--port", "0"], "Mock serving"),
        "serve": (
            ["serve", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
            "Serving",
        ),
    }.get(name, (None, None))
    if name == "capture":
        store = directory / "captured.db"
        args = ["capture", "--listen", "127.0.0.1:0", "--store", str(store)]
        args += ["--upstream", extra["upstream"].url]
        ready = "Listening on"
        extra["store"] = store
    running = start_backworks(
        args,
        cwd=directory,
        ready=ready,
        env={"BACKWORKS_ADMIN_TOKEN": ADMIN_TOKEN, **(env or {})},
        stop_signal=signal.SIGINT,
    )
    return Host(name, running, ports_in(running.ready_line)[0], **extra)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("hostile")
    write_project(directory)
    return directory


@pytest.fixture(scope="module")
def upstream():
    with Upstream() as server:
        yield server


@pytest.fixture(scope="module")
def hosts(project, upstream):
    """mock, serve and capture over the project, started once for the module; each must
    stop cleanly, with nothing broken in what it logged."""
    started: dict[str, Host] = {}
    try:
        started["mock"] = _start("mock", project)
        started["serve"] = _start("serve", project)
        started["capture"] = _start("capture", project, upstream=upstream)
        yield started
    finally:
        logs = {name: host.stop() for name, host in started.items()}  # all, then the checks
    for name, err in logs.items():
        broken = [line for line in err.splitlines() if any(m in line for m in _BROKEN)]
        assert not broken, f"{name} logged:\n" + "\n".join(broken[:20])


def _gateway_page(reply) -> bool:
    """mitmproxy's own 502 for an upstream that failed, as capture relays it."""
    return (
        reply.status == 502
        and (reply.header(b"server") or b"").startswith(b"mitmproxy")
        and b"502 Bad Gateway" in reply.body
    )


# --- the fuzz --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mock", "serve", "capture"])
def test_malformed_requests_get_no_5xx_and_no_hang(hosts, name):
    host = hosts[name]
    failures = []
    for label, raw in cases(SEED, FUZZ_CASES):
        reply = fire(host.port, raw)
        if reply.hung:
            failures.append(f"{label}: no answer and no close; got {reply.head[:80]!r}")
        elif (reply.status or 0) >= 500 and not (name == "capture" and _gateway_page(reply)):
            failures.append(f"{label}: {reply.status} {reply.body[:200]!r}")
    assert not failures, f"{len(failures)} of {FUZZ_CASES}:\n" + "\n".join(failures[:20])
    after = send(host.port, request("GET", "/api/things/1").wire())
    assert after.status == 200, after
    assert host.running.proc.poll() is None


# --- what the fuzz found, one at a time ------------------------------------------------------


@pytest.mark.parametrize("name", ["mock", "serve"])
@pytest.mark.parametrize(
    ("method", "target", "reason"),
    [
        (b"GET", b"/api/widgets/\xff\xfe", ("not UTF-8", "percent-encoded")),
        (b"GET", b"/api/notes?q=caf\xe9", ("not UTF-8", "percent-encoded")),
        (b"G\xe9T", b"/api/widgets/1", ("not an HTTP token",)),
    ],
)
def test_a_request_line_that_is_not_utf8_is_a_400_with_the_reason(
    hosts, name, method, target, reason
):
    raw = Raw(method, target, headers=[(b"Host", b"api.test"), (b"Connection", b"close")])
    reply = fire(hosts[name].port, raw)
    assert reply.status == 400, reply
    found = reply.json()
    assert found["error"] == "bad request"
    assert any(part in found["reason"] for part in reason), found
    assert "RFC 3986" in found["hint"]


@pytest.mark.parametrize("name", ["mock", "serve"])
def test_percent_encoded_bytes_that_are_not_utf8_are_answered_as_a_path(hosts, name):
    # A valid URI whatever it encodes, so a recording of it could replay; here none matches.
    reply = send(hosts[name].port, request("GET", "/api/widgets/%FF%FE").wire())
    assert reply.status == 404 and reply.json()["error"] == "no endpoint matches"
    reply = send(hosts[name].port, request("GET", "/api/notes/%FF").wire())
    assert reply.status == 404, reply


@pytest.mark.parametrize("name", ["mock", "serve"])
@pytest.mark.parametrize(
    ("method", "target", "body", "expected"),
    [
        ("GET", "/api/widgets/{digits}", None, "4xx"),  # typed integer: no route matches
        ("GET", "/api/notes/{digits}", None, "4xx"),  # a database id past what converts
        ("GET", "/api/users/{digits}", None, "4xx"),
        ("GET", "/api/notes?id_lt={digits}", None, "4xx"),
        ("POST", "/api/users/{digits}/notes", {"text": "x"}, "4xx"),
        ("POST", "/api/notes", "digits", "4xx"),
        ("POST", "/api/notes", "1e999", "4xx"),
        ("POST", "/api/users", "-1e999", "4xx"),
        # Mock mode does not read these unless told to be strict: a normal answer.
        ("GET", "/api/widgets/1?page={digits}", None, "2xx"),
        ("POST", "/api/widgets", "digits", "2xx"),
    ],
)
def test_absurd_numbers_are_a_4xx_or_a_normal_answer(hosts, name, method, target, body, expected):
    raw = request(method, target.format(digits=DIGITS.decode()))
    if isinstance(body, str):  # a JSON number written out, not made by json.dumps
        number = DIGITS if body == "digits" else body.encode()
        raw = raw_json(raw, b'{"id": 1, "name": "x", "text": %s}' % number)
    elif body is not None:
        raw = raw_json(raw, json.dumps(body).encode())
    reply = fire(hosts[name].port, raw)
    assert reply.status is not None and str(reply.status)[0] == expected[0], reply


def raw_json(raw: Raw, body: bytes) -> Raw:
    headers = [(n, v) for n, v in raw.headers if n.lower() != b"content-length"]
    headers += [(b"Content-Type", b"application/json"), (b"Content-Length", b"%d" % len(body))]
    return Raw(raw.method, raw.target, headers=headers, body=body)


def chunked(target: str, body: bytes, trailers: list[tuple[bytes, bytes]]) -> Raw:
    headers = [
        (b"Host", b"api.test"),
        (b"Content-Type", b"application/json"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Connection", b"close"),
    ]
    return Raw(
        b"POST", target.encode(), headers=headers, body=body, chunked=True, trailers=trailers
    )


def test_serve_answers_a_chunked_body_with_trailers(hosts):
    raw = chunked("/api/notes", b'{"text": "with a trailer"}', [(b"X-Checksum", b"abc")])
    reply = fire(hosts["serve"].port, raw)
    assert reply.status == 201, reply
    assert reply.json()["text"] == "with a trailer"


def test_capture_forwards_and_records_trailers_both_ways(hosts, upstream):
    capture = hosts["capture"]
    raw = chunked("/upload", b'{"part": 1}', [(b"X-Checksum", b"abc")])
    reply = fire(capture.port, raw)
    assert reply.status == 200, reply
    assert reply.json()["body"] == len(b'{"part": 1}')
    assert reply.json()["trailers"] == {"x-checksum": "abc"}  # reached the upstream
    answer = send(capture.port, request("GET", "/trailers").wire())
    assert answer.status == 200 and answer.body.endswith(b"0\r\nX-Sum: 42\r\n\r\n"), answer
    with Store.open(capture.store) as store:
        recorded = {e.request.path: e for e in store.query()}
    assert recorded["/upload"].request.body == b'{"part": 1}'
    assert recorded["/trailers"].response.body == b"hello"


def test_serve_refuses_a_body_over_the_default_limit_unread(hosts):
    head = (
        request("POST", "/api/notes")
        .wire()
        .replace(
            b"Connection: close",
            b"Content-Type: application/json\r\nContent-Length: %d" % (50 * MB),
        )
    )
    reply = send(hosts["serve"].port, head + b'{"text": "')  # the rest never comes
    assert reply.status == 413, reply
    found = reply.json()
    assert found["limit_bytes"] == 10 * MB and "`server.max_body`" in found["hint"]
    assert reply.header(b"connection") == b"close"


def test_capture_records_a_body_over_server_max_body(hosts):
    # Capture records the traffic it sees as it is (bodies are kept up to its own 64 MiB cap,
    # the rest noted), so server.max_body, a limit of the hosts that answer, is not applied.
    body = b"x" * (11 * MB)
    reply = fire(hosts["capture"].port, raw_json(request("POST", "/big"), body))
    assert reply.status == 200 and reply.json()["body"] == len(body)
    with Store.open(hosts["capture"].store) as store:
        big = [e for e in store.query() if e.request.path == "/big"]
    assert len(big[0].request.body) == len(body)


@pytest.mark.parametrize("name", ["mock", "serve"])
def test_server_max_body_limits_mock_and_serve_alike(tmp_path, name):
    write_project(tmp_path, max_body=1000)
    host = _start(name, tmp_path)
    try:
        fits = b'{"text": "%s"}' % (b"a" * (1000 - 12))
        assert len(fits) == 1000
        assert fire(host.port, raw_json(request("POST", "/api/notes"), fits)).status == 201
        over = fire(host.port, raw_json(request("POST", "/api/notes"), fits + b" "))
        assert over.status == 413 and over.json()["limit_bytes"] == 1000
        assert "`server.max_body`" in over.json()["hint"]
        long_chunks = chunked("/api/notes", b'{"text": "%s"}' % (b"b" * 1500), [])
        assert fire(host.port, long_chunks).status == 413
        assert send(host.port, request("GET", "/api/things/1").wire()).status == 200
    finally:
        err = host.stop()
    assert "Traceback" not in err
