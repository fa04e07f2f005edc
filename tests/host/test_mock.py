"""The mock host in process: replay fidelity against a store recorded from the sample API,
misses, limits, the admin API (Prometheus text read by prometheus_client's parser), server-sent
events over a real socket, reset, verify, and hot reload of backworks.yaml."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import string
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backworks_cli.config.load import load_config
from backworks_cli.config.model import RedactConfig
from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.demo.sample_api import DEMO_PASSWORD, serve_sample_api
from backworks_cli.demo.sample_api import create_app as sample_app
from backworks_cli.host.mock import create_app
from backworks_cli.host.stats import BUCKETS, Row, Stats, Subscriber, verify_count
from backworks_cli.host.wire import request_path, wire_headers
from backworks_cli.record.redact import Redactor
from backworks_cli.record.store import Store
from tests.conftest import sse_events, wait_until

ADMIN = "/__backworks"
WIDGET_SCHEMA = {
    "type": "object",
    "required": ["id", "name", "price"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "price": {"type": "number", "minimum": 0},
    },
}
ENDPOINTS = {
    "get_health": {"path": "/api/health", "methods": ["GET"], "mode": "replay"},
    "get_users": {"path": "/api/users", "methods": ["GET"], "mode": "replay"},
    "get_users_me": {"path": "/api/users/me", "methods": ["GET"], "mode": "replay"},
    "get_users_id": {"path": "/api/users/{id}", "methods": ["GET"], "mode": "replay"},
    "get_products": {"path": "/api/products", "methods": ["GET"], "mode": "replay"},
    "get_products_id": {"path": "/api/products/{id}", "methods": ["GET"], "mode": "replay"},
    "orders": {"path": "/api/orders", "methods": ["GET", "POST"], "mode": "replay"},
    "get_orders_id": {"path": "/api/orders/{id}", "methods": ["GET"], "mode": "replay"},
    "post_login": {"path": "/api/login", "methods": ["POST"], "mode": "replay"},
    "get_reports_daily": {"path": "/api/reports/daily", "methods": ["GET"], "mode": "replay"},
    "get_avatar": {"path": "/api/avatar/{id}.png", "methods": ["GET"], "mode": "replay"},
    "get_widgets_id": {
        "path": "/api/widgets/{id}",
        "methods": ["GET"],
        "mode": "mock",
        "params": {"id": {"type": "integer"}},
        "responses": {"200": {"content_type": "application/json", "schema": WIDGET_SCHEMA}},
    },
}


def run(coro):
    return asyncio.run(coro)


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")


def auth(app) -> dict[str, str]:
    """The header that the admin API's POST routes need."""
    return {"Authorization": f"Bearer {app.access.token}"}


class Reloads:
    """The reload events of `app` as an /events client gets them (a subscriber of its own),
    for a test that serves it in its own event loop: the watcher reloads in that loop, so the
    test awaits these instead of polling."""

    def __init__(self, app) -> None:
        self.app = app
        self.subscriber = Subscriber(asyncio.Queue(100))
        app.stats.subscribers.add(self.subscriber)

    async def until(self, mock, check, what: str, timeout: float = 15.0) -> dict:
        """Health (from `mock`, the app's client) once `check(health)` holds, looked at again
        after each reload; fails naming `what` after `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    health = (await mock.get(f"{ADMIN}/health")).json()
                    if check(health):
                        return health
                    await self._next()
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}") from None

    async def _next(self) -> dict:
        """The next reload event (other events are skipped)."""
        while True:
            for event in request_events(await self.subscriber.queue.get()):
                if event["type"] == "reload":
                    return event


# --- a store recorded from the sample API -------------------------------------------------------


def _exchange(reply: httpx.Response) -> Exchange:
    sent = reply.request
    raw_path = sent.url.raw_path.split(b"?", 1)[0]
    return Exchange(
        request=Request(
            method=sent.method,
            path=raw_path.decode("utf-8", "surrogateescape"),
            query=tuple(sent.url.params.multi_items()),
            headers=tuple(sent.headers.multi_items()),
            body=sent.content,
            host=sent.url.host,
        ),
        response=Response(
            status=reply.status_code,
            headers=tuple(reply.headers.multi_items()),
            body=reply.content,
            encoding=reply.headers.get("content-encoding"),
        ),
        started_at=time.time(),
        duration_ms=reply.elapsed.total_seconds() * 1000 if hasattr(reply, "_elapsed") else 1.0,
        session="test",
    )


def live_requests() -> list[dict]:
    """The scripted client, as keyword arguments of httpx's request(); the login's token is
    filled in from the answer to the login."""
    user = sample_app().users[0]
    order = {"user_id": 1, "items": [{"product_id": 2, "quantity": 1}]}
    return [
        {"method": "GET", "url": "/api/health"},
        {"method": "GET", "url": "/api/users"},
        {"method": "GET", "url": "/api/users", "params": {"page": "2", "per_page": "5"}},
        {"method": "GET", "url": "/api/users/1"},
        {"method": "GET", "url": "/api/users/2"},
        {"method": "GET", "url": "/api/users/999"},
        {"method": "GET", "url": "/api/products", "headers": {"Accept-Encoding": "gzip"}},
        {"method": "GET", "url": "/api/products/3"},
        {"method": "GET", "url": "/api/orders/1"},
        {"method": "POST", "url": "/api/orders", "json": order},
        {"method": "POST", "url": "/api/orders", "json": {"user_id": "x"}},
        {
            "method": "POST",
            "url": "/api/login",
            "json": {"username": user["username"], "password": DEMO_PASSWORD},
        },
        {"method": "GET", "url": "/api/users/me", "headers": {"Authorization": "Bearer {token}"}},
        {"method": "GET", "url": "/api/reports/daily"},
        {"method": "GET", "url": "/api/avatar/1.png"},
    ]


async def _record(requests: list[dict]) -> list[Exchange]:
    exchanges, token = [], ""
    transport = httpx.ASGITransport(app=sample_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as shop:
        for kwargs in requests:
            headers = {k: v.format(token=token) for k, v in kwargs.get("headers", {}).items()}
            reply = await shop.request(**{**kwargs, "headers": headers})
            if kwargs["url"] == "/api/login":
                token = reply.json()["access_token"]
            exchanges.append(_exchange(reply))
    return exchanges, token


def write_config(directory: Path, endpoints: dict, **top) -> Path:
    path = directory / "backworks.yaml"
    data = {"recordings": {"path": "recordings.db"}, "endpoints": endpoints, **top}
    path.write_text(json.dumps(data, indent=2))
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A directory with recordings.db (the scripted client, redacted) and backworks.yaml;
    yields (config path, the stored exchanges, the live requests, the live token)."""
    directory = tmp_path_factory.mktemp("mock")
    requests = live_requests()
    exchanges, token = run(_record(requests))
    with Store.open(directory / "recordings.db", create=True) as store:
        store.add_many(exchanges, redactor=Redactor(store.redaction_key(), RedactConfig()))
        stored = list(store.query())
    return write_config(directory, ENDPOINTS), stored, requests, token


