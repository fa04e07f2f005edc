"""`backworks capture` for real: mitmproxy, the sample API as upstream, real clients."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import resource
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading

import httpx
import pytest

from backworks_cli.demo.sample_api import DEMO_PASSWORD, create_app
from backworks_cli.record.store import Store
from tests.conftest import (
    dead_port,
    listen_for_events,
    make_tls,
    on_a_fixed_port,
    ports_in,
    start_capture,
    wait_until,
)


def recorded(store_path):
    with Store.open(store_path) as store:
        return list(store.query())


def refuses(port: int) -> bool:
    """Whether 127.0.0.1:port refuses a connection (nothing listens there)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def no_traceback(text: str) -> None:
    assert "Traceback" not in text, text


def test_reverse_mode_records_every_exchange(sample_api, capture):
    cap = capture("--upstream", sample_api, "--session", "shop")
    with httpx.Client(base_url=cap.url) as client:
        assert client.get("/api/users/1").status_code == 200
        assert client.get("/api/users", params={"page": 2, "per_page": 5}).status_code == 200
        products = client.get("/api/products", headers={"Accept-Encoding": "gzip"})
        assert products.status_code == 200
        order = client.post(
            "/api/orders", json={"user_id": 1, "items": [{"product_id": 1, "quantity": 2}]}
        )
        assert order.status_code == 201
        assert client.get("/api/users/99999").status_code == 404
        assert client.get("/api/reports/daily").status_code == 500
        avatar = client.get("/api/avatar/3.png")
    code, err = cap.stop()
    assert code == 0, err
    no_traceback(err)
    assert "Recorded 7 exchange(s)" in err
    assert "GET   /api/users/1" in err or "/api/users/1" in err

    rows = recorded(cap.store)
    assert [(r.request.method, r.request.path, r.response.status) for r in rows] == [
        ("GET", "/api/users/1", 200),
        ("GET", "/api/users", 200),
        ("GET", "/api/products", 200),
        ("POST", "/api/orders", 201),
        ("GET", "/api/users/99999", 404),
        ("GET", "/api/reports/daily", 500),
        ("GET", "/api/avatar/3.png", 200),
    ]
    assert all(r.session == "shop" and r.duration_ms is not None for r in rows)
    assert rows[1].request.query == (("page", "2"), ("per_page", "5"))
    # gzip on the wire, decoded in the store with the encoding noted
    assert rows[2].response.encoding == "gzip"
    assert rows[2].response.json() == products.json()
    assert rows[3].request.json()["user_id"] == 1
    assert rows[3].response.json() == order.json()
    # binary bodies are kept byte for byte
    assert rows[6].response.body == avatar.content
    assert rows[6].response.body.startswith(b"\x89PNG")


