"""`backworks demo`: the scripted journey, child-process handling, and the whole demo run."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backworks_cli.demo import Child, drive_journey, wait_until_listening
from backworks_cli.errors import NetworkError
from backworks_cli.sample_api import DEMO_PASSWORD, create_app, serve_sample_api

JOURNEY_LENGTH = 20


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backworks_cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=110,
    )


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain `text` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\x00", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


def port_of(output: str) -> int:
    match = re.search(r"Capture proxy listening on http://127\.0\.0\.1:(\d+)", output)
    assert match, output
    return int(match.group(1))


def assert_port_closed(port: int) -> None:
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


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


def test_a_child_that_exits_early_is_reported_with_its_stderr(tmp_path):
    script = "import sys; sys.stderr.write('port is taken\\n'); sys.exit(3)"
    child = Child.start([sys.executable, "-c", script], tmp_path)
    try:
        with pytest.raises(NetworkError) as caught:
            wait_until_listening(child, port=1, timeout=30)
    finally:
        child.kill()
    assert "code 3" in caught.value.message
    assert "port is taken" in caught.value.message


def test_a_child_that_ignores_sigterm_is_killed(tmp_path):
    script = (
        "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "sys.stderr.write('ready\\n'); sys.stderr.flush(); time.sleep(60)"
    )
    child = Child.start([sys.executable, "-c", script], tmp_path)
    deadline = time.monotonic() + 30
    while not child.lines and time.monotonic() < deadline:  # until SIGTERM is ignored
        time.sleep(0.05)
    assert child.lines == ["ready"]
    child.kill(grace=0.5)
    assert child.process.poll() is not None


def test_demo_records_the_journey_with_secrets_redacted_and_leaves_nothing_running(tmp_path):
    from backworks_cli.store import Store

    result = run_cli("demo", "--dir", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "Traceback" not in output + result.stderr
    assert f"Recorded {JOURNEY_LENGTH} exchange(s)" in output
    assert "redacted:" in output
    assert "/api/login" in output
    assert DEMO_PASSWORD not in output
    assert "backworks recordings list --store" in output

    store = tmp_path / "demo" / "recordings" / "backworks.db"
    assert store.exists()
    with Store.open(store) as db:
        rows = list(db.query())
    assert len(rows) == JOURNEY_LENGTH
    assert {ex.session for ex in rows} == {"demo"}
    assert all(DEMO_PASSWORD.encode() not in ex.request.body for ex in rows)

    assert_port_closed(port_of(output))
    assert processes_mentioning(str(store)) == []


def test_demo_in_a_temporary_directory_removes_it(tmp_path):
    result = run_cli("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--dir DIR" in result.stdout
    match = re.search(r"temporary directory \((.+?)\)", result.stdout)
    assert match, result.stdout
    assert not Path(match.group(1)).exists()
    assert_port_closed(port_of(result.stdout))
    assert processes_mentioning(match.group(1)) == []


def test_demo_with_a_corrupt_store_fails_cleanly(tmp_path):
    store = tmp_path / "demo" / "recordings" / "backworks.db"
    store.parent.mkdir(parents=True)
    store.write_bytes(b"this is not a SQLite database" * 100)
    result = run_cli("demo", "--dir", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 4, result.stdout + result.stderr
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.stderr
    assert processes_mentioning(str(store)) == []
