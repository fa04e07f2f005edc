"""Drift: live answers checked against the endpoint's learned response. DriftCheck on hand-made
schemas and answers, its budget on a fake clock, generated bodies never drifting (hypothesis),
and drift end to end: a real `backworks serve` in front of an upstream that changes, a mock
with a runtime handler, and the dashboard's alert for it."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backworks_cli.answer.drift import MAX_VIOLATIONS, DriftCheck
from backworks_cli.answer.modes.base import json_body
from backworks_cli.config.load import load_config
from backworks_cli.config.model import Config
from backworks_cli.core.exchange import Response
from backworks_cli.host.mock import create_app
from backworks_cli.host.stats import Row, Stats, render_metrics
from backworks_cli.learn.generate import Generator
from tests.conftest import (
    JsonHandler,
    Listening,
    LoopbackServer,
    Running,
    admin_port_in,
    sse_events,
    start_backworks,
    wait_until,
)
from tests.learn.test_generate import schemas

ADMIN = "/__backworks"
JSON_TYPE = (("Content-Type", "application/json"),)
USER = {
    "type": "object",
    "required": ["id", "email", "name"],
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}
FITS = {"id": 1, "email": "ada@example.com", "name": "Ada"}
DRIFTS = {"id": "1", "email": "x"}  # id became a string, email is no email, name is gone


def config(**endpoints: dict) -> Config:
    return Config(endpoints=endpoints)


def users_config() -> Config:
    return config(
        users_id={
            "path": "/users/{id}",
            "responses": {
                "200": {"content_type": "application/json", "schema": USER},
                "204": {},
                "404": {"content_type": "application/problem+json", "schema": {"type": "object"}},
            },
        },
        page={"path": "/page", "responses": {"200": {"content_type": "text/html"}}},
        untyped={"path": "/untyped"},
    )


def answer(body, content_type: str | None = "application/json", status: int = 200) -> Response:
    headers = (("Content-Type", content_type),) if content_type else ()
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(status, headers, raw)


# --- DriftCheck on hand-made answers -------------------------------------------------------


def test_a_fitting_answer_has_no_drift():
    check = DriftCheck(users_config())
    assert check.check("users_id", 200, answer(FITS)) == []
    assert check.check("users_id", 200, answer({**FITS, "extra": [1]})) == []
    problem = answer({"title": "gone"}, "application/problem+json; charset=utf-8", 404)
    assert check.check("users_id", 404, problem) == []
    assert check.check("users_id", 204, Response(204)) == []  # no body, no schema
    assert check.check("page", 200, answer(b"<html></html>", "text/html; charset=utf-8")) == []


@pytest.mark.parametrize(
    ("body", "path", "words"),
    [
        ({**FITS, "id": "1"}, "$.id", "'1' is not of type 'integer'"),
        ({"id": 1, "email": "a@b.c"}, "$", "'name' is a required property"),
        ({**FITS, "email": "x"}, "$.email", "'x' is not a 'email'"),
        ({**FITS, "tags": ["a", 2]}, "$.tags[1]", "2 is not of type 'string'"),
        ([FITS], "$", "is not of type 'object'"),
    ],
)
def test_schema_violations_name_the_path(body, path, words):
    found = DriftCheck(users_config()).check("users_id", 200, answer(body))
    assert len(found) == 1
    assert found[0]["path"] == path and words in found[0]["message"]


def test_every_violation_is_listed_in_path_order():
    found = DriftCheck(users_config()).check("users_id", 200, answer(DRIFTS))
    assert [v["path"] for v in found] == ["$", "$.email", "$.id"]


def test_html_where_json_was_learned():
    page = answer(b"<html><body>Maintenance</body></html>", "text/html; charset=utf-8")
    [found] = DriftCheck(users_config()).check("users_id", 200, page)
    assert found["path"] == "$"
    assert "text/html" in found["message"] and "application/json" in found["message"]


def test_json_where_html_was_learned_and_an_untyped_answer():
    check = DriftCheck(users_config())
    [found] = check.check("page", 200, answer({"a": 1}))
    assert "application/json" in found["message"] and "text/html" in found["message"]
    [untyped] = check.check("users_id", 200, answer(FITS, content_type=None))
    assert "not typed" in untyped["message"]


def test_a_body_that_is_not_json_or_is_empty():
    check = DriftCheck(users_config())
    [broken] = check.check("users_id", 200, answer(b'{"id": 1,'))
    assert broken["path"] == "$" and "not valid JSON" in broken["message"]
    [empty] = check.check("users_id", 200, answer(b""))
    assert "empty" in empty["message"]


def test_statuses_and_endpoints_with_nothing_learned_are_not_checked():
    check = DriftCheck(users_config())
    assert check.check("users_id", 500, answer(b"<html>", "text/html")) is None
    assert check.check("untyped", 200, answer(b"<html>", "text/html")) is None
    assert check.check("nowhere", 200, answer(DRIFTS)) is None
    assert check.check(None, 200, answer(DRIFTS)) is None
    assert check.checked == 0 and check.skipped == 0


def test_violations_are_capped_and_the_rest_counted():
    schema = {"type": "array", "items": {"type": "integer"}}
    check = DriftCheck(config(numbers={"path": "/n", "responses": {"200": {"schema": schema}}}))
    found = check.check("numbers", 200, answer(["a", "b", "c", "d", "e", "f", "g", "h"]))
    assert len(found) == MAX_VIOLATIONS + 1
    assert [v["path"] for v in found[:2]] == ["$[0]", "$[1]"]
    assert found[-1]["more"] == 3 and "3 more" in found[-1]["message"]


def test_a_schema_jsonschema_cannot_use_is_not_checked_and_does_not_raise():
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}
    check = DriftCheck(config(bad={"path": "/b", "responses": {"200": {"schema": schema}}}))
    assert check.check("bad", 200, answer({"a": 1})) == []
    assert check.check("bad", 200, answer({"a": 2})) == []


# --- the budget ----------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Costly:
    """An answer whose body costs `cost` seconds of the fake clock to read: a check's cost."""

    headers = JSON_TYPE

    def __init__(self, clock: FakeClock, cost: float, body: object = FITS):
        self.clock, self.cost, self._body = clock, cost, json.dumps(body).encode()

    @property
    def body(self) -> bytes:
        self.clock.t += self.cost
        return self._body


