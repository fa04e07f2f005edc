"""Path templates, JSON Schema inference and merging (backworks_cli.learn.schemas): pure functions,
checked with examples and hypothesis properties; schemas are checked with jsonschema."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from backworks_cli.learn.merge import merge_schemas
from backworks_cli.learn.schemas import MAX_DEPTH, BodyAccumulator, JsonAccumulator, parse_json
from backworks_cli.learn.templates import template_paths
from backworks_cli.learn.values import JOIN_FROM, TextValues, all_match, detect_format

COLLECTIONS = ("users", "orders", "products", "invoices", "categories", "boxes")


def schema_of(*samples) -> dict:
    acc = JsonAccumulator()
    for sample in samples:
        acc.add(sample)
    return acc.to_schema()


def validates(schema: dict, sample) -> bool:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return validator.is_valid(sample)


def paths(templates: dict) -> dict[str, str]:
    return {path: t.path for path, t in templates.items()}


# --- path templates ---------------------------------------------------------------------------

strong_ids = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.uuids().map(str),
    st.binary(min_size=4, max_size=20).map(lambda b: b.hex() + "0"),
    st.dates().map(lambda d: d.isoformat()),
    st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}@example\.(com|org)", fullmatch=True),
)
weak_ids = st.from_regex(r"(ord|inv|sku)-[0-9]{3,8}", fullmatch=True)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    collection=st.sampled_from(COLLECTIONS),
    ids=st.one_of(
        st.lists(strong_ids, min_size=1, max_size=6, unique=True),
        st.lists(weak_ids, min_size=2, max_size=6, unique=True),
    ),
    child=st.sampled_from(["", "/orders", "/avatar"]),
)
def test_identifiers_never_become_literal_routes(collection, ids, child):
    recorded = [f"/api/{collection}/{i}{child}" for i in ids]
    found = paths(template_paths(recorded))
    name = "id" if not child else f"{collection.removesuffix('s').removesuffix('ie')}"
    for path in recorded:
        template = found[path]
        assert template.startswith(f"/api/{collection}/{{")
        assert not any(i in template for i in ids)
        assert template.endswith(child)
        if not child:
            assert template == f"/api/{collection}/{{id}}"
        else:
            assert template.split("/")[3].startswith("{" + name[:3])


@settings(max_examples=60)
@given(
    collection=st.sampled_from(COLLECTIONS),
    ids=st.lists(strong_ids, min_size=1, max_size=5, unique=True),
    literals=st.lists(
        st.sampled_from(["me", "search", "export", "new", "v1", "latest"]), min_size=1, unique=True
    ),
)
def test_literal_siblings_survive(collection, ids, literals):
    recorded = [f"/api/{collection}/{x}" for x in [*ids, *literals]]
    found = paths(template_paths(recorded))
    for word in literals:
        assert found[f"/api/{collection}/{word}"] == f"/api/{collection}/{word}"
    for i in ids:
        assert found[f"/api/{collection}/{i}"] == f"/api/{collection}/{{id}}"


def test_templates_name_and_type_their_parameters():
    templates = template_paths(
        [
            "/users/1/orders/10",
            "/users/2/orders/11",
            "/users/2/orders",
            "/categories/3/items",
            f"/files/{uuid.UUID(int=1)}",
            f"/files/{uuid.UUID(int=2)}",
            "/reports/2024-01-31",
            "/reports/2024-02-01",
            "/tickets/ord-123",
            "/tickets/ord-456",
            "/avatar/7.png",
            "/avatar/8.png",
        ]
    )
    assert templates["/users/1/orders/10"].path == "/users/{user_id}/orders/{id}"
    assert templates["/users/2/orders"].path == "/users/{user_id}/orders"
    assert templates["/categories/3/items"].path == "/categories/{category_id}/items"
    assert templates["/users/1/orders/10"].params == {
        "user_id": {"type": "integer"},
        "id": {"type": "integer"},
    }
    files = templates[f"/files/{uuid.UUID(int=1)}"]
    assert files.path == "/files/{id}"
    assert files.params == {"id": {"type": "string", "format": "uuid"}}
    assert templates["/reports/2024-01-31"].params == {"id": {"type": "string", "format": "date"}}
    assert templates["/tickets/ord-123"].params == {"id": {"type": "string"}}
    assert templates["/avatar/7.png"].path == "/avatar/{id}.png"


def test_single_weak_identifiers_and_versions_stay_literal():
    found = paths(template_paths(["/api/v1/users", "/api/v2/users", "/api/oauth2/token"]))
    assert found == {
        "/api/v1/users": "/api/v1/users",
        "/api/v2/users": "/api/v2/users",
        "/api/oauth2/token": "/api/oauth2/token",
    }


def test_many_siblings_with_the_same_sub_paths_become_a_parameter():
    names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
    recorded = [f"/repos/{n}/settings" for n in names] + ["/repos/new", "/repos/popular/today"]
    found = paths(template_paths(recorded))
    assert found["/repos/alice/settings"] == "/repos/{repo_id}/settings"
    assert found["/repos/new"] == "/repos/new"
    assert found["/repos/popular/today"] == "/repos/popular/today"
    few = paths(template_paths([f"/repos/{n}/settings" for n in names[:3]]))
    assert few["/repos/alice/settings"] == "/repos/alice/settings"


def test_trailing_slash_and_root():
    found = paths(template_paths(["/", "/users/", "/users"]))
    assert found == {"/": "/", "/users/": "/users", "/users": "/users"}


# --- JSON Schemas -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["2024-01-31T10:00:00Z", "2023-12-01T23:59:59.5+02:00"], "date-time"),
        (["2024-01-31", "2023-02-28"], "date"),
        (["a@example.com", "b.c@example.org"], "email"),
        ([str(uuid.UUID(int=5)), str(uuid.uuid4())], "uuid"),
        (["https://example.com/x?y=1", "http://localhost:8000/"], "uri"),
        (["10.0.0.1", "192.168.1.254"], "ipv4"),
        (["::1", "2001:db8::8a2e:370:7334"], "ipv6"),
    ],
)
def test_formats_when_every_sample_matches(values, fmt):
    assert detect_format(values[0]) == fmt
    assert schema_of(*values) == {"type": "string", "format": fmt}
    assert "format" not in schema_of(*values, "not one")
    assert "format" not in schema_of(*values, "2023-02-30")


def test_enum_needs_evidence():
    statuses = ["paid", "pending", "shipped"] * 4
    assert schema_of(*statuses)["enum"] == ["paid", "pending", "shipped"]
    assert "enum" not in schema_of(*statuses[:9])  # fewer than 10 samples
    assert "enum" not in schema_of(*statuses, "refunded")  # one value seen once
    many = [f"s{i}" for i in range(9)] * 3
    assert "enum" not in schema_of(*many)  # more than 8 distinct values
    nullable = schema_of(*statuses, None)
    assert nullable == {"type": ["null", "string"], "enum": ["paid", "pending", "shipped", None]}


def test_bounds_nullable_required_and_unions():
    schema = schema_of(
        {"id": 1, "price": 9.5, "tags": ["a"], "note": None},
        {"id": 7, "price": 3, "tags": [], "note": "x"},
        {"id": 4, "price": 12.25, "tags": ["a", "b", "c"]},
    )
    props = schema["properties"]
    assert schema["required"] == ["id", "price", "tags"]
    assert props["id"] == {"type": "integer", "minimum": 1, "maximum": 7}
    assert props["price"] == {"type": "number", "minimum": 3, "maximum": 12.25}
    assert props["tags"]["minItems"] == 0 and props["tags"]["maxItems"] == 3
    assert props["note"]["type"] == ["null", "string"]
    mixed = schema_of({"a": 1}, [1, 2], "text", 3, None)
    types = [alt["type"] for alt in mixed["anyOf"]]
    assert types == [["integer", "null", "string"], "object", "array"]


def test_nested_200_deep_is_described_to_a_depth_limit():
    value: object = {"leaf": 1}
    for _ in range(200):
        value = {"child": value}
    schema = schema_of(value, value)
    depth, node = 0, schema
    while node.get("properties"):
        node, depth = node["properties"]["child"], depth + 1
    assert depth == MAX_DEPTH and node == {}
    assert validates(schema, value)


def test_an_array_of_100k_items():
    schema = schema_of(list(range(100_000)), [{"id": 1}])
    assert schema["maxItems"] == 100_000 and schema["minItems"] == 1
    assert schema["items"]["anyOf"][0] == {"type": "integer", "minimum": 0, "maximum": 99_999}


def test_leaf_fields_carry_names_paths_and_samples():
    acc = JsonAccumulator()
    for i in range(12):
        acc.add({"data": [{"email": f"u{i}@example.com", "n": i}], "total": 3})
    found = {f.path: (f.name, f.json_type, len(f.values)) for f in acc.leaf_fields()}
    assert found == {
        "$.data[].email": ("email", "string", 10),
        "$.data[].n": ("n", "integer", 10),
        "$.total": ("total", "integer", 1),
    }


def test_text_values():
    def schema(*values, enum=True):
        acc = TextValues(enum=enum)
        for value in values:
            acc.add(value)
        return acc.to_schema()

    assert schema("1", "20", "-3") == {"type": "integer"}
    assert schema("1", "2.5") == {"type": "number"}
    assert schema("true", "false") == {"type": "boolean"}
    assert schema("2024-01-01", "2024-02-01") == {"type": "string", "format": "date"}
    assert schema(*["asc", "desc"] * 5) == {"type": "string", "enum": ["asc", "desc"]}
    assert schema(*["asc", "desc"] * 5, enum=False) == {"type": "string"}


# --- other bodies -----------------------------------------------------------------------------


def test_non_json_bodies():
    text = BodyAccumulator()
    text.add(b"hello world", "text/plain; charset=utf-8")
    text.add(b"x" * 500, "text/plain")
    spec = text.to_spec()
    assert spec["content_type"] == "text/plain"
    assert spec["schema"]["minLength"] == 11 and spec["schema"]["maxLength"] == 500
    assert spec["schema"]["examples"] == ["hello world"]
    binary = BodyAccumulator()
    binary.add(b"\x89PNG\r\n\x1a\n\x00\x00", "image/png")
    assert binary.to_spec() == {
        "content_type": "image/png",
        "schema": {"type": "string", "format": "binary", "x-size": {"min": 10, "max": 10}},
    }
    empty = BodyAccumulator()
    empty.add(b"", None)
    assert empty.to_spec() is None


def test_truncated_json_bodies():
    bodies = BodyAccumulator()
    bodies.add(b'{"a": 1, "b": [', "application/json")
    assert bodies.invalid_json == 1
    assert bodies.to_spec()["schema"]["type"] == "string"
    bodies.add(b'{"a": 2}', "application/json")
    assert bodies.to_spec()["schema"]["properties"] == {
        "a": {"type": "integer", "minimum": 2, "maximum": 2}
    }


format_values = st.one_of(
    st.uuids().map(str),
    st.dates().map(str),
    st.datetimes().map(lambda d: d.isoformat(timespec="seconds") + "Z"),
    st.from_regex(r"20[0-9]{2}-0[1-9]-(29|30|31)(T10:00:00Z)?", fullmatch=True),
    st.from_regex(r"[a-z.]{1,6}@[a-z]{1,5}\.(com|org)", fullmatch=True),
    st.from_regex(r"https?://[a-z]{1,8}\.example/[a-z?=&%0-9]{0,10}", fullmatch=True),
    st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", fullmatch=True),
    st.text(max_size=12),
)


@settings(max_examples=300)
@given(
    fmt=st.sampled_from(["uuid", "date", "date-time", "email", "uri", "ipv4"]),
    base=format_values,
    others=st.lists(format_values, max_size=4),
    count=st.integers(JOIN_FROM - 2, JOIN_FROM + 40),
    newline=st.booleans(),
)
def test_a_column_checked_at_once_agrees_with_each_value_checked(fmt, base, others, count, newline):
    values = [base] * count + others
    if newline:
        values.append(base + "\n" + base)
    assert all_match(fmt, values) == all(all_match(fmt, [v]) for v in values)


def test_late_days_are_checked_against_the_calendar_in_long_columns():
    many = JOIN_FROM * 2
    assert all_match("date", ["2024-02-29"] * many)
    assert not all_match("date", ["2024-02-28"] * many + ["2023-02-29"])
    assert all_match("date-time", ["2024-04-30T10:00:00Z"] * many)
    assert not all_match("date-time", ["2024-04-01T10:00:00Z"] * many + ["2024-04-31T10:00:00Z"])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
json_texts = st.one_of(
    json_values.map(json.dumps),
    st.tuples(
        st.sampled_from(["", " ", "\n\t", "\ufeff"]),
        json_values,
        st.sampled_from(["", " \r\n", " x", "]"]),
    ).map(lambda t: t[0] + json.dumps(t[1]) + t[2]),
    st.text(max_size=12),
)


def loads_outcome(parse, text):
    try:
        return ("value", json.dumps(parse(text)))
    except ValueError:
        return ("error", None)


@settings(max_examples=300)
@given(text=json_texts)
def test_parse_json_is_json_loads_of_the_bytes(text):
    # The store hands infer text; parsing it must agree with json.loads of the body's bytes
    # (which takes a UTF-8 BOM), errors included.
    data = text.encode("utf-8", "surrogatepass")
    assert loads_outcome(parse_json, text) == loads_outcome(json.loads, data)
    assert loads_outcome(parse_json, data) == loads_outcome(json.loads, data)


def as_stored(body: bytes) -> bytes | str:
    """A body as the store hands it back: text when it is UTF-8 without NULs, else bytes."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    return body if "\x00" in text else text


