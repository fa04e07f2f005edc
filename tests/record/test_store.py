"""The recordings store on real SQLite files: round-trips, filters, stats, prune, failures."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backworks_cli.core.errors import BackworksError, ExitCode, StoreError
from backworks_cli.core.exchange import Exchange, Message, Request, Response
from backworks_cli.record.store import Filter, Store
from backworks_cli.record.store_schema import FORMAT_VERSION
from tests.strategies import any_text, exchanges

ROOT = Path(__file__).resolve().parents[2]
NOW = time.time()


def make(
    method="GET",
    path="/users/1",
    status=200,
    body=b"",
    session="s1",
    started_at=NOW,
    **kwargs,
) -> Exchange:
    response = Response(status, (("content-type", "application/json"),), body) if status else None
    return Exchange(
        request=Request(method, path, host="api.example.com", port=443, scheme="https"),
        response=response,
        started_at=started_at,
        duration_ms=12.5,
        session=session,
        **kwargs,
    )


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "recordings" / "backworks.db", create=True) as db:
        yield db


def roundtrip(db: Store, ex: Exchange) -> Exchange:
    new_id = db.add(ex)
    got = db.get(new_id)
    assert got == ex.with_id(new_id)
    return got


# --- round-trips ------------------------------------------------------------------------------


def test_text_json_binary_and_empty_bodies_round_trip(store):
    payload = json.dumps({"name": "Zoë", "tags": ["a", "b"]}).encode()
    roundtrip(store, make(body=payload))
    roundtrip(store, make(body="plain text, ünïcode\n".encode()))
    roundtrip(store, make(body=bytes(range(256))))
    roundtrip(store, make(body=b"ok\x00nul"))
    roundtrip(store, make(body=b""))
    roundtrip(store, make(method="POST", status=None, error="upstream unreachable"))


def test_bodies_are_text_when_text_and_blob_when_binary(store):
    text_id = store.add(make(body=b'{"a": 1}'))
    blob_id = store.add(make(body=b"\xff\xd8\xff\xe0"))
    conn = sqlite3.connect(store.path)
    types = dict(
        conn.execute(
            "SELECT id, typeof(response_body) FROM exchanges WHERE id IN (?, ?)", (text_id, blob_id)
        )
    )
    assert types == {text_id: "text", blob_id: "blob"}
    headers = conn.execute(
        "SELECT response_headers FROM exchanges WHERE id = ?", (text_id,)
    ).fetchone()
    assert json.loads(headers[0]) == [["content-type", "application/json"]]


def test_full_request_and_response_round_trip(store):
    ex = Exchange(
        request=Request(
            method="POST",
            path="/orders",
            query=(("page", "2"), ("tag", "a"), ("tag", "b"), ("q", "café")),
            headers=(("Host", "api.example.com"), ("Cookie", "a=1"), ("Cookie", "b=2")),
            body=b'{"item": 3}',
            scheme="https",
            host="api.example.com",
            port=8443,
            http_version="HTTP/2.0",
            encoding="gzip",
        ),
        response=Response(
            status=201,
            headers=(("Set-Cookie", "x=1"), ("Set-Cookie", "y=2"), ("Content-Encoding", "br")),
            body=b'{"id": 7}',
            reason="Created",
            http_version="HTTP/2.0",
            encoding="br",
        ),
        started_at=1714557600.123456,
        duration_ms=None,
        session="checkout",
        error="slow",
    )
    roundtrip(store, ex)


def test_websocket_and_sse_messages_round_trip(store):
    ws = make(
        path="/ws",
        status=101,
        kind="websocket",
        messages=(
            Message("client", b'{"subscribe": "prices"}', True, NOW + 0.1),
            Message("server", b"\x00\x01\x02", False, NOW + 0.2),
            Message("server", "🙂".encode(), True, NOW + 0.3),
        ),
    )
    sse = make(path="/events", kind="sse", messages=(Message("server", b"data: 1\n\n"),))
    roundtrip(store, ws)
    roundtrip(store, sse)


def test_text_that_is_not_utf8_is_kept(store):
    # mitmproxy surrogate-escapes undecodable bytes in paths and headers; nothing is lost.
    request = Request("GET", "/caf\udce9", (("q", "\udcfe"),), (("x-raw", "\udcff"),))
    roundtrip(store, Exchange(request, Response(200, reason="\udc80"), started_at=NOW))


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory):
    with Store.open(tmp_path_factory.mktemp("hyp") / "store.db", create=True) as db:
        yield db


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ex=exchanges)
def test_any_exchange_round_trips(shared_store, ex):
    roundtrip(shared_store, ex)


# --- the lean read path (scan) -----------------------------------------------------------------

SCANNED = (
    "id",
    "method",
    "path",
    "query",
    "request_headers",
    "request_content_type",
    "request_body",
    "status",
    "response_headers",
    "response_content_type",
    "response_body",
    "duration_ms",
    "session",
)


def scanned_as_exchange(row: tuple) -> dict:
    """What query() would say of the scanned columns."""
    got = dict(zip(SCANNED, row, strict=True))
    for side in ("request_body", "response_body"):
        if isinstance(got[side], str):
            got[side] = got[side].encode("utf-8")
    return got


def expected_of(ex: Exchange) -> dict:
    req, resp = ex.request, ex.response
    return {
        "id": ex.id,
        "method": req.method,
        "path": req.path,
        "query": req.query,
        "request_headers": req.headers,
        "request_content_type": req.content_type,
        "request_body": req.body,
        "status": resp.status if resp else None,
        "response_headers": resp.headers if resp else (),
        "response_content_type": resp.content_type if resp else None,
        "response_body": resp.body if resp else None,
        "duration_ms": ex.duration_ms,
        "session": ex.session,
    }


# Header lists where Content-Type turns up in any case, more than once, or with escapes.
content_types = st.sampled_from(["application/json", 'text/plain; q="a\\b"', "", 'a"b'])
header_names = st.sampled_from(["content-type", "Content-Type", "CONTENT-TYPE", "content-typ"])
header_lists = st.lists(
    st.tuples(header_names | any_text, content_types | any_text), max_size=4
).map(tuple)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ex=exchanges, request_headers=header_lists, response_headers=header_lists)
def test_scan_reads_what_query_reads(shared_store, ex, request_headers, response_headers):
    ex = replace(
        ex,
        request=replace(ex.request, headers=request_headers),
        response=ex.response and replace(ex.response, headers=response_headers),
    )
    new_id = shared_store.add(ex)
    last = list(shared_store.scan(columns=SCANNED))[-1]
    assert scanned_as_exchange(last) == expected_of(shared_store.get(new_id))


def test_scan_filters_orders_and_reads_only_what_it_is_asked(filled):
    flt = Filter.build(path="/users/*")
    rows = list(filled.scan(flt, columns=("path", "status", "response_content_type")))
    assert rows == [
        ("/users/1", 200, "application/json"),
        ("/users/2", 404, "application/json"),
        ("/users/1/avatar", 500, "application/json"),
        ("/users/3", None, None),
    ]
    assert [row[0] for row in filled.scan(columns=("id",))] == [ex.id for ex in filled.query()]


def test_scan_names_an_unknown_column(filled):
    with pytest.raises(ValueError, match="request_size"):
        filled.scan(columns=("id", "request_size"))


def test_scan_of_a_damaged_store_raises_store_error(tmp_path):
    path = tmp_path / "store.db"
    with Store.open(path, create=True) as db:
        db.add_many(make(path=f"/users/{n}", body=b"x" * 5000) for n in range(200))
    size = path.stat().st_size
    with open(path, "r+b") as handle:  # scribble over the pages that hold the rows
        handle.seek(size // 2)
        handle.write(b"\xff" * (size // 4))
    with Store.open(path) as db, pytest.raises(StoreError):
        list(db.scan(columns=("id", "response_body")))


# --- opening and the file itself ----------------------------------------------------------------


def test_new_store_is_wal_with_meta(store):
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert meta["format_version"] == str(FORMAT_VERSION)
    assert len(bytes.fromhex(meta["redaction_key"])) == 32
    assert meta["created_at"]
    indexes = {row[1] for row in conn.execute("PRAGMA index_list(exchanges)")}
    assert {"idx_exchanges_method_path", "idx_exchanges_session", "idx_exchanges_status"} <= indexes


def test_redaction_key_is_kept_and_differs_between_stores(tmp_path):
    with Store.open(tmp_path / "a.db", create=True) as a:
        key = a.redaction_key()
    with Store.open(tmp_path / "a.db") as a, Store.open(tmp_path / "b.db", create=True) as b:
        assert a.redaction_key() == key
        assert b.redaction_key() != key


def test_missing_store_names_the_fix(tmp_path):
    with pytest.raises(StoreError) as caught:
        Store.open(tmp_path / "nope.db")
    assert "nope.db" in caught.value.message
    assert "backworks capture" in caught.value.hint
    assert caught.value.exit_code == ExitCode.STORE


def test_create_makes_missing_directories(tmp_path):
    path = tmp_path / "a" / "b" / "store.db"
    with Store.open(path, create=True) as db:
        assert db.path == path
    assert path.is_file()


def test_directory_in_the_way_is_reported(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="Cannot create the directory"):
        Store.open(tmp_path / "file" / "store.db", create=True)
    with pytest.raises(StoreError, match="is a directory"):
        Store.open(tmp_path, create=True)


def test_junk_file_is_not_a_database(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert "not a backworks recordings store" in caught.value.message
    assert "not a database" in caught.value.message
    assert caught.value.hint


def test_other_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="no meta table"):
        Store.open(path, create=True)


def test_empty_file_becomes_a_store_only_with_create(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    with pytest.raises(StoreError, match="empty"):
        Store.open(path)
    with Store.open(path, create=True) as db:
        assert db.count() == 0


def test_newer_format_asks_for_an_upgrade(tmp_path):
    path = tmp_path / "new.db"
    Store.open(path, create=True).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'format_version'", (str(FORMAT_VERSION + 1),)
    )
    conn.commit()
    conn.close()
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert "newer" in caught.value.message
    assert "Upgrade" in caught.value.hint


def test_locked_store_fails_after_the_busy_timeout(tmp_path):
    path = tmp_path / "locked.db"
    Store.open(path, create=True).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with Store.open(path, timeout=0.2) as db:
            assert db.count() == 0  # WAL readers are not blocked by a writer
            with pytest.raises(StoreError) as caught:
                db.add(make())
            assert "locked" in caught.value.message
            assert "Another backworks" in caught.value.hint
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Store.open(path) as db:
        db.add(make())
        assert db.count() == 1


def _without_privileges() -> list[str]:
    """A command prefix that runs a process as root without CAP_DAC_OVERRIDE and friends."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop root's file capabilities")
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all"]


