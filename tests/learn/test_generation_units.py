"""The generator's parts one by one: keyword rules (bounds, types, merging, coercion), value
makers and pools, regex strings and the edge-case schema, each pinned to exact results."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from re import _parser as sre_parse

import pytest
from faker import Faker

from backworks_cli.learn.generation import edges, fakes, keywords, patterns
from backworks_cli.learn.generation.fakes import Field, Pools

P = Pools("en_US")


# ---------------------------------------------------------------------------------------------
# keywords: bounds


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({}, (None, None, False, False)),
        ({"minimum": 1, "maximum": 5}, (1, 5, False, False)),
        ({"minimum": 1, "exclusiveMinimum": True}, (1, None, True, False)),
        ({"exclusiveMinimum": True}, (None, None, False, False)),
        ({"minimum": 1, "exclusiveMinimum": False}, (1, None, False, False)),
        ({"maximum": 5, "exclusiveMaximum": True}, (None, 5, False, True)),
        ({"exclusiveMaximum": True}, (None, None, False, False)),
        ({"exclusiveMinimum": 3}, (3, None, True, False)),
        ({"exclusiveMinimum": 2.5}, (2.5, None, True, False)),
        ({"minimum": 5, "exclusiveMinimum": 3}, (5, None, False, False)),
        ({"minimum": 3, "exclusiveMinimum": 3}, (3, None, True, False)),
        ({"exclusiveMaximum": 7}, (None, 7, False, True)),
        ({"maximum": 5, "exclusiveMaximum": 7}, (None, 5, False, False)),
        ({"maximum": 7, "exclusiveMaximum": 7}, (None, 7, False, True)),
        ({"exclusiveMinimum": "3", "exclusiveMaximum": None}, (None, None, False, False)),
    ],
)
def test_bounds_read_both_drafts_of_exclusive_bounds(schema, expected):
    """Draft-4 boolean and 2020-12 numeric exclusives give the tighter (bound, exclusive)."""
    assert keywords.bounds(schema) == expected


# ---------------------------------------------------------------------------------------------
# keywords: types


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string"}, ["string"]),
        ({"type": ["integer", "null"]}, ["integer", "null"]),
        ({"type": ("string",)}, []),
        ({}, []),
        ({"type": "string", "nullable": True}, ["string", "null"]),
        ({"type": ["string", "null"], "nullable": True}, ["string", "null"]),
        ({"nullable": True}, []),
        ({"type": "string", "nullable": False}, ["string"]),
        ({"type": "string", "nullable": "yes"}, ["string"]),
    ],
)
def test_declared_types_add_openapi_nullable(schema, expected):
    """A type or type list, with OpenAPI's nullable: true adding null once."""
    assert keywords.declared_types(schema) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        *[(k, "object") for k in ("properties", "required", "additionalProperties")],
        ("minProperties", "object"),
        *[(k, "array") for k in ("items", "prefixItems", "minItems", "maxItems", "uniqueItems")],
        *[(k, "string") for k in ("minLength", "maxLength", "pattern", "format")],
        *[(k, "number") for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")],
        ("multipleOf", "number"),
    ],
)
def test_each_keyword_implies_its_type(key, expected):
    """A schema without type takes the type its keywords belong to, whatever the semantic."""
    assert keywords.inferred_type({key: 1}, "integer_id") == expected


def test_inferred_type_order_and_semantic_fallback():
    """Object keywords win over array, array over string, string over number; else the
    semantic's natural type, else string."""
    assert keywords.inferred_type({"properties": {}, "items": {}}, None) == "object"
    assert keywords.inferred_type({"items": {}, "minLength": 1}, None) == "array"
    assert keywords.inferred_type({"minLength": 1, "minimum": 1}, None) == "string"
    assert keywords.inferred_type({}, "integer_id") == "integer"
    assert keywords.inferred_type({}, "latitude") == "number"
    assert keywords.inferred_type({}, "email") == "string"
    assert keywords.inferred_type({}, None) == "string"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "null"), (True, "boolean"), (1, "integer"), (1.5, "number"), ("s", "string")]
    + [([], "array"), ({}, "object")],
)
def test_json_type(value, expected):
    """Each Python value has the JSON type its JSON form has (a bool is not an integer)."""
    assert keywords.json_type(value) == expected


@pytest.mark.parametrize(
    ("value", "type_", "expected"),
    [
        (1, "integer", True),
        (1, "number", True),
        (1.0, "integer", True),
        (1.5, "integer", False),
        (1.5, "number", True),
        (True, "integer", False),
        (True, "boolean", True),
        ("1", "integer", False),
        ("s", "string", True),
        (None, "null", True),
        (None, "string", False),
        (1, "string", False),
    ],
)
def test_is_type_follows_json_schema(value, type_, expected):
    """JSON Schema types: integers are numbers, integral floats are integers, bools are not."""
    assert keywords.is_type(value, type_) is expected


# ---------------------------------------------------------------------------------------------
# keywords: merge (allOf)


def test_merge_unites_properties_required_and_dependencies():
    """Properties both declare become an allOf; required and dependentRequired are united."""
    a = {
        "properties": {"x": {"type": "integer"}},
        "required": ["x"],
        "patternProperties": {"^a": 1},
    }
    a["dependentRequired"] = {"x": ["y"], "z": ["x"]}
    b = {
        "properties": {"x": {"minimum": 1}, "y": {"type": "string"}},
        "required": ["y", "x"],
        "patternProperties": {"^a": 2, "^b": 3},
        "dependentRequired": {"x": ["w", "y"]},
    }
    out = keywords.merge(a, b)
    assert out["properties"] == {
        "x": {"allOf": [{"type": "integer"}, {"minimum": 1}]},
        "y": {"type": "string"},
    }
    assert out["required"] == ["x", "y"]
    assert out["patternProperties"] == {"^a": {"allOf": [1, 2]}, "^b": 3}
    assert out["dependentRequired"] == {"x": ["y", "w"], "z": ["x"]}
    assert a["properties"] == {"x": {"type": "integer"}}  # the inputs are left alone


