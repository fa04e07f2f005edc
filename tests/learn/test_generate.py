"""Generated data validates against its schema, is the same for a key in every process, and looks
like its semantic type; edge cases validate too."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import re
import subprocess
import sys
import uuid
from urllib.parse import urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from backworks_cli.core.errors import ConfigError
from backworks_cli.learn.generate import Generator
from backworks_cli.learn.generation.fakes import FORMATS, SEMANTIC_TYPES

GEN = Generator(seed=3)

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$", re.IGNORECASE)


def _strict_checker() -> FormatChecker:
    """jsonschema's checks plus hostname and uri, whose checkers need packages not installed."""
    checker = FormatChecker()
    checker.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)  # not draft 3's "time"

    @checker.checks("hostname")
    def hostname(value):
        return not isinstance(value, str) or bool(_HOSTNAME.match(value))

    @checker.checks("uri")
    def uri(value):
        if not isinstance(value, str):
            return True
        parts = urlparse(value)
        return bool(parts.scheme and parts.netloc) and " " not in value

    return checker


STRICT = _strict_checker()


def validate(schema, value, checker=STRICT):
    Draft202012Validator(schema, format_checker=checker).validate(value)


USER = {
    "type": "object",
    "required": ["id", "email", "name"],
    "properties": {
        "id": {"type": "integer", "x-semantic": "integer_id"},
        "email": {"type": "string", "format": "email", "x-semantic": "email"},
        "name": {"type": "string", "x-semantic": "full_name"},
        "username": {"type": "string", "x-semantic": "username"},
        "first_name": {"type": "string", "x-semantic": "first_name"},
        "last_name": {"type": "string", "x-semantic": "last_name"},
        "phone": {"type": ["string", "null"], "x-semantic": "phone"},
        "created_at": {"type": "string", "format": "date-time", "x-semantic": "datetime"},
        "active": {"type": "boolean"},
        "city": {"type": "string", "x-semantic": "city"},
        "country": {"type": "string", "x-semantic": "country_code"},
        "company": {"type": "string", "x-semantic": "company"},
        "avatar": {"type": "string", "format": "uri", "x-semantic": "url"},
        "balance": {"type": "number", "x-semantic": "price", "minimum": 0},
        "role": {"type": "string", "enum": ["admin", "member"], "x-semantic": "category"},
    },
}


# ---------------------------------------------------------------------------------------------
# A strategy of schemas: nested objects and arrays, formats, patterns, enums, bounds, nullable


CHECKED_FORMATS = ["date-time", "date", "time", "email", "uuid", "uri", "hostname", "ipv4", "ipv6"]
PATTERNS = [
    r"^[a-z]{3,8}$",
    r"^\d{3}-\d{4}$",
    r"^[A-Z][a-z]+( [A-Z][a-z]+)?$",
    r"^(foo|bar|baz)_\d+$",
    r"[a-f0-9]{8}",
    r"^\w+@\w+\.com$",
    r"^[^\s,]{2,}$",
    r"^(ab)+\1?$",
    r"^ORD-[0-9]{6}$",
    r"^.{4}$",
    r"^(?:[A-Z]{2}|[0-9]{3})$",
]
SEMANTICS = st.sampled_from(SEMANTIC_TYPES)
NAMES = st.sampled_from(["id", "name", "email", "tags", "meta", "a", "b", "count", "price", "at"])


@st.composite
def strings(draw):
    s = {"type": "string"}
    if draw(st.booleans()):
        s["x-semantic"] = draw(SEMANTICS)
    kind = draw(st.sampled_from(["plain", "format", "length", "pattern", "pattern+length"]))
    if kind == "format":
        s["format"] = draw(st.sampled_from(CHECKED_FORMATS))
    elif kind == "length":
        a, b = draw(st.integers(0, 40)), draw(st.integers(0, 40))
        if draw(st.booleans()):
            s["minLength"] = min(a, b)
        if draw(st.booleans()):
            s["maxLength"] = max(a, b)
    elif kind == "pattern":
        s["pattern"] = draw(st.sampled_from(PATTERNS))
    elif kind == "pattern+length":
        s.update(pattern="^[a-z]+$", minLength=draw(st.integers(1, 20)))
        s["maxLength"] = s["minLength"] + draw(st.integers(0, 10))
    return s