ADD_ONE = """
import sys
from pathlib import Path
from backworks_cli.core.errors import StoreError
from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.record.store import Store
try:
    with Store.open(Path(sys.argv[1]), create=sys.argv[3:] == ["create"]) as db:
        db.add(Exchange(Request("GET", "/x"), Response(200, body=b"y" * int(sys.argv[2]))))
except StoreError as error:
    print(error)
    sys.exit(int(error.exit_code))
print("written")
"""


def run_python(code: str, *args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*prefix, sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_read_only_store_raises_store_error(tmp_path):
    # Root ignores file modes, so the writer runs without capabilities: then 0444 holds for it
    # as for any user.
    path = tmp_path / "ro.db"
    with Store.open(path, create=True) as db:
        db.add(make())
    path.chmod(0o444)
    result = run_python(ADD_ONE, str(path), "10", prefix=tuple(_without_privileges()))
    assert result.returncode == ExitCode.STORE, result.stderr
    assert "not writable" in result.stdout
    assert "Traceback" not in result.stderr
    path.chmod(0o644)
    with Store.open(path) as db:
        assert db.count() == 1


def test_full_disk_raises_store_error_and_keeps_what_was_written(tmp_path):
    # A real full disk: a 256 KiB tmpfs in a private mount namespace.
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is needed to mount a small tmpfs")
    mount = tmp_path / "small"
    mount.mkdir()
    script = (
        f"mount -t tmpfs -o size=256k tmpfs {mount} || exit 99\n"
        f'"$0" -c "$1" {mount}/store.db 100 create && '
        f'"$0" -c "$1" {mount}/store.db 1000000; echo "rc=$?"; '
        f'"$0" -c "import sqlite3; print(sqlite3.connect(\'{mount}/store.db\')'
        f".execute('select count(*) from exchanges').fetchone()[0])\""
    )
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, sys.executable, ADD_ONE],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    if result.returncode == 99 or "Operation not permitted" in result.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    lines = result.stdout.splitlines()
    assert lines[0] == "written", result
    assert f"disk full: {mount}/store.db" in result.stdout
    assert f"rc={int(ExitCode.STORE)}" in lines
    assert lines[-1] == "1"  # the first exchange is still there
    assert "Traceback" not in result.stderr