@pytest.mark.parametrize(
    ("key", "a", "b", "expected"),
    [
        ("additionalProperties", True, False, False),
        ("additionalProperties", False, {"type": "string"}, False),
        ("additionalProperties", True, {"type": "string"}, {"type": "string"}),
        ("additionalProperties", {"type": "string"}, True, {"type": "string"}),
        ("items", {"type": "string"}, False, False),
        ("additionalItems", True, True, True),
        ("uniqueItems", False, True, True),
        ("uniqueItems", True, False, True),
        ("minimum", 1, 3, 3),
        ("exclusiveMinimum", 4, 2, 4),
        ("minLength", 2, 1, 2),
        ("minItems", 0, 2, 2),
        ("minProperties", 3, 1, 3),
        ("minContains", 1, 2, 2),
        ("maximum", 5, 3, 3),
        ("exclusiveMaximum", 2, 4, 2),
        ("maxLength", 9, 4, 4),
        ("maxItems", 1, 3, 1),
        ("maxProperties", 6, 2, 2),
        ("maxContains", 3, 2, 2),
        ("enum", [1, 2, 3], [4, 3, 2], [2, 3]),
        ("enum", [1], [2], [1]),
        ("not", {"const": 1}, {"const": 2}, {"anyOf": [{"const": 1}, {"const": 2}]}),
        (
            "items",
            {"type": "integer"},
            {"minimum": 0},
            {"allOf": [{"type": "integer"}, {"minimum": 0}]},
        ),
        ("additionalProperties", {"a": 1}, {"b": 2}, {"allOf": [{"a": 1}, {"b": 2}]}),
        ("x-semantic", "email", "other", "email"),
        ("x-semantic", "email", "url", "url"),
        ("format", "date", "uuid", "uuid"),
        ("type", "integer", "number", ["integer"]),
    ],
)
def test_merge_tightens_each_keyword(key, a, b, expected):
    """Both schemas at once: the stricter bound, the closed side, the common enum values."""
    assert keywords.merge({key: a, "keep": 1}, {key: b})[key] == expected
    assert keywords.merge({key: a}, {"other": b}) == {key: a, "other": b}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("integer", "number", ["integer"]),
        ("number", "integer", ["integer"]),
        (["string", "null"], ["null"], ["null"]),
        ("string", "boolean", ["boolean"]),
        (["integer", "string"], ["number"], ["integer"]),
        (["number"], ["integer", "number"], ["number", "integer"]),
        (["integer", "number"], ["number"], ["number", "integer"]),
        (["number", "integer"], ["integer"], ["integer"]),
        (["integer", "number"], ["integer", "number"], ["integer", "number"]),
        (["number", "integer"], ["integer", "number"], ["number", "integer"]),
    ],
)
def test_merged_types_keep_what_both_allow(a, b, expected):
    """Types both allow, integer where one says number; with none in common, the second's."""
    assert keywords.merge({"type": a}, {"type": b})["type"] == expected


# ---------------------------------------------------------------------------------------------
# keywords: pointers, copies, uniqueness, multiples, coercion


def test_pointer_tokens_escape_like_json_pointer():
    """~ becomes ~0 and / becomes ~1, after a leading slash, as UTF-8 bytes."""
    assert keywords.pointer_token("a/b~c") == b"/a~1b~0c"
    assert keywords.pointer_token(7) == b"/7"
    assert keywords.pointer_token("é") == "/é".encode()


def test_copy_is_deep_for_containers_and_identity_for_scalars():
    """Containers come back as new objects all the way down; scalars as they are."""
    value = {"a": [1, {"b": 2}]}
    out = keywords.copy(value)
    assert out == value and out is not value and out["a"] is not value["a"]
    assert keywords.copy([1]) == [1] and keywords.copy([1]) is not keywords.copy([1])
    text = "x" * 50
    assert keywords.copy(text) is text