@st.composite
def integers(draw):
    s = {"type": "integer"}
    if draw(st.booleans()):
        s["x-semantic"] = draw(SEMANTICS)
    m = draw(st.sampled_from([None, 1, 2, 5, 7, 10]))
    lo = draw(st.none() | st.integers(-(10**6), 10**6))
    width = draw(st.integers(2 * (m or 1), 2000))
    if lo is not None:
        s["minimum"] = lo
    if draw(st.booleans()):
        s["maximum"] = (lo or 0) + width
    if draw(st.booleans()) and "minimum" in s:
        s["exclusiveMinimum"] = s.pop("minimum")
    if draw(st.booleans()) and "maximum" in s:
        s["exclusiveMaximum"] = s.pop("maximum")
    if m:
        s["multipleOf"] = m
    return s


@st.composite
def numbers(draw):
    s = {"type": "number"}
    if draw(st.booleans()):
        s["x-semantic"] = draw(SEMANTICS)
    m = draw(st.sampled_from([None, 0.5, 0.25, 0.1, 0.01, 0.2, 2, 2.5]))
    lo = draw(st.none() | st.floats(-1e6, 1e6).map(lambda x: round(x, 3)))
    width = draw(st.floats(20 * (m or 0.05), 1e4))
    if lo is not None:
        s["minimum"] = lo
    if draw(st.booleans()):
        s["maximum"] = (lo or 0) + width
    if draw(st.booleans()) and "minimum" in s:
        s["exclusiveMinimum"] = s.pop("minimum")
    if m:
        s["multipleOf"] = m
    return s


SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4)
OTHERS = st.one_of(
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    SCALARS.map(lambda v: {"const": v}),
    st.lists(SCALARS, min_size=1, max_size=4, unique_by=json.dumps).map(lambda v: {"enum": v}),
    st.lists(st.text(max_size=6), min_size=1, max_size=4, unique=True).map(
        lambda v: {"type": "string", "enum": v, "x-semantic": "category"}
    ),
    st.just({}),
)


def nullable(schemas):
    return schemas.map(lambda s: {**s, "type": [s["type"], "null"]})


LEAVES = st.one_of(strings(), integers(), numbers(), OTHERS, nullable(strings() | integers()))


@st.composite
def objects(draw, children):
    props = draw(st.dictionaries(NAMES, children, max_size=5))
    s = {"type": "object", "properties": props}
    required = draw(st.lists(st.sampled_from(sorted(props)), unique=True)) if props else []
    if required:
        s["required"] = required
    if draw(st.booleans()):
        s["additionalProperties"] = False
    return s


@st.composite
def arrays(draw, children):
    s = {"type": "array", "items": draw(children)}
    a, b = draw(st.integers(0, 4)), draw(st.integers(0, 6))
    if draw(st.booleans()):
        s["minItems"] = min(a, b)
    if draw(st.booleans()):
        s["maxItems"] = max(a, b)
    return s


@st.composite
def one_ofs(draw, children):
    """Branches of different JSON types, so exactly one matches."""
    families = {
        "string": strings(),
        "integer": integers(),
        "boolean": st.just({"type": "boolean"}),
        "null": st.just({"type": "null"}),
        "array": arrays(children),
        "object": objects(children),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(families)), min_size=2, max_size=3, unique=True))
    return {"oneOf": [draw(families[f]) for f in chosen]}


@st.composite
def all_ofs(draw, children):
    """An object split in two halves, or integer bounds split across two schemas."""
    if draw(st.booleans()):
        lo = draw(st.integers(-100, 100))
        return {
            "allOf": [
                {"type": "integer", "minimum": lo},
                {"maximum": lo + draw(st.integers(0, 50))},
            ]
        }
    whole = draw(objects(children))
    names = sorted(whole["properties"])
    cut = draw(st.integers(0, len(names)))
    parts = []
    for half in (names[:cut], names[cut:]):
        part = {"type": "object", "properties": {n: whole["properties"][n] for n in half}}
        required = [n for n in whole.get("required", ()) if n in half]
        if required:
            part["required"] = required
        parts.append(part)
    return {"allOf": parts}