def test_the_budget_runs_out_refills_and_is_capped():
    # A quarter of wall time, half a second when full; every check costs a quarter second
    # (which is wall time too, so it refills a sixteenth while it runs).
    clock = FakeClock()
    check = DriftCheck(users_config(), share=0.25, burst=0.5, clock=clock)
    costly = Costly(clock, 0.25, DRIFTS)

    def checks(n: int) -> list[bool]:
        return [check.check("users_id", 200, costly) is not None for _ in range(n)]

    # The bucket starts full, so the first answer is caught at once; tokens 0.5 -> 0.3125 ->
    # 0.125 -> -0.125, then no budget until it refills.
    assert checks(5) == [True, True, True, False, False]
    assert (check.checked, check.skipped) == (3, 2)
    clock.t += 0.5  # refills 0.125 s: enough for one more
    assert checks(2) == [True, False]
    clock.t += 100  # a full bucket holds 0.5 s, however long it waited
    assert checks(4) == [True, True, True, False]
    assert (check.checked, check.skipped) == (7, 4)


def test_answers_with_nothing_learned_cost_no_budget():
    clock = FakeClock()
    check = DriftCheck(users_config(), share=0.0, burst=0.1, clock=clock)
    for _ in range(10):
        assert check.check("users_id", 500, Costly(clock, 1.0)) is None
    assert check.check("users_id", 200, Costly(clock, 1.0)) == []
    assert (check.checked, check.skipped) == (1, 0)


