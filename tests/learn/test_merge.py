"""Canonical schemas and their merging (backworks_cli.learn.merge): key order, type groups,
and what a merge keeps, widens or drops. Key order is part of the contract (it is the order
backworks.yaml is written in), so some checks compare `json.dumps` texts."""

from __future__ import annotations

import json
from collections import OrderedDict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from backworks_cli.learn.merge import (
    assemble,
    merge_schemas,
    ordered,
    plain_json,
    same_json,
    schema_key,
)
from backworks_cli.learn.values import ENUM_MAX


def text(schema) -> str:
    """A schema as text, key order included."""
    return json.dumps(schema)


# --- same_json and plain_json -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (1, 1, True),
        (1, 1.0, False),
        (1, True, False),
        (0, False, False),
        (None, None, True),
        ("a", "a", True),
        ("1", 1, False),
        ([1, [2.0]], [1, [2.0]], True),
        ([1, [2]], [1, [2.0]], False),
        ([1], [1, 1], False),
        ([1, 1], [1], False),
        ({"a": 1}, {"a": 1}, True),
        ({"a": 1}, {"a": 1.0}, False),
        ({"a": 1}, {"b": 1}, False),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ({"a": {"b": [True]}}, {"a": {"b": [1]}}, False),
        ({}, [], False),
    ],
)
def test_same_json_tells_apart_values_written_differently(a, b, same):
    """1, 1.0 and True are equal in Python but written differently, so they are not the same."""
    assert same_json(a, b) is same
    assert same_json(b, a) is same


class Text(str):
    pass


class Count(int):
    pass


class Ratio(float):
    pass


def test_plain_json_makes_plain_containers_keys_and_scalars():
    """YAML round-trip types (subclasses, non-string keys) become plain JSON types."""
    value = OrderedDict(
        [(1, Text("a")), ("n", [Count(3), Ratio(0.5), True, None, {"deep": Text("x")}])]
    )
    plain = plain_json(value)
    assert plain == {"1": "a", "n": [3, 0.5, True, None, {"deep": "x"}]}
    assert type(plain) is dict and type(plain["1"]) is str
    kinds = [type(v) for v in plain["n"]]
    assert kinds == [int, float, bool, type(None), dict]
    assert type(plain["n"][4]["deep"]) is str
    assert plain_json(False) is False and plain_json(Count(0)) == 0


# --- canonical order --------------------------------------------------------------------------


def test_schema_keys_sort_common_ones_first_then_by_name():
    """The common keywords come in a fixed order, every other one after them by name."""
    keys = ["zeta", "anyOf", "items", "type", "$ref", "enum", "format", "required", "maxItems"]
    assert sorted(keys, key=schema_key) == [
        "type",
        "format",
        "enum",
        "maxItems",
        "required",
        "items",
        "anyOf",
        "$ref",
        "zeta",
    ]


def test_ordered_orders_keys_and_properties_recursively():
    """Keys, property names and the schemas under them all come out in canonical order."""
    schema = {
        "properties": {"b": {"maximum": 2, "type": "integer"}, "a": {"type": "string"}},
        "required": ["b", "a"],
        "type": "object",
        "additionalProperties": {"format": "date", "type": "string"},
    }
    assert text(ordered(schema)) == text(
        {
            "type": "object",
            "required": ["b", "a"],
            "properties": {"a": {"type": "string"}, "b": {"type": "integer", "maximum": 2}},
            "additionalProperties": {"type": "string", "format": "date"},
        }
    )


@pytest.mark.parametrize("key", ["items", "additionalProperties", "not", "contains"])
def test_ordered_orders_a_subschema(key):
    """Keywords that hold one schema have that schema ordered too."""
    assert text(ordered({key: {"minimum": 1, "type": "integer"}})) == text(
        {key: {"type": "integer", "minimum": 1}}
    )
    assert ordered({key: True}) == {key: True}


@pytest.mark.parametrize("key", ["anyOf", "oneOf", "allOf", "prefixItems"])
def test_ordered_orders_a_list_of_subschemas(key):
    """Keywords that hold a list of schemas have each of them ordered."""
    schema = {key: [{"minimum": 1, "type": "integer"}, {"format": "uuid", "type": "string"}]}
    assert text(ordered(schema)) == text(
        {key: [{"type": "integer", "minimum": 1}, {"type": "string", "format": "uuid"}]}
    )


