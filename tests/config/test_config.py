"""backworks.yaml: defaults, a full file, every error naming file/line/key, blueprint warnings,
path resolution, and the `schema` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backworks_cli.config.load import load_config, load_config_or_default
from backworks_cli.config.model import (
    DEFAULT_STORE,
    Config,
    RecordingsConfig,
    RedactConfig,
    ServerConfig,
)
from backworks_cli.config.schema import config_schema
from backworks_cli.core.errors import ConfigError, ExitCode

FULL = """\
name: shop
server:
  host: 0.0.0.0
  port: 8081
upstream: https://api.example.com/v1
recordings:
  path: data/shop.db
  session: monday
  include: ["/api/*"]
  exclude: ["/health", "/metrics"]
redact:
  enabled: true
  headers: [X-Session]
  query: [sig]
  fields: [password, card_number]
  patterns: ['sk_live_[0-9a-zA-Z]+', '\\d{16}']
endpoints:
  users:
    path: /users
    methods: [get, POST]
    mode: replay
    replay:
      match: [method, path]
  user:
    path: /users/{id}
    mode: mock
    mock:
      seed: 7
  orders:
    path: /orders
    methods: [GET]
    mode: proxy
    proxy:
      target: https://api.example.com
"""

# Modelled on the original Backworks blueprints: a runtime JavaScript endpoint and a dashboard.
BLUEPRINT = """\
name: "Blog API"
description: "A blog backend"
version: "1.0.0"
server:
  host: "0.0.0.0"
  port: 3004
dashboard:
  enabled: true
  port: 3005
mode: "runtime"
endpoints:
  posts:
    path: "/posts"
    methods: ["GET", "POST"]
    description: "Blog posts management"
    runtime:
      language: "javascript"
      handler: |
        function handler(req, res) {
          return { status: 200, body: { posts: [] } };
        }
  post_detail:
    path: "/posts/{id}"
    methods: ["GET"]
    capture:
      enabled: true
    runtime:
      language: "javascript"
      handler: "function handler(req) { return { status: 200 }; }"
logging:
  level: "info"
"""


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Run in tmp_path so that messages name files as a user would type them."""
    monkeypatch.chdir(tmp_path)


def write(directory: Path, text: str, name: str = "backworks.yaml") -> Path:
    """Write the file and return its path relative to the current folder."""
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return Path(os.path.relpath(path))


def error_of(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.exit_code == ExitCode.CONFIG
    return caught.value


# --- valid files ---------------------------------------------------------------------------


def test_defaults():
    config = Config()
    assert config.name == "backworks"
    assert config.server == ServerConfig("127.0.0.1", 3000)
    assert config.upstream is None
    assert config.recordings == RecordingsConfig(DEFAULT_STORE, "default", (), ())
    assert config.redact == RedactConfig()
    assert config.redact.enabled is True
    assert config.endpoints == {}
    assert config.path is None and config.warnings == ()


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "{}\n"])
def test_empty_file_gives_defaults(tmp_path, text):
    path = write(tmp_path, text)
    config = load_config(path)
    assert config.name == "backworks"
    assert config.server == ServerConfig()
    assert config.endpoints == {}
    assert config.warnings == ()
    assert config.path == path
    # The default store lives next to the file, not next to wherever backworks was started.
    assert config.recordings.path == tmp_path / DEFAULT_STORE


def test_full_file(tmp_path):
    config = load_config(write(tmp_path, FULL))
    assert config.name == "shop"
    assert config.server == ServerConfig("0.0.0.0", 8081)
    assert config.upstream == "https://api.example.com/v1"
    assert config.recordings == RecordingsConfig(
        path=tmp_path / "data" / "shop.db",
        session="monday",
        include=("/api/*",),
        exclude=("/health", "/metrics"),
    )
    assert config.redact == RedactConfig(
        enabled=True,
        headers=("X-Session",),
        query=("sig",),
        fields=("password", "card_number"),
        patterns=("sk_live_[0-9a-zA-Z]+", "\\d{16}"),
    )
    assert list(config.endpoints) == ["users", "user", "orders"]
    assert config.endpoints["users"] == {
        "path": "/users",
        "methods": ["GET", "POST"],
        "mode": "replay",
        "replay": {"match": ["method", "path"]},
    }
    assert config.endpoints["user"] == {"path": "/users/{id}", "mode": "mock", "mock": {"seed": 7}}
    assert config.endpoints["orders"]["proxy"] == {"target": "https://api.example.com"}
    assert config.warnings == ()