def test_a_tiny_budget_checks_the_first_answer_and_counts_the_rest():
    check = DriftCheck(users_config(), share=0.0, burst=1e-12)
    assert check.check("users_id", 200, answer(DRIFTS))
    assert [check.check("users_id", 200, answer(DRIFTS)) for _ in range(5)] == [None] * 5
    assert (check.checked, check.skipped) == (1, 5)


def test_a_reloaded_check_keeps_the_budget_and_counts():
    clock = FakeClock()
    first = DriftCheck(users_config(), share=0.0, burst=0.5, clock=clock)
    first.check("users_id", 200, Costly(clock, 1.0))
    first.check("users_id", 200, Costly(clock, 1.0))
    after = DriftCheck(users_config(), share=0.0, burst=0.5, clock=clock, previous=first)
    assert after.check("users_id", 200, Costly(clock, 1.0)) is None
    assert (after.checked, after.skipped) == (1, 2)


@settings(max_examples=100, deadline=None)
@given(
    steps=st.lists(st.tuples(st.floats(0, 2), st.floats(0, 0.2)), min_size=1, max_size=60),
    share=st.floats(0.01, 0.5),
    burst=st.floats(0.001, 0.5),
)
def test_checking_never_takes_more_than_its_share(steps, share, burst):
    clock = FakeClock()
    check = DriftCheck(users_config(), share=share, burst=burst, clock=clock)
    spent = 0.0
    for gap, cost in steps:
        clock.t += gap
        if check.check("users_id", 200, Costly(clock, cost)) is not None:
            spent += cost
    most = max(cost for _, cost in steps)
    assert spent <= burst + share * clock.t + most + 1e-9
    assert check.checked + check.skipped == len(steps)


# --- generated bodies never drift ------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=schemas(), key=st.text(max_size=12), edge=st.booleans())
def test_generated_bodies_fit_the_schema_they_came_from(schema, key, edge):
    generator = Generator(seed=3)
    value = generator.edge_case(schema, key=key) if edge else generator.generate(schema, key=key)
    learned = {"200": {"content_type": "application/json", "schema": schema}}
    check = DriftCheck(config(things={"path": "/things", "responses": learned}))
    assert check.violations("things", 200, Response(200, JSON_TYPE, json_body(value))) == []


# --- counted by the host -------------------------------------------------------------------


def row(how: str, status: int, response: Response | None, detail=None) -> tuple:
    """What a host records for a request of users_id: (row, request, response), `response`
    None when not kept."""
    head = ("GET", "/users/1", b"", "users_id", "proxy", how, status, 0.001, detail, None)
    return Row(0.0, *head), None, response


def test_stats_checks_live_rows_and_counts_drift():
    stats = Stats(drift=DriftCheck(users_config()))
    stats.record(*row("proxy", 200, answer(FITS), {"upstream": "http://a"}))
    stats.record(*row("proxy", 200, answer(DRIFTS), {"upstream": "http://a"}))
    stats.record(*row("replayed", 200, answer(DRIFTS)))  # the recording itself
    stats.record(*row("generated", 200, answer(DRIFTS)))
    stats.record(*row("handler", 200, None))  # a body too large to keep
    stats.record(*row("database", 200, answer(DRIFTS)))
    rows = list(stats.journal)
    assert rows[0][9] == {"upstream": "http://a"}
    assert rows[1][9]["upstream"] == "http://a"
    assert [v["path"] for v in rows[1][9]["drift"]] == ["$", "$.email", "$.id"]
    assert [r[9] for r in rows[2:5]] == [None, None, None]
    assert rows[5][9]["drift"]
    assert stats.per_endpoint()["users_id"]["drift"] == 2
    event = json.loads(stats.event_line(rows[1], 2)[len(b"data: ") :])
    assert event["detail"]["drift"][1] == {"path": "$.email", "message": "'x' is not a 'email'"}
    text = render_metrics(stats)
    assert 'backworks_responses_drifted_total{endpoint="users_id"} 2' in text
    assert "backworks_responses_unchecked_total 0" in text


