"""The generator honours the JSON Schema keywords real specs use: tuples, contains, pattern and
additional properties, not, conditionals, combinators, property counts, dependencies, formats,
patterns and numeric bounds; generated and edge-case values validate and repeat per key."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from backworks_cli.learn.generate import Generator

GEN = Generator(seed=5)
KEYS = [f"k{i}" for i in range(40)]


def _checker() -> FormatChecker:
    """jsonschema's 2020-12 format checks plus uri, whose checker needs a package not installed."""
    checker = FormatChecker()
    checker.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)

    @checker.checks("uri")
    def uri(value):
        if not isinstance(value, str):
            return True
        parts = urlparse(value)
        return bool(parts.scheme and parts.netloc) and " " not in value

    return checker


CHECKER = _checker()


def errors(schema, value) -> list[str]:
    validator = Draft202012Validator(schema, format_checker=CHECKER)
    return [e.message for e in validator.iter_errors(value)]


def values(schema, keys=KEYS) -> list:
    return [GEN.generate(schema, key=k) for k in keys]


def assert_all_valid(schema, keys=KEYS) -> list:
    """Every key's generated value validates; the values are returned for further checks."""
    out = values(schema, keys)
    bad = [(v, errors(schema, v)) for v in out if errors(schema, v)]
    assert not bad, bad[:3]
    return out


def json_type(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


# ---------------------------------------------------------------------------------------------
# A strategy of satisfiable schemas: each is drawn with a witness value that validates


FORMAT_WITNESSES = {
    "date-time": "2024-02-29T12:30:00Z",
    "date": "2024-02-29",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "email": "ada@example.com",
    "uri": "https://example.com/a/b",
    "ipv4": "192.168.10.1",
}
PATTERN_WITNESSES = {
    r"^[A-Z]{3}$": "EUR",
    r"^\+?[1-9]\d{1,14}$": "+4930123456",
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$": "hello-world",
    r"^\d{4}-\d{2}-\d{2}$": "2024-01-31",
    r"^#[0-9a-fA-F]{6}$": "#A0b1C2",
    r"^v\d+\.\d+\.\d+$": "v1.2.3",
    r"^[A-Za-z0-9_-]{8,32}$": "abc_DEF-12",
    r"^(ORD|INV)-\d{6}$": "INV-000042",
}
NAMES = ["id", "name", "email", "tags", "meta", "count", "price", "at", "kind", "note"]
subsets = st.lists  # readability: st.lists(st.sampled_from(xs), unique=True) is a subset


@st.composite
def strings(draw):
    """A string schema built around a witness: format, pattern, lengths, enum or const."""
    kind = draw(st.sampled_from(["format", "pattern", "length", "enum", "const", "plain"]))
    if kind == "format":
        fmt = draw(st.sampled_from(sorted(FORMAT_WITNESSES)))
        return {"type": "string", "format": fmt}, FORMAT_WITNESSES[fmt]
    if kind == "pattern":
        pattern = draw(st.sampled_from(sorted(PATTERN_WITNESSES)))
        return {"type": "string", "pattern": pattern}, PATTERN_WITNESSES[pattern]
    if kind == "length":
        n = draw(st.integers(0, 30))
        s = {"type": "string", "minLength": n - draw(st.integers(0, n))}
        if draw(st.booleans()):
            s["maxLength"] = n + draw(st.integers(0, 10))
        return s, "x" * n
    options = draw(st.lists(st.text(max_size=8), min_size=1, max_size=4, unique=True))
    if kind == "enum":
        return {"type": "string", "enum": options}, options[0]
    if kind == "const":
        return {"const": options[0]}, options[0]
    return {"type": "string"}, "plain"


@st.composite
def integers(draw):
    """An integer schema around a witness: multipleOf, inclusive or exclusive bounds."""
    m = draw(st.sampled_from([None, 1, 2, 3, 5, 10, 25]))
    w = draw(st.integers(-1000, 1000)) * (m or 1)
    s: dict = {"type": "integer"}
    if m:
        s["multipleOf"] = m
    below, above = draw(st.integers(0, 500)), draw(st.integers(0, 500))
    bound = draw(st.sampled_from(["none", "inclusive", "exclusive", "mixed"]))
    if bound in ("inclusive", "mixed"):
        s["minimum"] = w - below
    if bound == "inclusive":
        s["maximum"] = w + above
    if bound in ("exclusive", "mixed"):
        s["exclusiveMaximum"] = w + above + 1
    if bound == "exclusive":
        s["exclusiveMinimum"] = w - below - 1
    return s, w


@st.composite
def numbers(draw):
    """A number schema around a witness: binary-exact steps anywhere, 0.1 and 0.01 around 0."""
    m = draw(st.sampled_from([None, 0.5, 0.25, 2.5, 0.1, 0.01]))
    w = 0 if m in (0.1, 0.01) else draw(st.integers(-400, 400)) * (m or 0.125)
    s: dict = {"type": "number"}
    if m:
        s["multipleOf"] = m
    width = 1 + draw(st.integers(0, 200)) * (m or 1)
    if draw(st.booleans()):
        s["exclusiveMinimum"] = w - width
    else:
        s["minimum"] = w
    if draw(st.booleans()):
        s["exclusiveMaximum"] = w + width
    return s, w


@st.composite
def negations(draw):
    """`not` that rules out values the rest of the schema allows often."""
    kind = draw(st.sampled_from(["const", "enum", "null", "pattern"]))
    if kind == "const":
        lo = draw(st.integers(-5, 5))
        banned = lo + draw(st.integers(0, 2))
        witness = lo if banned != lo else lo + 3
        return {
            "type": "integer",
            "minimum": lo,
            "maximum": lo + 3,
            "not": {"const": banned},
        }, witness
    if kind == "enum":
        return {"enum": ["a", "b", "c", "d"], "not": {"enum": ["a", "b"]}}, "c"
    if kind == "null":
        return {"type": ["string", "null"], "not": {"type": "null"}}, "s"
    return {"type": "string", "pattern": "^[ab]{1,3}$", "not": {"pattern": "^a"}}, "ba"


SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4)
OTHERS = st.one_of(
    st.just(({"type": "boolean"}, True)),
    st.just(({"type": "null"}, None)),
    SCALARS.map(lambda v: ({"const": v}, v)),
    st.lists(SCALARS, min_size=1, max_size=4, unique_by=json.dumps).map(
        lambda v: ({"enum": v}, v[-1])
    ),
    st.just(({}, "anything")),
)


