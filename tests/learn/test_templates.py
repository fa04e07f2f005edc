"""Path templating (backworks_cli.learn.templates): which segments become parameters, what the
parameters are named and typed, and the limits that keep a templater bounded."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backworks_cli.learn.templates import MANY_SIBLINGS, MAX_SEGMENTS, PathTemplater, template_paths


def paths(recorded: list[str]) -> dict[str, str]:
    """Each recorded path's template path."""
    return {path: t.path for path, t in template_paths(recorded).items()}


def template_of(recorded: list[str], path: str):
    """The template `path` gets when `recorded` are templated together."""
    return template_paths(recorded)[path]


# --- which segments are identifiers ----------------------------------------------------------


@pytest.mark.parametrize(
    "segment",
    [
        "0",
        "42",
        str(uuid.UUID(int=7)),
        "deadbee1",  # the shortest hex hash: 8 characters, one digit
        "0123456789abcdef0123456789abcdef01234567",
        "2010-04-01",
        "ada@example.com",
        "redacted:0123456789abcdef",  # a secret's placeholder in the path
    ],
)
def test_a_single_strong_identifier_is_a_parameter(segment):
    """Integers, UUIDs, hex hashes, dates, emails and secret placeholders are parameters even
    when only one was ever seen, so the first recording already gives the route."""
    assert paths([f"/things/{segment}"]) == {f"/things/{segment}": "/things/{id}"}
    assert paths([f"/things/{segment}/tags"]) == {
        f"/things/{segment}/tags": "/things/{thing_id}/tags"
    }


@pytest.mark.parametrize(
    "segment",
    [
        "deadbeef",  # hex letters only: a word, not a hash
        "dead1",  # hex with a digit but shorter than a hash
        "\u0661\u0662",  # Arabic-Indic digits are digits, but not ASCII ones
        "ord-1",  # a slug with a digit: an identifier only when it varies
        "a12",
        "v1",
        "apps.k8s.io",
        "torvalds",
        "this-is-a-long-article-slug-about-go",  # as long as a UUID, but no UUID
    ],
)
def test_a_single_weak_or_plain_segment_stays_literal(segment):
    """A segment that is not surely an identifier stays literal when it is the only one seen."""
    assert paths([f"/things/{segment}"]) == {f"/things/{segment}": f"/things/{segment}"}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("a12", "b34"),  # three characters, two digits: the shortest weak slug
        ("ab12", "cd34"),  # two digits, no separator
        ("a-1", "b-1"),  # one digit and a separator of each kind
        ("a_1", "b_1"),
        ("a.1", "b.1"),
        ("a~1", "b~1"),
        ("ord-123", "ord-456"),
        ("1.2", "1.3"),
    ],
)
def test_two_different_weak_slugs_make_a_parameter(first, second):
    """Slugs with two digits, or with a digit and a separator, are identifiers once they vary."""
    found = paths([f"/items/{first}", f"/items/{second}"])
    assert found == {f"/items/{first}": "/items/{id}", f"/items/{second}": "/items/{id}"}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Xa1", "Xb1"),  # one digit, no separator: a name
        ("ab1", "cd1"),
        ("deadbeef", "cafebabe"),
        ("\u0661\u0662", "\u0663\u0664"),
        ("10:30", "11:45"),  # digits, but not a slug
    ],
)
def test_varying_names_without_identifier_shape_stay_literal(first, second):
    """Two different segments that do not look like identifiers are two literal routes."""
    found = paths([f"/items/{first}", f"/items/{second}"])
    assert found == {f"/items/{first}": f"/items/{first}", f"/items/{second}": f"/items/{second}"}


def test_an_extension_stays_after_the_parameter():
    """`7.png` is `{id}.png`; only the last dot cuts an extension; a weak stem alone stays
    literal, and a number-like tail such as `.34` is no extension."""
    assert paths(["/avatar/7.png"]) == {"/avatar/7.png": "/avatar/{id}.png"}
    assert paths(["/f/12.tar.gz", "/f/34.tar.gz"]) == {
        "/f/12.tar.gz": "/f/{id}.gz",
        "/f/34.tar.gz": "/f/{id}.gz",
    }
    assert paths(["/a/ord-1.png"]) == {"/a/ord-1.png": "/a/ord-1.png"}
    assert paths(["/v/12.34"]) == {"/v/12.34": "/v/12.34"}
    assert paths(["/a/ord-1.png", "/a/ord-2.png"])["/a/ord-1.png"] == "/a/{id}.png"
    assert paths(["/a/.7"]) == {"/a/.7": "/a/.7"}