def test_stats_without_a_check_count_nothing():
    stats = Stats()
    stats.record(*row("proxy", 200, answer(DRIFTS)))
    assert stats.journal[0].detail is None
    assert stats.per_endpoint()["users_id"]["drift"] == 0


# --- a mock with a runtime handler, in process -----------------------------------------------

HANDLER = """\
def handle(request):
    user_id = request["params"]["id"]
    if user_id == 1:
        return {"body": {"id": 1, "email": "ada@example.com", "name": "Ada"}}
    return {"body": {"id": str(user_id), "email": "x"}}
"""


def handler_project(directory: Path, schema: dict = USER) -> Path:
    (directory / "handlers").mkdir(exist_ok=True)
    (directory / "handlers" / "users.py").write_text(HANDLER)
    data = {
        "endpoints": {
            "users_id": {
                "path": "/users/{id}",
                "methods": ["GET"],
                "mode": "runtime",
                "params": {"id": {"type": "integer"}},
                "runtime": {"language": "python", "handler": "handlers/users.py"},
                "responses": {"200": {"content_type": "application/json", "schema": schema}},
            }
        }
    }
    path = directory / "backworks.yaml"
    path.write_text(json.dumps(data, indent=2))  # JSON is YAML
    return path


def test_a_mock_checks_its_handlers_and_a_reload_changes_the_schema(tmp_path):
    path = handler_project(tmp_path)
    app = create_app(load_config(path), config_path=path)

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as mock:
            assert (await mock.get("/users/1")).status_code == 200
            assert (await mock.get("/users/2")).status_code == 200
            before = (await mock.get(f"{ADMIN}/requests")).json()["requests"]
            handler_project(tmp_path, {"type": "object"})  # the schema learned anew
            assert await app.reload()
            await mock.get("/users/3")
            after = (await mock.get(f"{ADMIN}/requests")).json()["requests"]
            endpoints = (await mock.get(f"{ADMIN}/endpoints")).json()["endpoints"]
            return before, after, endpoints

    try:
        before, after, endpoints = asyncio.run(go())
    finally:
        app.engine.close()
    assert [r["how"] for r in before] == ["handler", "handler"]
    assert "detail" not in before[0]
    assert [v["path"] for v in before[1]["detail"]["drift"]] == ["$", "$.email", "$.id"]
    assert "detail" not in after[2]  # fits the new schema
    assert {e["name"]: e["drift"] for e in endpoints} == {"users_id": 1}
    assert app.stats.drift.checked == 3


# --- a real `backworks serve` in front of an upstream that changes ---------------------------


class Changing(LoopbackServer):
    """An upstream on loopback answering GET /users/N: the learned shape first, then not."""

    def __init__(self) -> None:
        served = []

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                served.append(self.path)
                self.send_json(FITS if len(served) == 1 else DRIFTS)

        self.served = served
        super().__init__(Handler)


def start_host(directory: Path, command: str, ready: str, *args: str) -> Running:
    """`backworks COMMAND -c backworks.yaml ARGS` in `directory`, once stderr says `ready`;
    stopped with SIGINT, as Ctrl-C."""
    return start_backworks(
        [command, "-c", "backworks.yaml", *args],
        cwd=directory,
        ready=ready,
        stop_signal=signal.SIGINT,
    )


