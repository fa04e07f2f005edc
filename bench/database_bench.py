"""Benchmark of mode `database` in process, as a ratio against `mock` replaying in the same run.

    python3 bench/database_bench.py [--quick]      # on its own
    python3 bench/run.py --only database           # as a section of `just bench`

The sample shop API is recorded in process (httpx.ASGITransport): three pages of users and
some users by id. Two engines are built over that store: one with GET /api/users/{id} in mode
`mock` (a replay hit from the recordings), one with the users resource in mode `database`
(the table provisioned from the recordings, 42 rows). Engine.handle is timed N times per
target, targets interleaved over rounds; each figure is the median over rounds of the median
rate over chunks of 1,000 calls (loaded machines preempt a chunk now and then):

- mock GET /api/users/1 (replayed): the baseline;
- database GET /api/users/1: the goal is at least 0.5x the baseline;
- database GET by id with the item cache emptied before each request (a write elsewhere);
- database GET /api/users?page=2&per_page=10 (a page with its envelope and total);
- database PATCH /api/users/{id} and POST /api/users (one write transaction each).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

GOAL = 0.5  # database GET by id over mock replay
N = 20_000  # GETs per target and round
CHUNK = 1_000  # calls timed together


def record() -> list:
    """The sample API's users, recorded as a client would see them."""
    import httpx

    from backworks_cli.core.exchange import Exchange, Request, Response
    from backworks_cli.demo.sample_api import create_app

    async def visit() -> list:
        out = []
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
            urls = [f"/api/users?page={n}&per_page=10" for n in (1, 2, 3)]
            urls += [f"/api/users/{n}" for n in (1, 2, 3)]
            for url in urls:
                reply = await client.get(url)
                request = Request(
                    "GET",
                    reply.request.url.path,
                    tuple(reply.request.url.params.multi_items()),
                    (("accept", "application/json"),),
                    host="shop.test",
                )
                response = Response(reply.status_code, tuple(reply.headers.items()), reply.content)
                out.append(Exchange(request, response, started_at=time.time(), duration_ms=1.0))
        return out

    return asyncio.run(visit())


def write_config(directory: Path, mode: str) -> Path:
    item = {"path": "/api/users/{id}", "methods": ["GET", "PUT", "PATCH", "DELETE"]}
    endpoints = {
        "users": {"path": "/api/users", "methods": ["GET", "POST"], "mode": mode},
        "users_id": {**item, "mode": mode, "params": {"id": {"type": "integer"}}},
    }
    if mode == "database":
        endpoints["users_id"]["database"] = {"table": "users", "rows": 42}
    config = {"recordings": {"path": "recordings.db"}, "endpoints": endpoints}
    path = directory / "backworks.yaml"
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path


def rate(call, count: int, chunk: int = CHUNK) -> float:
    """Calls per second of `call`: the median over chunks of `chunk` calls, `count` calls in
    all, so that a chunk slowed by another process taking the CPU does not decide it."""
    rates = []
    done = 0
    while done < count:
        size = min(chunk, count - done)
        started = time.perf_counter()
        for n in range(done, done + size):
            call(n)
        rates.append(size / (time.perf_counter() - started))
        done += size
    return statistics.median(rates)


def bench_database(args) -> dict:
    from backworks_cli.answer.engine import Engine
    from backworks_cli.answer.seeding import provision
    from backworks_cli.config.load import load_config
    from backworks_cli.core.exchange import Request
    from backworks_cli.record.store import Store

    n = getattr(args, "n", None) or N
    exchanges = record()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        with Store.open(directory / "recordings.db", create=True) as store:
            store.add_many(exchanges)
            mock = Engine.build(load_config(write_config(directory, "mock")), store=store)
            config = load_config(write_config(directory, "database"))
            summary = provision("users_id", config, store, 42)
            database = Engine.build(config, store=store)
        get = Request("GET", "/api/users/1", headers=(("accept", "application/json"),))
        page = Request("GET", "/api/users", (("page", "2"), ("per_page", "10")))
        body = json.dumps({"phone": "+1 555 0100"}).encode()
        headers = (("Content-Type", "application/json"),)
        created = json.dumps(
            {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}
        ).encode()
        assert mock.handle(get).how == "replayed"
        assert database.handle(get).response.body == mock.handle(get).response.body

        made: list = []  # outcomes of the POSTs of a round

        def uncached(n: int) -> None:
            database.reset()
            database.handle(get)

        targets = {
            "mock GET /api/users/1 (replayed)": (lambda n: mock.handle(get), n),
            "database GET /api/users/1": (lambda n: database.handle(get), n),
            "database GET /api/users/1, cache emptied": (uncached, n // 4),
            "database GET /api/users?page=2&per_page=10": (
                lambda n: database.handle(page),
                n // 10,
            ),
            "database PATCH /api/users/{id}": (
                lambda n: database.handle(
                    Request("PATCH", f"/api/users/{n % 42 + 1}", (), headers, body)
                ),
                n // 20,
            ),
            "database POST /api/users": (
                lambda n: made.append(
                    database.handle(Request("POST", "/api/users", (), headers, created))
                ),
                n // 20,
            ),
        }
        samples: dict[str, list[float]] = {name: [] for name in targets}
        for _round in range(args.rounds):
            for name, (call, count) in targets.items():
                call(0)  # warm: plans, statements and caches
                samples[name].append(rate(call, count))
            for outcome in made:  # back to 42 rows, so that every round lists the same table
                location = outcome.response.header("Location")
                database.handle(Request("DELETE", location))
            made.clear()
    medians = {name: statistics.median(values) for name, values in samples.items()}
    baseline = medians["mock GET /api/users/1 (replayed)"]
    rows = {
        name: {"rps": medians[name], "all_rps": sorted(samples[name]), "ratio": rps / baseline}
        for name, rps in medians.items()
    }
    ratio = rows["database GET /api/users/1"]["ratio"]
    return {"n": n, "rounds": args.rounds, "summary": summary, "targets": rows,
            "ratio": ratio, "goal": GOAL, "met": ratio >= GOAL}  # fmt: skip


def report_database(results: dict) -> list[str]:
    """Markdown lines for the results of bench_database."""
    lines = [
        "### backworks database mode vs. mock replay (Engine.handle in process, same run)",
        "",
        f"Table: {results['summary']}; N={results['n']:,} GETs per round, "
        f"{results['rounds']} rounds; medians of chunks of {CHUNK:,} calls.",
        "",
        "| request | calls/s | vs. mock replay |",
        "|---|--:|--:|",
    ]
    for name, row in results["targets"].items():
        lines.append(f"| {name} | {row['rps']:,.0f} | {row['ratio']:.2f}x |")
    verdict = "met" if results["met"] else "NOT met"
    lines += [
        "",
        f"database GET by id / mock replay GET = {results['ratio']:.2f}x "
        f"(goal >= {results['goal']}x: {verdict}).",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one short round, a smoke check")
    parser.add_argument("--n", type=int, default=N, help="GETs per target and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.n, args.rounds = 2_000, 1
    results = bench_database(args)
    print("\n".join(report_database(results)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
