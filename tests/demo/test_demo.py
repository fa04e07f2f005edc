"""`backworks demo`: the scripted journey, child-process handling, the text helpers, and the
whole demo run once as a real subprocess (shared by the assertions on its output and files)."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backworks_cli.core.errors import BackworksError, NetworkError
from backworks_cli.demo.journey import (
    _allow_post,
    _endpoint,
    _show_next_steps,
    _workdir,
    drive_journey,
    fill,
    schema_excerpt,
)
from backworks_cli.demo.processes import Child, listening_port
from backworks_cli.demo.sample_api import DEMO_PASSWORD, create_app, serve_sample_api
from backworks_cli.demo.terminal import brief, columns, command, parse_table, wrap
from tests.conftest import wait_until

JOURNEY_LENGTH = 20
STREAMS = 2  # the server-sent events and the WebSocket exchange of the journey


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backworks_cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=110,
    )


def processes_in(directory: Path) -> list[str]:
    """Command lines of live processes that mention `directory` or run inside it (read from
    /proc: the command line, and the working directory link)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\x00", b" ").decode()
            cwd = Path(str(entry / "cwd")).readlink()
        except OSError:
            continue
        if str(directory) in cmdline or str(cwd).startswith(str(directory)):
            found.append(cmdline)
    return found


def port_of(output: str, pattern: str) -> int:
    match = re.search(pattern + r" http://127\.0\.0\.1:(\d+)", output)
    assert match, output
    return int(match.group(1))


def assert_port_closed(port: int) -> None:
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def section(output: str, number: int) -> str:
    """The text of step `number` of the demo's output, up to the next step."""
    match = re.search(rf"(?ms)^{number}\. .*?(?=^\d+\. |^Next, try:)", output)
    assert match, f"no step {number} in:\n{output}"
    return match.group(0)


# --- the whole demo, run once ----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo")
    result = run_cli("demo", "--dir", str(base / "demo"), cwd=base)
    return base / "demo", result


@pytest.fixture(scope="module")
def output(demo) -> str:
    _, result = demo
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_demo_exits_0_without_a_traceback(demo, output):
    _, result = demo
    assert "Traceback" not in output + result.stderr
    assert re.search(r"Done in \d+\.\d s; nothing is left running\.", output)


def test_demo_records_the_journey_with_secrets_redacted(demo, output):
    from backworks_cli.record.store import Store

    directory, _ = demo
    assert f"Recorded {JOURNEY_LENGTH} exchange(s)" in output
    assert "redacted:" in output
    assert "/api/login" in output
    assert DEMO_PASSWORD not in output
    assert "backworks recordings list --store" in output

    with Store.open(directory / "recordings" / "backworks.db") as db:
        rows = list(db.query())
    assert len(rows) == JOURNEY_LENGTH
    assert {ex.session for ex in rows} == {"demo"}
    assert all(DEMO_PASSWORD.encode() not in ex.request.body for ex in rows)


def test_demo_names_the_inferred_endpoints(output):
    infer = section(output, 7)
    assert "backworks infer --store recordings/backworks.db --config backworks.yaml" in infer
    for name, path in (
        ("get_api_users_id", "/api/users/{id}"),
        ("get_api_users", "/api/users"),
        ("get_api_products_id", "/api/products/{id}"),
        ("post_api_orders", "/api/orders"),
    ):
        assert re.search(rf"(?m)^  {name}\s+\S+\s+{re.escape(path)}\s+\d+\s+\d+$", infer), infer
    schema = section(output, 8)
    assert "email: {type: string, format: email, x-semantic: email}" in schema
    assert "x-semantic: first_name" in schema


def test_demo_replays_every_recorded_http_exchange_exactly(output):
    replay = section(output, 10)
    match = re.search(r"(\d+) of (\d+) replayed exactly: same status and body bytes", replay)
    assert match, replay
    assert int(match.group(1)) == int(match.group(2)) == JOURNEY_LENGTH - STREAMS
    assert f"Not replayed: {STREAMS} streaming exchange(s)" in replay


def test_demo_generates_a_user_that_was_never_recorded_the_same_way_twice(output):
    generated = section(output, 11)
    body = generated[generated.index("{") : generated.rindex("}") + 1]
    user = json.loads(body)
    assert user["id"] == 4242
    assert "@" in user["email"]
    assert user["first_name"] and user["last_name"]
    assert "Asked again: the same" in generated
    counts = section(output, 12)
    assert re.search(r"(?m)^  get_api_users_id\s+mock\s+\d+\s+0\s+2\s+0$", counts), counts