def test_ordered_leaves_values_that_are_not_schemas_alone():
    """Annotations and malformed values are kept exactly as written, order included."""
    schema = {
        "x-size": {"min": 1, "max": 2},
        "default": {"z": 1, "a": [{"type": "q", "b": 0}]},
        "examples": [{"b": 1, "a": 2}],
        "properties": ["not", "a", "mapping"],
        "anyOf": {"not": "a list"},
    }
    out = ordered(schema)
    assert out == schema
    assert list(out) == ["properties", "anyOf", "default", "examples", "x-size"]
    assert text(out["x-size"]) == text(schema["x-size"])
    assert text(out["default"]) == text(schema["default"])
    assert text(out["examples"]) == text(schema["examples"])


def test_assemble_puts_groups_in_a_fixed_order():
    """No group gives the top keys alone, one group takes the top keys it lacks, several
    become anyOf in the order scalar, object, array."""
    top = {"description": "d", "type": "ignored"}
    assert assemble({}, {"description": "d"}) == {"description": "d"}
    single = assemble({"array": {"type": "array", "maxItems": 1}}, top)
    assert text(single) == text({"type": "array", "maxItems": 1, "description": "d"})
    groups = {
        "array": {"type": "array"},
        "object": {"properties": {}, "type": "object"},
        "scalar": {"type": "string"},
    }
    many = assemble(groups, {"description": "d"})
    assert text(many) == text(
        {
            "anyOf": [{"type": "string"}, {"type": "object", "properties": {}}, {"type": "array"}],
            "description": "d",
        }
    )


# --- merging: what accepts anything or nothing ------------------------------------------------


def test_true_and_empty_schemas_accept_anything_and_false_nothing():
    """`true` and `{}` absorb the other side; `false` adds nothing to it."""
    string = {"type": "string", "minLength": 1}
    assert merge_schemas(True, string) == {}
    assert merge_schemas(string, True) == {}
    assert merge_schemas({}, string) == {}
    assert merge_schemas(False, string) == string
    assert merge_schemas(string, False) == string
    assert merge_schemas({"description": "kept"}, string) == {"description": "kept"}


def test_an_any_value_alternative_makes_the_merge_accept_anything():
    """anyOf with an alternative that accepts anything accepts anything."""
    old = {"anyOf": [{"type": "string"}, {}], "description": "d"}
    assert merge_schemas(old, {"type": "integer"}) == {"description": "d"}


# --- merging: annotations ---------------------------------------------------------------------

ANNOTATIONS = [
    "title",
    "description",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
    "contentMediaType",
    "contentEncoding",
    "$id",
    "$anchor",
    "x-semantic",
]


@pytest.mark.parametrize("key", ANNOTATIONS)
def test_an_annotation_comes_from_the_old_schema_else_the_new(key):
    """User edits to descriptive keys survive; a description only the new side has is added."""
    old = {"type": "integer", "minimum": 1, key: "old"}
    new = {"type": "integer", "minimum": 0, key: "new"}
    assert merge_schemas(old, new) == {"type": "integer", "minimum": 0, key: "old"}
    bare = {"type": "integer", "minimum": 1}
    assert merge_schemas(bare, new) == {"type": "integer", "minimum": 0, key: "new"}
    assert merge_schemas(old, {"type": "integer"}) == {"type": "integer", key: "old"}


@pytest.mark.parametrize("key", ANNOTATIONS)
def test_an_annotation_of_a_union_stays_outside_its_groups(key):
    """On a schema of several kinds, an annotation describes the whole, not one group."""
    old = {"type": ["string", "object"], key: "old"}
    new = {"type": ["array", "object"], key: "new"}
    assert merge_schemas(old, new) == {
        "anyOf": [{"type": "string"}, {"type": "object"}, {"type": "array"}],
        key: "old",
    }


