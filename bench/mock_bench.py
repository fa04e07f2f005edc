"""Benchmark of `backworks mock`, as ratios against a floor measured in the same run.

    python3 bench/mock_bench.py [--quick]          # on its own
    python3 bench/run.py --only mock               # as a section of `just bench`

The canonical scenario (GET /users/1 ~500 B, GET /users 20 users ~10 KB, POST /users 201) is
fetched from bench/upstream.py and stored as exchanges, then wrk -t2 -c32 measures:

- floor: a bare uvicorn ASGI app answering constant bytes, with the very uvicorn settings that
  `backworks mock` uses (uvloop, httptools, no access log): what the host alone costs. For each
  scenario request it sends the bytes the mock sends (same status and body size) and reads
  the request body, so that the ratio isolates backworks' own work;
- replay: `backworks mock` answering the scenario from the recordings;
- generated: `backworks mock` answering GET /accounts/{id}, an endpoint with a response schema
  and no recordings, so every answer is generated: for one id again and again (the answer is
  then remembered, as a load test on a few ids meets it), and for a new id on every request
  (each generated afresh, what the generator itself costs);
- scale: replay from a store of 10 recordings vs. --recordings of them: start-up time (spawn to
  first 2xx), resident memory, and GET /users/7 throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from run import ENDPOINTS, POST_BODY, free_port, rss_mib, running, wait_port, wrk  # noqa: E402

GENERATED = ("GET /accounts/7", "GET", "/accounts/7")
# A new id on every request, so that every answer is generated afresh (each wrk thread counts
# in its own range of ids).
FRESH = (
    "GET /accounts/{new id}",
    "GET",
    "/accounts/1",
    """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("first", threads * 1000000000)
end
local count = 0
function request()
  count = count + 1
  return wrk.format(nil, "/accounts/" .. (first + count))
end
""",
)
SCALE_PATH = "/users/7"
ACCOUNT_SCHEMA = {
    "type": "object",
    "required": ["id", "email", "name", "balance", "currency", "created_at"],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "email": {"type": "string", "format": "email", "x-semantic": "email"},
        "name": {"type": "string", "x-semantic": "name"},
        "balance": {"type": "number"},
        "currency": {"type": "string", "enum": ["EUR", "GBP", "USD"]},
        "created_at": {"type": "string", "format": "date-time"},
        "active": {"type": "boolean"},
    },
}


# --- the recordings ------------------------------------------------------------------------------


def fetch_scenario(upstream: str) -> list:
    """The three scenario exchanges, as the upstream answers them."""
    import httpx

    from backworks_cli.core.exchange import Exchange, Request, Response

    exchanges = []
    with httpx.Client(base_url=upstream) as client:
        for method, path in ENDPOINTS.values():
            body = POST_BODY.encode() if method == "POST" else b""
            headers = (("Content-Type", "application/json"),) if body else ()
            reply = client.request(method, path, content=body, headers=dict(headers))
            exchanges.append(
                Exchange(
                    request=Request(method, path, headers=headers, body=body, host="127.0.0.1"),
                    response=Response(
                        reply.status_code, tuple(reply.headers.items()), reply.content
                    ),
                    started_at=time.time(),
                    duration_ms=1.0,
                    session="bench",
                )
            )
    return exchanges


def recorded_scenario() -> list:
    """The scenario's exchanges from a bench/upstream.py started for the purpose and stopped."""
    upstream_port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, str(HERE / "upstream.py"), "--port", str(upstream_port)]
    )
    try:
        wait_port(upstream_port, upstream)
        return fetch_scenario(f"http://127.0.0.1:{upstream_port}")
    finally:
        upstream.terminate()
        upstream.wait()