def make_app(path: Path, **options):
    return create_app(load_config(path), **options)


# --- replay -------------------------------------------------------------------------------------


def test_every_recorded_exchange_replays_as_stored(project):
    config_path, stored, requests, token = project
    app = make_app(config_path)

    async def go():
        async with client(app) as mock:
            for kwargs, recorded in zip(requests, stored, strict=True):
                headers = {k: v.format(token=token) for k, v in kwargs.get("headers", {}).items()}
                reply = await mock.request(**{**kwargs, "headers": headers})
                want = recorded.response
                where = f"{kwargs['method']} {kwargs['url']}"
                assert reply.status_code == want.status, where
                assert reply.content == want.body, where
                assert reply.headers.get("content-type") == want.header("content-type"), where
                assert "content-encoding" not in reply.headers, where
                assert int(reply.headers["content-length"]) == len(want.body), where

    run(go())
    rows = app.stats.journal
    assert [row.how for row in rows] == ["replayed"] * len(stored)


def test_a_miss_is_404_naming_the_nearest_recording(project):
    app = make_app(project[0])

    async def go():
        async with client(app) as mock:
            reply = await mock.get("/api/users/77")
            journal = (await mock.get(f"{ADMIN}/requests")).json()["requests"]
        return reply, journal

    reply, journal = run(go())
    assert reply.status_code == 404
    assert reply.headers["x-backworks-miss"]
    assert "/api/users/1" in reply.text or "/api/users/2" in reply.text
    assert journal[-1]["how"] == "miss"
    assert journal[-1]["endpoint"] == "get_users_id"
    assert journal[-1]["detail"]


def test_generated_and_unknown_paths(project):
    app = make_app(project[0], seed=3)

    async def go():
        async with client(app) as mock:
            return [await mock.get(p) for p in ("/api/widgets/5", "/api/widgets/5", "/nowhere")]

    first, again, unknown = run(go())
    assert first.status_code == 200
    assert first.json()["id"] == 5
    assert first.content == again.content
    assert unknown.status_code == 404
    assert [row[6] for row in app.stats.journal] == ["generated", "generated", "not_found"]


def test_a_body_over_the_limit_is_413_and_the_host_goes_on(project):
    app = make_app(project[0], max_body=1000)

    async def streamed():
        for _ in range(5):
            yield b"x" * 400

    async def go():
        async with client(app) as mock:
            declared = await mock.post("/api/orders", content=b"x" * 2000)
            chunked = await mock.post("/api/orders", content=streamed())
            after = await mock.get("/api/health")
        return declared, chunked, after

    declared, chunked, after = run(go())
    for reply in (declared, chunked):
        assert reply.status_code == 413
        assert reply.json()["limit_bytes"] == 1000
    assert after.status_code == 200


# --- the admin API ------------------------------------------------------------------------------


def test_admin_health_endpoints_and_requests(project):
    app = make_app(project[0], config_path=project[0], journal_size=3)

    async def go():
        async with client(app) as mock:
            for path in ("/api/health", "/api/users/1", "/api/users/77", "/api/widgets/9"):
                await mock.get(path)
            return {
                name: await mock.get(f"{ADMIN}/{name}")
                for name in ("health", "endpoints", "requests", "requests?limit=1", "nothing")
            }

    replies = run(go())
    health = replies["health"].json()
    assert health["status"] == "ok"
    assert health["endpoints"] == len(ENDPOINTS)
    assert health["config"] == str(project[0])
    assert health["uptime_s"] >= 0
    rows = {row["name"]: row for row in replies["endpoints"].json()["endpoints"]}
    assert set(ENDPOINTS) <= set(rows)
    users = rows["get_users_id"]
    assert users["path"] == "/api/users/{id}"
    assert (users["methods"], users["mode"]) == (["GET"], "replay")
    assert users["recordings"] == 3
    assert (users["hits"], users["misses"], users["errors"]) == (2, 1, 0)
    assert rows["get_widgets_id"]["generated"] == 1
    journal = replies["requests"].json()["requests"]
    assert [r["path"] for r in journal] == ["/api/users/1", "/api/users/77", "/api/widgets/9"]
    assert {"time", "method", "endpoint", "mode", "how", "status", "latency_ms"} <= set(journal[0])
    assert [r["path"] for r in replies["requests?limit=1"].json()["requests"]] == ["/api/widgets/9"]
    assert replies["nothing"].status_code == 404
    assert f"{ADMIN}/health" in replies["nothing"].text


