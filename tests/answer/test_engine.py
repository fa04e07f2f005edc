"""The engine: routing precedence, typed path parameters, 404 with the closest paths, 405 with
Allow, endpoints derived from a store without configuration, start-up with and without a
store, notes, reset, and determinism; a property test checks the router against a plain
reference implementation of the precedence rules."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backworks_cli.answer.engine import Engine, Outcome, derive_endpoints
from backworks_cli.config.load import load_config
from backworks_cli.config.model import Config, Endpoint, RecordingsConfig
from backworks_cli.core.errors import ConfigError, StoreError
from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.core.paths import normalise
from backworks_cli.core.routing import Router
from backworks_cli.record.store import Store

JSON = (("Content-Type", "application/json"),)


def exchange(method: str, path: str, data: object, status: int = 200, **request) -> Exchange:
    return Exchange(
        Request(method, path, **request),
        Response(status, JSON, json.dumps(data).encode()),
        duration_ms=10.0,
    )


def make_store(path: Path, exchanges: list[Exchange]) -> Path:
    with Store.open(path, create=True) as db:
        for ex in exchanges:
            db.add(ex)
    return path


def configure(tmp_path: Path, text: str, exchanges: list[Exchange] | None = None) -> Config:
    """backworks.yaml in tmp_path with a store next to it (unless exchanges is None)."""
    if exchanges is not None:
        make_store(tmp_path / "recordings" / "backworks.db", exchanges)
    path = tmp_path / "backworks.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(path)


def get(engine: Engine, path: str, method: str = "GET", **request) -> Outcome:
    return engine.handle(Request(method, path, **request))


def body(outcome: Outcome) -> object:
    return json.loads(outcome.response.body)


# --- routing -------------------------------------------------------------------------------


ROUTES = """\
endpoints:
  by_kind:
    path: /api/{kind}/{id}
    methods: [GET]
  user:
    path: /api/users/{id}
    methods: [GET, PUT]
    params:
      id: {type: integer}
  user_by_name:
    path: /api/users/{name}
    methods: [GET]
  me:
    path: /api/users/me
    methods: [GET]
  price:
    path: /api/prices/{amount}
    methods: [GET]
    params:
      amount: {type: number}
  flag:
    path: /api/flags/{enabled}
    methods: [GET]
    params:
      enabled: {type: boolean}
  avatar:
    path: /api/avatars/{id}.png
    methods: [GET]
    params:
      id: {type: integer}
  orders:
    path: /api/users/{user_id}/orders
    methods: [GET, POST]
