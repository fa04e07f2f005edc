"""Replay matching: each matcher and its failure sentence, ignore rules, header rules, repeats
in the three sequence modes, miss explanations, rules from backworks.yaml blocks; property
tests that equivalent requests hit, changed ones miss naming what changed, ignored values never
count and arbitrary input never raises."""

from __future__ import annotations

import json
import random
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backworks_cli.answer import match_keys, matching, misses
from backworks_cli.answer.match_rules import ANY, MatchRules, parse_json_path
from backworks_cli.answer.matching import ReplayIndex
from backworks_cli.answer.misses import Candidate, Miss
from backworks_cli.core.errors import ConfigError
from backworks_cli.core.exchange import Exchange, Request, Response

JSON = (("Content-Type", "application/json"),)
FORM = (("Content-Type", "application/x-www-form-urlencoded"),)
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def req(method="GET", path="/api/items", query=(), headers=(), body=b"") -> Request:
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
        headers = (*JSON, *headers)
    return Request(method, path, tuple(query), tuple(headers), body)


def ex(id: int, request: Request) -> Exchange:
    return Exchange(request, Response(200, body=f"response {id}".encode()), id=id)


def index(*requests: Request, **rules) -> ReplayIndex:
    idx = ReplayIndex(MatchRules(**rules))
    for i, r in enumerate(requests, start=1):
        idx.add(ex(i, r))
    return idx


def hit_id(idx: ReplayIndex, request: Request) -> int:
    found = idx.lookup(request)
    assert isinstance(found, Exchange), found.describe()
    return found.id


def miss(idx: ReplayIndex, request: Request) -> Miss:
    found = idx.lookup(request)
    assert isinstance(found, Miss), f"unexpected hit on #{found.id}"
    return found


def failed(m: Miss, n: int = 0) -> dict[str, str]:
    """The failing matchers of the n-th nearest candidate, name -> sentence."""
    return {r.name: r.why for r in m.candidates[n].results if not r.ok}


# --- method and path ------------------------------------------------------------------------


def test_method_matcher():
    idx = index(req("GET"))
    assert hit_id(idx, req("get")) == 1
    assert failed(miss(idx, req("POST"))) == {"method": "method: expected GET, got POST"}


def test_path_matcher_is_exact_after_percent_decoding():
    idx = index(req(path="/files/a b/ü"))
    assert hit_id(idx, req(path="/files/a%20b/%C3%BC")) == 1
    assert failed(miss(idx, req(path="/files/a b/"))) == {
        "path": "path: expected '/files/a b/ü', got '/files/a b/'"
    }


# --- query ----------------------------------------------------------------------------------


def test_query_is_an_order_insensitive_multiset():
    idx = index(req(query=[("page", "2"), ("tag", "a"), ("tag", "b")]))
    assert hit_id(idx, req(query=[("tag", "b"), ("page", "2"), ("tag", "a")])) == 1
    m = miss(idx, req(query=[("tag", "a"), ("page", "2")]))
    assert failed(m) == {"query": "query tag: expected ['a', 'b'], got 'a'"}


def test_query_failure_sentences():
    idx = index(req(query=[("page", "2"), ("size", "20")]))
    assert failed(miss(idx, req(query=[("page", "3"), ("size", "20")]))) == {
        "query": "query page: expected '2', got '3'"
    }
    assert failed(miss(idx, req(query=[("page", "2")]))) == {
        "query": "query size: expected '20', got absent"
    }
    assert failed(miss(idx, req(query=[("page", "2"), ("size", "20"), ("x", "1")]))) == {
        "query": "query x: expected absent, got '1'"
    }
    assert failed(miss(idx, req(query=[("page", "9"), ("size", "9")]))) == {
        "query": "query page: expected '2', got '9' (and 1 more)"
    }


def test_ignore_query():
    idx = index(req(query=[("page", "2"), ("ts", "1")]), ignore_query=frozenset({"ts", "nonce"}))
    assert hit_id(idx, req(query=[("ts", "99"), ("page", "2")])) == 1
    assert hit_id(idx, req(query=[("page", "2")])) == 1
    assert hit_id(idx, req(query=[("page", "2"), ("nonce", "z"), ("ts", "3"), ("ts", "4")])) == 1
    assert failed(miss(idx, req(query=[("page", "3"), ("ts", "1")]))) == {
        "query": "query page: expected '2', got '3'"
    }


# --- body -----------------------------------------------------------------------------------


def test_json_bodies_compare_as_data():
    recorded = b'{"sku": "A-1", "items": [{"quantity": 2, "price": 1.5}], "gift": false}'
    idx = index(Request("POST", "/api/orders", (), JSON, recorded))
    same = (
        b'{\n  "gift": false,\n  "items": [ {"price": 1.50, "quantity": 2.0} ],\n  "sku": "A-1"\n}'
    )
    assert hit_id(idx, Request("POST", "/api/orders", (), JSON, same)) == 1
    changed = json.dumps({"sku": "A-1", "items": [{"quantity": 5, "price": 1.5}], "gift": False})
    m = miss(idx, Request("POST", "/api/orders", (), JSON, changed.encode()))
    assert failed(m) == {"body": "body $.items[0].quantity: expected 2, got 5"}


@pytest.mark.parametrize(
    "got, why",
    [
        ({"a": 1}, "body $.b: expected [1, 2], got absent"),
        ({"a": 1, "b": [1, 2], "c": None}, "body $.c: expected absent, got null"),
        ({"a": 1, "b": [1]}, "body $.b: expected 2 items, got 1 items"),
        ({"a": True, "b": [1, 2]}, "body $.a: expected 1, got true"),
        ({"a": "1", "b": [1, 2]}, "body $.a: expected 1, got '1'"),
        ([1], 'body $: expected {"a": 1, "b": [1, 2]}, got [1]'),
    ],
)
def test_json_body_failure_sentences(got, why):
    idx = index(req("POST", body={"a": 1, "b": [1, 2]}))
    assert failed(miss(idx, req("POST", body=got))) == {"body": why}