def containers(children):
    return st.one_of(
        objects(children),
        arrays(children),
        one_ofs(children),
        all_ofs(children),
        st.lists(children, min_size=1, max_size=3).map(lambda bs: {"anyOf": bs}),
    )


TREES = st.recursive(LEAVES, containers, max_leaves=10)


@st.composite
def schemas(draw):
    """A schema tree, sometimes with $defs used through $ref (with and without siblings)."""
    tree = draw(TREES)
    if not draw(st.booleans()):
        return tree
    return {
        "$defs": {"shared": tree},
        "type": "object",
        "required": ["x"],
        "properties": {
            "x": {"$ref": "#/$defs/shared"},
            "y": {"type": "array", "items": {"$ref": "#/$defs/shared", "description": "same"}},
        },
    }


KEYS = st.text(max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=schemas(), key=KEYS)
def test_generated_values_validate_and_repeat(schema, key):
    value = GEN.generate(schema, key=key)
    validate(schema, value)
    assert Generator(seed=3).generate(schema, key=key) == value


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=schemas(), key=KEYS)
def test_edge_cases_validate_and_repeat(schema, key):
    value = GEN.edge_case(schema, key=key)
    validate(schema, value, checker=Draft202012Validator.FORMAT_CHECKER)
    assert Generator(seed=3).edge_case(schema, key=key) == value


# ---------------------------------------------------------------------------------------------
# Determinism


def test_same_key_same_value_other_key_other_value():
    first = Generator(seed=1).generate(USER, key="get_users_id|id=42")
    assert Generator(seed=1).generate(USER, key="get_users_id|id=42") == first
    assert Generator(seed=1).generate(USER, key="get_users_id|id=43") != first
    assert Generator(seed=2).generate(USER, key="get_users_id|id=42") != first


def test_adding_a_field_leaves_the_others_unchanged():
    small = {"type": "object", "required": ["a", "b"], "properties": USER["properties"]}
    bigger = {**small, "properties": {**small["properties"], "extra": {"type": "string"}}}
    value, more = GEN.generate(small, key="k"), GEN.generate(bigger, key="k")
    assert {k: v for k, v in more.items() if k != "extra"} == value


_SCRIPT = """
import json, sys
from backworks_cli.learn.generate import Generator
from backworks_cli.learn.generation.fakes import SEMANTIC_TYPES
schemas = json.loads(sys.argv[1])
g = Generator(seed=11)
values = [  # in reverse, so Faker's pools fill in another order than in the test process
    [g.generate(s, key=f"key{i}") for i in range(3)] + [g.edge_case(s, key="edge")]
    for s in reversed(schemas)
]
print(json.dumps(values[::-1]))
"""


def test_same_value_in_another_process():
    every_semantic = {
        "type": "object",
        "required": list(SEMANTIC_TYPES),
        "properties": {name: {"x-semantic": name} for name in SEMANTIC_TYPES},
    }
    cases = [
        USER,
        every_semantic,
        {"type": "array", "minItems": 20, "items": USER},
        {"type": "string", "pattern": r"^[A-Z]{2}-\d{4}(-[a-z]+)?$"},
        {"type": "object", "properties": {"n": {"type": "number", "multipleOf": 0.1}}},
    ]
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(cases)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    g = Generator(seed=11)
    here = [
        [g.generate(s, key=f"key{i}") for i in range(3)] + [g.edge_case(s, key="edge")]
        for s in cases
    ]
    assert json.loads(proc.stdout) == json.loads(json.dumps(here))


def test_edge_cases_differ_between_keys():
    schema = {"type": "object", "properties": {"s": {"type": "string"}, "n": {"type": "integer"}}}
    values = {json.dumps(GEN.edge_case(schema, key=f"k{i}")) for i in range(20)}
    assert len(values) > 5