def spec_of(bodies, as_text: bool) -> tuple:
    acc = BodyAccumulator()
    for body, content_type in bodies:
        acc.add(as_stored(body) if as_text else body, content_type)
    return acc.to_spec(), acc.invalid_json


@settings(max_examples=150)
@given(
    bodies=st.lists(
        st.tuples(
            st.one_of(
                json_texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
                st.binary(max_size=12),
                st.sampled_from(
                    [b'{"a": 1}', b"\xef\xbb\xbf[1, 2]", "Zo\u00eb \u00fcber".encode()]
                ),
            ),
            st.sampled_from([None, "application/json", "text/plain", "image/png"]),
        ),
        max_size=8,
    )
)
def test_bodies_as_text_or_bytes_give_the_same_spec(bodies):
    assert spec_of(bodies, as_text=True) == spec_of(bodies, as_text=False)


def test_a_repeated_body_counts_each_time():
    acc = BodyAccumulator()
    for _ in range(12):
        acc.add('{"status": "ok", "n": 1}', "application/json")
    acc.add('{"status": "down", "n": 2}', "application/json")
    acc.add('{"status": "down", "n": 2}', "application/json")
    schema = acc.to_spec()["schema"]
    assert acc.count == 14 and acc.json.count == 14
    assert schema["properties"]["status"]["enum"] == ["down", "ok"]
    assert schema["properties"]["n"] == {"type": "integer", "minimum": 1, "maximum": 2}