def test_json_key_paths_quote_odd_keys():
    idx = index(req("POST", body={"odd key": {"x-y": 1}}))
    m = miss(idx, req("POST", body={"odd key": {"x-y": 2}}))
    assert failed(m) == {"body": 'body $["odd key"]["x-y"]: expected 1, got 2'}


def test_json_is_sniffed_without_content_type_and_bad_json_is_bytes():
    idx = index(
        Request("POST", "/a", body=b'{"a": 1, "b": 2}'), Request("POST", "/b", (), JSON, b"{oops")
    )
    assert hit_id(idx, Request("POST", "/a", body=b' {"b":2,"a":1}')) == 1
    assert hit_id(idx, Request("POST", "/b", (), JSON, b"{oops")) == 2
    assert failed(miss(idx, Request("POST", "/b", (), JSON, b"{oopz"))) == {
        "body": "body: expected 5 bytes, got 5, differing from byte 4"
    }


def test_form_bodies_compare_as_multisets():
    idx = index(Request("POST", "/f", (), FORM, b"qty=2&tag=a&tag=b&note=hi+there"))
    assert hit_id(idx, Request("POST", "/f", (), FORM, b"tag=a&note=hi%20there&qty=2&tag=b")) == 1
    m = miss(idx, Request("POST", "/f", (), FORM, b"qty=3&tag=a&tag=b&note=hi+there"))
    assert failed(m) == {"body": "body field qty: expected '2', got '3'"}


def test_other_bodies_compare_as_bytes():
    binary = (("Content-Type", "application/octet-stream"),)
    idx = index(Request("PUT", "/blob", (), binary, b"\x00\x01\x02"))
    assert hit_id(idx, Request("PUT", "/blob", (), binary, b"\x00\x01\x02")) == 1
    m = miss(idx, Request("PUT", "/blob", (), binary, b"\x00\x01\x02\x03"))
    assert failed(m) == {"body": "body: expected 3 bytes, got 4, differing from byte 3"}


def test_body_kind_and_emptiness_failures():
    idx = index(req("POST", body={"a": 1}))
    assert failed(miss(idx, req("POST"))) == {
        "body": "body: expected a JSON body, got an empty body"
    }
    assert failed(miss(idx, Request("POST", "/api/items", (), FORM, b"a=1"))) == {
        "body": "body: expected a JSON body, got form data"
    }


def test_large_bodies_are_digested_in_the_key():
    big = {"rows": [{"n": i, "text": "x" * 50} for i in range(200)]}
    idx = index(req("POST", body=big))
    key = idx.key(req("POST", body=big))
    assert len(key[3][2]) == 16  # a blake2b digest, not the 12 kB body
    assert hit_id(idx, req("POST", body=dict(reversed(list(big.items()))))) == 1
    big["rows"][150]["n"] = -1
    assert failed(miss(idx, req("POST", body=big))) == {
        "body": "body $.rows[150].n: expected 150, got -1"
    }


def test_empty_bodies_are_never_parsed(monkeypatch):
    idx = index(req(query=[("a", "1")]), req("POST", body={"a": 1}))

    real = match_keys._load_json

    def explode(body):
        assert body, "JSON parsed for an empty body"
        return real(body)

    monkeypatch.setattr(match_keys, "_load_json", explode)
    assert hit_id(idx, Request("GET", "/api/items", (("a", "1"),), JSON)) == 1
    assert isinstance(idx.lookup(Request("DELETE", "/api/items", (), JSON)), Miss)


def test_deeply_nested_json_does_not_raise():
    deep = b"[" * 100_000 + b"]" * 100_000
    idx = index(Request("POST", "/d", (), JSON, deep))
    assert hit_id(idx, Request("POST", "/d", (), JSON, deep)) == 1
    assert "body" in failed(miss(idx, Request("POST", "/d", (), JSON, deep + b" ")))


# --- ignore_json ----------------------------------------------------------------------------


def test_ignore_json_paths():
    rules = {"ignore_json": ("$.timestamp", "$.meta.nonce", "$.items[*].nonce", "$['odd key']")}
    recorded = {
        "timestamp": 1,
        "meta": {"nonce": "a", "page": 1},
        "items": [{"id": 1, "nonce": "x"}, {"id": 2, "nonce": "y"}],
        "odd key": 0,
    }
    idx = index(req("POST", body=recorded), **rules)
    live = {
        "timestamp": 2,
        "meta": {"nonce": "b", "page": 1},
        "items": [{"id": 1, "nonce": "p"}, {"id": 2}],
    }
    assert hit_id(idx, req("POST", body=live)) == 1
    live["items"][1]["id"] = 3
    assert failed(miss(idx, req("POST", body=live))) == {
        "body": "body $.items[1].id: expected 2, got 3"
    }
    live["items"][1]["id"] = 2
    live["meta"]["page"] = 2
    assert failed(miss(idx, req("POST", body=live))) == {
        "body": "body $.meta.page: expected 1, got 2"
    }


def test_ignore_json_array_items_keep_the_length():
    idx = index(req("POST", body={"ids": [1, 2, 3]}), ignore_json=("$.ids[0]",))
    assert hit_id(idx, req("POST", body={"ids": [9, 2, 3]})) == 1
    assert failed(miss(idx, req("POST", body={"ids": [9, 2]}))) == {
        "body": "body $.ids: expected 3 items, got 2 items"
    }
    last = index(req("POST", body={"ids": [1, 2, 3]}), ignore_json=("$.ids[-1]",))
    assert hit_id(last, req("POST", body={"ids": [1, 2, 7]})) == 1
    assert failed(miss(last, req("POST", body={"ids": [1, 2]}))) == {
        "body": "body $.ids[1]: expected 2, got (ignored)"
    }