def test_config_is_frozen(tmp_path):
    config = load_config(write(tmp_path, FULL))
    with pytest.raises(AttributeError):
        config.name = "other"  # type: ignore[misc]


def test_relative_store_path_is_resolved_against_the_config_folder(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write(project, "recordings:\n  path: ../shared/rec.db\n")
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("../project/backworks.yaml"))
    assert config.recordings.path == tmp_path / "shared" / "rec.db"
    assert config.recordings.path.is_absolute()


def test_absolute_store_path_is_kept(tmp_path):
    target = tmp_path / "abs" / "rec.db"
    config = load_config(write(tmp_path, f"recordings:\n  path: {target}\n"))
    assert config.recordings.path == target


def test_methods_are_upper_cased_and_deduplicated(tmp_path):
    text = "endpoints:\n  a:\n    path: /a\n    methods: [get, GET, delete]\n"
    config = load_config(write(tmp_path, text))
    assert config.endpoints["a"]["methods"] == ["GET", "DELETE"]


def test_http_upstream_and_yaml_anchors(tmp_path):
    text = """\
    upstream: http://127.0.0.1:9000
    endpoints:
      a: &common
        path: /a
        mode: mock
      b:
        <<: *common
        path: /b
    """
    config = load_config(write(tmp_path, text))
    assert config.upstream == "http://127.0.0.1:9000"
    assert config.endpoints["b"] == {"path": "/b", "mode": "mock"}


# --- load_config_or_default ----------------------------------------------------------------


def test_no_path_and_no_file_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_config_or_default(None) == Config()


def test_no_path_reads_backworks_yaml_in_the_current_folder(tmp_path, monkeypatch):
    write(tmp_path, "name: here\n")
    monkeypatch.chdir(tmp_path)
    config = load_config_or_default(None)
    assert config.name == "here"
    assert config.recordings.path == tmp_path / DEFAULT_STORE


def test_explicit_missing_path_is_an_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config_or_default(tmp_path / "nope.yaml")
    assert "nope.yaml" in caught.value.message
    assert "no such file" in caught.value.message
    assert caught.value.hint and "--config" in caught.value.hint


def test_missing_file(tmp_path):
    error = error_of(tmp_path / "absent.yaml")
    assert "absent.yaml: no such file" in error.message


def test_folder_instead_of_file(tmp_path):
    assert "is a folder" in error_of(tmp_path).message


def test_not_utf8(tmp_path):
    path = tmp_path / "backworks.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    error = error_of(path)
    assert "backworks.yaml" in error.message and "UTF-8" in error.message


# --- errors --------------------------------------------------------------------------------


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    text = "name: shop\nserver:\n  host: a: b\n"
    error = error_of(write(tmp_path, text))
    assert error.message.startswith("backworks.yaml:3:") or "backworks.yaml:3:" in error.message
    assert "invalid YAML" in error.message
    assert error.hint and "indent" in error.hint


def test_tab_indentation_is_a_syntax_error_with_its_line(tmp_path):
    error = error_of(write(tmp_path, "server:\n\tport: 3000\n"))
    assert "backworks.yaml:2:" in error.message
    assert "invalid YAML" in error.message


def test_two_documents_is_a_syntax_error(tmp_path):
    error = error_of(write(tmp_path, "name: a\n---\nname: b\n"))
    assert "backworks.yaml:2:" in error.message


@pytest.mark.parametrize(
    ("text", "found"),
    [("- a\n- b\n", "a list"), ("just words\n", '"just words"'), ("42\n", "42")],
)
def test_top_level_must_be_a_mapping(tmp_path, text, found):
    error = error_of(write(tmp_path, text))
    assert "backworks.yaml:1:" in error.message
    assert "top level must be a mapping" in error.message
    assert found in error.message