def _nullable(pair):
    s, w = pair
    return {**s, "type": [s["type"], "null"]}, w


LEAVES = st.one_of(
    strings(),
    integers(),
    numbers(),
    negations(),
    OTHERS,
    (strings().filter(lambda p: "type" in p[0]) | integers()).map(_nullable),
)


@st.composite
def objects(draw, children):
    """Properties, required, closed or schema'd extras, patternProperties, dependentRequired,
    minProperties and maxProperties, all around one witness object."""
    names = draw(subsets(st.sampled_from(NAMES), unique=True, max_size=4))
    pairs = {n: draw(children) for n in names}
    props = {n: s for n, (s, _) in pairs.items()}
    schema: dict = {"type": "object", "properties": props}
    required = draw(subsets(st.sampled_from(names), unique=True)) if names else []
    if required:
        schema["required"] = required
    present = (
        set(required) | set(draw(subsets(st.sampled_from(names), unique=True))) if names else set()
    )
    extras = draw(st.sampled_from(["open", "closed", "schema"]))
    witness = {}
    if extras == "closed":
        schema["additionalProperties"] = False
    elif extras == "schema":
        extra_s, extra_w = draw(children)
        schema["additionalProperties"] = extra_s
        if draw(st.booleans()):
            witness["extra"] = extra_w
    if len(names) >= 2 and draw(st.booleans()):
        trigger, dependent = draw(st.permutations(names))[:2]
        schema["dependentRequired"] = {trigger: [dependent]}
        if trigger in present:
            present.add(dependent)
    if draw(st.booleans()):
        pattern_s, pattern_w = draw(children)
        schema["patternProperties"] = {"^x-": pattern_s}
        if draw(st.booleans()):
            props["x-trace"] = {"type": [json_type(pattern_w)]}
            witness["x-trace"] = pattern_w
    witness.update({n: pairs[n][1] for n in names if n in present})
    count = len(witness)
    if draw(st.booleans()):
        schema["minProperties"] = draw(st.integers(0, count))
    if draw(st.booleans()):
        schema["maxProperties"] = count + draw(st.integers(0, 2))
    return schema, witness