def test_ignore_json_wildcards_and_root():
    idx = index(req("POST", body={"a": {"x": 1, "y": 2}}), ignore_json=("$.a.*",))
    assert hit_id(idx, req("POST", body={"a": {"z": 3}})) == 1
    assert "body" in failed(miss(idx, req("POST", body={"a": 1})))
    whole = index(req("POST", body={"a": 1}), ignore_json=("$",))
    assert hit_id(whole, req("POST", body=[1, 2, {"b": None}])) == 1


@pytest.mark.parametrize(
    "path, steps",
    [
        ("$", ()),
        ("$.a", ("a",)),
        ("$.items[*].nonce", ("items", ANY, "nonce")),
        ("$.a.*", ("a", ANY)),
        ("$['odd key'][0]", ("odd key", 0)),
        ('$["x.y"][-1]', ("x.y", -1)),
    ],
)
def test_parse_json_path(path, steps):
    assert parse_json_path(path) == steps


@pytest.mark.parametrize("path", ["timestamp", "$.", "$..a", "$[a]", "$.a[", "$.a]"])
def test_parse_json_path_rejects(path):
    with pytest.raises(ValueError):
        parse_json_path(path)


# --- headers --------------------------------------------------------------------------------


def test_header_rules():
    recorded = req(headers=[("X-Tenant", "acme"), ("X-Trace", "1")])
    idx = index(recorded, headers=("x-tenant",))
    assert hit_id(idx, req(headers=[("x-tenant", "acme"), ("X-Trace", "2")])) == 1
    assert failed(miss(idx, req(headers=[("X-Tenant", "other")]))) == {
        "header:x-tenant": "header x-tenant: expected 'acme', got 'other'"
    }
    assert failed(miss(idx, req())) == {
        "header:x-tenant": "header x-tenant: expected 'acme', got absent"
    }
    absent = index(req(), headers=("X-Tenant",))
    assert failed(miss(absent, req(headers=[("X-Tenant", "acme")]))) == {
        "header:x-tenant": "header x-tenant: expected absent, got 'acme'"
    }
    assert hit_id(absent, req()) == 1


def test_headers_not_named_are_not_compared():
    idx = index(req(headers=[("Authorization", "Bearer a")]))
    assert hit_id(idx, req(headers=[("Authorization", "Bearer b"), ("Accept", "*/*")])) == 1


def test_redaction_placeholders_compare_as_strings():
    token = "Bearer redacted:3f9a0c7d2e11"
    body = {"card": "redacted:9e107d9d372b", "qty": 1}
    recorded = req("POST", headers=[("Authorization", token)], body=body)
    idx = index(recorded, headers=("Authorization",))
    again = req("POST", headers=[("authorization", token)], body={"qty": 1, "card": body["card"]})
    assert hit_id(idx, again) == 1
    other = req("POST", headers=[("Authorization", "Bearer redacted:000000000000")], body=body)
    assert set(failed(miss(idx, other))) == {"header:authorization"}


# --- sequencing -----------------------------------------------------------------------------


def _repeats(sequence: str) -> ReplayIndex:
    return index(req(), req(), req(), req(path="/other"), sequence=sequence)


@pytest.mark.parametrize(
    "sequence, served",
    [
        ("repeat_last", [1, 2, 3, 3, 3]),
        ("cycle", [1, 2, 3, 1, 2]),
        ("first", [1, 1, 1, 1, 1]),
    ],
)
def test_sequence_modes_and_reset(sequence, served):
    idx = _repeats(sequence)
    assert [hit_id(idx, req()) for _ in range(5)] == served
    assert hit_id(idx, req(path="/other")) == 4  # groups keep their own position
    miss(idx, req(path="/nowhere"))
    idx.reset()
    assert [hit_id(idx, req()) for _ in range(5)] == served


@pytest.mark.parametrize(
    "sequence, served",
    [("repeat_last", [1, 2, 2, 2]), ("cycle", [1, 2, 1, 2]), ("first", [1, 1, 1, 1])],
)
def test_a_pair_of_repeats(sequence, served):
    """Two recordings with one key play in turn as three do (the smallest group of repeats)."""
    idx = index(req(), req(), sequence=sequence)
    assert [hit_id(idx, req()) for _ in range(4)] == served


def test_repeats_group_by_key_not_by_identity():
    idx = index(req(body=b""), req(query=[("a", "1")]), req(), sequence="repeat_last")
    assert [hit_id(idx, req()) for _ in range(3)] == [1, 3, 3]
    assert hit_id(idx, req(query=[("a", "1")])) == 2
    assert len(idx) == 3


# --- misses ---------------------------------------------------------------------------------


def test_miss_lists_nearest_first_with_every_matcher():
    idx = index(
        req("POST", "/api/orders", body={"sku": "A"}),
        req("GET", "/api/users"),
        req("GET", "/api/orders", query=[("page", "1")]),
        req("GET", "/api/orders", query=[("page", "2")]),
    )
    m = miss(idx, req("GET", "/api/orders", query=[("page", "3")]))
    assert [c.exchange_id for c in m.candidates] == [3, 4, 2, 1]
    best = m.candidates[0]
    assert isinstance(best, Candidate)
    assert best.score == 0.75
    assert [(r.name, r.ok) for r in best.results] == [
        ("method", True),
        ("path", True),
        ("query", False),
        ("body", True),
    ]
    assert best.failed[0].why == "query page: expected '1', got '3'"
    assert m.candidates[2].score == 0.5  # GET /api/users: path and query differ
    assert failed(m, 3) == {
        "method": "method: expected POST, got GET",
        "query": "query page: expected absent, got '3'",
        "body": "body: expected a JSON body, got an empty body",
    }
    assert m.describe() == (
        "no recording matches GET /api/orders?page=3; nearest is #3 GET /api/orders?page=1: "
        "query page: expected '1', got '3'"
    )