"""


@pytest.fixture
def routes(tmp_path):
    return Engine.build(configure(tmp_path, ROUTES, []))


def test_static_path_wins_over_template_whatever_the_order(routes):
    assert get(routes, "/api/users/me").endpoint == "me"
    assert get(routes, "/api/users/7").endpoint == "user"


def test_more_literal_segments_win_over_earlier_templates(routes):
    # by_kind comes first in the file but has one literal segment against user's two.
    assert get(routes, "/api/products/7").endpoint == "by_kind"
    assert get(routes, "/api/users/7").endpoint == "user"


def test_a_parameter_that_does_not_convert_means_no_match_for_that_template(routes):
    assert get(routes, "/api/users/ada").endpoint == "user_by_name"
    assert get(routes, "/api/users/-3").endpoint == "user"
    assert get(routes, "/api/users/3.5").endpoint == "user_by_name"


def test_numbers_too_long_or_too_large_to_convert_do_not_match(routes):
    digits = "9" * 5000  # past the 4300 digits Python converts from text
    assert get(routes, f"/api/users/{digits}").endpoint == "user_by_name"
    assert get(routes, f"/api/avatars/{digits}.png").endpoint == "by_kind"
    assert get(routes, "/api/prices/1e999").endpoint == "by_kind"  # infinity is no number
    assert get(routes, "/api/prices/1e308").endpoint == "price"


def test_typed_parameters_reach_the_mode():
    router = Router()
    for name, path, params in (
        ("user", "/users/{id}", {"id": {"type": "integer"}}),
        ("price", "/prices/{amount}", {"amount": {"type": ["number", "null"]}}),
        ("flag", "/flags/{on}", {"on": {"type": "boolean"}}),
        ("avatar", "/avatars/{id}.{ext}", {"id": {"type": "integer"}}),
        ("named", "/names/{name}", {}),
    ):
        router.add(Endpoint(name=name, path=path, methods=("GET",), params=params))
    assert router.resolve("GET", "/users/42")[1] == {"id": 42}
    assert router.resolve("GET", "/prices/1.5")[1] == {"amount": 1.5}
    assert router.resolve("GET", "/prices/2")[1] == {"amount": 2.0}
    assert router.resolve("GET", "/prices/abc") is None
    assert router.resolve("GET", "/flags/true")[1] == {"on": True}
    assert router.resolve("GET", "/flags/yes") is None
    assert router.resolve("GET", "/avatars/3.png")[1] == {"id": 3, "ext": "png"}
    assert router.resolve("GET", "/avatars/x.png") is None
    assert router.resolve("GET", "/names/J%C3%BCrgen%20K")[1] == {"name": "Jürgen K"}
    assert router.resolve("GET", "/names/a%2Fb")[1] == {"name": "a/b"}


def test_trailing_slash_and_method_case_do_not_matter(routes):
    assert get(routes, "/api/users/me/").endpoint == "me"
    assert get(routes, "/api/users/7/", method="get").endpoint == "user"
    assert get(routes, "/api/users/3/orders").endpoint == "orders"


def test_unknown_path_is_404_naming_the_closest_endpoints(routes):
    outcome = get(routes, "/api/users/me/x")
    assert outcome.response.status == 404
    assert outcome.how == "not_found" and outcome.endpoint is None and outcome.mode is None
    data = body(outcome)
    assert data["error"] == "no endpoint matches"
    assert (data["method"], data["path"]) == ("GET", "/api/users/me/x")
    assert data["closest"][0] == "/api/users/me"
    assert len(data["closest"]) <= 3
    assert outcome.detail == data
    assert outcome.response.header("content-type") == "application/json"
    assert body(get(routes, "/zzzzzzzzzzzzzzzzzzzzzzzzzz"))["closest"] == []


def test_known_path_with_another_method_is_405_with_allow(routes):
    outcome = get(routes, "/api/users/7", method="DELETE")
    assert outcome.response.status == 405
    assert outcome.how == "not_found"
    assert outcome.response.header("Allow") == "GET, PUT"  # user, user_by_name and by_kind
    assert body(outcome)["allowed"] == ["GET", "PUT"]
    # "me" is no integer, so only GET routes have this path.
    assert get(routes, "/api/users/me", method="PUT").response.header("Allow") == "GET"
    assert get(routes, "/api/users/7", method="PUT").endpoint == "user"


def test_head_is_answered_as_get(tmp_path):
    recorded = [exchange("GET", "/api/users/1", {"id": 1})]
    engine = Engine.build(configure(tmp_path, ROUTES.replace("[GET, PUT]", "[GET]"), recorded))
    outcome = get(engine, "/api/users/1", method="HEAD")
    assert (outcome.how, outcome.endpoint) == ("replayed", "user")
    assert get(engine, "/api/nothing/here/at/all", method="HEAD").response.status == 404
    assert get(engine, "/api/users/1/orders", method="HEAD").endpoint == "orders"


def test_a_method_falls_through_to_the_next_route_that_answers_it(tmp_path):
    text = """\
    endpoints:
      me: {path: /users/me, methods: [GET]}
      user: {path: "/users/{id}", methods: [GET, PUT]}
    """
    engine = Engine.build(configure(tmp_path, text, []))
    assert get(engine, "/users/me", method="PUT").endpoint == "user"
    assert get(engine, "/users/me").endpoint == "me"


# --- the router against a reference ------------------------------------------------------

SEGMENTS = st.sampled_from(["a", "b", "c", "{x}", "{n}"])
PATHS = st.lists(st.sampled_from(["a", "b", "c", "1", "22", "zz"]), min_size=0, max_size=4)


def reference(templates: list[tuple[str, tuple[str, ...]]], method: str, path: str):
    """The precedence rules spelled out: candidates by regex, static first, then more literal
    segments, then file order; {n} only matches digits."""
    key = normalise(path)[0]
    candidates = []
    for order, (template, methods) in enumerate(templates):
        pattern = re.escape(normalise(template)[0])
        pattern = pattern.replace(r"\{x\}", "[^/]+").replace(r"\{n\}", "[+-]?[0-9]+")
        if re.fullmatch(pattern, key):
            literals = sum("{" not in s for s in normalise(template)[1])
            static = "{" not in template
            candidates.append(((not static, -literals, order), template, methods))
    candidates.sort(key=lambda c: c[0])
    for _, template, methods in candidates:
        if method in methods:
            return template
    return frozenset().union(*(m for _, _, m in candidates)) or None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(SEGMENTS, min_size=0, max_size=4).map(lambda s: "/" + "/".join(s)),
            st.sampled_from([("GET",), ("POST",), ("GET", "POST")]),
        ),
        min_size=1,
        max_size=8,
    ),
    PATHS.map(lambda s: "/" + "/".join(s)),
    st.sampled_from(["GET", "POST"]),
)
def test_router_follows_the_precedence_rules(templates, path, method):
    router = Router()
    for i, (template, methods) in enumerate(templates):
        if template.count("{x}") > 1 or template.count("{n}") > 1:
            template = template.replace("{x}", "x").replace("{n}", "n")
            templates[i] = (template, methods)
        params = {"n": {"type": "integer"}}
        router.add(Endpoint(name=f"e{i}", path=template, methods=methods, params=params))
    found = router.resolve(method, path)
    expected = reference(templates, method, path)
    if isinstance(found, tuple):
        route = found[0]
        chosen = templates[int(route.endpoint[1:])][0]
        # Several endpoints may share a template; the rules only fix which template wins.
        assert chosen == expected
    else:
        assert found == expected


def test_many_endpoints_route_correctly():
    router = Router()
    for i in range(2000):
        router.add(Endpoint(name=f"s{i}", path=f"/static/{i}", methods=("GET",)))
        router.add(Endpoint(name=f"t{i}", path=f"/t{i}/{{id}}", methods=("GET",)))
    assert router.resolve("GET", "/static/1999")[0].endpoint == "s1999"
    assert router.resolve("GET", "/t1234/abc")[0].endpoint == "t1234"
    assert router.resolve("GET", "/t1234/abc")[1] == {"id": "abc"}
    assert router.resolve("GET", "/t9999/abc") is None


# --- endpoints derived from a store ------------------------------------------------------


def test_a_store_without_configuration_replays_every_recorded_path(tmp_path):
    recorded = [
        exchange("GET", "/api/users/1", {"id": 1}),
        exchange("GET", "/api/users/2", {"id": 2}),
        exchange("POST", "/api/users", {"id": 3}, 201, body=b'{"name":"x"}', headers=JSON),
        exchange("GET", "/api/users/1/", {"id": 1, "again": True}),
        exchange("GET", "/", {"root": True}),
    ]
    store = make_store(tmp_path / "r.db", recorded)
    engine = Engine.build(Config(recordings=RecordingsConfig(path=store)))
    names = [e["name"] for e in engine.endpoints()]
    assert names == ["get_api_users_1", "get_api_users_2", "post_api_users", "get_root"]
    assert engine.endpoints()[0] == {
        "name": "get_api_users_1",
        "path": "/api/users/1",
        "methods": ["GET"],
        "mode": "replay",
        "recordings": 2,
    }
    outcome = get(engine, "/api/users/2")
    assert (outcome.how, outcome.endpoint, outcome.mode) == (
        "replayed",
        "get_api_users_2",
        "replay",
    )
    assert body(outcome) == {"id": 2}
    assert body(get(engine, "/")) == {"root": True}
    post = engine.handle(Request("POST", "/api/users", headers=JSON, body=b'{"name": "x"}'))
    assert post.response.status == 201
    assert get(engine, "/api/users", method="GET").response.status == 405
    assert get(engine, "/api/users/3").how == "not_found"
    assert any("No endpoints in the configuration" in note for note in engine.notes)


def test_an_empty_store_without_configuration_says_so(tmp_path):
    engine = Engine.build(
        Config(recordings=RecordingsConfig(path=make_store(tmp_path / "e.db", [])))
    )
    assert engine.endpoints() == []
    assert "every request will be answered 404" in engine.notes[0]
    assert get(engine, "/anything").how == "not_found"


def test_derived_names_are_unique_and_paths_are_taken_literally():
    recorded = [
        exchange("GET", "/a-b", {}),
        exchange("GET", "/a_b", {}),
        exchange("GET", "/odd/{brace}", {}),
        Exchange(Request("GET", "/ws"), None, error="refused"),
    ]
    endpoints = derive_endpoints(recorded, Config())
    assert [e.name for e in endpoints] == ["get_a_b", "get_a_b_2", "get_odd_brace"]
    router = Router()
    for endpoint in endpoints:
        router.add(endpoint, literal=True)
    assert router.resolve("GET", "/odd/{brace}")[0].endpoint == "get_odd_brace"
    assert router.resolve("GET", "/odd/other") is None


def test_recordings_are_routed_to_configured_endpoints_and_the_rest_noted(tmp_path):
    recorded = [
        exchange("GET", "/api/users/1", {"id": 1}),
        exchange("GET", "/api/users/2", {"id": 2}),
        exchange("GET", "/elsewhere", {}),
        Exchange(Request("GET", "/api/users/3"), None, error="upstream unreachable"),
    ]
    text = """\
    endpoints:
      user:
        path: /api/users/{id}
        methods: [GET]
        mode: replay
    """
    engine = Engine.build(configure(tmp_path, text, recorded))
    assert engine.endpoints()[0]["recordings"] == 2
    assert body(get(engine, "/api/users/2")) == {"id": 2}
    assert get(engine, "/api/users/3").how == "miss"
    assert "1 recorded exchange(s) match no endpoint and are not served." in engine.notes


# --- start-up ----------------------------------------------------------------------------


def test_missing_store_is_an_error_naming_the_path(tmp_path):
    config = configure(tmp_path, "name: shop\n")
    with pytest.raises(StoreError) as caught:
        Engine.build(config)
    assert str(tmp_path / "recordings" / "backworks.db") in caught.value.message
    assert "backworks capture" in caught.value.hint
    assert "recordings.path" in caught.value.hint


def test_missing_store_is_fine_when_schemas_can_answer(tmp_path):
    text = """\
    endpoints:
      health:
        path: /health
        methods: [GET]
        responses:
          "200":
            schema: {type: object, properties: {ok: {const: true}}, required: [ok]}
    """
    engine = Engine.build(configure(tmp_path, text))
    assert any("No recordings at" in note for note in engine.notes)
    assert engine.endpoints()[0]["recordings"] == 0


@pytest.mark.parametrize(
    "block",
    [
        "responses: {'400': {}}",  # a documented status and no body
        "methods: [POST]",  # OpenAPI 3.1 operations need not document a response
    ],
)
def test_mock_endpoints_answer_without_a_store_even_without_a_schema(tmp_path, block):
    text = f"""\
    endpoints:
      pet:
        path: /pets/{{id}}
        mode: mock
        {block}
    """
    engine = Engine.build(configure(tmp_path, text))
    assert any("No recordings at" in note for note in engine.notes)
    method = "POST" if "POST" in block else "GET"
    assert engine.handle(Request(method, "/pets/3")).response.status == 200


def test_missing_store_is_an_error_when_only_proxies_would_answer_locally(tmp_path):
    text = """\
    upstream: http://127.0.0.1:9
    endpoints:
      pet: {path: /pets, mode: proxy}
    """
    with pytest.raises(StoreError):
        Engine.build(configure(tmp_path, text))


def test_missing_store_is_an_error_when_an_endpoint_replays(tmp_path):
    text = """\
    endpoints:
      health:
        path: /health
        mode: replay
        responses:
          "200": {schema: {type: object}}
    """
    with pytest.raises(StoreError):
        Engine.build(configure(tmp_path, text))


def test_given_store_is_used_and_left_open(tmp_path):
    with Store.open(tmp_path / "x.db", create=True) as db:
        db.add(exchange("GET", "/ping", {"pong": 1}))
        engine = Engine.build(
            Config(recordings=RecordingsConfig(path=tmp_path / "none.db")), store=db
        )
        assert db.count() == 1
    assert body(get(engine, "/ping")) == {"pong": 1}


def test_unknown_block_keys_and_unrun_modes_are_noted(tmp_path):
    text = """\
    replay:
      match: [method, path]
    endpoints:
      users:
        path: /users
        mode: proxy
        mock:
          stat: true
    """
    engine = Engine.build(configure(tmp_path, text, []))
    notes = "\n".join(engine.notes)
    assert "replay.match is not a setting backworks knows" in notes
    stat = "endpoints.users.mock.stat is not a setting backworks knows; it is ignored"
    assert stat + ' (did you mean "state"?)' in notes
    assert "Endpoint users is in mode proxy, which this host does not run" in notes
    assert engine.endpoints()[0]["mode"] == "mock"


def test_bad_matching_rules_name_the_file(tmp_path):
    text = """\
    endpoints:
      users:
        path: /users
        replay:
          ignore_json: ["$..x"]
    """
    with pytest.raises(ConfigError) as caught:
        Engine.build(configure(tmp_path, text, []))
    assert caught.value.message.startswith(f"{tmp_path / 'backworks.yaml'}: endpoints.users.replay")


# --- determinism and reset ---------------------------------------------------------------

BEHAVIOUR = """\
mock:
  latency: {uniform: [1, 50]}
  faults: {error_rate: 0.2, reset_rate: 0.1, error_status: 503}