def test_segments_that_start_with_a_nul_stay_literal():
    """A literal segment that happens to start like an internal label is kept as written."""
    recorded = ["/x/\x00s", "/x/\x00w", "/x/\x00l", "/x/\x00"]
    assert paths(recorded) == {path: path for path in recorded}


# --- literal siblings -------------------------------------------------------------------------

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]


def test_many_leaf_siblings_stay_literal():
    """Siblings become a parameter only through shared literal sub-paths; leaves do not."""
    recorded = [f"/tags/{name}" for name in NAMES]
    assert paths(recorded) == {path: path for path in recorded}


def test_siblings_with_only_parameter_children_stay_literal():
    """Sub-paths that are all parameters are no evidence that the siblings are identifiers."""
    recorded = [f"/repos/{name}/{n}" for n, name in enumerate(NAMES)]
    found = paths(recorded)
    assert found == {f"/repos/{name}/{n}": f"/repos/{name}/{{id}}" for n, name in enumerate(NAMES)}


def test_siblings_differing_in_being_routes_themselves_stay_apart():
    """Half the siblings are also requested bare: two shapes of five, neither makes a parameter."""
    recorded = [f"/repos/{name}/settings" for name in NAMES] + [f"/repos/{n}" for n in NAMES[:5]]
    found = paths(recorded)
    assert found["/repos/alice/settings"] == "/repos/alice/settings"
    assert found["/repos/alice"] == "/repos/alice"
    everyone = paths([*recorded, *(f"/repos/{n}" for n in NAMES[5:])])
    assert everyone["/repos/alice/settings"] == "/repos/{repo_id}/settings"
    assert everyone["/repos/alice"] == "/repos/{id}"


def test_a_parameter_child_and_a_literal_child_of_the_same_text_are_different_shapes():
    """`{id}.json` and a literal `.json` are different sub-paths, so siblings that have one or
    the other are two groups of five, not ten alike."""
    recorded = [f"/r/{name}/1.json" for name in NAMES[:5]]
    recorded += [f"/r/{name}/.json" for name in NAMES[5:]]
    recorded += [f"/r/{name}/x" for name in NAMES]
    found = paths(recorded)
    assert found["/r/alice/x"] == "/r/alice/x"
    assert found["/r/alice/1.json"] == "/r/alice/{id}.json"
    assert found["/r/judy/.json"] == "/r/judy/.json"


def test_exactly_many_siblings_make_a_parameter_and_one_fewer_does_not():
    """MANY_SIBLINGS literal siblings with the same sub-path are a parameter; one fewer is not."""
    names = [f"user{chr(97 + i)}" for i in range(MANY_SIBLINGS)]
    enough = paths([f"/u/{n}/profile" for n in names])
    assert set(enough.values()) == {"/u/{u_id}/profile"}
    fewer = paths([f"/u/{n}/profile" for n in names[:-1]])
    assert fewer == {f"/u/{n}/profile": f"/u/{n}/profile" for n in names[:-1]}


def test_literal_siblings_turned_parameter_keep_their_values_format():
    """The values of literal siblings that became a parameter type it (IPv6 addresses here)."""
    recorded = [f"/hosts/fe80::{i}/status" for i in range(1, MANY_SIBLINGS + 1)]
    template = template_of(recorded, recorded[0])
    assert template.path == "/hosts/{host_id}/status"
    assert template.params == {"host_id": {"type": "string", "format": "ipv6"}}


def test_literal_siblings_under_a_parameter_gather_evidence_from_every_parent():
    """Siblings under a parameter are counted across the parameter's values."""
    recorded = [f"/orgs/{org}/members/{name}/roles" for org in (1, 2) for name in NAMES]
    template = template_of(recorded, "/orgs/1/members/alice/roles")
    assert template.path == "/orgs/{org_id}/members/{member_id}/roles"
    assert template.params == {"org_id": {"type": "integer"}, "member_id": {"type": "string"}}


