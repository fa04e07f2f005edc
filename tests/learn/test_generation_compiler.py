"""The schema compiler's plans: exact values per key for fixed schemas, and the paths that
recursion, unions, objects, arrays, strings and numbers take."""

from __future__ import annotations

import hashlib
import json
import re
import sys

import pytest
from jsonschema import Draft202012Validator

from backworks_cli.core.errors import ConfigError
from backworks_cli.learn.generate import Generator
from backworks_cli.learn.generation import compiler, edges, keywords
from backworks_cli.learn.generation.compiler import Compiler
from backworks_cli.learn.generation.fakes import POOLS, Pools, rehash

GEN = Generator(seed=7)
P = POOLS.setdefault("en_US", Pools("en_US"))
KEYS = [f"k{i}" for i in range(40)]


def values(schema, keys=KEYS):
    return [GEN.generate(schema, key=k) for k in keys]


def valid(schema, keys=KEYS):
    """Every key's value, each checked against the schema."""
    out = values(schema, keys)
    validator = Draft202012Validator(schema)
    bad = [v for v in out if not validator.is_valid(v)]
    assert not bad, bad[:3]
    return out


# ---------------------------------------------------------------------------------------------
# Exact values: the draw scheme (hash of seed, key and pointer), presence and null rates, depth
# limits and every maker are pinned here. Faker's pools are kept out, so only a change to the
# generator itself changes these; an intended change updates the table.

ORDER = {
    "type": "object",
    "required": ["id", "total", "status", "lines"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "number": {"type": "string", "pattern": r"^ORD-\d{6}$"},
        "total": {"type": "number", "minimum": 0, "maximum": 500, "multipleOf": 0.01},
        "status": {"enum": ["new", "paid", "shipped"]},
        "placed_at": {"type": "string", "format": "date-time"},
        "paid": {"type": "boolean"},
        "ip": {"type": ["string", "null"], "format": "ipv4"},
        "lines": {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "required": ["qty"],
                "properties": {
                    "qty": {"type": "integer", "minimum": 1, "maximum": 9},
                    "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"},
                },
            },
        },
        "discount": {
            "oneOf": [
                {"type": "null"},
                {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 50},
            ]
        },
        "tags": {
            "type": "array",
            "uniqueItems": True,
            "minItems": 2,
            "items": {"enum": ["a", "b", "c"]},
        },
    },
}
KEYWORDS = {
    "type": "object",
    "required": ["scores", "labels", "pair", "pick", "flag", "odd"],
    "properties": {
        "scores": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 5},
            "contains": {"const": 5},
            "minContains": 2,
            "maxContains": 2,
        },
        "labels": {
            "type": "object",
            "patternProperties": {"^[a-z]{3}$": {"type": "integer", "minimum": 0, "maximum": 99}},
            "additionalProperties": False,
            "minProperties": 2,
        },
        "pair": {
            "type": "array",
            "prefixItems": [{"type": "boolean"}, {"format": "date"}],
            "items": False,
        },
        "pick": {
            "oneOf": [{"multipleOf": 2}, {"multipleOf": 3}],
            "type": "integer",
            "minimum": 1,
            "maximum": 20,
        },
        "flag": {
            "type": "object",
            "required": ["on"],
            "properties": {"on": {"type": "boolean"}},
            "if": {"properties": {"on": {"const": True}}},
            "then": {
                "required": ["level"],
                "properties": {"level": {"type": "integer", "minimum": 1, "maximum": 3}},
            },
            "else": {"properties": {"level": {"const": 0}}},
        },
        "odd": {"type": "integer", "minimum": 0, "maximum": 9, "not": {"multipleOf": 2}},
        "extra": {
            "type": "object",
            "properties": {"id": {"type": "integer"}},
            "additionalProperties": {"type": "integer", "minimum": 10, "maximum": 20},
            "minProperties": 3,
        },
        "few": {
            "type": "object",
            "properties": {n: {"type": "integer", "maximum": 3} for n in "abcde"},
            "dependentRequired": {"e": ["a"]},
            "maxProperties": 2,
        },
    },
}
TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "required": ["id", "kids"],
            "properties": {
                "id": {"type": "integer", "minimum": 1, "maximum": 99},
                "kids": {"type": "array", "maxItems": 2, "items": {"$ref": "#/$defs/node"}},
                "up": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
            },
        }
    },
    "$ref": "#/$defs/node",
}
NUMBERS = {
    "type": "object",
    "required": list("abcdefghijklm"),
    "properties": {
        "a": {"type": "integer"},
        "b": {"type": "integer", "maximum": 5},
        "c": {"type": "integer", "maximum": 50},
        "d": {"type": "integer", "minimum": -7},
        "e": {"type": "number", "maximum": 3},
        "f": {"type": "number", "maximum": 300},
        "g": {"type": "number"},
        "h": {"type": "integer", "multipleOf": 2.5, "minimum": 0, "maximum": 100},
        "i": {"type": "number", "multipleOf": 0.1, "minimum": 1, "maximum": 2},
        "j": {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1.5},
        "k": {"type": "integer", "exclusiveMinimum": 3.5, "maximum": 6.5},
        "l": {"type": "number", "x-semantic": "price", "minimum": 1000},
        "m": {"type": "integer", "x-semantic": "percentage", "maximum": 10},
    },
}
PLAIN_SEMANTICS = [
    "uuid",
    "ipv4",
    "ipv6",
    "color_hex",
    "credit_card_masked",
    "hex_hash",
    "base64",
    "jwt",
    "time",
    "date",
    "datetime",
    "unix_timestamp",
    "integer_id",
    "percentage",
    "latitude",
    "longitude",
    "price",
]
SEMANTIC = {
    "type": "object",
    "required": PLAIN_SEMANTICS,
    "properties": {n: {"x-semantic": n} for n in PLAIN_SEMANTICS},
}
SPARSE = {
    "type": "object",
    "properties": {
        **{f"o{i}": {"type": "integer", "maximum": 9} for i in range(12)},
        **{f"n{i}": {"type": ["integer", "null"], "maximum": 9} for i in range(12)},
    },
}