def test_requests_lists_the_last_thousand_unless_asked_for_more(project):
    from backworks_cli.host.admin import REQUESTS_LIMIT

    app = make_app(project[0], journal_size=REQUESTS_LIMIT + 500)
    for n in range(REQUESTS_LIMIT + 600):
        row = Row(0.0, "GET", f"/r/{n}", b"", "e", "mock", "generated", 200, 0.001, None, None)
        app.stats.record(row)

    async def go():
        async with client(app) as mock:
            default = (await mock.get(f"{ADMIN}/requests")).json()
            more = (await mock.get(f"{ADMIN}/requests", params={"limit": 5000})).json()
            old = (await mock.get(f"{ADMIN}/exchange", params={"id": 200})).json()
            return default, more, old

    default, more, old = run(go())
    # The journal keeps 1,500 rows, the messages of the newest 1,000 only.
    assert old["path"] == "/r/199" and old["request"] is None
    assert "last 1000 requests" in old["note"]
    assert len(default["requests"]) == REQUESTS_LIMIT
    assert default["requests"][-1]["path"] == f"/r/{REQUESTS_LIMIT + 599}"
    assert len(more["requests"]) == more["kept"] == REQUESTS_LIMIT + 500
    assert more["requests"][0]["path"] == "/r/100"


def test_metrics_are_prometheus_text(project):
    from prometheus_client.parser import text_string_to_metric_families

    app = make_app(project[0])

    async def go():
        async with client(app) as mock:
            for path in ("/api/users/1", "/api/users/1", "/api/users/77", "/nowhere"):
                await mock.get(path)
            return await mock.get(f"{ADMIN}/metrics")

    reply = run(go())
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(reply.text)}
    assert families["backworks_up"].samples[0].value == 1
    totals = {
        (s.labels["endpoint"], s.labels["method"], s.labels["status"], s.labels["how"]): s.value
        for s in families["backworks_requests"].samples
        if s.name == "backworks_requests_total"
    }
    assert totals == {
        ("get_users_id", "GET", "200", "replayed"): 2,
        ("get_users_id", "GET", "404", "miss"): 1,
        ("", "GET", "404", "not_found"): 1,
    }
    histogram = families["backworks_request_duration_seconds"]
    assert histogram.type == "histogram"
    samples = [s for s in histogram.samples if s.labels["endpoint"] == "get_users_id"]
    count = next(s.value for s in samples if s.name.endswith("_count"))
    buckets = [s for s in samples if s.name.endswith("_bucket")]
    assert count == 3
    assert len(buckets) == len(BUCKETS) + 1
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == 3
    assert [b.value for b in buckets] == sorted(b.value for b in buckets)


def test_reset_and_verify(project):
    app = make_app(project[0])

    async def go():
        async with client(app) as mock:
            for path in ("/api/users/1", "/api/users/2", "/api/users/77", "/api/health"):
                await mock.get(path)
            await mock.post("/api/orders", json={"user_id": 1})
            out = {
                "users": await mock.get(f"{ADMIN}/verify", params={"path": "/api/users/*"}),
                "ok": await mock.post(
                    f"{ADMIN}/verify", json={"path": "/api/*", "status": "2xx"}, headers=auth(app)
                ),
                "misses": await mock.post(
                    f"{ADMIN}/verify", json={"how": "miss"}, headers=auth(app)
                ),
                "post": await mock.get(f"{ADMIN}/verify", params={"method": "post"}),
                "bad": await mock.post(
                    f"{ADMIN}/verify", json={"colour": "red"}, headers=auth(app)
                ),
                "badstatus": await mock.get(f"{ADMIN}/verify", params={"status": "2x"}),
                "reset": await mock.post(f"{ADMIN}/reset", json={}, headers=auth(app)),
                "reset_get": await mock.get(f"{ADMIN}/reset"),
                "record": await mock.post(
                    f"{ADMIN}/record", json={"endpoint": "get_users_id"}, headers=auth(app)
                ),
            }
            out["after"] = await mock.get(f"{ADMIN}/endpoints")
        return out

    out = run(go())
    assert out["users"].json()["count"] == 3
    assert out["ok"].json()["count"] == 3
    assert out["misses"].json()["count"] == 2  # /api/users/77 and the unrecorded order
    assert out["post"].json()["count"] == 1
    assert out["bad"].status_code == 400 and "colour" in out["bad"].text
    assert out["badstatus"].status_code == 400
    assert out["reset"].status_code == 200 and out["reset"].json()["reset"] is True
    assert out["reset_get"].status_code == 405
    assert out["record"].status_code == 409 and "nothing to record" in out["record"].text
    rows = {r["name"]: r for r in out["after"].json()["endpoints"]}
    assert rows["get_users_id"]["hits"] == 3  # counters survive a reset


def test_events_stream_each_request_over_a_real_socket(project):
    app = make_app(project[0])
    with serve_sample_api(app=app) as url, httpx.Client(base_url=url, timeout=10) as http:
        with http.stream("GET", f"{ADMIN}/events") as events:
            assert events.headers["content-type"].startswith("text/event-stream")
            lines = events.iter_lines()
            assert next(lines) == ": connected"
            http.get("/api/users/1")
            http.get("/api/users/77")
            seen = sse_events(lines, 2)
        assert [(e["type"], e["path"], e["how"], e["status"]) for e in seen] == [
            ("request", "/api/users/1", "replayed", 200),
            ("request", "/api/users/77", "miss", 404),
        ]
        assert seen[1]["detail"]
        # a closed stream unsubscribes
        wait_until(lambda: not app.stats.subscribers, "the closed stream to go", timeout=10)
        assert http.get("/api/health").status_code == 200


