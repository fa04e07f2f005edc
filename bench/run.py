"""Benchmarks for backworks, each reported as a ratio against a baseline measured in the same run.

    python3 bench/run.py                    # everything
    python3 bench/run.py --only capture     # capture vs. plain mitmdump
    python3 bench/run.py --quick            # shorter runs, for a smoke check

Sections:
- capture: `backworks capture` in front of a loopback upstream vs. `mitmdump --mode reverse:`
  in front of the same upstream, same wrk load, runs interleaved; throughput ratio and added
  latency. With --baseline DIR (a checkout of another backworks version), that version's
  capture runs in the same rounds and capture's req/s is also reported over its.
- memory: capture's resident memory while it records --exchanges exchanges (flat = no flows kept).
- help: median wall time of `backworks --help`.
- mock: `backworks mock` replaying and generating vs. a bare uvicorn app with the same settings,
  and start-up/memory with 10 vs. --recordings recordings (bench/mock_bench.py).
- runtime: a Node.js handler through the long-lived JSON-lines worker vs. a node process per
  request, through the runtime mode's handle() (bench/runtime_bench.py).
- serve: `backworks serve` forwarding proxy endpoints vs. `mitmdump --mode reverse:` in front of
  the same upstream, same wrk load, runs interleaved (bench/serve_bench.py).
- database: the database mode's GET by id vs. mock replaying a GET, through Engine.handle in
  process, and its lists and writes (bench/database_bench.py).
- infer: `backworks infer` over 100k generated exchanges (~200 MB of JSON) vs. json-parsing the
  same bodies once, peak memory, and 100k vs. 10k (bench/infer_bench.py).
- peers: `backworks mock` replaying the canonical scenario vs. WireMock, Prism and Mockoon
  serving the same recorded answers, installed with npm on first use under
  $BACKWORKS_PEERS (default ~/.cache/backworks/peers), rounds interleaved; backworks's req/s
  over the fastest peer's (bench/peers_bench.py).
- dashboard: `backworks mock` replaying with `backworks dashboard` attached (in a pseudo
  terminal) vs. alone, same load, interleaved; and the dashboard fed 5,000 events/s in
  process: CPU and memory growth (bench/dashboard_bench.py).

Needs wrk (Debian package `wrk`). Results are printed as Markdown and written to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ENDPOINTS = {
    "GET /users/1": ("GET", "/users/1"),
    "GET /users": ("GET", "/users"),
    "POST /users": ("POST", "/users"),
}
MEASURES = ("rps", "p50", "p90", "p99", "cpu", "rss_mib", "errors")
POST_BODY = json.dumps({"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early ({proc.returncode}): {proc.args}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} not ready after {timeout}s")


@contextmanager
def running(args: list[str], port: int, **kwargs):
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kwargs
    )
    try:
        wait_port(port, proc)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, method: str, seconds: int, connections: int, threads: int, lua: str = "") -> dict:
    """One wrk run (with `lua` as its script when given); returns req/s, latency percentiles
    (ms) and error count."""
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if method == "POST":
        body = POST_BODY.replace('"', '\\"')
        lua = (
            f'wrk.method = "POST"\nwrk.body = "{body}"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        ) + lua
    script = None
    if lua:
        script = Path(tempfile.mkstemp(suffix=".lua")[1])
        script.write_text(lua)
        args += ["-s", str(script)]
    try:
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    finally:
        if script:
            script.unlink()
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "errors": 0}
    for pct, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\b", out, re.M):
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
        result[f"p{pct}"] = float(value) * scale
    for kind in ("connect", "read", "write", "timeout"):
        found = re.search(rf"{kind} (\d+)", out)
        if found and "Socket errors" in out:
            result["errors"] += int(found.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] += int(non2xx.group(1)) if non2xx else 0
    return result


def measure_endpoints(proc: subprocess.Popen, port: int, args) -> dict[str, dict]:
    """wrk against each of ENDPOINTS through `port`: a warm-up run, then a measured one with
    the CPU share and resident memory of `proc`."""
    out = {}
    for name, (method, path) in ENDPOINTS.items():
        url = f"http://127.0.0.1:{port}{path}"
        wrk(url, method, args.warmup, args.connections, args.threads)
        cpu0 = cpu_seconds(proc.pid)
        result = wrk(url, method, args.seconds, args.connections, args.threads)
        result["cpu"] = (cpu_seconds(proc.pid) - cpu0) / args.seconds
        result["rss_mib"] = rss_mib(proc.pid)
        out[name] = result
    return out


def medians(samples: list[dict]) -> dict:
    """The median of each measure of measure_endpoints over the rounds, and every req/s."""
    row = {key: statistics.median(s[key] for s in samples) for key in MEASURES}
    row["all_rps"] = sorted(s["rps"] for s in samples)
    return row


def mitmdump_command(upstream: str, port: int, tmp: str) -> list[str]:
    """The peer: plain mitmdump as a reverse proxy in front of `upstream`."""
    mitmdump = shutil.which("mitmdump") or "mitmdump"
    return [mitmdump, "--mode", f"reverse:{upstream}", "-p", str(port), "-q"] + [
        "--set",
        f"confdir={tmp}",
    ]


def bare_proxy_command(upstream: str, port: int, tmp: str) -> list[str]:
    """The mitmproxy that backworks runs, with its addons but none of backworks's own."""
    return [sys.executable, str(HERE / "bare_proxy.py"), "--upstream", upstream] + [
        *("--port", str(port)),
    ]