def test_unique_key_equates_what_json_schema_equates():
    """1 and 1.0 are one value, key order does not matter; 1.5, "1" and true stay distinct."""
    key = keywords.unique_key
    assert key(1) == key(1.0)
    assert key([1, {"a": 2.0}]) == key([1.0, {"a": 2}])
    assert key({"a": 1, "b": [2.0]}) == key({"b": [2], "a": 1.0})
    assert key({"a": {"b": 1.0}}) == key({"a": {"b": 1}})
    assert len({key(v) for v in (1, 1.5, "1", True, None, [1], {"1": 1})}) == 7
    assert key([1]) != key([2]) and key([[1.0]]) == "[[1]]"
    assert key(2.0) == "2" and key({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'


@pytest.mark.parametrize(
    ("value", "m", "expected"),
    [
        (6, 3, True),
        (7, 3, False),
        (3.0, 3, True),
        (1.5, 1, False),
        (1.5, 0.5, True),
        (1.2, 0.5, False),
        (7.5, 2.5, True),
        (0.3, 0.1, False),  # 0.3 / 0.1 is 2.9999999999999996, which jsonschema rejects too
        (1e308, 1e-308, False),
        (float("nan"), 0.5, False),
    ],
)
def test_is_multiple_is_jsonschemas_own_test(value, m, expected):
    """Float arithmetic included, so a value passing here validates in jsonschema."""
    assert keywords.is_multiple(value, m) is expected


@pytest.mark.parametrize(
    ("value", "types", "expected"),
    [
        (42, (), 42),
        (42, ("integer",), 42),
        (42, ("string",), "42"),
        (True, ("string",), "true"),
        ({"a": 1}, ("string",), '{"a": 1}'),
        ([1], ("string",), "[1]"),
        (None, ("string",), None),
        ("42", ("integer",), 42),
        ("42", ("number",), 42),
        ("4.0", ("integer",), 4),
        ("4.5", ("number",), 4.5),
        ("4.5", ("integer",), "4.5"),
        ("abc", ("integer",), "abc"),
        ("inf", ("number",), "inf"),
        ("nan", ("number",), "nan"),
        ("true", ("boolean",), True),
        ("TRUE", ("boolean",), True),
        ("1", ("boolean",), True),
        (1, ("boolean",), True),
        ("false", ("boolean",), False),
        ("0", ("boolean",), False),
        (0, ("boolean",), False),
        ("yes", ("boolean",), "yes"),
        (2.5, ("boolean",), 2.5),
        (True, ("integer", "string"), "true"),
        ("x", ("integer", "boolean"), "x"),
        ("7", ("boolean", "integer"), 7),
        (4.0, ("integer",), 4.0),
        (5, ("string", "integer"), 5),
        (float("nan"), ("string",), "nan"),
        ("true", ("integer", "boolean"), True),
    ],
)
def test_coerce_converts_overrides_to_the_property_type(value, types, expected):
    """Path parameters arrive as strings: each is converted to the first type it can take."""
    out = keywords.coerce(value, types)
    assert out == expected and type(out) is type(expected)


# ---------------------------------------------------------------------------------------------
# fakes: hashing and pools


def test_stable_int_and_rehash_are_blake2b_128():
    """Draws are 128-bit little-endian blake2b digests, so every process agrees."""
    digest = hashlib.blake2b(b"seed|key|", digest_size=16).digest()
    assert fakes.stable_int("seed|key|") == int.from_bytes(digest, "little")
    r = 12345
    expected = hashlib.blake2b(r.to_bytes(16, "little"), digest_size=16).digest()
    assert fakes.rehash(r) == int.from_bytes(expected, "little")
    assert fakes.rehash(r + (1 << 128)) == fakes.rehash(r)
    assert fakes.rehash((1 << 128) - 1) < 1 << 128


def test_pools_hold_fakers_values_from_a_seed_per_locale_and_name():
    """A pool is up to 256 distinct values of Faker seeded by "locale|name", made once."""
    fake = Faker("en_US")
    fake.seed_instance(fakes.stable_int("en_US|city"))
    expected = tuple(dict.fromkeys(str(fake.city()) for _ in range(256)))
    pools = Pools("en_US")
    assert pools["city"] == expected
    assert pools["city"] is pools["city"]
    phones = pools["phone"]
    assert len(phones) == len(set(phones)) > 200


def test_ascii_pools_are_lowercase_letters_and_digits():
    """ascii:<pool> folds accents and drops everything but a-z and 0-9, without repeats."""
    pools = Pools("de_DE")
    names = pools["ascii:first_name"]
    assert all(re.fullmatch(r"[a-z0-9]+", n) for n in names)
    assert len(names) == len(set(names))
    folded = {fakes._ascii_word(n) for n in pools["first_name"]} - {""}
    assert set(names) == folded
    assert fakes._ascii_word("Jürgen-Müller 2") == "jurgenmuller2"
    assert fakes._ascii_word("ŁÓDŹ") == "odz"


def test_an_ascii_pool_of_nothing_ascii_is_user():
    """A pool whose values fold to nothing falls back to ("user",)."""
    pools = Pools("en_US")
    pools["empty"] = ("日本", "中文")
    assert pools["ascii:empty"] == ("user",)


def test_field_reads_type_bounds_lengths_and_format():
    """A Field carries what the value makers must respect."""
    f = Field("string", {"minLength": 2, "maxLength": 9, "format": "uuid", "exclusiveMinimum": 1})
    assert (f.type, f.min_len, f.max_len, f.fmt) == ("string", 2, 9, "uuid")
    assert (f.lo, f.hi, f.lox, f.hix) == (1, None, True, False)
    empty = Field("number", {})
    assert (empty.min_len, empty.max_len, empty.fmt) == (0, None, None)


# ---------------------------------------------------------------------------------------------
# fakes: formats


def test_instants_are_in_2020_to_2025_and_wrap():
    """Draw 0 is 2020-01-01; each unit a second (date-time) or a day (date); the span wraps."""
    assert fakes._iso_datetime(0) == "2020-01-01T00:00:00Z"
    assert fakes._iso_datetime(86400 + 3600 + 61) == "2020-01-02T01:01:01Z"
    assert fakes._iso_datetime(1767225600 - 1577836800) == "2020-01-01T00:00:00Z"
    assert fakes._iso_date(0) == "2020-01-01"
    assert fakes._iso_date(31) == "2020-02-01"
    assert fakes._iso_date(2192) == "2020-01-01"
    assert fakes._iso_date(2191) == "2025-12-31"


def test_clock_times():
    """Seconds of the day as HH:MM:SS, with the zone given."""
    assert fakes._clock(3661) == "01:01:01"
    assert fakes._clock(3600) == "01:00:00"
    assert fakes._clock(3661, "Z") == "01:01:01Z"
    assert fakes._clock(86399) == "23:59:59"
    assert fakes._clock(86400 + 59) == "00:00:59"


def test_uuids_are_version_4_with_the_rfc_variant():
    """128 bits of the draw, version nibble 4 and variant 8, 9, a or b."""
    assert fakes._uuid(0) == "00000000-0000-4000-8000-000000000000"
    assert fakes._uuid((1 << 128) - 1) == "ffffffff-ffff-4fff-bfff-ffffffffffff"
    assert fakes._uuid(1 << 60) == "00000000-0000-4000-9000-000000000000"
    assert fakes._uuid(1 << 128) == fakes._uuid(0)
    assert fakes._uuid(0x123456789ABCDEF0123456789ABCDEF0) == "12345678-9abc-4ef0-9234-56789abcdef0"


def test_ip_addresses():
    """IPv4 avoids 0 in the first and last octet; IPv6 starts in 2001::/16-ish space."""
    assert fakes._ipv4(0) == "1.0.0.1"
    assert fakes._ipv4(0x04030201) == "126.2.3.5"
    assert fakes._ipv4(222) == "223.0.0.1"
    assert fakes._ipv4(253 << 24) == "129.0.0.254"
    assert fakes._ipv6(0) == "2001:0:0:0:0:0:0:0"
    assert fakes._ipv6(0xFFFF << 16) == "2001:ffff:0:0:0:0:0:0"
    assert fakes._ipv6(0xFFE | 0xABCD << 112) == "2fff:0:0:0:0:0:0:abcd"


def test_hostnames_urls_and_emails_are_built_from_the_pools():
    """Each part is one divmod of the draw: subdomain and domain, path words, name parts."""
    domains, words = P["domain"], P["ascii:word"]
    nd, nw = len(domains), len(words)
    assert fakes._hostname(P, 0) == f"api.{domains[0]}"
    assert fakes._hostname(P, 1) == f"api.{domains[1]}"
    assert fakes._hostname(P, nd) == f"www.{domains[0]}"
    assert fakes._hostname(P, 8 * nd) == f"api.{domains[0]}"
    assert fakes._url(P, 0) == f"https://api.{domains[0]}/{words[0]}"
    assert fakes._url(P, 1) == f"https://api.{domains[0]}/{words[1]}"
    assert fakes._url(P, nw) == f"https://api.{domains[0]}/{words[0]}"
    assert fakes._url(P, nw * nw) == f"https://api.{domains[0]}/{words[0]}/{words[0]}"
    assert fakes._url(P, 2 * nw * nw) == f"https://{fakes._hostname(P, 1)}/{words[0]}"
    firsts, lasts, mails = P["ascii:first_name"], P["ascii:last_name"], P["email_domain"]
    unit = len(firsts) * len(lasts) * len(mails)
    f, last, d = firsts[0], lasts[0], mails[0]
    assert fakes._email(P, 0) == f"{f}.{last}@{d}"
    assert fakes._email(P, 1) == f"{firsts[1]}.{last}@{d}"
    assert fakes._email(P, len(firsts)) == f"{f}.{lasts[1]}@{d}"
    assert fakes._email(P, len(firsts) * len(lasts)) == f"{f}.{last}@{mails[1]}"
    assert fakes._email(P, unit) == f"{f}{last}@{d}"
    assert fakes._email(P, 2 * unit) == f"{f[0]}{last}@{d}"
    assert fakes._email(P, 3 * unit) == f"{f}3@{d}"
    assert fakes._email(P, 99 * unit) == f"{f}2@{d}"


def test_each_format_has_its_maker():
    """Every claimed format maps to the maker of that format."""
    gens, r = fakes.FORMAT_GENERATORS, 987654321987654321
    assert set(gens) == set(fakes.FORMATS)
    assert gens["date-time"](P, r, None) == fakes._iso_datetime(r)
    assert gens["date"](P, r, None) == fakes._iso_date(r)
    assert gens["time"](P, r, None) == fakes._clock(r, "Z")
    assert gens["uuid"](P, r, None) == fakes._uuid(r)
    assert gens["ipv4"](P, r, None) == fakes._ipv4(r)
    assert gens["ipv6"](P, r, None) == fakes._ipv6(r)
    for name in ("email", "idn-email"):
        assert gens[name](P, r, None) == fakes._email(P, r)
    for name in ("uri", "uri-reference", "iri", "iri-reference"):
        assert gens[name](P, r, None) == fakes._url(P, r)
    for name in ("hostname", "idn-hostname"):
        assert gens[name](P, r, None) == fakes._hostname(P, r)


# ---------------------------------------------------------------------------------------------
# fakes: numeric semantics


def test_ranges_move_the_usual_range_inside_the_bounds():
    """Usual range clipped to the schema; outside it, a usual-width range at the near end."""
    price = (0.01, 1e12, 1, 500)
    assert fakes._range(Field("number", {}), *price) == (1, 500)
    assert fakes._range(Field("number", {"minimum": 1000}), *price) == (1000, 1499)
    assert fakes._range(Field("number", {"maximum": 0.5}), *price) == (0.01, 0.5)
    assert fakes._range(Field("number", {"minimum": 600, "maximum": 700}), *price) == (600, 700)
    assert fakes._range(Field("number", {"minimum": 10, "maximum": 20}), *price) == (10, 20)
    assert fakes._range(Field("number", {"minimum": 10, "maximum": 5}), 0, 100, 0, 100) is None
    assert fakes._range(Field("number", {"minimum": -5}), 0, 100, 10, 20) == (10, 20)
    assert fakes._range(Field("number", {"maximum": 200}), 0, 100, 10, 20) == (10, 20)
    assert fakes._range(Field("number", {"minimum": 5, "maximum": 5}), 0, 100, 10, 20) == (5, 5)
    assert fakes._range(Field("number", {"minimum": 50}), 0, 60, 10, 20) == (50, 60)
    assert fakes._range(Field("number", {"maximum": 5}), 0, 100, 10, 20) == (0, 5)
    assert fakes._range(Field("number", {"maximum": 5}), -100, 100, 10, 20) == (-5, 5)


def test_numeric_semantics_fit_the_field_type():
    """Integers for integer fields, rounded numbers, strings for string fields, None if no fit."""
    price = fakes.SEMANTICS["price"]
    r = 123456789
    x = 1 + 499 * ((r & fakes.M53) / fakes.M53)
    assert price(P, r, Field("number", {})) == round(x, 2)
    assert price(P, r, Field("string", {})) == f"{round(x, 2):.2f}"
    assert price(P, 7, Field("integer", {})) == 1 + 7 % 500
    assert price(P, 7, Field("integer", {"minimum": 0.2, "maximum": 0.8})) is None
    assert price(P, 7, Field("number", {"minimum": 5, "maximum": 1})) is None
    tiny = fakes._numeric(0, 1, 0.001, 0.004, 2)
    value = tiny(P, r, Field("number", {}))
    assert 0.001 <= value <= 0.004 and value == 0.001 + 0.003 * ((r & fakes.M53) / fakes.M53)
    ids = fakes.SEMANTICS["integer_id"]
    assert ids(P, 41, Field("number", {})) == 42
    assert ids(P, 41, Field("string", {})) == "42"
    assert ids(P, 99999, Field("integer", {})) == 100000
    assert ids(P, 100000, Field("integer", {})) == 1
    lat = fakes.SEMANTICS["latitude"](P, r, Field("string", {}))
    assert re.fullmatch(r"-?\d+\.\d{6}", lat)


def test_timestamps_and_instants():
    """Unix timestamps fall in 2020-2025; date and datetime become timestamps for numbers."""
    t0, t1 = 1577836800, 1767225600
    assert fakes._timestamp(P, 5, Field("integer", {})) == t0 + 5
    assert fakes._timestamp(P, t1 - t0, Field("integer", {})) == t1
    assert fakes._timestamp(P, t1 - t0 + 1, Field("integer", {})) == t0
    assert fakes._timestamp(P, 5, Field("string", {})) == str(t0 + 5)
    assert fakes._timestamp(P, 5, Field("number", {})) == t0 + 5
    for name, iso in (("date", fakes._iso_date), ("datetime", fakes._iso_datetime)):
        gen = fakes.SEMANTICS[name]
        assert gen(P, 5, Field("integer", {})) == t0 + 5
        assert gen(P, 5, Field("number", {})) == t0 + 5
        assert gen(P, 5, Field("string", {})) == iso(5)


# ---------------------------------------------------------------------------------------------
# fakes: string semantics


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_jwts_carry_claims_from_the_draw_and_a_32_byte_signature():
    """Header HS256/JWT, claims sub, iat in 2020-2025 and exp an hour later."""
    r = (123 << 40) + 77
    header, claims, signature = fakes._jwt(P, r, None).split(".")
    assert json.loads(_b64(header)) == {"alg": "HS256", "typ": "JWT"}
    iat = 1577836800 + r % (1767225600 - 1577836800)
    assert json.loads(_b64(claims)) == {"sub": str(123 % 1000000), "iat": iat, "exp": iat + 3600}
    assert _b64(signature) == hashlib.blake2b(r.to_bytes(16, "little"), digest_size=32).digest()
    assert "=" not in header + claims + signature


def test_hex_hashes_take_the_length_the_schema_allows():
    """40 hex digits by default; maxLength or minLength set the length, odd ones too."""
    r = 99

    def expected(n):
        return hashlib.shake_256(r.to_bytes(16, "little")).hexdigest((n + 1) // 2)[:n]

    assert fakes._hex_hash(P, r, Field("string", {})) == expected(40)
    assert fakes._hex_hash(P, r, Field("string", {"maxLength": 64})) == expected(64)
    assert fakes._hex_hash(P, r, Field("string", {"minLength": 41})) == expected(41)
    assert fakes._hex_hash(P, r, Field("string", {"minLength": 8, "maxLength": 8})) == expected(8)


def test_base64_lengths_follow_the_bounds():
    """12 to 24 bytes by the draw, cut to fit maxLength, grown to reach minLength."""
    for r in range(13):
        value = fakes._base64(P, r, Field("string", {}))
        data = base64.b64decode(value)
        assert len(data) == 12 + r
        assert data == hashlib.shake_256(r.to_bytes(16, "little")).digest(12 + r)
    assert len(fakes._base64(P, 12, Field("string", {"maxLength": 10}))) == 8
    assert len(fakes._base64(P, 12, Field("string", {"maxLength": 11}))) == 8
    assert len(fakes._base64(P, 12, Field("string", {"maxLength": 12}))) == 12
    assert len(base64.b64decode(fakes._base64(P, 0, Field("string", {"minLength": 41})))) == 33
    assert len(base64.b64decode(fakes._base64(P, 0, Field("string", {"minLength": 40})))) == 30


def test_slugs_join_two_to_four_ascii_words():
    """The draw picks how many words (2 + r % 3), then each word."""
    words = P["ascii:word"]
    n = len(words)
    assert fakes._slug(P, 0, None) == f"{words[0]}-{words[0]}"
    assert fakes._slug(P, 1, None) == f"{words[0]}-{words[0]}-{words[0]}"
    assert fakes._slug(P, 2, None) == "-".join([words[0]] * 4)
    assert fakes._slug(P, 3, None) == f"{words[1]}-{words[0]}"
    assert fakes._slug(P, 3 * n, None) == f"{words[0]}-{words[1]}"


def test_string_semantics_draw_from_their_pools():
    """Each pooled semantic type picks pool[r % len(pool)] of its own pool."""
    pooled = {
        "phone": "phone", "first_name": "first_name", "last_name": "last_name",
        "username": "user_name", "company": "company", "job_title": "job",
        "street_address": "street_address", "city": "city", "country": "country",
        "country_code": "country_code", "postcode": "postcode", "currency_code": "currency_code",
        "locale": "locale", "user_agent": "user_agent", "mime_type": "mime_type",
        "file_path": "file_path", "iban": "iban", "isbn": "isbn", "word": "word",
        "sentence": "sentence", "paragraph": "paragraph", "category": "word",
    }  # fmt: skip
    for semantic, pool in pooled.items():
        for r in (0, 3, 1000):
            assert fakes.SEMANTICS[semantic](P, r, None) == P[pool][r % len(P[pool])], semantic
    firsts, lasts = P["first_name"], P["last_name"]
    assert fakes.SEMANTICS["full_name"](P, 1, None) == f"{firsts[1]} {lasts[0]}"
    assert fakes.SEMANTICS["full_name"](P, len(firsts) + 2, None) == f"{firsts[2]} {lasts[1]}"
    r = 0xABCDEF123456
    assert fakes.SEMANTICS["color_hex"](P, r, None) == "#123456"
    assert fakes.SEMANTICS["credit_card_masked"](P, 123456, None) == "**** **** **** 3456"
    assert fakes.SEMANTICS["credit_card_masked"](P, 7, None) == "**** **** **** 0007"
    assert fakes.SEMANTICS["time"](P, 3661, None) == "01:01:01"
    assert fakes.SEMANTICS["uuid"](P, r, None) == fakes._uuid(r)
    assert fakes.SEMANTICS["email"](P, r, None) == fakes._email(P, r)
    assert fakes.SEMANTICS["url"](P, r, None) == fakes._url(P, r)
    assert fakes.SEMANTICS["hostname"](P, r, None) == fakes._hostname(P, r)
    assert fakes.SEMANTICS["ipv4"](P, r, None) == fakes._ipv4(r)
    assert fakes.SEMANTICS["ipv6"](P, r, None) == fakes._ipv6(r)
    assert set(fakes.SEMANTICS) == set(fakes.SEMANTIC_TYPES) - {"other"}


# ---------------------------------------------------------------------------------------------
# patterns


def _class(pattern: str) -> tuple[str, ...]:
    return patterns._char_class(sre_parse.parse(pattern)[0][1])


def test_character_classes():
    """Ranges, literals, categories and negation over printable ASCII, plus named non-ASCII."""
    assert _class("[a-c]") == ("a", "b", "c")
    assert _class("[xa]") == ("a", "x")
    assert set(_class(r"[\d]")) == set("0123456789")
    assert set(_class(r"[\D]")) == {chr(c) for c in range(32, 127)} - set("0123456789")
    assert _class(r"[\s]") == (" ",)
    assert " " not in _class(r"[\S]") and len(_class(r"[\S]")) == 94
    word = {c for c in map(chr, range(32, 127)) if c.isalnum() or c == "_"}
    assert set(_class(r"[\w]")) == word
    assert set(_class(r"[\W]")) == {chr(c) for c in range(32, 127)} - word
    assert set(_class("[^a-z]")) == {chr(c) for c in range(32, 127)} - set(map(chr, range(97, 123)))
    assert _class("[^a-z]")[0] == " "
    assert _class("[é~]") == ("~", "é")
    assert _class("[α-ω]") == tuple(map(chr, range(945, 970)))
    wide = _class("[\u0100-\u0300]")
    assert wide == tuple(map(chr, range(256, 769, 16)))
    assert _class("[z-\u0082]") == ("z", "{", "|", "}", "~", "\x7f", "\x80", "\x81", "\x82")
    with pytest.raises(patterns._Unsupported):
        _class("[^\x00-\U0010ffff]")


@pytest.mark.parametrize(
    ("pattern", "lengths"),
    [
        ("^a{2,3}$", (2, 3)),
        ("a*", (0, None)),
        ("(ab|c)", (1, 2)),
        ("(a)\\1", (1, None)),
        ("[a-c]+?x", (2, None)),
        ("(?>ab)", (2, 2)),
        ("a{0,4}", (0, 4)),
        ("(ab){2}", (4, 4)),
        ("(a|bc*)", (1, None)),
        ("[^x].", (2, 2)),
        ("a++", (1, None)),
    ],
)
def test_regex_plans_know_their_shortest_and_longest_text(pattern, lengths):
    """Each op of the plan carries its (min, max) length; a sequence sums them."""
    assert patterns._seq_lengths(patterns._regex_plan(sre_parse.parse(pattern))) == lengths


def test_not_literals_and_dots_draw_printable_ascii():
    """[^x] is any printable but x; . is any printable."""
    plan = patterns._regex_plan(sre_parse.parse("[^x]."))
    assert plan[0][0] == 1 and "x" not in plan[0][1] and len(plan[0][1]) == 94
    assert plan[1] == (1, patterns._PRINTABLE, 1, 1)


def _gen(pattern, lo=0, hi=None):
    return patterns.pattern_generator(pattern, re.compile(pattern), lo, hi)


@pytest.mark.parametrize(
    "pattern", ["(?=a)b", "(?<!a)b", "(a)?(?(1)b|c)", "(?!x)y", "[^\x00-\U0010ffff]"]
)
def test_lookarounds_and_conditionals_are_left_to_the_fallback(pattern):
    """A pattern the builder cannot walk gives None, so the plain generator runs instead."""
    assert _gen(pattern) is None


def test_pattern_strings_hit_their_lengths():
    """minLength and maxLength steer repeat counts; fixed-width repeats fill the target."""
    gen = _gen("^[a-z]+$", 7, 9)
    for r in range(50):
        value = gen(P, r, None)
        assert re.fullmatch("[a-z]{7,9}", value)
    assert {len(_gen("^[a-z]+$", 7, 9)(P, r, None)) for r in range(60)} == {7, 8, 9}
    exact = _gen("^(ab)+$", 6, 6)
    assert {exact(P, r, None) for r in range(20)} == {"ababab"}
    two = _gen("^a+b+$", 10, 10)
    values = {two(P, r, None) for r in range(40)}
    assert all(len(v) == 10 and re.fullmatch("a+b+", v) for v in values) and len(values) > 2


def test_pattern_strings_without_bounds_run_free_and_vary():
    """Unbounded repeats draw up to 6 more than their minimum; groups and back-references."""
    gen = _gen(r"^(x|yz)-\1$")
    out = {gen(P, r, None) for r in range(60)}
    assert out == {"x-x", "yz-yz"}
    star = _gen("^a*$")
    lengths = {len(star(P, r, None)) for r in range(200)}
    assert lengths == set(range(7))
    bounded = _gen("^a{2,20}$")
    assert {len(bounded(P, r, None)) for r in range(200)} == set(range(2, 9))
    capped = _gen("^a{1,3}$")
    assert {len(capped(P, r, None)) for r in range(100)} == {1, 2, 3}


def test_pattern_strings_are_searched_not_matched_whole():
    """Unanchored patterns only need to occur; a string that cannot fit comes back anyway."""
    gen = _gen("[0-9]{3}")
    assert all(re.search("[0-9]{3}", gen(P, r, None)) for r in range(20))
    impossible = _gen("^a$", 5, None)
    assert impossible(P, 1, None) == "a"
    short = _gen("^a{3}$", 0, 2)
    assert short(P, 1, None) == "aaa"


def test_pattern_strings_repeat_per_draw():
    """The same draw gives the same string; different draws differ."""
    gen = _gen(r"^[A-Z]{2}\d{4}$")
    assert gen(P, 42, None) == gen(P, 42, None)
    assert len({gen(P, r, None) for r in range(30)}) > 25


# ---------------------------------------------------------------------------------------------
# edges: the schema hypothesis-jsonschema reads


def test_edge_schemas_drop_extensions_and_read_openapi_nullable():
    """x- keys go, nullable: true becomes a type with null, tuples become draft-7 item lists."""
    schema = {
        "type": "object",
        "x-semantic": "user",
        "properties": {
            "name": {"type": "string", "nullable": True, "x-semantic": "full_name"},
            "pair": {"prefixItems": [{"type": "integer", "x-a": 1}], "items": {"type": "string"}},
            "open": {"prefixItems": [{"type": "integer"}]},
            "flag": {"nullable": True},
        },
    }
    out = edges._edge_schema(schema, True)
    assert out == {
        "type": "object",
        "properties": {
            "name": {"type": ["string", "null"]},
            "pair": {"items": [{"type": "integer"}], "additionalItems": {"type": "string"}},
            "open": {"items": [{"type": "integer"}], "additionalItems": True},
            "flag": {},
        },
        "additionalProperties": False,
    }
    assert edges._edge_schema(schema, False)["properties"]["name"] == {"type": ["string", "null"]}
    assert "additionalProperties" not in edges._edge_schema(schema, False)


def test_edge_schemas_walk_every_subschema_keyword():
    """Maps of schemas, lists of schemas and single schemas all lose their x- keys."""
    sub = {"type": "integer", "x-k": 1}
    clean = {"type": "integer"}
    for key in edges._NAME_MAPS:
        assert edges._edge_schema({key: {"a": sub}}, False) == {key: {"a": clean}}
    for key in ("allOf", "anyOf", "oneOf"):
        assert edges._edge_schema({key: [sub, sub]}, False) == {key: [clean, clean]}
    for key in edges._SCHEMA_VALUES:
        assert edges._edge_schema({key: sub}, False) == {key: clean}
    assert edges._edge_schema({"items": [sub]}, False) == {"items": [clean]}
    assert edges._edge_schema({"properties": [1], "enum": [sub]}, False) == {
        "properties": [1],
        "enum": [sub],
    }
    closed = {"properties": {"a": {"properties": {}}}, "additionalProperties": True}
    assert edges._edge_schema(closed, True) == {
        "properties": {"a": {"properties": {}, "additionalProperties": False}},
        "additionalProperties": True,
    }
    assert edges._edge_schema(True, True) is True


def test_all_of_anywhere_keeps_objects_open():
    """allOf may combine two objects, so a schema that mentions it anywhere is not closed."""
    assert edges._mentions_all_of({"properties": {"a": {"items": [{"allOf": []}]}}})
    assert edges._mentions_all_of([{"allOf": []}])
    assert not edges._mentions_all_of({"properties": {"a": {"anyOf": [1, "allOf"]}}})
    assert not edges._mentions_all_of("allOf")


def test_edge_draws_repeat_per_seed_and_miss_when_out_of_room():
    """The same seed draws the same value, uuids come as strings; a huge draw is MISS."""
    strategy = edges.edge_strategy({"type": "string", "format": "uuid"})
    first = edges.edge_draw(strategy, 7)
    assert first == edges.edge_draw(strategy, 7) and isinstance(first, str)
    assert len({edges.edge_draw(strategy, s) for s in range(10)}) > 5
    big = edges.edge_strategy({"type": "array", "minItems": 5000, "items": {"type": "integer"}})
    assert edges.edge_draw(big, 1) is edges.MISS


def test_the_stable_provider_is_made_once_and_draws_constants_for_the_type():
    """One provider class, whose constants come from a cache per choice type and constraints."""
    cls = edges._stable_provider()
    assert edges._stable_provider() is cls
    strategy = edges.edge_strategy({"type": "integer"})
    draws = [edges.edge_draw(strategy, s) for s in range(300)]
    assert all(isinstance(d, int) for d in draws)
    assert len(set(draws)) > 50
    assert math.isfinite(sum(draws))


def test_conditional_schemas_leave_later_edge_cases_alone():
    """hypothesis-jsonschema spoils its shared "cannot match" schema on if/then/else; after
    such draws another schema's edge cases are still what they were."""
    plain = {"type": "object", "properties": {"s": {"type": "string"}, "n": {"type": "integer"}}}
    before = [edges.edge_draw(edges.edge_strategy(plain), s) for s in range(6)]
    conditional = {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": ["card", "bank"]}},
        "if": {"properties": {"kind": {"const": "card"}}},
        "then": {"required": ["card"], "properties": {"card": {"type": "string"}}},
        "else": {"required": ["iban"], "properties": {"iban": {"type": "string"}}},
    }
    strategy = edges.edge_strategy(conditional)
    for seed in range(200):
        edges.edge_draw(strategy, seed)
    assert [edges.edge_draw(edges.edge_strategy(plain), s) for s in range(6)] == before
    assert any(v for v in before)


def test_pattern_lengths_aim_inside_min_length_and_sixteen_more():
    """A minLength far above the pattern's own shortest text aims at minLength to +16."""
    gen = _gen("^[a-z]+$", 30, None)
    lengths = {len(gen(P, r, None)) for r in range(200)}
    assert min(lengths) == 30 and max(lengths) == 46
    capped = _gen("^[a-z]{2,40}$", 0, 3)
    assert {len(capped(P, r, None)) for r in range(100)} == {2, 3}
    fixed = _gen("^[a-z]{5,9}$", 0, None)
    assert {len(fixed(P, r, None)) for r in range(200)} == {5, 6, 7, 8, 9}
    aimed = _gen("^[a-z]{5,9}$", 1, None)
    assert {len(aimed(P, r, None)) for r in range(200)} == {5, 6, 7, 8, 9}


def test_value_maker_factories_build_their_makers():
    """The factories behind SEMANTICS and FORMAT_GENERATORS, called afresh, make the values
    the tables hold: instants by field type, pooled picks, numbers in range."""
    r = 86400 * 3 + 5
    as_fmt = fakes._fmt(fakes._uuid)
    assert as_fmt(P, r, None) == fakes._uuid(r)
    date = fakes._instant(fakes._iso_date)
    assert date(P, 3, Field("string", {})) == "2020-01-04"
    assert date(P, r, Field("integer", {})) == 1577836800 + r
    assert date(P, r, Field("number", {})) == 1577836800 + r
    assert date(P, 3, Field("boolean", {})) == "2020-01-04"
    city = fakes._pooled("city")
    assert city(P, 7, None) == P["city"][7]
    percent = fakes._numeric(0, 100, 0, 100, 2)
    x = 100 * ((r & fakes.M53) / fakes.M53)
    assert percent(P, r, Field("number", {})) == round(x, 2)
    assert percent(P, r, Field("string", {})) == f"{round(x, 2):.2f}"
    assert percent(P, 250, Field("integer", {})) == 250 % 101
    assert percent(P, 3, Field("integer", {"minimum": 10, "maximum": 12})) == 10
    assert percent(P, 4, Field("integer", {"minimum": 10, "maximum": 12})) == 11
    assert percent(P, 3, Field("integer", {"minimum": 0.5, "maximum": 0.9})) is None
    assert percent(P, 3, Field("number", {"minimum": 50, "maximum": 40})) is None
    ints = fakes._numeric(1, 10, 1, 10, 0, integer_only=True)
    assert ints(P, 12, Field("number", {})) == 1 + 12 % 10
    assert ints(P, 12, Field("string", {})) == str(1 + 12 % 10)
    assert ints(P, 12, Field("number", {"exclusiveMaximum": 5})) == 1 + 12 % 5
    places = fakes._numeric(0, 1, 0, 1, 3)
    v = places(P, r, Field("number", {}))
    assert v == round((r & fakes.M53) / fakes.M53, 3)
    assert places(P, r, Field("string", {})) == f"{v:.3f}"


def test_del_and_non_ascii_class_members_are_kept():
    """Members above printable ASCII (DEL included) are added as they are named."""
    assert _class("[\x7f\x80]") == ("\x7f", "\x80")
    assert _class("[}-\x7f]") == ("}", "~", "\x7f")


@pytest.mark.parametrize(
    ("pattern", "lo", "hi", "expected"),
    [
        ("^a[0-9]{5}$", 0, None, ["a60487", "a91417", "a11524", "a98259"]),
        ("^(a{2}[0-9]){3}$", 9, None, ["aa6aa0aa4", "aa9aa1aa4", "aa1aa1aa5", "aa9aa8aa2"]),
        ("^[A-Z]{2}(-[a-z]+)?[0-9]*$", 6, 10, ["BI-m47593", "ID-y776", "CL4493", "LT-u919"]),
        ("^(?:a+|b+)$", 6, 6, ["bbbbbb", "aaaaaa", "aaaaaa", "aaaaaa"]),
        ("^([a-z]+)$", 5, 5, ["ynbiq", "szyci", "cclfx", "srelt"]),
        ("^a{1,3}b*$", 10, 12, ["aabbbbbbbbb", "aaabbbbbbb", "abbbbbbbbb", "aaabbbbbbb"]),
        ("^(?:$)*a$", 1, 5, ["a", "a", "a", "a"]),
        ("^[ab]$", 2, None, ["b", "a", "a", "a"]),  # none fits: the first try comes back
    ],
)
def test_pattern_strings_are_pinned_per_draw(pattern, lo, hi, expected):
    """The walk over the parsed pattern draws in a fixed order, so each draw's string is fixed."""
    gen = _gen(pattern, lo, hi)
    assert [gen(P, r, None) for r in range(4)] == expected


def test_groups_and_back_references_repeat_what_the_group_took():
    """A back-reference copies its own group only, nested and inside branches too; one to a
    group that took nothing copies nothing."""
    assert {_gen(r"^p(a|b)-\1$")(P, r, None) for r in range(30)} == {"pa-a", "pb-b"}
    assert {_gen(r"^((a|b)c)\2$")(P, r, None) for r in range(30)} == {"aca", "bcb"}
    assert {_gen(r"^(?:x|(y))z$")(P, r, None) for r in range(30)} == {"xz", "yz"}
    assert {_gen(r"^(?:(a)|b)\1$")(P, r, None) for r in range(30)} == {"aa"}


def test_pattern_strings_keep_max_length_when_repeats_cannot_aim():
    """Repeats of variable-width items run free; strings past maxLength are drawn again."""
    gen = _gen("^(a|bb)+$", 0, 3)
    assert all(len(gen(P, r, None)) <= 3 for r in range(50))
    free = _gen("^[a-z]+$", 1, None)
    assert max(len(free(P, r, None)) for r in range(200)) == 17


def test_pools_of_another_locale_come_from_that_locales_faker():
    """de_DE pools hold German Faker's values, seeded per locale and name."""
    fake = Faker("de_DE")
    fake.seed_instance(fakes.stable_int("de_DE|city"))
    assert Pools("de_DE")["city"] == tuple(dict.fromkeys(fake.city() for _ in range(256)))


def test_ranges_that_touch_the_usual_range_in_one_point():
    """A schema range meeting the usual range at its end keeps just that point."""
    price = (0.01, 1e12, 1, 500)
    assert fakes._range(Field("number", {"minimum": 500, "maximum": 600}), *price) == (500, 500)


def test_base64url_strips_only_padding():
    """JWT parts are unpadded base64url; X is a digit of that alphabet, not padding."""
    assert fakes._b64url(b"\x00\x00\x17") == "AAAX"
    assert fakes._b64url(b"\xff") == "_w"
    assert fakes._b64url(b"\xfb\xff") == "-_8"
