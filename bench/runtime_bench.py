"""Runtime handlers: a Node.js handler through backworks's long-lived worker vs. a Node.js
process started for every request (the original Backworks approach), same handler, same run.

    python3 bench/runtime_bench.py            # N=2000 through the worker, N=100 per-process
    python3 bench/runtime_bench.py --quick

Both go through the runtime mode's `handle()`, sequentially, one request at a time. The
process-per-request baseline stops the worker after every request (`reset()`), so each request
pays for starting node, as a process per request does. A Python handler in process is measured
too, for scale.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backworks_cli.answer.match_rules import MatchRules
from backworks_cli.answer.matching import ReplayIndex
from backworks_cli.answer.modes.base import Context
from backworks_cli.answer.modes.runtime import RuntimeMode
from backworks_cli.config.model import make_endpoint
from backworks_cli.core.exchange import Request

NODE_HANDLER = """\
const rl = require("node:readline").createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const req = JSON.parse(line);
  const body = { id: req.params.id, name: "user " + req.params.id, page: req.query.page };
  process.stdout.write(JSON.stringify({ id: req.id, status: 200, body }) + "\\n");
});
"""

PYTHON_HANDLER = """\
def handle(request):
    params = request["params"]
    body = {"id": params["id"], "name": f"user {params['id']}", "page": request["query"]["page"]}
    return {"status": 200, "body": body}
"""

REQUEST = Request(
    "GET", "/api/users/42", (("page", "2"),), (("Accept", "application/json"),), b"", "http"
)
PARAMS = {"id": 42}
WORKER_N = 2000
PROCESS_N = 100


def runtime_mode(directory: Path, language: str, handler: str) -> RuntimeMode:
    spec = {
        "path": "/api/users/{id}",
        "methods": ["GET"],
        "mode": "runtime",
        "params": {"id": {"type": "integer"}},
        "runtime": {"language": language, "handler": handler},
    }
    endpoint = make_endpoint(f"bench_{language}", spec)
    context = Context(
        endpoint=endpoint,
        shape="/api/users/{}",
        recordings=[],
        index=ReplayIndex(MatchRules.from_config({}, {})),
        redact=None,
        seed=0,
        base_dir=directory,
    )
    return RuntimeMode(context, log=lambda line: None)


def measure(mode: RuntimeMode, n: int, *, per_process: bool = False) -> float:
    """Requests per second over `n` sequential requests (after one warm-up request)."""
    check(mode.handle(REQUEST, PARAMS))
    if per_process:
        mode.reset()
    start = time.perf_counter()
    for _ in range(n):
        check(mode.handle(REQUEST, PARAMS))
        if per_process:
            mode.reset()
    return n / (time.perf_counter() - start)


def check(outcome) -> None:
    if outcome.response.status != 200 or outcome.how != "handler":
        raise RuntimeError(f"unexpected answer: {outcome}")


def bench_runtime(args) -> dict:
    worker_n = getattr(args, "worker_n", WORKER_N)
    process_n = getattr(args, "process_n", PROCESS_N)
    if args.quick:
        worker_n, process_n = min(worker_n, 500), min(process_n, 30)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "users.js").write_text(NODE_HANDLER)
        (directory / "users.py").write_text(PYTHON_HANDLER)
        node = runtime_mode(directory, "node", "users.js")
        python = runtime_mode(directory, "python", "users.py")
        try:
            worker_rps = measure(node, worker_n)
            process_rps = measure(node, process_n, per_process=True)
            python_rps = measure(python, worker_n)
        finally:
            node.close()
            python.close()
    return {
        "worker_n": worker_n,
        "process_n": process_n,
        "worker_rps": worker_rps,
        "process_rps": process_rps,
        "python_rps": python_rps,
        "ratio": worker_rps / process_rps,
    }


def report_runtime(result: dict) -> list[str]:
    return [
        "### runtime: Node.js handler, long-lived worker vs. a process per request",
        "",
        "| handler | requests | req/s |",
        "|---|--:|--:|",
        f"| node, worker (JSON lines) | {result['worker_n']:,} | {result['worker_rps']:,.0f} |",
        f"| node, process per request | {result['process_n']:,} | {result['process_rps']:,.1f} |",
        f"| python, in process | {result['worker_n']:,} | {result['python_rps']:,.0f} |",
        "",
        f"worker / process per request: {result['ratio']:.0f}x",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker-n", type=int, default=WORKER_N)
    parser.add_argument("--process-n", type=int, default=PROCESS_N)
    args = parser.parse_args()
    print("\n".join(report_runtime(bench_runtime(args))))


if __name__ == "__main__":
    main()