def test_miss_to_json():
    idx = index(req(query=[("page", "1")]))
    body = miss(idx, req(query=[("page", "2")])).to_json()
    assert body == {
        "error": "no recording matches",
        "request": {"method": "GET", "target": "/api/items?page=2"},
        "nearest": [
            {
                "id": 1,
                "method": "GET",
                "target": "/api/items?page=1",
                "score": 0.75,
                "matchers": [
                    {"name": "method", "ok": True, "why": "method GET, as recorded"},
                    {"name": "path", "ok": True, "why": "path /api/items, as recorded"},
                    {
                        "name": "query",
                        "ok": False,
                        "why": "query page: expected '1', got '2'",
                        "diff": ["-page=1", "+page=2"],
                    },
                    {"name": "body", "ok": True, "why": "body empty, as recorded"},
                ],
            }
        ],
    }
    json.dumps(body)
    empty = ReplayIndex().lookup(req())
    assert empty.to_json()["nearest"] == [] and empty.describe() == (
        "no recording matches GET /api/items"
    )


def diffs(m: Miss, n: int = 0) -> dict[str, tuple[str, ...]]:
    return {r.name: r.diff for r in m.candidates[n].results if not r.ok}


def test_failed_matchers_carry_a_diff_of_their_aspect():
    recorded = req(
        "POST",
        "/api/orders",
        query=[("page", "1"), ("sort", "id"), ("ts", "1")],
        headers=[("X-Tenant", "acme")],
        body={"user": {"name": "Ada", "tags": ["a", "b"]}, "qty": 2, "nonce": "n1"},
    )
    idx = index(recorded, headers=["x-tenant"], ignore_query=["ts"], ignore_json=["$.nonce"])
    got = req(
        "POST",
        "/api/orders",
        query=[("sort", "id"), ("page", "2"), ("ts", "9")],
        headers=[("X-Tenant", "other")],
        body={"qty": 3, "user": {"name": "Ada", "tags": ["a", "c"]}, "nonce": "n2"},
    )
    found = diffs(miss(idx, got))
    assert found["query"] == ("-page=1", "+page=2", " sort=id")  # ts is ignored
    assert found["header:x-tenant"] == ("-x-tenant: acme", "+x-tenant: other")
    assert found["body"] == (
        " {",
        '-  "qty": 2,',
        '+  "qty": 3,',
        '   "user": {',
        '     "name": "Ada",',
        '     "tags": [',
        '       "a",',
        '-      "b"',
        '+      "c"',
        "     ]",
        "   }",
    )
    assert set(found) == {"query", "header:x-tenant", "body"}  # passing matchers have none
    assert all(not r.diff for r in miss(idx, got).candidates[0].results if r.ok)
    items = index(req("POST", body=[{"at": 1, "n": 1}]), ignore_json=["$[*].at"])
    assert diffs(miss(items, req("POST", body=[{"at": 2, "n": 2}])))["body"] == (
        " [",
        "   {",
        '-    "n": 1',
        '+    "n": 2',
        "   }",
        " ]",
    )


def test_diffs_of_forms_text_binary_and_method():
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    idx = index(req("PUT", body=b"a=1&b=2", headers=form))
    found = diffs(miss(idx, req("PATCH", body=b"b=2&a=5", headers=form)))
    assert found["method"] == ("-PUT", "+PATCH")
    assert found["body"] == ("-a=1", "+a=5", " b=2")
    text = [("Content-Type", "text/plain")]
    idx = index(req("POST", body=b"one\ntwo\nthree", headers=text))
    found = diffs(miss(idx, req("POST", body=b"one\n2\nthree", headers=text)))
    assert found["body"] == (" one", "-two", "+2", " three")
    idx = index(req("POST", body=b"\x89PNG\x00\x01"))
    old, new = diffs(miss(idx, req("POST", body=b"\x89PNG\x00\x02")))["body"]
    assert old.startswith("-(6 bytes, blake2b ") and new.startswith("+(6 bytes, blake2b ")
    assert diffs(miss(idx, req("POST")))["body"][0].startswith("-(6 bytes")


def test_long_diffs_are_cut_with_a_count():
    idx = index(req("POST", body=list(range(200))))
    found = diffs(miss(idx, req("POST", body=[n * 2 for n in range(200)])))["body"]
    assert len(found) == misses.DIFF_LINES + 1
    assert re.fullmatch(r"… \d+ more lines", found[-1])


@PROPS
@given(
    a=st.lists(st.text(alphabet="abc\n", max_size=6), max_size=12),
    b=st.lists(st.text(alphabet="abc\n", max_size=6), max_size=12),
)
def test_diff_lines_rebuild_both_sides(a, b):
    a = [line for text in a for line in text.splitlines()][:30]
    b = [line for text in b for line in text.splitlines()][:30]
    out = misses.diff_lines(a, b)
    assert (not out) == (a == b)
    if len(out) <= misses.DIFF_LINES and "…" not in out:
        # One hunk: the "-" and context lines are the recording's, "+" and context the request's.
        old = [line[1:] for line in out if line[0] in " -"]
        new = [line[1:] for line in out if line[0] in " +"]
        assert "\n".join(old) in "\n".join(a) and "\n".join(new) in "\n".join(b)


def test_miss_keeps_five_and_examines_a_bounded_number():
    idx = ReplayIndex(max_examined=10)
    for i in range(1000):
        idx.add(ex(i, req(path=f"/noise/{i}")))
    for i in range(1000, 1008):
        idx.add(ex(i, req(path="/target", query=[("n", str(i))])))
    m = miss(idx, req(path="/target"))
    assert len(m.candidates) == 5
    assert {c.exchange_id for c in m.candidates} <= set(range(1000, 1008))
    # Same path comes first even when recorded last; the rest of the store is cut off.
    m = miss(idx, req("DELETE", "/target"))
    assert all(c.target.startswith("/target") for c in m.candidates)


# --- rules from backworks.yaml --------------------------------------------------------------