@pytest.mark.parametrize(
    ("text", "line", "key", "suggestion"),
    [
        ("nmae: shop\n", 1, "nmae", "name"),
        ("server:\n  prot: 1\n", 2, "server.prot", "port"),
        ("name: x\nrecordings:\n  path: a.db\n  sesion: s\n", 4, "recordings.sesion", "session"),
        ("redact:\n  header: [a]\n", 2, "redact.header", "headers"),
        (
            "endpoints:\n  users:\n    path: /u\n    metods: [GET]\n",
            4,
            "endpoints.users.metods",
            "methods",
        ),
        ("endpoint:\n  users:\n    path: /u\n", 1, "endpoint", "endpoints"),
    ],
)
def test_unknown_keys_suggest_the_nearest(tmp_path, text, line, key, suggestion):
    error = error_of(write(tmp_path, text))
    assert error.message == (
        f'backworks.yaml:{line}: {key}: unknown key; did you mean "{suggestion}"?'
    )
    assert error.hint and "backworks schema" in error.hint


def test_unknown_key_without_a_near_match_lists_the_allowed_keys(tmp_path):
    error = error_of(write(tmp_path, "server:\n  zzzzzz: 1\n"))
    assert error.message == "backworks.yaml:2: server.zzzzzz: unknown key"
    assert error.hint and "host, port" in error.hint


def test_unknown_keys_inside_mode_blocks_are_allowed(tmp_path):
    text = "endpoints:\n  a:\n    path: /a\n    mock:\n      anything: [1, 2]\n"
    config = load_config(write(tmp_path, text))
    assert config.endpoints["a"]["mock"] == {"anything": [1, 2]}


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ('server:\n  port: "abc"\n', 2, "server.port", ['expected an integer, got "abc"']),
        ("server:\n  port: abc\n", 2, "server.port", ["expected an integer"]),
        ("server:\n  port: 70000\n", 2, "server.port", ["70000", "between 1 and 65535"]),
        ("server:\n  port: 0\n", 2, "server.port", ["0 is out of range"]),
        ("server: 5\n", 1, "server", ["expected a mapping, got 5"]),
        ("name: [a]\n", 1, "name", ["expected a string, got a list"]),
        ("redact:\n  enabled: maybe\n", 2, "redact.enabled", ["expected true or false"]),
        ("recordings:\n  include: /api/*\n", 2, "recordings.include", ["expected a list"]),
        ("endpoints:\n  a:\n", 2, "endpoints.a", ["expected a mapping, got an empty value"]),
        ("upstream: ftp://example.com\n", 1, "upstream", ["http:// or https://"]),
        ("upstream: api.example.com\n", 1, "upstream", ['"api.example.com"', "http://"]),
        ("upstream: 'https://'\n", 1, "upstream", ["http:// or https://"]),
        (
            "redact:\n  patterns:\n    - 'ok+'\n    - '(unclosed'\n",
            4,
            "redact.patterns[1]",
            ['"(unclosed" is not a valid regular expression', "missing )"],
        ),
        ("endpoints:\n  a:\n    mode: mock\n", 2, "endpoints.a", ['missing required key "path"']),
        ("endpoints:\n  a:\n    path: users\n", 3, "endpoints.a.path", ["must start with /"]),
        (
            "endpoints:\n  a:\n    path: /a\n    mode: mok\n",
            4,
            "endpoints.a.mode",
            ['"mok" is not one of replay, mock', 'did you mean "mock"?'],
        ),
        (
            "endpoints:\n  a:\n    path: /a\n    methods:\n      - GET\n      - GTE\n",
            6,
            "endpoints.a.methods[1]",
            ['"GTE" is not one of GET, POST', 'did you mean "GET"?'],
        ),
        ("endpoints:\n  a:\n    path: /a\n    mock: 3\n", 4, "endpoints.a.mock", ["a mapping"]),
    ],
)
def test_invalid_values_name_line_and_key(tmp_path, text, line, key, words):
    error = error_of(write(tmp_path, text))
    assert error.message.startswith(f"backworks.yaml:{line}: {key}: "), error.message
    for word in words:
        assert word in error.message
    assert error.hint


def test_type_error_hint_describes_the_key(tmp_path):
    error = error_of(write(tmp_path, "server:\n  port: abc\n"))
    assert error.hint == "TCP port to listen on, 1 to 65535."


def test_duplicate_keys_are_reported(tmp_path):
    text = "name: a\nserver:\n  port: 1\n  port: 2\n"
    error = error_of(write(tmp_path, text))
    assert error.message == "backworks.yaml:4: server.port: duplicate key (already set on line 3)"


