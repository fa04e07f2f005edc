"""The loader of backworks.yaml in detail: the exact words, lines and hints of its messages,
the checks the schema cannot make (paths, routes, latency ranges, files outside the project),
what it builds, and the helpers that word the messages."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from backworks_cli.config.load import (
    _combine,
    _did_you_mean,
    _dotted,
    _first_sentence,
    _kind_of,
    _line,
    _numbers,
    _path_problem,
    _Problem,
    _program_of,
    _resolve,
    _show,
    _type_name,
    load_config,
    read_text,
)
from backworks_cli.config.model import DEFAULT_STORE, RecordingsConfig, RedactConfig, ServerConfig
from backworks_cli.config.schema import BLUEPRINT_ENDPOINT_KEYS, BLUEPRINT_TOP_KEYS, IDENTIFIER
from backworks_cli.core.errors import ConfigError

SCHEMA_HINT = "`backworks schema` prints every key backworks.yaml accepts, with its meaning."
PATH_HINT = (
    "Write path parameters as whole {name} parts, e.g. /users/{id} or /avatars/{id}.png; "
    "names are letters, digits and _."
)
NAME_HINT = (
    'Quote the name, e.g. "123": or "on":, so that every YAML reader sees text; an empty name '
    "needs a word."
)


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Run in tmp_path, so that messages name the file as `backworks.yaml`."""
    monkeypatch.chdir(tmp_path)


def write(text: str, name: str = "backworks.yaml") -> Path:
    Path(name).write_text(textwrap.dedent(text), encoding="utf-8")
    return Path(name)


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(write(text))
    return caught.value


def only_error(text: str) -> tuple[str, str | None]:
    """The message and hint of a file with exactly one error."""
    error = error_of(text)
    assert " errors:\n" not in error.message, error.message
    return error.message, error.hint


def listed(text: str) -> list[str]:
    """The lines of a message listing several errors, without the heading."""
    error = error_of(text)
    heading, *lines = error.message.splitlines()
    assert heading == f"backworks.yaml has {len(lines)} errors:"
    assert error.hint == f"Fix each line listed. {SCHEMA_HINT}"
    return [line.strip() for line in lines]


# --- reading the file --------------------------------------------------------------------------


def test_a_missing_file_says_how_backworks_finds_its_config():
    """The hint names --config and the ./backworks.yaml default."""
    with pytest.raises(ConfigError) as caught:
        read_text(Path("absent.yaml"))
    assert caught.value.message == "absent.yaml: no such file."
    assert caught.value.hint == (
        "Check the path given to --config; without --config, backworks reads ./backworks.yaml "
        "when it exists and uses defaults otherwise."
    )


def test_a_folder_is_not_a_file(tmp_path):
    """Passing the project folder instead of the file says so."""
    Path("project").mkdir()
    with pytest.raises(ConfigError) as caught:
        read_text(Path("project"))
    assert caught.value.message == "project: is a folder, not a file."
    assert caught.value.hint == "Name the backworks.yaml file itself."


def test_bytes_that_are_not_utf8_name_their_offset():
    """The offset of the first bad byte points at it in a hex editor."""
    Path("latin1.yaml").write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        read_text(Path("latin1.yaml"))
    assert caught.value.message == "latin1.yaml: not UTF-8 text (byte 9)."
    assert caught.value.hint == "Save the file as UTF-8."


def test_a_file_that_cannot_be_opened_gives_the_reason():
    """Any other failure to read (here: a name too long for the file system) names the reason."""
    name = "x" * 300 + ".yaml"
    with pytest.raises(ConfigError) as caught:
        read_text(Path(name))
    assert caught.value.message == f"{name}: cannot be read (File name too long)."
    assert caught.value.hint == "Check the file's permissions."


@pytest.fixture
def ascii_locale():
    """The process's character type locale set to plain C (ASCII), and set back afterwards."""
    import locale

    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    yield
    locale.setlocale(locale.LC_CTYPE, before)


def test_the_file_is_read_as_utf8_whatever_the_locale(ascii_locale):
    """A container's C locale must not make UTF-8 text in backworks.yaml unreadable."""
    Path("backworks.yaml").write_bytes("name: café\n".encode())
    assert load_config(Path("backworks.yaml")).name == "café"


def test_a_byte_order_mark_is_not_part_of_the_first_key():
    """Windows editors start UTF-8 files with a BOM; the first key still reads."""
    Path("backworks.yaml").write_bytes("\ufeffname: shop\n".encode())
    assert load_config(Path("backworks.yaml")).name == "shop"


# --- messages the schema gives -----------------------------------------------------------------


def test_an_unknown_top_level_key_lists_the_keys_allowed_but_not_the_ignored_ones():
    """The hint lists what may be written, leaving out blueprint keys that are only tolerated."""
    message, hint = only_error("zzzzzz: 1\n")
    assert message == "backworks.yaml:1: zzzzzz: unknown key"
    assert hint == (
        "Keys allowed in the top level: name, server, upstream, recordings, redact, replay, "
        f"mock, endpoints. {SCHEMA_HINT}"
    )