def test_rules_from_config():
    assert MatchRules.from_config(None) == MatchRules()
    rules = MatchRules.from_config(
        {"ignore_json": ["$.meta.nonce"], "sequence": "cycle"},
        {"ignore_query": ["ts"], "ignore_json": ["$.timestamp"], "headers": ["X-Tenant"]},
    )
    assert rules == MatchRules(
        ignore_query=frozenset({"ts"}),
        ignore_json=("$.meta.nonce",),
        headers=("X-Tenant",),
        sequence="cycle",
    )
    assert MatchRules.from_config(
        {"ignore_query": None, "sequence": None}, {"ignore_query": ["a"]}
    ) == (MatchRules())


@pytest.mark.parametrize(
    "block, message, hint",
    [
        ("yes", "endpoint replay must be a mapping", "replay: {"),
        ({"ignore_querys": ["a"]}, "unknown key 'ignore_querys'", "Did you mean 'ignore_query'?"),
        ({"ignore_query": "ts"}, "endpoint replay.ignore_query must be a list", "[ts]"),
        ({"headers": [1]}, "endpoint replay.headers[0] must be a non-empty string", "Quote"),
        ({"headers": ["X-Tenant: a"]}, "'X-Tenant: a' is not a header name", "bare header"),
        ({"ignore_json": ["$.a", "a.b"]}, "ignore_json[1] 'a.b' is not a JSON path", "$.meta"),
        ({"sequence": "cycles"}, "'cycles', which is not a sequence mode", "'cycle'"),
    ],
)
def test_rules_from_config_errors(block, message, hint):
    with pytest.raises(ConfigError) as e:
        MatchRules.from_config(block)
    assert message in e.value.message
    assert hint in e.value.hint


def test_rules_from_config_names_the_block():
    with pytest.raises(ConfigError, match=r"^endpoints\.get_users\.replay\.sequence is 'x'"):
        MatchRules.from_config({"sequence": "x"}, where="endpoints.get_users.replay")
    with pytest.raises(ConfigError, match=r"^replay\.sequence is 'x'"):
        MatchRules.from_config({}, {"sequence": "x"})


def test_index_rejects_bad_rules_built_directly():
    """Rules built in code, not read from a file, are checked too and named as `replay.`."""
    with pytest.raises(ConfigError) as e:
        ReplayIndex(MatchRules(ignore_json=("$.a", "nonce")))
    assert e.value.message == (
        "replay.ignore_json[1] 'nonce' is not a JSON path: a JSON path starts with $, "
        "e.g. $.meta.nonce."
    )
    with pytest.raises(ConfigError) as e:
        ReplayIndex(MatchRules(sequence="random"))
    assert (e.value.message, e.value.hint) == (
        "replay.sequence is 'random', which is not a sequence mode.",
        "Use repeat_last, cycle or first.",
    )


# --- properties -----------------------------------------------------------------------------

names = st.text("abcdefghij_-", min_size=1, max_size=6)
values = st.text(max_size=8)
query_st = st.lists(st.tuples(names, values), max_size=6)
leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
json_st = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)
path_st = st.text(max_size=12).map(lambda s: "/" + s)


def reserialise(data, rnd: random.Random) -> bytes:
    """The same JSON data with shuffled key order and different whitespace."""

    def shuffle(node):
        if isinstance(node, dict):
            items = list(node.items())
            rnd.shuffle(items)
            return {k: shuffle(v) for k, v in items}
        if isinstance(node, list):
            return [shuffle(v) for v in node]
        return node

    indent = rnd.choice([None, 0, 1, 4])
    separators = rnd.choice([(",", ":"), (", ", ": "), (" ,", " : ")])
    text = json.dumps(shuffle(data), indent=indent, separators=separators)
    return (rnd.choice(["", " ", "\n"]) + text + rnd.choice(["", "\n", "\t"])).encode()


def recorded_exchange(method, path, query, data) -> Request:
    body = b"" if data is None else json.dumps(data).encode()
    return Request(method, path, tuple(query), JSON if body else (), body)


@st.composite
def stores(draw):
    """(index, the target request): the target among noise recordings on other paths."""
    target = recorded_exchange(
        draw(st.sampled_from(["GET", "POST", "PUT"])),
        draw(path_st),
        draw(query_st),
        draw(st.none() | json_st),
    )
    idx = ReplayIndex()
    noise = draw(st.lists(st.tuples(query_st, json_st), max_size=3))
    for i, (query, data) in enumerate(noise):
        idx.add(ex(100 + i, recorded_exchange("POST", f"/noise/{i}", query, data)))
    idx.add(ex(1, target))
    return idx, target


def leaf_paths(data, where=()):
    """Every (path, value) of a non-container or empty container in data."""
    if isinstance(data, dict) and data:
        for k, v in data.items():
            yield from leaf_paths(v, (*where, k))
    elif isinstance(data, list) and data:
        for i, v in enumerate(data):
            yield from leaf_paths(v, (*where, i))
    else:
        yield where, data


def replaced(data, path, value):
    if not path:
        return value
    head, rest = path[0], path[1:]
    out = dict(data) if isinstance(data, dict) else list(data)
    out[head] = replaced(data[head], rest, value)
    return out


def rendered(path) -> str:
    out = "$"
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", step):
            out += f".{step}"
        else:
            out += f"[{json.dumps(step)}]"
    return out


@PROPS
@given(stores(), st.randoms(use_true_random=False))
def test_equivalent_requests_find_their_recording(store, rnd):
    idx, target = store
    query = list(target.query)
    rnd.shuffle(query)
    body = reserialise(json.loads(target.body), rnd) if target.body else b""
    live = Request(target.method.lower(), target.path, tuple(query), target.headers, body)
    assert hit_id(idx, live) == 1