def test_several_errors_are_reported_together_sorted_by_line(tmp_path):
    text = """\
    name: shop
    upstream: nowhere
    server:
      port: abc
    recordings:
      sesion: monday
    endpoints:
      users:
        mode: mok
    nmae: again
    """
    error = error_of(write(tmp_path, text))
    first, *rest = error.message.splitlines()
    assert first == "backworks.yaml has 6 errors:"
    assert [line.split(":")[1] for line in rest] == ["2", "4", "6", "8", "9", "10"]
    assert "upstream:" in rest[0]
    assert "server.port: expected an integer" in rest[1]
    assert 'recordings.sesion: unknown key; did you mean "session"?' in rest[2]
    assert 'endpoints.users: missing required key "path"' in rest[3]
    assert 'did you mean "mock"?' in rest[4]
    assert 'nmae: unknown key; did you mean "name"?' in rest[5]
    assert error.hint and "backworks schema" in error.hint


def test_error_names_the_file_as_given(tmp_path):
    path = write(tmp_path, "server:\n  port: abc\n", name="staging.yml")
    error = error_of(path)
    assert error.message.startswith(f"{path}:2: server.port:")


# --- blueprint files -----------------------------------------------------------------------


def test_blueprint_keys_are_warnings_and_the_file_loads(tmp_path):
    config = load_config(write(tmp_path, BLUEPRINT))
    assert config.name == "Blog API"
    assert config.server == ServerConfig("0.0.0.0", 3004)
    assert config.endpoints["posts"]["runtime"]["language"] == "javascript"
    assert "function handler" in config.endpoints["posts"]["runtime"]["handler"]
    assert config.endpoints["posts"]["methods"] == ["GET", "POST"]
    assert config.endpoints["post_detail"]["path"] == "/posts/{id}"
    expected = [
        (2, "description"),
        (3, "version"),
        (7, "dashboard"),
        (10, "mode"),
        (15, "endpoints.posts.description"),
        (25, "endpoints.post_detail.capture"),
        (30, "logging"),
    ]
    assert len(config.warnings) == len(expected)
    for warning, (line, key) in zip(config.warnings, expected, strict=True):
        assert warning.startswith(f"backworks.yaml:{line}: {key}: ignored")
    assert "backworks dashboard" in config.warnings[2]


@pytest.mark.parametrize(
    "key",
    [
        "description",
        "version",
        "mode",
        "runtime",
        "dashboard",
        "database",
        "apis",
        "cache",
        "security",
        "monitoring",
        "global_headers",
        "logging",
        "plugins",
        "ai",
    ],
)
def test_every_top_level_blueprint_key_is_a_warning(tmp_path, key):
    config = load_config(write(tmp_path, f"{key}:\n  anything: [1]\n"))
    assert len(config.warnings) == 1
    assert f"backworks.yaml:1: {key}: ignored" in config.warnings[0]


@pytest.mark.parametrize(
    "key",
    [
        "description",
        "capture",
        "plugin",
        "ai_enhanced",
        "ai_suggestions",
        "apis",
        "parameters",
        "validation",
        "monitoring",
    ],
)
def test_every_endpoint_blueprint_key_is_a_warning(tmp_path, key):
    text = f"endpoints:\n  e:\n    path: /e\n    {key}: true\n"
    config = load_config(write(tmp_path, text))
    assert len(config.warnings) == 1
    assert f"backworks.yaml:4: endpoints.e.{key}: ignored" in config.warnings[0]
    assert config.endpoints["e"][key] is True


def test_warnings_do_not_hide_errors(tmp_path):
    error = error_of(write(tmp_path, "dashboard: {}\nserver:\n  port: abc\n"))
    assert error.message.startswith("backworks.yaml:3: server.port:")


# --- the schema ----------------------------------------------------------------------------


def properties_of(schema: dict, where: str = "") -> list[tuple[str, dict]]:
    """Every (dotted name, subschema) under `properties` anywhere in the schema."""
    found = []
    for name, sub in schema.get("properties", {}).items():
        found.append((f"{where}{name}", sub))
        found += properties_of(sub, f"{where}{name}.")
    for name, sub in schema.get("$defs", {}).items():
        found += properties_of(sub, f"$defs.{name}.")
    return found