GOLDEN = [
    (
        ORDER,
        "a",
        {
            "id": "0a2ba96a-9906-4a06-a068-bd54f6e9b399",
            "number": "ORD-498915",
            "total": 37.46,
            "status": "new",
            "placed_at": "2021-02-23T22:16:12Z",
            "paid": False,
            "lines": [{"qty": 5, "sku": "SCY-53"}, {"qty": 7}, {"qty": 7, "sku": "XFZ-04"}],
            "discount": 35,
        },
    ),
    (
        ORDER,
        "b",
        {
            "id": "4e414681-12d2-4edb-bda4-bc92b7d024fc",
            "number": "ORD-232428",
            "total": 473.2,
            "status": "new",
            "placed_at": "2023-05-28T08:17:11Z",
            "paid": True,
            "ip": None,
            "lines": [{"qty": 8, "sku": "KBK-64"}, {"qty": 5, "sku": "PSE-27"}],
            "discount": None,
            "tags": ["b", "c"],
        },
    ),
    (
        ORDER,
        "c",
        {
            "id": "123c8571-9be0-4b53-90c5-4241c7df5bd9",
            "total": 344.18,
            "status": "new",
            "placed_at": "2024-01-26T07:34:16Z",
            "paid": True,
            "lines": [
                {"qty": 1, "sku": "JKT-87"},
                {"qty": 6, "sku": "WKK-11"},
                {"qty": 5, "sku": "YUG-08"},
            ],
            "discount": None,
            "tags": ["c", "a", "b"],
        },
    ),
    (
        KEYWORDS,
        "a",
        {
            "scores": [5, 5],
            "labels": {"ard": 5, "joc": 37},
            "pair": [False],
            "pick": 15,
            "flag": {"on": True, "level": 3},
            "odd": 7,
            "extra": {"id": 548, "field_0": 17, "field_1": 12},
        },
    ),
    (
        KEYWORDS,
        "b",
        {
            "scores": [5, 5],
            "labels": {"ard": 7, "joc": 12},
            "pair": [True],
            "pick": 2,
            "flag": {"on": True, "level": 3},
            "odd": 3,
            "extra": {"id": 50, "field_0": 20, "field_1": 14},
            "few": {"a": -67, "b": -356},
        },
    ),
    (
        KEYWORDS,
        "c",
        {
            "scores": [5, 5],
            "labels": {"ard": 70, "joc": 20},
            "pair": [False, "2021-09-07"],
            "pick": 20,
            "flag": {"on": False, "level": 0},
            "odd": 7,
            "extra": {"id": 747, "field_0": 15, "field_1": 20},
            "few": {"a": -24, "b": -181},
        },
    ),
    (
        TREE,
        "a",
        {
            "id": 49,
            "kids": [{"id": 7, "kids": []}, {"id": 12, "kids": []}],
            "up": {"id": 48, "kids": [], "up": None},
        },
    ),
    (
        TREE,
        "b",
        {
            "id": 37,
            "kids": [{"id": 82, "kids": []}, {"id": 78, "kids": []}],
            "up": {"id": 2, "kids": [], "up": None},
        },
    ),
    (
        TREE,
        "c",
        {"id": 90, "kids": [{"id": 70, "kids": []}], "up": {"id": 51, "kids": [], "up": None}},
    ),
    (
        NUMBERS,
        "a",
        {
            "a": 736,
            "b": -530,
            "c": 15,
            "d": 645,
            "e": -743.68,
            "f": 72.92,
            "g": 850.29,
            "h": 25,
            "i": 1.7,
            "j": 1.41,
            "k": 4,
            "l": 1017.99,
            "m": 5,
        },
    ),
    (
        NUMBERS,
        "b",
        {
            "a": 123,
            "b": -100,
            "c": 7,
            "d": 479,
            "e": -937.0,
            "f": 22.08,
            "g": 618.43,
            "h": 0,
            "i": 1.7,
            "j": 1.43,
            "k": 5,
            "l": 1103.5,
            "m": 7,
        },
    ),
    (
        NUMBERS,
        "c",
        {
            "a": 983,
            "b": -850,
            "c": 27,
            "d": 826,
            "e": -615.11,
            "f": 103.9,
            "g": 12.46,
            "h": 55,
            "i": 1.3,
            "j": 1.21,
            "k": 6,
            "l": 1005.03,
            "m": 4,
        },
    ),
    (
        SEMANTIC,
        "a",
        {
            "uuid": "444becaa-d628-42f1-ac6e-074adccad315",
            "ipv4": "23.148.110.66",
            "ipv6": "2191:da4b:b5f1:e1b3:a675:ebd8:51e0:bf4e",
            "color_hex": "#a8d0f4",
            "credit_card_masked": "**** **** **** 4632",
            "hex_hash": "26a9c5a447c83172191184fb20655df261bfa913",
            "base64": "QbnpAgaYUNaJFxsOb2FHTfLCZ16SmD8=",
            "jwt": (
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI5NjMzOTAiLCJpYXQiOjE2N"
                "zc3NDAzODUsImV4cCI6MTY3Nzc0Mzk4NX0.g2huQW172BuBxuj_wAnrMnXidRpyt44okGX"
                "Cq6xPmaY"
            ),
            "time": "00:44:18",
            "date": "2024-11-14",
            "datetime": "2021-01-26T02:36:44Z",
            "unix_timestamp": 1738508154,
            "integer_id": 62994,
            "percentage": 48.2,
            "latitude": 56.378416,
            "longitude": -109.19628,
            "price": 172.28,
        },
    ),
    (
        SEMANTIC,
        "b",
        {
            "uuid": "6def32a9-4148-491d-ae2a-cdc1a410c792",
            "ipv4": "212.0.58.217",
            "ipv6": "2b64:b356:fca1:c713:b9e0:ce42:f9e8:4ade",
            "color_hex": "#929a8e",
            "credit_card_masked": "**** **** **** 8310",
            "hex_hash": "10c841b1d18c758e19b62b5d2ec4c479d731c352",
            "base64": "5Bb7swlOlKIsINzBlVgSPGEreSKtprss",
            "jwt": (
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI3MjkwNjkiLCJpYXQiOjE2O"
                "TU4NDI2NTUsImV4cCI6MTY5NTg0NjI1NX0.LDDKrMpX06qsJq_Gi_ZkJVxE3SyU-6HPJYk"
                "EdolH4ns"
            ),
            "time": "22:03:27",
            "date": "2021-02-19",
            "datetime": "2021-09-20T00:31:38Z",
            "unix_timestamp": 1596505605,
            "integer_id": 25806,
            "percentage": 28.15,
            "latitude": 22.357128,
            "longitude": 179.079566,
            "price": 431.39,
        },
    ),
    (
        SEMANTIC,
        "c",
        {
            "uuid": "e7ba2085-4c74-4ff2-8aa8-b5a263a08266",
            "ipv4": "21.68.48.192",
            "ipv6": "2278:32df:5d9e:b369:2899:7082:89c1:a766",
            "color_hex": "#830499",
            "credit_card_masked": "**** **** **** 6238",
            "hex_hash": "c0159c4ad4fa32515f5e71777f490a4914beb45d",
            "base64": "A6CBThCEi1qQChpE",
            "jwt": (
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzNTcxMzkiLCJpYXQiOjE2O"
                "TA1NzE1ODcsImV4cCI6MTY5MDU3NTE4N30.m6aZ6xkHj8kFJ9AkWQUEfMZxMn-7X-enWeE"
                "ggkc-cu0"
            ),
            "time": "05:36:11",
            "date": "2021-02-22",
            "datetime": "2023-09-15T13:24:48Z",
            "unix_timestamp": 1641706305,
            "integer_id": 9268,
            "percentage": 94.52,
            "latitude": 1.993372,
            "longitude": 26.680806,
            "price": 370.25,
        },
    ),
    (
        SPARSE,
        "a",
        {
            "o1": -27,
            "o2": -969,
            "o3": -370,
            "o4": -542,
            "o5": -418,
            "o6": -151,
            "o7": -631,
            "o8": -235,
            "o9": -651,
            "o10": -963,
            "o11": -264,
            "n0": -36,
            "n1": -181,
            "n2": -31,
            "n3": -450,
            "n4": -98,
            "n5": None,
            "n7": -477,
            "n8": -106,
            "n9": -678,
            "n11": -338,
        },
    ),
    (
        SPARSE,
        "b",
        {
            "o0": -106,
            "o1": -796,
            "o2": -526,
            "o3": -125,
            "o4": -743,
            "o5": -523,
            "o6": -898,
            "o9": -637,
            "o10": -792,
            "o11": -613,
            "n0": -895,
            "n1": -714,
            "n2": -410,
            "n3": -852,
            "n4": None,
            "n5": -511,
            "n6": 4,
            "n7": -740,
            "n8": -1,
            "n9": None,
            "n11": -620,
        },
    ),
    (
        SPARSE,
        "c",
        {
            "o3": -855,
            "o4": -602,
            "o5": -871,
            "o6": -276,
            "o7": -514,
            "o8": -555,
            "o9": -170,
            "o10": -785,
            "o11": -527,
            "n0": -74,
            "n1": -405,
            "n3": -912,
            "n4": -653,
            "n5": None,
            "n6": -368,
            "n7": -738,
            "n8": -304,
            "n10": -469,
            "n11": -314,
        },
    ),
]


@pytest.mark.parametrize(("schema", "key", "expected"), GOLDEN)
def test_values_per_key_are_pinned(schema, key, expected):
    """A key's value for a fixed schema and seed is exactly the recorded one, and valid."""
    value = GEN.generate(schema, key=key)
    assert json.dumps(value) == json.dumps(expected)
    assert Draft202012Validator(schema).is_valid(value)


# ---------------------------------------------------------------------------------------------
# Schemas that are not objects, references


def test_true_and_empty_schemas_give_words_false_and_null_give_null():
    """true and {} allow anything (a word comes out); false and None give None."""
    words = set(P["word"])
    assert all(w in words for v in values(True) for w in v.split(" "))
    assert all(w in words for v in values({}) for w in v.split(" "))
    assert values(False, KEYS[:3]) == [None] * 3
    assert values(None, KEYS[:3]) == [None] * 3


@pytest.mark.parametrize("schema", ["string", 3, ["a"]])
def test_a_schema_that_is_not_an_object_is_a_config_error(schema):
    """A schema must be an object or a boolean; the error says what to write instead."""
    with pytest.raises(ConfigError, match="must be an object or a boolean") as err:
        Generator().generate(schema, key="k")
    assert "type: string" in err.value.hint


@pytest.mark.parametrize(
    ("ref", "target"),
    [
        ("#/$defs/a~1b", "#/$defs/a/b"),
        ("#/$defs/t~0n", "#/$defs/t~n"),
        ("#/$defs/p%25", "#/$defs/p%"),
        ("#/$defs/list/1", "#/$defs/list[1]"),
        ("#/$defs//plain", "#/$defs/plain"),
    ],
)
def test_references_decode_json_pointer_escapes_and_list_indexes(ref, target):
    """~1 is /, ~0 is ~, %25 is %; a digit indexes a list; empty tokens are skipped."""
    defs = {
        "a/b": {"const": "#/$defs/a/b"},
        "t~n": {"const": "#/$defs/t~n"},
        "p%": {"const": "#/$defs/p%"},
        "list": [{"const": 0}, {"const": "#/$defs/list[1]"}],
        "plain": {"const": "#/$defs/plain"},
    }
    assert GEN.generate({"$defs": defs, "$ref": ref}, key="k") == target


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("#/$defs/list/2", "points at nothing"),
        ("#/$defs/list/x", "points at nothing"),
        ("#/$defs/plain/deeper", "points at nothing"),
        ("#/$defs/none", "points at nothing"),
        (5, "points outside the schema"),
        ("other.json", "points outside the schema"),
    ],
)
def test_bad_references_are_config_errors(ref, words):
    """A reference that leaves the schema or finds nothing names itself and a fix."""
    schema = {"$defs": {"list": [{}, {}], "plain": "text"}, "$ref": ref}
    with pytest.raises(ConfigError, match=words) as err:
        Generator().generate(schema, key="k")
    assert "$defs" in err.value.hint


