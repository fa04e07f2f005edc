"""`backworks recordings ...` as a user runs it: real subprocesses on real store files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backworks_cli.core.errors import ExitCode
from backworks_cli.core.exchange import Exchange, Message, Request, Response
from backworks_cli.record.store import Store

ROOT = Path(__file__).resolve().parents[2]
NOW = time.time()


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "backworks_cli", "recordings", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def ok(cwd: Path, *args: str) -> str:
    result = run(cwd, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def fails(cwd: Path, code: ExitCode, *args: str) -> str:
    result = run(cwd, *args)
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.startswith("Error: ")
    return result.stderr


def exchange(method, path, status, body=b"", session="shop", age=0.0, **kwargs) -> Exchange:
    headers = (("content-type", "application/json"),) if body.startswith(b"{") else ()
    return Exchange(
        request=Request(method, path, scheme="https", host="api.example.com", port=443),
        response=Response(status, headers, body, "OK") if status else None,
        started_at=NOW - age,
        duration_ms=20.0,
        session=session,
        **kwargs,
    )


ROWS = [
    exchange("GET", "/users/1", 200, b'{"id":1,"name":"Ann"}', age=30 * 86400),
    exchange("GET", "/users/2", 404, b'{"error":"not found"}', age=3600),
    exchange("POST", "/users", 201, b'{"id":3}', session="admin"),
    exchange("GET", "/files/logo.png", 200, b"\x89PNG\x00\x01"),
    exchange("GET", "/users/1", 200, b'{"id":1,"name":"Ann"}', session="admin"),
    exchange(
        "GET",
        "/ws",
        101,
        kind="websocket",
        messages=(Message("client", b"hi", True, NOW), Message("server", b"\x00", False, NOW)),
    ),
    exchange("DELETE", "/users/9", None, error="upstream unreachable"),
]


@pytest.fixture
def project(tmp_path):
    """A directory with a store at the default path, recordings/backworks.db."""
    with Store.open(tmp_path / "recordings" / "backworks.db", create=True) as db:
        for ex in ROWS:
            db.add(ex)
    return tmp_path


def ids(table: str) -> list[int]:
    return [int(line.split()[0]) for line in table.splitlines()[1:]]


def test_list_and_filters(project):
    table = ok(project, "list")
    assert table.splitlines()[0].split()[:3] == ["ID", "STARTED", "(UTC)"]
    assert ids(table) == [1, 2, 3, 4, 5, 6, 7]
    assert "/users/2" in table and "404" in table and "ERR" in table
    assert ids(ok(project, "list", "--method", "get")) == [1, 2, 4, 5, 6]
    assert ids(ok(project, "list", "--path", "/users/*")) == [1, 2, 5, 7]
    assert ids(ok(project, "list", "--status", "4xx")) == [2]
    assert ids(ok(project, "list", "--session", "admin")) == [3, 5]
    assert ids(ok(project, "list", "--limit", "2")) == [1, 2]
    assert ok(project, "list", "--status", "503") == "No exchanges match.\n"


def test_show(project):
    detail = ok(project, "show", "1")
    assert "GET https://api.example.com/users/1 HTTP/1.1" in detail
    assert '{\n  "id": 1,\n  "name": "Ann"\n}' in detail
    assert "<binary: 6 bytes" in ok(project, "show", "4")
    ws = ok(project, "show", "6")
    assert "2 message(s)" in ws and "-> client" in ws and "<- server" in ws
    assert "Error: upstream unreachable" in ok(project, "show", "7")
    assert "No exchange with id 99" in fails(project, ExitCode.STORE, "show", "99")


def test_stats(project):
    report = ok(project, "stats")
    assert "Exchanges: 7 (1 with errors)" in report
    assert "shop" in report and "admin" in report
    assert "/users/1" in report
    assert "Exchanges: 2" in ok(project, "stats", "--session", "admin")


@pytest.mark.parametrize("fmt", ["har", "jsonl"])
def test_export_then_import_into_a_new_store(project, fmt):
    out = project / f"export.{fmt}"
    result = run(project, "export", "-o", str(out), "-f", fmt)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "Exported 7 exchange(s)" in result.stderr

    copy = project / "copy.db"
    result = run(project, "import", str(out), "--store", str(copy))
    assert result.returncode == 0, result.stderr
    assert "Imported 7 exchange(s)" in result.stderr
    with Store.open(copy) as db:
        assert [ex.with_id(0) for ex in db.query()] == [ex.with_id(0) for ex in ROWS]

    renamed = project / "renamed.db"
    ok(project, "import", str(out), "--store", str(renamed), "--session", "replayed")
    with Store.open(renamed) as db:
        assert db.sessions() == ["replayed"]


def test_export_to_stdout_with_filters(project):
    result = run(project, "export", "-o", "-", "-f", "jsonl", "--session", "admin")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["request"]["method"], d["request"]["path"]) for d in lines] == [
        ("POST", "/users"),
        ("GET", "/users/1"),
    ]


def test_export_redacts_secrets(tmp_path):
    secret = "Bearer sk_live_0123456789abcdef"
    with Store.open(tmp_path / "s.db", create=True) as db:
        db.add(Exchange(Request("GET", "/me", headers=(("Authorization", secret),)), Response(200)))
    har = ok(tmp_path, "export", "--store", "s.db", "-o", "-")
    assert "sk_live_0123456789abcdef" not in har
    assert json.loads(har)["log"]["entries"][0]["request"]["headers"][0]["name"] == "Authorization"


def test_prune(project):
    assert "--older-than" in fails(project, ExitCode.USAGE, "prune")
    result = run(project, "prune", "--session", "admin", "--dry-run")
    assert "Would delete 2 exchange(s)." in result.stderr
    assert ids(ok(project, "list")) == [1, 2, 3, 4, 5, 6, 7]
    assert "Deleted 1 exchange(s)." in run(project, "prune", "--older-than", "7d").stderr
    assert (
        "Deleted 1 exchange(s)."
        in run(project, "prune", "--path", "/users/1", "--keep-last", "0").stderr
    )
    assert ids(ok(project, "list")) == [2, 3, 4, 6, 7]
    assert (
        "Deleted 3 exchange(s)."
        in run(project, "prune", "--keep-last", "0", "--method", "get").stderr
    )
    assert ids(ok(project, "list")) == [3, 7]


def test_errors_are_one_paragraph_and_a_code(tmp_path):
    stderr = fails(tmp_path, ExitCode.STORE, "list")
    assert "No recordings store at recordings/backworks.db" in stderr
    assert "Hint: Run `backworks capture` first" in stderr

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00garbage" * 100)
    assert "not a database" in fails(tmp_path, ExitCode.STORE, "stats", "--store", str(junk))

    store = tmp_path / "ok.db"
    Store.open(store, create=True).close()
    assert "4xx" in fails(
        tmp_path, ExitCode.USAGE, "list", "--store", str(store), "--status", "four"
    )
    assert "7d" in fails(
        tmp_path, ExitCode.USAGE, "prune", "--store", str(store), "--older-than", "x"
    )

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"request": {"method": "GET", "path": "/"}}\n{"request": \n')
    stderr = fails(tmp_path, ExitCode.INPUT, "import", str(bad), "--store", str(store))
    assert "bad.jsonl, line 2: not valid JSON" in stderr
    assert "The 1 exchange(s) before it were added" in stderr

    assert "does not exist" in fails(
        tmp_path, ExitCode.ERROR, "export", "--store", str(store), "-o", "missing/out.har"
    )