def test_a_lagging_subscriber_loses_events_not_requests():
    stats = Stats()
    slow, fast = Subscriber(asyncio.Queue(2)), Subscriber(asyncio.Queue(10))
    stats.subscribers.update({slow, fast})
    for n in range(5):
        stats.publish({"n": n})
    assert slow.queue.qsize() == 2 and slow.dropped == 3
    assert fast.queue.qsize() == 5 and fast.dropped == 0
    assert stats.events_dropped == 3


def journal_row(how="replayed", status=200, seconds=0.0001, detail=None, fault=None) -> Row:
    return Row(
        time.perf_counter(),
        "GET",
        "/x",
        b"",
        "x",
        "replay",
        how,
        status,
        seconds,
        detail,
        fault,
    )


def request_events(chunk: bytes) -> list[dict]:
    return [json.loads(line[6:]) for line in chunk.split(b"\n") if line.startswith(b"data: ")]


def test_a_sampling_subscriber_gets_every_notable_request_and_the_count_of_the_rest():
    stats = Stats()
    sub = Subscriber(asyncio.Queue(10), ordinary=0)
    stats.subscribers.add(sub)
    for _ in range(100):
        stats.record(journal_row())
    notable = [
        journal_row(how="miss", status=404),
        journal_row(status=503),
        journal_row(status=0, how="fault", fault="reset"),
        journal_row(seconds=0.02),
        journal_row(how="proxy", detail={"upstream": "u", "drift": [{"path": "$"}]}),
    ]
    for row in notable:
        stats.record(row)
    stats.record(journal_row(how="proxy", detail={"upstream": "u"}))  # ordinary
    events = request_events(stats.events_for(sub))
    assert [e.get("status") for e in events[:-1]] == [404, 503, None, 200, 200]
    assert events[-1] == {"type": "sampled", "skipped": 101}

    # with an allowance, that many ordinary requests come, then the rest is counted
    plenty = Subscriber(asyncio.Queue(10), cursor=stats.total, ordinary=1000)
    plenty.allowance, plenty.stamp = 3.5, time.monotonic()  # refills a token a millisecond
    for _ in range(10):
        stats.record(journal_row())
    events = request_events(stats.events_for(plenty))
    assert len(events) in (4, 5) and events[-1] == {"type": "sampled", "skipped": 11 - len(events)}


def test_events_refuses_a_bad_sampling_rate(project):
    app = make_app(project[0])

    async def go():
        async with client(app) as mock:
            return await mock.get(f"{ADMIN}/events", params={"ordinary": "lots"})

    reply = run(go())
    assert reply.status_code == 400 and "ordinary must be a number" in reply.text


def test_faults_reset_the_connection_and_the_host_goes_on(tmp_path, project):
    endpoints = {
        "boom": {"path": "/boom", "mode": "mock", "mock": {"faults": {"reset_rate": 1.0}}},
        "slow": {
            "path": "/slow",
            "mode": "mock",
            "responses": {"200": {"schema": WIDGET_SCHEMA}},
            "mock": {"faults": {"slow_body": {"bytes_per_second": 2000}}},
        },
    }
    app = make_app(write_config(tmp_path, endpoints))
    with serve_sample_api(app=app) as url, httpx.Client(base_url=url, timeout=10) as http:
        with pytest.raises(httpx.TransportError):
            http.get("/boom")
        slow = http.get("/slow")
        assert slow.status_code == 200 and set(slow.json()) >= {"id", "name", "price"}
        assert http.get(f"{ADMIN}/health").status_code == 200
    journal = list(app.stats.journal)
    assert [(row[6], row[10]) for row in journal] == [
        ("fault", "reset"),
        ("generated", "slow_body"),
    ]


# --- stable replays: remembered by the host, never when they could differ ------------------------


def recorded(method: str, path: str, body: dict, *, sent: bytes = b"", headers=()) -> Exchange:
    return Exchange(
        Request(method, path, headers=tuple(headers), body=sent),
        Response(200, (("Content-Type", "application/json"),), json.dumps(body).encode()),
        started_at=time.time(),
        duration_ms=1.0,
    )