def test_a_top_level_that_is_no_mapping_is_named_at_its_own_line():
    """Comments and blank lines before a top-level list move the line the message names."""
    message, hint = only_error("# settings\n\n- name: shop\n")
    assert message == (
        "backworks.yaml:3: the top level must be a mapping of keys such as name, server and "
        "endpoints, but it is a list."
    )
    assert hint == SCHEMA_HINT


def test_a_missing_required_key_is_explained_by_its_description():
    """The hint of a missing `path` is what `path` means."""
    message, hint = only_error("endpoints:\n  a:\n    mode: mock\n")
    assert message == 'backworks.yaml:2: endpoints.a: missing required key "path"'
    assert hint == "URL path starting with /; write path parameters as {id}, e.g. /users/{id}."


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        (
            "name: {a: 1}\n",
            "backworks.yaml:1: name: expected a string, got a mapping",
            "Name of this API project.",
        ),
        ("name: true\n", "backworks.yaml:1: name: expected a string, got true", None),
        (
            "server:\n  host: false\n",
            "backworks.yaml:2: server.host: expected a string, got false",
            "Address to listen on.",
        ),
        ("name: 1.5\n", "backworks.yaml:1: name: expected a string, got 1.5", None),
        ("name: [1]\n", "backworks.yaml:1: name: expected a string, got a list", None),
        ("name: ~\n", "backworks.yaml:1: name: expected a string, got an empty value", None),
        (
            "mock:\n  faults: {error_rate: x}\n",
            'backworks.yaml:2: mock.faults.error_rate: expected a number, got "x"',
            "Fraction of requests answered with error_status.",
        ),
        (
            "mock:\n  seed: x\n",
            'backworks.yaml:2: mock.seed: expected an integer or an empty value, got "x"',
            "Seed of generated data for this endpoint (default: the command's --seed).",
        ),
        (
            "redact:\n  enabled: 1\n",
            "backworks.yaml:2: redact.enabled: expected true or false, got 1",
            "Redact at all; false stores secrets as they are.",
        ),
        (
            'server:\n  port: "café"\n',
            'backworks.yaml:2: server.port: expected an integer, got "café"',
            "TCP port to listen on, 1 to 65535.",
        ),
    ],
)
def test_a_value_of_the_wrong_type_names_the_type_expected_and_shows_the_value(text, message, hint):
    """Types are named in words, several joined by "or", and the value is shown as YAML reads it."""
    got, got_hint = only_error(text)
    assert got == message
    if hint is not None:
        assert got_hint == hint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "endpoints:\n  a:\n    path: /a\n    examples: [0]\n",
            "backworks.yaml:4: endpoints.a.examples[0]: 0 is out of range; it must be at least 1",
        ),
        (
            "server:\n  max_body: -1\n",
            "backworks.yaml:2: server.max_body: -1 is out of range; it must be at least 0",
        ),
        (
            "server:\n  port: 0\n",
            "backworks.yaml:2: server.port: 0 is out of range; it must be between 1 and 65535",
        ),
        (
            "mock:\n  faults: {reset_rate: 2}\n",
            "backworks.yaml:2: mock.faults.reset_rate: 2 is out of range; it must be between 0 "
            "and 1",
        ),
    ],
)
def test_a_number_out_of_range_states_the_bounds_it_has(text, message):
    """A bound on one side only reads "at least"; bounds on both sides read "between"."""
    assert only_error(text)[0] == message


def test_the_choices_of_an_enum_are_listed_once_whatever_their_case():
    """Methods are accepted in both cases but listed once, in upper case."""
    message, _ = only_error("endpoints:\n  a:\n    path: /a\n    methods: [XYZ]\n")
    assert message == (
        'backworks.yaml:4: endpoints.a.methods[0]: "XYZ" is not one of GET, POST, PUT, PATCH, '
        "DELETE, HEAD, OPTIONS, TRACE, CONNECT"
    )


def test_an_enum_value_that_is_no_text_gets_no_suggestion():
    """A number is shown as it is, with the choices but without a did-you-mean."""
    message, _ = only_error("endpoints:\n  a:\n    path: /a\n    mode: 5\n")
    assert message == (
        "backworks.yaml:4: endpoints.a.mode: 5 is not one of replay, mock, proxy, runtime, database"
    )


def test_a_pattern_without_its_own_message_names_the_pattern():
    """A parameter name the schema refuses quotes the pattern it must match."""
    lines = listed("endpoints:\n  a:\n    path: /u/{id}\n    params:\n      '1x': {}\n")
    assert lines[0] == f'backworks.yaml:4: endpoints.a.params: "1x" must match {IDENTIFIER}'