def test_demo_shows_the_promote_diffs_and_the_modes_table(output):
    database = section(output, 13)
    assert "--- backworks.yaml (before)" in database
    assert "-    mode: mock" in database
    assert "+    mode: database" in database
    assert "+      table: users" in database
    assert "methods: [GET] -> methods: [GET, POST]" in database
    runtime = section(output, 14)
    assert "+    mode: runtime" in runtime
    assert "+      handler: handlers/get_api_products_id.py" in runtime
    modes = section(output, 15)
    assert re.search(r"(?m)^  get_api_users_id\s+database\s+users@data/backworks.sqlite$", modes)
    assert re.search(r"(?m)^  get_api_users\s+database\s", modes)
    assert re.search(r"(?m)^  get_api_products_id\s+runtime\s+handlers/", modes)
    assert re.search(r"(?m)^  get_api_health\s+mock\s", modes)


def test_demo_answers_from_the_table_and_the_handler(demo, output):
    directory, _ = demo
    users = section(output, 17)
    location = re.search(r"201 Created, Location: (/api/users/(\d+))", users)
    assert location, users
    new_id = int(location.group(2))
    assert f"GET  {location.group(1)}  -> 200, the same user" in users
    assert f"?last_name=Lovelace  -> 200, ids [{new_id}], total 1" in users
    conn = sqlite3.connect(directory / "data" / "backworks.sqlite")
    try:
        row = conn.execute("SELECT id FROM users WHERE last_name = 'Lovelace'").fetchall()
    finally:
        conn.close()
    assert row == [(new_id,)]

    handler = section(output, 18)
    assert "answers from handlers/get_api_products_id.py" in handler
    assert '200  {"id":3,' in handler
    assert '200  {"id":42,"sku":' in handler
    assert '"name":"Product 42"' in handler
    text = (directory / "handlers" / "get_api_products_id.py").read_text()
    assert "def handle(request)" in text


def test_demo_keeps_its_files_in_the_directory(demo, output):
    directory, _ = demo
    assert (directory / "backworks.yaml").is_file()
    assert (directory / "handlers" / "get_api_products_id.py").is_file()
    assert (directory / "data" / "backworks.sqlite").is_file()
    assert (directory / ".backworks").is_dir()  # BACKWORKS_HOME of every child
    assert f"backworks mock -c {directory}/backworks.yaml" in output
    assert f"backworks modes -c {directory}/backworks.yaml" in output


def test_demo_leaves_nothing_running(demo, output):
    directory, _ = demo
    assert_port_closed(port_of(output, "Capture proxy listening on"))
    assert_port_closed(port_of(output, "Mock listening on"))
    serving = re.search(r"Serving on http://127\.0\.0\.1:(\d+)", output)
    if serving:
        assert_port_closed(int(serving.group(1)))
    assert processes_in(directory) == []


def test_demo_output_fits_80_columns_where_it_chooses_the_text(demo, output):
    directory, _ = demo
    login = section(output, 6)  # the stored exchange, as `recordings show` prints it
    wide = [
        line
        for line in output.splitlines()
        if len(line) > 80 and str(directory) not in line and line not in login
    ]
    assert wide == []


# --- failures and the temporary directory ----------------------------------------------------


