"""`backworks serve` for real: a mitmproxy subprocess answering each endpoint in its own mode,
proxy endpoints forwarded to real upstreams on loopback, and the admin API on both ports."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.record.store import Store
from tests.conftest import (
    ADMIN_AUTH,
    ADMIN_TOKEN,
    JsonHandler,
    Listening,
    LoopbackServer,
    admin_port_in,
    dead_port,
    listen_for_events,
    on_a_fixed_port,
    ports_in,
    start_backworks,
    wait_until,
)

JSON = (("Content-Type", "application/json"),)


# --- helpers -------------------------------------------------------------------------------


@dataclass(kw_only=True)
class Serving(Listening):
    """A running `backworks serve` and its admin port."""

    admin_port: int

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"


def write_config(directory: Path, config: dict) -> Path:
    path = directory / "backworks.yaml"
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path


def run_cli(directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backworks_cli", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "BACKWORKS_HOME": str(directory / "home")},
    )


@pytest.fixture
def serve(tmp_path):
    """Factory: serve(config dict) -> Serving, both ports chosen by the system and read from
    its ready line; every process started is stopped afterwards."""
    started: list[Serving] = []

    def start(config: dict) -> Serving:
        write_config(tmp_path, config)
        running = start_backworks(
            ["serve", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
            cwd=tmp_path,
            ready="Serving",
            env={"BACKWORKS_ADMIN_TOKEN": ADMIN_TOKEN},
            stop_signal=signal.SIGINT,
        )
        started.append(Serving.bound(running, admin_port=admin_port_in(running.ready_line)))
        return started[-1]

    yield start
    for serving in started:
        _, err = serving.stop()
        assert "Traceback" not in err, err


class Counting(LoopbackServer):
    """An upstream on loopback that counts the requests it answers; /health answers 200."""

    def __init__(self, port: int = 0, name: str = "upstream"):
        counts: Counter = Counter()

        class Handler(JsonHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                if self.path != "/health":
                    counts[self.command] += 1
                self.send_json(
                    {"upstream": name, "path": self.path, "host": self.headers.get("host")}
                )

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.counts = counts
        super().__init__(Handler, port)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def exchange(method: str, path: str, body, status: int = 200) -> Exchange:
    return Exchange(
        Request(method, path, headers=(("Host", "api.example.com"),)),
        Response(status, JSON, json.dumps(body).encode()),
        started_at=time.time(),
        duration_ms=3.0,
    )


def journal(base_url: str) -> list[dict]:
    return httpx.get(f"{base_url}/__backworks/requests").json()["requests"]


# --- a hybrid configuration ----------------------------------------------------------------


@pytest.fixture
def hybrid(tmp_path, sample_api):
    """backworks.yaml with one endpoint in each mode over a store with a few recordings."""
    store_path = tmp_path / "recordings" / "backworks.db"
    store_path.parent.mkdir()
    notes = [{"id": 1, "text": "first"}, {"id": 2, "text": "second"}]
    with Store.open(store_path, create=True) as store:
        store.add(exchange("GET", "/api/things/1", {"replayed": True, "id": 1}))
        store.add(exchange("GET", "/api/notes", notes))
        store.add(exchange("GET", "/api/notes/1", notes[0]))
        store.add(exchange("GET", "/api/notes/2", notes[1]))
    handlers = tmp_path / "handlers"
    handlers.mkdir()
    (handlers / "hello.py").write_text(
        "def handle(request):\n"
        '    name = request["query"].get("name", ["world"])[0]\n'
        '    return {"status": 200, "body": {"hello": name}}\n'
    )
    widget = {
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    }
    return {
        "upstream": sample_api,
        "recordings": {"path": str(store_path)},
        "endpoints": {
            "get_things_id": {"path": "/api/things/{id}", "methods": ["GET"], "mode": "replay"},
            "get_widgets_id": {
                "path": "/api/widgets/{id}",
                "methods": ["GET"],
                "mode": "mock",
                "params": {"id": {"type": "integer"}},
                "responses": {"200": {"schema": widget}},
            },
            "get_users_id": {
                "path": "/api/users/{id}",
                "methods": ["GET"],
                "mode": "proxy",
                "proxy": {"record": True},
            },
            "get_hello": {
                "path": "/api/hello",
                "methods": ["GET"],
                "mode": "runtime",
                "runtime": {"language": "python", "handler": "handlers/hello.py"},
            },
            "notes": {
                "path": "/api/notes",
                "methods": ["GET", "POST"],
                "mode": "database",
                "database": {"rows": 0},
            },
            "notes_id": {"path": "/api/notes/{id}", "methods": ["GET"], "mode": "database"},
        },
    }


def test_each_endpoint_answers_in_its_mode(hybrid, serve, sample_api, tmp_path):
    store_path = Path(hybrid["recordings"]["path"])
    serving = serve(hybrid)
    with httpx.Client(base_url=serving.url) as client:
        replayed = client.get("/api/things/1")
        assert replayed.status_code == 200 and replayed.json() == {"replayed": True, "id": 1}
        generated = client.get("/api/widgets/7")
        assert generated.status_code == 200 and generated.json()["id"] == 7
        user = client.get("/api/users/1")
        assert user.json() == httpx.get(f"{sample_api}/api/users/1").json()
        assert client.get("/api/hello", params={"name": "Ada"}).json() == {"hello": "Ada"}
        assert client.get("/api/notes/2").json() == {"id": 2, "text": "second"}
        created = client.post("/api/notes", json={"text": "third"})
        assert created.status_code == 201 and created.json()["id"] == 3
        unmatched = client.get("/api/products")
        assert unmatched.status_code == 200
        assert unmatched.json() == httpx.get(f"{sample_api}/api/products").json()
        head = client.head("/api/things/1")
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) == len(replayed.content)

    seen = [(r["path"], r["endpoint"], r["mode"], r["how"]) for r in journal(serving.url)]
    assert seen[:7] == [
        ("/api/things/1", "get_things_id", "replay", "replayed"),
        ("/api/widgets/7", "get_widgets_id", "mock", "generated"),
        ("/api/users/1", "get_users_id", "proxy", "proxy"),
        ("/api/hello", "get_hello", "runtime", "handler"),
        ("/api/notes/2", "notes_id", "database", "database"),
        ("/api/notes", "notes", "database", "database"),
        ("/api/products", None, "proxy", "proxy"),
    ]
    # record: true puts the proxied exchange into the store, redacted; the rest are not recorded
    with Store.open(store_path) as store:
        paths = [e.request.path for e in store.query()]
    assert paths.count("/api/users/1") == 1 and "/api/products" not in paths
    code, err = serving.stop()
    assert code == 0, err
    assert "Recorded 1 exchange(s)" in err


def test_the_admin_api_answers_on_both_ports(hybrid, serve):
    serving = serve(hybrid)
    events, listener = listen_for_events(f"{serving.admin_url}/__backworks/events", 1)
    assert httpx.get(f"{serving.url}/api/things/1").status_code == 200
    listener.join(10)
    assert events and events[0]["path"] == "/api/things/1" and events[0]["how"] == "replayed"

    for base in (serving.url, serving.admin_url):
        health = httpx.get(f"{base}/__backworks/health").json()
        assert health["status"] == "ok" and health["endpoints"] == 6
        rows = {
            r["name"]: r for r in httpx.get(f"{base}/__backworks/endpoints").json()["endpoints"]
        }
        assert rows["get_users_id"]["mode"] == "proxy" and rows["get_things_id"]["hits"] == 1
        metrics = httpx.get(f"{base}/__backworks/metrics").text
        assert 'backworks_requests_total{endpoint="get_things_id",method="GET",' in metrics
        verify = httpx.post(
            f"{base}/__backworks/verify", json={"path": "/api/things/*"}, headers=ADMIN_AUTH
        )
        assert verify.json()["count"] == 1
        first = httpx.get(f"{base}/__backworks/exchange", params={"id": 1}).json()
        assert first["request"]["headers"][0] == ["Host", f"127.0.0.1:{serving.port}"]
        assert json.loads(first["response"]["body"]) == {"replayed": True, "id": 1}
    # the event stream itself lives on the admin port
    moved = httpx.get(f"{serving.url}/__backworks/events")
    assert moved.status_code == 307
    assert moved.headers["location"] == f"{serving.admin_url}/__backworks/events"
    sampled = httpx.get(f"{serving.url}/__backworks/events", params={"ordinary": "500"})
    assert sampled.headers["location"] == f"{serving.admin_url}/__backworks/events?ordinary=500"
    assert httpx.get(f"{serving.admin_url}/api/things/1").status_code == 404


def test_without_an_upstream_unmatched_paths_get_the_engines_404(hybrid, serve):
    del hybrid["upstream"]
    hybrid["endpoints"]["get_users_id"]["proxy"] = {"upstream": "http://127.0.0.1:9"}
    serving = serve(hybrid)
    missing = httpx.get(f"{serving.url}/api/nothing/here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "no endpoint matches"
    assert httpx.get(f"{serving.url}/api/things/1").status_code == 200


def test_promoting_through_the_admin_api_sends_an_endpoint_upstream(serve, tmp_path):
    with Counting(name="real") as upstream:
        schema = {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}},
        }
        item = {"path": "/items/{id}", "methods": ["GET"], "responses": {"200": {"schema": schema}}}
        serving = serve({"upstream": upstream.url, "endpoints": {"items": item}})
        url = f"{serving.url}/items/1"
        assert set(httpx.get(url).json()) == {"name"}  # generated by mock
        promote = {"endpoint": "items", "to": "proxy"}
        promoted = httpx.post(
            f"{serving.url}/__backworks/promote", json=promote, headers=ADMIN_AUTH
        ).json()
        assert promoted["reloaded"] is True and promoted["changes"][0]["after"] == "proxy"
        assert httpx.get(url).json()["upstream"] == "real"
        # a broken edit is reported and the previous configuration keeps serving
        (tmp_path / "backworks.yaml").write_text("endpoints: [oops")
        health = f"{serving.admin_url}/__backworks/health"
        wait_until(
            lambda: httpx.get(health).json()["reload_error"] is not None,
            "the broken backworks.yaml to be reported",
            timeout=15,
        )
        assert "backworks.yaml" in httpx.get(health).json()["reload_error"]
        assert httpx.get(url).json()["upstream"] == "real"
        assert upstream.counts["GET"] == 2
    _, err = serving.stop()
    assert "changed but cannot be used" in err


def test_recording_a_proxy_endpoint_is_switched_through_the_admin_api(serve, tmp_path):
    store_path = tmp_path / "switched.db"
    with Counting(name="real") as upstream:
        config = {
            "upstream": upstream.url,
            "recordings": {"path": str(store_path)},
            "endpoints": {
                "items": {"path": "/items/{id}", "methods": ["GET"], "mode": "proxy"},
                "local": {"path": "/local", "methods": ["GET"], "mode": "mock"},
            },
        }
        serving = serve(config)
        record = f"{serving.admin_url}/__backworks/record"
        assert httpx.get(f"{serving.url}/items/1").status_code == 200
        assert not store_path.exists()  # nothing records, so no store is opened

        switched = httpx.post(record, json={"endpoint": "items"}, headers=ADMIN_AUTH)
        assert switched.status_code == 200
        assert switched.json() == {"endpoint": "items", "record": True, "store": str(store_path)}
        assert httpx.get(f"{serving.url}/items/2").status_code == 200
        rows = httpx.get(f"{serving.url}/__backworks/endpoints").json()["endpoints"]
        assert {r["name"]: r.get("record") for r in rows} == {"items": True, "local": None}

        # the switch outlives a reload of backworks.yaml
        config["endpoints"]["local"]["methods"] = ["GET", "HEAD"]
        write_config(tmp_path, config)
        health = f"{serving.admin_url}/__backworks/health"
        wait_until(
            lambda: httpx.get(health).json()["reloads"]["ok"] >= 1,
            "the edited backworks.yaml to be reloaded",
            timeout=15,
        )
        assert httpx.get(health).json()["reloads"]["ok"] == 1
        assert httpx.get(f"{serving.url}/items/3").status_code == 200

        off = httpx.post(record, json={"endpoint": "items", "record": False}, headers=ADMIN_AUTH)
        assert off.json()["record"] is False
        assert httpx.get(f"{serving.url}/items/4").status_code == 200

        refused = httpx.post(record, json={"endpoint": "local"}, headers=ADMIN_AUTH)
        assert refused.status_code == 409 and "only proxy endpoints record" in refused.text
        assert httpx.post(record, json={"endpoint": "nope"}, headers=ADMIN_AUTH).status_code == 409
        assert (
            httpx.post(
                record, json={"endpoint": "items", "record": "yes"}, headers=ADMIN_AUTH
            ).status_code
            == 400
        )
        assert httpx.post(record, content=b"{", headers=ADMIN_AUTH | dict(JSON)).status_code == 400
    code, err = serving.stop()
    assert code == 0, err
    assert "Recorded 2 exchange(s)" in err
    with Store.open(store_path) as store:
        assert sorted(e.request.path for e in store.query()) == ["/items/2", "/items/3"]


def test_without_endpoints_everything_goes_to_the_upstream(serve):
    with Counting(name="only") as upstream:
        serving = serve({"upstream": upstream.url})
        answer = httpx.get(f"{serving.url}/any/path?x=1").json()
    assert answer == {
        "upstream": "only",
        "path": "/any/path?x=1",
        "host": f"127.0.0.1:{upstream.port}",
    }


# --- upstream failures ---------------------------------------------------------------------


def proxy_config(proxy: dict) -> dict:
    return {"endpoints": {"items": {"path": "/items/{id}", "mode": "proxy", "proxy": proxy}}}


def test_an_upstream_that_is_down_is_a_502_in_json(serve):
    dead = f"http://127.0.0.1:{dead_port()}"
    serving = serve(proxy_config({"upstream": dead}))
    answer = httpx.get(f"{serving.url}/items/1")
    assert answer.status_code == 502
    body = answer.json()
    assert body["error"] == "upstream unreachable" and body["endpoint"] == "items"
    assert body["upstreams"][0]["url"] == dead and "connect" in body["upstreams"][0]["error"]


def test_the_circuit_opens_and_a_half_open_probe_closes_it(serve):
    # The upstream's port refuses connections until the upstream starts there: a bound socket
    # that does not listen holds it meanwhile (SO_REUSEADDR, as http.server's sets too, lets
    # the upstream bind beside it; nothing else can take the port in between).
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        breaker = {"failures": 2, "reset_s": 1}
        serving = serve(
            proxy_config({"upstream": f"http://127.0.0.1:{port}", "circuit_breaker": breaker})
        )
        url = f"{serving.url}/items/1"
        assert [httpx.get(url).status_code for _ in range(2)] == [502, 502]
        refused = httpx.get(url)
        assert refused.status_code == 503
        assert refused.json()["error"].startswith("circuit open")
        assert int(refused.headers["retry-after"]) >= 1
        with Counting(port) as upstream:
            held.close()
            statuses: list[int] = []

            def answered() -> bool:
                statuses.append(httpx.get(url).status_code)
                return statuses[-1] == 200

            wait_until(answered, "a half-open probe to close the circuit", timeout=15)
            assert set(statuses) <= {503, 200}
            assert [httpx.get(url).status_code for _ in range(3)] == [200, 200, 200]
            assert upstream.counts["GET"] == 4  # the probe and the three after it


def test_weighted_balancing_follows_the_weights(serve):
    with Counting(name="a") as a, Counting(name="b") as b:
        upstreams = [{"url": a.url, "weight": 3}, {"url": b.url, "weight": 1}]
        serving = serve(proxy_config({"upstreams": upstreams}))
        with httpx.Client() as client:
            answered = [client.get(f"{serving.url}/items/{n}").json() for n in range(40)]
    assert (a.counts["GET"], b.counts["GET"]) == (30, 10)
    assert [r["upstream"] for r in answered[:4]] == ["a", "a", "b", "a"]
    # the Host header names the upstream the request went to
    assert {r["host"] for r in answered if r["upstream"] == "b"} == {f"127.0.0.1:{b.port}"}


def test_health_checks_keep_requests_away_from_a_dead_upstream(serve):
    dead = f"http://127.0.0.1:{dead_port()}"
    with Counting() as alive:
        proxy = {
            "upstreams": [dead, alive.url],
            "health_check": {"path": "/health", "interval_s": 0.2, "timeout_ms": 500},
            "retries": 0,
        }
        serving = serve(proxy_config(proxy))
        statuses = [httpx.post(f"{serving.url}/items/{n}").status_code for n in range(6)]
    assert statuses == [200] * 6
    assert alive.counts["POST"] == 6


def test_get_is_retried_on_the_next_upstream_but_post_is_not(serve):
    dead = f"http://127.0.0.1:{dead_port()}"
    with Counting() as alive:
        serving = serve(proxy_config({"upstreams": [dead, alive.url], "retries": 2}))
        with httpx.Client(base_url=serving.url) as client:
            posts = [client.post("/items/1") for _ in range(4)]
            gets = [client.get("/items/1").status_code for _ in range(4)]
    assert [p.status_code for p in posts] == [502, 200, 502, 200]
    assert posts[0].json()["upstreams"][0]["url"] == dead
    assert gets == [200] * 4
    assert alive.counts == Counter({"POST": 2, "GET": 4})


# --- starting ------------------------------------------------------------------------------


NAMED = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
MOCKED = {
    "endpoints": {
        "local": {
            "path": "/local",
            "methods": ["GET"],
            "mode": "mock",
            "responses": {"200": {"schema": NAMED}},
        }
    }
}


def test_listen_port_0_serves_on_the_ports_the_ready_line_names(backworks, tmp_path):
    # Without --admin, a --listen port 0 gives the admin API any free port too.
    write_config(tmp_path, MOCKED)
    running = backworks(
        ["serve", "--listen", "127.0.0.1:0"],
        cwd=tmp_path,
        ready="Serving",
        stop_signal=signal.SIGINT,
    )
    serving = Serving.bound(running, admin_port=admin_port_in(running.ready_line))
    assert re.match(r"Serving 1 endpoint\(s\) on http://127\.0\.0\.1:\d+; ", serving.ready_line), (
        serving.ready_line
    )
    assert 0 not in (serving.port, serving.admin_port) and serving.port != serving.admin_port
    assert ports_in(serving.ready_line)[:2] == [serving.port, serving.admin_port]
    assert set(httpx.get(f"{serving.url}/local", timeout=10).json()) == {"name"}
    for base in (serving.url, serving.admin_url):
        health = httpx.get(f"{base}/__backworks/health", timeout=10).json()
        assert health["status"] == "ok" and health["endpoints"] == 1
    assert httpx.get(f"{serving.url}/__backworks/requests").json()["requests"][0]["path"] == (
        "/local"
    )
    code, err = serving.stop()
    assert code == 0, err
    assert "Traceback" not in err


def test_the_admin_api_defaults_to_the_port_after_the_listen_port(backworks, tmp_path):
    write_config(tmp_path, MOCKED)
    running = on_a_fixed_port(
        lambda port: backworks(
            ["serve", "--listen", f"127.0.0.1:{port}"],
            cwd=tmp_path,
            ready="Serving",
            stop_signal=signal.SIGINT,
        )
    )
    port = ports_in(running.ready_line)[0]
    assert admin_port_in(running.ready_line) == port + 1
    health = httpx.get(f"http://127.0.0.1:{port + 1}/__backworks/health", timeout=10).json()
    assert health["status"] == "ok"
    assert set(httpx.get(f"http://127.0.0.1:{port}/local", timeout=10).json()) == {"name"}
    code, err = running.stop()
    assert code == 0 and "Traceback" not in err, err


def test_a_port_in_use_exits_5_without_a_traceback(tmp_path):
    write_config(tmp_path, proxy_config({"upstream": "http://127.0.0.1:9"}))
    for option in ("--listen", "--admin"):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            listen, admin = (port, 0) if option == "--listen" else (0, port)
            result = run_cli(
                tmp_path,
                "serve",
                "--listen",
                f"127.0.0.1:{listen}",
                "--admin",
                f"127.0.0.1:{admin}",
            )
        assert result.returncode == 5, result.stderr
        assert f"Cannot listen on 127.0.0.1:{port}: the port is already in use." in result.stderr
        assert option in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("endpoints: [oops", "backworks.yaml"),
        (
            json.dumps(proxy_config({"upstream": "http://127.0.0.1:9", "balance": "random"})),
            "balance",
        ),
        (
            json.dumps(proxy_config({"upstreams": [{"url": "ftp://x", "weight": 1}]})),
            "upstreams[0].url",
        ),
        (json.dumps({"endpoints": {"x": {"path": "/x", "mode": "proxy"}}}), "no upstream"),
        ("name: empty\n", "Nothing to serve"),
    ],
)
def test_a_bad_configuration_exits_3(tmp_path, text, named):
    (tmp_path / "backworks.yaml").write_text(text)
    result = run_cli(tmp_path, "serve", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
    assert result.returncode == 3, result.stderr
    assert named in result.stderr and "Traceback" not in result.stderr