def test_serve_reports_an_upstream_that_drifted(tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    with Changing() as upstream:
        data = {
            "endpoints": {
                "users_id": {
                    "path": "/users/{id}",
                    "methods": ["GET"],
                    "mode": "proxy",
                    "proxy": {"upstream": upstream.url},
                    "responses": {"200": {"content_type": "application/json", "schema": USER}},
                }
            }
        }
        (tmp_path / "backworks.yaml").write_text(json.dumps(data))
        host = start_host(
            tmp_path, "serve", "Serving", *("--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
        )
        try:
            port = Listening.bound(host).port
            admin = f"http://127.0.0.1:{admin_port_in(host.ready_line)}{ADMIN}"
            with httpx.Client(trust_env=False, timeout=10) as http:
                with http.stream("GET", f"{admin}/events") as events:
                    lines = events.iter_lines()
                    assert next(lines) == ": connected"
                    assert http.get(f"http://127.0.0.1:{port}/users/1").json() == FITS
                    assert http.get(f"http://127.0.0.1:{port}/users/2").json() == DRIFTS
                    seen = sse_events(lines, 2)

                def journaled() -> list[dict] | None:
                    rows = http.get(f"{admin}/requests").json()["requests"]
                    return rows if len(rows) == 2 else None

                journal = wait_until(journaled, "two journaled requests")
                endpoints = http.get(f"{admin}/endpoints").json()["endpoints"]
                metrics = http.get(f"{admin}/metrics").text
        finally:
            _, err = host.stop()
    assert "Traceback" not in err, err
    assert [(e["path"], e["how"]) for e in seen] == [("/users/1", "proxy"), ("/users/2", "proxy")]
    assert "drift" not in seen[0]["detail"] and seen[0]["detail"]["upstream"] == upstream.url
    assert [v["path"] for v in seen[1]["detail"]["drift"]] == ["$", "$.email", "$.id"]
    assert journal[1]["detail"]["drift"] == seen[1]["detail"]["drift"]
    assert {e["name"]: e["drift"] for e in endpoints} == {"users_id": 1}
    families = {f.name: f for f in text_string_to_metric_families(metrics)}
    drifted = families["backworks_responses_drifted"]
    assert drifted.type == "counter"
    assert [(s.labels["endpoint"], s.value) for s in drifted.samples] == [("users_id", 1)]
    assert families["backworks_responses_unchecked"].samples[0].value == 0


# --- the dashboard's alert -------------------------------------------------------------------


def test_the_dashboard_alerts_on_drift(tmp_path):
    from backworks_cli.dashboard import create_app as dashboard
    from backworks_cli.dashboard.screens import DetailScreen
    from tests.dashboard.test_dashboard import static_text, until

    handler_project(tmp_path)
    host = start_host(tmp_path, "mock", "Mock serving", "--port", "0")
    url = Listening.bound(host).url
    app = dashboard(url)

    def alert_rows() -> list[str]:
        table = app.query_one("#alerts-table")
        return [" ".join(str(c) for c in table.cells_at(i)) for i in range(table.row_count)]

    async def scenario():
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.streaming, "the event stream")
            async with httpx.AsyncClient(trust_env=False) as client:
                for n in (1, 2, 3):
                    assert (await client.get(f"{url}/users/{n}")).status_code == 200
            await until(
                pilot,
                lambda: getattr(app.model.alerts.get(("drift", "users_id")), "count", 0) == 2,
                "two drifts in one alert",
            )
            alert = app.model.alerts[("drift", "users_id")]
            assert alert.message == "GET /users/3 → 200: $: 'name' is a required property (+2 more)"
            await pilot.press("3")
            row = await until(
                pilot,
                lambda: next((r for r in alert_rows() if "drift" in r), None),
                "the drift alert on the alerts screen",
            )
            assert "users_id" in row and "'name' is a required" in row
            app.query_one("#alerts-table").focus()
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail screen")
            why = static_text(app, "#why")
            assert "no longer fits" in why
            assert "✗ $.email: 'x' is not a 'email'" in why and "✗ $.id" in why

    try:
        asyncio.run(scenario())
    finally:
        _, err = host.stop()
    assert "Traceback" not in err, err