def write_project(directory: Path, scenario: list, recordings: int) -> Path:
    """A store holding the scenario plus GET /users/2.. up to `recordings` exchanges, and a
    backworks.yaml over it; returns the yaml's path."""
    from dataclasses import replace

    from backworks_cli.record.store import Store

    user = next(ex for ex in scenario if ex.request.path == "/users/1")
    extra = (
        replace(user, request=replace(user.request, path=f"/users/{n}"))
        for n in range(2, recordings - len(scenario) + 2)
    )
    with Store.open(directory / "recordings.db", create=True) as store:
        store.add_many([*scenario, *extra])
    config = {
        "name": "bench",
        "recordings": {"path": "recordings.db"},
        "endpoints": {
            "get_users_id": {"path": "/users/{id}", "methods": ["GET"], "mode": "replay"},
            "get_users": {"path": "/users", "methods": ["GET"], "mode": "replay"},
            "post_users": {"path": "/users", "methods": ["POST"], "mode": "replay"},
            "get_accounts_id": {
                "path": "/accounts/{id}",
                "methods": ["GET"],
                "mode": "mock",
                "responses": {
                    "200": {"content_type": "application/json", "schema": ACCOUNT_SCHEMA}
                },
            },
        },
    }
    path = directory / "backworks.yaml"
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path


# --- the servers ---------------------------------------------------------------------------------


def mock_command(config: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "backworks_cli", "mock", "-c", str(config), "--port", str(port)]


def floor_command(port: int, answers: Path) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve-floor",
        str(port),
        "--answers",
        str(answers),
    ]


def write_answers(path: Path, scenario: list) -> Path:
    """The scenario's responses as the floor sends them: status, content type and body bytes
    by method and path."""
    answers = {
        f"{ex.request.method} {ex.request.path}": {
            "status": ex.response.status,
            "content_type": ex.response.header("content-type") or "application/json",
            "body": ex.response.body.decode("utf-8"),
        }
        for ex in scenario
    }
    path.write_text(json.dumps(answers))
    return path


def serve_floor(port: int, answers: Path) -> None:
    """The floor: for each scenario request, the very status and body bytes the mock sends,
    prepared once; a request body is read, as any ASGI app must. Same uvicorn settings as
    backworks mock, so the ratio is what backworks' own work costs."""
    import uvicorn

    from backworks_cli.host.mock_run import uvicorn_settings

    prepared = {}
    for key, answer in json.loads(answers.read_text()).items():
        body = answer["body"].encode("utf-8")
        headers = [
            (b"content-type", answer["content_type"].encode("latin-1")),
            (b"content-length", b"%d" % len(body)),
        ]
        prepared[key] = (
            {"type": "http.response.start", "status": answer["status"], "headers": headers},
            {"type": "http.response.body", "body": body},
        )
    fallback = next(iter(prepared.values()))

    async def app(scope, receive, send):
        if scope["type"] == "http":
            if scope["method"] in ("POST", "PUT", "PATCH"):
                message = await receive()
                while message.get("more_body"):
                    message = await receive()
            start, end = prepared.get(f"{scope['method']} {scope['path']}", fallback)
            await send(start)
            await send(end)

    uvicorn.run(app, lifespan="off", **uvicorn_settings("127.0.0.1", port))