def test_a_reference_with_siblings_merges_them_and_annotations_do_not_count():
    """$ref with constraints beside it means both; with only a description, just the target."""
    schema = {
        "$defs": {"n": {"type": "integer", "minimum": 0, "maximum": 100}},
        "type": "object",
        "required": ["tight", "same"],
        "properties": {
            "tight": {"$ref": "#/$defs/n", "maximum": 2},
            "same": {"$ref": "#/$defs/n", "description": "x", "title": "t"},
        },
    }
    out = valid(schema)
    assert {v["tight"] for v in out} == {0, 1, 2}
    assert max(v["same"] for v in out) > 2


def test_a_reference_reached_twice_is_compiled_once_and_cycles_in_all_of_end():
    """Two properties sharing a target get one plan; a $ref cycle through allOf terminates."""
    schema = {
        "$defs": {
            "n": {"type": "integer", "minimum": 5, "maximum": 5},
            "loop": {"allOf": [{"$ref": "#/$defs/loop"}], "type": "integer", "maximum": 3},
        },
        "type": "object",
        "required": ["a", "b", "c"],
        "properties": {
            "a": {"$ref": "#/$defs/n"},
            "b": {"$ref": "#/$defs/n"},
            "c": {"$ref": "#/$defs/loop", "minimum": 3},
        },
    }
    c = Compiler(schema, P)
    c.node(schema)
    assert list(c.refs) == ["#/$defs/n"]
    assert all(v == {"a": 5, "b": 5, "c": 3} for v in values(schema, KEYS[:5]))


# ---------------------------------------------------------------------------------------------
# Recursion and depth


LIST = {
    "$defs": {
        "cell": {
            "type": "object",
            "required": ["next"],
            "properties": {"next": {"$ref": "#/$defs/cell"}},
        }
    },
    "$ref": "#/$defs/cell",
}


def _depth(value, key="next"):
    n = 0
    while isinstance(value, dict):
        value, n = value.get(key), n + 1
    return n


def test_a_recursion_the_schema_cannot_end_stops_with_null():
    """A required self-reference ends in null once the weighted depth passes the hard limit."""
    value = GEN.generate(LIST, key="k")
    assert _depth(value) == 13  # a pass through the $ref weighs 1 + RECURSION_WEIGHT (3) levels
    schema = {"type": "object", "required": ["next"], "properties": {"next": {"$ref": "#"}}}
    assert _depth(GEN.generate(schema, key="k")) == 13


def test_non_recursive_references_do_not_count_as_depth():
    """A chain of distinct $refs nests as deep as written: only recursion is weighted."""
    defs = {
        f"d{i}": {
            "type": "object",
            "required": ["next"],
            "properties": {"next": {"$ref": f"#/$defs/d{i + 1}"}},
        }
        for i in range(30)
    }
    defs["d30"] = {"const": "end"}  # fmt: skip
    value = GEN.generate({"$defs": defs, "$ref": "#/$defs/d0"}, key="k")
    assert _depth(value) == 30


def test_deep_objects_drop_optional_properties_and_arrays_shrink_to_min_items():
    """Past the soft depth, optional fields are left out and arrays have minItems items."""
    leaf = {"type": "object", "required": ["r"], "properties": {
        "r": {"type": "integer"}, "o": {"type": "integer"},
        "list": {"type": "array", "minItems": 1, "items": {"type": "integer"}},
        "set": {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"type": "integer"}},
        "maybe": {"type": ["integer", "null"]},
    }}  # fmt: skip
    schema = leaf
    for _ in range(8):
        schema = {"type": "object", "required": ["x"], "properties": {"x": schema}}
    for value in values(schema, KEYS[:10]):
        for _ in range(8):
            value = value["x"]
        assert value.keys() == {"r"}
    schema = {**leaf, "required": ["r", "list", "set", "maybe"]}
    for _ in range(7):
        schema = {"type": "object", "required": ["x"], "properties": {"x": schema}}
    for value in values(schema, KEYS[:10]):
        for _ in range(7):
            value = value["x"]
        assert len(value["list"]) == 1 and len(value["set"]) == 2 and value["maybe"] is None


def test_unions_end_recursion_with_their_null_or_scalar_branch():
    """At depth a union takes the branch that cannot recurse, preferring null."""
    node = {"oneOf": [{"$ref": "#/$defs/n"}, {"type": "integer"}, {"type": "null"}]}
    scalar = {"anyOf": [{"$ref": "#/$defs/s"}, {"enum": [1, 2]}]}
    schema = {
        "$defs": {
            "n": {"type": "object", "required": ["c"], "properties": {"c": node}},
            "s": {"type": "object", "required": ["c"], "properties": {"c": scalar}},
        },
        "type": "object",
        "required": ["n", "s"],
        "properties": {"n": {"$ref": "#/$defs/n"}, "s": {"$ref": "#/$defs/s"}},
    }
    for value in valid(schema, KEYS[:20]):
        n = value["n"]
        while isinstance(n, dict):
            n = n["c"]
        assert n is None or isinstance(n, int)
        s = value["s"]
        while isinstance(s, dict):
            s = s["c"]
        assert s in (1, 2)


def test_the_ends_of_union_branches():
    """A branch ends recursion if it is const, enum, null or only scalar types."""
    c = Compiler({}, P)
    assert c._ends({"type": ["string", "null"]}) == "null"
    assert c._ends({"const": 1}) == "scalar"
    assert c._ends({"enum": [1]}) == "scalar"
    assert c._ends({"type": ["integer", "boolean"]}) == "scalar"
    assert c._ends({"type": "number"}) == "scalar"
    assert c._ends({"type": ["string", "object"]}) is None
    assert c._ends({"type": "string", "$ref": "#"}) is None
    assert c._ends({}) is None
    assert c._ends(True) is None


# ---------------------------------------------------------------------------------------------
# Unions and overrides


def test_union_branches_get_the_constraints_beside_them():
    """Keywords next to oneOf apply to each branch; annotations alone leave branches as written."""
    schema = {"anyOf": [{"type": "integer"}, {"type": "number"}], "minimum": 5, "maximum": 6}
    assert all(5 <= v <= 6 for v in valid(schema))
    noted = {"oneOf": [{"const": 1}, {"const": "a"}], "description": "either"}
    assert set(values(noted)) == {1, "a"}
    refs = {"$defs": {"a": {"type": "integer", "maximum": 3}},
            "anyOf": [{"$ref": "#/$defs/a"}, True], "minimum": 3}  # fmt: skip
    out = valid(refs)
    assert 3 in out and all(v >= 3 for v in out) and any(v > 3 for v in out)


def test_disjoint_one_of_branches_are_not_checked_and_overlapping_ones_are():
    """Branches of distinct types cannot both match; integer and number overlap."""
    c = Compiler({}, P)
    assert c._disjoint([{"type": "string"}, {"type": "integer"}, {"type": "null"}])
    assert c._disjoint([{"const": "a"}, {"type": "boolean"}])
    assert not c._disjoint([{"type": "integer"}, {"type": "number"}])
    assert not c._disjoint([{"type": "number"}, {"type": "integer"}])
    assert not c._disjoint([{"type": "string"}, {}])
    assert not c._disjoint([{"type": ["string", "null"]}, {"type": "null"}])
    overlap = {"oneOf": [{"type": "number", "maximum": 2}, {"type": "integer", "minimum": 0}]}
    out = valid(overlap)
    assert all(not (isinstance(v, int) and 0 <= v <= 2) for v in out)


@pytest.mark.parametrize(
    ("sub", "types"),
    [
        ({"const": 1}, ("integer",)),
        ({"type": ["string", "null"]}, ("string", "null")),
        ({"enum": [1, "a", 2]}, ("integer", "string")),
        ({"oneOf": [{"type": "integer"}, {"const": "a"}]}, ("integer", "string")),
        ({"anyOf": [{"type": "integer"}, {"type": "integer"}]}, ("integer",)),
        ({"anyOf": [{"type": "integer"}, {}]}, ()),
        ({"x-semantic": "integer_id"}, ("integer",)),
        ({"x-semantic": "unknown"}, ()),
        ({"minimum": 1}, ("number",)),
        ({"description": "any"}, ()),
        ({"$ref": "#/$defs/n"}, ("integer",)),
        (True, ()),
    ],
)
def test_the_types_overrides_are_coerced_to(sub, types):
    """Declared types, a const's or enum's types, a union's types, or the inferred one."""
    root = {"$defs": {"n": {"type": "integer"}}}
    assert Compiler(root, P)._types_of(sub) == types


def test_types_of_deeply_nested_unions_give_up():
    """Unions nested deeper than eight levels are taken as allowing any type."""
    sub: dict = {"type": "integer"}
    for _ in range(8):
        sub = {"anyOf": [sub]}
    assert Compiler({}, P)._types_of(sub) == ("integer",)
    assert Compiler({}, P)._types_of({"anyOf": [sub]}) == ()