def test_edge_cases_reach_boundaries():
    texts = [GEN.edge_case({"type": "string"}, key=f"k{i}") for i in range(40)]
    assert any(not t.isascii() for t in texts)
    lists = [
        GEN.edge_case({"type": "array", "items": {"type": "integer"}}, key=str(i))
        for i in range(40)
    ]
    assert [] in lists
    bounded = {"type": "string", "minLength": 2, "maxLength": 5}
    lengths = {len(GEN.edge_case(bounded, key=f"k{i}")) for i in range(40)}
    assert lengths <= {2, 3, 4, 5} and lengths & {2, 5}


# ---------------------------------------------------------------------------------------------
# Overrides


def test_overrides_are_forced_and_coerced_to_the_property_type():
    as_int = {"type": "object", "properties": {"id": {"type": "integer"}, "n": {"type": "string"}}}
    as_str = {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}}}
    for i in range(20):
        assert GEN.generate(as_int, key=str(i), overrides={"id": 42})["id"] == 42
        assert GEN.generate(as_int, key=str(i), overrides={"id": "42"})["id"] == 42
        assert GEN.generate(as_str, key=str(i), overrides={"id": 42})["id"] == "42"
    nullable = {"type": ["object", "null"], "properties": {"id": {"type": "integer"}}}
    assert all(
        GEN.generate(nullable, key=str(i), overrides={"id": 7})["id"] == 7 for i in range(50)
    )


def test_overrides_of_undeclared_keys_follow_additional_properties():
    open_ = {"type": "object", "properties": {"name": {"type": "string"}}}
    closed = {**open_, "additionalProperties": False}
    assert GEN.generate(open_, key="k", overrides={"id": 5})["id"] == 5
    assert "id" not in GEN.generate(closed, key="k", overrides={"id": 5})


def test_overrides_reach_through_ref_and_leave_nested_objects_alone():
    schema = {
        "$defs": {"user": {"type": "object", "required": ["id", "friend"], "properties": {
            "id": {"type": "integer"},
            "friend": {"type": "object", "required": ["id"],
                       "properties": {"id": {"type": "integer", "maximum": 10}}},
        }}},
        "$ref": "#/$defs/user",
    }  # fmt: skip
    value = GEN.generate(schema, key="k", overrides={"id": 42})
    assert value["id"] == 42 and value["friend"]["id"] != 42


# ---------------------------------------------------------------------------------------------
# Semantic types


def _is_date(v):
    return isinstance(v, str) and datetime.date.fromisoformat(v) is not None


def _is_uuid(v):
    return str(uuid.UUID(v)) == v


def _is_url(v):
    parts = urlparse(v)
    return parts.scheme == "https" and bool(_HOSTNAME.match(parts.netloc))


def _is_jwt(v):
    parts = v.split(".")
    decoded = [base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)) for p in parts]
    return len(parts) == 3 and json.loads(decoded[0])["typ"] == "JWT" and len(decoded[2]) == 32


def _matches(pattern):
    return lambda v: isinstance(v, str) and re.fullmatch(pattern, v) is not None


def _between(lo, hi):
    return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and lo <= v <= hi


def _text(v):
    return isinstance(v, str) and v.strip() == v and len(v) > 0