def test_file_size_limit_raises_store_error(store):
    # RLIMIT_FSIZE binds root too; SQLite then reports an I/O error on write.
    store.add(make())
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))
    try:
        with pytest.raises(StoreError) as caught:
            store.add(make(body=b"x" * 1_000_000))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    assert caught.value.message.startswith(f"disk full: {store.path} (")
    assert "file size limit" in caught.value.message and "--store" in caught.value.hint
    assert store.count() == 1
    store.add(make())  # the store works again once there is room
    assert store.count() == 2


def test_get_missing_id_names_it(store):
    with pytest.raises(StoreError, match="No exchange with id 42"):
        store.get(42)


# --- filters, counts, stats -------------------------------------------------------------------


@pytest.fixture
def filled(store):
    now = time.time()
    rows = [
        make("GET", "/users/1", 200, session="a", started_at=now - 10 * 86400),
        make("get", "/users/2", 404, session="a", started_at=now - 3 * 3600),
        make("POST", "/users", 201, b'{"id": 3}', session="b", started_at=now - 600),
        make("DELETE", "/users/1/avatar", 500, session="b", started_at=now - 30),
        make("GET", "/health", 200, session="b", started_at=now),
        make("GET", "/users/3", None, session="c", started_at=now, error="refused"),
    ]
    for ex in rows:
        store.add(ex)
    return store


