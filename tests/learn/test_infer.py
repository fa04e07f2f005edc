"""`backworks infer`: recordings of the real sample API (in process, through httpx's ASGI
transport) into a store, then backworks.yaml out: golden file, idempotence, merging with a file
the user edited, and the inputs that must not break it.

Regenerate the golden file with
`BACKWORKS_UPDATE_GOLDEN=1 python -m pytest tests/learn/test_infer.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from jsonschema import Draft202012Validator

from backworks_cli.config.load import load_config
from backworks_cli.core.errors import BackworksError, ConfigError, ExitCode, StoreError
from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.demo.sample_api import DEMO_PASSWORD, create_app
from backworks_cli.learn.infer import infer, write_config
from backworks_cli.record.store import Store

GOLDEN = Path(__file__).parents[1] / "golden" / "sample_api.backworks.yaml"
JSON = (("content-type", "application/json"),)


class NameClassifier:
    """A stand-in for the semantic model: the type from the field's name alone (stable, so
    the golden file does not change when the model is retrained)."""

    TYPES: ClassVar[dict[str, str]] = {
        "email": "email",
        "first_name": "first_name",
        "last_name": "last_name",
        "city": "city",
        "uuid": "uuid",
        "created_at": "datetime",
        "price": "price",
        "total": "price",
        "phone": "phone",
        "country_code": "country_code",
    }

    def __init__(self) -> None:
        self.calls = 0

    def classify(self, fields):
        self.calls += 1
        return [(self.TYPES.get(f.name, "other"), 0.9) for f in fields]


# --- recording the sample API -----------------------------------------------------------------


def journey(users: list[dict]):
    """(method, target, httpx keyword arguments) of a client visiting every route."""
    yield "GET", "/api/health", {}
    yield "GET", "/api/health", {}
    for page in range(1, 6):
        yield "GET", f"/api/users?page={page}&per_page=10", {}
    for uid in (*range(1, 16), 999):
        yield "GET", f"/api/users/{uid}", {}
    yield "GET", "/api/users/me", {}
    login = {"username": users[0]["username"], "password": DEMO_PASSWORD}
    yield "POST", "/api/login", {"json": login}
    yield "GET", "/api/users/me", {}
    yield "POST", "/api/login", {"json": {"username": users[1]["username"], "password": "nope"}}
    yield "POST", "/api/login", {"json": {}}
    yield "GET", "/api/products", {}
    for category in ("books", "toys", "garden"):
        yield "GET", f"/api/products?category={category}", {}
    for pid in (*range(1, 13), 99):
        yield "GET", f"/api/products/{pid}", {}
    for status in ("", "paid", "pending", "shipped"):
        yield "GET", "/api/orders" + (f"?status={status}" if status else ""), {}
    for oid in (*range(1, 13), 404):
        yield "GET", f"/api/orders/{oid}", {}
    for n in range(1, 4):
        order = {"user_id": n, "items": [{"product_id": n, "quantity": 2}]}
        yield "POST", "/api/orders", {"json": order}
    yield "POST", "/api/orders", {"json": {"user_id": 1, "items": []}}
    truncated = b'{"user_id": 1, "items": ['
    yield "POST", "/api/orders", {"content": truncated, "headers": dict(JSON)}
    yield "GET", "/api/reports/daily", {}
    yield "GET", "/api/events?count=2", {}
    for uid in (1, 2, 3, 777):
        yield "GET", f"/api/avatar/{uid}.png", {}


async def _record(session: str) -> list[Exchange]:
    app = create_app()
    exchanges: list[Exchange] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
        token = None
        for n, (method, target, kwargs) in enumerate(journey(app.users)):
            headers = dict(kwargs.pop("headers", {}))
            if target == "/api/users/me" and token:
                headers["authorization"] = f"Bearer {token}"
            response = await client.request(method, target, headers=headers, **kwargs)
            if target == "/api/login" and response.status_code == 200:
                token = response.json()["access_token"]
            request = response.request
            exchanges.append(
                Exchange(
                    Request(
                        method,
                        request.url.path,
                        tuple(request.url.params.multi_items()),
                        tuple(request.headers.items()),
                        request.content,
                        "http",
                        "shop.test",
                        80,
                    ),
                    Response(
                        response.status_code, tuple(response.headers.items()), response.content
                    ),
                    started_at=1_700_000_000.0 + n,
                    duration_ms=float(3 + n % 11),  # fixed, so that latency figures are stable
                    session=session,
                )
            )
    return exchanges


def record_sample_api(store: Store, session: str = "journey") -> int:
    return store.add_many(asyncio.run(_record(session)))


@pytest.fixture
def sample_store(tmp_path):
    path = tmp_path / "recordings" / "backworks.db"
    with Store.open(path, create=True) as store:
        record_sample_api(store)
    return path


def run_infer(store_path: Path, config: Path, **kwargs):
    with Store.open(store_path) as store:
        result = infer(
            store,
            existing=config,
            classifier=kwargs.pop("classifier", None) or NameClassifier(),
            **kwargs,
        )
    write_config(config, result.text)
    return result


# --- golden file and round trips --------------------------------------------------------------


def test_golden_backworks_yaml_for_the_sample_api(sample_store, tmp_path):
    config = tmp_path / "backworks.yaml"
    result = run_infer(sample_store, config)
    text = config.read_text()
    if os.environ.get("BACKWORKS_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "run with BACKWORKS_UPDATE_GOLDEN=1 to accept the change"
    assert result.exchanges == 73 and result.count("new") == len(result.endpoints) == 13
    assert any("do not parse" in note for note in result.notes)
    loaded = load_config(config)
    assert loaded.endpoints["get_api_users_id"]["path"] == "/api/users/{id}"
    assert "get_api_users_me" in loaded.endpoints  # the literal next to the template


def test_every_recorded_body_validates_against_what_was_learned(sample_store, tmp_path):
    config = tmp_path / "backworks.yaml"
    run_infer(sample_store, config)
    endpoints = load_config(config).endpoints
    checked = 0
    with Store.open(sample_store) as store:
        for ex in store.query():
            spec = next(
                e
                for e in endpoints.values()
                if ex.request.method in e["methods"] and _matches(e["path"], ex.request.path)
            )
            answer = spec["responses"][str(ex.response.status)]
            if "json" in (answer.get("content_type") or "") and ex.response.body:
                validator = Draft202012Validator(
                    answer["schema"], format_checker=Draft202012Validator.FORMAT_CHECKER
                )
                assert validator.is_valid(json.loads(ex.response.body)), (spec["path"], ex.id)
                checked += 1
    assert checked > 60


def _matches(template: str, path: str) -> bool:
    import re

    pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
    return re.fullmatch(pattern, path) is not None


def test_a_second_run_changes_no_byte(sample_store, tmp_path):
    config = tmp_path / "backworks.yaml"
    run_infer(sample_store, config)
    first = config.read_bytes()
    again = run_infer(sample_store, config)
    assert config.read_bytes() == first
    assert not again.changed and again.count("unchanged") == 13


def test_merge_keeps_user_edits_and_widens_with_new_evidence(sample_store, tmp_path):
    config = tmp_path / "backworks.yaml"
    run_infer(sample_store, config)
    text = config.read_text()
    text = text.replace(
        "  get_api_users_id:\n    path: /api/users/{id}\n    methods: [GET]\n    mode: mock\n",
        "  # users come from the staging database\n"
        "  get_api_users_id:\n    path: /api/users/{id}\n    methods: [GET]\n    mode: replay\n"
        "    mock: {latency: recorded}  # slow on purpose\n",
    )
    text = text.replace("  get_api_health:\n", "  health:\n")  # renamed by the user
    text = text.replace(
        "            email: {type: string, format: email, x-semantic: email}",
        "            email: {type: string, format: email, x-semantic: work_email}",
    )
    config.write_text(text)
    with Store.open(sample_store) as store:
        user = {"id": 99, "email": "new@example.com", "nickname": "zed"}
        store.add_many(
            [
                Exchange(
                    Request("GET", "/api/users/99"),
                    Response(200, JSON, json.dumps(user).encode()),
                    session="more",
                ),
                Exchange(
                    Request("GET", "/api/coupons"),
                    Response(200, JSON, b'[{"code": "SPRING"}]'),
                    session="more",
                ),
            ]
        )
    result = run_infer(sample_store, config)
    after = config.read_text()
    assert "  # users come from the staging database\n" in after
    assert "    mode: replay\n    mock: {latency: recorded}  # slow on purpose\n" in after
    assert "x-semantic: work_email" in after
    endpoints = load_config(config).endpoints
    assert "health" in endpoints and "get_api_health" not in endpoints
    users = endpoints["get_api_users_id"]["responses"]["200"]["schema"]
    assert "nickname" in users["properties"] and "nickname" not in users["required"]
    assert "first_name" not in users["required"]  # the new user has none
    assert endpoints["get_api_coupons"]["mode"] == "mock"
    states = {e.name: e.state for e in result.endpoints}
    assert states["get_api_coupons"] == "new" and states["get_api_users_id"] == "updated"
    assert states["health"] == "unchanged"
    assert list(endpoints).index("get_api_coupons") < list(endpoints).index("health")


def test_endpoints_no_longer_seen_stay(sample_store, tmp_path):
    config = tmp_path / "backworks.yaml"
    run_infer(sample_store, config)
    with Store.open(sample_store) as store:
        store.add(Exchange(Request("GET", "/api/health"), Response(200, JSON, b"{}"), session="x"))
    result = run_infer(sample_store, config, session="x")
    assert len(load_config(config).endpoints) == 13
    assert len(result.unseen) == 12 and "get_api_users_id" in result.unseen


def test_traffic_goes_to_the_endpoint_that_would_answer_it(sample_store, tmp_path):
    config = tmp_path / "backworks.yaml"
    config.write_text(
        "endpoints:\n"
        "  user:  # the user's own name and parameter\n"
        "    path: /api/users/{user}\n"
        "    methods: [GET]\n"
        "  avatars:\n"
        "    path: /api/avatar/{file}\n"
    )
    result = run_infer(sample_store, config)
    endpoints = load_config(config).endpoints
    assert "get_api_users_id" not in endpoints and "get_api_avatar_id_png" not in endpoints
    # GET /api/users/me goes to `user` too, as the engine would route it: the ids and "me"
    assert endpoints["user"]["params"] == {"user": {"type": ["integer", "string"]}}
    assert "get_api_users_me" not in endpoints
    assert endpoints["avatars"]["params"] == {"file": {"type": "string"}}
    assert {e.name: e.samples for e in result.endpoints}["user"] == 18


# --- inputs that must not break it --------------------------------------------------------------


def test_bodies_of_every_kind(tmp_path):
    deep: object = 1
    for _ in range(200):
        deep = {"x": deep}
    bodies = [
        b"<html><body>not json</body></html>",
        b'{"a": 1, "b": [1, 2',
        json.dumps(deep).encode(),
        json.dumps(list(range(100_000))).encode(),
        b'{"a": "text"}',
        b"[1, 2, 3]",
        b'"just a string"',
        b"\xff\xfe\x00binary",
    ]
    store_path = tmp_path / "store.db"
    with Store.open(store_path, create=True) as store:
        store.add_many(
            Exchange(Request("GET", f"/things/{n}/body"), Response(200, JSON, body))
            for n, body in enumerate(bodies)
        )
    config = tmp_path / "backworks.yaml"
    result = run_infer(store_path, config)
    schema = load_config(config).endpoints["get_things_thing_id_body"]["responses"]["200"]
    alternatives = {
        (a["type"] if isinstance(a["type"], str) else tuple(a["type"])): a
        for a in schema["schema"]["anyOf"]
    }
    assert alternatives["array"]["maxItems"] == 100_000
    assert set(alternatives["object"]["properties"]) == {"a", "x"}
    assert sum("do not parse" in n for n in result.notes) == 1


def test_content_types_in_any_case_and_bodies_with_a_bom(tmp_path):
    store_path = tmp_path / "store.db"
    shapes = [
        (("Content-Type", "Application/JSON; charset=utf-8"),),
        (("X-Note", 'say "hi"\\'), ("CONTENT-TYPE", "application/json")),
        (("content-type", "application/json"), ("Content-Type", "text/plain")),
    ]
    with Store.open(store_path, create=True) as store:
        store.add_many(
            Exchange(
                Request("POST", "/notes", headers=headers, body=b'\xef\xbb\xbf{"n": %d}' % n),
                Response(201, headers, b'{"id": %d}' % n),
            )
            for n, headers in enumerate(shapes)
        )
    config = tmp_path / "backworks.yaml"
    result = run_infer(store_path, config)
    endpoint = load_config(config).endpoints["post_notes"]
    assert endpoint["request"]["content_type"] == "application/json"
    assert endpoint["request"]["schema"]["properties"]["n"]["maximum"] == 2
    assert endpoint["responses"]["201"]["content_type"] == "application/json"
    assert not result.notes


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_left_as_it_was(sample_store, tmp_path, enabled):
    import gc

    def stop(done, total):
        raise KeyboardInterrupt

    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        run_infer(sample_store, tmp_path / "backworks.yaml")
        assert gc.isenabled() is enabled
        with Store.open(sample_store) as store, pytest.raises(KeyboardInterrupt):
            infer(store, existing=tmp_path / "other.yaml", progress=stop)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_values_yaml_1_1_would_misread_are_written_so_that_they_read_back(tmp_path):
    store_path = tmp_path / "store.db"
    bodies = [{"on": "yes" if n % 2 else "no", "tiny": 1e-05 * (n + 1)} for n in range(12)]
    with Store.open(store_path, create=True) as store:
        store.add_many(
            Exchange(Request("GET", "/flags"), Response(200, JSON, json.dumps(b).encode()))
            for b in bodies
        )
    config = tmp_path / "backworks.yaml"
    run_infer(store_path, config)
    schema = load_config(config).endpoints["get_flags"]["responses"]["200"]["schema"]
    assert schema["properties"]["on"]["enum"] == ["no", "yes"]
    assert schema["properties"]["tiny"]["minimum"] == 1e-05
    assert schema["required"] == ["on", "tiny"]


def test_a_backworks_yaml_with_a_syntax_error_is_left_untouched(sample_store, tmp_path):
    config = tmp_path / "backworks.yaml"
    config.write_text("endpoints:\n  users:\n    path: /users\n   methods: [GET\n")
    before = config.read_bytes()
    with Store.open(sample_store) as store, pytest.raises(ConfigError) as error:
        infer(store, existing=config, classifier=NameClassifier())
    assert f"{config}:4" in error.value.message
    assert config.read_bytes() == before


def test_an_empty_store_and_an_unknown_session(tmp_path, sample_store):
    empty = tmp_path / "empty.db"
    Store.open(empty, create=True).close()
    with Store.open(empty) as store, pytest.raises(StoreError, match="nothing to learn"):
        infer(store, existing=None)
    with Store.open(sample_store) as store, pytest.raises(BackworksError) as error:
        infer(store, session="nope", existing=None)
    assert "journey" in error.value.message and error.value.exit_code == ExitCode.USAGE


# --- the command ------------------------------------------------------------------------------


def backworks(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backworks_cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_infer_command(sample_store, tmp_path):
    done = backworks("infer", "--store", str(sample_store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "get_api_users_id" in done.stderr
    assert "Wrote backworks.yaml: 13 endpoint(s)" in done.stderr
    assert load_config(tmp_path / "backworks.yaml").endpoints["get_api_orders_id"]
    again = backworks("infer", "-c", "backworks.yaml", cwd=tmp_path)  # store from the file
    assert again.returncode == 0, again.stderr
    assert "already up to date" in again.stderr


def test_infer_command_errors(sample_store, tmp_path):
    (tmp_path / "bad.yaml").write_text("endpoints: [\n")
    bad = backworks("infer", "--store", str(sample_store), "-c", "bad.yaml", cwd=tmp_path)
    assert bad.returncode == ExitCode.CONFIG and "bad.yaml:" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert (tmp_path / "bad.yaml").read_text() == "endpoints: [\n"
    Store.open(tmp_path / "empty.db", create=True).close()
    empty = backworks("infer", "--store", "empty.db", cwd=tmp_path)
    assert empty.returncode == ExitCode.STORE and "nothing to learn" in empty.stderr
    session = backworks("infer", "--store", str(sample_store), "--session", "x", cwd=tmp_path)
    assert session.returncode == ExitCode.USAGE and "journey" in session.stderr


def test_infer_command_shows_progress_on_large_stores(tmp_path):
    with Store.open(tmp_path / "big.db", create=True) as store:
        store.add_many(
            Exchange(Request("GET", f"/items/{n}"), Response(200, JSON, b'{"n": 1}'))
            for n in range(1500)
        )
    done = backworks("infer", "--store", "big.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1500/1500" in done.stderr and "get_items_id" in done.stderr


def test_heavy_modules_stay_out_of_the_import():
    code = (
        "import sys, backworks_cli.learn.infer, backworks_cli.learn.schemas; "
        "print(any(m in sys.modules for m in ('genson', 'ruamel.yaml', 'onnxruntime')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