def compare(args, commands: dict[str, Callable[[str, int, str], list[str]]]) -> dict[str, dict]:
    """Each target in front of bench/upstream.py, in interleaved rounds under the same wrk
    load: {endpoint: {target: medians}}. commands[target](upstream URL, port, a temporary
    directory) is the target's command line; it runs in that directory."""
    upstream_port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, str(HERE / "upstream.py"), "--port", str(upstream_port)]
    )
    wait_port(upstream_port, upstream)
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    runs: dict[str, dict[str, list[dict]]] = {target: {} for target in commands}
    try:
        for _round in range(args.rounds):
            for target, command in commands.items():
                port = free_port()
                with tempfile.TemporaryDirectory() as tmp:
                    cmd = command(upstream_url, port, tmp)
                    env = {**os.environ, "BACKWORKS_HOME": tmp}
                    with running(cmd, port, env=env, cwd=tmp) as proc:
                        for name, result in measure_endpoints(proc, port, args).items():
                            runs[target].setdefault(name, []).append(result)
    finally:
        upstream.terminate()
        upstream.wait()
    return {name: {target: medians(runs[target][name]) for target in runs} for name in ENDPOINTS}


def capture_command(source: str | None = None) -> Callable[[str, int, str], list[str]]:
    """`backworks capture` of this checkout, or of the one at `source`."""
    prefix = ["env", f"PYTHONPATH={Path(source).resolve()}"] if source else []

    def command(upstream: str, port: int, tmp: str) -> list[str]:
        return [
            *prefix,
            *(sys.executable, "-m", "backworks_cli", "capture", "--upstream", upstream),
            *("--listen", f"127.0.0.1:{port}", "--store", f"{tmp}/b.db", "--session", "bench"),
        ]

    return command


def bench_capture(args) -> dict:
    """Throughput of capture vs. plain mitmdump (and --baseline's capture), interleaved
    rounds, medians reported."""
    commands = {
        "mitmdump": mitmdump_command,
        "proxy": bare_proxy_command,
        "capture": capture_command(),
    }
    if args.baseline:
        commands["baseline"] = capture_command(args.baseline)
    summary = compare(args, commands)
    for row in summary.values():
        row["ratio"] = row["capture"]["rps"] / row["mitmdump"]["rps"]
        row["recording_cost"] = 1 - row["capture"]["rps"] / row["proxy"]["rps"]
        if "baseline" in row:
            row["over_baseline"] = row["capture"]["rps"] / row["baseline"]["rps"]
    return summary