def paths(rows):
    return [ex.request.path for ex in rows]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, ["/users/1", "/users/2", "/users", "/users/1/avatar", "/health", "/users/3"]),
        ({"method": "get"}, ["/users/1", "/users/2", "/health", "/users/3"]),
        ({"method": "Delete"}, ["/users/1/avatar"]),
        ({"path": "/users/*"}, ["/users/1", "/users/2", "/users/1/avatar", "/users/3"]),
        ({"path": "/users/?"}, ["/users/1", "/users/2", "/users/3"]),
        ({"path": "/users"}, ["/users"]),
        ({"status": "4xx"}, ["/users/2"]),
        ({"status": "5XX"}, ["/users/1/avatar"]),
        ({"status": "200"}, ["/users/1", "/health"]),
        ({"status": 201}, ["/users"]),
        ({"session": "b"}, ["/users", "/users/1/avatar", "/health"]),
        ({"older_than": "1h"}, ["/users/1", "/users/2"]),
        ({"older_than": "7d"}, ["/users/1"]),
        ({"older_than": "5m"}, ["/users/1", "/users/2", "/users"]),
        ({"method": "GET", "path": "/users/*", "session": "a"}, ["/users/1", "/users/2"]),
    ],
)
def test_filters(filled, kwargs, expected):
    flt = Filter.build(**kwargs)
    assert paths(filled.query(flt)) == expected
    assert filled.count(flt) == len(expected)
    assert [ex for ex in filled.query() if flt.matches(ex)] == list(filled.query(flt))