@st.composite
def maps(draw, children):
    """A closed map whose keys only patternProperties allow, with a size range."""
    value_s, value_w = draw(children)
    k = draw(st.integers(0, 3))
    schema = {
        "type": "object",
        "patternProperties": {"^[a-z]{2,8}$": value_s},
        "additionalProperties": False,
        "minProperties": k,
    }
    if draw(st.booleans()):
        schema["maxProperties"] = k + draw(st.integers(0, 2))
    return schema, {name: value_w for name in ["ab", "cd", "ef"][:k]}


@st.composite
def conditionals(draw, children):
    """if/then/else on a discriminator: card payments carry a card, others an IBAN."""
    card_s, card_w = draw(children)
    schema = {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": ["card", "bank", "cash"]}},
        "if": {"properties": {"kind": {"const": "card"}}},
        "then": {"required": ["card"], "properties": {"card": card_s}},
        "else": {
            "required": ["iban"],
            "properties": {"iban": {"type": "string", "pattern": r"^[A-Z]{2}\d{2}[A-Z0-9]{4,20}$"}},
        },
    }
    if draw(st.booleans()):
        schema = {"allOf": [{"type": "object"}, schema]}
    return schema, {"kind": "card", "card": card_w}


@st.composite
def arrays(draw, children):
    """items with minItems/maxItems (and uniqueItems when the witness allows)."""
    item_s, item_w = draw(children)
    n = draw(st.integers(0, 3))
    schema = {"type": "array", "items": item_s}
    if draw(st.booleans()):
        schema["minItems"] = n - draw(st.integers(0, n))
    if draw(st.booleans()):
        schema["maxItems"] = n + draw(st.integers(0, 3))
    if n <= 1 and draw(st.booleans()):
        schema["uniqueItems"] = True
    return schema, [item_w] * n


@st.composite
def tuples(draw, children):
    """prefixItems with closed, open or schema'd rest."""
    prefix = draw(st.lists(children, min_size=1, max_size=3))
    schema = {"type": "array", "prefixItems": [s for s, _ in prefix]}
    rest = draw(st.sampled_from(["open", "closed", "schema"]))
    witness = [w for _, w in prefix]
    if rest == "closed":
        schema["items"] = False
    elif rest == "schema":
        rest_s, rest_w = draw(children)
        schema["items"] = rest_s
        witness.append(rest_w)
    if draw(st.booleans()):
        schema["minItems"] = draw(st.integers(0, len(witness)))
    return schema, witness


@st.composite
def containing(draw, children):
    """contains with minContains/maxContains, its witness items counted by the validator."""
    want_s, want_w = draw(children)
    filler_s, filler_w = draw(children)
    fills = not Draft202012Validator(want_s).is_valid(filler_w)
    low = draw(st.integers(0, 2))
    schema = {"type": "array", "contains": want_s}
    if low != 1 or draw(st.booleans()):
        schema["minContains"] = low
    if draw(st.booleans()):
        schema["maxContains"] = low + draw(st.integers(0, 1))
    witness = [want_w] * low
    if fills:
        schema["items"] = {"anyOf": [want_s, filler_s]}
        witness += [filler_w] * draw(st.integers(0, 2))
    if draw(st.booleans()):
        schema["minItems"] = draw(st.integers(0, len(witness)))
    if draw(st.booleans()):
        schema["maxItems"] = len(witness) + draw(st.integers(0, 2))
    return schema, witness