def test_overrides_are_coerced_by_the_union_types_and_kept_when_max_properties_trims():
    """An override is converted to its property's type and never trimmed away."""
    schema = {
        "type": "object",
        "properties": {
            "id": {"oneOf": [{"type": "integer"}, {"type": "null"}]},
            **{n: {"type": "boolean"} for n in "abcd"},
        },
        "maxProperties": 1,
    }
    for key in KEYS[:10]:
        assert GEN.generate(schema, key=key, overrides={"id": "7"}) == {"id": 7}
    assert GEN.generate(schema, key="k", overrides={}) == GEN.generate(schema, key="k")
    top = {"type": ["integer", "null"]}
    assert all(isinstance(GEN.generate(top, key=k, overrides={"a": 1}), int) for k in KEYS)


# ---------------------------------------------------------------------------------------------
# Objects


def test_required_names_without_a_schema_take_additional_properties():
    """A required name not under properties gets the additionalProperties schema."""
    schema = {"type": "object", "required": ["n", 3], "additionalProperties": {"const": 9}}
    assert values(schema, KEYS[:3]) == [{"n": 9}] * 3
    assert GEN.generate(schema, key="k", overrides={"n": "5"}) == {"n": 5}


def test_optional_properties_are_present_about_85_percent_of_the_time():
    """Each optional property is drawn from its own pointer: present 218 times in 256."""
    schema = {"type": "object", "properties": {"p": {"const": 1}, "q": {"const": 2}}}
    out = values(schema, [str(i) for i in range(1000)])
    share = sum("p" in v for v in out) / len(out)
    assert 0.82 < share < 0.88
    assert sum("p" in v and "q" in v for v in out) < sum("p" in v for v in out)


def test_min_properties_adds_declared_ones_first_then_field_names():
    """minProperties fills from absent optional properties, then field_0, field_1..."""
    schema = {
        "type": "object",
        "properties": {"field_0": {"const": "declared"}, "a": {"const": 1}},
        "minProperties": 4,
    }
    for v in values(schema):
        assert v["field_0"] == "declared" and v["a"] == 1
        assert set(v) == {"field_0", "a", "field_1", "field_2"}


def test_a_closed_map_without_a_usable_pattern_stays_small():
    """A closed object whose patterns the builder cannot walk adds no names."""
    schema = {
        "type": "object",
        "patternProperties": {"(?=x)x": {"type": "integer"}},
        "additionalProperties": False,
        "minProperties": 2,
    }
    assert values(schema, KEYS[:3]) == [{}] * 3


def test_map_names_match_their_pattern_and_avoid_declared_names():
    """Names drawn for minProperties fit a pattern and do not repeat a declared property."""
    schema = {
        "type": "object",
        "properties": {"aa": {"const": 1}},
        "required": ["aa"],
        "patternProperties": {"^a[a-c]$": {"type": "integer", "maximum": 20}},
        "additionalProperties": False,
        "minProperties": 3,
    }
    for v in valid(schema, KEYS[:5]):
        assert v["aa"] == 1 and set(v) == {"aa", "ab", "ac"}
    wide = {**schema, "patternProperties": {"^[a-z]{2}$": {"type": "integer"}}, "minProperties": 5}
    for v in valid(wide, KEYS[:5]):
        assert len(v) == 5 and v["aa"] == 1


def test_pattern_properties_of_an_invalid_regex_are_config_errors():
    """A bad patternProperties regex fails like a bad pattern does."""
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        Generator().generate({"type": "object", "patternProperties": {"[": {}}}, key="k")


def test_dependent_required_names_outside_a_closed_object_are_not_invented():
    """A dependency on a name a closed object forbids is not added as a property."""
    schema = {
        "type": "object",
        "properties": {"a": {"const": 1}},
        "additionalProperties": False,
        "dependentRequired": {"b": ["zz"], "a": ["a"], "c": "bad"},
    }
    assert all(set(v) <= {"a"} for v in values(schema))
    open_ = {**schema, "additionalProperties": {"const": 2}, "dependentRequired": {"a": ["zz"]}}
    assert all(v.get("zz") == 2 for v in values(open_) if "a" in v)


def test_max_properties_drops_optional_ones_from_the_end_but_keeps_required():
    """Trimming starts at the last optional property; required ones always stay."""
    props = {n: {"const": n} for n in "abcdef"}
    schema = {"type": "object", "properties": props, "required": ["f"], "maxProperties": 3}
    out = values(schema)
    assert all(len(v) <= 3 and "f" in v for v in out)
    assert all(list(v)[:-1] == sorted(v)[: len(v) - 1] for v in out)
    assert any(len(v) == 3 for v in out)


# ---------------------------------------------------------------------------------------------
# Arrays


def test_draft7_tuples_and_additional_items():
    """items as a list is a tuple; additionalItems false closes it, a schema types the rest."""
    closed = {"type": "array", "items": [{"const": 1}, {"const": 2}], "additionalItems": False}
    assert {json.dumps(v) for v in values(closed)} == {"[1]", "[1, 2]"}
    rest = {
        "type": "array",
        "items": [{"const": 1}],
        "additionalItems": {"const": 0},
        "minItems": 3,
    }
    assert all(len(v) >= 3 and v == [1] + [0] * (len(v) - 1) for v in values(rest))
    short = {"type": "array", "prefixItems": [{"const": 1}], "items": False, "minItems": 3}
    assert values(short, KEYS[:3]) == [[1]] * 3


@pytest.mark.parametrize(
    ("schema", "lengths"),
    [
        ({"type": "array"}, {1, 2, 3, 4, 5}),
        ({"type": "array", "maxItems": 0}, {0}),
        ({"type": "array", "maxItems": 2}, {1, 2}),
        ({"type": "array", "minItems": 0, "maxItems": 2}, {0, 1, 2}),
        ({"type": "array", "minItems": 7}, {7}),
        ({"type": "array", "minItems": 3}, {3, 4, 5}),
        ({"type": "array", "minItems": 2, "maxItems": 9}, {2, 3, 4, 5}),
        ({"type": "array", "contains": {"const": 1}}, {1, 2, 3, 4, 5}),
        ({"type": "array", "contains": {"const": 1}, "minContains": 0}, {0, 1, 2, 3, 4, 5}),
        ({"type": "array", "contains": {"const": 1}, "minContains": 3}, {3, 4, 5}),
        ({"type": "array", "contains": {"const": 1}, "maxContains": 2}, {1, 2}),
        (
            {"type": "array", "items": {"enum": [1, 2]}, "contains": {"const": 1}}
            | {"maxContains": 1, "minItems": 2},
            {2},
        ),
    ],
)
def test_array_lengths(schema, lengths):
    """One to five items by default, within minItems/maxItems and what contains needs."""
    assert {len(v) for v in valid(schema, [str(i) for i in range(80)])} == lengths


def test_unique_items_skip_repeats_and_settle_for_fewer_when_they_run_out():
    """uniqueItems redraws repeats; with two possible values, at most two items come out."""
    schema = {"type": "array", "uniqueItems": True, "minItems": 3, "items": {"enum": [1.0, 1, 2]}}
    for v in values(schema):
        assert len(v) == 2 and len(set(v)) == 2
    fine = {"type": "array", "uniqueItems": True, "minItems": 5, "items": {"type": "integer"}}
    assert all(len(set(v)) == len(v) >= 5 for v in valid(fine))


# ---------------------------------------------------------------------------------------------
# Strings


def test_string_candidates_in_order_semantic_pattern_format_words():
    """The semantic value wins when it fits; then the pattern's string, then words."""
    assert all(re.fullmatch(r"#[0-9a-f]{6}", v) for v in values({"x-semantic": "color_hex"}))
    pattern = {"type": "string", "pattern": "^#[0-9]{6}$", "x-semantic": "color_hex"}
    assert all(re.fullmatch(r"#\d{6}", v) for v in valid(pattern))
    other = {"type": "string", "pattern": "^[a-c]{2}$", "x-semantic": "other"}
    assert all(re.fullmatch("[a-c]{2}", v) for v in valid(other))
    fmt = {"type": "string", "format": "ipv4", "x-semantic": "uuid"}
    assert all(v.count(".") == 3 for v in values(fmt))
    unwalkable = {"type": "string", "pattern": "(?=a)a", "minLength": 3}
    assert all(len(v) >= 3 for v in values(unwalkable))


def test_string_lengths_are_kept_by_semantic_values_or_the_fallback():
    """A semantic value that breaks the length bounds gives way to words cut to fit."""
    short = {"type": "string", "x-semantic": "sentence", "maxLength": 5}
    assert all(len(v) <= 5 and not v.endswith(" ") for v in valid(short))
    long = {"type": "string", "x-semantic": "word", "minLength": 30}
    assert all(len(v) >= 30 for v in valid(long))
    exact = {"type": "string", "minLength": 4, "maxLength": 4}
    assert all(len(v) == 4 for v in valid(exact))
    assert all(len(v) >= 1 for v in valid({"type": "string", "minLength": 1}))