def test_limit_and_streaming(filled):
    assert paths(filled.query(limit=2)) == ["/users/1", "/users/2"]
    rows = filled.query()
    first = next(rows)
    filled.add(make(path="/late"))  # writing while a query is open is fine
    seen = [first.request.path, *paths(rows)]
    assert seen[:6] == ["/users/1", "/users/2", "/users", "/users/1/avatar", "/health", "/users/3"]


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"status": "abc"}, "4xx"),
        ({"status": "6xx"}, "4xx"),
        ({"status": "42"}, "4xx"),
        ({"older_than": "soon"}, "7d"),
        ({"older_than": "10y"}, "7d"),
    ],
)
def test_bad_filter_values_explain_themselves(kwargs, hint):
    with pytest.raises(BackworksError) as caught:
        Filter.build(**kwargs)
    assert hint in caught.value.hint
    assert caught.value.exit_code == ExitCode.USAGE


def test_empty_filter():
    assert Filter.build().is_empty()
    assert Filter.build(method="", path="", session="").is_empty()
    assert not Filter.build(status="2xx").is_empty()


def test_stats(filled):
    stats = filled.stats()
    assert stats["total"] == 6
    assert stats["errors"] == 1
    assert stats["sessions"] == {"b": 3, "a": 2, "c": 1}
    assert stats["methods"]["GET"] == 3
    assert stats["statuses"] == {"200": 2, "201": 1, "404": 1, "500": 1, "none": 1}
    assert stats["response_bytes"] == len(b'{"id": 3}')
    assert stats["last"] - stats["first"] == pytest.approx(10 * 86400)
    assert {"method": "GET", "path": "/health", "count": 1} in stats["endpoints"]
    assert filled.stats(Filter.build(session="a"))["total"] == 2
    assert filled.stats(Filter.build(session="zzz"))["total"] == 0


def test_sessions_in_order_of_first_recording(filled):
    assert filled.sessions() == ["a", "b", "c"]


# --- writing in bulk and pruning -------------------------------------------------------------


class Upper:
    """A stand-in redactor: it only has to be applied, once per exchange."""

    def exchange(self, ex: Exchange) -> Exchange:
        return Exchange(
            Request(ex.request.method, ex.request.path.upper()), started_at=ex.started_at
        )


def test_add_many_applies_the_redactor(store):
    count = store.add_many((make(path=f"/item/{i}") for i in range(1203)), redactor=Upper())
    assert count == 1203 == store.count()
    assert store.get(1203).request.path == "/ITEM/1202"


def test_add_many_keeps_what_came_before_a_bad_entry(store):
    def source():
        yield make(path="/one")
        yield make(path="/two")
        raise BackworksError("entry 2 is broken", "fix it")

    with pytest.raises(BackworksError) as caught:
        store.add_many(source())
    assert "The 2 exchange(s) before it were added" in caught.value.message
    assert store.count() == 2


def test_prune_refuses_without_filter(filled):
    with pytest.raises(BackworksError) as caught:
        filled.prune(Filter.build())
    assert "--older-than" in caught.value.hint
    assert filled.count() == 6


def test_prune_by_filter_and_dry_run(filled):
    flt = Filter.build(session="b")
    assert filled.prune(flt, dry_run=True) == 3
    assert filled.count() == 6
    assert filled.prune(flt) == 3
    assert filled.sessions() == ["a", "c"]
    assert filled.prune(Filter.build(status="4xx")) == 1
    assert filled.count() == 2


def test_prune_keep_last_per_method_and_path(store):
    for i in range(5):
        store.add(make("GET", "/a", started_at=NOW + i))
        store.add(make("GET", "/b", started_at=NOW + i))
    store.add(make("POST", "/a", started_at=NOW))
    assert store.prune(Filter.build(), keep_last=2, dry_run=True) == 6
    assert store.prune(Filter.build(), keep_last=2) == 6
    kept = [(ex.request.method, ex.request.path, ex.started_at - NOW) for ex in store.query()]
    assert sorted(kept) == [
        ("GET", "/a", 3),
        ("GET", "/a", 4),
        ("GET", "/b", 3),
        ("GET", "/b", 4),
        ("POST", "/a", 0),
    ]
    assert store.prune(Filter.build(path="/a"), keep_last=0) == 3
    with pytest.raises(BackworksError, match="--keep-last"):
        store.prune(Filter.build(), keep_last=-1)


def test_prune_deletes_messages_too(store):
    store.add(make(kind="websocket", messages=(Message("client", b"hi"),)))
    store.prune(Filter.build(path="/users/*"))
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
