"""The admin API locked down: the bearer token, JSON-only state changes, Host and Origin
checks, no CORS, input limits and redacted answers, against a mock app on a real loopback
socket; then the hosts as real subprocesses (`mock`, `serve`, `capture`): where the admin
API listens, the warnings, the token file and --admin-token."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import stat
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from backworks_cli.config.load import load_config
from backworks_cli.demo.sample_api import serve_sample_api
from backworks_cli.host import admin
from backworks_cli.host.admin_access import AdminAccess, dashboard_token, is_loopback
from backworks_cli.host.mock import create_app
from backworks_cli.record.store import Store
from tests.conftest import (
    ADMIN_AUTH,
    ADMIN_TOKEN,
    admin_port_in,
    listen_for_events,
    on_a_fixed_port,
    ports_in,
    run_cli,
)

ADMIN = "/__backworks"
JSON = {"Content-Type": "application/json"}
SECRET = "sk_live_51HqTOPSECRETvalue0123456789"  # generated for the test, no real key
PASSWORD = "correct-horse-battery-staple-42"
CONFIG = """\
name: locked
recordings:
  path: recordings/backworks.db
endpoints:
  get_widget:
    path: /widgets/{id}
    methods: [GET]
    mode: mock
    responses:
      "200":
        schema: {type: object, properties: {name: {type: string}}}
  post_login:
    path: /login
    methods: [POST]
    mode: mock
    responses:
      "200":
        schema: {type: object, properties: {ok: {type: boolean}}}