def test_schema_is_valid_and_documents_every_property():
    from jsonschema import Draft202012Validator

    schema = config_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"]
    names = properties_of(schema)
    assert len(names) > 30
    for name, sub in names:
        assert sub.get("description"), f"{name} has no description"
    deprecated = {name for name, sub in names if sub.get("deprecated")}
    assert {"dashboard", "ai", "$defs.endpoint.capture"} <= deprecated
    assert schema["properties"]["server"]["properties"]["port"]["default"] == 3000


def test_schema_accepts_what_the_loader_accepts(tmp_path):
    import yaml
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(
        config_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    assert list(validator.iter_errors(yaml.safe_load(FULL))) == []
    assert list(validator.iter_errors(yaml.safe_load(BLUEPRINT))) == []
    assert list(validator.iter_errors({"server": {"port": "abc"}}))


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backworks_cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_schema_command_prints_a_valid_schema(tmp_path):
    import yaml
    from jsonschema import Draft202012Validator

    result = run_cli("schema", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    Draft202012Validator.check_schema(schema)
    assert schema == json.loads(json.dumps(config_schema()))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert list(validator.iter_errors(yaml.safe_load(FULL))) == []
    errors = list(validator.iter_errors({"server": {"port": 70000}, "sesion": 1}))
    assert {e.validator for e in errors} == {"maximum", "additionalProperties"}


def test_command_with_a_bad_config_exits_3_without_a_traceback(tmp_path):
    write(tmp_path, "name: shop\nrecordings:\n  sesion: x\n", name="bad.yaml")
    result = run_cli("recordings", "list", "-c", "bad.yaml", cwd=tmp_path)
    assert result.returncode == ExitCode.CONFIG == 3
    assert result.stdout == ""
    assert "Error: bad.yaml:3: recordings.sesion: unknown key" in result.stderr
    assert "Hint:" in result.stderr
    assert "Traceback" not in result.stderr


# --- robustness ----------------------------------------------------------------------------


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=200),
        st.lists(
            st.sampled_from(
                [
                    "server:",
                    "  port: 80",
                    "  port: x",
                    "endpoints:",
                    "  a:",
                    "    path: /a",
                    "    mode: mock",
                    "    methods: [get]",
                    "recordings:",
                    "  path: r.db",
                    "redact:",
                    "  patterns: ['[']",
                    "dashboard: 1",
                    "- item",
                    "&x a: *x",
                    "\t",
                    "key: value",
                    "{",
                ]
            ),
            max_size=12,
        ).map("\n".join),
    )
)
def test_any_text_loads_or_raises_config_error(tmp_path, text):
    path = tmp_path / "backworks.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        config = load_config(path)
    except ConfigError as error:
        assert str(path) in error.message
        assert error.hint
    else:
        assert isinstance(config, Config)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(port=st.integers(min_value=-100_000, max_value=100_000), pad=st.integers(0, 5))
def test_port_is_accepted_exactly_in_range(tmp_path, port, pad):
    path = tmp_path / "backworks.yaml"
    path.write_text("\n" * pad + f"server:\n  port: {port}\n", encoding="utf-8")
    if 1 <= port <= 65535:
        assert load_config(path).server.port == port
    else:
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert caught.value.message.startswith(f"{path}:{pad + 2}: server.port: {port} ")


# --- endpoints: the typed model and the keys of the endpoint spec --------------------------

SPEC = """\
mock:
  latency: recorded
  faults: {error_status: 503}
replay:
  ignore_query: [ts]
endpoints:
  get_users_id:
    path: /api/users/{id}
    methods: [get]
    mode: mock
    params:
      id: {type: integer, minimum: 1}
    query:
      page: {type: integer, required: false}
    responses:
      200:
        content_type: application/json
        schema:
          type: object
          properties:
            email: {type: string, format: email, x-semantic: email}
        headers: {X-Request-Id: {type: string}}
      "404":
        schema: {type: object}
    status_mix: {"200": 0.9, "404": 0.1}
    latency: {p50: 12.5, p95: 40.0}
    examples: [3, 17, 42]
    replay:
      ignore_json: ["$.timestamp", "$.meta.nonce"]
      headers: [X-Tenant]
      sequence: cycle
    mock:
      state: false
      latency: {lognormal: {p50: 5, p95: 20}}
      faults:
        error_rate: 0.1
        reset_rate: 0.0
        slow_body: {bytes_per_second: 512}
      validate: true
      seed: 4
  post_orders:
    path: /api/orders
    methods: [POST]
    request:
      schema: {type: object, required: [user_id]}
  avatar:
    path: /api/avatars/{id}.png
"""