def bench_memory(args) -> dict:
    """Capture RSS as the store grows to --exchanges exchanges."""
    upstream_port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, str(HERE / "upstream.py"), "--port", str(upstream_port)]
    )
    wait_port(upstream_port, upstream)
    samples = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            store = Path(tmp) / "b.db"
            cmd = [sys.executable, "-m", "backworks_cli", "capture", "--upstream"]
            cmd += [f"http://127.0.0.1:{upstream_port}", "--listen", f"127.0.0.1:{port}"]
            cmd += ["--store", str(store), "--session", "memory"]
            env = {**os.environ, "BACKWORKS_HOME": tmp}
            with running(cmd, port, env=env) as proc:
                count = 0
                samples.append({"exchanges": 0, "rss_mib": rss_mib(proc.pid)})
                paths = ["/users/1", "/users", "/users/2"]
                chunk = 0
                while count < args.exchanges:
                    url = f"http://127.0.0.1:{port}{paths[chunk % len(paths)]}"
                    wrk(url, "GET", args.memory_chunk, args.connections, args.threads)
                    chunk += 1
                    with sqlite3.connect(store) as db:
                        count = db.execute("select count(*) from exchanges").fetchone()[0]
                    samples.append({"exchanges": count, "rss_mib": rss_mib(proc.pid)})
                    print(f"  memory: {count} exchanges, {samples[-1]['rss_mib']:.1f} MiB")
    finally:
        upstream.terminate()
        upstream.wait()
    return {
        "samples": samples,
        "store_bytes": None,
        "first_10k_mib": next(s["rss_mib"] for s in samples if s["exchanges"] >= 10_000)
        if any(s["exchanges"] >= 10_000 for s in samples)
        else samples[-1]["rss_mib"],
        "final_mib": samples[-1]["rss_mib"],
        "final_exchanges": samples[-1]["exchanges"],
    }


def bench_help(args) -> dict:
    times = []
    for _ in range(args.help_runs):
        start = time.perf_counter()
        subprocess.run(
            [shutil.which("backworks") or "backworks", "--help"], capture_output=True, check=True
        )
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def bench_mock(args) -> dict:
    from mock_bench import bench_mock as run_mock_bench

    return run_mock_bench(args)


def bench_runtime(args) -> dict:
    from runtime_bench import bench_runtime as run_runtime_bench

    return run_runtime_bench(args)


def bench_serve(args) -> dict:
    from serve_bench import bench_serve as run_serve_bench

    return run_serve_bench(args)


def bench_database(args) -> dict:
    from database_bench import bench_database as run_database_bench

    return run_database_bench(args)


def bench_peers(args) -> dict:
    from peers_bench import bench_peers as run_peers_bench

    return run_peers_bench(args)


def bench_dashboard(args) -> dict:
    from dashboard_bench import bench_dashboard as run_dashboard_bench

    return run_dashboard_bench(args)


