"""A full disk, as commands meet it: `capture` and `infer` run as subprocesses under a file size
limit (RLIMIT_FSIZE, with SIGXFSZ ignored, so writes past it fail with EFBIG as they would
with ENOSPC on a full disk). Each says "disk full: <path>" with a hint and exits non-zero,
without a traceback, and what was written before is still there."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backworks_cli.core.errors import ExitCode
from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.record.store import Store
from tests.conftest import JsonHandler, LoopbackServer, follow_stderr, ports_in


def limited(size: int):
    """A preexec_fn: a file size limit of `size` bytes, and SIGXFSZ ignored so that writes
    past it fail instead of killing the process."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def backworks(*args: str, cwd: Path, limit: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "BACKWORKS_HOME": str(cwd / "home")}
    return subprocess.Popen(
        [sys.executable, "-m", "backworks_cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limited(limit),
    )


class Sink(JsonHandler):
    """An upstream that reads a body and answers with its length."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.send_json({"received": len(self.rfile.read(length))})


def test_capture_stops_on_a_full_disk_and_keeps_what_it_recorded(tmp_path):
    store = tmp_path / "recordings" / "backworks.db"
    with LoopbackServer(Sink) as upstream:
        args = ["--upstream", upstream.url, "--listen", "127.0.0.1:0"]
        proc = backworks("capture", *args, "--store", str(store), cwd=tmp_path, limit=400_000)
        lines, reader, ready = follow_stderr(proc, "Listening on")
        assert ready.wait(60) and ready.line and proc.poll() is None, "".join(lines)
        port = ports_in(ready.line)[0]  # the port it bound
        answered = 0
        body = random.Random(7).randbytes(30_000)  # incompressible, so the store grows
        with httpx.Client(timeout=10) as client:
            for n in range(100):  # 3 MB in all: far past the limit
                try:
                    reply = client.post(f"http://127.0.0.1:{port}/upload/{n}", content=body)
                except httpx.HTTPError:
                    break  # the exchange that found no room is held back: no answer
                assert reply.status_code == 200
                answered += 1
        code = proc.wait(timeout=60)
        reader.join(timeout=10)
    err = "".join(lines)
    assert code == ExitCode.STORE, err
    assert f"disk full: {store} (" in err and "file size limit" in err, err
    assert "Hint: Free some disk space" in err and "Traceback" not in err
    assert 0 < answered < 100
    with Store.open(store) as db:  # every answered exchange was recorded before its answer
        assert db.count() == answered


def test_infer_says_which_file_found_the_disk_full_and_leaves_it_as_it_was(tmp_path):
    rng = random.Random(3)
    names = sorted({"".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=10)) for _ in range(300)})
    with Store.open(tmp_path / "recordings" / "backworks.db", create=True) as db:
        db.add_many(
            Exchange(
                Request("GET", f"/{name}", headers=(("Host", "api.test"),)),
                Response(
                    200, (("Content-Type", "application/json"),), json.dumps({"n": 1}).encode()
                ),
                started_at=time.time(),
                duration_ms=1.0,
            )
            for name in names
        )
    config = tmp_path / "backworks.yaml"
    config.write_text("name: shop\n")
    proc = backworks("infer", cwd=tmp_path, limit=64 * 1024)  # backworks.yaml needs more
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == ExitCode.CONFIG, err
    assert "disk full: backworks.yaml (it would pass the file size limit" in err, err
    assert "Hint:" in err and "Traceback" not in err
    assert config.read_text() == "name: shop\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".backworks")] == []