def test_words_are_one_or_two_and_more_for_min_length():
    """Plain strings: a word, sometimes two; minLength adds words; maxLength cuts."""
    words = P["word"]
    n = len(words)
    assert compiler._words(P, 0, 0, None) == words[0]
    assert compiler._words(P, 1, 0, None) == words[1]
    assert compiler._words(P, n, 0, None) == f"{words[0]} {words[0]}"
    assert compiler._words(P, 3 * n + 2, 0, None) == f"{words[2]} {words[1]}"
    grown = compiler._words(P, 5, 40, None)
    assert len(grown) >= 40 and grown.startswith(words[5] + " ")
    assert compiler._words(P, 0, 0, 2) == words[0][:2]
    spaced = next(r for r in range(n, 50 * n) if len(words[r % n]) == 3)
    assert compiler._words(P, spaced, 0, 4) == words[spaced % n] + "x"


def test_string_checks_only_when_bounded():
    """An unconstrained string takes the first candidate as it is; a bounded one is checked."""
    c = Compiler({}, P)
    node = c._string({"minLength": 0}, "color_hex")
    assert re.fullmatch("#[0-9a-f]{6}", node(None, 5, b"", 0, None))
    pattern_only = c._string({"pattern": "^z+$"}, None)
    assert re.fullmatch("z+", pattern_only(None, 5, b"", 0, None))


# ---------------------------------------------------------------------------------------------
# Numbers


@pytest.mark.parametrize(
    ("schema", "check"),
    [
        ({"type": "integer"}, lambda v: 1 <= v <= 1000),
        ({"type": "number"}, lambda v: 0 <= v <= 1000),
        ({"type": "integer", "maximum": 10}, lambda v: -990 <= v <= 10),
        ({"type": "integer", "maximum": 11}, lambda v: 1 <= v <= 11),
        ({"type": "integer", "minimum": -3}, lambda v: -3 <= v <= 997),
        ({"type": "number", "maximum": 10.5}, lambda v: -989.5 <= v <= 10.5),
        ({"type": "integer", "exclusiveMinimum": 2, "exclusiveMaximum": 5}, {3, 4}.__contains__),
        ({"type": "integer", "minimum": 2.5, "maximum": 4.5}, {3, 4}.__contains__),
        (
            {"type": "integer", "exclusiveMinimum": 2.5, "exclusiveMaximum": 4.5},
            {3, 4}.__contains__,
        ),
        ({"type": "integer", "multipleOf": 2.5, "maximum": 20}, lambda v: v % 5 == 0),
        (
            {"type": "integer", "multipleOf": 1.5, "minimum": 0, "maximum": 9},
            {0, 3, 6, 9}.__contains__,
        ),
        ({"type": "number", "multipleOf": 3, "minimum": 1, "maximum": 10}, {3, 6, 9}.__contains__),
        (
            {"type": "number", "multipleOf": 0.5, "exclusiveMinimum": 0, "maximum": 1},
            {0.5, 1}.__contains__,
        ),
        (
            {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1.001},
            lambda v: 1 < v < 1.001,
        ),
    ],
)
def test_plain_numbers_come_from_the_bounds(schema, check):
    """Defaults of 1..1000 (integers) and 0..1000, a thousand wide from one bound."""
    out = valid(schema, [str(i) for i in range(60)])
    assert all(check(v) for v in out), out
    assert len(set(out)) > 1


def test_integers_are_spread_over_their_whole_range():
    """Every value of a small range comes out; numbers have two decimals when they can."""
    assert set(values({"type": "integer", "minimum": 1, "maximum": 4})) == {1, 2, 3, 4}
    assert set(values({"type": "integer", "maximum": 20})) - set(range(-980, 21)) == set()
    nums = values({"type": "number", "minimum": 0, "maximum": 10})
    assert all(round(v, 2) == v for v in nums) and len(set(nums)) > 30


def test_multiples_that_do_not_fit_fall_back_to_the_first_step():
    """With no multiple in range the first step past the minimum comes out; a narrow
    range of inexact steps is searched step by step."""
    impossible = {"type": "number", "multipleOf": 7, "minimum": 1, "maximum": 6}
    assert set(values(impossible)) == {7}
    narrow = {"type": "number", "multipleOf": 0.1, "minimum": 0.25, "maximum": 0.35}
    assert set(values(narrow)) == {0.3}  # 0.3 / 0.1 is not whole in floats: no valid value
    wide = {"type": "number", "multipleOf": 0.1, "minimum": 0, "maximum": 1000}
    assert len(set(valid(wide))) > 30


def test_numeric_semantics_convert_or_give_way():
    """A semantic value becomes the field's number type, or the plain number runs."""
    assert compiler._as_integer(5) == 5
    assert compiler._as_integer(5.0) == 5 and isinstance(compiler._as_integer(5.0), int)
    assert compiler._as_integer(5.5) is None
    assert compiler._as_integer(True) is None
    assert compiler._as_integer("42") == 42
    assert compiler._as_integer("4" * 18) == int("4" * 18)
    assert compiler._as_integer("4" * 19) is None
    assert compiler._as_integer("-4") is None
    assert compiler._as_integer(None) is None
    assert compiler._as_number(2.5) == 2.5 and compiler._as_number(3) == 3
    assert compiler._as_number(False) is None
    assert compiler._as_number("2.5") == 2.5
    assert compiler._as_number("x") is None
    assert compiler._as_number("inf") is None
    assert compiler._as_number(None) is None
    postcode = {"type": "integer", "x-semantic": "postcode"}
    assert all(isinstance(v, int) for v in valid(postcode))
    phone = {"type": "number", "x-semantic": "phone", "maximum": 5}
    assert all(v <= 5 for v in valid(phone))
    ts = {"type": "number", "x-semantic": "unix_timestamp"}
    assert all(1577836800 <= v <= 1767225600 for v in valid(ts))


@pytest.mark.parametrize(
    "annotation",
    ["title", "description", "examples", "default", "$comment", "$id", "$schema", "$anchor"]
    + ["$defs", "definitions", "readOnly", "writeOnly", "deprecated"],
)
def test_a_reference_with_only_annotations_beside_it_is_a_plain_reference(annotation):
    """Annotations do not constrain, so {$ref, title} recurses like a bare $ref would; a real
    keyword beside it merges the target in, one level shallower in the count."""
    cell = {"type": "object", "required": ["next"], "properties": {"next": {"$ref": "#/$defs/c"}}}
    defs = {"$defs": {"c": cell}, "definitions": {"c": cell}, "type": "object", "required": ["p"]}
    plain = {**defs, "properties": {"p": {"$ref": "#/$defs/c", annotation: {"c": cell}}}}
    merged = {**defs, "properties": {"p": {"$ref": "#/$defs/c", "minProperties": 0}}}
    assert _depth(GEN.generate(plain, key="k")["p"]) == 12
    assert _depth(GEN.generate(merged, key="k")["p"]) == 13
    noted = {"oneOf": [{"const": 1}, {"const": 2}], annotation: "x"}
    assert Compiler(noted, P)._types_of({"x-semantic": "word", annotation: 1}) == ()
    assert set(values(noted)) == {1, 2}


# ---------------------------------------------------------------------------------------------
# The generator object


def test_plans_are_cached_by_identity_and_pools_shared_per_locale():
    """One schema object compiles once; generators of a locale share its Faker pools."""
    g = Generator(seed=1)
    schema = {"type": "integer"}
    assert g._plan(schema) is g._plan(schema)
    assert g._plan(dict(schema)) is not g._plan(schema)
    assert Generator(seed=2)._pools is g._pools
    assert Generator(locale="de_DE")._pools is not g._pools
    assert Generator(locale="de_DE")._pools is Generator(locale="de_DE")._pools
    assert (g.seed, g.locale) == (1, "en_US")


def test_an_unknown_locale_names_the_choices():
    """The error names the locale and how many Faker has."""
    from faker.config import AVAILABLE_LOCALES

    with pytest.raises(ConfigError, match="Unknown locale 'xx'") as err:
        Generator(locale="xx")
    assert "en_US, de_DE or fr_FR" in err.value.hint
    assert f"({len(AVAILABLE_LOCALES)} are available)" in err.value.hint


def test_edge_cases_that_hypothesis_jsonschema_cannot_build_fall_back_once():
    """A schema the edge library raises on gets generate's value, and is not tried again."""
    g = Generator(seed=1)
    schema = {"type": "object", "required": ["a"], "properties": {"a": {"$ref": "#"}}}
    assert g.edge_case(schema, key="k") == g.generate(schema, key="k")
    assert g._edges[id(schema)][1] is None
    assert g.edge_case(schema, key="j") == g.generate(schema, key="j")