def test_remembered_replays_answer_as_the_engine_would(tmp_path):
    with Store.open(tmp_path / "recordings.db", create=True) as store:
        store.add(recorded("GET", "/one", {"n": 1}))
        store.add(recorded("GET", "/twice", {"n": 1}))
        store.add(recorded("GET", "/twice", {"n": 2}))
        for name in ("a", "b"):
            sent = json.dumps({"name": name}).encode()
            store.add(recorded("POST", "/things", {"made": name}, sent=sent))
        store.add(recorded("GET", "/tenant", {"t": "x"}, headers=[("X-Tenant", "x")]))
        store.add(recorded("GET", "/tenant", {"t": "y"}, headers=[("X-Tenant", "y")]))
        store.add(recorded("GET", "/flaky", {"ok": True}))
    endpoints = {
        "one": {"path": "/one", "mode": "replay"},
        "twice": {"path": "/twice", "mode": "replay"},
        "things": {"path": "/things", "methods": ["POST"], "mode": "replay"},
        "tenant": {"path": "/tenant", "mode": "replay", "replay": {"headers": ["x-tenant"]}},
        "flaky": {
            "path": "/flaky",
            "mode": "replay",
            "mock": {"faults": {"error_rate": 0.5, "error_status": 503}},
        },
    }
    config_path = write_config(tmp_path, endpoints)
    app = make_app(config_path, config_path=config_path, reload_interval=0.05)
    reloads = Reloads(app)

    async def go():
        async with client(app) as mock:
            ones = [(await mock.get("/one")).json() for _ in range(3)]
            twice = [(await mock.get("/twice")).json()["n"] for _ in range(4)]
            things = []
            for name in ("a", "b", "a", "b"):
                reply = await mock.post("/things", json={"name": name})
                things.append(reply.json()["made"])
            wrong_type = await mock.post(
                "/things", content=b'{"name": "a"}', headers={"content-type": "text/plain"}
            )
            tenants = []
            for tenant in ("x", "y", "x", "y"):
                reply = await mock.get("/tenant", headers={"x-tenant": tenant})
                tenants.append(reply.json()["t"])
            flaky = {(await mock.get("/flaky")).status_code for _ in range(60)}
            journal = (await mock.get(f"{ADMIN}/requests?limit=1")).json()["requests"]
            exchange = (await mock.get(f"{ADMIN}/exchange", params={"id": 2})).json()
            # A reload forgets what was stable: /one is a mock endpoint now.
            write_config(tmp_path, {**endpoints, "one": {"path": "/one", "mode": "mock"}})
            await reloads.until(mock, lambda h: h["reloads"]["ok"] >= 1, "the reload")
            after = await mock.get("/one")
            return ones, twice, things, wrong_type, tenants, flaky, journal, exchange, after

    ones, twice, things, wrong_type, tenants, flaky, journal, exchange, after = run(go())
    assert ones == [{"n": 1}] * 3
    assert twice == [1, 2, 2, 2]  # in recorded order, then the last repeats
    assert things == ["a", "b", "a", "b"]  # bodies compared as data, each its own recording
    # the content type is part of what is remembered: the answer is the engine's own
    as_text = (("content-type", "text/plain"),)
    text_request = Request("POST", "/things", headers=as_text, body=b'{"name": "a"}')
    assert wrong_type.status_code == app.engine.handle(text_request).response.status
    assert tenants == ["x", "y", "x", "y"]
    assert flaky == {200, 503}  # faults are drawn for every request
    assert journal[0]["how"] == "replayed" and journal[0]["path"] == "/flaky"
    assert exchange["request"]["headers"][0][0] == "host"  # a remembered request, decoded
    assert after.status_code == 200
    rows = {row[2]: row[5] for row in app.stats.journal}  # the last row of each path
    assert rows["/one"] == "mock"


# --- hot reload ---------------------------------------------------------------------------------


def test_hot_reload_picks_up_edits_and_survives_broken_ones(tmp_path, project):
    directory = tmp_path
    (directory / "recordings.db").write_bytes((project[0].parent / "recordings.db").read_bytes())
    config_path = write_config(directory, {"get_health": ENDPOINTS["get_health"]})
    messages: list[str] = []
    app = make_app(config_path, config_path=config_path, log=messages.append, reload_interval=0.05)
    reloads = Reloads(app)

    async def go():
        async with client(app) as mock:
            assert (await mock.get("/api/users/1")).status_code == 404
            write_config(directory, {k: ENDPOINTS[k] for k in ("get_health", "get_users_id")})
            await reloads.until(mock, lambda h: h["endpoints"] == 2, "the added endpoint")
            assert (await mock.get("/api/users/1")).status_code == 200
            config_path.write_text("endpoints:\n  broken: [unclosed\n")
            health = await reloads.until(
                mock, lambda h: h["reload_error"] is not None, "the broken file's error"
            )
            assert health["endpoints"] == 2
            assert (await mock.get("/api/users/1")).status_code == 200
            write_config(directory, {"get_health": ENDPOINTS["get_health"]})
            await reloads.until(
                mock,
                lambda h: h["endpoints"] == 1 and h["reload_error"] is None,
                "the fixed file with one endpoint",
            )
            return health

    health = run(go())
    assert str(config_path) in health["reload_error"]
    assert any("still serving the previous configuration" in m for m in messages)
    assert app.stats.reloads == {"ok": 2, "error": 1}


def test_a_reload_error_quoting_a_secret_shows_its_placeholder(tmp_path, project):
    # A config error quotes the value it refuses; the admin API shows it redacted.
    token = "ghp_" + "".join(random.Random(5).choices(string.ascii_letters + string.digits, k=36))
    (tmp_path / "recordings.db").write_bytes((project[0].parent / "recordings.db").read_bytes())
    config_path = write_config(tmp_path, {"get_health": ENDPOINTS["get_health"]})
    app = make_app(config_path, config_path=config_path, log=lambda m: None, reload_interval=0.05)
    reloads = Reloads(app)

    async def go():
        async with client(app) as mock:
            config_path.write_text(f"endpoints:\n  a:\n    path: /a\n    mode: {token}\n")
            return await reloads.until(
                mock, lambda h: h["reload_error"], "the broken file to be noticed"
            )

    health = run(go())
    assert token not in json.dumps(health)
    assert "is not one of" in health["reload_error"]
    assert "redacted:" in health["reload_error"]


# --- pure parts ---------------------------------------------------------------------------------


def _normal(path: str) -> str:
    """How matching normalises a path: percent-decoded once."""
    return unquote(path, errors="surrogateescape") if "%" in path else path


@settings(max_examples=300)
@given(st.binary(max_size=40).map(lambda b: b"/" + b.replace(b"?", b"").replace(b"#", b"")))
def test_request_paths_decode_like_recorded_ones(raw):
    as_recorded = raw.decode("utf-8", "surrogateescape")
    assert _normal(request_path(raw)) == _normal(as_recorded)