PLAUSIBLE = {
    "email": _matches(r"[a-z0-9.]+@[a-z0-9.-]+\.[a-z]+"),
    "uuid": _is_uuid,
    "url": _is_url,
    "hostname": lambda v: bool(_HOSTNAME.match(v)),
    "ipv4": lambda v: ipaddress.IPv4Address(v) is not None,
    "ipv6": lambda v: ipaddress.IPv6Address(v) is not None,
    "date": _is_date,
    "datetime": lambda v: datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).year >= 2020,
    "time": _matches(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d"),
    "unix_timestamp": lambda v: isinstance(v, int) and 1577836800 <= v < 1767225600,
    "phone": _matches(r"[0-9+().x -]{7,}"),
    "first_name": _text,
    "last_name": _text,
    "full_name": lambda v: _text(v) and " " in v,
    "username": _matches(r"[A-Za-z0-9._]+"),
    "company": _text,
    "job_title": _text,
    "street_address": lambda v: _text(v) and any(c.isdigit() for c in v),
    "city": _text,
    "country": _text,
    "country_code": _matches(r"[A-Z]{2}"),
    "postcode": _matches(r"\d{5}(-\d{4})?"),
    "latitude": _between(-90, 90),
    "longitude": _between(-180, 180),
    "currency_code": _matches(r"[A-Z]{3}"),
    "price": lambda v: _between(0.01, 1e12)(v) and round(v, 2) == v,
    "percentage": _between(0, 100),
    "color_hex": _matches(r"#[0-9a-f]{6}"),
    "locale": _matches(r"[a-z]{2,3}_[A-Z]{2}"),
    "user_agent": lambda v: v.startswith(("Mozilla/", "Opera/")),
    "mime_type": _matches(r"[a-z]+/[A-Za-z0-9.+-]+"),
    "file_path": _matches(r"(/[A-Za-z0-9_.-]+)+"),
    "iban": _matches(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}"),
    "credit_card_masked": _matches(r"\*{4} \*{4} \*{4} \d{4}"),
    "isbn": lambda v: len(v.replace("-", "")) == 13 and v.replace("-", "").isdigit(),
    "jwt": _is_jwt,
    "hex_hash": _matches(r"[0-9a-f]{40}"),
    "base64": lambda v: base64.b64encode(base64.b64decode(v, validate=True)).decode() == v,
    "slug": _matches(r"[a-z0-9]+(-[a-z0-9]+)+"),
    "word": _matches(r"\w+"),
    "sentence": lambda v: _text(v) and v.endswith("."),
    "paragraph": lambda v: _text(v) and v.endswith("."),
    "integer_id": lambda v: isinstance(v, int) and v >= 1,
    "category": _matches(r"\w+"),
    "other": lambda v: isinstance(v, str),
}


def test_every_semantic_type_has_a_plausibility_check():
    assert set(PLAUSIBLE) == set(SEMANTIC_TYPES)


@pytest.mark.parametrize("semantic", SEMANTIC_TYPES)
def test_semantic_types_give_plausible_values(semantic):
    values = [GEN.generate({"x-semantic": semantic}, key=f"k{i}") for i in range(30)]
    bad = [v for v in values if not PLAUSIBLE[semantic](v)]
    assert not bad
    assert len({json.dumps(v) for v in values}) > 3


@pytest.mark.parametrize(
    ("schema", "ok"),
    [
        ({"type": "string", "x-semantic": "price"}, _matches(r"\d+\.\d{2}")),
        ({"type": "number", "x-semantic": "price", "minimum": 10, "maximum": 20}, _between(10, 20)),
        ({"type": "integer", "x-semantic": "price"}, lambda v: isinstance(v, int) and v > 0),
        ({"type": "string", "x-semantic": "unix_timestamp"}, _matches(r"\d{10}")),
        ({"type": "integer", "x-semantic": "datetime"}, lambda v: isinstance(v, int)),
        ({"type": "string", "x-semantic": "hex_hash", "maxLength": 64}, _matches(r"[0-9a-f]{64}")),
        ({"type": "string", "x-semantic": "email", "maxLength": 6}, lambda v: len(v) <= 6),
        ({"type": "integer", "x-semantic": "integer_id", "maximum": 10}, _between(1, 10)),
        ({"type": "integer", "x-semantic": "percentage"}, _between(0, 100)),
        ({"type": "number", "x-semantic": "latitude", "minimum": 10}, _between(10, 90)),
        ({"type": "string", "x-semantic": "latitude"}, _matches(r"-?\d+\.\d{6}")),
        ({"type": "integer", "x-semantic": "postcode"}, lambda v: isinstance(v, int)),
        ({"type": "integer", "x-semantic": "phone"}, lambda v: isinstance(v, int)),
        ({"type": "string", "format": "uuid", "x-semantic": "first_name"}, _is_uuid),
        ({"type": "string", "format": "time", "x-semantic": "time"}, _matches(r"\d\d:\d\d:\d\dZ")),
        (
            {"type": "string", "enum": ["red", "blue"], "x-semantic": "category"},
            {"red", "blue"}.__contains__,
        ),
    ],
)
def test_the_schema_wins_over_the_semantic_type(schema, ok):
    for i in range(25):
        value = GEN.generate(schema, key=f"k{i}")
        validate(schema, value)
        assert ok(value), value