def test_edge_cases_that_never_validate_fall_back_to_generate():
    """When every edge draw breaks the schema, the generated value is returned."""
    g = Generator(seed=1)
    schema = {"type": "array", "items": {"type": "integer"}, "contains": {"const": 1}}
    schema |= {"minContains": 4, "maxItems": 4}
    for key in KEYS[:5]:
        assert g.edge_case(schema, key=key) == [1, 1, 1, 1]


def test_edge_values_are_pinned_per_key():
    """Edge draws come from a seeded random per key through a provider without scraped
    constants, so they are fixed for a given hypothesis version."""
    g = Generator(seed=1)
    schema = {"type": "integer"}
    first = [g.edge_case(schema, key=k) for k in KEYS[:8]]
    again = [Generator(seed=1).edge_case(schema, key=k) for k in KEYS[:8]]
    assert first == again and len(set(first)) > 4
    seed = int.from_bytes(hashlib.blake2b(b"1|k0|edge", digest_size=16).digest(), "little")
    assert first[0] == edges.edge_draw(edges.edge_strategy(schema), seed)


def test_edge_cases_need_hypothesis_jsonschema(monkeypatch):
    """Without hypothesis-jsonschema, edge cases are a config error that says what to install."""
    monkeypatch.setitem(sys.modules, "hypothesis_jsonschema", None)
    with pytest.raises(ConfigError, match="needs the hypothesis-jsonschema package") as err:
        edges.edge_strategy({"type": "string"})
    assert err.value.hint == "pip install hypothesis-jsonschema"


def test_branches_clash_only_when_their_types_cannot_meet():
    """integer meets number either way round; no declared type meets anything."""
    clash = compiler._clash
    assert not clash({"type": "number"}, {"type": "integer"})
    assert not clash({"type": "integer"}, {"type": "number"})
    assert not clash({"type": ["string", "null"]}, {"type": "null"})
    assert clash({"type": "string"}, {"type": "integer"})
    assert clash({"type": "integer"}, {"type": "boolean"})
    assert not clash({}, {"type": "integer"}) and not clash({"type": "integer"}, {})


def test_the_types_a_negation_leaves():
    """not number rules out integers too; not integer leaves numbers; not nothing leaves all."""
    rest = compiler._other_types
    assert rest({"type": "number"}) == ["string", "boolean", "object", "array", "null"]
    assert rest({"type": "integer"}) == ["string", "number", "boolean", "object", "array", "null"]
    assert rest({"type": ["string", "null"]}) == ["integer", "number", "boolean", "object", "array"]
    assert rest({}) == ["string", "integer", "number", "boolean", "object", "array", "null"]


def test_closed_map_names_are_distinct_fixed_and_drawn_apart():
    """Names for minProperties are all different, the same in every generator, single
    letters included, and each name's value has its own draw."""
    letters = {"type": "object", "patternProperties": {"^[a-c]$": {"type": "integer"}}}
    letters |= {"additionalProperties": False, "minProperties": 3}
    assert all(set(v) == {"a", "b", "c"} for v in valid(letters, KEYS[:5]))
    words = {"type": "object", "patternProperties": {"^[a-z]+$": {"type": "integer"}}}
    words |= {"additionalProperties": False, "minProperties": 40}
    first = Generator(seed=1).generate(words, key="k")
    assert set(first) == set(Generator(seed=2).generate(dict(words), key="j"))
    assert len(first) == 40 and min(map(len, first)) == 1
    assert len(set(first.values())) > 30


def test_extra_field_values_have_their_own_draws():
    """field_0, field_1... of an open object each draw from their own pointer."""
    schema = {"type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 6}
    for v in valid(schema, KEYS[:5]):
        assert len(set(v.values())) == 6


def test_an_invalid_pattern_hint_points_at_the_config():
    """The hint names backworks.yaml and the regex dialect."""
    with pytest.raises(ConfigError) as err:
        Generator().generate({"type": "string", "pattern": "("}, key="k")
    assert err.value.hint == (
        "Fix the pattern in backworks.yaml (JSON Schema patterns are ECMA-262 regular expressions)."
    )
    assert err.value.message.startswith("The schema pattern '(' is not a valid regular")


# ---------------------------------------------------------------------------------------------
# The draw scheme, piece by piece


def _draw(seed, key, pointer=b""):
    h = hashlib.blake2b(f"{seed}|{key}|".encode(), digest_size=16)
    h.update(pointer)
    return int.from_bytes(h.digest(), "little")


def test_null_presence_and_branch_are_read_from_fixed_bits_of_the_draw():
    """null when bits 112-119 are below 26; an optional property when the top byte of its
    own draw is below 218; a union branch by bits 96 and up."""
    keys = [str(i) for i in range(600)]
    nullable = {"type": ["integer", "null"]}
    assert [GEN.generate(nullable, key=k) is None for k in keys] == [
        (_draw(7, k) >> 112) & 0xFF < 26 for k in keys
    ]
    optional = {"type": "object", "properties": {"p": {"const": 1}}}
    assert ["p" in GEN.generate(optional, key=k) for k in keys] == [
        _draw(7, k, b"/p") >> 120 < 218 for k in keys
    ]
    union = {"oneOf": [{"const": "a"}, {"const": 1}, {"const": None}]}
    assert [GEN.generate(union, key=k) for k in keys] == [
        ["a", 1, None][(_draw(7, k) >> 96) % 3] for k in keys
    ]


def test_a_checked_node_redraws_twelve_times_with_fresh_pointers():
    """Each miss rehashes the draw and suffixes the pointer with !1, !2...; after twelve
    misses the last value comes back."""
    seen = []

    def record(ctx, r, ptr, depth, ov):
        seen.append((r, ptr, depth, ov))
        return len(seen)

    node = compiler._until([record], lambda v: False)
    assert node(None, 5, b"/p", 3, {"o": 1}) == 12
    assert [s[1] for s in seen] == [b"/p"] + [b"/p!%d" % i for i in range(1, 12)]
    r = 5
    for s in seen:
        assert s[0] == r and s[2:] == (3, {"o": 1})
        r = rehash(r)
    seen.clear()
    assert compiler._until([record], lambda v: v == 3)(None, 5, b"", 0, None) == 3


def test_a_checked_node_picks_among_its_variants_by_bits_72_and_up():
    """The variant tried is nodes[(r >> 72) % n]."""

    def const(i):
        return lambda ctx, r, ptr, depth, ov: i

    node = compiler._until([const(0), const(1), const(2)], lambda v: True)
    assert [node(None, r << 72, b"", 0, None) for r in range(4)] == [0, 1, 2, 0]
    assert node(None, (1 << 72) - 1, b"", 0, None) == 0


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {
                "type": "object",
                "required": ["on"],
                "properties": {"on": {"type": "boolean"}},
                "if": {"properties": {"on": {"const": True}}},
                "then": {
                    "required": ["level"],
                    "properties": {"level": {"type": "integer", "minimum": 1, "maximum": 3}},
                },
                "else": {"properties": {"level": {"const": 0}}},
            },
            '[{"on": false, "level": 0}, {"on": true, "level": 1}, {"on": true, "level": 1}, '
            '{"on": true, "level": 1}, {"on": true, "level": 3}, {"on": false, "level": 0}, '
            '{"on": false, "level": 0}, {"on": true, "level": 3}, {"on": false, "level": 0}, '
            '{"on": true, "level": 2}, {"on": true, "level": 1}, {"on": true, "level": 1}]',
        ),
        # nine in ten draws miss: some keys run out of tries and keep their last draw
        (
            {"type": "integer", "minimum": 0, "maximum": 99, "not": {"maximum": 89}},
            "[90, 90, 5, 93, 96, 96, 59, 95, 94, 92, 36, 99]",
        ),
        (
            {"oneOf": [{"multipleOf": 2}, {"multipleOf": 3}], "type": "integer"}
            | {"minimum": 0, "maximum": 12},
            "[10, 4, 8, 2, 3, 3, 9, 10, 10, 3, 3, 3]",
        ),
    ],
)
def test_checked_values_are_pinned_per_key(schema, expected):
    """Conditions, negations and overlapping oneOf redraw in a fixed order per key."""
    assert json.dumps([GEN.generate(schema, key=f"k{i}") for i in range(12)]) == expected


@pytest.mark.parametrize(("wrappers", "depth"), [(0, 13), (1, 13), (2, 14), (3, 15)])
def test_the_hard_depth_is_passed_not_reached(wrappers, depth):
    """A recursion stops once its weighted depth exceeds 48, wherever it starts."""
    schema = {"$ref": "#/$defs/cell"}
    for _ in range(wrappers):
        schema = {"type": "object", "required": ["next"], "properties": {"next": schema}}
    schema = {**schema, "$defs": LIST["$defs"]}
    assert _depth(GEN.generate(schema, key="k")) == depth