# --- merging ----------------------------------------------------------------------------------


def test_merge_widens():
    old = {
        "type": "object",
        "required": ["a", "b"],
        "properties": {
            "a": {"type": "integer", "minimum": 1, "maximum": 5, "x-semantic": "quantity"},
            "b": {"type": "string", "enum": ["x", "y"], "format": "email"},
        },
    }
    new = {
        "type": "object",
        "required": ["a", "c"],
        "properties": {
            "a": {"type": "number", "minimum": 0.5, "maximum": 3, "x-semantic": "price"},
            "c": {"type": "null"},
        },
    }
    merged = merge_schemas(old, new)
    assert merged["required"] == ["a"]
    assert merged["properties"]["a"] == {
        "type": "number",
        "x-semantic": "quantity",
        "minimum": 0.5,
        "maximum": 5,
    }
    assert merged["properties"]["b"] == old["properties"]["b"]
    wide = merge_schemas({"type": "string", "enum": list("abcdef")}, {"enum": list("ghi")})
    assert "enum" not in wide
    grown = merge_schemas({"type": "string", "enum": ["a"]}, {"type": "string", "enum": ["b"]})
    assert grown == {"type": "string", "enum": ["a", "b"]}
    assert merge_schemas({"type": "string"}, {"type": "object"})["anyOf"][1] == {"type": "object"}
    assert merge_schemas(old, {}) == {}


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["a", "b", "2024-01-01", "x@example.com", "http://h/p", "10.0.0.1"]),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["id", "name", "tags", "meta", "n"]), children, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_values, min_size=1, max_size=14))
def test_inferred_schema_validates_every_sample(samples):
    schema = schema_of(*samples)
    Draft202012Validator.check_schema(schema)
    for sample in samples:
        assert validates(schema, sample), (schema, sample)
    assert merge_schemas(schema, schema) == schema


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(json_values, min_size=1, max_size=12),
    st.lists(json_values, min_size=1, max_size=12),
)
def test_merged_schema_validates_every_sample_of_both(first, second):
    merged = merge_schemas(schema_of(*first), schema_of(*second))
    Draft202012Validator.check_schema(merged)
    for sample in first + second:
        assert validates(merged, sample), (merged, sample)
    assert merge_schemas(merged, merged) == merged
    assert json.loads(json.dumps(merged)) == merged