def bench_infer(args) -> dict:
    from infer_bench import run as run_infer_bench

    count = 10_000 if args.quick else 100_000
    return run_infer_bench(count, count // 10)


def report(results: dict) -> str:
    lines = []
    if "capture" in results:
        lines += [
            "### capture vs. mitmdump --mode reverse (same upstream, same load, same run)",
            "",
            "| endpoint | mitmdump req/s | capture req/s | ratio | mitmdump p50/p99 ms "
            "| capture p50/p99 ms | added p50 ms | capture CPU | capture RSS MiB "
            "| same proxy, no recording, req/s | recording + redaction cost |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for name, row in results["capture"].items():
            m, c = row["mitmdump"], row["capture"]
            lines.append(
                f"| {name} | {m['rps']:,.0f} | {c['rps']:,.0f} | {row['ratio']:.2f}x "
                f"| {m['p50']:.1f}/{m['p99']:.1f} | {c['p50']:.1f}/{c['p99']:.1f} "
                f"| {c['p50'] - m['p50']:+.1f} | {c['cpu']:.2f} | {c['rss_mib']:.0f} "
                f"| {row['proxy']['rps']:,.0f} | {row['recording_cost']:.0%} |"
            )
        lines.append("")
        baseline = {n: r for n, r in results["capture"].items() if "baseline" in r}
        if baseline:
            lines += [
                f"capture vs. the capture of {results['args']['baseline']} (same run):",
                "",
                "| endpoint | baseline req/s | capture req/s | ratio |",
                "|---|--:|--:|--:|",
            ]
            for name, row in baseline.items():
                lines.append(
                    f"| {name} | {row['baseline']['rps']:,.0f} | {row['capture']['rps']:,.0f} "
                    f"| {row['over_baseline']:.2f}x |"
                )
            lines.append("")
    if "memory" in results:
        mem = results["memory"]
        lines += [
            "### capture memory while recording",
            "",
            "| exchanges | RSS MiB |",
            "|--:|--:|",
            *[f"| {s['exchanges']:,} | {s['rss_mib']:.1f} |" for s in mem["samples"]],
            "",
            f"RSS after 10k: {mem['first_10k_mib']:.1f} MiB; after {mem['final_exchanges']:,}: "
            f"{mem['final_mib']:.1f} MiB.",
            "",
        ]
    if "help" in results:
        h = results["help"]
        lines += [
            "### backworks --help",
            "",
            f"median {h['median_s'] * 1000:.0f} ms (min {h['min_s'] * 1000:.0f}, "
            f"max {h['max_s'] * 1000:.0f}) over the runs",
            "",
        ]
    if "mock" in results:
        from mock_bench import report_mock

        lines += report_mock(results["mock"])
    if "peers" in results:
        from peers_bench import report_peers

        lines += report_peers(results["peers"])
    if "runtime" in results:
        from runtime_bench import report_runtime

        lines += report_runtime(results["runtime"])
    if "serve" in results:
        from serve_bench import report_serve

        lines += report_serve(results["serve"])
    if "database" in results:
        from database_bench import report_database

        lines += report_database(results["database"])
    if "dashboard" in results:
        from dashboard_bench import report_dashboard

        lines += report_dashboard(results["dashboard"])
    if "infer" in results:
        from infer_bench import report as report_infer

        lines.append(report_infer(results["infer"]))
    if "redact" in results:
        import redact_bench

        lines.append(redact_bench.report(results["redact"]))
    return "\n".join(lines)


def bench_redact(args) -> dict:
    import redact_bench

    return redact_bench.run(1.0 if args.quick else 3.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--only",
        default="capture,memory,help,mock,peers,serve,runtime,database,infer,dashboard,redact",
        help="comma-separated sections",
    )
    parser.add_argument("--quick", action="store_true", help="short runs for a smoke check")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="capture: a checkout of another backworks to compare")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--memory-chunk", type=int, default=10, help="seconds of load per sample")
    parser.add_argument("--help-runs", type=int, default=21)
    parser.add_argument("--recordings", type=int, default=100_000, help="mock: the large store")
    parser.add_argument("--peers", help="peers: which (wiremock,prism,mockoon,wiremock-journal)")
    parser.add_argument("--warm-all", type=int, help="peers: s on each request first (15)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warmup, args.warm_all = 1, 3, 1, 3
        args.exchanges, args.memory_chunk, args.help_runs = 3000, 3, 5
        args.recordings = 10_000
    needs_wrk = {"capture", "memory", "mock", "peers", "serve", "dashboard"}
    if not shutil.which("wrk") and needs_wrk & set(args.only.split(",")):
        sys.exit("wrk is needed: apt-get install wrk")
    sections = {
        "capture": bench_capture,
        "memory": bench_memory,
        "help": bench_help,
        "infer": bench_infer,
        "mock": bench_mock,
        "peers": bench_peers,
        "runtime": bench_runtime,
        "serve": bench_serve,
        "database": bench_database,
        "dashboard": bench_dashboard,
        "redact": bench_redact,
    }
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "args": vars(args)}
    for name in args.only.split(","):
        print(f"running {name}...", file=sys.stderr)
        results[name] = sections[name](args)
    text = report(results)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(results, indent=2))
    (RESULTS / f"{stamp}.md").write_text(text)


if __name__ == "__main__":
    main()