def test_a_pattern_with_its_own_message_uses_it():
    """patternErrorMessage is the wording editors show too."""
    message, hint = only_error("upstream: api.example.com\n")
    assert message == (
        'backworks.yaml:1: upstream: "api.example.com" must be an http:// or https:// URL, '
        "e.g. https://api.example.com"
    )
    assert hint == ("Base URL of the real API, http:// or https://, e.g. https://api.example.com.")


def test_an_invalid_regular_expression_gives_the_reason():
    """The regex error names what is wrong with the pattern."""
    message, hint = only_error("redact:\n  patterns: ['a[']\n")
    assert message == (
        'backworks.yaml:2: redact.patterns[0]: "a[" is not a valid regular expression: '
        "unterminated character set at position 1"
    )
    assert hint.startswith("A Python regular expression")


def test_other_schema_errors_use_the_validator_message():
    """Errors without wording of their own (an empty latency mapping) read as jsonschema says."""
    message, hint = only_error("mock:\n  latency: {}\n")
    assert message == "backworks.yaml:2: mock.latency: {} should be non-empty"
    assert hint == "One of fixed, uniform or lognormal."


def test_a_json_schema_error_is_the_closest_alternative():
    """In a body schema, "type: strin" is compared with the closest alternative, the names."""
    message, _ = only_error(
        "endpoints:\n  a:\n    path: /a\n    request:\n      schema: {type: strin}\n"
    )
    assert message.startswith(
        'backworks.yaml:5: endpoints.a.request.schema.type: "strin" is not one of '
    )
    assert message.endswith('; did you mean "string"?')


def test_a_long_value_is_shown_cut_to_sixty_characters():
    """A long value is cut with an ellipsis, so that the message stays one line."""
    fits = "x" * 58  # 60 characters with its quotes
    assert only_error(f"server:\n  port: {fits}\n")[0].endswith(f'got "{fits}"')
    long = "y" * 59
    assert only_error(f"server:\n  port: {long}\n")[0].endswith('got "' + "y" * 55 + '..."')


# --- checks the schema cannot make -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("123", "the endpoint name 123 is read by YAML as a number, not as a name"),
        ("1.5", "the endpoint name 1.5 is read by YAML as a number, not as a name"),
        ("on", "the endpoint name true is read by YAML as a true/false value, not as a name"),
        ("2024-01-01", "the endpoint name 2024-01-01 is read by YAML as a date, not as a name"),
        ("~", "an endpoint has an empty name (YAML reads ~ and null as nothing)"),
    ],
)
def test_an_endpoint_name_yaml_reads_as_no_text_says_what_yaml_made_of_it(name, text):
    """Unquoted 123, on and ~ are no names to YAML; the message says what they became."""
    message, hint = only_error(f"endpoints:\n  {name}:\n    path: /a\n")
    assert message == f"backworks.yaml:2: endpoints: {text}"
    assert hint == NAME_HINT


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/u/id}", "has a { or } that is not part of a {name} parameter"),
        ("/u/{id", "has a { or } that is not part of a {name} parameter"),
        ("/u/{a}{b}", "has two parameters side by side, which cannot be told apart"),
        ("/u/{1x}", "has a parameter {1x} whose name is not letters, digits and _"),
        ("/u/{}", "has a parameter {} whose name is not letters, digits and _"),
        ("/u/{id}/{id}", "names the parameter {id} twice"),
        ("/u/{b}/{a}/{b}/{a}", "names the parameter {a} twice"),
        ("/u/{1x}/{id", "has a parameter {1x} whose name is not letters, digits and _"),
        ("/u/{a}{b}/{c", "has two parameters side by side, which cannot be told apart"),
    ],
)
def test_a_malformed_path_names_its_problem(path, problem):
    """Each way a path template can be wrong has its own words."""
    message, hint = only_error(f"endpoints:\n  a:\n    path: '{path}'\n")
    assert message == f'backworks.yaml:3: endpoints.a.path: "{path}" {problem}'
    assert hint == PATH_HINT


@pytest.mark.parametrize(
    "path", ["/u/{id}", "/u/{id}/{name}.{ext}", "/a/{x}/b/{y}", "/", "/files/{file_id}.png"]
)
def test_a_well_formed_path_has_no_problem(path):
    """Parameters in separate segments, or parts of one, are well formed."""
    assert _path_problem(path) is None


def test_params_naming_no_parameter_of_the_path_are_errors():
    """A params key the path lacks is named, with the parameters the path has."""
    message, hint = only_error(
        "endpoints:\n  a:\n    path: /u/{id}/{kind}\n    params:\n      idd: {type: string}\n"
    )
    assert message == (
        "backworks.yaml:5: endpoints.a.params.idd: the path /u/{id}/{kind} has no {idd}; "
        'did you mean "id"?'
    )
    assert hint == (
        "`params` describes parameters of the path, which has {id}, {kind}; quote a name YAML "
        "could read as something else, e.g. 'on'."
    )
    message, hint = only_error("endpoints:\n  a:\n    path: /u\n    params:\n      id: {}\n")
    assert message == "backworks.yaml:5: endpoints.a.params.id: the path /u has no {id}"
    assert "which has no parameters;" in hint