def test_every_key_of_the_endpoint_spec_loads_into_typed_endpoints(tmp_path):
    from backworks_cli.config.model import DEFAULT_METHODS, Endpoint

    config = load_config(write(tmp_path, SPEC))
    assert config.warnings == ()
    assert config.mock == {"latency": "recorded", "faults": {"error_status": 503}}
    assert config.replay == {"ignore_query": ["ts"]}
    users, orders, avatar = config.endpoint_list()
    assert isinstance(users, Endpoint)
    assert (users.name, users.path, users.methods, users.mode) == (
        "get_users_id",
        "/api/users/{id}",
        ("GET",),
        "mock",
    )
    assert users.params == {"id": {"type": "integer", "minimum": 1}}
    assert users.query == {"page": {"type": "integer", "required": False}}
    assert users.request is None
    assert list(users.responses) == ["200", "404"]  # YAML's integer key 200 becomes "200"
    assert users.responses["200"]["headers"] == {"X-Request-Id": {"type": "string"}}
    assert users.responses["404"] == {
        "content_type": "application/json",
        "schema": {"type": "object"},
        "headers": {},
    }
    assert users.latency == {"p50": 12.5, "p95": 40.0}
    assert users.examples == (3, 17, 42)
    assert users.replay["ignore_query"] == ["ts"] and users.replay["sequence"] == "cycle"
    assert users.mock["latency"] == {"lognormal": {"p50": 5, "p95": 20}}
    assert users.mock["faults"] == {
        "error_status": 503,
        "error_rate": 0.1,
        "reset_rate": 0.0,
        "slow_body": {"bytes_per_second": 512},
    }
    assert users.raw["status_mix"] == {"200": 0.9, "404": 0.1}
    assert orders.request == {
        "content_type": "application/json",
        "schema": {"type": "object", "required": ["user_id"]},
    }
    assert orders.mock == config.mock and orders.replay == config.replay
    assert avatar.methods == DEFAULT_METHODS and avatar.mode == "mock"
    assert avatar.params == {"id": {"type": "string"}}
    assert avatar.param_names == ("id",)