def test_sizes_are_widened():
    """x-size (the byte sizes of bodies) widens like a bound; without a number it is unknown."""
    old = {"type": "string", "x-size": {"min": 5, "max": 9}}
    new = {"type": "string", "format": "binary", "x-size": {"min": 2, "max": 7}}
    assert merge_schemas(old, new)["x-size"] == {"min": 2, "max": 9}
    assert merge_schemas(new, old)["x-size"] == {"min": 2, "max": 9}
    unknown = {"type": "string", "x-size": {"max": 3}}
    assert merge_schemas(old, unknown)["x-size"] == {"min": None, "max": 9}
    assert merge_schemas(old, {"type": "integer"})["x-size"] == {"min": 5, "max": 9}
    assert merge_schemas({"type": "integer"}, new)["x-size"] == {"min": 2, "max": 7}
    odd = {"type": "string", "x-size": "large"}
    assert merge_schemas(odd, new)["x-size"] == "large"


# --- merging: type groups ---------------------------------------------------------------------

OBJECT = {
    "properties": {"a": {"type": "string"}},
    "required": ["a"],
    "additionalProperties": False,
    "patternProperties": {"^x": {"type": "integer"}},
    "minProperties": 1,
    "maxProperties": 9,
    "propertyNames": {"maxLength": 8},
    "dependentRequired": {"a": ["b"]},
    "unevaluatedProperties": False,
}
ARRAY = {
    "items": {"type": "integer"},
    "minItems": 1,
    "maxItems": 4,
    "uniqueItems": True,
    "prefixItems": [{"type": "integer"}],
    "contains": {"type": "integer"},
    "minContains": 1,
    "maxContains": 3,
    "unevaluatedItems": False,
}


def test_a_schema_of_several_types_is_cut_into_groups_by_keyword():
    """Each keyword of a multi-type schema goes to the group of the type it constrains."""
    old = {
        "type": ["string", "object", "array", "null"],
        "minLength": 1,
        "pattern": "^a",
        "description": "mixed",
        **OBJECT,
        **ARRAY,
    }
    new = {**old, "description": "changed"}
    merged = merge_schemas(old, new)
    assert merged == {
        "anyOf": [
            {"type": ["null", "string"], "minLength": 1, "pattern": "^a"},
            {"type": "object", **OBJECT},
            {"type": "array", **ARRAY},
        ],
        "description": "mixed",
    }
    assert text(merged) == text(ordered(merged))


def test_alternatives_of_the_same_kind_are_merged():
    """anyOf alternatives of one kind become one group, bounds widened, the rest kept."""
    old = {
        "anyOf": [{"type": "string", "maxLength": 3}, {"type": "integer", "minimum": 1}],
        "description": "d",
    }
    assert merge_schemas(old, {"type": "integer", "minimum": 0}) == {
        "type": ["integer", "string"],
        "minimum": 0,
        "maxLength": 3,
        "description": "d",
    }


def test_the_notes_of_a_multi_type_alternative_go_to_each_of_its_groups():
    """An alternative's annotation stays with the groups it described."""
    old = {"anyOf": [{"type": ["string", "object"], "description": "alt", "properties": {}}]}
    assert merge_schemas(old, {"type": "null"}) == {
        "anyOf": [
            {"type": ["null", "string"], "description": "alt"},
            {"type": "object", "properties": {}, "description": "alt"},
        ]
    }
    keyed = {"anyOf": [{"type": ["string", "object"], "title": "alt"}, {"type": "string"}]}
    assert merge_schemas(keyed, {"type": "string", "title": "one"}) == {
        "anyOf": [{"type": "string", "title": "alt"}, {"type": "object", "title": "alt"}]
    }


def test_keywords_beside_anyof_are_kept_only_when_both_sides_agree():
    """A constraint next to anyOf is kept when both schemas have it equal, else dropped."""
    old = {"anyOf": [{"type": "string"}, {"type": "object"}], "not": {"const": 3}, "$defs": {}}
    new = {"anyOf": [{"type": "string"}, {"type": "array"}], "not": {"const": 3}, "$defs": []}
    assert merge_schemas(old, new) == {
        "anyOf": [{"type": "string"}, {"type": "object"}, {"type": "array"}],
        "not": {"const": 3},
    }
    lone = {"anyOf": [{"type": "string"}, {"type": "array"}], "minProperties": 1}
    assert "minProperties" not in merge_schemas(old, lone)