def test_a_malformed_path_is_not_checked_further():
    """Once the path is wrong, its params and routes are not checked against it."""
    message, _ = only_error("endpoints:\n  a:\n    path: /u/{id\n    params:\n      x: {}\n")
    assert message.startswith("backworks.yaml:3: endpoints.a.path:")
    lines = listed("endpoints:\n  a:\n    path: /u/{id\n  b:\n    path: /u/{id\n")
    assert [line.split(": ")[1] for line in lines] == ["endpoints.a.path", "endpoints.b.path"]


def test_two_endpoints_on_one_path_clash_on_every_default_method():
    """Without `methods`, an endpoint answers every method but TRACE and CONNECT."""
    lines = listed("endpoints:\n  a:\n    path: /x\n  b:\n    path: /x\n")
    assert lines == [
        f"backworks.yaml:5: endpoints.b.path: {method} /x is already answered by endpoint a"
        for method in ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
    ]


def test_a_clash_is_told_once_per_method_and_methods_compare_in_upper_case():
    """get and GET are one method; the hint says how to part the endpoints."""
    message, hint = only_error(
        "endpoints:\n  a:\n    path: /x\n    methods: [get, GET]\n"
        "  b:\n    path: /x\n    methods: [get]\n"
    )
    assert message == "backworks.yaml:6: endpoints.b.path: GET /x is already answered by endpoint a"
    assert hint == (
        "Give each method and path to one endpoint: merge the two, or list distinct `methods` "
        "on each."
    )


def test_paths_that_differ_only_in_parameter_types_do_not_clash():
    """/x/{id} for integers and /x/{n} for strings are different templates."""
    text = """\
    endpoints:
      a:
        path: /x/{id}
        params: {id: {type: integer}}
      b:
        path: /x/{n}
        params: {n: {type: string}}
    """
    assert set(load_config(write(text)).endpoints) == {"a", "b"}


def test_an_endpoint_that_is_no_mapping_is_left_to_the_schema():
    """The extra checks skip endpoints that are not mappings or have no text path."""
    lines = listed("endpoints:\n  a: 5\n  b:\n    path: 7\n  c:\n    path: /c/{\n")
    assert lines == [
        "backworks.yaml:2: endpoints.a: expected a mapping, got 5",
        "backworks.yaml:4: endpoints.b.path: expected a string, got 7",
        'backworks.yaml:6: endpoints.c.path: "/c/{" has a { or } that is not part of a {name} '
        "parameter",
    ]


def test_endpoints_after_a_name_yaml_reads_as_no_text_are_still_checked():
    """One badly named endpoint does not hide the problems of those after it."""
    lines = listed("endpoints:\n  123:\n    path: /a\n  b:\n    path: /b/{\n")
    assert [line.split(": ")[1] for line in lines] == ["endpoints", "endpoints.b.path"]


def test_a_parameter_name_yaml_reads_as_true_says_so():
    """`on:` under params is true to YAML, which the message explains."""
    message, _ = only_error("endpoints:\n  a:\n    path: /u/{on}\n    params:\n      on: {}\n")
    assert message == (
        "backworks.yaml:5: endpoints.a.params[True]: the path /u/{on} has no {True} (YAML reads "
        "on/off/yes/no/true/false as true or false)"
    )


@pytest.mark.parametrize(
    ("latency", "line", "where", "text"),
    [
        ("\n        uniform: [9, 1]", 6, "uniform", "its minimum is above its maximum"),
        (" {lognormal: {p50: 9, p95: 1}}", 5, "lognormal", "p50 is above p95"),
    ],
)
def test_an_endpoint_latency_range_upside_down_is_an_error(latency, line, where, text):
    """A range whose low end is above its high end cannot be drawn from."""
    message, hint = only_error(
        f"endpoints:\n  a:\n    path: /x\n    mock:\n      latency:{latency}\n"
    )
    assert message == f"backworks.yaml:{line}: endpoints.a.mock.latency.{where}: {text}"
    assert hint == "Write the smaller value first."


@pytest.mark.parametrize(
    "latency", ["uniform: [1, 1]", "uniform: [1, 2]", "lognormal: {p50: 3, p95: 3}", "fixed: 4"]
)
def test_latency_ranges_in_order_load(latency):
    """Equal or rising bounds are a valid range."""
    assert load_config(write(f"mock:\n  latency:\n    {latency}\n")).mock["latency"]


@pytest.mark.parametrize(
    ("uniform", "shown"),
    [("[true, false]", ["true", "false"]), ("[b, a]", ['"b"', '"a"'])],
)
def test_latency_bounds_that_are_no_numbers_are_only_type_errors(uniform, shown):
    """true/false and text are not numbers to compare; the schema names them instead."""
    lines = listed(f"mock:\n  latency:\n    uniform: {uniform}\n")
    assert lines == [
        f"backworks.yaml:3: mock.latency.uniform[{i}]: expected a number, got {value}"
        for i, value in enumerate(shown)
    ]