def test_a_shared_reference_used_twice_is_not_a_recursion():
    """A target reached again after it compiled is not weighted as recursive: its optional
    fields stay as likely deep down as at the top."""
    leaf = {"type": "object", "properties": {"o": {"type": "integer"}}}
    nested: dict = {"$ref": "#/$defs/leaf"}
    for _ in range(5):
        nested = {"type": "object", "required": ["x"], "properties": {"x": nested}}
    schema = {"$defs": {"leaf": leaf}, "type": "object", "required": ["a", "b"]}
    schema["properties"] = {"a": {"$ref": "#/$defs/leaf"}, "b": nested}
    deep = []
    for v in values(schema):
        b = v["b"]
        for _ in range(5):
            b = b["x"]
        deep.append("o" in b)
    assert sum(deep) > 25


def test_a_union_at_the_soft_depth_takes_its_null_branch():
    """At depth 8 and beyond a union takes null, not before."""
    union = {"oneOf": [{"type": "integer"}, {"type": "null"}]}
    for levels, always_null in ((7, False), (8, True)):
        schema = union
        for _ in range(levels):
            schema = {"type": "object", "required": ["x"], "properties": {"x": schema}}
        leaves = []
        for v in values(schema):
            for _ in range(levels):
                v = v["x"]
            leaves.append(v)
        assert all(v is None for v in leaves) is always_null


def test_recursive_unions_stop_one_level_past_the_soft_depth():
    """A union of a recursive object and null ends in null at the second level, never later,
    and an integer branch is not taken there."""
    node = {"oneOf": [{"$ref": "#/$defs/n"}, {"type": "integer"}, {"type": "null"}]}
    schema = {
        "$defs": {"n": {"type": "object", "required": ["c"], "properties": {"c": node}}},
        "$ref": "#/$defs/n",
    }
    out = values(schema)
    deeper = [v["c"] for v in out if isinstance(v["c"], dict)]
    assert deeper and all(d["c"] is None for d in deeper)
    assert any(isinstance(v["c"], int) for v in out)


def test_union_overrides_reach_the_chosen_branch():
    """Overrides pass through a union and a checked node to the object they name."""
    union = {"oneOf": [{"type": "object", "properties": {"id": {"type": "integer"}}},
                       {"type": "object", "properties": {"id": {"type": "string"}}}]}  # fmt: skip
    checked = {"type": "object", "properties": {"id": {"type": "integer"}}}
    checked |= {"not": {"required": ["zz"]}}
    for key in KEYS[:10]:
        assert GEN.generate(union, key=key, overrides={"id": 5})["id"] in (5, "5")
        assert GEN.generate(checked, key=key, overrides={"id": 5})["id"] == 5


def test_more_disjoint_and_ending_branches():
    """Every type of a branch counts for overlap, against every earlier branch."""
    c = Compiler({}, P)
    assert not c._disjoint([{"type": ["number", "string"]}, {"type": "string"}])
    assert not c._disjoint([{"type": "string"}, {"type": "integer"}, {"type": "string"}])
    assert c._ends({"type": "string"}) == "scalar"
    assert c._ends({"type": ["string", "integer", "number", "boolean"]}) == "scalar"


def test_reference_hints_say_where_schemas_go():
    """Outside and missing references each say how to fix them."""
    with pytest.raises(ConfigError) as outside:
        Generator().generate({"$ref": "x.json"}, key="k")
    assert outside.value.hint == (
        'Put shared schemas under $defs in the same schema and refer to them as "#/$defs/<name>".'
    )
    with pytest.raises(ConfigError) as missing:
        Generator().generate({"$ref": "#/$defs/x"}, key="k")
    assert missing.value.hint == (
        "Define it under $defs (or definitions) of the same schema, or fix the name."
    )


def test_a_new_locale_fills_its_own_pools():
    """The first generator of a locale makes its pools; later ones reuse them."""
    from backworks_cli.learn.generation.fakes import POOLS as pools

    pools.pop("it_IT", None)
    first = Generator(locale="it_IT")
    assert pools["it_IT"] is first._pools and first._pools.locale == "it_IT"
    assert Generator(locale="it_IT")._pools is first._pools


def test_edge_cases_of_bad_schemas_raise_config_errors_first():
    """A bad reference fails as a ConfigError before hypothesis sees the schema."""
    with pytest.raises(ConfigError, match="points at nothing"):
        Generator().edge_case({"$ref": "#/$defs/none"}, key="k")


def test_the_edge_fallback_uses_the_same_key():
    """When the edge library cannot build a schema, the key's own generated value comes back."""
    g = Generator(seed=1)
    schema = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    schema["properties"]["next"] = {"$ref": "#"}
    for key in KEYS[:5]:
        assert g.edge_case(schema, key=key) == g.generate(schema, key=key)
    assert len({json.dumps(g.edge_case(schema, key=k)) for k in KEYS[:5]}) == 5


def test_a_fresh_edge_provider_draws_the_pinned_values(monkeypatch):
    """The provider class, built anew, gives these draws: hypothesis's own randomness with a
    5% chance of a constant for the choice type, the same in every process."""
    monkeypatch.setattr(edges, "_PROVIDER", [])
    integers = edges.edge_strategy({"type": "integer"})
    assert [edges.edge_draw(integers, i) for i in range(12)] == [
        114827, 14495024, 14860961579562, 245, -1398912205, 60403, 2711629, -16432555,
        2266577014938081, -1692, -443, 344,
    ]  # fmt: skip
    assert len(edges._PROVIDER) == 1 and edges._stable_provider() is edges._PROVIDER[0]
    constants = [31, 43, 57, 113, 127, 139]  # draws that take one of hypothesis's constants
    assert [edges.edge_draw(integers, i) for i in constants] == [
        -9007199254740993, 274877906945, 134217728, 121645100408831999, 2147483648, 274877906944,
    ]  # fmt: skip
    texts = edges.edge_strategy({"type": "string", "maxLength": 3})
    assert [edges.edge_draw(texts, i) for i in range(12)] == [
        "", "", "", "ò泟", "\x0b\U00094b90", "", "", "U", "", "㖷YD", "i\x8e\U0010b252", "îa_",
    ]  # fmt: skip
    assert [edges.edge_draw(texts, i) for i in constants] == ["INF", "Inf", "0", "if", "INF", "nil"]


def test_edge_schemas_close_nested_objects_everywhere():
    """Closing reaches objects inside lists of schemas, single subschemas and item lists."""
    inner = {"properties": {"a": {}}}
    closed = {"properties": {"a": {}}, "additionalProperties": False}
    assert edges._edge_schema({"anyOf": [inner]}, True) == {"anyOf": [closed]}
    assert edges._edge_schema({"items": inner}, True) == {"items": closed}
    assert edges._edge_schema({"items": [inner]}, True) == {"items": [closed]}
    assert edges._edge_schema({"properties": {"p": inner}}, True)["properties"]["p"] == closed


def _ok(lo, hi, lox, hix, m, integer):
    """The validity test the compiler gives _plain_number, written out for the test."""

    def ok(v):
        if integer and not isinstance(v, int):
            return False
        if lo is not None and (v < lo or (lox and v == lo)):
            return False
        if hi is not None and (v > hi or (hix and v == hi)):
            return False
        return m is None or keywords.is_multiple(v, m)

    return ok


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ((None, None, False, False, None, True), [1, 8, 497, 62, 722]),
        ((None, None, False, False, None, False), [0.0, 0.0, 500.0, 896.47, 0.0]),
        ((None, 10, False, False, None, True), [-990, -983, -337, -855, -95]),
        ((None, 11, False, False, None, True), [1, 8, 5, 4, 5]),
        ((None, 10.5, False, False, None, False), [-989.5, -989.5, -489.5, -93.03, -989.5]),
        ((-3, None, False, False, None, True), [-3, 4, 650, 132, 892]),
        ((2.5, 4.5, True, True, None, True), [3, 4, 3, 4, 4]),
        ((2, 5, True, True, None, True), [3, 4, 3, 4, 4]),
        ((2.5, 4.5, False, False, None, True), [3, 4, 3, 4, 4]),
        ((0, 10, False, False, None, False), [0.0, 0.0, 5.0, 8.96, 0.0]),
        (
            (1, 1.001, True, True, None, False),
            [1.0005, 1.0005, 1.0005, 1.00089647468157, 1.0000000000000013],
        ),
        ((0, 100, False, False, 2.5, True), [0, 35, 80, 45, 65]),
        ((0, 9, False, False, 1.5, True), [0, 9, 0, 3, 3]),
        ((1, 2, False, False, 0.25, False), [1.0, 1.5, 1.25, 1.25, 1.25]),
        ((0, 1000, False, False, 0.1, False), [0.0, 0.0, 425.3, 123.7, 731.0]),
        ((1, 6, False, False, 7, False), [7, 7, 7, 7, 7]),
        ((0.25, 0.35, False, False, 0.1, False), [0.3, 0.3, 0.3, 0.3, 0.3]),
        ((None, None, False, False, 3, True), [3, 24, 807, 642, 555]),
        ((-50, -10, False, True, 7, True), [-49, -42, -21, -28, -42]),
        ((0, 0.3, False, False, 0.1, False), [0.0, 0.1, 0.1, 0.0, 0.1]),
    ],
)
def test_plain_numbers_are_pinned_per_draw(bounds, expected):
    """(lo, hi, lo exclusive, hi exclusive, multipleOf, integer) -> the number each draw gives:
    defaults, one-sided ranges, exclusive and fractional bounds, steps and their fallbacks."""
    gen = compiler._plain_number(*bounds, _ok(*bounds))
    draws = [0, 7, 2**52, 0xDEADBEEFCAFEBABE12345, 2**100 + 12345]
    assert [gen(None, r, None) for r in draws] == expected