@st.composite
def unions(draw, children):
    """anyOf of anything; oneOf of discriminated objects or of overlapping integer steps."""
    kind = draw(st.sampled_from(["anyOf", "oneOf-objects", "oneOf-steps", "allOf"]))
    if kind == "anyOf":
        branches = draw(st.lists(children, min_size=1, max_size=3))
        return {"anyOf": [s for s, _ in branches]}, branches[-1][1]
    if kind == "oneOf-objects":
        a_s, a_w = draw(children)
        b_s, _ = draw(children)
        cat = {
            "type": "object",
            "required": ["pet"],
            "properties": {"pet": {"const": "cat"}, "a": a_s},
        }
        dog = {
            "type": "object",
            "required": ["pet"],
            "properties": {"pet": {"const": "dog"}, "b": b_s},
        }
        return {"oneOf": [cat, dog]}, {"pet": "cat", "a": a_w}
    if kind == "oneOf-steps":
        return {
            "oneOf": [{"type": "integer", "multipleOf": 2}, {"type": "integer", "multipleOf": 3}],
            "minimum": 0,
            "maximum": 30,
        }, 4
    whole, witness = draw(objects(children))
    if whole.keys() & {"additionalProperties", "patternProperties"}:
        return {"allOf": [{"type": "object"}, whole]}, witness  # both read one `properties`
    names = sorted(whole["properties"])
    cut = draw(st.integers(0, len(names)))
    parts = []
    for half in (names[:cut], names[cut:]):
        part = {"type": "object", "properties": {n: whole["properties"][n] for n in half}}
        required = [n for n in whole.get("required", ()) if n in half]
        if required:
            part["required"] = required
        parts.append(part)
    rest = {k: v for k, v in whole.items() if k not in ("properties", "required", "type")}
    parts.append(rest)
    return {"allOf": parts}, witness


def containers(children):
    return st.one_of(
        objects(children),
        maps(children),
        conditionals(children),
        arrays(children),
        tuples(children),
        containing(children),
        unions(children),
    )


SCHEMAS = st.recursive(LEAVES, containers, max_leaves=8)


def test_the_strategy_witnesses_validate():
    """The strategy's schemas are satisfiable: each one's witness validates against it."""

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(SCHEMAS)
    def check(pair):
        schema, witness = pair
        Draft202012Validator.check_schema(schema)
        assert not errors(schema, witness), (schema, witness)

    check()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=SCHEMAS, key=st.text(max_size=10))
def test_generated_values_validate_and_repeat(pair, key):
    """Whatever mix of keywords, the value validates and a fresh generator gives it again."""
    schema, _ = pair
    value = GEN.generate(schema, key=key)
    assert not errors(schema, value), (schema, value)
    assert Generator(seed=5).generate(schema, key=key) == value


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=SCHEMAS, key=st.text(max_size=10))
def test_edge_cases_validate_and_repeat(pair, key):
    """Edge cases of the same schemas validate too and are deterministic per key."""
    schema, _ = pair
    value = GEN.edge_case(schema, key=key)
    assert not errors(schema, value), (schema, value)
    assert Generator(seed=5).edge_case(schema, key=key) == value


# ---------------------------------------------------------------------------------------------
# One example per keyword: each fails if the generator ignored the keyword


def test_prefix_items_fix_each_position_and_false_items_close_the_tuple():
    """prefixItems give item i its own schema; items: false allows no item beyond them."""
    schema = {
        "type": "array",
        "prefixItems": [{"const": "lat"}, {"type": "integer"}],
        "items": False,
    }
    for value in assert_all_valid(schema):
        assert len(value) <= 2
        assert value[:1] in ([], ["lat"])
    assert {len(v) for v in values(schema)} == {1, 2}


def test_contains_puts_between_min_and_max_contains_matches_in_the_array():
    """contains with minContains 2 and maxContains 3: the 7s are counted, not left to chance."""
    schema = {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": 9},
        "contains": {"const": 7},
        "minContains": 2,
        "maxContains": 3,
        "minItems": 6,
    }
    for value in assert_all_valid(schema):
        assert 2 <= value.count(7) <= 3 and len(value) >= 6


def test_contains_alone_needs_one_match_and_max_contains_zero_an_empty_array():
    """contains defaults to one match; maxContains 0 of a schema every item matches means []."""
    one = {"type": "array", "items": {"type": "string"}, "contains": {"const": "admin"}}
    assert all("admin" in v for v in assert_all_valid(one))
    none = {"type": "array", "contains": {}, "minContains": 0, "maxContains": 0}
    assert all(v == [] for v in assert_all_valid(none))


def test_pattern_properties_constrain_declared_names_they_match():
    """A declared x- property also obeys the patternProperties schema its name matches."""
    schema = {
        "type": "object",
        "required": ["x-rate", "name"],
        "properties": {"x-rate": {"type": "integer"}, "name": {"type": "string"}},
        "patternProperties": {"^x-": {"minimum": 100, "maximum": 105}},
    }
    for value in assert_all_valid(schema):
        assert 100 <= value["x-rate"] <= 105