@PROPS
@given(stores(), st.data())
def test_a_changed_query_value_misses_and_says_so(store, data):
    idx, target = store
    assume(target.query)
    i = data.draw(st.integers(0, len(target.query) - 1))
    name, value = target.query[i]
    query = list(target.query)
    query[i] = (name, value + "~")
    m = miss(idx, Request(target.method, target.path, tuple(query), target.headers, target.body))
    assert m.candidates[0].exchange_id == 1
    assert set(failed(m)) == {"query"}
    assert failed(m)["query"].startswith(f"query {name}: expected ")


@PROPS
@given(stores(), st.data())
def test_a_changed_json_leaf_misses_and_says_where(store, data):
    idx, target = store
    assume(target.body)
    original = json.loads(target.body)
    path, leaf = data.draw(st.sampled_from(list(leaf_paths(original))))
    new = "☃" if leaf != "☃" else 0
    body = json.dumps(replaced(original, path, new)).encode()
    m = miss(idx, Request(target.method, target.path, target.query, target.headers, body))
    assert m.candidates[0].exchange_id == 1
    assert set(failed(m)) == {"body"}
    assert failed(m)["body"].startswith(f"body {rendered(path)}: expected ")


ignored_st = st.none() | json_st  # None: the key is left out


@st.composite
def noisy_bodies(draw, core):
    """A body around `core` whose ignored parts ($.timestamp, $.meta.nonce, $.items[*].nonce)
    are random or absent."""
    body = {"core": core, "meta": {"page": 1}, "items": [{"id": i} for i in range(3)]}
    for where, key in (
        (body, "timestamp"),
        (body["meta"], "nonce"),
        *((it, "nonce") for it in body["items"]),
    ):
        value = draw(ignored_st)
        if value is not None:
            where[key] = value
    return body


@PROPS
@given(json_st, query_st, st.data(), st.randoms(use_true_random=False))
def test_ignored_values_never_count(core, query, data, rnd):
    rules = MatchRules(
        ignore_query=frozenset({"ts", "nonce"}),
        ignore_json=("$.timestamp", "$.meta.nonce", "$.items[*].nonce"),
    )
    noise = st.lists(st.tuples(st.sampled_from(["ts", "nonce"]), values), max_size=3)
    idx = ReplayIndex(rules)
    recorded = [p for p in query if p[0] not in rules.ignore_query] + data.draw(noise)
    idx.add(ex(1, req("POST", query=recorded, body=data.draw(noisy_bodies(core)))))
    live_query = [p for p in query if p[0] not in rules.ignore_query] + data.draw(noise)
    rnd.shuffle(live_query)
    live = req("POST", query=live_query, body=data.draw(noisy_bodies(core)))
    assert hit_id(idx, live) == 1


# Any code point, lone surrogates included, and the characters URLs treat specially.
odd_chars = st.characters(exclude_categories=()) | st.sampled_from("\udcff\ud800%?&=/+")
odd_text = st.text(odd_chars, max_size=8)
odd_requests = st.builds(
    Request,
    method=odd_text,
    path=odd_text | st.sampled_from(["/%", "/%zz", "/%ff%fe", "//a/../b", "/a?b"]),
    query=st.lists(st.tuples(odd_text, odd_text), max_size=4).map(tuple),
    headers=st.lists(
        st.tuples(
            st.sampled_from(["Content-Type", "x-tenant", "X-Other"]),
            st.sampled_from(["application/json", "application/x-www-form-urlencoded", ""])
            | odd_text,
        ),
        max_size=3,
    ).map(tuple),
    body=st.binary(max_size=64)
    | st.binary(max_size=16).map(lambda b: b"{" + b)
    | st.binary(max_size=16).map(lambda b: b"[" + b)
    | json_st.map(lambda d: json.dumps(d).encode())
    | st.integers(0, 50).map(lambda n: b"[" * n * 100),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(odd_requests, max_size=4), odd_requests)
def test_lookup_never_raises(recorded, request):
    idx = ReplayIndex(
        MatchRules(
            ignore_query=frozenset({"ts"}),
            ignore_json=("$.a", "$[*].b", "$.c[0]"),
            headers=("X-Tenant",),
            sequence="cycle",
        )
    )
    for i, r in enumerate(recorded):
        idx.add(ex(i, r))
    found = idx.lookup(request)
    if isinstance(found, Miss):
        json.dumps(found.to_json())
        found.describe()
        assert len(found.candidates) == min(len(recorded), 5)
    else:
        assert idx.key(found.request) == idx.key(request)


@PROPS
@given(
    recorded=st.lists(st.sampled_from(["/a", "/b", "/c"]), min_size=1, max_size=8),
    asked=st.lists(st.sampled_from(["/a", "/b", "/c"]), max_size=30),
    sequence=st.sampled_from(["repeat_last", "cycle", "first"]),
)
def test_an_always_served_recording_is_every_answer_to_its_request(recorded, asked, sequence):
    idx = index(*(req(path=p) for p in recorded), sequence=sequence)
    always = idx.always_served()
    answers: dict[str, set[int]] = {}
    stable: set[str] = set()
    for path in asked:
        found = idx.lookup(req(path=path))
        if isinstance(found, Miss):
            continue
        answers.setdefault(path, set()).add(found.id)
        if id(found) in always:
            stable.add(path)
    for path in stable:
        assert len(answers[path]) == 1
    if sequence != "first":  # a path recorded more than once plays them in turn
        assert all(recorded.count(path) == 1 for path in stable)


def test_header_matchers_leave_nothing_always_served():
    idx = index(req(headers=(("X-Tenant", "a"),)), headers=("x-tenant",))
    assert idx.always_served() == set()


# --- edges the tests above leave open ---------------------------------------------------------


def test_a_target_with_an_unencodable_query_value_is_still_shown():
    """A lone surrogate in a query value is shown backslash-escaped, not dropped or raised."""
    idx = index(req(path="/p", query=[("q", "\ud800x")]))
    m = miss(idx, req(path="/p", query=[("q", "é\udcff"), ("r", "1")]))
    assert m.target == "/p?q=%C3%A9%5Cudcff&r=1"
    assert m.candidates[0].target == "/p?q=%5Cud800x"
    quiet = idx.lookup(req(path="/p", query=[("q", "\udcff")]), explain=False)
    assert quiet == Miss("GET", "/p?q=%5Cudcff", ())