# ---------------------------------------------------------------------------------------------
# Shapes


def test_arrays_default_to_one_to_five_items_and_honour_min_items():
    lengths = {len(GEN.generate({"type": "array", "items": USER}, key=str(i))) for i in range(60)}
    assert lengths == {1, 2, 3, 4, 5}
    page = GEN.generate({"type": "array", "minItems": 20, "items": USER}, key="list")
    assert len(page) == 20 and len({u["email"] for u in page}) > 15


def test_unique_items():
    schema = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 6},
              "minItems": 5, "uniqueItems": True}  # fmt: skip
    for i in range(20):
        value = GEN.generate(schema, key=str(i))
        validate(schema, value)


def test_nullable_and_optional_fields_are_mostly_present():
    schema = {"type": "object", "properties": {"a": {"type": ["string", "null"]},
              "b": {"type": "string", "nullable": True}}}  # fmt: skip
    values = [GEN.generate(schema, key=str(i)) for i in range(400)]
    present = sum("a" in v for v in values) / len(values)
    nulls = sum(v.get("a", "") is None for v in values) / len(values)
    openapi_nulls = sum(v.get("b", "") is None for v in values) / len(values)
    assert 0.75 < present < 0.95
    assert 0.03 < nulls < 0.2 and 0.03 < openapi_nulls < 0.2


def test_unions_pick_every_branch_and_all_of_merges():
    one_of = {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}
    types = {type(GEN.generate(one_of, key=str(i))).__name__ for i in range(60)}
    assert types == {"str", "int", "NoneType"}
    merged = {"allOf": [
        {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
        {"required": ["b"], "properties": {"b": {"type": "string"}, "a": {"maximum": 6}}},
        {"properties": {"a": {"minimum": 5}}},
    ]}  # fmt: skip
    for i in range(20):
        value = GEN.generate(merged, key=str(i))
        assert value["a"] in (5, 6) and isinstance(value["b"], str)


def test_recursive_schemas_end():
    tree = {
        "$defs": {"node": {"type": "object", "required": ["name", "children"], "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            "parent": {"oneOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
        }}},
        "$ref": "#/$defs/node",
    }  # fmt: skip
    for i in range(10):
        validate(tree, GEN.generate(tree, key=str(i)))
        validate(tree, GEN.edge_case(tree, key=str(i)))


def test_patterns_are_matched():
    for pattern in PATTERNS:
        schema = {"type": "string", "pattern": pattern}
        for i in range(20):
            value = GEN.generate(schema, key=str(i))
            assert re.search(pattern, value), (pattern, value)


def test_formats_claimed_are_valid():
    assert set(CHECKED_FORMATS) <= set(FORMATS)
    for fmt in FORMATS:
        schema = {"type": "string", "format": fmt}
        for i in range(20):
            validate(schema, GEN.generate(schema, key=str(i)))


# ---------------------------------------------------------------------------------------------
# Errors a user can cause


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}, "points at nothing"),
        ({"$ref": "other.json#/x"}, "outside the schema"),
        ({"type": "string", "pattern": "[a-"}, "not a valid regular expression"),
        ({"type": "text"}, "Unknown JSON Schema type"),
    ],
)
def test_bad_schemas_raise_config_errors(schema, words):
    with pytest.raises(ConfigError) as err:
        GEN.generate(schema, key="k")
    assert words in err.value.message and err.value.hint


def test_unknown_locale():
    with pytest.raises(ConfigError, match="xx_YY"):
        Generator(locale="xx_YY")
    assert Generator(locale="de_DE").generate({"x-semantic": "email"}, key="k").count("@") == 1


def test_generation_does_not_load_hypothesis():
    code = (
        "import sys; from backworks_cli.learn.generate import Generator; "
        "Generator().generate({'x-semantic': 'email'}, key='k'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('hypothesis')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