DIGIT = {"type": "integer", "minimum": 0, "maximum": 9}


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {"type": "array", "items": DIGIT},
            "[[8], [2, 8, 1, 1, 3], [4, 1], [2, 7, 5], [4], [4, 2]]",
        ),
        (
            {"type": "array", "items": DIGIT, "minItems": 2, "maxItems": 4},
            "[[8, 7, 6], [2, 8], [4, 1], [2, 7, 5, 5], [4, 6], [4, 2]]",
        ),
        ({"type": "array", "items": DIGIT, "maxItems": 0}, "[[], [], [], [], [], []]"),
        (
            {
                "type": "array",
                "prefixItems": [{"const": "p"}, {"type": "boolean"}],
                "items": DIGIT,
                "minItems": 3,
            },
            '[["p", true, 6, 2], ["p", false, 1], ["p", true, 2], ["p", true, 5, 5, 1], '
            '["p", false, 6], ["p", false, 8]]',
        ),
        (
            {
                "type": "array",
                "prefixItems": [{"const": "p"}, {"type": "boolean"}],
                "items": False,
                "minItems": 1,
            },
            '[["p", true], ["p", false], ["p"], ["p", true], ["p", false], ["p"]]',
        ),
        (
            {"type": "array", "items": [{"const": "t"}], "additionalItems": DIGIT, "maxItems": 3},
            '[["t", 7], ["t"], ["t"], ["t", 7, 5], ["t"], ["t"]]',
        ),
        (
            {"type": "array", "items": DIGIT, "uniqueItems": True, "minItems": 3, "maxItems": 6},
            "[[8, 7, 6, 2], [2, 8, 1], [4, 1, 2], [2, 7, 5, 1, 4], [4, 6, 3], [4, 2, 8]]",
        ),
        (
            {
                "type": "array",
                "items": DIGIT,
                "contains": {"const": 9},
                "minContains": 2,
                "maxContains": 3,
                "minItems": 4,
            },
            "[[9, 9, 6, 2], [9, 9, 1, 1], [9, 9, 2, 5], [9, 9, 5, 5], [9, 9, 6, 3], [9, 9, 8, 1]]",
        ),
        (
            {
                "type": "array",
                "prefixItems": [{"type": "integer", "maximum": 99}],
                "items": False,
                "contains": {"minimum": 50},
            },
            "[[78], [82], [54], [92], [54], [54]]",
        ),
        (
            {
                "type": "array",
                "items": DIGIT,
                "contains": {"const": 0},
                "minContains": 0,
                "maxContains": 1,
            },
            "[[8], [2], [], [2], [4], []]",
        ),
    ],
)
def test_arrays_are_pinned_per_key(schema, expected):
    """Lengths, tuples, closed tuples, unique items and contains, for six keys each."""
    assert json.dumps([GEN.generate(schema, key=f"k{i}") for i in range(6)]) == expected


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {
                "type": "object",
                "properties": {
                    "a": DIGIT,
                    "b": DIGIT,
                    "c": DIGIT,
                    "d": DIGIT,
                    "e": DIGIT,
                    "f": DIGIT,
                },
                "maxProperties": 2,
            },
            '[{"a": 0, "c": 7}, {"a": 3, "c": 0}, {"a": 2, "b": 2}, {"a": 9, "b": 9}, {"b": 4'
            ', "c": 6}, {"a": 5, "b": 9}]',
        ),
        (
            {
                "type": "object",
                "properties": {
                    "a": DIGIT,
                    "b": DIGIT,
                    "c": DIGIT,
                    "d": DIGIT,
                    "e": DIGIT,
                    "f": DIGIT,
                },
                "required": ["f"],
                "maxProperties": 1,
            },
            '[{"f": 5}, {"f": 6}, {"f": 2}, {"f": 3}, {"f": 3}, {"f": 8}]',
        ),
        (
            {
                "type": "object",
                "properties": {
                    "a": DIGIT,
                    "b": DIGIT,
                    "c": DIGIT,
                    "d": DIGIT,
                    "e": DIGIT,
                    "f": DIGIT,
                },
                "minProperties": 6,
            },
            '[{"a": 0, "c": 7, "d": 1, "e": 0, "f": 5, "b": 4}, {"a": 3, "c": 0, "d": 3, "e":'
            ' 8, "f": 6, "b": 1}, {"a": 2, "b": 2, "d": 2, "f": 2, "c": 9, "e": 2}, {"a": 9, '
            '"b": 9, "c": 0, "d": 7, "e": 5, "f": 3}, {"b": 4, "c": 6, "d": 0, "e": 6, "f": 3'
            ', "a": 7}, {"a": 5, "b": 9, "c": 2, "d": 8, "e": 7, "f": 8}]',
        ),
        (
            {
                "type": "object",
                "properties": {"a": DIGIT},
                "minProperties": 3,
                "additionalProperties": DIGIT,
            },
            '[{"a": 0, "field_0": 4, "field_1": 5}, {"a": 3, "field_0": 1, "field_1": 0}, {"a'
            '": 2, "field_0": 1, "field_1": 2}, {"a": 9, "field_0": 4, "field_1": 5}, {"a": 7'
            ', "field_0": 7, "field_1": 6}, {"a": 5, "field_0": 9, "field_1": 9}]',
        ),
        (
            {
                "type": "object",
                "properties": {
                    "a": DIGIT,
                    "b": DIGIT,
                    "c": DIGIT,
                    "d": DIGIT,
                    "e": DIGIT,
                    "f": DIGIT,
                },
                "dependentRequired": {"a": ["f"], "f": ["zz"]},
                "maxProperties": 3,
                "additionalProperties": DIGIT,
            },
            '[{"a": 0, "f": 5, "zz": 6}, {"a": 3, "f": 6, "zz": 2}, {"a": 2, "f": 2, "zz": 2}'
            ', {"a": 9, "f": 3, "zz": 9}, {"b": 4, "c": 6, "zz": 0}, {"a": 5, "f": 8, "zz": 3'
            "}]",
        ),
        (
            {
                "type": "object",
                "properties": {"x-a": DIGIT, "b": DIGIT},
                "patternProperties": {"^x-": {"maximum": 2}},
            },
            '[{"x-a": 1}, {"x-a": 1}, {"x-a": 2, "b": 2}, {"x-a": 0, "b": 9}, {"x-a": 2, "b":'
            ' 4}, {"x-a": 1, "b": 9}]',
        ),
        (
            {
                "type": "object",
                "patternProperties": {"^[a-c]{2}$": DIGIT},
                "additionalProperties": False,
                "minProperties": 2,
                "maxProperties": 2,
            },
            '[{"ac": 7, "bb": 1}, {"ac": 1, "bb": 9}, {"ac": 7, "bb": 5}, {"ac": 8, "bb": 5},'
            ' {"ac": 4, "bb": 6}, {"ac": 8, "bb": 8}]',
        ),
        (
            {
                "type": "object",
                "required": ["a", "q"],
                "properties": {"a": DIGIT},
                "additionalProperties": {"const": 1},
            },
            '[{"a": 0, "q": 1}, {"a": 3, "q": 1}, {"a": 2, "q": 1}, {"a": 9, "q": 1}, {"a": 7'
            ', "q": 1}, {"a": 5, "q": 1}]',
        ),
        (
            {
                "type": "object",
                "properties": {"a": DIGIT, "b": DIGIT},
                "additionalProperties": False,
                "dependentRequired": {"a": ["b"]},
                "maxProperties": 1,
            },
            '[{"b": 4}, {"b": 1}, {"b": 2}, {"b": 9}, {"b": 4}, {"b": 9}]',
        ),
    ],
)
def test_objects_are_pinned_per_key(schema, expected):
    """Property counts, dependencies, pattern and additional properties, for six keys each."""
    assert json.dumps([GEN.generate(schema, key=f"k{i}") for i in range(6)]) == expected


def test_an_unknown_type_names_itself_the_schema_and_the_choices():
    """The message quotes the type and the first 200 characters of the schema."""
    schema = {"type": "text", "description": "d" * 300}
    with pytest.raises(ConfigError) as err:
        Generator().generate(schema, key="k")
    assert err.value.message == f"Unknown JSON Schema type 'text' in {json.dumps(schema)[:200]}."
    assert err.value.hint == "Use one of: string, integer, number, boolean, object, array, null."


def test_booleans_come_from_the_lowest_bit():
    """A boolean is bit 0 of the field's draw."""
    keys = [str(i) for i in range(50)]
    assert [GEN.generate({"type": "boolean"}, key=k) for k in keys] == [
        bool(_draw(7, k) & 1) for k in keys
    ]