def test_latency_ranges_of_other_shapes_are_left_to_the_schema():
    """A uniform list of three, or a lognormal without p95, is not compared."""
    message, _ = only_error("mock:\n  latency:\n    uniform: [9, 5, 1]\n")
    assert message == "backworks.yaml:3: mock.latency.uniform: [9, 5, 1] is too long"
    message, _ = only_error("mock:\n  latency:\n    lognormal: {p50: 9}\n")
    assert message == 'backworks.yaml:3: mock.latency.lognormal: missing required key "p95"'


def test_an_error_in_a_merged_key_is_reported_where_the_anchor_writes_it():
    """A key brought in by `<<: *anchor` is reported at the line it is written on."""
    text = """\
    anchors:
      base: &base
        mode: mok
    endpoints:
      a:
        <<: *base
        path: /a
    """
    lines = listed(text)
    assert lines[0].startswith("backworks.yaml:1: anchors: unknown key")
    assert lines[1].startswith("backworks.yaml:3: endpoints.a.mode: ")


def test_a_duplicate_key_names_both_lines():
    """The second occurrence is the error; the hint says to merge them."""
    message, hint = only_error("name: a\nname: b\n")
    assert message == "backworks.yaml:2: name: duplicate key (already set on line 1)"
    assert hint == "Each key may appear once in a mapping; merge the two entries."


def test_a_user_schema_nested_beyond_the_validator_is_a_config_error():
    """A schema deep enough to exhaust the validator's recursion is refused, not a traceback."""
    schema = "{items: " * 240 + "{}" + "}" * 240
    error = error_of(f"endpoints:\n  a:\n    path: /a\n    request:\n      schema: {schema}\n")
    assert error.message == (
        "backworks.yaml: nested too deeply to read (a YAML alias that contains itself?)."
    )
    assert error.hint == "Remove the recursive &anchor/*alias pair, or flatten the nesting."


# --- files outside the project -----------------------------------------------------------------


@pytest.fixture
def project(tmp_path, monkeypatch):
    """tmp/project with handlers/ok.py, the current folder, next to tmp/outside/."""
    project = tmp_path / "project"
    (project / "handlers").mkdir(parents=True)
    (project / "handlers" / "ok.py").write_text("def handle(request):\n    return {}\n")
    (tmp_path / "outside").mkdir()
    monkeypatch.chdir(project)
    return project


def endpoint(block: str) -> str:
    return "endpoints:\n  a:\n    path: /a\n" + textwrap.indent(textwrap.dedent(block), "    ")


def containment_hint(mode: str) -> str:
    return (
        "Keep handlers, worker programs and database files inside the folder that holds "
        "backworks.yaml (relative paths are relative to it), or add "
        f"`allow_outside_project: true` to this `{mode}:` block to allow it."
    )


@pytest.mark.parametrize(
    ("block", "line", "key", "shown"),
    [
        ("runtime:\n  handler: ../outside/evil.py\n", 5, "runtime.handler", '"../outside/evil.py"'),
        ("runtime:\n  handler: '  ../outside/evil.py  '\n", 5, "runtime.handler", None),
        ("runtime:\n  command: [../bin/worker, --fast]\n", 5, "runtime.command", '"../bin/worker"'),
        ("runtime:\n  command: ../bin/worker --fast\n", 5, "runtime.command", '"../bin/worker"'),
        ("runtime:\n  command: '\"../my bin/w\" -x'\n", 5, "runtime.command", '"../my bin/w"'),
        ("database:\n  file: ../shared.sqlite\n", 5, "database.file", '"../shared.sqlite"'),
        ("database: {table: t, file: ../s.db}\n", 4, "database.file", '"../s.db"'),
    ],
)
def test_a_file_outside_the_project_is_an_error_naming_it(project, block, line, key, shown):
    """Handler files, relative worker programs and database files must stay in the project."""
    mode = key.partition(".")[0]
    message, hint = only_error(endpoint(block))
    shown = shown or '"../outside/evil.py"'
    assert message == (
        f"backworks.yaml:{line}: endpoints.a.{key}: {shown} is outside the project folder {project}"
    )
    assert hint == containment_hint(mode)


def test_an_absolute_path_elsewhere_is_outside(project, tmp_path):
    """An absolute handler path outside the project folder is refused like a relative one."""
    evil = tmp_path / "outside" / "evil.py"
    message, _ = only_error(endpoint(f"runtime:\n  handler: {evil}\n"))
    assert message == (
        f"backworks.yaml:5: endpoints.a.runtime.handler: {_show(str(evil))} is outside the "
        f"project folder {project}"
    )


def test_a_symlink_out_of_the_project_is_named_as_one(project, tmp_path):
    """A path that looks inside but leads out by a symlink says so."""
    (project / "link").symlink_to(tmp_path / "outside")
    message, _ = only_error(endpoint("database:\n  file: link/db.sqlite\n"))
    assert message == (
        'backworks.yaml:5: endpoints.a.database.file: "link/db.sqlite" leads out of the project '
        f"folder {project} by a symlink"
    )