def test_always_served_is_exactly_the_recordings_alone_with_their_key():
    """Lone recordings are always served; a group of repeats only under `first`, by its head."""
    recorded = [req(), req(), req(path="/solo"), req(path="/pair"), req(path="/pair")]
    for sequence, expected in (("repeat_last", [2]), ("cycle", [2]), ("first", [0, 2, 3])):
        idx = ReplayIndex(MatchRules(sequence=sequence))
        exchanges = [ex(i, r) for i, r in enumerate(recorded)]
        for e in exchanges:
            idx.add(e)
        assert idx.always_served() == {id(exchanges[i]) for i in expected}, sequence


def test_explain_gives_the_verdicts_a_miss_would():
    """explain() compares any recording with any request, with a miss's sentences and diffs."""
    recorded = req("POST", query=[("page", "1")], headers=[("X-Tenant", "a")], body={"n": 1})
    idx = index(recorded, headers=("x-tenant",))
    exchange = idx.lookup(recorded)
    assert isinstance(exchange, Exchange)
    got = req("POST", query=[("page", "2")], headers=[("X-Tenant", "a")], body={"n": 1})
    assert idx.explain(exchange, got) == miss(idx, got).candidates[0].results
    verdicts = idx.explain(exchange, got)
    assert [(r.name, r.ok, r.why) for r in verdicts] == [
        ("method", True, "method POST, as recorded"),
        ("path", True, "path /api/items, as recorded"),
        ("query", False, "query page: expected '1', got '2'"),
        ("body", True, "body matches"),
        ("header:x-tenant", True, "header x-tenant matches"),
    ]
    assert verdicts[2].diff == ("-page=1", "+page=2")
    assert all(r.ok for r in idx.explain(exchange, recorded))


def test_header_sentences_when_the_header_matches_or_is_absent_on_both():
    """A passing header matcher says whether the header was there or absent on both sides."""
    idx = index(req(headers=[("X-Tenant", "a")]), req(path="/b"), headers=("x-tenant", "x-other"))
    m = miss(idx, req(path="/api/items", query=[("n", "1")], headers=[("X-Tenant", "a")]))
    whys = {r.name: r.why for r in m.candidates[0].results}
    assert whys["header:x-tenant"] == "header x-tenant matches"
    assert whys["header:x-other"] == "header x-other absent, as recorded"


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_a_miss_examines_exactly_max_examined_recordings(limit):
    """The bound is exact: `max_examined` recordings are compared, no fewer and no more."""
    idx = ReplayIndex(max_examined=limit)
    for i in range(6):
        idx.add(ex(i, req(path=f"/p{i}")))
    assert len(miss(idx, req(path="/q")).candidates) == limit


def test_the_same_method_and_path_are_examined_before_the_same_path():
    """With room for one comparison, the recording of the same route wins over the same path,
    and the same path wins over recordings elsewhere, whatever the recorded order."""
    idx = ReplayIndex(max_examined=1)
    idx.add(ex(1, req("GET", "/elsewhere")))
    idx.add(ex(2, req("POST", "/t")))
    idx.add(ex(3, req("PUT", "/t")))
    idx.add(ex(4, req("GET", "/t")))
    nearest = miss(idx, req("GET", "/t", query=[("x", "1")])).candidates
    assert [c.exchange_id for c in nearest] == [4]
    # No recording of the route: the first with the same path comes next.
    assert [c.exchange_id for c in miss(idx, req("DELETE", "/t")).candidates] == [2]


def test_the_201st_recording_is_not_examined_by_default():
    """By default a miss compares at most 200 recordings, so a better one past them is unseen."""
    idx = ReplayIndex()
    for i in range(200):
        idx.add(ex(i, req(path=f"/noise/{i}")))
    idx.add(ex(200, req(path="/elsewhere", query=[("x", "1")])))
    m = miss(idx, req(path="/other", query=[("x", "1")]))
    assert 200 not in {c.exchange_id for c in m.candidates}
    idx.max_examined = 201
    assert miss(idx, req(path="/other", query=[("x", "1")])).candidates[0].exchange_id == 200


def test_ignored_array_indexes_at_both_ends():
    """$.ids[-3] on three items blanks the first; $.ids[3] on three items blanks nothing."""
    first = index(req("POST", body={"ids": [1, 2, 3]}), ignore_json=("$.ids[-3]",))
    assert hit_id(first, req("POST", body={"ids": [9, 2, 3]})) == 1
    past = index(req("POST", body={"ids": [1, 2, 3]}), ignore_json=("$.ids[3]", "$.ids[-4]"))
    assert hit_id(past, req("POST", body={"ids": [1, 2, 3]})) == 1
    assert failed(miss(past, req("POST", body={"ids": [9, 2, 3]}))) == {
        "body": "body $.ids[0]: expected 1, got 9"
    }


def test_form_fields_keep_blank_values_and_undecodable_bytes():
    """An empty field counts as a field, and two different non-UTF-8 escapes stay different."""
    idx = index(
        Request("POST", "/f", (), FORM, b"a=&b=1"), Request("POST", "/g", (), FORM, b"a=%ff")
    )
    assert hit_id(idx, Request("POST", "/f", (), FORM, b"b=1&a=")) == 1
    assert failed(miss(idx, Request("POST", "/f", (), FORM, b"b=1"))) == {
        "body": "body field a: expected '', got absent"
    }
    assert hit_id(idx, Request("POST", "/g", (), FORM, b"a=%FF")) == 2
    assert "body" in failed(miss(idx, Request("POST", "/g", (), FORM, b"a=%fe")))