def test_path_parameters_have_no_enum_however_often_values_repeat():
    """A path parameter is an identifier: repeated values never make it an enum."""
    recorded = [f"/t/{i}/{leaf}" for i in ("ord-12", "ord-34") for leaf in "abcde"]
    template = template_of(recorded, "/t/ord-12/a")
    assert template.path == "/t/{t_id}/a"
    assert template.params == {"t_id": {"type": "string"}}


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("collection", "name"),
    [
        ("users", "user_id"),
        ("Users", "user_id"),
        ("categories", "category_id"),
        ("statuses", "status_id"),
        ("boxes", "box_id"),
        ("buzzes", "buzz_id"),
        ("matches", "match_id"),
        ("dishes", "dish_id"),
        ("addresses", "address_id"),
        ("class", "class_id"),
        ("api-keys", "api_key_id"),
        ("_users_", "user_id"),
        ("v1.users", "v1_user_id"),
        ("s", "s_id"),
        ("2fa", "param_id"),
        ("données", "donn_e_id"),  # letters outside a-z are cut like punctuation,
    ],
)
def test_a_parameter_inside_a_path_is_named_after_its_collection(collection, name):
    """`/users/{user_id}/orders`: the collection singular, as an identifier, else `param_id`."""
    template = template_of([f"/{collection}/1/x"], f"/{collection}/1/x")
    assert template.path == f"/{collection}/{{{name}}}/x"
    assert list(template.params) == [name]


def test_parameters_without_a_collection_are_numbered():
    """Parameters in a row have no collection before them: param_id, param_id2, param_id3."""
    template = template_of(["/1/2/3/x"], "/1/2/3/x")
    assert template.path == "/{param_id}/{param_id2}/{param_id3}/x"
    assert template.params == {name: {"type": "integer"} for name in template.params}
    last = template_of(["/users/1/2"], "/users/1/2")
    assert last.path == "/users/{user_id}/{id}"


# --- limits and keys --------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [1, 6])
def test_a_path_longer_than_the_limit_keeps_its_tail_literal(extra):
    """Past MAX_SEGMENTS, the tail is one literal segment, so a templater's work is bounded."""
    segments = [str(n) for n in range(MAX_SEGMENTS + extra)]
    path = "/" + "/".join(segments)
    template = template_of([path], path)
    head, tail = template.path.rsplit("}/", 1)
    assert tail == "/".join(segments[MAX_SEGMENTS - 1 :])
    assert head.count("{") == MAX_SEGMENTS - 1 == len(template.params)


def test_a_path_at_the_limit_is_templated_whole():
    """A path of exactly MAX_SEGMENTS segments has every identifier templated."""
    path = "/" + "/".join(str(n) for n in range(MAX_SEGMENTS))
    template = template_of([path], path)
    assert template.path.count("{") == MAX_SEGMENTS and template.path.endswith("{id}")


def test_finish_gives_a_template_for_exactly_the_keys_add_returned():
    """Keys are the routes added, not their prefixes; the same path gives the same key."""
    templater = PathTemplater()
    recorded = ["/", "/users/1/orders/2", "/users/3/orders/4", "/health", "/health/"]
    keys = [templater.add(path) for path in recorded]
    assert templater.add("/users/1/orders/2") is keys[1]
    assert keys[1] == keys[2] and keys[3] == keys[4]
    templates = templater.finish()
    assert set(templates) == set(keys)
    assert templates[()].path == "/" and templates[()].params == {}
    assert templates[keys[1]].path == "/users/{user_id}/orders/{id}"
    assert templates[keys[3]].path == "/health"


# --- properties -------------------------------------------------------------------------------

words = st.sampled_from(
    ["torvalds", "users", "repos", "settings", "apps.k8s.io", "v1", "v2beta1", "me", "search"]
)
identifiers = st.one_of(
    st.integers(min_value=0, max_value=10**15).map(str),
    st.uuids().map(str),
    st.binary(min_size=4, max_size=20).map(lambda b: b.hex() + "7"),
    st.dates().map(lambda d: d.isoformat()),
)
segments = st.one_of(words, identifiers, st.sampled_from(["2010-04-01", "ord-1234", "x.json"]))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(segments, min_size=0, max_size=6), min_size=1, max_size=12))
def test_templates_match_their_paths_and_name_each_parameter_once(recorded_segments):
    """Every template has as many segments as its path, keeps each literal it does not
    parameterise, and names each of its parameters once, with a schema."""
    recorded = ["/" + "/".join(parts) for parts in recorded_segments]
    found = template_paths(recorded)
    for path, parts in zip(recorded, recorded_segments, strict=True):
        template = found[path]
        cut = template.path.split("/")[1:] if parts else []
        assert len(cut) == len(parts)
        names = []
        for written, segment in zip(cut, parts, strict=True):
            if "{" in written:
                name, _, suffix = written[1:].partition("}")
                assert segment.endswith(suffix)
                names.append(name)
            else:
                assert written == segment
        assert names == list(template.params)
        assert all(schema.get("type") for schema in template.params.values())