endpoints:
  user:
    path: /api/users/{id}
    methods: [GET]
  orders:
    path: /api/orders
    methods: [GET, POST]
    mock: {state: true}
"""


def run(engine: Engine) -> list[tuple]:
    out = []
    for i in range(60):
        if i % 3 == 0:
            request = Request("POST", "/api/orders", headers=JSON, body=b'{"n": %d}' % i)
        elif i % 3 == 1:
            request = Request("GET", "/api/orders")
        else:
            request = Request("GET", f"/api/users/{i % 4}")
        o = engine.handle(request)
        out.append(
            (o.how, o.response.status, o.response.headers, o.response.body, o.delay_ms, o.fault)
        )
    return out


def test_same_seed_config_and_requests_give_the_same_bytes(tmp_path):
    recorded = [
        exchange("GET", "/api/users/1", {"id": 1}),
        exchange("GET", "/api/orders", [{"id": 5}]),
    ]
    config = configure(tmp_path, BEHAVIOUR, recorded)
    first = run(Engine.build(config, seed=3))
    assert first == run(Engine.build(config, seed=3))
    assert {how for how, *_ in first} >= {"replayed", "state", "fault"}
    assert first != run(Engine.build(config, seed=4))


def test_reset_starts_every_sequence_again(tmp_path):
    recorded = [
        exchange("GET", "/api/users/1", {"id": 1}),
        exchange("GET", "/api/orders", [{"id": 5}]),
    ]
    engine = Engine.build(configure(tmp_path, BEHAVIOUR, recorded), seed=3)
    first = run(engine)
    assert run(engine) != first
    engine.reset()
    assert run(engine) == first