def test_a_closed_map_gets_keys_its_pattern_allows():
    """With additionalProperties false, minProperties is met by keys patternProperties allow."""
    schema = {
        "type": "object",
        "patternProperties": {"^[a-z]{2}_[0-9]$": {"type": "integer", "minimum": 1, "maximum": 3}},
        "additionalProperties": False,
        "minProperties": 3,
        "maxProperties": 4,
    }
    for value in assert_all_valid(schema):
        assert len(value) >= 3


def test_an_open_object_fills_min_properties_with_additional_properties_values():
    """Extra keys added for minProperties take additionalProperties' schema, or a pattern's."""
    schema = {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "string"}},
        "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 9},
        "patternProperties": {"^field_1$": {"type": "integer", "minimum": 50, "maximum": 60}},
        "minProperties": 4,
    }
    for value in assert_all_valid(schema):
        assert len(value) >= 4
        assert 50 <= value["field_1"] <= 60


def test_closed_objects_leave_out_undeclared_names():
    """additionalProperties false: minProperties is met from the declared optional properties."""
    schema = {
        "type": "object",
        "properties": {n: {"type": "boolean"} for n in "abcd"},
        "additionalProperties": False,
        "minProperties": 4,
    }
    assert all(set(v) == set("abcd") for v in assert_all_valid(schema))


def test_not_rules_out_the_values_it_names():
    """not: the banned const never comes out; not a string gives values of other types."""
    schema = {"type": "integer", "minimum": 0, "maximum": 3, "not": {"const": 2}}
    assert set(assert_all_valid(schema)) == {0, 1, 3}
    other = {"not": {"type": "string"}}
    kinds = {json_type(v) for v in assert_all_valid(other)}
    assert "string" not in kinds and len(kinds) > 2


def test_if_then_else_takes_both_branches():
    """if the kind is card then a card is required, else an IBAN: both branches are drawn."""
    schema, _ = _PAYMENT
    out = assert_all_valid(schema)
    assert {v["kind"] for v in out} == {"card", "bank", "cash"}
    assert all(("card" in v) == (v["kind"] == "card") or "iban" in v for v in out)


_PAYMENT = (
    {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": ["card", "bank", "cash"]}},
        "if": {"properties": {"kind": {"const": "card"}}},
        "then": {
            "required": ["card"],
            "properties": {"card": {"type": "string", "pattern": r"^\d{4}$"}},
        },
        "else": {"required": ["iban"], "properties": {"iban": {"type": "string", "minLength": 8}}},
    },
    None,
)


def test_conditions_in_every_all_of_part_hold_together():
    """Two if/then pairs in allOf parts both apply: merging one over the other would lose it."""
    schema = {
        "type": "object",
        "required": ["a", "b"],
        "properties": {"a": {"type": "boolean"}, "b": {"type": "boolean"}},
        "allOf": [
            {"if": {"properties": {"a": {"const": True}}}, "then": {"required": ["x"]}},
            {"if": {"properties": {"b": {"const": True}}}, "then": {"required": ["y"]}},
        ],
    }
    out = assert_all_valid(schema)
    assert any(v["a"] and v["b"] for v in out)


def test_one_of_never_gives_a_value_two_branches_match():
    """oneOf of multiples of 2 and of 3: multiples of 6 match both, so never come out."""
    schema = {
        "oneOf": [{"type": "integer", "multipleOf": 2}, {"type": "integer", "multipleOf": 3}],
        "minimum": 0,
        "maximum": 30,
    }
    out = assert_all_valid(schema)
    assert all(v % 6 for v in out)
    assert any(v % 2 == 0 for v in out) and any(v % 3 == 0 for v in out)


def test_any_of_branches_that_clash_with_the_base_type_are_not_drawn():
    """{type: string, anyOf: [{minLength: 3}, {type: integer}]}: only the string branch can be."""
    schema = {"type": "string", "anyOf": [{"minLength": 3}, {"type": "integer"}]}
    assert all(isinstance(v, str) and len(v) >= 3 for v in assert_all_valid(schema))