def test_a_nul_character_in_a_path_is_named(project):
    """No file name holds NUL, so it cannot be inside the project either."""
    message, _ = only_error(endpoint('runtime:\n  handler: "a\\0b.py"\n'))
    assert message == (
        'backworks.yaml:5: endpoints.a.runtime.handler: "a\\u0000b.py" has a NUL character, '
        "which no file name can hold"
    )


def test_every_block_that_names_a_file_outside_is_listed_with_its_own_hint(project):
    """A handler and a database file outside are two errors, each naming its block."""
    error = error_of(endpoint("runtime:\n  handler: ../h.py\ndatabase:\n  file: ../d.sqlite\n"))
    lines = [line.strip() for line in error.message.splitlines()[1:]]
    assert lines == [
        f'backworks.yaml:5: endpoints.a.runtime.handler: "../h.py" is outside the project '
        f"folder {project}",
        f'backworks.yaml:7: endpoints.a.database.file: "../d.sqlite" is outside the project '
        f"folder {project}",
    ]


@pytest.mark.parametrize(
    "block",
    [
        "runtime:\n  handler: handlers/ok.py\n",
        "runtime:\n  handler: '   '\n",
        "runtime:\n  handler: 5\n",
        "runtime:\n  handler: |\n    function handler(req) {\n      return {status: 200};\n    }\n",
        "runtime:\n  handler: 'function handler(req) { return {status: 200}; }'\n",
        "runtime:\n  handler: '/* greets */ function handler(req) { return {status: 200}; }'\n",
        "runtime:\n  handler: |\n    // answers every request\n    return {status: 200};\n",
        "runtime:\n  command: [python3, ../outside/w.py]\n",
        "runtime:\n  command: node ../outside/w.js\n",
        "runtime:\n  command: /usr/bin/python3 -u\n",
        "runtime:\n  command: ~/bin/worker\n",
        "runtime:\n  command: []\n",
        "runtime:\n  command: [5, ../x]\n",
        "runtime:\n  command: 5\n",
        'runtime:\n  command: "\'unbalanced ../x"\n',
        "runtime: {handler: ../outside/evil.py, allow_outside_project: true}\n",
        "database:\n  file: data/new.sqlite\n",
        "database:\n  file: ''\n",
        "database:\n  file: 5\n",
        "database: {file: ../shared.sqlite, allow_outside_project: true}\n",
        "proxy:\n  handler: ../outside/evil.py\n",
    ],
)
def test_paths_inside_code_programs_on_the_path_and_allowed_blocks_load(project, block):
    """Inline code, programs found on PATH, absolute programs and opted-in blocks are fine."""
    config = load_config(write(endpoint(block)))
    assert list(config.endpoints) == ["a"]


def test_a_handler_with_parentheses_and_a_nul_is_a_path_with_a_nul(project):
    """Code holds no NUL either, so such a handler is checked as a path, and refused."""
    message, _ = only_error(endpoint('runtime:\n  handler: "h(\\0).py"\n'))
    assert message.endswith('"h(\\u0000).py" has a NUL character, which no file name can hold')


def test_a_handler_with_parentheses_that_names_a_file_is_checked(project, tmp_path):
    """A handler with "(" is code unless a file of that name exists: then it is a path."""
    (tmp_path / "outside" / "h(1).py").write_text("")
    (project / "h(2).py").symlink_to(tmp_path / "outside" / "h(1).py")
    message, _ = only_error(endpoint("runtime:\n  handler: h(2).py\n"))
    assert message.endswith(f'"h(2).py" leads out of the project folder {project} by a symlink')


def test_the_opt_in_of_one_block_does_not_open_another(project):
    """allow_outside_project on runtime leaves database checked."""
    message, hint = only_error(
        endpoint(
            "runtime: {handler: ../h.py, allow_outside_project: true}\n"
            "database: {file: ../d.sqlite}\n"
        )
    )
    assert message.startswith("backworks.yaml:5: endpoints.a.database.file:")
    assert hint == containment_hint("database")


def test_endpoints_that_are_no_mapping_have_no_files_to_check(project):
    """A broken endpoint is the schema's to report, and those after it are still checked."""
    lines = listed(
        "endpoints:\n  a: ../x.py\n  b: [../y.py]\n  c:\n    path: /c\n"
        "    runtime: {handler: ../z.py}\n"
    )
    assert [line.split(": ", 2)[1] for line in lines] == [
        "endpoints.a",
        "endpoints.b",
        "endpoints.c.runtime.handler",
    ]


def test_a_file_inside_does_not_end_the_check_of_the_next_one(project):
    """A handler inside the project and a database file outside: the second is refused."""
    message, _ = only_error(
        endpoint("runtime: {handler: handlers/ok.py}\ndatabase: {file: ../d.sqlite}\n")
    )
    assert message.startswith("backworks.yaml:5: endpoints.a.database.file:")


