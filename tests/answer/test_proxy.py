"""Mode `proxy`: settings, smooth weighted round robin, circuit breakers and health verdicts as
plain data, the engine's answers with and without the network, and the checks on loopback."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backworks_cli.answer.engine import Engine
from backworks_cli.answer.match_rules import MatchRules
from backworks_cli.answer.matching import ReplayIndex
from backworks_cli.answer.modes.base import Context
from backworks_cli.answer.modes.proxy import (
    Pool,
    ProxyMode,
    Settings,
    connect_error,
    create,
    health_error,
    read_settings,
)
from backworks_cli.config.model import Config, make_endpoint
from backworks_cli.core.errors import ConfigError
from backworks_cli.core.exchange import Request
from tests.conftest import dead_port

TOP = "http://top.example:8080"


def context(block, *, top: str | None = TOP, notes: list | None = None) -> Context:
    spec = {"path": "/items/{id}", "mode": "proxy"}
    if block is not None:
        spec["proxy"] = block
    endpoint = make_endpoint("items", spec)
    return Context(
        endpoint=endpoint,
        shape="/items/{}",
        recordings=[],
        index=ReplayIndex(MatchRules()),
        redact=None,
        seed=0,
        notes=notes if notes is not None else [],
        config=Config(upstream=top, endpoints={"items": spec}),
        local_only=False,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pool(*weights: int, clock=None, **options) -> Pool:
    upstreams = tuple((f"http://10.0.0.{i + 1}:80", w) for i, w in enumerate(weights))
    balance = "weighted" if any(w != 1 for w in weights) else "round_robin"
    return Pool(Settings(upstreams, balance, **options), clock or Clock())


# --- settings -----------------------------------------------------------------------------------


def test_the_top_level_upstream_is_the_default():
    found = read_settings(context(None))
    assert found.upstreams == ((TOP, 1),) and found.balance == "round_robin"
    assert found.retries == 2 and found.failures is None and found.health_path is None
    assert not found.record


def test_weights_make_the_balance_weighted_unless_told_otherwise():
    block = {"upstreams": [{"url": "http://a:1", "weight": 3}, "http://b:2/"]}
    assert read_settings(context(block)).balance == "weighted"
    assert read_settings(context(block)).upstreams == (("http://a:1", 3), ("http://b:2", 1))
    forced = read_settings(context({**block, "balance": "round_robin"}))
    assert [u.weight for u in Pool(forced).upstreams] == [1, 1]


def test_every_setting_is_read():
    block = {
        "upstream": "https://api.example.com/v1",
        "health_check": {"path": "health", "interval_s": 2, "timeout_ms": 300},
        "retries": 0,
        "circuit_breaker": {"failures": 3, "reset_s": 5},
        "record": True,
        "colour": "blue",
    }
    notes: list[str] = []
    found = read_settings(context(block, notes=notes))
    assert found.health_path == "/health" and found.health_interval == 2.0
    assert found.health_timeout == 0.3 and found.connect_timeout == 0.3
    assert (found.retries, found.failures, found.reset_s, found.record) == (0, 3, 5.0, True)
    assert notes == [
        "endpoints.items.proxy.colour is not a setting backworks knows; it is ignored (known: "
        "upstream, upstreams, balance, health_check, retries, circuit_breaker, record)."
    ]
    upstream = Pool(found).upstreams[0]
    assert (upstream.scheme, upstream.host, upstream.port, upstream.prefix) == (
        "https",
        "api.example.com",
        443,
        "/v1",
    )


@pytest.mark.parametrize(
    ("block", "top", "named"),
    [
        ({}, None, "endpoints.items.proxy has no upstream"),
        ({"upstream": "ftp://x"}, TOP, "endpoints.items.proxy.upstream is 'ftp://x'"),
        ({"upstream": "http://x:port"}, TOP, "whose port is not a number"),
        ({"upstream": TOP, "upstreams": [TOP]}, TOP, "both `upstream` and `upstreams`"),
        ({"upstreams": []}, TOP, "upstreams must be a list"),
        ({"upstreams": [{"url": TOP, "weight": 0}]}, TOP, "upstreams[0].weight is 0"),
        ({"upstreams": [TOP, TOP + "/"]}, TOP, "the same URL twice"),
        ({"balance": "random"}, TOP, "balance is 'random'"),
        ({"retries": -1}, TOP, "retries is -1"),
        ({"health_check": {"interval_s": 1}}, TOP, "health_check needs the `path`"),
        ({"health_check": {"path": "/h", "timeout_ms": 0}}, TOP, "timeout_ms is 0"),
        ({"circuit_breaker": {"failures": 0}}, TOP, "circuit_breaker.failures is 0"),
        ({"circuit_breaker": {"reset_s": "soon"}}, TOP, "circuit_breaker.reset_s is 'soon'"),
        ({"record": "yes"}, TOP, "record is 'yes'"),
        ("http://x", TOP, "must be a mapping"),
    ],
)
def test_unusable_settings_name_the_key_and_the_fix(block, top, named):
    with pytest.raises(ConfigError) as error:
        read_settings(context(block, top=top))
    assert named in error.value.message and error.value.hint


# --- balancing ----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=5), st.integers(1, 3))
def test_each_round_gives_every_upstream_its_weight(weights, rounds):
    chosen = pool(*weights)
    picks = [chosen.choose() for _ in range(sum(weights) * rounds)]
    counts = Counter(u.url for u in picks)
    assert [counts[u.url] for u in chosen.upstreams] == [w * rounds for w in weights]


def test_the_picks_of_a_heavy_upstream_are_spread_as_nginx_documents():
    # nginx's smooth weighted round robin with weights 5, 1, 1: a a b a c a a
    chosen = pool(5, 1, 1)
    names = "".join("abc"[chosen.upstreams.index(chosen.choose())] for _ in range(14))
    assert names == "aabacaa" * 2


def test_three_to_one_goes_a_a_b_a():
    chosen = pool(3, 1)
    names = [chosen.choose().url[-4] for _ in range(8)]
    assert names == ["1", "1", "2", "1", "1", "1", "2", "1"]


def test_round_robin_takes_turns_and_skips_the_excluded():
    chosen = pool(1, 1, 1)
    first, second, third = chosen.upstreams
    assert [chosen.choose() for _ in range(4)] == [first, second, third, first]
    assert chosen.choose([second]) is third
    assert chosen.choose([first, second, third]) is None


# --- circuit breaker and health -----------------------------------------------------------------


def mode_for(chosen: Pool) -> ProxyMode:
    return ProxyMode("items", chosen.settings, chosen)


def test_the_circuit_opens_after_n_failures_and_a_probe_closes_it():
    clock = Clock()
    chosen = pool(1, clock=clock, failures=3, reset_s=10)
    mode = mode_for(chosen)
    upstream = chosen.upstreams[0]
    for _ in range(2):
        chosen.failed(chosen.choose(), "refused")
    assert mode.pick().how == "proxy"  # two failures: still closed
    chosen.failed(upstream, "refused")
    refused = mode.pick()
    assert refused.how == "proxy_error" and refused.response.status == 503
    assert refused.response.header("Retry-After") == "10"
    assert refused.detail["upstreams"][0]["circuit"] == "open"
    clock.now += 9.5
    assert mode.pick().response.header("Retry-After") == "1"
    clock.now += 0.5
    assert mode.pick().how == "proxy"  # half-open: one probe goes through
    assert mode.pick().response.status == 503  # while it is under way, nothing else does
    chosen.succeeded(upstream)
    assert [mode.pick().how for _ in range(3)] == ["proxy"] * 3
    assert chosen.state()[0]["circuit"] == "closed"


def test_a_failed_probe_opens_the_circuit_again():
    clock = Clock()
    chosen = pool(1, clock=clock, failures=1, reset_s=5)
    upstream = chosen.upstreams[0]
    chosen.failed(upstream, "refused")
    clock.now += 5
    assert chosen.choose() is upstream
    chosen.failed(upstream, "refused")
    assert chosen.choose() is None
    clock.now += 4.9
    assert chosen.choose() is None
    clock.now += 0.1
    assert chosen.choose() is upstream


def test_a_probe_that_never_reports_back_does_not_block_forever():
    clock = Clock()
    chosen = pool(1, clock=clock, failures=1, reset_s=5)
    upstream = chosen.upstreams[0]
    chosen.failed(upstream, "refused")
    clock.now += 5
    assert chosen.choose() is upstream
    clock.now += 5
    assert chosen.choose() is upstream


def test_without_a_breaker_failures_never_refuse():
    chosen = pool(1)
    for _ in range(50):
        chosen.failed(chosen.upstreams[0], "refused")
    assert chosen.choose() is chosen.upstreams[0]


def test_unhealthy_upstreams_are_skipped_and_none_left_is_a_502():
    chosen = pool(1, 1)
    mode = mode_for(chosen)
    first, second = chosen.upstreams
    chosen.set_health(first, "answered 503")
    assert {mode.pick().detail["upstream"] for _ in range(4)} == {second.url}
    chosen.set_health(second, "cannot connect: refused")
    refused = mode.pick()
    assert refused.response.status == 502 and refused.how == "proxy_error"
    assert [u["error"] for u in refused.detail["upstreams"]] == [
        "health check: answered 503",
        "health check: cannot connect: refused",
    ]
    chosen.set_health(first, None)
    assert mode.pick().detail["upstream"] == first.url


def test_only_idempotent_methods_are_retried():
    mode = mode_for(pool(1, 1, retries=2))
    assert [mode.attempts(m) for m in ("GET", "head", "PUT", "DELETE", "OPTIONS")] == [3] * 5
    assert [mode.attempts(m) for m in ("POST", "PATCH")] == [1, 1]


def test_reset_restarts_the_balancer_and_closes_the_circuits():
    chosen = pool(1, 1, failures=1)
    mode = mode_for(chosen)
    chosen.failed(chosen.choose(), "refused")
    mode.reset()
    assert chosen.choose() is chosen.upstreams[0]
    assert all(u["circuit"] == "closed" for u in chosen.state())


def test_endpoints_with_the_same_settings_share_one_pool():
    first = context({"upstream": "http://a:1"})
    second = context({"upstream": "http://a:1"})
    second.shared = first.shared
    third = context({"upstream": "http://b:1"})
    third.shared = first.shared
    assert create(first).pool is create(second).pool
    assert create(third).pool is not create(first).pool


# --- in the engine ------------------------------------------------------------------------------


def engine_config(tmp_path) -> Config:
    spec = {"path": "/items/{id}", "methods": ["GET"], "mode": "proxy"}
    return Config(
        upstream="http://127.0.0.1:9",
        endpoints={"items": spec},
        path=tmp_path / "backworks.yaml",
    )


def test_the_serve_engine_chooses_an_upstream_without_recordings(tmp_path):
    engine = Engine.build(engine_config(tmp_path), local_only=False)
    outcome = engine.handle(Request("GET", "/items/1"))
    assert (outcome.endpoint, outcome.mode, outcome.how) == ("items", "proxy", "proxy")
    assert outcome.detail == {"upstream": "http://127.0.0.1:9"}
    assert engine.mode_for("GET", "/items/1") is engine.modes()["items"]
    assert engine.mode_for("HEAD", "/items/1") is engine.modes()["items"]
    assert engine.mode_for("POST", "/items/1") is None
    assert engine.mode_for("GET", "/other") is None


def test_the_mock_engine_answers_proxy_endpoints_as_mock(tmp_path):
    config = engine_config(tmp_path)
    spec = {**config.endpoints["items"], "responses": {"200": {"schema": {"type": "object"}}}}
    engine = Engine.build(Config(upstream=config.upstream, endpoints={"items": spec}))
    outcome = engine.handle(Request("GET", "/items/1"))
    assert outcome.mode == "mock" and outcome.how == "generated"
    assert any("is in mode proxy, which this host does not run" in n for n in engine.notes)


# --- checking upstreams on loopback -------------------------------------------------------------


def test_connect_and_health_checks_against_real_sockets(sample_api):
    from backworks_cli.answer.modes.proxy import Upstream

    alive = Upstream(sample_api)
    dead = Upstream(f"http://127.0.0.1:{dead_port()}")

    async def checks():
        return await asyncio.gather(
            connect_error(alive, 2),
            connect_error(dead, 2),
            health_error(alive, "/api/health", 2),
            health_error(alive, "/api/users/99999", 2),
            health_error(dead, "/health", 2),
        )

    reachable, unreachable, healthy, missing, down = asyncio.run(checks())
    assert reachable is None and healthy is None
    assert unreachable.startswith(f"cannot connect to 127.0.0.1:{dead.port}")
    assert missing == "answered 404"
    assert down.startswith("cannot connect")