def test_request_path_decodes_percent_escapes_once():
    assert request_path(b"/users/a%20b") == "/users/a b"
    assert request_path(b"/caf%C3%A9") == "/café"
    assert request_path(b"/100%25") == "/100%25"  # decoded exactly once, by matching


def test_wire_headers_frame_the_body_afresh():
    response = Response(
        200,
        (
            ("Content-Type", "application/json"),
            ("Content-Length", "999"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Encoding", "gzip"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("X-Name", "caf\udcc3\udca9"),
            ("Bad Name", "x"),
            ("X-Bad", "a\nb"),
        ),
        b"{}",
    )
    assert wire_headers(response, 2) == [
        (b"Content-Type", b"application/json"),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
        (b"X-Name", b"caf\xc3\xa9"),
        (b"content-length", b"2"),
    ]
    assert wire_headers(Response(204, (), b""), 0) == []


def test_a_subscriber_is_woken_by_requests_only_once_it_has_caught_up():
    async def go():
        stats = Stats()
        sub = Subscriber(asyncio.Queue(8), cursor=stats.total)
        row = Row(0.0, "GET", "/a", b"", "e", "mock", "generated", 200, 0.001, None, None)
        stats.record(row)  # not waiting: nothing to wake
        assert not sub.wake.is_set()
        stats.park(sub)  # a request came since it last read: woken at once, no request lost
        assert sub.wake.is_set()
        sub.wake.clear()
        stats.events_for(sub)
        stats.park(sub)
        stats.park(sub)
        assert stats.waiting == [sub] and not sub.wake.is_set()
        stats.record(row)
        assert sub.wake.is_set() and stats.waiting == []

    run(go())


def test_verify_counts_by_every_criterion():
    stats = Stats()
    for method, path, status, how in [
        ("GET", "/a/1", 200, "replayed"),
        ("GET", "/a/2", 404, "miss"),
        ("POST", "/b", 201, "generated"),
    ]:
        stats.journal.append(
            Row(0.0, method, path, b"", "e", "mock", how, status, 0.001, None, None)
        )
    assert verify_count(stats, {}) == 3
    assert verify_count(stats, {"path": "/a/*"}) == 2
    assert verify_count(stats, {"method": "post"}) == 1
    assert verify_count(stats, {"status": "4xx"}) == 1
    assert verify_count(stats, {"status": 201, "how": "generated", "endpoint": "e"}) == 1
    with pytest.raises(ValueError):
        verify_count(stats, {"colour": "red"})


def test_a_mock_in_a_thread_on_port_0_says_which_ports_it_bound(project):
    from backworks_cli.host.admin_access import AdminAccess
    from backworks_cli.host.mock_run import serve_in_thread

    app = make_app(project[0], access=AdminAccess.create(listen=("127.0.0.1", 0)))
    stop, port = serve_in_thread(app, host="127.0.0.1", port=0)
    try:
        admin_port = app.access.listen[1]  # the admin address, as bound
        assert 0 not in (port, admin_port) and port != admin_port == app.admin_port
        with httpx.Client(timeout=10) as http:
            assert http.get(f"http://127.0.0.1:{port}/api/health").status_code == 200
            health = http.get(f"http://127.0.0.1:{admin_port}{ADMIN}/health").json()
            assert health["status"] == "ok" and health["endpoints"] == len(ENDPOINTS)
            # the admin address answers the admin API only
            assert http.get(f"http://127.0.0.1:{admin_port}/api/health").status_code == 404
    finally:
        stop()


@pytest.mark.parametrize("taken", ["mock", "admin"])
def test_a_mock_in_a_thread_refuses_a_port_in_use_naming_its_option(project, taken):
    from backworks_cli.core.errors import NetworkError
    from backworks_cli.host.admin_access import AdminAccess
    from backworks_cli.host.mock_run import serve_in_thread

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        port, admin_port = (busy, 0) if taken == "mock" else (0, busy)
        app = make_app(project[0], access=AdminAccess.create(listen=("127.0.0.1", admin_port)))
        with pytest.raises(NetworkError) as caught:
            serve_in_thread(app, host="127.0.0.1", port=port)
    error = caught.value
    assert error.message == f"Cannot listen on 127.0.0.1:{busy}: the port is already in use."
    assert ("--host and --port" if taken == "mock" else "--admin-listen") in error.hint


# --- the HTTP shortcut for stable replays (fastpath.ReplayProtocol) over real sockets ------------


def read_reply(conn: socket.socket, buffer: bytearray, head_only: bool = False) -> bytes:
    """One HTTP/1.1 response from `conn` (Content-Length framed), leaving what follows it in
    `buffer`; with head_only, a response that has no body (to HEAD)."""
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        assert chunk, f"the connection closed before a full response: {bytes(buffer)!r}"
        buffer += chunk
    head, _, _ = bytes(buffer).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and not head_only:
            length = int(value)
    size = len(head) + 4 + length
    while len(buffer) < size:
        chunk = conn.recv(65536)
        assert chunk, "the connection closed in the middle of a body"
        buffer += chunk
    reply = bytes(buffer[:size])
    del buffer[:size]
    return reply


def without_date(reply: bytes) -> bytes:
    return b"\r\n".join(line for line in reply.split(b"\r\n") if not line.startswith(b"date:"))


def raw_request(method: str, target: str, body: bytes = b"", *headers: str) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: mock", *headers]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


BIG = "x" * (1024 * 1024 + 10)  # an answer over the shortcut's SHORTCUT_BODY


@contextlib.contextmanager
def serving_shortcut(directory: Path):
    """A mock served by uvicorn with backworks's HTTP protocol on a real port, over recordings
    of /one, /things (POST, three bodies, one answered with over 1 MiB) and /q (a query); /gen,
    /slow (30 ms late) and /late (1.5 s late) are generated. Yields (app, port, the requests the
    shortcut answered)."""
    from backworks_cli.host.mock_run import serve_in_thread

    with Store.open(directory / "recordings.db", create=True) as store:
        store.add(recorded("GET", "/one", {"n": 1}))
        for name, made in (("a", "a"), ("b", "b"), ("big", BIG)):
            sent = json.dumps({"name": name}).encode()
            store.add(recorded("POST", "/things", {"made": made}, sent=sent))
        query = Request("GET", "/q", query=(("a", "1"), ("b", "2")))
        store.add(Exchange(query, Response(200, (("Content-Type", "text/plain"),), b"q")))
    generated = {"mode": "mock", "responses": {"200": {"schema": WIDGET_SCHEMA}}}
    endpoints = {
        "one": {"path": "/one", "mode": "replay"},
        "things": {"path": "/things", "methods": ["POST"], "mode": "replay"},
        "q": {"path": "/q", "mode": "replay"},
        "gen": {"path": "/gen", **generated},
        "slow": {"path": "/slow", **generated, "mock": {"latency": {"fixed": 30}}},
        "late": {"path": "/late", **generated, "mock": {"latency": {"fixed": 1500}}},
    }
    config_path = write_config(directory, endpoints)
    app = make_app(config_path, config_path=config_path, reload_interval=0.05)
    answered: list[tuple[str, bytes]] = []
    stable_wire = app.stable_wire

    def spy(method, raw, qs, *rest):
        wire = stable_wire(method, raw, qs, *rest)
        if wire is not None:
            answered.append((method, raw + b"?" + qs if qs else raw))
        return wire

    app.stable_wire = spy
    stop, port = serve_in_thread(app, host="127.0.0.1", port=0)
    try:
        yield app, port, answered
    finally:
        stop()


@pytest.fixture
def shortcut(tmp_path):
    with serving_shortcut(tmp_path) as served:
        yield served


def test_the_shortcut_answers_byte_for_byte_as_the_app(shortcut):
    _, port, answered = shortcut
    requests = [
        raw_request("GET", "/one"),
        raw_request("POST", "/things", b'{"name": "a"}'),
        raw_request("POST", "/things", b'{"name":"b"}'),
        raw_request("GET", "/q?b=2&a=1"),
        raw_request("GET", "/gen"),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        buffer = bytearray()
        first, again = [], []
        for request in requests:  # the app answers and remembers, the shortcut repeats
            conn.sendall(request)
            first.append(read_reply(conn, buffer))
        for request in requests * 2:
            conn.sendall(request)
            again.append(read_reply(conn, buffer))
    assert [without_date(r) for r in again] == [without_date(r) for r in first] * 2
    assert first[0].startswith(b"HTTP/1.1 200 OK\r\ndate: ")
    assert first[1].endswith(b'{"made": "a"}') and first[3].endswith(b"\r\n\r\nq")
    assert b'"price"' in first[4]
    targets = [("GET", b"/one"), ("POST", b"/things"), ("POST", b"/things"), ("GET", b"/q?b=2&a=1")]
    assert answered == (targets + [("GET", b"/gen")]) * 2  # every repeat took the shortcut
    # Each answer is counted and kept in the journal like any other, request body included.
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        endpoints = {e["name"]: e for e in http.get(f"{ADMIN}/endpoints").json()["endpoints"]}
        assert [endpoints[n]["hits"] for n in ("one", "things", "q", "gen")] == [3, 6, 3, 3]
        assert endpoints["gen"]["generated"] == 3
        rows = http.get(f"{ADMIN}/requests", params={"limit": 15}).json()["requests"]
        assert sorted(row["how"] for row in rows) == ["generated"] * 3 + ["replayed"] * 12
        posted = next(row for row in rows if row["path"] == "/things")
        exchange = http.get(f"{ADMIN}/exchange", params={"id": posted["id"]}).json()
        metrics = http.get(f"{ADMIN}/metrics").text
    assert exchange["request"]["body"] in ('{"name": "a"}', '{"name":"b"}')
    assert ["host", "mock"] in exchange["request"]["headers"]
    assert exchange["response"]["body"] in ('{"made": "a"}', '{"made": "b"}')
    assert 'endpoint="things"' in metrics


def reads_of_the_mock(monkeypatch) -> list[bytes]:
    """Each read the mock's HTTP protocol makes from the connections opened from now on, as it
    makes it."""
    from backworks_cli.host.fastpath import ReplayProtocol

    reads: list[bytes] = []
    data_received = ReplayProtocol.data_received

    def spy(self, data: bytes) -> None:
        reads.append(data)
        data_received(self, data)

    monkeypatch.setattr(ReplayProtocol, "data_received", spy)
    return reads


def test_requests_the_shortcut_leaves_to_the_app(shortcut, monkeypatch):
    _, port, answered = shortcut
    reads = reads_of_the_mock(monkeypatch)
    post = raw_request("POST", "/things", b'{"name": "a"}')
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        buffer = bytearray()
        conn.sendall(raw_request("GET", "/one") + post)
        expected = [read_reply(conn, buffer), read_reply(conn, buffer)]
        assert len(answered) == 0  # the first of each went through the app

        # Pipelined behind a late answer (which the app gives): still in order.
        conn.sendall(raw_request("GET", "/slow") + raw_request("GET", "/one") + post)
        generated, one, made = (read_reply(conn, buffer) for _ in range(3))
        assert b'"price"' in generated
        assert [without_date(one), without_date(made)] == [without_date(r) for r in expected]

        # HEAD gets a head alone (what follows is the next answer); another body is another
        # request (a miss here).
        conn.sendall(raw_request("HEAD", "/one"))
        head = read_reply(conn, buffer, head_only=True)
        assert head.startswith(b"HTTP/1.1 ") and b"content-length: " in head
        conn.sendall(raw_request("POST", "/things", b'{"name": "z"}'))
        assert read_reply(conn, buffer).startswith(b"HTTP/1.1 404")

        # A body over the shortcut's limit is handed on whole, and a chunked one is read whole.
        big = json.dumps({"name": "a", "pad": "x" * 10_000}).encode()
        conn.sendall(raw_request("POST", "/things", big))
        assert read_reply(conn, buffer).startswith(b"HTTP/1.1 404")
        chunked = b'{"name": "a"}'
        conn.sendall(
            b"POST /things HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            + b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (chunked[:5], chunked[5:]))
            + b"0\r\n\r\n"
        )
        assert without_date(read_reply(conn, buffer)) == without_date(expected[1])

        # A body that arrives in pieces, and Expect: 100-continue (left to the app).
        conn.sendall(post[:-5])
        wait_until(lambda: b"".join(reads).endswith(post[:-5]), "the mock to read the first piece")
        conn.sendall(post[-5:])
        assert without_date(read_reply(conn, buffer)) == without_date(expected[1])
        conn.sendall(post.replace(b"Host: mock", b"Host: mock\r\nExpect: 100-continue", 1))
        assert read_reply(conn, buffer, head_only=True).startswith(b"HTTP/1.1 100 Continue")
        assert without_date(read_reply(conn, buffer)) == without_date(expected[1])

        # Answered at once, then a late one, then one that waits for it.
        conn.sendall(
            raw_request("GET", "/one") + raw_request("GET", "/slow") + raw_request("GET", "/one")
        )
        replies = [without_date(read_reply(conn, buffer)) for _ in range(3)]
        assert replies[0] == replies[2] == without_date(expected[0]) and b'"price"' in replies[1]
    # Only the chunked body, the body in pieces and the first of the last three took it.
    assert answered == [("POST", b"/things")] * 2 + [("GET", b"/one")]

    # HTTP/1.0 and Connection: close are answered by the app, which closes the connection.
    for request in (
        raw_request("GET", "/one").replace(b"HTTP/1.1", b"HTTP/1.0", 1),
        raw_request("GET", "/one", b"", "Connection: close"),
    ):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(request)
            reply = bytearray()
            while chunk := conn.recv(65536):
                reply += chunk
        assert reply.endswith(b'{"n": 1}') and b"connection: close" in reply
    assert len(answered) == 3


def test_the_shortcut_forgets_on_reload_and_survives_malformed_requests(shortcut, tmp_path):
    app, port, answered = shortcut
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        buffer = bytearray()
        for _ in range(2):
            conn.sendall(raw_request("GET", "/one"))
            assert read_reply(conn, buffer).endswith(b'{"n": 1}')
    assert answered == [("GET", b"/one")]
    # Garbage behind a request the shortcut answers: that answer, then 400 and a close.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw_request("GET", "/one") + b"NOT HTTP AT ALL\r\n\r\n")
        rest = bytearray()
        while chunk := conn.recv(65536):
            rest += chunk
    assert rest.startswith(b"HTTP/1.1 200 OK") and b'{"n": 1}HTTP/1.1 400' in rest
    assert len(answered) == 2

    endpoints = json.loads((tmp_path / "backworks.yaml").read_text())["endpoints"]
    write_config(tmp_path, {**endpoints, "one": {"path": "/one", "mode": "mock"}})
    wait_until(lambda: app.stats.reloads["ok"] >= 1, "the reload of backworks.yaml", timeout=15)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw_request("GET", "/one"))
        reply = read_reply(conn, bytearray())
    # Answered by the new engine (a mock endpoint replays too), not from what was remembered.
    assert reply.endswith(b'{"n": 1}') and app.stats.journal[-1][5] == "mock"
    assert len(answered) == 2


def test_an_answer_too_large_for_the_shortcut_is_left_to_the_app(shortcut):
    _, port, answered = shortcut
    small = raw_request("POST", "/things", b'{"name": "a"}')
    big = raw_request("POST", "/things", b'{"name": "big"}')
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        buffer = bytearray()
        for request in (small, small, big, big):  # the small one opens the URL to the shortcut
            conn.sendall(request)
            reply = read_reply(conn, buffer)
            assert reply.startswith(b"HTTP/1.1 200")
        assert reply.endswith(json.dumps({"made": BIG}).encode())
    assert answered == [("POST", b"/things")]


def test_a_request_behind_a_shortcut_answer_is_not_timed_out(tmp_path, monkeypatch):
    from backworks_cli.host import mock_run as mockserver

    settings = mockserver.uvicorn_settings
    monkeypatch.setattr(
        mockserver, "uvicorn_settings", lambda h, p: {**settings(h, p), "timeout_keep_alive": 1}
    )
    with serving_shortcut(tmp_path) as (_, port, answered):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            buffer = bytearray()
            conn.sendall(raw_request("GET", "/one"))
            read_reply(conn, buffer)
            # Answered at once (arming the 1 s keep-alive timer), then one answered in 1.5 s.
            conn.sendall(raw_request("GET", "/one") + raw_request("GET", "/late"))
            assert read_reply(conn, buffer).endswith(b'{"n": 1}')
            assert b'"price"' in read_reply(conn, buffer)
        assert answered == [("GET", b"/one")]