def test_alternatives_written_again_are_not_kept_beside_their_merge():
    """The anyOf that was cut into groups is not carried next to them as a keyword."""
    alternatives = [{"type": "string"}, {"type": "integer"}]
    old = {"anyOf": alternatives, "description": "a"}
    new = {"anyOf": alternatives, "description": "b"}
    assert merge_schemas(old, new) == {"type": ["integer", "string"], "description": "a"}


def test_a_malformed_anyof_is_a_constraint_like_any_other():
    """anyOf that is not a list is not read as alternatives, so it cannot break a merge."""
    old = {"type": "string", "anyOf": 5, "minLength": 1}
    assert merge_schemas(old, {"type": "string", "minLength": 2}) == {
        "type": "string",
        "minLength": 1,
    }
    assert merge_schemas(old, {**old, "minLength": 3})["anyOf"] == 5


# --- merging: objects -------------------------------------------------------------------------


def test_objects_unite_properties_and_intersect_required():
    """Properties from both sides (merged when both have one); required only when both say so."""
    old = {
        "type": "object",
        "required": ["a", "b", "c"],
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}, "c": {}},
        "minProperties": 1,
    }
    new = {
        "type": "object",
        "required": ["c", "a"],
        "properties": {"a": {"type": "number"}, "c": {}, "d": {"type": "null"}},
        "minProperties": 1,
    }
    merged = merge_schemas(old, new)
    assert text(merged) == text(
        {
            "type": "object",
            "required": ["a", "c"],
            "properties": {
                "a": {"type": "number"},
                "b": {"type": "string"},
                "c": {},
                "d": {"type": "null"},
            },
            "minProperties": 1,
        }
    )


def test_properties_of_one_side_are_kept_and_empty_required_is_dropped():
    """An object without properties adds none; an empty required list is not written."""
    with_props = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": []}
    bare = {"type": "object", "required": []}
    assert merge_schemas(with_props, bare) == {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
    }
    assert merge_schemas(bare, with_props) == {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
    }
    assert merge_schemas(bare, {"type": "object", "required": ["a"]}) == {"type": "object"}


# --- merging: arrays --------------------------------------------------------------------------