def test_demo_with_a_corrupt_store_fails_cleanly(tmp_path):
    store = tmp_path / "demo" / "recordings" / "backworks.db"
    store.parent.mkdir(parents=True)
    store.write_bytes(b"this is not a SQLite database" * 100)
    result = run_cli("demo", "--dir", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 4, result.stdout + result.stderr
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.stderr
    assert processes_in(tmp_path / "demo") == []


def test_demo_refuses_a_directory_with_an_earlier_backworks_yaml(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "backworks.yaml").write_text("endpoints: {}\n")
    result = run_cli("demo", "--dir", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "already holds" in result.stderr and "backworks.yaml" in result.stderr
    assert (tmp_path / "demo" / "backworks.yaml").read_text() == "endpoints: {}\n"
    assert not (tmp_path / "demo" / "recordings").exists()


def test_a_temporary_directory_is_removed_and_next_steps_say_dir():
    lines: list[str] = []
    with _workdir(None, lines.append) as directory:
        assert directory.is_dir()
        (directory / "backworks.yaml").write_text("x")
    assert not directory.exists()
    assert f"temporary directory ({directory})" in lines[0]

    class Users:
        name = "get_api_users_id"

    _show_next_steps(None, 2, Users, lines.append)
    assert "  backworks demo --dir DIR                  # keep the files this time" in lines
    assert "  backworks mock -c DIR/backworks.yaml" in lines


# --- the journey and child processes ---------------------------------------------------------


def test_journey_against_the_sample_api_gets_the_expected_statuses():
    app = create_app()
    lines: list[str] = []
    with serve_sample_api(app=app) as url:
        sent = drive_journey(url, app.users[0]["username"], DEMO_PASSWORD, lines.append)
    assert len(sent) == len(lines) == JOURNEY_LENGTH
    assert [s for s in sent if s.status != s.expected] == []
    assert {s.status for s in sent} == {101, 200, 201, 404, 422, 500}
    assert any("gzip on the wire" in line for line in lines)
    assert any("3 events" in line for line in lines)
    assert max(len(line) for line in lines) <= 80


def test_a_child_that_exits_early_is_reported_with_its_stderr(tmp_path):
    script = "import sys; sys.stderr.write('port is taken\\n'); sys.exit(3)"
    child = Child.start([sys.executable, "-c", script], tmp_path, name="backworks mock")
    try:
        with pytest.raises(NetworkError) as caught:
            listening_port(child, "Mock serving", timeout=30)
    finally:
        child.kill()
    assert "backworks mock exited (code 3)" in caught.value.message
    assert "port is taken" in caught.value.message


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("Mock serving 3 endpoints on http://127.0.0.1:41234 (admin: /__backworks/)", 41234),
        ("Listening on http://127.0.0.1:5000 -> http://127.0.0.1:6000; ...", 5000),
    ],
)
def test_the_port_a_child_listens_on_is_read_from_its_ready_line(tmp_path, said, expected):
    script = (
        f"import sys, time; sys.stderr.write('noise http://127.0.0.1:1\\n{said}\\n'); "
        "sys.stderr.flush(); time.sleep(60)"
    )
    child = Child.start([sys.executable, "-c", script], tmp_path, name="backworks mock")
    try:
        assert listening_port(child, said.split(" on ")[0], timeout=30) == expected
    finally:
        child.kill()


def test_a_child_that_never_says_where_it_listens_is_reported_at_the_deadline(tmp_path):
    script = "import sys, time; sys.stderr.write('starting\\n'); sys.stderr.flush(); time.sleep(60)"
    child = Child.start([sys.executable, "-c", script], tmp_path, name="backworks serve")
    try:
        with pytest.raises(NetworkError) as caught:
            listening_port(child, "Serving", timeout=0.5)
    finally:
        child.kill()
    assert "backworks serve did not say where it listens ('Serving')" in caught.value.message
    assert "starting" in caught.value.message


def test_a_child_that_ignores_sigterm_is_killed(tmp_path):
    script = (
        "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "sys.stderr.write('ready\\n'); sys.stderr.flush(); time.sleep(60)"
    )
    child = Child.start([sys.executable, "-c", script], tmp_path)
    wait_until(lambda: child.lines, "the child to say it ignores SIGTERM")
    assert child.lines == ["ready"]
    child.kill(grace=0.5)
    assert child.process.poll() is not None


def test_children_get_a_backworks_home_inside_their_directory(tmp_path):
    script = "import os, sys; sys.stderr.write(os.environ['BACKWORKS_HOME'] + '\\n')"
    child = Child.start([sys.executable, "-c", script], tmp_path)
    child.process.wait(timeout=30)
    child.kill()
    assert child.lines == [str(tmp_path / ".backworks")]


# --- text helpers ----------------------------------------------------------------------------


def test_parse_table_reads_a_command_table_and_columns_writes_one():
    printed = (
        "  Endpoint   Methods   Samples   Semantic fields  \n"
        " ───────────────────────────────────────────────── \n"
        "  get_users  GET             3                 2  \n"
        "  post_x     POST            1                 0  \n"
        "                                                   \n"
        "Wrote backworks.yaml: 2 endpoint(s).\n"
    )
    header, rows = parse_table(printed, "Endpoint")
    assert header == ["Endpoint", "Methods", "Samples", "Semantic fields"]
    assert rows == [["get_users", "GET", "3", "2"], ["post_x", "POST", "1", "0"]]
    assert columns(["A", "N"], [["get_users", "3"], ["x", "12"]], frozenset({1})) == (
        "  A           N\n  get_users   3\n  x          12"
    )
    assert parse_table("  A  B\n  only-one-cell\n", "A") is None
    assert parse_table("nothing here", "A") is None


