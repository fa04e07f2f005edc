"""Benchmark of `backworks serve` forwarding, as a ratio against mitmdump in the same run.

    python3 bench/run.py --only serve [--quick]

bench/upstream.py answers the canonical scenario (GET /users/1 ~500 B, GET /users ~10 KB,
POST /users 201). In front of it, in interleaved rounds under the same wrk load:

- mitmdump: `mitmdump --mode reverse:UPSTREAM`, the peer;
- serve: `backworks serve` with /users/{id} and /users as proxy endpoints, so every request is
  routed by the engine, given an upstream by the proxy mode, counted for the admin API and
  forwarded by mitmproxy;
- proxy: bench/bare_proxy.py, the mitmproxy that serve runs without serve's addon, which shows
  what the addon itself costs.

The target is serve at 0.85x mitmdump's throughput or better.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from run import bare_proxy_command, compare, free_port, mitmdump_command  # noqa: E402

TARGET = 0.85


def serve_command(upstream: str, port: int, tmp: str) -> list[str]:
    """`backworks serve` with the scenario's paths as proxy endpoints to `upstream`."""
    config = {
        "upstream": upstream,
        "endpoints": {
            "get_users_id": {"path": "/users/{id}", "methods": ["GET"], "mode": "proxy"},
            "users": {"path": "/users", "methods": ["GET", "POST"], "mode": "proxy"},
        },
    }
    path = Path(tmp, "backworks.yaml")
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return [sys.executable, "-m", "backworks_cli", "serve", "-c", str(path)] + [
        *("--listen", f"127.0.0.1:{port}", "--admin", f"127.0.0.1:{free_port()}"),
    ]


def bench_serve(args) -> dict:
    """serve vs. mitmdump in front of bench/upstream.py: interleaved rounds, medians."""
    commands = {"mitmdump": mitmdump_command, "serve": serve_command, "proxy": bare_proxy_command}
    summary = compare(args, commands)
    for row in summary.values():
        row["ratio"] = row["serve"]["rps"] / row["mitmdump"]["rps"]
        row["addon_cost"] = 1 - row["serve"]["rps"] / row["proxy"]["rps"]
    return summary


def report_serve(results: dict) -> list[str]:
    lines = [
        "### serve (proxy endpoints) vs. mitmdump --mode reverse (same upstream, same load, "
        "same run)",
        "",
        "| endpoint | mitmdump req/s | serve req/s | ratio | mitmdump p50/p99 ms "
        "| serve p50/p99 ms | serve CPU | serve RSS MiB | errors | same proxy, no addon, req/s "
        "| serve addon cost |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, row in results.items():
        m, s = row["mitmdump"], row["serve"]
        lines.append(
            f"| {name} | {m['rps']:,.0f} | {s['rps']:,.0f} | {row['ratio']:.2f}x "
            f"| {m['p50']:.1f}/{m['p99']:.1f} | {s['p50']:.1f}/{s['p99']:.1f} "
            f"| {s['cpu']:.2f} | {s['rss_mib']:.0f} | {s['errors']:.0f} "
            f"| {row['proxy']['rps']:,.0f} | {row['addon_cost']:.0%} |"
        )
    worst = min(row["ratio"] for row in results.values())
    verdict = "met" if worst >= TARGET else "NOT met"
    lines += ["", f"Lowest ratio {worst:.2f}x; target {TARGET}x {verdict}.", ""]
    return lines