# --- what is built -----------------------------------------------------------------------------


def test_every_setting_is_built_into_the_config(tmp_path):
    """Each key of each block lands in its field, with methods upper-cased once each."""
    text = """\
    name: shop
    server: {host: 0.0.0.0, port: 8081, admin_max_rows: 7, max_body: 99}
    upstream: https://api.example.com
    recordings: {path: rec.db, session: mon, include: [/api/*], exclude: [/health]}
    redact:
      enabled: false
      headers: [X-A]
      query: [sig]
      fields: [pw]
      patterns: ['k_[0-9]+']
    mock: {seed: 3}
    replay: {sequence: cycle}
    endpoints:
      e: {path: /e, methods: [get, post, GET]}
      f: {path: /f}
    """
    config = load_config(write(text))
    assert config.name == "shop"
    assert config.server == ServerConfig("0.0.0.0", 8081, 7, 99)
    assert config.upstream == "https://api.example.com"
    assert config.recordings == RecordingsConfig(
        tmp_path / "rec.db", "mon", ("/api/*",), ("/health",)
    )
    assert config.redact == RedactConfig(False, ("X-A",), ("sig",), ("pw",), ("k_[0-9]+",))
    assert config.mock == {"seed": 3}
    assert config.replay == {"sequence": "cycle"}
    assert config.endpoints == {
        "e": {"path": "/e", "methods": ["GET", "POST"]},
        "f": {"path": "/f"},
    }
    assert config.path == Path("backworks.yaml")


def test_defaults_fill_every_block_left_out(tmp_path):
    """An empty file builds the defaults, with the store next to the file."""
    config = load_config(write("name: x\n"))
    assert config.server == ServerConfig()
    assert config.upstream is None
    assert config.recordings == RecordingsConfig(tmp_path / DEFAULT_STORE)
    assert config.redact == RedactConfig()
    assert (config.mock, config.replay, config.endpoints) == ({}, {}, {})


def test_a_store_path_with_a_tilde_is_in_the_home_folder(tmp_path, monkeypatch):
    """~ expands to the home folder, as in a shell."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_config(write("recordings:\n  path: ~/rec.db\n"))
    assert config.recordings.path == tmp_path / "home" / "rec.db"


def test_a_store_path_climbing_up_is_normalised(tmp_path):
    """A relative store path is joined to the file's folder and .. resolved."""
    Path("sub").mkdir()
    write("recordings:\n  path: ../data/./rec.db\n", name="sub/backworks.yaml")
    config = load_config(Path("sub/backworks.yaml"))
    assert config.recordings.path == tmp_path / "data" / "rec.db"
    assert str(config.recordings.path) == os.path.normpath(config.recordings.path)


def test_blueprint_warnings_are_exact():
    """A warning names the line, the key and why it is ignored, as one short clause."""
    config = load_config(
        write("dashboard: {port: 3005}\nendpoints:\n  e:\n    path: /e\n    capture: {}\n")
    )
    assert config.warnings == (
        "backworks.yaml:1: dashboard: ignored: run `backworks dashboard` for the live dashboard",
        "backworks.yaml:5: endpoints.e.capture: ignored: record traffic with `backworks capture` "
        "instead",
    )


@pytest.mark.parametrize("key", sorted(BLUEPRINT_TOP_KEYS))
def test_every_top_level_blueprint_key_warns_with_its_reason(key):
    """Each ignored key gives its own reason."""
    (warning,) = load_config(write(f"{key}: 1\n")).warnings
    assert warning == f"backworks.yaml:1: {key}: ignored: {BLUEPRINT_TOP_KEYS[key]}"


@pytest.mark.parametrize("key", sorted(BLUEPRINT_ENDPOINT_KEYS))
def test_every_endpoint_blueprint_key_warns_with_its_reason(key):
    """Ignored keys of an endpoint are found inside the endpoints mapping."""
    (warning,) = load_config(write(f"endpoints:\n  e:\n    path: /e\n    {key}: 1\n")).warnings
    assert (
        warning == f"backworks.yaml:4: endpoints.e.{key}: ignored: {BLUEPRINT_ENDPOINT_KEYS[key]}"
    )


def test_keys_inside_free_blocks_are_never_warnings():
    """Blocks open to any key (mode blocks, examples) hold no blueprint keys."""
    text = "endpoints:\n  e:\n    path: /e\n    proxy: {dashboard: 1, capture: 2}\n"
    assert load_config(write(text)).warnings == ()


# --- the helpers that word messages ------------------------------------------------------------


def test_a_problem_without_a_key_names_only_the_line():
    """A problem of the whole file has no key part."""
    assert _Problem(3, "", "text").render("f.yaml") == "f.yaml:3: text"
    assert _Problem(3, "a.b", "text").render("f.yaml") == "f.yaml:3: a.b: text"


