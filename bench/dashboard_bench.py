"""Benchmark of `backworks dashboard`: what watching costs the host, and what keeping up costs
the dashboard.

    python3 bench/dashboard_bench.py [--quick]       # on its own
    python3 bench/run.py --only dashboard            # as a section of `just bench`

(a) attached: `backworks mock` replaying a small recorded store (the mock benchmark's scenario,
    GET /users/1 and GET /users) under wrk -t2 -c32, alone and with `backworks dashboard`
    attached from another process running in a pseudo terminal (120x40), rounds interleaved in
    the same run; the ratio is req/s with the dashboard over req/s without. The dashboard's CPU
    share and the events the host dropped for it (it lagged) are reported too.
(b) feed: the dashboard in process, headless (App.run_test), fed 5,000 request events a second
    through its event handler (EventsReceived, as its worker posts them, 50 every 10 ms) for
    --feed-seconds; CPU share of the process and resident memory after a warm-up and at the
    end, with the growth extrapolated to 10 minutes. Also the event-stream parser alone, in
    events per second.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import pty
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from mock_bench import mock_command, recorded_scenario, stop, write_project  # noqa: E402
from run import cpu_seconds, free_port, rss_mib, wait_port, wrk  # noqa: E402

TARGETS = [("GET /users/1", "/users/1"), ("GET /users", "/users")]
FEED_RATE = 5000  # events a second
FEED_TICK = 0.01  # seconds between batches
FEED_WARMUP = 10.0  # seconds before the first memory sample: every ring buffer is full by then


# --- (a) the host's throughput with the dashboard attached -----------------------------------


class Terminal:
    """`backworks dashboard` in a pseudo terminal whose output a thread drains (a full pty
    would block the app); `seen` collects the output so one can wait for a word on screen."""

    def __init__(self, url: str, size: tuple[int, int] = (120, 40)):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(size[0])}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backworks_cli", "dashboard", "--url", url],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.seen = bytearray()
        self._done = False
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while not self._done:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.seen += chunk
                del self.seen[:-4096]  # only the recent screen matters

    def wait_for(self, word: bytes, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while word not in self.seen:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"the dashboard did not show {word!r}")
            time.sleep(0.05)

    def close(self) -> None:
        os.write(self.master, b"q")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._done = True
        self._reader.join(timeout=5)
        os.close(self.master)


def events_dropped(port: int) -> int:
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/__backworks/metrics", trust_env=False).text
    found = re.search(r"^backworks_events_dropped_total (\d+)", text, re.M)
    return int(found.group(1)) if found else 0


def bench_attached(args, config: Path, cwd: Path) -> dict:
    runs: dict[str, dict[str, list[dict]]] = {"alone": {}, "dashboard": {}}
    for _round in range(args.rounds):
        for target in runs:
            port = free_port()
            mock = subprocess.Popen(
                mock_command(config, port),
                cwd=cwd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            terminal = None
            try:
                wait_port(port, mock)
                if target == "dashboard":
                    terminal = Terminal(f"http://127.0.0.1:{port}")
                    terminal.wait_for(b"live")
                for name, path in TARGETS:
                    url = f"http://127.0.0.1:{port}{path}"
                    wrk(url, "GET", args.warmup, args.connections, args.threads)
                    dropped0 = events_dropped(port)
                    cpu0 = cpu_seconds(terminal.proc.pid) if terminal else 0.0
                    result = wrk(url, "GET", args.seconds, args.connections, args.threads)
                    if terminal:
                        result["dashboard_cpu"] = (
                            cpu_seconds(terminal.proc.pid) - cpu0
                        ) / args.seconds
                        result["dashboard_rss_mib"] = rss_mib(terminal.proc.pid)
                        result["dropped"] = events_dropped(port) - dropped0
                    runs[target].setdefault(name, []).append(result)
            finally:
                if terminal:
                    terminal.close()
                stop(mock)
    summary = {}
    for name, _ in TARGETS:
        row = {}
        for target, samples in runs.items():
            row[target] = {
                key: statistics.median(s[key] for s in samples[name])
                for key in samples[name][0]
                if isinstance(samples[name][0][key], int | float)
            }
            row[target]["all_rps"] = sorted(s["rps"] for s in samples[name])
        row["ratio"] = row["dashboard"]["rps"] / row["alone"]["rps"]
        summary[name] = row
    return summary


# --- (b) the dashboard fed 5,000 events a second ----------------------------------------------


def _templates() -> list[dict]:
    """Events as a busy host sends them: mostly replays, some generated answers, misses with
    their explanation, unknown paths and errors."""
    miss_detail = {
        "error": "no recording matches",
        "request": {"method": "GET", "target": "/api/users?page=9"},
        "nearest": [
            {
                "id": 3,
                "method": "GET",
                "target": "/api/users",
                "score": 0.667,
                "matchers": [
                    {"name": "method", "ok": True, "why": "GET matches"},
                    {"name": "path", "ok": True, "why": "/api/users matches"},
                    {"name": "query", "ok": False, "why": "expected no query, got page=9"},
                ],
            }
        ],
    }
    base = {"type": "request", "method": "GET", "query": "", "mode": "replay", "status": 200}
    out = []
    for n in range(100):
        event = {**base, "path": f"/api/users/{n % 20}", "endpoint": f"endpoint_{n % 12}"}
        event["how"], event["latency_ms"] = "replayed", 0.2 + (n % 7) * 0.05
        if n % 10 == 1:
            event.update(how="generated", mode="mock", latency_ms=0.9)
        elif n % 25 == 2:
            event.update(how="miss", status=404, detail=miss_detail, query="page=9")
        elif n % 50 == 3:
            event.update(how="not_found", status=404, endpoint=None, mode=None, path=f"/x/{n}")
        elif n % 50 == 4:
            event.update(how="error", status=500)
        out.append(event)
    return out


async def _feed(seconds: float) -> dict:
    from backworks_cli.dashboard import create_app
    from backworks_cli.dashboard.messages import Connected, EventsReceived, Streaming

    templates = _templates()
    per_tick = int(FEED_RATE * FEED_TICK)
    app = create_app("http://127.0.0.1:9", connect=False)
    samples = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.post_message(Connected({"status": "ok", "started": time.time(), "uptime_s": 0}, 0))
        app.post_message(Streaming())
        await pilot.pause()
        sent, start = 0, time.perf_counter()
        cpu_start = time.process_time()
        next_tick = start
        measured_from = None
        while (now := time.perf_counter()) - start < seconds + FEED_WARMUP:
            if measured_from is None and now - start >= FEED_WARMUP:
                measured_from = (now, time.process_time(), rss_mib(os.getpid()), sent)
            batch = []
            for _ in range(per_tick):
                sent += 1
                batch.append({**templates[sent % 100], "id": sent, "time": time.time()})
            app.post_message(EventsReceived(batch))
            if int(now - start) > len(samples):  # one memory sample a second
                samples.append((round(now - start, 1), rss_mib(os.getpid())))
            next_tick += FEED_TICK
            await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))
        end = time.perf_counter()
        cpu_end = time.process_time()
        rss_end = rss_mib(os.getpid())
        lag_deadline = time.monotonic() + 30
        while app.model.received < sent and time.monotonic() < lag_deadline:
            await pilot.pause(0.05)
        drained_s = time.perf_counter() - end
        received = app.model.received
        sizes = {
            "log": len(app.model.log),
            "alerts": len(app.model.alerts),
            "endpoints": len(app.model.endpoints),
        }
    t0, cpu0, rss0, sent0 = measured_from
    growth = rss_end - rss0
    # The second half of the measured run: memory that keeps growing shows here too.
    half = [(t, rss) for t, rss in samples if t >= FEED_WARMUP + (end - t0) / 2]
    late = (half[-1][1] - half[0][1]) / (half[-1][0] - half[0][0]) if len(half) > 1 else 0.0
    return {
        "seconds": end - t0,
        "events": sent - sent0,
        "rate": (sent - sent0) / (end - t0),
        "cpu": (cpu_end - cpu0) / (end - t0),
        "cpu_total": (cpu_end - cpu_start) / (end - start),
        "rss_after_warmup_mib": rss0,
        "rss_end_mib": rss_end,
        "growth_mib": growth,
        "growth_10min_mib": growth / (end - t0) * 600,
        "late_growth_10min_mib": late * 600,
        "received_all": received == sent,
        "drained_s": drained_s,
        "sizes": sizes,
        "rss_samples": samples,
    }


def bench_parser() -> dict:
    """Events a second through SSEParser.feed, in 16 KiB chunks."""
    from backworks_cli.dashboard.model import SSEParser

    lines = b"".join(
        b"data: " + json.dumps({**t, "id": n, "time": 1.7e9}).encode() + b"\n\n"
        for n, t in enumerate(_templates())
    )
    stream = lines * 500
    parser = SSEParser()
    start = time.perf_counter()
    count = 0
    for offset in range(0, len(stream), 16384):
        count += len(parser.feed(stream[offset : offset + 16384]))
    return {"events": count, "rate": count / (time.perf_counter() - start)}


def bench_dashboard(args) -> dict:
    """(a) then (b); see the module docstring."""
    scenario = recorded_scenario()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_project(Path(tmp), scenario, 10)
        attached = bench_attached(args, config, Path(tmp))
    feed_seconds = getattr(args, "feed_seconds", None) or (10 if args.quick else 60)
    feed = asyncio.run(_feed(feed_seconds))
    return {"attached": attached, "feed": feed, "parser": bench_parser()}


def report_dashboard(results: dict) -> list[str]:
    lines = [
        "### backworks mock with `backworks dashboard` attached vs. alone (same load, same run)",
        "",
        "| request | alone req/s | with dashboard req/s | ratio | alone p50/p99 ms "
        "| with p50/p99 ms | dashboard CPU | dashboard RSS MiB | events dropped for it |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, row in results["attached"].items():
        a, d = row["alone"], row["dashboard"]
        lines.append(
            f"| {name} (replayed) | {a['rps']:,.0f} | {d['rps']:,.0f} | {row['ratio']:.2f}x "
            f"| {a['p50']:.2f}/{a['p99']:.2f} | {d['p50']:.2f}/{d['p99']:.2f} "
            f"| {d['dashboard_cpu']:.0%} | {d['dashboard_rss_mib']:.0f} | {d['dropped']:,.0f} |"
        )
    f = results["feed"]
    lines += [
        "",
        f"### backworks dashboard fed {FEED_RATE:,} events/s in process for {f['seconds']:.0f} s",
        "",
        "| events | rate/s | CPU (of one core) | RSS after warm-up MiB | RSS at end MiB "
        "| growth MiB | 10 min at that pace MiB | 10 min at the second half's pace MiB "
        "| kept up |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|---|",
        f"| {f['events']:,} | {f['rate']:,.0f} | {f['cpu']:.0%} | {f['rss_after_warmup_mib']:.1f} "
        f"| {f['rss_end_mib']:.1f} | {f['growth_mib']:+.1f} | {f['growth_10min_mib']:+.1f} "
        f"| {f['late_growth_10min_mib']:+.1f} "
        f"| {'yes' if f['received_all'] else 'NO'} (drained {f['drained_s']:.2f} s after) |",
        "",
        f"Kept at the end: {f['sizes']['log']:,} log events, {f['sizes']['alerts']} alerts, "
        f"{f['sizes']['endpoints']} endpoints. Event-stream parser alone: "
        f"{results['parser']['rate']:,.0f} events/s.",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs for a smoke check")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--feed-seconds", type=int, help="(b): seconds of 5,000 events/s")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warmup = 1, 3, 1
    os.chdir(HERE.parent)
    results = bench_dashboard(args)
    print("\n".join(report_dashboard(results)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