def time_to_first_2xx(command: list[str], port: int, path: str, timeout: float = 600) -> tuple:
    """Start `command`; seconds until `path` answers 2xx, and the process (still running)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}{path}"
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{command} exited {proc.returncode}: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as reply:
                if 200 <= reply.status < 300:
                    return time.perf_counter() - started, proc
        except OSError:
            time.sleep(0.01)
    proc.kill()
    raise RuntimeError(f"{command} did not answer {url} in {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the measurements ----------------------------------------------------------------------------


def measure(port: int, targets: list[tuple], args) -> dict[str, dict]:
    """wrk against each (name, method, path[, wrk script]): a warm-up run, then a measured
    one."""
    out = {}
    for name, method, path, *lua in targets:
        url = f"http://127.0.0.1:{port}{path}"
        wrk(url, method, args.warmup, args.connections, args.threads, *lua)
        out[name] = wrk(url, method, args.seconds, args.connections, args.threads, *lua)
    return out


def bench_mock(args) -> dict:
    """Floor vs. replay vs. generated (interleaved rounds, medians), then the scale test."""
    scenario_targets = [(name, method, path) for name, (method, path) in ENDPOINTS.items()]
    scenario = recorded_scenario()
    runs: dict[str, dict[str, list[dict]]] = {"floor": {}, "replay": {}}
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp, "small")
        small.mkdir()
        config = write_project(small, scenario, 10)
        answers = write_answers(small / "answers.json", scenario)
        for _round in range(args.rounds):
            for target in ("floor", "replay"):
                port = free_port()
                command = (
                    floor_command(port, answers)
                    if target == "floor"
                    else mock_command(config, port)
                )
                with running(command, port, cwd=tmp):
                    targets = scenario_targets + ([GENERATED, FRESH] if target == "replay" else [])
                    for name, result in measure(port, targets, args).items():
                        runs[target].setdefault(name, []).append(result)
        scale = bench_scale(args, scenario, Path(tmp))
    return {"throughput": _summarise(runs), "scale": scale}


def bench_scale(args, scenario: list, tmp: Path) -> dict:
    """Start-up, memory and throughput with 10 recordings vs. args.recordings."""
    out = {}
    for count in (10, args.recordings):
        directory = tmp / f"scale-{count}"
        directory.mkdir()
        started = time.perf_counter()
        config = write_project(directory, scenario, count)
        store_s = time.perf_counter() - started
        port = free_port()
        startup_s, proc = time_to_first_2xx(mock_command(config, port), port, SCALE_PATH)
        try:
            idle_rss = rss_mib(proc.pid)
            result = measure(port, [("replay", "GET", SCALE_PATH)], args)["replay"]
            result.update(
                recordings=count,
                startup_s=startup_s,
                store_build_s=store_s,
                rss_mib=idle_rss,
                rss_after_mib=rss_mib(proc.pid),
            )
            out[str(count)] = result
        finally:
            stop(proc)
    return out


def _summarise(runs: dict) -> dict:
    """Medians per request and target; the ratio is mock over floor for the same request, and
    over the floor's GET /users/1 for the generated one (the floor has no generation)."""
    keys = ("rps", "p50", "p90", "p99", "errors")
    floor_user = statistics.median(s["rps"] for s in runs["floor"]["GET /users/1"])
    summary = {}
    for name in runs["replay"]:
        row = {}
        for target in runs:
            samples = runs[target].get(name)
            if samples:
                row[target] = {k: statistics.median(s.get(k, 0) for s in samples) for k in keys}
                row[target]["all_rps"] = sorted(s["rps"] for s in samples)
        base = row["floor"]["rps"] if "floor" in row else floor_user
        row["ratio"] = row["replay"]["rps"] / base
        summary[name] = row
    return summary


def report_mock(results: dict) -> list[str]:
    """Markdown lines for the results of bench_mock."""
    lines = [
        "### backworks mock vs. a bare uvicorn app (same uvicorn settings, same load, same run)",
        "",
        "| request | floor req/s | mock req/s | ratio | floor p50/p99 ms | mock p50/p99 ms "
        "| errors |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name, row in results["throughput"].items():
        m = row["replay"]
        f = row.get("floor")
        generated = name in (GENERATED[0], FRESH[0])
        label = f"{name} (generated)" if generated else f"{name} (replayed)"
        floor_rps = f"{f['rps']:,.0f}" if f else "(GET /users/1)"
        floor_lat = f"{f['p50']:.2f}/{f['p99']:.2f}" if f else ""
        lines.append(
            f"| {label} | {floor_rps} | {m['rps']:,.0f} | {row['ratio']:.2f}x | {floor_lat} "
            f"| {m['p50']:.2f}/{m['p99']:.2f} | {m['errors']:.0f} |"
        )
    lines += [
        "",
        "### backworks mock: 10 recordings vs. many (replay of GET /users/7)",
        "",
        "| recordings | start-up to first 2xx s | RSS idle MiB | RSS after load MiB | req/s "
        "| p50/p99 ms |",
        "|--:|--:|--:|--:|--:|--:|",
    ]
    for row in results["scale"].values():
        lines.append(
            f"| {row['recordings']:,} | {row['startup_s']:.2f} | {row['rss_mib']:.0f} "
            f"| {row['rss_after_mib']:.0f} | {row['rps']:,.0f} "
            f"| {row['p50']:.2f}/{row['p99']:.2f} |"
        )
    lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--serve-floor", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--answers", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="short runs for a smoke check")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--recordings", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor, args.answers)
        return
    if args.quick:
        args.rounds, args.seconds, args.warmup, args.recordings = 1, 3, 1, 10_000
    os.chdir(HERE.parent)
    results = bench_mock(args)
    print("\n".join(report_mock(results)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