def test_query_sentences_when_the_query_matches_or_is_absent_on_both():
    """A passing query matcher says whether there was a query to match."""
    idx = index(req(query=[("a", "1")]), req(path="/b"))
    whys = {r.name: r.why for r in miss(idx, req("PUT", query=[("a", "1")])).candidates[0].results}
    assert whys["query"] == "query matches"
    whys = {r.name: r.why for r in miss(idx, req("PUT", "/b")).candidates[0].results}
    assert whys["query"] == "no query, as recorded"


def test_json_numbers_are_equal_only_when_they_are_the_same_number():
    """Integral floats equal ints below 2**53; fractions and floats past it keep their value."""
    idx = index(
        req("POST", "/n", body=b'{"n": 1000}', headers=JSON),
        req("POST", "/f", body=b'{"n": 1.5}', headers=JSON),
        req("POST", "/big", body=b'{"n": 9007199254740992}', headers=JSON),
        req("POST", "/below", body=b'{"n": 9007199254740991}', headers=JSON),
    )
    assert hit_id(idx, req("POST", "/n", body=b'{"n": 1e3}', headers=JSON)) == 1
    assert hit_id(idx, req("POST", "/f", body=b'{"n": 15e-1}', headers=JSON)) == 2
    assert failed(miss(idx, req("POST", "/f", body=b'{"n": 1.25}', headers=JSON))) == {
        "body": "body $.n: expected 1.5, got 1.25"
    }
    assert hit_id(idx, req("POST", "/below", body=b'{"n": 9007199254740991.0}', headers=JSON)) == 4
    # 9007199254740993.0 reads as the float 2**53, which is not the integer that was sent.
    assert "body" in failed(
        miss(idx, req("POST", "/big", body=b'{"n": 9007199254740993.0}', headers=JSON))
    )


def test_json_strings_with_encoded_surrogates_still_compare_as_data():
    """UTF-8-encoded lone surrogates in a JSON body are read, so whitespace still does not count."""
    idx = index(Request("POST", "/s", (), JSON, b'{"a": "\xed\xa0\x80", "b": 1}'))
    assert hit_id(idx, Request("POST", "/s", (), JSON, b'{"b":1,"a":"\xed\xa0\x80"}')) == 1


def test_a_resent_body_is_worked_out_once(monkeypatch):
    """The body's key part is remembered, except for bodies over BODY_MEMO_BYTES."""
    calls = []

    def counting(body, content_type, paths=()):
        calls.append(body)
        return match_keys.body_part(body, content_type, paths)

    monkeypatch.setattr(matching, "body_part", counting)
    small = req("POST", body={"a": 1})
    idx = index(small)
    for _ in range(3):
        assert hit_id(idx, small) == 1
    assert len(calls) == 1
    limit = req("POST", "/limit", body=b"x" * matching.BODY_MEMO_BYTES)
    idx.add(ex(2, limit))
    for _ in range(2):
        assert hit_id(idx, limit) == 2
    assert len(calls) == 2
    big = req("POST", "/big", body=b"x" * (matching.BODY_MEMO_BYTES + 1))
    idx.add(ex(3, big))
    for _ in range(2):
        assert hit_id(idx, big) == 3
    assert len(calls) == 5


def test_the_body_memo_is_bounded(monkeypatch):
    """Once BODY_MEMO bodies are remembered, the next one starts the memo afresh."""
    calls = []

    def counting(body, content_type, paths=()):
        calls.append(body)
        return match_keys.body_part(body, content_type, paths)

    monkeypatch.setattr(matching, "body_part", counting)
    idx = ReplayIndex()
    bodies = [str(i).encode() for i in range(matching.BODY_MEMO + 1)]
    for body in bodies[:-1]:
        idx.key(req("POST", body=body))
    idx.key(req("POST", body=bodies[0]))
    assert len(calls) == matching.BODY_MEMO  # all still remembered
    idx.key(req("POST", body=bodies[-1]))  # one too many: the memo is cleared
    idx.key(req("POST", body=bodies[0]))
    assert len(calls) == matching.BODY_MEMO + 2


def test_short_bodies_are_kept_in_the_key_and_longer_ones_digested():
    """Up to 64 bytes the canonical body itself is in the key; from 65 a 16-byte digest."""
    assert match_keys.body_part(b"a" * 64, "text/plain") == ("bytes", 64, b"a" * 64)
    kind, length, digest = match_keys.body_part(b"a" * 65, "text/plain")
    assert (kind, length, len(digest)) == ("bytes", 65, 16)
    assert match_keys.body_part(b"a=1", "application/x-www-form-urlencoded") == (
        "form",
        12,
        b'[["a", "1"]]',
    )
    assert match_keys.body_part(b"{oops", "application/json") == ("bytes", 5, b"{oops")


def test_long_bodies_of_one_length_that_differ_do_not_match():
    """Digested bodies compare by content: same length and kind, one byte apart, is a miss."""
    text = (("Content-Type", "text/plain"),)
    long = b"x" * 100
    idx = index(req("POST", headers=text, body=long))
    assert hit_id(idx, req("POST", headers=text, body=long)) == 1
    assert failed(miss(idx, req("POST", headers=text, body=long[:-1] + b"y"))) == {
        "body": "body: expected 100 bytes, got 100, differing from byte 99"
    }
    data = {"text": "a" * 100}
    idx = index(req("POST", body=data))
    assert "body" in failed(miss(idx, req("POST", body={"text": "b" * 100})))


def test_form_bodies_that_are_not_utf8_compare_by_their_bytes():
    """Raw non-UTF-8 bytes in a form body are kept as they are, not an error."""
    idx = index(Request("POST", "/f", (), FORM, b"a=\xff&b=1"))
    assert hit_id(idx, Request("POST", "/f", (), FORM, b"b=1&a=\xff")) == 1
    assert "body" in failed(miss(idx, Request("POST", "/f", (), FORM, b"a=\xfe&b=1")))