def test_curl_through_capture(sample_api, capture):
    cap = capture("--upstream", sample_api)
    out = subprocess.run(
        ["curl", "-s", "--compressed", f"{cap.url}/api/products/2"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cap.stop()
    (row,) = recorded(cap.store)
    assert row.response.json() == json.loads(out)


def test_secrets_are_redacted_before_they_are_written(sample_api, capture):
    cap = capture("--upstream", sample_api)
    with httpx.Client(base_url=cap.url) as client:
        username = create_app().users[0]["username"]
        login = client.post("/api/login", json={"username": username, "password": DEMO_PASSWORD})
        token = login.json()["access_token"]
        me = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        client.get("/api/users/1", params={"api_key": "k-123456789"})
    cap.stop()
    raw = cap.store.read_bytes() + b"".join(
        p.read_bytes() for p in cap.store.parent.glob("backworks.db*")
    )
    for secret in (DEMO_PASSWORD.encode(), token.encode(), b"k-123456789"):
        assert secret not in raw
    rows = recorded(cap.store)
    assert "redacted:" in rows[0].request.text
    assert rows[1].request.header("authorization").startswith("Bearer redacted:")
    # the same token in the login response and in the next request gets the same placeholder
    placeholder = rows[1].request.header("authorization").split(" ", 1)[1]
    assert placeholder in rows[0].response.text


def test_no_redact_is_explicit(sample_api, capture):
    cap = capture("--upstream", sample_api, "--no-redact")
    httpx.post(f"{cap.url}/api/login", json={"username": "ada", "password": "plain-pw"})
    _code, err = cap.stop()
    assert "redaction OFF" in err
    (row,) = recorded(cap.store)
    assert "plain-pw" in row.request.text


def test_include_and_exclude(sample_api, capture):
    cap = capture("--upstream", sample_api, "--include", "/api/users*", "--exclude", "/api/users/2")
    with httpx.Client(base_url=cap.url) as client:
        for path in ("/api/users/1", "/api/users/2", "/api/products", "/api/users"):
            assert client.get(path).status_code == 200
    _code, err = cap.stop()
    assert "2 not recorded" in err
    assert [r.request.path for r in recorded(cap.store)] == ["/api/users/1", "/api/users"]


def test_unreachable_upstream_gives_502_and_is_recorded(tmp_path, capture):
    dead = dead_port()
    cap = capture("--upstream", f"http://127.0.0.1:{dead}")
    for _ in range(2):
        response = httpx.get(f"{cap.url}/api/users/1")
        assert response.status_code == 502
        assert "Connect call failed" in response.text or "refused" in response.text.lower()
    assert cap.proc.poll() is None, "capture goes on after an upstream failure"
    code, err = cap.stop()
    assert code == 0
    assert "2 with errors" in err
    rows = recorded(cap.store)
    assert len(rows) == 2
    assert all(r.response is None and r.error for r in rows)


@pytest.mark.parametrize("blocked", ["--listen", "--admin"])
def test_port_in_use(tmp_path, sample_api, blocked):
    """Either port in use: a clear error, exit 5, before anything is started or written."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        ports = {"--listen": 0, "--admin": 0, blocked: blocker.getsockname()[1]}
        result = subprocess.run(
            [sys.executable, "-m", "backworks_cli", "capture", "--upstream", sample_api]
            + ["--listen", f"127.0.0.1:{ports['--listen']}", "--store", str(tmp_path / "b.db")]
            + ["--admin", f"127.0.0.1:{ports['--admin']}"],
            capture_output=True,
            text=True,
            env={**os.environ, "BACKWORKS_HOME": str(tmp_path / "home")},
        )
    assert result.returncode == 5
    assert "already in use" in result.stderr and f"{blocked} HOST:PORT" in result.stderr
    no_traceback(result.stderr)
    assert not (tmp_path / "b.db").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--upstream", "ftp://example.com"], "not an http:// or https:// URL"),
        (
            ["--upstream", "http://127.0.0.1:1", "--listen", "localhost:99999"],
            "port from 0 (any free one) to 65535",
        ),
        ([], "no --upstream"),
    ],
)
def test_bad_arguments(tmp_path, args, message):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backworks_cli",
            "capture",
            "--store",
            str(tmp_path / "b.db"),
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "BACKWORKS_HOME": str(tmp_path / "home")},
    )
    assert result.returncode != 0
    assert message in result.stderr
    no_traceback(result.stderr)


def test_upstream_from_backworks_yaml(tmp_path, sample_api):
    (tmp_path / "backworks.yaml").write_text(
        f"name: shop\nupstream: {sample_api}\nrecordings:\n  session: from-yaml\n"
    )
    cap = start_capture(tmp_path)
    try:
        assert httpx.get(f"{cap.url}/api/health").status_code == 200
    finally:
        cap.stop()
    (row,) = recorded(cap.store)
    assert row.session == "from-yaml"


def test_malformed_http_gets_400_and_capture_goes_on(sample_api, capture):
    cap = capture("--upstream", sample_api)
    with socket.create_connection(("127.0.0.1", cap.port)) as raw:
        raw.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        answer = raw.recv(4096)
    assert b"400" in answer.split(b"\r\n", 1)[0]
    assert httpx.get(f"{cap.url}/api/health").status_code == 200
    cap.stop()
    assert [r.request.path for r in recorded(cap.store)] == ["/api/health"]


async def big_echo_app(scope, receive, send):
    """Reads the whole request body and answers with 20 MB of JSON."""
    if scope["type"] != "http":
        return
    size = 0
    more = True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = json.dumps({"received": size, "blob": "y" * 20_000_000}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def test_large_bodies_are_streamed_and_recorded_whole(capture):
    from backworks_cli.demo.sample_api import serve_sample_api

    upload = json.dumps({"note": "x" * 20_000_000}).encode()
    with serve_sample_api(app=big_echo_app) as url:
        cap = capture("--upstream", url)
        response = httpx.post(f"{cap.url}/upload", content=upload, timeout=60)
        assert response.json()["received"] == len(upload)
        cap.stop()
    (row,) = recorded(cap.store)
    assert row.request.body == upload
    assert row.response.body == response.content
    assert row.error is None


def test_server_sent_events_are_recorded(sample_api, capture):
    cap = capture("--upstream", sample_api)
    with httpx.stream("GET", f"{cap.url}/api/events") as response:
        received = response.read()
    cap.stop()
    (row,) = recorded(cap.store)
    assert row.kind == "sse"
    assert row.response.body == received
    assert len(row.messages) >= 2
    assert all(m.direction == "server" for m in row.messages)


def test_websocket_messages_are_recorded(sample_api, capture):
    from websockets.sync.client import connect

    cap = capture("--upstream", sample_api)
    with connect(f"ws://127.0.0.1:{cap.port}/api/ws") as ws:
        ws.send("hello")
        assert json.loads(ws.recv()) == {"echo": "hello"}
        ws.send(b"\x00\x01binary")
        assert ws.recv() == b"\x00\x01binary"
    # The exchange is written once mitmproxy has seen the close.
    wait_until(lambda: recorded(cap.store), "the WebSocket exchange in the store")
    cap.stop()
    (row,) = recorded(cap.store)
    assert row.kind == "websocket"
    assert row.response.status == 101
    texts = [(m.direction, m.is_text, m.content) for m in row.messages]
    assert ("client", True, b"hello") in texts
    assert ("client", False, b"\x00\x01binary") in texts
    assert ("server", False, b"\x00\x01binary") in texts


def test_forward_mode_intercepts_https(tmp_path, capture):
    from backworks_cli.demo.sample_api import serve_sample_api

    tls = make_tls(tmp_path)
    with serve_sample_api(ssl_certfile=str(tls.cert_pem), ssl_keyfile=str(tls.key_pem)) as url:
        port = url.rsplit(":", 1)[1]
        cap = capture("--forward", "--upstream-ca", str(tls.ca_pem))
        mitm_ca = cap.home / "certs" / "mitmproxy-ca-cert.pem"
        trust = ssl.create_default_context(cafile=str(mitm_ca))
        with httpx.Client(proxy=cap.url, verify=trust) as client:
            response = client.get(f"https://localhost:{port}/api/users/3")
        assert response.status_code == 200
        cap.stop()
    (row,) = recorded(cap.store)
    assert (row.request.scheme, row.request.host, row.request.path) == (
        "https",
        "localhost",
        "/api/users/3",
    )
    assert row.response.json() == response.json()


def test_reverse_mode_to_https_upstream_needs_its_ca(tmp_path, capture):
    from backworks_cli.demo.sample_api import serve_sample_api

    tls = make_tls(tmp_path)
    with serve_sample_api(ssl_certfile=str(tls.cert_pem), ssl_keyfile=str(tls.key_pem)) as url:
        https_url = url.replace("127.0.0.1", "localhost")
        untrusted = capture("--upstream", https_url)
        assert httpx.get(f"{untrusted.url}/api/health").status_code == 502
        untrusted.stop()
        trusted = capture("--upstream", https_url, "--upstream-ca", str(tls.ca_pem))
        assert httpx.get(f"{trusted.url}/api/health").status_code == 200
        trusted.stop()
        # --insecure skips the check altogether: the same untrusted upstream answers.
        unchecked = capture("--upstream", https_url, "--insecure")
        assert httpx.get(f"{unchecked.url}/api/health").status_code == 200
        unchecked.stop()
    rows = recorded(trusted.store)
    assert [r.response and r.response.status for r in rows] == [None, 200, 200]
    assert "certificate" in rows[0].error.lower()


def test_certs_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "backworks_cli", "certs"],
        capture_output=True,
        text=True,
        env={**os.environ, "BACKWORKS_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    pem = tmp_path / "certs" / "mitmproxy-ca-cert.pem"
    assert str(pem) in result.stdout
    assert pem.read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_locked_store_stops_capture_and_holds_back_the_response(sample_api, capture, tmp_path):
    cap = capture("--upstream", sample_api)
    assert httpx.get(f"{cap.url}/api/users/1").status_code == 200
    locker = sqlite3.connect(cap.store, timeout=1, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{cap.url}/api/users/2", timeout=30)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    code, err = cap.wait()  # capture stops by itself
    assert code == 4, err
    assert "Capture stopped" in err and "/api/users/2" in err
    no_traceback(err)
    assert [r.request.path for r in recorded(cap.store)] == ["/api/users/1"]


def _limit_file_size():
    # A tiny file-size limit makes every write past it fail as a full disk would, even as root.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


def test_full_disk_stops_capture_without_losing_what_was_recorded(sample_api, tmp_path):
    cap = start_capture(tmp_path, "--upstream", sample_api, preexec_fn=_limit_file_size)
    answered = 0
    with httpx.Client(base_url=cap.url, timeout=30) as client:
        for n in range(2000):
            try:
                response = client.get("/api/users", params={"page": 1, "n": n})
            except httpx.HTTPError:
                break
            assert response.status_code == 200
            answered += 1
    code, err = cap.wait()
    assert code == 4, err
    assert "Capture stopped" in err
    no_traceback(err)
    assert 0 < answered < 2000
    # Every response a client received is in the store.
    assert len(recorded(cap.store)) == answered


def test_sigkill_under_load_loses_no_answered_exchange(sample_api, capture):
    cap = capture("--upstream", sample_api)
    answered: list[str] = []
    stop = threading.Event()

    def client(worker: int) -> None:
        with httpx.Client(base_url=cap.url, timeout=10) as http:
            n = 0
            while not stop.is_set():
                tag = f"{worker}-{n}"
                try:
                    response = http.get("/api/users/1", params={"tag": tag})
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    answered.append(tag)
                n += 1

    threads = [threading.Thread(target=client, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    wait_until(lambda: len(answered) >= 100, "100 answered exchanges", timeout=60)
    cap.proc.send_signal(signal.SIGKILL)
    cap.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(answered) >= 50
    stored = {dict(r.request.query).get("tag") for r in recorded(cap.store)}
    missing = set(answered) - stored
    assert not missing, f"{len(missing)} answered exchanges missing from the store"


def test_graceful_stop_finishes_in_flight_exchanges(tmp_path, capture):
    """A slow upstream response that is in flight at SIGTERM is still delivered and recorded."""

    arrived = threading.Event()

    async def slow_app(scope, receive, send):
        if scope["type"] != "http":
            return
        arrived.set()
        await asyncio.sleep(1.5)
        body = b'{"slow": true}'
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    from backworks_cli.demo.sample_api import serve_sample_api

    with serve_sample_api(app=slow_app) as url:
        cap = capture("--upstream", url)
        result = {}

        def call():
            result["response"] = httpx.get(f"{cap.url}/slow", timeout=30)

        worker = threading.Thread(target=call)
        worker.start()
        assert arrived.wait(30), "the request reached the upstream"
        cap.proc.send_signal(signal.SIGTERM)
        # It stops accepting new connections while the exchange is still in flight.
        wait_until(lambda: refuses(cap.port), "capture to close its listening port")
        assert worker.is_alive()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{cap.url}/late", timeout=2)
        worker.join()
        code, err = cap.wait()  # the SIGTERM above stops it once the exchange is done
    assert result["response"].json() == {"slow": True}
    assert code == 0, err
    assert [r.request.path for r in recorded(cap.store)] == ["/slow"]


def test_gzip_request_body_is_decoded(sample_api, capture):
    cap = capture("--upstream", sample_api)
    payload = json.dumps({"user_id": 2, "items": [{"product_id": 3, "quantity": 1}]}).encode()
    httpx.post(
        f"{cap.url}/api/orders",
        content=gzip.compress(payload),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    cap.stop()
    (row,) = recorded(cap.store)
    assert row.request.encoding == "gzip"
    assert row.request.body == payload


def test_admin_api_watches_a_capture(sample_api, capture):
    cap = capture("--upstream", sample_api, "--admin", "127.0.0.1:0")
    admin_url = f"http://127.0.0.1:{cap.admin_port}/__backworks"
    assert cap.admin_port not in (0, cap.port)
    assert f"Admin API: {admin_url}/" in cap.ready_line
    health = httpx.get(f"{admin_url}/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"

    events, listener = listen_for_events(f"{admin_url}/events", 2)
    with httpx.Client(base_url=cap.url) as client:
        assert client.get("/api/users/1").status_code == 200
        assert client.get("/api/users/99999").status_code == 404
    listener.join(20)
    assert [(e["path"], e["status"], e["how"]) for e in events] == [
        ("/api/users/1", 200, "recorded"),
        ("/api/users/99999", 404, "recorded"),
    ]

    listed = httpx.get(f"{admin_url}/requests", timeout=10).json()["requests"]
    assert [(r["method"], r["path"], r["status"], r["how"]) for r in listed] == [
        ("GET", "/api/users/1", 200, "recorded"),
        ("GET", "/api/users/99999", 404, "recorded"),
    ]
    assert all(r["latency_ms"] >= 0 for r in listed)
    metrics = httpx.get(f"{admin_url}/metrics", timeout=10).text
    assert 'method="GET",status="200",how="recorded"} 1' in metrics
    assert 'method="GET",status="404",how="recorded"} 1' in metrics
    code, err = cap.stop()
    assert code == 0, err
    assert "Recorded 2 exchange(s)" in err


ENDPOINTS = """\
endpoints:
  get_users_id:
    path: /api/users/{id}
    methods: [GET]
    responses:
      "200":
        content_type: application/json
        schema: {type: object, required: [id, nickname]}
"""


def test_a_captures_admin_api_names_endpoints_and_finds_drift(sample_api, tmp_path, capture):
    """backworks.yaml's endpoints name the recorded exchanges, and an answer that no longer
    fits the learned schema (the upstream has no `nickname`) is flagged as drift."""
    (tmp_path / "backworks.yaml").write_text(ENDPOINTS)
    cap = capture("--upstream", sample_api, "--admin", "127.0.0.1:0")
    admin_url = f"http://127.0.0.1:{cap.admin_port}/__backworks"
    with httpx.Client(base_url=cap.url) as client:
        assert client.get("/api/users/1").status_code == 200
        assert client.get("/api/products/3").status_code == 200
    listed = httpx.get(f"{admin_url}/requests", timeout=10).json()["requests"]
    assert [(r["path"], r["endpoint"], r["mode"]) for r in listed] == [
        ("/api/users/1", "get_users_id", "capture"),
        ("/api/products/3", None, "capture"),
    ]
    drift = listed[0]["detail"]["drift"]
    assert any("'nickname' is a required property" in v["message"] for v in drift)
    assert "detail" not in listed[1]
    rows = httpx.get(f"{admin_url}/endpoints", timeout=10).json()["endpoints"]
    named = {row["name"]: row for row in rows}
    assert named["get_users_id"]["path"] == "/api/users/{id}"
    assert named["get_users_id"]["mode"] == "capture"
    assert named["get_users_id"]["hits"] == 1 and named[None]["hits"] == 1
    assert named["get_users_id"]["drift"] == 1
    code, err = cap.stop()
    assert code == 0, err
    assert "Recorded 2 exchange(s)" in err


def test_admin_is_off_unless_asked_and_on_means_the_next_port(sample_api, tmp_path, capture):
    def start(port: int):
        return capture("--upstream", sample_api, "--listen", f"127.0.0.1:{port}", "--admin", "on")

    cap = on_a_fixed_port(start)
    assert f"Admin API: http://127.0.0.1:{cap.port + 1}/__backworks/" in cap.ready_line
    assert httpx.get(f"http://127.0.0.1:{cap.port + 1}/__backworks/health").status_code == 200
    cap.stop()

    # On port 0 the admin API takes any free port too, and the ready line names both.
    cap = capture("--upstream", sample_api, "--admin", "on")
    assert cap.admin_port not in (0, cap.port)
    assert ports_in(cap.ready_line)[0] == cap.port
    assert f"Admin API: http://127.0.0.1:{cap.admin_port}/__backworks/" in cap.ready_line
    assert httpx.get(f"{cap.url}/api/health").status_code == 200
    assert httpx.get(f"http://127.0.0.1:{cap.admin_port}/__backworks/health").status_code == 200
    cap.stop()

    cap = start_capture(tmp_path, "--upstream", sample_api, default_admin=True)
    assert "Admin API" not in "".join(cap.lines)
    with httpx.Client(base_url=cap.url) as client:
        assert client.get("/api/users/1").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{cap.port + 1}/__backworks/health", timeout=5)
    code, err = cap.stop()
    assert code == 0, err


# --- the Recorder in process: exchanges of one turn of the event loop share a commit ----------


def _flows(count: int) -> list:
    from mitmproxy.test import tflow, tutils

    return [
        tflow.tflow(req=tutils.treq(path=f"/items/{n}".encode()), resp=True) for n in range(count)
    ]


def _rows(path) -> int:
    with sqlite3.connect(path) as other:
        return other.execute("SELECT count(*) FROM exchanges").fetchone()[0]


def test_flows_of_one_turn_share_one_commit_and_each_waits_for_it(tmp_path):
    from backworks_cli.config.model import RedactConfig
    from backworks_cli.record.capture import open_recorder

    store = tmp_path / "b.db"
    recorder = open_recorder(store, RedactConfig(), session="s")
    commits = []
    recorder.store._conn.set_trace_callback(
        lambda sql: commits.append(sql) if sql == "COMMIT" else None
    )

    async def record() -> None:
        flows = _flows(5)
        waiters = []
        for flow in flows:
            recorder.requestheaders(flow)
            waiters.append(recorder.response(flow))
        # Written, not yet kept: no response may be released before its commit.
        assert all(not waiter.done() for waiter in waiters)
        assert _rows(store) == 0 and recorder.in_flight == 5
        await asyncio.wait_for(asyncio.gather(*waiters), 5)
        assert _rows(store) == 5 and recorder.in_flight == 0
        assert all(flow.error is None for flow in flows)

    asyncio.run(record())
    assert commits == ["COMMIT"]
    assert sum(recorder.summary.recorded.values()) == 5
    # Outside an event loop each exchange is committed as it is recorded.
    (flow,) = _flows(1)
    recorder.requestheaders(flow)
    assert recorder.response(flow) is None
    assert _rows(store) == 6 and commits == ["COMMIT", "COMMIT"]
    recorder.close()


def test_done_commits_what_is_pending(tmp_path):
    from backworks_cli.config.model import RedactConfig
    from backworks_cli.record.capture import open_recorder

    store = tmp_path / "b.db"
    recorder = open_recorder(store, RedactConfig(), session="s")

    async def record() -> asyncio.Future:
        (flow,) = _flows(1)
        recorder.requestheaders(flow)
        waiter = recorder.response(flow)
        recorder.done()  # mitmproxy's last hook, as it shuts down
        return waiter

    waiter = asyncio.run(record())
    assert waiter.done() and _rows(store) == 1 and recorder.in_flight == 0
    recorder.close()


def test_a_failed_write_fails_every_flow_of_its_turn_and_keeps_none(tmp_path):
    from backworks_cli.config.model import RedactConfig
    from backworks_cli.record.capture import open_recorder

    store = tmp_path / "b.db"
    recorder = open_recorder(store, RedactConfig(), session="s")
    stopped = []
    recorder.on_fatal = stopped.append

    async def record() -> list:
        first, second = _flows(2)
        recorder.requestheaders(first)
        recorder.requestheaders(second)
        waiters = [recorder.response(first)]
        recorder.store._conn.execute("PRAGMA query_only = 1")  # the next write fails
        waiters.append(recorder.response(second))
        await asyncio.wait_for(asyncio.gather(*waiters), 5)
        return [first, second]

    flows = asyncio.run(record())
    recorder.store._conn.execute("PRAGMA query_only = 0")
    # The first exchange was written in the same transaction: it is not kept either, and
    # neither flow is answered as if it had been.
    assert _rows(store) == 0
    assert all(flow.error is not None for flow in flows)
    assert recorder.in_flight == 0 and sum(recorder.summary.recorded.values()) == 0
    assert len(stopped) == 1 and "/items/0" in stopped[0].message
    (late,) = _flows(1)
    recorder.requestheaders(late)  # after a failure, capture takes nothing more
    assert late.error is not None
    recorder.close()