def test_array_bounds_widen_the_same_either_way_round():
    """minItems takes the smaller, maxItems the larger, whichever side has which."""
    a = {"type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 5}
    b = {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2}
    expected = {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 5}
    assert merge_schemas(a, b) == expected
    assert merge_schemas(b, a) == expected
    assert merge_schemas(a, {"type": "array", "items": {"type": "integer"}}) == {
        "type": "array",
        "items": {"type": "integer"},
    }


def test_items_merge_and_survive_only_against_arrays_known_to_be_empty():
    """Items of one side stay when the other only saw empty arrays; else the items are unknown."""
    full = {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2}
    empty = {"type": "array", "minItems": 0, "maxItems": 0}
    expected = {"type": "array", "items": {"type": "string"}, "minItems": 0, "maxItems": 2}
    assert merge_schemas(full, empty) == expected
    assert merge_schemas(empty, full) == expected
    one = {"type": "array", "minItems": 1, "maxItems": 1}
    assert merge_schemas(full, one) == {"type": "array", "minItems": 1, "maxItems": 2}
    assert merge_schemas(one, full) == {"type": "array", "minItems": 1, "maxItems": 2}
    other = {"type": "array", "items": {"type": "integer", "minimum": 2}}
    assert merge_schemas(full, other)["items"] == {"type": ["integer", "string"], "minimum": 2}


def test_odd_bounds_are_dropped():
    """A bound that is not a number cannot be widened, so it is not kept."""
    a = {"type": "array", "minItems": "1", "maxItems": 3}
    b = {"type": "array", "minItems": "1", "maxItems": 4}
    assert merge_schemas(a, b) == {"type": "array", "maxItems": 4}


# --- merging: scalars -------------------------------------------------------------------------


def test_scalar_types_unite_and_number_absorbs_integer():
    """Types are united; number includes integer; one type is written as a string."""
    assert merge_schemas({"type": "integer"}, {"type": "number"}) == {"type": "number"}
    assert merge_schemas({"type": ["integer", "null"]}, {"type": "number"}) == {
        "type": ["null", "number"]
    }
    assert merge_schemas({"type": "string", "minLength": 1}, {"type": "string"}) == {
        "type": "string"
    }
    assert merge_schemas({"type": "boolean"}, {"type": "string"}) == {"type": ["boolean", "string"]}


def test_formats_of_strings():
    """A format is kept when both strings have it, or when only one side is a string."""
    date = {"type": "string", "format": "date"}
    assert merge_schemas(date, {"type": "string", "format": "date", "maxLength": 10}) == date
    assert merge_schemas(date, {"type": "string", "format": "uuid"}) == {"type": "string"}
    assert merge_schemas(date, {"type": "string"}) == {"type": "string"}
    assert merge_schemas({"type": "string"}, date) == {"type": "string"}
    assert merge_schemas(date, {"type": "null"}) == {"type": ["null", "string"], "format": "date"}
    assert merge_schemas({"type": "null"}, date) == {"type": ["null", "string"], "format": "date"}
    plain = {"type": "string", "minLength": 1}
    assert merge_schemas(plain, {"type": "integer"}) == {
        "type": ["integer", "string"],
        "minLength": 1,
    }
    assert merge_schemas({"type": "integer"}, plain) == {
        "type": ["integer", "string"],
        "minLength": 1,
    }


def test_bounds_apply_to_the_types_they_concern():
    """Numeric bounds come from the numeric side, length bounds from the string side."""
    number = {"type": "integer", "minimum": 1, "maximum": 9}
    string = {"type": "string", "minLength": 2, "maxLength": 4}
    expected = {
        "type": ["integer", "string"],
        "minimum": 1,
        "maximum": 9,
        "minLength": 2,
        "maxLength": 4,
    }
    assert merge_schemas(number, string) == expected
    assert merge_schemas(string, number) == expected
    floats = {"type": "number", "minimum": -0.5}
    assert merge_schemas(floats, string) == {
        "type": ["number", "string"],
        "minimum": -0.5,
        "minLength": 2,
        "maxLength": 4,
    }
    assert merge_schemas(string, floats)["minimum"] == -0.5
    both = merge_schemas(
        {"type": "string", "minLength": 3, "maxLength": 5},
        {"type": "string", "minLength": 1, "maxLength": 8},
    )
    assert both == {"type": "string", "minLength": 1, "maxLength": 8}
    wide = merge_schemas({"type": "number", "minimum": 10**30}, {"type": "integer", "maximum": 7})
    assert wide == {"type": "number"}


def test_a_bound_on_a_type_it_does_not_concern_is_dropped():
    """Length bounds of numbers and numeric bounds of strings constrain nothing; not kept."""
    a = {"type": "string", "minimum": 0, "maxLength": 3}
    b = {"type": "string", "minimum": 0, "maxLength": 5}
    assert merge_schemas(a, b) == {"type": "string", "maxLength": 5}
    c = {"type": "integer", "minLength": 0, "maximum": 3}
    d = {"type": "integer", "minLength": 0, "maximum": 5}
    assert merge_schemas(c, d) == {"type": "integer", "maximum": 5}


def test_other_scalar_keywords_are_kept_when_both_sides_agree():
    """pattern, multipleOf and the like survive only when both schemas have them equal."""
    a = {"type": "string", "pattern": "^a", "maxLength": 3, "x-semantic": "code"}
    b = {"type": "string", "pattern": "^a", "maxLength": 4}
    assert merge_schemas(a, b) == {
        "type": "string",
        "x-semantic": "code",
        "maxLength": 4,
        "pattern": "^a",
    }
    assert "pattern" not in merge_schemas(a, {**b, "pattern": "^b"})
    assert "pattern" not in merge_schemas(a, {"type": "string"})
    assert "multipleOf" not in merge_schemas(
        {"type": "integer", "multipleOf": 2}, {"type": "integer", "multipleOf": 2.0}
    )


# --- merging: enums ---------------------------------------------------------------------------


def test_enums_unite_up_to_the_limit():
    """Enums are united in order; one that would pass ENUM_MAX values is dropped."""
    first = [f"v{i}" for i in range(ENUM_MAX - 3)]
    fill = [f"w{i}" for i in range(3)]
    grown = merge_schemas({"type": "string", "enum": first}, {"type": "string", "enum": fill})
    assert grown == {"type": "string", "enum": first + fill}
    assert len(grown["enum"]) == ENUM_MAX
    over = merge_schemas(
        {"type": "string", "enum": first}, {"type": "string", "enum": [*fill, "x"]}
    )
    assert over == {"type": "string"}
    same = merge_schemas({"type": "string", "enum": ["a", 1]}, {"type": "integer", "enum": [1]})
    assert same == {"type": ["integer", "string"], "enum": ["a", 1]}
    integer, boolean = {"enum": [1], "type": "integer"}, {"enum": [True], "type": "boolean"}
    told_apart = merge_schemas(integer, boolean)
    assert told_apart["enum"] == [1, True]


def test_an_edited_long_enum_survives_evidence_it_already_covers():
    """A user's enum longer than ENUM_MAX is kept when the new values are all in it."""
    long = {"type": "string", "enum": [f"c{i}" for i in range(ENUM_MAX + 4)]}
    assert merge_schemas(long, {"type": "string", "enum": ["c1", "c3"]}) == long
    assert "enum" not in merge_schemas(long, {"type": "string", "enum": ["new"]})


def test_an_enum_meeting_null_takes_null_and_other_types_drop_it():
    """null joins an enum as None (once); any other type, or a side without enum, drops it."""
    enum = {"type": "string", "enum": ["a", "b"]}
    nullable = {"type": ["null", "string"], "enum": ["a", "b", None]}
    assert merge_schemas(enum, {"type": "null"}) == nullable
    assert merge_schemas({"type": "null"}, enum) == nullable
    assert merge_schemas(nullable, {"type": "null", "description": "x"}) == {
        **nullable,
        "description": "x",
    }
    assert merge_schemas(enum, {"type": "integer"}) == {"type": ["integer", "string"]}
    assert merge_schemas(enum, {"type": "string"}) == {"type": "string"}
    assert merge_schemas({"type": "string"}, {"type": "null"}) == {"type": ["null", "string"]}


# --- properties -------------------------------------------------------------------------------

notes = {"description": st.text(max_size=5), "x-semantic": st.sampled_from(["email", "price"])}
scalar_schemas = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={
            "minLength": st.integers(0, 5),
            "maxLength": st.integers(5, 50),
            "format": st.sampled_from(["date", "uuid", "email"]),
            "enum": st.lists(st.text(max_size=3), min_size=1, max_size=5, unique=True),
            **notes,
        },
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["integer", "number"])},
        optional={
            "minimum": st.integers(-(10**20), 10**20),
            "maximum": st.floats(allow_nan=False, allow_infinity=False),
            **notes,
        },
    ),
    st.fixed_dictionaries({"type": st.sampled_from(["boolean", "null"])}, optional=notes),
)
schemas = st.recursive(
    scalar_schemas | st.just({}),
    lambda inner: st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("object")},
            optional={
                "properties": st.dictionaries(
                    st.sampled_from(["id", "é", "名前", ""]), inner, min_size=1
                ),
                "required": st.lists(st.sampled_from(["id", "é"]), min_size=1, unique=True),
            },
        ),
        st.fixed_dictionaries(
            {"type": st.just("array")},
            optional={"items": inner, "minItems": st.integers(0, 3), "maxItems": st.integers(3, 9)},
        ),
        st.lists(inner, min_size=2, max_size=3).map(lambda alts: {"anyOf": alts}),
    ),
    max_leaves=6,
).map(ordered)  # as backworks.yaml holds them


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schemas, schemas)
def test_a_merge_is_canonical_plain_and_stable(old, new):
    """A merge of canonical schemas is a valid schema in canonical order, plain JSON, and
    merging it again with the new side, or with itself, changes nothing."""
    merged = merge_schemas(old, new)
    Draft202012Validator.check_schema(merged)
    assert text(merged) == text(ordered(merged))
    assert json.loads(text(merged)) == merged
    assert merge_schemas(merged, merged) == merged
    assert merge_schemas(merged, new) == merged