def test_the_schema_describes_every_key_of_the_endpoint_spec():
    schema = config_schema()
    endpoint = schema["$defs"]["endpoint"]["properties"]
    assert {
        "path", "methods", "mode", "params", "query", "request", "responses", "status_mix",
        "latency", "examples", "replay", "mock", "proxy", "runtime", "database",
    } <= set(endpoint)  # fmt: skip
    assert set(schema["$defs"]["mock"]["properties"]) == {
        "state", "latency", "faults", "validate", "seed",
    }  # fmt: skip
    assert set(schema["$defs"]["replay"]["properties"]) == {
        "ignore_query", "ignore_json", "headers", "sequence",
    }  # fmt: skip
    assert schema["properties"]["mock"]["$ref"] == "#/$defs/mock"
    assert schema["properties"]["replay"]["$ref"] == "#/$defs/replay"


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        (
            "endpoints:\n  a:\n    path: /a\n    mock:\n      latency: fast\n",
            5,
            "endpoints.a.mock.latency",
            ['"fast" is not one of none, recorded'],
        ),
        (
            "endpoints:\n  a:\n    path: /a\n    mock:\n      latency: {fixd: 3}\n",
            5,
            "endpoints.a.mock.latency.fixd",
            ["unknown key", 'did you mean "fixed"?'],
        ),
        (
            "mock:\n  latency:\n    uniform: [50, 5]\n",
            3,
            "mock.latency.uniform",
            ["minimum is above its maximum"],
        ),
        (
            "mock:\n  latency: {lognormal: {p50: 30, p95: 10}}\n",
            2,
            "mock.latency.lognormal",
            ["p50 is above p95"],
        ),
        (
            "mock:\n  faults:\n    error_rate: 1.5\n",
            3,
            "mock.faults.error_rate",
            ["1.5 is out of range; it must be between 0 and 1"],
        ),
        (
            "mock:\n  faults:\n    eror_rate: 0.5\n",
            3,
            "mock.faults.eror_rate",
            ['unknown key; did you mean "error_rate"?'],
        ),
        (
            "mock:\n  faults: {error_status: 700}\n",
            2,
            "mock.faults.error_status",
            ["between 100 and 599"],
        ),
        ("mock:\n  state: yes please\n", 2, "mock.state", ["expected true or false"]),
        (
            "replay:\n  sequence: cycl\n",
            2,
            "replay.sequence",
            ['"cycl" is not one of repeat_last, cycle, first', 'did you mean "cycle"?'],
        ),
        (
            "replay:\n  ignore_json: [timestamp]\n",
            2,
            "replay.ignore_json[0]",
            ["must be a JSON path starting with $"],
        ),
        (
            "endpoints:\n  a:\n    path: /a\n    responses:\n      ok: {}\n",
            4,
            "endpoints.a.responses",
            ['"ok" must be a status code from 100 to 599'],
        ),
        (
            "endpoints:\n  a:\n    path: /a\n    responses:\n      '200':\n        schema:\n"
            "          type: strin\n",
            7,
            "endpoints.a.responses.200.schema.type",
            ['"strin" is not one of', 'did you mean "string"?'],
        ),
        (
            "endpoints:\n  a:\n    path: /a\n    request:\n      body: {}\n",
            5,
            "endpoints.a.request.body",
            ["unknown key"],
        ),
        (
            "endpoints:\n  a:\n    path: /u/{id}\n    params:\n      ident: {type: integer}\n",
            5,
            "endpoints.a.params.ident",
            ["the path /u/{id} has no {ident}"],
        ),
        (
            "endpoints:\n  a:\n    path: /u/{on}\n    params:\n      on: {type: boolean}\n",
            5,
            "endpoints.a.params[True]",
            ["has no {True}", "YAML reads on/off/yes/no/true/false as true or false"],
        ),
        (
            "endpoints:\n  a:\n    path: /u/{id\n",
            3,
            "endpoints.a.path",
            ["has a { or } that is not part of a {name} parameter"],
        ),
        (
            "endpoints:\n  a:\n    path: /u/{id}/{id}\n",
            3,
            "endpoints.a.path",
            ["names the parameter {id} twice"],
        ),
        ("endpoints:\n  a:\n    path: /u/{a}{b}\n", 3, "endpoints.a.path", ["side by side"]),
        ("endpoints:\n  a:\n    path: /u/{1x}\n", 3, "endpoints.a.path", ["{1x}"]),
        ("endpoints:\n  a:\n    path: /a\n    methods: []\n", 4, "endpoints.a.methods", ["[]"]),
        (
            "endpoints:\n  a:\n    path: /a\n    examples: [0]\n",
            4,
            "endpoints.a.examples[0]",
            ["0 is out of range"],
        ),
        (
            "endpoints:\n  a:\n    path: /a\n    status_mix: {'200': 2}\n",
            4,
            "endpoints.a.status_mix.200",
            ["out of range"],
        ),
    ],
)
def test_invalid_endpoint_keys_name_line_and_key(tmp_path, text, line, key, words):
    error = error_of(write(tmp_path, text))
    assert error.message.startswith(f"backworks.yaml:{line}: {key}: "), error.message
    for word in words:
        assert word in error.message, error.message
    assert error.hint


def test_two_endpoints_may_not_answer_the_same_method_and_path(tmp_path):
    text = """\
    endpoints:
      user:
        path: /users/{id}
        methods: [GET, PUT]
      user_again:
        path: /users/{uid}/
        methods: [GET]
      user_by_number:
        path: /users/{n}
        methods: [GET]
        params: {n: {type: integer}}
      everything:
        path: /other
      other_post:
        path: /other
        methods: [POST]
    """
    error = error_of(write(tmp_path, text))
    lines = error.message.splitlines()[1:]
    assert len(lines) == 2
    assert lines[0].endswith(
        "backworks.yaml:6: endpoints.user_again.path: GET /users/{uid}/ is already answered "
        "by endpoint user"
    )
    assert lines[1].endswith(
        "endpoints.other_post.path: POST /other is already answered by endpoint everything"
    )


def test_paths_with_parameters_inside_segments_load(tmp_path):
    text = "endpoints:\n  a:\n    path: /avatars/{id}.{ext}\n    params: {id: {type: integer}}\n"
    config = load_config(write(tmp_path, text))
    assert config.endpoint_list()[0].params == {
        "id": {"type": "integer"},
        "ext": {"type": "string"},
    }