"""


def make_project(directory: Path, config: str = CONFIG) -> Path:
    """backworks.yaml with two mock endpoints and an empty store beside it."""
    (directory / "recordings").mkdir(exist_ok=True)
    Store.open(directory / "recordings" / "backworks.db", create=True).close()
    path = directory / "backworks.yaml"
    path.write_text(config)
    return path


@pytest.fixture
def locked(tmp_path):
    """(base URL, app) of a mock app served on a loopback socket, with the default access."""
    path = make_project(tmp_path)
    app = create_app(load_config(path), config_path=path)
    with serve_sample_api(app=app) as url:
        yield url, app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def no_cors(reply: httpx.Response) -> None:
    assert not [h for h in reply.headers if h.lower().startswith("access-control-")]


# --- the token ---------------------------------------------------------------------------------


def test_state_changes_need_the_token_and_reads_on_loopback_do_not(locked):
    url, app = locked
    reset = f"{url}{ADMIN}/reset"
    missing = httpx.post(reset, json={})
    wrong = httpx.post(reset, json={}, headers=bearer("not-the-token-at-all-0000"))
    basic = httpx.post(reset, json={}, auth=("admin", app.access.token))
    right = httpx.post(reset, json={}, headers=bearer(app.access.token))
    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "token" in refused.json()["error"] and "Authorization" in refused.json()["hint"]
    assert missing.json()["error"] == "this admin request needs the admin token"
    assert wrong.json()["error"] == "the admin token does not match"
    assert right.status_code == 200 and right.json()["reset"] is True
    assert httpx.get(f"{url}{ADMIN}/health").status_code == 200  # a read on loopback
    for route in ("promote", "record", "verify"):
        assert httpx.post(f"{url}{ADMIN}/{route}", json={}).status_code == 401


def test_an_admin_address_other_machines_reach_needs_the_token_for_reads_too(tmp_path):
    path = make_project(tmp_path)
    access = AdminAccess.create(ADMIN_TOKEN, listen=("0.0.0.0", 3001), hosts=("127.0.0.1",))
    app = create_app(load_config(path), config_path=path, access=access)
    assert access.exposed
    assert set(asyncio.run(_on_admin_port(app, {}))) == {401}
    assert 401 not in asyncio.run(_on_admin_port(app, ADMIN_AUTH))


async def _on_admin_port(app, headers: dict) -> list[int]:
    """The status of a GET to each read-only admin route, as if it came to --admin-listen."""
    statuses = []
    for name, (methods, _) in admin.ROUTES.items():
        if "GET" not in methods or name == "events":
            continue
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict, sent=sent) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "GET",
            "path": f"{ADMIN}/{name}",
            "raw_path": f"{ADMIN}/{name}".encode(),
            "query_string": b"id=1" if name == "exchange" else b"",
            "headers": [(b"host", b"127.0.0.1:3001")]
            + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 5555),
            "server": ("127.0.0.1", 3001),
        }
        await admin.answer(app, scope, receive, send, name, main_port=False)
        statuses.append(sent[0]["status"])
    return statuses


def test_a_given_token_must_be_long_and_printable():
    assert AdminAccess.create(ADMIN_TOKEN).given
    for bad in ("short", "has spaces in it but long enough", "tab\there-and-long-enough"):
        with pytest.raises(Exception, match="at least 16 printable"):
            AdminAccess.create(bad)


# --- cross-site requests -----------------------------------------------------------------------


def test_state_changes_take_json_only(locked):
    url, app = locked
    reset = f"{url}{ADMIN}/reset"
    auth = bearer(app.access.token)
    for headers, content in (
        ({"Content-Type": "text/plain"}, b"{}"),  # what a cross-site form or fetch sends
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"a=1"),
        ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x--"),
        ({}, b""),
    ):
        reply = httpx.post(reset, content=content, headers={**auth, **headers})
        assert reply.status_code == 415, reply.text
        assert "application/json" in reply.json()["error"]
        no_cors(reply)
    charset = {"Content-Type": "application/json; charset=utf-8"}
    assert httpx.post(reset, content=b"{}", headers={**auth, **charset}).status_code == 200


def test_other_origins_and_foreign_hosts_are_refused_and_cors_never_answered(locked):
    url, app = locked
    port = url.rsplit(":", 1)[1]
    promote = f"{url}{ADMIN}/promote"
    body = {"endpoint": "get_widget", "to": "replay"}
    auth = bearer(app.access.token)
    for origin in ("http://evil.example", f"http://127.0.0.1:{int(port) + 1}", "null"):
        reply = httpx.post(promote, json=body, headers={**auth, "Origin": origin})
        assert reply.status_code == 403 and "cross-site" in reply.json()["error"]
        no_cors(reply)
    same = httpx.get(f"{url}{ADMIN}/health", headers={"Origin": url})
    assert same.status_code == 200
    no_cors(same)
    for host in ("evil.example", f"rebound.attacker.test:{port}"):  # DNS rebinding
        reply = httpx.get(f"{url}{ADMIN}/health", headers={"Host": host})
        assert reply.status_code == 403 and "DNS rebinding" in reply.json()["hint"]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "[::1]", f"app.localhost:{port}"):
        assert httpx.get(f"{url}{ADMIN}/health", headers={"Host": host}).status_code == 200
    preflight = httpx.options(
        promote,
        headers={
            "Origin": url,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 405 and "POST" in preflight.json()["error"]
    no_cors(preflight)
    assert "POST" in httpx.options(f"{url}{ADMIN}/reset").json()["error"]


# --- input limits ------------------------------------------------------------------------------


def test_rows_over_the_cap_are_refused_with_the_reason(tmp_path):
    path = make_project(
        tmp_path, CONFIG.replace("name: locked\n", "name: locked\nserver:\n  admin_max_rows: 30\n")
    )
    app = create_app(load_config(path), config_path=path)
    before = path.read_text()
    with serve_sample_api(app=app) as url:
        promote = f"{url}{ADMIN}/promote"
        auth = bearer(app.access.token)
        over = httpx.post(
            promote, json={"endpoint": "get_widget", "to": "database", "rows": 31}, headers=auth
        )
        huge = httpx.post(
            promote, json={"endpoint": "get_widget", "to": "database", "rows": 10**11}, headers=auth
        )
        odd = [
            httpx.post(
                promote, json={"endpoint": "get_widget", "to": "database", **extra}, headers=auth
            )
            for extra in (
                {"rows": True},
                {"rows": -1},
                {"rows": "10"},
                {"rows": 1.5},
                {"colour": 1},
            )
        ]
        typed = httpx.post(promote, json={"endpoint": ["get_widget"], "to": "mock"}, headers=auth)
    for reply in (over, huge):
        assert reply.status_code == 400
        assert "limit of 30" in reply.json()["error"] and "admin_max_rows" in reply.json()["error"]
    assert all(r.status_code == 400 and r.json()["error"] for r in odd)
    assert typed.status_code == 400
    assert path.read_text() == before  # nothing was promoted


def test_the_rows_cap_defaults_to_ten_thousand(locked):
    url, app = locked
    reply = httpx.post(
        f"{url}{ADMIN}/promote",
        json={"endpoint": "get_widget", "to": "database", "rows": 10_001},
        headers=bearer(app.access.token),
    )
    assert reply.status_code == 400 and "limit of 10000" in reply.json()["error"]


def test_bodies_and_nesting_are_capped(locked):
    url, app = locked
    headers = {**bearer(app.access.token), **JSON}
    verify = f"{url}{ADMIN}/verify"
    big = httpx.post(verify, content=b" " * (admin.MAX_BODY + 1), headers=headers)
    assert big.status_code == 413 and big.json()["limit_bytes"] == admin.MAX_BODY
    deep = b"[" * 100_000 + b"]" * 100_000
    assert httpx.post(verify, content=deep, headers=headers).status_code in (400, 413)
    nested = json.dumps({"path": "x", "o": json.loads("[" * 40 + "]" * 40)}).encode()
    reply = httpx.post(verify, content=nested, headers=headers)
    assert reply.status_code == 400 and "nests more than" in reply.json()["error"]
    strings = json.dumps({"path": "[" * 1000}).encode()  # brackets inside a string do not nest
    assert httpx.post(verify, content=strings, headers=headers).status_code == 200
    for content in (b"{", b"[1, 2]", b"\xff\xfe", b'"text"', b'{"path": [1]}', b'{"path": {}}'):
        reply = httpx.post(verify, content=content, headers=headers)
        assert reply.status_code == 400 and reply.json()["error"], content


def test_absurd_ids_and_limits_are_4xx(locked):
    url, _ = locked
    for value in ("9" * 5000, "²", "-1", "1e3", "", "0"):
        reply = httpx.get(f"{url}{ADMIN}/exchange", params={"id": value})
        assert 400 <= reply.status_code < 500, (value, reply.text)
        assert reply.json()["error"]
    for value in ("9" * 5000, "x"):
        reply = httpx.get(f"{url}{ADMIN}/requests", params={"limit": value})
        assert 400 <= reply.status_code < 500 or reply.status_code == 200


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "endpoint",
        "to",
        "upstream",
        "language",
        "rows",
        "record",
        "path",
        "status",
        "method",
        "how",
        "x",
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route=st.sampled_from(["promote", "record", "verify", "reset"]),
    body=st.one_of(
        st.dictionaries(KEYS, JSON_VALUES, max_size=5).map(json.dumps),
        JSON_VALUES.map(json.dumps),
        st.text(max_size=40),
    ),
)
def test_no_admin_body_gives_a_5xx(locked, route, body):
    url, app = locked
    if route == "promote":  # a valid promotion rewrites the file: keep each example's start
        app.config_path.write_text(CONFIG)
    reply = httpx.post(
        f"{url}{ADMIN}/{route}",
        content=body.encode(),
        headers={**bearer(app.access.token), **JSON},
        timeout=30,
    )
    assert reply.status_code < 500, reply.text
    assert isinstance(reply.json(), dict)


# --- redacted answers --------------------------------------------------------------------------


def test_the_journal_exchange_and_events_show_no_secret(locked):
    url, _ = locked
    events, listener = listen_for_events(f"{url}{ADMIN}/events", 2)
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    httpx.get(
        f"{url}/widgets/1",
        params={"api_key": SECRET, "page": "2"},
        headers={"Authorization": f"Bearer {SECRET}", "Cookie": f"session={SECRET}"},
    )
    httpx.post(
        f"{url}/login",
        json={"username": "ada", "password": PASSWORD, "token": jwt},
    )
    listener.join(10)
    requests = httpx.get(f"{url}{ADMIN}/requests").text
    exchanges = [httpx.get(f"{url}{ADMIN}/exchange", params={"id": n}).text for n in (1, 2)]
    shown = json.dumps(events) + requests + "".join(exchanges)
    for secret in (SECRET, PASSWORD, jwt):
        assert secret not in shown
    first = json.loads(exchanges[0])
    headers = dict(first["request"]["headers"])
    assert headers["authorization"].startswith("Bearer redacted:")
    assert headers["cookie"].startswith("session=redacted:")
    assert "api_key=redacted:" in first["query"] and "page=2" in first["query"]
    assert events[0]["query"] == first["query"]
    login = json.loads(json.loads(exchanges[1])["request"]["body"])
    assert login["username"] == "ada" and login["password"].startswith("redacted:")


# --- the hosts as subprocesses ------------------------------------------------------------------


def other_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if is_loopback(address) else address


def token_in(stderr: str) -> str:
    line = next(line for line in stderr.splitlines() if line.startswith("Admin token: "))
    return line.removeprefix("Admin token: ").split(",")[0]


def test_mock_on_every_interface_warns_and_keeps_the_admin_api_on_loopback(tmp_path, backworks):
    make_project(tmp_path)
    mock = backworks(
        ["mock", "--host", "0.0.0.0", "--port", "0"], cwd=tmp_path, ready="Mock serving"
    )
    [port] = ports_in(mock.ready_line)
    assert f"Warning: The mock listens on 0.0.0.0:{port}," in mock.stderr
    assert f"the admin API answers only this machine, at 127.0.0.1:{port}" in mock.stderr
    local = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{local}{ADMIN}/health").status_code == 200
    address = other_address()
    if address is None:
        pytest.skip("this machine has no address but loopback to come from")
    remote = f"http://{address}:{port}"
    assert httpx.get(f"{remote}/widgets/1").status_code == 200  # the mock itself is there
    refused = httpx.get(f"{remote}{ADMIN}/health")
    assert refused.status_code == 403 and "loopback" in refused.json()["error"]
    token = token_in(mock.stderr)
    posted = httpx.post(f"{remote}{ADMIN}/reset", json={}, headers=bearer(token))
    assert posted.status_code == 403  # not even with the token


def test_the_token_file_is_private_rewritten_each_start_and_removed_at_a_clean_stop(
    tmp_path, backworks
):
    make_project(tmp_path)
    file = tmp_path / "recordings" / "admin.token"
    tokens = []
    for _ in range(2):
        mock = backworks(["mock", "--port", "0"], cwd=tmp_path, ready="Mock serving")
        [port] = ports_in(mock.ready_line)
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        token = file.read_text().strip()
        assert token == token_in(mock.stderr) and len(token) >= 32
        assert f"in {file}" in mock.stderr
        url = f"http://127.0.0.1:{port}"
        assert httpx.post(f"{url}{ADMIN}/reset", json={}, headers=bearer(token)).status_code == 200
        for old in tokens:  # an earlier start's token opens nothing now
            assert (
                httpx.post(f"{url}{ADMIN}/reset", json={}, headers=bearer(old)).status_code == 401
            )
        tokens.append(token)
        code, _ = mock.stop(signal.SIGINT)
        assert code == 0 and not file.exists()
    assert tokens[0] != tokens[1]


def test_hosts_sharing_a_store_folder_each_keep_their_token_and_the_dashboard_finds_it(
    tmp_path, backworks
):
    make_project(tmp_path)
    file = tmp_path / "recordings" / "admin.token"
    mocks = [backworks(["mock", "--port", "0"], cwd=tmp_path, ready="Mock serving") for _ in "ab"]
    ports = [ports_in(mock.ready_line)[0] for mock in mocks]
    assert ports[0] != ports[1]
    tokens = [token_in(mock.stderr) for mock in mocks]
    assert file.read_text().split() == tokens and stat.S_IMODE(file.stat().st_mode) == 0o600
    store = tmp_path / "recordings" / "backworks.db"
    for port, token in zip(ports, tokens, strict=True):
        url = f"http://127.0.0.1:{port}"
        assert dashboard_token(url, lambda: store) == token
        other = tokens[1 - tokens.index(token)]
        # A wrong token is refused even on a route that needs none.
        assert httpx.get(f"{url}{ADMIN}/health", headers=bearer(other)).status_code == 401
        assert httpx.get(f"{url}{ADMIN}/health").status_code == 200
    code, _ = mocks[0].stop(signal.SIGINT)
    assert code == 0 and file.read_text().split() == [tokens[1]]
    code, _ = mocks[1].stop(signal.SIGINT)
    assert code == 0 and not file.exists()


def test_a_given_token_is_used_and_not_printed(tmp_path, backworks):
    make_project(tmp_path)
    mock = backworks(
        ["mock", "--port", "0"],
        cwd=tmp_path,
        ready="Mock serving",
        env={"BACKWORKS_ADMIN_TOKEN": ADMIN_TOKEN},
    )
    [port] = ports_in(mock.ready_line)
    assert ADMIN_TOKEN not in mock.stderr and "the one given by --admin-token" in mock.stderr
    assert (tmp_path / "recordings" / "admin.token").read_text().strip() == ADMIN_TOKEN
    reset = f"http://127.0.0.1:{port}{ADMIN}/reset"
    assert httpx.post(reset, json={}, headers=ADMIN_AUTH).status_code == 200
    done = run_cli("mock", "--port", "0", "--admin-token", "short", cwd=tmp_path)
    assert done.returncode == 2 and "at least 16" in done.stderr and "Traceback" not in done.stderr


def test_mock_admin_listen_serves_the_admin_api_alone_and_wants_the_token_for_everything(
    tmp_path, backworks
):
    make_project(tmp_path)
    mock = backworks(
        ["mock", "--port", "0", "--admin-listen", "0.0.0.0:0"],
        cwd=tmp_path,
        ready="Mock serving",
    )
    port, admin_port = ports_in(mock.ready_line)
    assert admin_port != port
    assert f"Warning: The admin API listens on 0.0.0.0:{admin_port}" in mock.stderr
    token = token_in(mock.stderr)
    there = f"http://127.0.0.1:{admin_port}"
    assert httpx.get(f"{there}{ADMIN}/health").status_code == 401
    assert httpx.get(f"{there}{ADMIN}/health", headers=bearer(token)).status_code == 200
    assert httpx.get(f"{there}/widgets/1").status_code == 404  # no mock answers there
    assert httpx.get(f"{there}/widgets/1").status_code == 404  # nor its shortcut, twice
    main = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{main}/widgets/1").status_code == 200
    assert httpx.get(f"{main}{ADMIN}/health").status_code == 200  # loopback, a read
    workers = run_cli(  # refused before anything is bound
        "mock", "--port", "0", "--workers", "2", "--admin-listen", "127.0.0.1:0", cwd=tmp_path
    )
    assert workers.returncode == 2 and "--admin-listen" in workers.stderr


def test_serve_on_every_interface_keeps_its_admin_port_on_loopback(tmp_path, backworks):
    make_project(tmp_path)

    def start(port: int):  # the admin API defaults to the port + 1
        return port, backworks(
            ["serve", "--listen", f"0.0.0.0:{port}"], cwd=tmp_path, ready="Serving"
        )

    port, serve = on_a_fixed_port(start)
    assert f"Warning: Serve listens on 0.0.0.0:{port}" in serve.stderr
    assert f"Admin API: http://127.0.0.1:{port + 1}/__backworks/" in serve.stderr
    assert httpx.get(f"http://127.0.0.1:{port + 1}{ADMIN}/health").status_code == 200
    address = other_address()
    if address is not None:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://{address}:{port + 1}{ADMIN}/health")
        refused = httpx.get(f"http://{address}:{port}{ADMIN}/health")
        assert refused.status_code == 403 and "loopback" in refused.json()["error"]
        events = httpx.get(f"http://{address}:{port}{ADMIN}/events")
        assert events.status_code == 403  # no redirect to the admin port either
    token = token_in(serve.stderr)
    main = f"http://127.0.0.1:{port}{ADMIN}/reset"
    assert httpx.post(main, json={}).status_code == 401
    assert httpx.post(main, content=b"{}", headers=bearer(token)).status_code == 415
    assert httpx.post(main, json={}, headers=bearer(token)).status_code == 200


def test_serve_admin_listen_elsewhere_wants_the_token_for_reads(tmp_path, backworks):
    make_project(tmp_path)

    # A fixed admin port: serve warns before it binds, so a port 0 would be named as 0 there.
    def start(admin_port: int):
        return admin_port, backworks(
            ["serve", "--listen", "127.0.0.1:0", "--admin-listen", f"0.0.0.0:{admin_port}"],
            cwd=tmp_path,
            ready="Serving",
            env={"BACKWORKS_ADMIN_TOKEN": ADMIN_TOKEN},
        )

    admin_port, serve = on_a_fixed_port(start)
    assert admin_port_in(serve.ready_line) == admin_port != ports_in(serve.ready_line)[0]
    assert f"Warning: The admin API listens on 0.0.0.0:{admin_port}" in serve.stderr
    health = f"http://127.0.0.1:{admin_port}{ADMIN}/health"
    assert httpx.get(health).status_code == 401
    assert httpx.get(health, headers=ADMIN_AUTH).status_code == 200


def test_capture_admin_on_stays_on_loopback_and_its_exchange_shows_no_secret(
    tmp_path, sample_api, backworks
):
    def start(port: int):  # --admin on: the port + 1
        return port, backworks(
            ["capture", "--upstream", sample_api, "--listen", f"0.0.0.0:{port}", "--admin", "on"],
            cwd=tmp_path,
            ready="Listening on",
        )

    port, capture = on_a_fixed_port(start)
    assert f"Warning: The capture listens on 0.0.0.0:{port}" in capture.stderr
    assert f"Admin API: http://127.0.0.1:{port + 1}/__backworks/" in capture.stderr
    admin_url = f"http://127.0.0.1:{port + 1}{ADMIN}"
    events, listener = listen_for_events(f"{admin_url}/events", 1)
    httpx.post(
        f"http://127.0.0.1:{port}/api/login",
        params={"api_key": SECRET},
        json={"username": "ada", "password": PASSWORD},
        headers={"Authorization": f"Bearer {SECRET}"},
    )
    listener.join(10)
    exchange = httpx.get(f"{admin_url}/exchange", params={"id": 1})
    assert exchange.status_code == 200
    shown = exchange.text + json.dumps(events) + httpx.get(f"{admin_url}/requests").text
    assert SECRET not in shown and PASSWORD not in shown
    authorization = {k.lower(): v for k, v in exchange.json()["request"]["headers"]}[
        "authorization"
    ]
    assert authorization.startswith("Bearer redacted:")
    with Store.open(tmp_path / "recordings" / "backworks.db") as store:
        stored = {k.lower(): v for k, v in next(iter(store.query())).request.headers}
    assert stored["authorization"] == authorization  # the store's own placeholder
    address = other_address()
    if address is not None:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://{address}:{port + 1}{ADMIN}/health")


# --- the admin API on a port the system chooses -------------------------------------------------


def answers_alone_with_the_token(port: int, admin_port: int) -> None:
    """The admin API at `admin_port`, a port other than the host's `port`: its health answers
    the token (a wrong one is refused), and nothing but the admin API is there."""
    assert admin_port not in (0, port)
    there = f"http://127.0.0.1:{admin_port}"
    health = httpx.get(f"{there}{ADMIN}/health", headers=ADMIN_AUTH)
    assert health.status_code == 200, health.text
    wrong = httpx.get(f"{there}{ADMIN}/health", headers=bearer("not-the-token-at-all-0000"))
    assert wrong.status_code == 401
    assert httpx.post(f"{there}{ADMIN}/reset", json={}, headers=ADMIN_AUTH).status_code == 200
    assert httpx.get(f"{there}/widgets/1").status_code == 404  # no host answers there


def test_mock_admin_listen_on_port_0_reports_the_port_it_bound(tmp_path, backworks):
    make_project(tmp_path)
    mock = backworks(
        ["mock", "--port", "0", "--admin-listen", "127.0.0.1:0"],
        cwd=tmp_path,
        ready="Mock serving",
        env={"BACKWORKS_ADMIN_TOKEN": ADMIN_TOKEN},
    )
    assert mock.ready_line.rstrip().endswith("/__backworks/)")
    port, admin_port = ports_in(mock.ready_line)
    answers_alone_with_the_token(port, admin_port)
    assert httpx.get(f"http://127.0.0.1:{port}/widgets/1").status_code == 200


@pytest.mark.parametrize("admin_args", [["--admin", "127.0.0.1:0"], []], ids=["admin-0", "default"])
def test_serve_admin_on_port_0_reports_the_port_it_bound(tmp_path, backworks, admin_args):
    # Without --admin, a --listen port 0 gives the admin API any free port too (not port 1).
    make_project(tmp_path)
    serve = backworks(
        ["serve", "--listen", "127.0.0.1:0", *admin_args],
        cwd=tmp_path,
        ready="Serving",
        env={"BACKWORKS_ADMIN_TOKEN": ADMIN_TOKEN},
    )
    port, admin_port = ports_in(serve.ready_line)[0], admin_port_in(serve.ready_line)
    assert admin_port != 1  # not the port + 1 of a port 0
    answers_alone_with_the_token(port, admin_port)
    assert httpx.get(f"http://127.0.0.1:{port}/widgets/1").status_code == 200


@pytest.mark.parametrize("admin", ["127.0.0.1:0", "on"])
def test_capture_admin_on_port_0_reports_the_port_it_bound(tmp_path, sample_api, backworks, admin):
    # --admin on takes the port + 1, or, with a --listen port 0, any free port.
    capture = backworks(
        ["capture", "--upstream", sample_api, "--listen", "127.0.0.1:0", "--admin", admin],
        cwd=tmp_path,
        ready="Listening on",
        env={"BACKWORKS_ADMIN_TOKEN": ADMIN_TOKEN},
    )
    port, admin_port = ports_in(capture.ready_line)[0], admin_port_in(capture.ready_line)
    assert admin_port not in (0, port)
    there = f"http://127.0.0.1:{admin_port}{ADMIN}"
    assert httpx.get(f"{there}/health", headers=ADMIN_AUTH).status_code == 200
    wrong = httpx.get(f"{there}/health", headers=bearer("not-the-token-at-all-0000"))
    assert wrong.status_code == 401
    events, listener = listen_for_events(f"{there}/events", 1)
    assert httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200  # proxied
    listener.join(10)
    assert [(e["method"], e["path"], e["status"]) for e in events] == [("GET", "/api/health", 200)]


# --- the dashboard finds the token --------------------------------------------------------------


def test_the_dashboard_command_reads_the_token_file_for_a_host_on_this_machine(
    tmp_path, monkeypatch
):
    from backworks_cli import cli, dashboard

    make_project(tmp_path)
    (tmp_path / "recordings" / "admin.token").write_text("from-the-file-0123456789\n")
    monkeypatch.chdir(tmp_path)
    seen = []
    monkeypatch.setattr(dashboard, "run_dashboard", lambda url, token=None: seen.append(token))
    monkeypatch.delenv("BACKWORKS_ADMIN_TOKEN", raising=False)
    runner = CliRunner()
    for args in (
        ["--url", "http://127.0.0.1:3000"],
        ["--url", "http://localhost:3000", "--admin-token", ADMIN_TOKEN],
        ["--url", "http://192.0.2.77:3000"],  # another machine gets no local token
    ):
        result = runner.invoke(cli.app, ["dashboard", *args])
        assert result.exit_code == 0, result.output
    assert seen == ["from-the-file-0123456789", ADMIN_TOKEN, None]
    assert dashboard_token("http://127.0.0.1:1", lambda: tmp_path / "elsewhere" / "x.db") is None