def test_all_of_keeps_every_part_not_and_bounds_alike():
    """allOf of a range and two nots: both banned values stay out, the range holds."""
    schema = {
        "allOf": [
            {"type": "integer", "minimum": 0, "maximum": 3},
            {"not": {"const": 1}},
            {"not": {"const": 2}},
        ]
    }
    assert set(assert_all_valid(schema)) == {0, 3}


def test_min_and_max_properties_bound_the_key_count():
    """maxProperties drops optional keys, minProperties adds them."""
    props = {n: {"type": "integer"} for n in "abcdef"}
    at_most = {"type": "object", "properties": props, "maxProperties": 2}
    assert all(len(v) <= 2 for v in assert_all_valid(at_most))
    at_least = {"type": "object", "properties": props, "minProperties": 6}
    assert all(len(v) == 6 for v in assert_all_valid(at_least))


def test_dependent_required_brings_the_properties_a_present_one_needs():
    """A card number needs its expiry and cvv, even when maxProperties trims the rest."""
    schema = {
        "type": "object",
        "properties": {n: {"type": "string"} for n in ("card", "expiry", "cvv", "note", "memo")},
        "dependentRequired": {"card": ["expiry", "cvv"], "cvv": ["pin"]},
        "maxProperties": 4,
    }
    out = assert_all_valid(schema)
    assert any("card" in v for v in out)
    assert all({"expiry", "cvv", "pin"} <= v.keys() for v in out if "card" in v)


def test_const_and_enum_give_their_values_and_fresh_copies():
    """const objects are copied so a caller changing one does not change the next."""
    schema = {"const": {"a": [1, 2]}}
    first = GEN.generate(schema, key="k")
    first["a"].append(3)
    assert GEN.generate(schema, key="k") == {"a": [1, 2]}
    enum = {"enum": [[1], [2], "x"]}
    assert {json.dumps(v) for v in assert_all_valid(enum)} == {"[1]", "[2]", '"x"'}


@pytest.mark.parametrize("fmt", sorted(FORMAT_WITNESSES))
def test_formats_real_specs_use_are_valid_and_vary(fmt):
    """date-time, date, uuid, email, uri and ipv4 values pass their format check and vary."""
    schema = {"type": "string", "format": fmt}
    out = assert_all_valid(schema)
    assert len(set(out)) > 30


@pytest.mark.parametrize("pattern", sorted(PATTERN_WITNESSES))
def test_patterns_real_specs_use_are_matched(pattern):
    """Currency codes, phone numbers, slugs, dates, colours, versions, tokens and ids match."""
    out = assert_all_valid({"type": "string", "pattern": pattern})
    assert len(set(out)) > 10


def test_multiple_of_a_fraction_within_bounds():
    """multipleOf 0.25 between 1 and 2: the five quarter steps and nothing else."""
    schema = {"type": "number", "multipleOf": 0.25, "minimum": 1, "maximum": 2}
    assert set(assert_all_valid(schema)) == {1, 1.25, 1.5, 1.75, 2}


def test_exclusive_bounds_leave_out_the_bound():
    """exclusiveMinimum 0 and exclusiveMaximum 3 for integers: 1 and 2 only, both drawn."""
    schema = {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3}
    assert set(assert_all_valid(schema)) == {1, 2}
    number = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5}
    assert all(0 < v < 0.5 for v in assert_all_valid(number))


def test_type_lists_give_each_type_and_null():
    """["integer", "null"] is sometimes null; ["string", "integer"] gives both types."""
    nullable = {"type": ["integer", "null"]}
    out = assert_all_valid(nullable, [f"k{i}" for i in range(100)])
    assert None in out and any(isinstance(v, int) for v in out)
    both = {"type": ["string", "integer"]}
    assert {json_type(v) for v in assert_all_valid(both)} == {"string", "integer"}


def test_edge_cases_obey_the_keywords_hypothesis_jsonschema_ignores():
    """Edge cases honour maxContains and dependentRequired, which the edge library skips."""
    schemas = [
        {"type": "array", "items": {"type": "integer"}, "contains": {"const": 1}, "maxContains": 1},
        {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "dependentRequired": {"a": ["b"]},
        },
        _PAYMENT[0],
    ]
    for schema in schemas:
        for key in KEYS:
            value = GEN.edge_case(schema, key=key)
            assert not errors(schema, value), (schema, value)