def test_problems_are_combined_sorted_and_without_repeats():
    """Several problems are listed by line, then key; the same one twice is listed once."""
    b = _Problem(2, "b", "second", "hint b")
    a = _Problem(1, "a", "first")
    error = _combine([b, a, b], "f.yaml")
    assert error.message == "f.yaml has 2 errors:\n  f.yaml:1: a: first\n  f.yaml:2: b: second"
    one = _combine([b, b], "f.yaml")
    assert (one.message, one.hint) == ("f.yaml:2: b: second", "hint b")
    assert _combine([a], "f.yaml").hint == SCHEMA_HINT


def test_the_line_of_a_key_path_is_that_of_its_nearest_marked_parent():
    """A key path without a line of its own takes its parent's, else line 1."""
    marks = {(): 1, ("a",): 2, ("a", "b"): 5}
    assert _line(marks, ("a", "b")) == 5
    assert _line(marks, ("a", "b", "c")) == 5
    assert _line(marks, ("a", "b", "c", 0)) == 5
    assert _line(marks, ("a", "x")) == 2
    assert _line({}, ("a",)) == 1
    assert _line({}, ()) == 1


def test_key_paths_are_dotted_with_list_indexes_in_brackets():
    """The form editors and the schema command use: a.b[0].c."""
    assert _dotted(()) == ""
    assert _dotted(("a",)) == "a"
    assert _dotted(("a", "b", 0, "c")) == "a.b[0].c"
    assert _dotted((0, "a")) == "[0].a"
    assert _dotted(("a", True)) == "a[True]"  # YAML's on/true is an int to Python


def test_did_you_mean_keeps_the_case_of_the_choice():
    """Matching ignores case, but the suggestion is written as the schema writes it."""
    assert _did_you_mean("GTE", ["GET", "POST"]) == '; did you mean "GET"?'
    assert _did_you_mean("Get", ["get", "post"]) == '; did you mean "get"?'
    assert _did_you_mean("zzz", ["GET", "POST"]) == ""
    assert _did_you_mean("seesion", ["session", "sessions"]) == '; did you mean "session"?'


def test_type_names_are_words_and_unknown_ones_are_kept():
    """JSON Schema types read as English; a name it does not know is shown as written."""
    assert _type_name("object") == "a mapping"
    assert _type_name(["integer", "null"]) == "an integer or an empty value"
    assert _type_name(["number", "string", "array", "boolean"]) == (
        "a number or a string or a list or true or false"
    )
    assert _type_name("decimal") == "decimal"


def test_what_yaml_made_of_a_name_is_said_in_words():
    """true/false, numbers and other types (dates) each have their words."""
    import datetime

    assert _kind_of(True) == "a true/false value"
    assert _kind_of(3) == "a number"
    assert _kind_of(2.5) == "a number"
    assert _kind_of(datetime.date(2024, 1, 1)) == "a date"
    assert _kind_of(None) == "a NoneType"


def test_values_are_shown_as_a_reader_would_write_them():
    """Text in quotes (unescaped), true/false in lower case, containers by their kind."""
    assert _show(None) == "an empty value"
    assert _show(True) == "true"
    assert _show(False) == "false"
    assert _show({}) == "a mapping"
    assert _show([1]) == "a list"
    assert _show("café") == '"café"'
    assert _show(7) == "7"
    assert _show("x" * 58) == '"' + "x" * 58 + '"'
    assert _show("x" * 59) == '"' + "x" * 55 + '..."'


def test_the_first_sentence_is_the_warning_clause():
    """`Ignored: why. More.` becomes `ignored: why`; a single sentence loses its full stop."""
    assert _first_sentence("Ignored: why. More. Again.") == "ignored: why"
    assert _first_sentence("One sentence.") == "one sentence"
    assert _first_sentence("Ends in FIX.") == "ends in FIX"
    assert _first_sentence("") == ""


def test_numbers_are_ints_and_floats_but_not_booleans():
    """YAML's true is an int to Python, never a latency."""
    assert _numbers([1, 2.5])
    assert not _numbers([1, True])
    assert not _numbers([1, "2"])
    assert not _numbers([None, 1])


@pytest.mark.parametrize(
    ("command", "program"),
    [
        (["../w", "-x"], "../w"),
        ("../w -x", "../w"),
        ('"../my w" -x', "../my w"),
        ("'unbalanced", None),
        ("", None),
        ([], None),
        ([5], None),
        (5, None),
        (None, None),
    ],
)
def test_the_program_of_a_command_is_its_first_word(command, program):
    """argv[0] of a list, or of a shell-style string; nothing for anything else."""
    assert _program_of(command) == program


def test_a_local_reference_is_followed_and_others_are_kept():
    """Only #/$defs/NAME references are resolved."""
    root = {"$defs": {"e": {"type": "object"}}}
    assert _resolve({"$ref": "#/$defs/e"}, root) == {"type": "object"}
    other = {"$ref": "https://json-schema.org/draft/2020-12/schema"}
    assert _resolve(other, root) is other
    assert _resolve({}, root) == {}