def test_schema_excerpt_shows_the_endpoint_head_and_one_response():
    text = (
        "endpoints:\n"
        "  get_users_id:\n"
        "    path: /users/{id}\n"
        "    methods: [GET]\n"
        "    mode: mock\n"
        "    params:\n"
        "      id: {type: integer}\n"
        "    responses:\n"
        '      "200":\n'
        "        schema:\n"
        "          properties:\n"
        "            email: {type: string, x-semantic: email}\n"
        '      "404":\n'
        "        schema: {}\n"
        "    examples: [1]\n"
        "  other:\n"
        "    path: /other\n"
    )
    assert schema_excerpt(text, "get_users_id") == (
        "get_users_id:\n"
        "  path: /users/{id}\n"
        "  methods: [GET]\n"
        "  mode: mock\n"
        "  ...\n"
        "  responses:\n"
        '    "200":\n'
        "      schema:\n"
        "        properties:\n"
        "          email: {type: string, x-semantic: email}"
    )
    assert schema_excerpt(text, "missing") is None
    assert schema_excerpt(text, "other") is None


def test_allow_post_edits_only_the_named_endpoints_methods(tmp_path):
    config = tmp_path / "backworks.yaml"
    text = (
        "endpoints:\n"
        "  get_users:\n"
        "    path: /users\n"
        "    methods: [GET]\n"
        "  get_users_id:\n"
        "    path: /users/{id}\n"
        "    methods: [GET]\n"
    )
    config.write_text(text)
    lines: list[str] = []
    assert _allow_post(config, "get_users_id", out=lines.append, log=lines.append)
    assert config.read_text() == text[: -len("[GET]\n")] + "[GET, POST]\n"
    assert not _allow_post(config, "get_users_id", out=lines.append, log=lines.append)
    assert lines[-1].startswith("Warning: no `methods: [GET]` line for get_users_id")


def test_endpoints_are_found_by_what_they_serve(tmp_path):
    from backworks_cli.config.load import load_config

    (tmp_path / "backworks.yaml").write_text(
        "endpoints:\n"
        "  a: {path: /api/users, methods: [GET]}\n"
        "  b: {path: /api/users/me, methods: [GET]}\n"
        "  c: {path: '/api/users/{user_id}', methods: [GET]}\n"
    )
    endpoints = load_config(tmp_path / "backworks.yaml").endpoint_list()
    assert _endpoint(endpoints, "GET", "/api/users/{}").name == "c"
    assert _endpoint(endpoints, "GET", "/api/users").name == "a"
    with pytest.raises(BackworksError, match=r"no endpoint for POST /api/users \(endpoints:"):
        _endpoint(endpoints, "POST", "/api/users")


def test_fill_brief_and_wrap():
    assert fill("/api/users/{id}", 4242) == "/api/users/4242"
    assert fill("/users/{user_id}/orders/{id}", 7) == "/users/{user_id}/orders/7"
    product = {"id": 3, "sku": "GAR-95566", "name": "Planter XL", "category": "garden"}
    assert brief(product, 52) == '{"id":3,"sku":"GAR-95566","name":"Planter XL",…}'
    assert brief({"id": 3}, 52) == '{"id":3}'
    assert brief({"long": "x" * 80}, 20) == "{…}"
    assert wrap("word " * 30, indent=2).splitlines()[1].startswith("    word")
    assert max(len(line) for line in wrap("word " * 30).splitlines()) <= 80


arguments = st.lists(
    st.one_of(
        st.text("abcdefgh/._", min_size=1, max_size=30),
        st.text("abcdefgh-", min_size=1, max_size=8).map(lambda s: "--" + s),
    ),
    max_size=12,
)


@settings(max_examples=200)
@given(arguments)
def test_command_wraps_within_80_columns_and_joins_back(args):
    text = command(args)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert text.replace(" \\\n      ", " ") == ("  backworks " + " ".join(args)).rstrip()
