"""Replay and mock modes over a store recorded from the sample shop API (run in process with
httpx.ASGITransport, redacted as capture would): exact replay of every exchange, miss
explanations, repeat sequences, redacted placeholders matching live secrets, generation from
schemas, in-memory CRUD state, request validation, latency and faults."""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from backworks_cli.answer.engine import Engine, Outcome
from backworks_cli.answer.modes.replay import prepare
from backworks_cli.config.load import load_config
from backworks_cli.config.model import Config, RecordingsConfig
from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.demo.sample_api import DEMO_PASSWORD, create_app
from backworks_cli.record.redact import Redactor
from backworks_cli.record.store import Store

JSON = (("Content-Type", "application/json"),)


# --- a store recorded from the sample API -------------------------------------------------


def _pairs(raw: list[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    return tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)


def to_exchange(response: httpx.Response, started: float, ms: float) -> Exchange:
    request = response.request
    return Exchange(
        Request(
            request.method,
            request.url.path,
            tuple(request.url.params.multi_items()),
            _pairs(request.headers.raw),
            request.content,
            request.url.scheme,
            request.url.host,
            request.url.port or 0,
        ),
        Response(
            response.status_code,
            _pairs(response.headers.raw),
            response.content,
            response.reason_phrase,
            encoding=response.headers.get("content-encoding"),
        ),
        started_at=started,
        duration_ms=ms,
    )


async def journey() -> tuple[list[Exchange], dict]:
    """A client's visit to the shop, every response recorded; and the secrets it used."""
    app = create_app()
    recorded: list[Exchange] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:

        async def call(method: str, url: str, **kwargs) -> httpx.Response:
            started, clock = time.time(), time.perf_counter()
            response = await client.request(method, url, **kwargs)
            recorded.append(to_exchange(response, started, (time.perf_counter() - clock) * 1000))
            return response

        user = app.users[0]["username"]
        await call("GET", "/api/health")
        await call("GET", "/api/users", params={"page": 1, "per_page": 5})
        for uid in (1, 2, 3, 999):
            await call("GET", f"/api/users/{uid}")
        await call("GET", "/api/users/me")
        await call("POST", "/api/login", json={"username": "nobody", "password": "wrong"})
        login = await call("POST", "/api/login", json={"username": user, "password": DEMO_PASSWORD})
        token = login.json()["access_token"]
        await call("GET", "/api/users/me", headers={"Authorization": f"Bearer {token}"})
        await call("GET", "/api/products", headers={"Accept-Encoding": "gzip"})
        await call("GET", "/api/products/2")
        await call("GET", "/api/orders")
        order = {"user_id": 1, "items": [{"product_id": 1, "quantity": 2}]}
        await call("POST", "/api/orders", json=order)
        await call("POST", "/api/orders", json={"user_id": 1, "items": []})
        await call("GET", "/api/orders/1")
        await call("GET", "/api/reports/daily")
        await call("GET", "/api/avatar/1.png")
        await call("GET", "/api/events", params={"count": 2})
    return recorded, {"token": token, "user": user}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """(store path, the exchanges as the client saw them, the secrets used)."""
    recorded, secrets = asyncio.run(journey())
    path = tmp_path_factory.mktemp("shop") / "recordings" / "backworks.db"
    with Store.open(path, create=True) as db:
        db.add_many(recorded, redactor=Redactor(db.redaction_key()))
    return path, recorded, secrets


def stored(path: Path) -> list[Exchange]:
    with Store.open(path) as db:
        return list(db.query())


def engine_for(tmp_path: Path, store: Path, text: str, **options) -> Engine:
    config = tmp_path / "backworks.yaml"
    body = f"recordings:\n  path: {store}\n" + textwrap.dedent(text)
    config.write_text(body, encoding="utf-8")
    return Engine.build(load_config(config), **options)


def send(engine: Engine, method: str, path: str, data=None, **request) -> Outcome:
    if data is not None:
        request["body"] = data if isinstance(data, bytes) else json.dumps(data).encode()
        request["headers"] = (*JSON, *request.get("headers", ()))
    return engine.handle(Request(method, path, **request))


def body(outcome: Outcome):
    return json.loads(outcome.response.body)


# --- replay --------------------------------------------------------------------------------


def test_every_recorded_exchange_replays_exactly(shop):
    path, _, _ = shop
    engine = Engine.build(Config(recordings=RecordingsConfig(path=path)))
    exchanges = stored(path)
    assert len(exchanges) == 19
    for ex in exchanges:
        outcome = engine.handle(ex.request)
        where = f"#{ex.id} {ex.request.method} {ex.request.target}"
        assert outcome.how == "replayed", where
        assert outcome.mode == "replay"
        assert outcome.response.status == ex.response.status, where
        assert outcome.response.body == ex.response.body, where
        assert outcome.response.content_type == ex.response.content_type, where
        names = {name.lower() for name, _ in outcome.response.headers}
        assert not names & {"content-length", "content-encoding", "transfer-encoding"}, where


def test_replayed_bodies_are_decoded_and_headers_kept(shop):
    path, recorded, _ = shop
    engine = Engine.build(Config(recordings=RecordingsConfig(path=path)))
    products = engine.handle(Request("GET", "/api/products"))
    assert json.loads(products.response.body) == recorded[10].response.json()
    assert products.response.header("Vary") == "Accept-Encoding"
    avatar = engine.handle(Request("GET", "/api/avatar/1.png"))
    assert avatar.response.body.startswith(b"\x89PNG")
    assert avatar.response.header("Cache-Control") == "max-age=86400"


def test_a_hit_returns_the_same_prepared_response_every_time(shop):
    path, _, _ = shop
    engine = Engine.build(Config(recordings=RecordingsConfig(path=path)))
    first = engine.handle(Request("GET", "/api/users/1"))
    assert engine.handle(Request("GET", "/api/users/1")).response is first.response


def test_prepare_drops_hop_by_hop_and_framing_headers():
    response = Response(
        200,
        (
            ("Content-Type", "text/plain"),
            ("Connection", "keep-alive, X-Hop"),
            ("X-Hop", "1"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Encoding", "br"),
            ("Content-Length", "3"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ),
        b"abc",
        encoding="br",
    )
    prepared = prepare(response)
    assert prepared.headers == (
        ("Content-Type", "text/plain"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    )
    assert prepared.body == b"abc" and prepared.encoding is None


def test_a_miss_explains_itself(shop, tmp_path):
    path, _, _ = shop
    text = """\
    endpoints:
      user:
        path: /api/users/{id}
        methods: [GET]
        mode: replay
        params: {id: {type: integer}}
    """
    engine = engine_for(tmp_path, path, text)
    outcome = engine.handle(Request("GET", "/api/users/2", query=(("verbose", "1"),)))
    assert (outcome.how, outcome.endpoint, outcome.mode) == ("miss", "user", "replay")
    assert outcome.response.status == 404
    assert outcome.response.header("x-backworks-miss") == "1"
    data = body(outcome)
    assert data == outcome.detail
    assert data["error"] == "no recording matches"
    assert data["request"] == {"method": "GET", "target": "/api/users/2?verbose=1"}
    nearest = data["nearest"][0]
    assert nearest["target"] == "/api/users/2"
    failed = [m for m in nearest["matchers"] if not m["ok"]]
    assert [m["name"] for m in failed] == ["query"]
    assert "verbose" in failed[0]["why"]


@pytest.mark.parametrize(
    ("sequence", "statuses"),
    [
        ("repeat_last", [401, 200, 200, 200]),
        ("cycle", [401, 200, 401, 200]),
        ("first", [401, 401, 401, 401]),
    ],
)
def test_repeats_follow_the_sequence_rule_and_reset(shop, tmp_path, sequence, statuses):
    path, _, _ = shop
    text = f"""\
    replay:
      sequence: {sequence}
    endpoints:
      me:
        path: /api/users/me
        methods: [GET]
        mode: replay
    """
    engine = engine_for(tmp_path, path, text)
    me = Request("GET", "/api/users/me")
    assert [engine.handle(me).response.status for _ in statuses] == statuses
    engine.reset()
    assert [engine.handle(me).response.status for _ in statuses] == statuses


def test_live_secrets_match_their_redacted_recordings(shop, tmp_path):
    path, _, secrets = shop
    text = """\
    endpoints:
      me:
        path: /api/users/me
        methods: [GET]
        mode: replay
        replay: {headers: [Authorization]}
      login:
        path: /api/login
        methods: [POST]
        mode: replay
    """
    engine = engine_for(tmp_path, path, text)
    stored_me = [ex for ex in stored(path) if ex.request.path == "/api/users/me"][1]
    assert secrets["token"] not in str(stored_me.request.headers)  # redacted in the store

    live = (("Authorization", f"Bearer {secrets['token']}"),)
    outcome = engine.handle(Request("GET", "/api/users/me", headers=live))
    assert outcome.how == "replayed" and outcome.response.status == 200
    assert body(outcome)["username"] == secrets["user"]
    assert engine.handle(Request("GET", "/api/users/me")).response.status == 401
    other = (("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"),)
    assert engine.handle(Request("GET", "/api/users/me", headers=other)).how == "miss"

    good = {"username": secrets["user"], "password": DEMO_PASSWORD}
    login = send(engine, "POST", "/api/login", good)
    assert login.how == "replayed" and login.response.status == 200
    assert body(login)["token_type"] == "bearer"
    wrong = send(engine, "POST", "/api/login", {**good, "password": "not-it"})
    assert wrong.how == "miss"
    assert any("$.password" in m["why"] for m in wrong.detail["nearest"][0]["matchers"])


# --- mock: generation ----------------------------------------------------------------------

USER_SCHEMA = {
    "type": "object",
    "required": ["id", "name", "email"],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "name": {"type": "string", "x-semantic": "full_name"},
        "email": {"type": "string", "format": "email", "x-semantic": "email"},
    },
    "additionalProperties": False,
}

GENERATED = f"""\
endpoints:
  user:
    path: /api/people/{{id}}
    methods: [GET]
    params: {{id: {{type: integer}}}}
    responses:
      "200":
        content_type: application/json
        schema: {json.dumps(USER_SCHEMA)}
        headers: {{X-Request-Id: {{type: string, minLength: 4}}}}
      "404":
        schema: {{type: object}}
  recorded_user:
    path: /api/users/{{id}}
    methods: [GET]
    params: {{id: {{type: integer}}}}
    responses:
      "200": {{schema: {json.dumps(USER_SCHEMA)}}}
  plain:
    path: /api/plain
    methods: [GET]
  created:
    path: /api/things
    methods: [POST]
    responses:
      "201": {{schema: {{type: object}}}}
      "202": {{schema: {{type: string}}}}
    status_mix: {{"201": 0.2, "202": 0.8}}
"""


def test_mock_generates_from_the_schema_with_the_path_id(shop, tmp_path):
    path, _, _ = shop
    engine = engine_for(tmp_path, path, GENERATED, seed=11)
    outcome = engine.handle(Request("GET", "/api/people/42"))
    assert (outcome.how, outcome.endpoint, outcome.mode) == ("generated", "user", "mock")
    assert outcome.response.status == 200
    assert outcome.response.content_type == "application/json"
    data = body(outcome)
    assert list(Draft202012Validator(USER_SCHEMA).iter_errors(data)) == []
    assert data["id"] == 42
    assert "@" in data["email"]
    assert len(outcome.response.header("X-Request-Id")) >= 4
    assert body(engine.handle(Request("GET", "/api/people/7")))["id"] == 7


@pytest.mark.parametrize(
    ("path", "properties", "sent", "field", "expected"),
    [
        # The id under another name than `id`, in either spelling.
        ("/users/{id}", {"user_id": "integer", "name": "string"}, "42", "user_id", 42),
        ("/users/{userId}", {"user_id": "integer"}, "987654321987", "user_id", 987654321987),
        ("/orders/{order_id}", {"id": "string", "total": "number"}, "ord_9Xz", "id", "ord_9Xz"),
        # A parameter that is no id, held by the property of its name.
        (
            "/users/{username}",
            {"username": "string", "id": "integer"},
            "torvalds",
            "username",
            "torvalds",
        ),
        ("/products/{sku}", {"SKU": "string"}, "AB-1234-ZZ", "SKU", "AB-1234-ZZ"),
        ("/reports/{day}", {"day": "string", "rows": "integer"}, "2010-04-01", "day", "2010-04-01"),
    ],
)
def test_the_path_parameter_is_carried_by_the_body_field_that_holds_it(
    tmp_path, path, properties, sent, field, expected
):
    schema = {
        "type": "object",
        "required": list(properties),
        "properties": {name: {"type": kind} for name, kind in properties.items()},
    }
    text = f"""
    endpoints:
      item: {{path: "{path}", methods: [GET], mode: mock,
             responses: {{"200": {{schema: {json.dumps(schema)}}}}}}}
    """
    engine = engine_for(tmp_path, tmp_path / "none.db", text)
    concrete = re.sub(r"\{[^}]+\}", sent, path)
    data = body(engine.handle(Request("GET", concrete)))
    assert data[field] == expected
    assert list(Draft202012Validator(schema).iter_errors(data)) == []


def test_a_path_value_that_does_not_fit_the_property_leaves_it_generated(tmp_path):
    schema = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
    text = f"""
    endpoints:
      item: {{path: "/users/{{id}}", methods: [GET], mode: mock,
             responses: {{"200": {{schema: {json.dumps(schema)}}}}}}}
    """
    engine = engine_for(tmp_path, tmp_path / "none.db", text)
    data = body(engine.handle(Request("GET", "/users/torvalds")))
    assert isinstance(data["id"], int)
    assert body(engine.handle(Request("GET", "/users/-12")))["id"] == -12


@pytest.mark.parametrize(
    ("path", "properties", "expected"),
    [
        ("/users/{uid}", {"name": "string"}, None),  # nothing holds it
        ("/users/{id}/orders", {"id": "integer"}, None),  # not the item's own path
        ("/users/{id}.png", {"id": "integer"}, None),
        ("/users/{uid}", {"uid": ["integer", "null"]}, ("uid", "uid", ["integer", "null"])),
        ("/pets/{petId}", {"pet-id": "integer"}, ("petId", "pet-id", "integer")),
        ("/categories/{id}", {"category_id": "integer"}, ("id", "category_id", "integer")),
    ],
)
def test_path_field_names_the_parameter_and_the_property(path, properties, expected):
    from backworks_cli.answer.modes.mock import path_field
    from backworks_cli.config.model import Endpoint

    schema = {"type": "object", "properties": {k: {"type": v} for k, v in properties.items()}}
    assert path_field(Endpoint(name="e", path=path), schema) == expected
    assert path_field(Endpoint(name="e", path=path), {"type": "array"}) is None


def test_generation_is_deterministic_per_seed_endpoint_and_parameters(shop, tmp_path):
    path, _, _ = shop
    one = engine_for(tmp_path, path, GENERATED, seed=11)
    two = engine_for(tmp_path, path, GENERATED, seed=11)
    other = engine_for(tmp_path, path, GENERATED, seed=12)

    def answer(engine: Engine, uid: int) -> bytes:
        return engine.handle(Request("GET", f"/api/people/{uid}")).response.body

    assert answer(one, 42) == answer(two, 42) == answer(one, 42)
    assert answer(one, 42) != answer(one, 43)
    assert answer(one, 42) != answer(other, 42)


def test_mock_replays_first_and_generates_on_a_miss(shop, tmp_path):
    path, recorded, _ = shop
    engine = engine_for(tmp_path, path, GENERATED, seed=11)
    hit = engine.handle(Request("GET", "/api/users/1"))
    assert (hit.how, hit.mode) == ("replayed", "mock")
    assert hit.response.body == recorded[2].response.body
    generated = engine.handle(Request("GET", "/api/users/5"))
    assert generated.how == "generated" and body(generated)["id"] == 5


def test_only_answers_that_cannot_change_are_marked_stable(shop, tmp_path):
    path, _, _ = shop
    engine = engine_for(tmp_path, path, GENERATED, seed=11)
    assert engine.handle(Request("GET", "/api/people/42")).stable  # generated
    assert engine.handle(Request("GET", "/api/users/1")).stable  # replayed by mock mode
    keyed = GENERATED.replace(
        "    path: /api/people/{id}\n",
        "    path: /api/people/{id}\n    replay: {headers: [x-tenant]}\n",
    )
    engine = engine_for(tmp_path, path, keyed, seed=11)
    assert not engine.handle(Request("GET", "/api/people/42")).stable  # a header may decide
    late = GENERATED.replace(
        "    path: /api/people/{id}\n",
        "    path: /api/people/{id}\n    mock: {latency: {fixed: 1}}\n",
    )
    engine = engine_for(tmp_path, path, late, seed=11)
    assert not engine.handle(Request("GET", "/api/people/42")).stable  # drawn per request
    engine = engine_for(tmp_path, path, STATE)
    assert not engine.handle(Request("GET", "/api/users")).stable
    assert not engine.handle(Request("GET", "/api/users/2")).stable


def test_mock_without_schema_or_recording_answers_an_empty_object(shop, tmp_path):
    path, _, _ = shop
    engine = engine_for(tmp_path, path, GENERATED)
    outcome = engine.handle(Request("GET", "/api/plain"))
    assert (outcome.how, outcome.response.status, outcome.response.body) == (
        "generated",
        200,
        b"{}",
    )


def test_mock_answers_with_the_most_common_success_status(shop, tmp_path):
    path, _, _ = shop
    engine = engine_for(tmp_path, path, GENERATED, seed=1)
    outcome = send(engine, "POST", "/api/things", {"a": 1})
    assert outcome.response.status == 202
    assert isinstance(body(outcome), str)


def test_strict_mock_answers_a_miss_instead_of_generating(shop, tmp_path):
    path, _, _ = shop
    engine = engine_for(tmp_path, path, GENERATED, strict=True)
    assert engine.handle(Request("GET", "/api/users/1")).how == "replayed"
    outcome = engine.handle(Request("GET", "/api/users/5"))
    assert (outcome.how, outcome.response.status) == ("miss", 404)
    assert outcome.response.header("x-backworks-miss") == "1"


def test_edge_cases_are_generated_deterministically(shop, tmp_path):
    path, _, _ = shop
    one = engine_for(tmp_path, path, GENERATED, seed=5, edge_cases=True)
    two = engine_for(tmp_path, path, GENERATED, seed=5, edge_cases=True)
    first = one.handle(Request("GET", "/api/people/3"))
    assert first.how == "generated" and first.response.status == 200
    json.loads(first.response.body)
    assert first.response.body == two.handle(Request("GET", "/api/people/3")).response.body


# --- mock: state ---------------------------------------------------------------------------

STATE = """\
endpoints:
  users:
    path: /api/users
    methods: [GET, POST]
    mock: {state: true}
  user:
    path: /api/users/{id}
    methods: [GET, PUT, PATCH, DELETE]
    params: {id: {type: integer}}
    mock: {state: true}
  orders:
    path: /api/orders
    methods: [GET, POST]
    mock: {state: true}
  order:
    path: /api/orders/{order_id}
    methods: [GET, DELETE]
    mock: {state: true}
"""


def test_state_is_seeded_from_recorded_lists_and_items(shop, tmp_path):
    path, recorded, _ = shop
    engine = engine_for(tmp_path, path, STATE)
    listing = engine.handle(Request("GET", "/api/users"))
    assert (listing.how, listing.response.status) == ("state", 200)
    data = body(listing)
    recorded_page = recorded[1].response.json()
    assert [u["id"] for u in data["data"]] == [1, 2, 3, 4, 5]
    assert data["total"] == 5 and data["next"] is None
    assert data["per_page"] == recorded_page["per_page"]
    assert body(engine.handle(Request("GET", "/api/users/2"))) == recorded[3].response.json()
    orders = body(engine.handle(Request("GET", "/api/orders")))
    assert isinstance(orders, list) and len(orders) == 12
    mine = body(engine.handle(Request("GET", "/api/orders", query=(("user_id", "1"),))))
    assert mine == [o for o in orders if o["user_id"] == 1]


def test_state_crud_round_trip_and_reset(shop, tmp_path):
    path, _, _ = shop
    engine = engine_for(tmp_path, path, STATE)
    created = send(engine, "POST", "/api/users", {"name": "Grace Hopper", "id": 99})
    assert (created.how, created.response.status) == ("state", 201)
    assert created.response.header("Location") == "/api/users/6"
    assert body(created) == {"id": 6, "name": "Grace Hopper"}
    assert body(engine.handle(Request("GET", "/api/users/6"))) == {"id": 6, "name": "Grace Hopper"}
    assert body(engine.handle(Request("GET", "/api/users")))["total"] == 6

    replaced = send(engine, "PUT", "/api/users/6", {"name": "G. Hopper", "rank": "admiral"})
    assert body(replaced) == {"id": 6, "name": "G. Hopper", "rank": "admiral"}
    patched = send(engine, "PATCH", "/api/users/6", {"rank": None, "navy": {"years": 43}})
    assert body(patched) == {"id": 6, "name": "G. Hopper", "navy": {"years": 43}}

    deleted = engine.handle(Request("DELETE", "/api/users/6"))
    assert (deleted.response.status, deleted.response.body) == (204, b"")
    gone = engine.handle(Request("GET", "/api/users/6"))
    assert (gone.how, gone.response.status) == ("state", 404)
    assert engine.handle(Request("DELETE", "/api/users/6")).response.status == 404

    send(engine, "POST", "/api/users", {"name": "again"})
    engine.reset()
    assert engine.handle(Request("GET", "/api/users/6")).response.status == 404
    assert [u["id"] for u in body(engine.handle(Request("GET", "/api/users")))["data"]] == [
        1,
        2,
        3,
        4,
        5,
    ]


def test_state_rejects_bodies_that_are_not_json_objects(shop, tmp_path):
    path, _, _ = shop
    engine = engine_for(tmp_path, path, STATE)
    broken = send(engine, "POST", "/api/orders", b"{not json")
    assert (broken.how, broken.response.status) == ("invalid", 400)
    listed = send(engine, "POST", "/api/orders", [1, 2])
    assert (listed.how, listed.response.status) == ("invalid", 422)
    created = send(engine, "POST", "/api/orders", {"user_id": 2, "items": []})
    assert body(created)["id"] == 13
    assert body(engine.handle(Request("GET", "/api/orders/13")))["user_id"] == 2


# --- mock: validation ----------------------------------------------------------------------

VALIDATED = """\
endpoints:
  create_order:
    path: /api/orders
    methods: [POST]
    mock: {validate: true}
    request:
      content_type: application/json
      schema:
        type: object
        required: [user_id, items]
        properties:
          user_id: {type: integer}
          items:
            type: array
            minItems: 1
            items:
              type: object
              required: [product_id, quantity]
              properties:
                product_id: {type: integer}
                quantity: {type: integer, minimum: 1, maximum: 100}
  list_users:
    path: /api/users
    methods: [GET]
    mock: {validate: true}
    query:
      page: {type: integer, minimum: 1, required: true}
      per_page: {type: integer, maximum: 100}
"""


def test_invalid_request_bodies_get_422_with_every_violation(shop, tmp_path):
    path, _, _ = shop
    engine = engine_for(tmp_path, path, VALIDATED)
    outcome = send(engine, "POST", "/api/orders", {"items": [{"product_id": "x", "quantity": 0}]})
    assert (outcome.how, outcome.response.status) == ("invalid", 422)
    data = body(outcome)
    assert data["error"] == "request does not match the schema"
    assert data == outcome.detail
    paths = [v["path"] for v in data["violations"]]
    assert paths == ["$", "$.items[0].product_id", "$.items[0].quantity"]
    assert "user_id" in data["violations"][0]["message"]

    broken = send(engine, "POST", "/api/orders", b'{"user_id": 1,')
    assert broken.response.status == 422
    assert body(broken)["violations"][0]["message"].startswith("the body is not valid JSON")
    empty = engine.handle(Request("POST", "/api/orders"))
    assert empty.response.status == 422


def test_valid_requests_pass_validation(shop, tmp_path):
    path, recorded, _ = shop
    engine = engine_for(tmp_path, path, VALIDATED)
    order = {"user_id": 1, "items": [{"product_id": 1, "quantity": 2}]}
    outcome = send(engine, "POST", "/api/orders", order)
    assert outcome.how == "replayed" and outcome.response.status == 201
    assert outcome.response.body == recorded[13].response.body


def test_query_parameters_are_validated(shop, tmp_path):
    path, _, _ = shop
    engine = engine_for(tmp_path, path, VALIDATED)
    missing = engine.handle(Request("GET", "/api/users"))
    assert body(missing)["violations"] == [
        {"path": "query.page", "message": "required query parameter is missing"}
    ]
    wrong = engine.handle(Request("GET", "/api/users", query=(("page", "x"), ("per_page", "500"))))
    assert [v["path"] for v in body(wrong)["violations"]] == ["query.page", "query.per_page"]
    ok = engine.handle(Request("GET", "/api/users", query=(("page", "1"), ("per_page", "5"))))
    assert ok.how == "replayed"


# --- latency and faults --------------------------------------------------------------------


def behaving(tmp_path: Path, store: Path, mock: str, endpoint: str = "", **options) -> Engine:
    text = f"""\
    endpoints:
      user:
        path: /api/users/{{id}}
        methods: [GET]
        {endpoint}
        mock: {mock}
    """
    return engine_for(tmp_path, store, text, **options)


def delays(engine: Engine, n: int = 200) -> list[float]:
    return [engine.handle(Request("GET", f"/api/users/{i % 3 + 1}")).delay_ms for i in range(n)]


def test_latency_settings(shop, tmp_path):
    path, _, _ = shop
    assert set(delays(behaving(tmp_path, path, "{latency: none}"), 5)) == {0.0}
    assert set(delays(behaving(tmp_path, path, "{latency: {fixed: 25}}"), 5)) == {25.0}
    uniform = delays(behaving(tmp_path, path, "{latency: {uniform: [5, 10]}}"))
    assert all(5 <= d <= 10 for d in uniform) and len(set(uniform)) > 100
    assert uniform == delays(behaving(tmp_path, path, "{latency: {uniform: [5, 10]}}"))
    lognormal = delays(behaving(tmp_path, path, "{latency: {lognormal: {p50: 10, p95: 40}}}"), 4000)
    assert 8.5 < statistics.median(lognormal) < 11.5
    assert 30 < statistics.quantiles(lognormal, n=20)[-1] < 50
    learned = "latency: {p50: 12.5, p95: 12.5}"
    assert set(delays(behaving(tmp_path, path, "{latency: recorded}", learned), 5)) == {12.5}


def test_recorded_latency_is_learned_from_the_recordings(shop, tmp_path):
    path, _, _ = shop
    engine = behaving(tmp_path, path, "{latency: recorded}")
    assert all(d > 0 for d in delays(engine, 20))


def test_faults(shop, tmp_path):
    path, _, _ = shop
    errors = behaving(tmp_path, path, "{faults: {error_rate: 1.0, error_status: 503}}")
    outcome = errors.handle(Request("GET", "/api/users/1"))
    assert (outcome.how, outcome.response.status) == ("fault", 503)
    assert body(outcome)["error"] == "injected fault"

    resets = behaving(tmp_path, path, "{faults: {reset_rate: 1.0}}")
    outcome = resets.handle(Request("GET", "/api/users/1"))
    assert (outcome.how, outcome.fault) == ("fault", "reset")

    slow = behaving(tmp_path, path, "{faults: {slow_body: {bytes_per_second: 100}}}")
    outcome = slow.handle(Request("GET", "/api/users/1"))
    assert (outcome.how, outcome.fault, outcome.fault_arg) == ("replayed", "slow_body", 100.0)
    assert outcome.response.status == 200

    some = behaving(tmp_path, path, "{faults: {error_rate: 0.3}}", seed=9)
    hows = [some.handle(Request("GET", "/api/users/1")).how for _ in range(400)]
    assert 0.2 < hows.count("fault") / 400 < 0.4
    again = behaving(tmp_path, path, "{faults: {error_rate: 0.3}}", seed=9)
    assert hows == [again.handle(Request("GET", "/api/users/1")).how for _ in range(400)]


def make_store(path: Path, exchanges: list[Exchange]) -> Path:
    with Store.open(path, create=True) as db:
        for ex in exchanges:
            db.add(ex)
    return path


def listed(path: str, data) -> Exchange:
    return Exchange(Request("GET", path), Response(200, JSON, json.dumps(data).encode()))


def test_nested_collections_keep_items_per_parent(tmp_path):
    store = make_store(
        tmp_path / "r.db",
        [
            listed("/api/users/1/orders", {"items": [{"id": 1, "total": 5}], "count": 1}),
            listed("/api/users/2/orders", {"items": [{"id": 1, "total": 7}], "count": 1}),
        ],
    )
    text = """\
    mock: {state: true}
    endpoints:
      orders:
        path: /api/users/{uid}/orders
        methods: [GET, POST]
      order:
        path: /api/users/{user_id}/orders/{id}
        methods: [GET]
        params: {user_id: {type: integer}}
    """
    engine = engine_for(tmp_path, store, text)
    assert body(engine.handle(Request("GET", "/api/users/1/orders/1")))["total"] == 5
    assert body(engine.handle(Request("GET", "/api/users/2/orders/1")))["total"] == 7
    created = send(engine, "POST", "/api/users/2/orders", {"total": 9})
    assert created.response.header("Location") == "/api/users/2/orders/2"
    assert body(engine.handle(Request("GET", "/api/users/2/orders"))) == {
        "items": [{"id": 1, "total": 7}, {"id": 2, "total": 9}],
        "count": 2,
    }
    assert body(engine.handle(Request("GET", "/api/users/1/orders")))["count"] == 1
    assert engine.handle(Request("GET", "/api/users/3/orders/1")).response.status == 404


def test_items_with_text_ids_get_deterministic_new_ids(tmp_path):
    store = make_store(tmp_path / "r.db", [listed("/things", [{"id": "a1", "n": 1}])])
    text = """\
    endpoints:
      things: {path: /things, methods: [GET, POST], mock: {state: true}}
      thing: {path: "/things/{id}", methods: [GET], mock: {state: true}}
    """
    one, two = engine_for(tmp_path, store, text), engine_for(tmp_path, store, text)
    first = body(send(one, "POST", "/things", {"n": 2}))["id"]
    assert first == body(send(two, "POST", "/things", {"n": 2}))["id"]
    assert len(first) == 36 and first != "a1"
    assert body(one.handle(Request("GET", f"/things/{first}"))) == {"id": first, "n": 2}
    assert body(one.handle(Request("GET", "/things/a1")))["n"] == 1


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/users/{id}", "id"),
        ("/users/{user_id}", "user_id"),
        ("/users/{userId}", "userId"),
        ("/categories/{category_id}/", "category_id"),
        ("/users/{uid}", None),
        ("/users/{id}/orders", None),
        ("/users/{id}.png", None),
    ],
)
def test_the_item_parameter_is_recognised(path, expected):
    from backworks_cli.answer.modes.mock import id_param
    from backworks_cli.config.model import Endpoint

    assert id_param(Endpoint(name="e", path=path)) == expected


def test_the_lowest_success_status_is_used_without_a_status_mix():
    from backworks_cli.answer.modes.mock import pick_status
    from backworks_cli.config.model import Endpoint

    responses = {s: {"schema": {"const": s}} for s in ("404", "201", "200")}
    assert pick_status(Endpoint(name="e", path="/", responses=responses)) == (200, responses["200"])
    assert pick_status(Endpoint(name="e", path="/")) == (200, None)
    mixed = Endpoint(name="e", path="/", status_mix={"204": 0.7, "200": 0.3})
    assert pick_status(mixed) == (204, None)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=2), JSON_VALUES), JSON_VALUES)
def test_merge_patch_is_idempotent_and_empty_patches_change_nothing(target, patch):
    from backworks_cli.answer.state import merge_patch

    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once
    assert merge_patch(target, {}) == target
    if isinstance(patch, dict):
        for key, value in patch.items():
            assert (key not in once) if value is None else key in once


def test_collections_are_unwrapped_from_common_envelopes():
    from backworks_cli.answer.state import unwrap

    assert unwrap([1]) == ([1], None)
    assert unwrap({"data": [1], "page": 1}) == ([1], "data")
    assert unwrap({"results": [2]}) == ([2], "results")
    assert unwrap({"data": {"a": 1}}) == (None, None)
    assert unwrap("text") == (None, None)
