"""Benchmark of `backworks infer`: its time against merely json-parsing the same bodies once.

    python3 bench/infer_bench.py                      # 100k exchanges (~200 MB of JSON) and 10k
    python3 bench/infer_bench.py --exchanges 20000    # a smaller run

A store is generated directly (Store.add_many) with a shop-like API: user and order objects,
paginated lists, created orders with request bodies, 404s. Each measurement runs in its own
subprocess so that its peak memory (getrusage maxrss) is its own:
- parse: read every body from the store with Store.scan, the lean read path infer uses (timed
  as read_s), and again as full Exchanges with Store.query (query_read_s); then time json.loads
  over all of the bodies, as bytes, once (parse_s);
- infer: infer() over the store, end to end (reading, templating, schemas, semantic types,
  YAML), timed and with its peak resident memory.
Targets: infer at most 3x the json-parsing baseline, peak memory under 1 GB, 100k about 10x the
cost of 10k. Both baselines are reported: json.loads alone, and Store.scan + json.loads.
Also used by bench/run.py (section `infer`).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIRST = ("Ada", "Alan", "Grace", "Linus", "Barbara", "Edsger", "Margaret", "Dennis", "Frances")
LAST = ("Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Dijkstra", "Hamilton", "Ritchie")
CITIES = (("Berlin", "DE"), ("Paris", "FR"), ("Rome", "IT"), ("Madrid", "ES"), ("Vienna", "AT"))
STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")
JSON = (("content-type", "application/json"),)


def _user(rng: random.Random, uid: int) -> dict:
    city, country = rng.choice(CITIES)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "id": uid,
        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "first_name": first,
        "last_name": last,
        "email": f"{first}.{last}{uid}@example.com".lower(),
        "phone": f"+49 30 {rng.randrange(10**6, 10**7)}",
        "created_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
        "active": rng.random() < 0.8,
        "score": round(rng.random() * 100, 2),
        "roles": rng.sample(["admin", "editor", "viewer", "billing"], rng.randint(1, 3)),
        "address": {
            "street": f"{rng.randint(1, 200)} Main Street",
            "city": city,
            "postcode": str(rng.randint(10000, 99999)),
            "country_code": country,
        },
        "bio": " ".join(rng.choice(LAST).lower() for _ in range(rng.randint(10, 60))),
    }


def _order(rng: random.Random, oid: int) -> dict:
    items = [
        {
            "product_id": rng.randint(1, 500),
            "quantity": rng.randint(1, 5),
            "unit_price": round(rng.uniform(1, 300), 2),
            "sku": f"SKU-{rng.randrange(10**5, 10**6)}",
        }
        for _ in range(rng.randint(1, 6))
    ]
    return {
        "id": oid,
        "user_id": rng.randint(1, 10**5),
        "status": rng.choice(STATUSES),
        "items": items,
        "total": round(sum(i["quantity"] * i["unit_price"] for i in items), 2),
        "currency": "EUR",
        "created_at": "2025-01-02T03:04:05Z",
        "note": None if rng.random() < 0.7 else "leave at the door",
    }


def exchanges(count: int, seed: int = 1):
    """`count` deterministic exchanges of a shop API; about 2 KB of JSON each on average."""
    from backworks_cli.core.exchange import Exchange, Request, Response

    rng = random.Random(seed)
    for n in range(count):
        roll = rng.random()
        method, query, request = "GET", (), b""
        if roll < 0.35:
            uid = rng.randint(1, 10**5)
            path, status, body = f"/api/users/{uid}", 200, _user(rng, uid)
        elif roll < 0.55:
            page = rng.randint(1, 100)
            path, status, query = "/api/users", 200, (("page", str(page)), ("per_page", "10"))
            body = {
                "data": [_user(rng, rng.randint(1, 10**5)) for _ in range(10)],
                "page": page,
                "next": f"https://shop.example/api/users?page={page + 1}" if page < 100 else None,
            }
        elif roll < 0.75:
            oid = rng.randint(1, 10**6)
            path, status, body = f"/api/orders/{oid}", 200, _order(rng, oid)
        elif roll < 0.85:
            path, status = "/api/orders", 200
            query = (("status", rng.choice(STATUSES)),)
            body = [_order(rng, rng.randint(1, 10**6)) for _ in range(8)]
        elif roll < 0.95:
            method, path, status = "POST", "/api/orders", 201
            order = _order(rng, rng.randint(1, 10**6))
            request = json.dumps({"user_id": order["user_id"], "items": order["items"]}).encode()
            body = order
        else:
            uid = rng.randint(10**6, 2 * 10**6)
            path, status, body = f"/api/users/{uid}", 404, {"error": "user not found", "id": uid}
        yield Exchange(
            Request(method, path, query, JSON, request, "https", "shop.example", 443),
            Response(status, JSON, json.dumps(body).encode()),
            started_at=1.7e9 + n,
            duration_ms=round(rng.lognormvariate(2.5, 0.5), 3),
            session="bench",
        )


def make_store(path: Path, count: int) -> None:
    from backworks_cli.record.store import Store

    with Store.open(path, create=True) as store:
        store.add_many(exchanges(count))


# --- measurements, each in a subprocess -----------------------------------------------------------


def _measure_parse(store_path: str) -> dict:
    from backworks_cli.learn.infer import SCAN_COLUMNS
    from backworks_cli.record.store import Store

    started = time.perf_counter()
    with Store.open(Path(store_path)) as store:  # what reading costs infer: the rows it scans
        count = sum(1 for _ in store.scan(columns=SCAN_COLUMNS))
    scan_read = time.perf_counter() - started
    bodies = []
    started = time.perf_counter()
    with Store.open(Path(store_path)) as store:  # full Exchanges, for comparison
        for ex in store.query():
            if ex.request.body:
                bodies.append(ex.request.body)
            if ex.response is not None and ex.response.body:
                bodies.append(ex.response.body)
    query_read = time.perf_counter() - started
    started = time.perf_counter()
    for body in bodies:
        json.loads(body)
    return {
        "parse_s": time.perf_counter() - started,
        "read_s": scan_read,
        "query_read_s": query_read,
        "rows": count,
        "bodies": len(bodies),
        "megabytes": sum(map(len, bodies)) / 1e6,
    }


def _measure_infer(store_path: str) -> dict:
    from backworks_cli.learn.infer import infer
    from backworks_cli.record.store import Store

    started = time.perf_counter()
    with Store.open(Path(store_path)) as store:
        result = infer(store, existing=Path(tempfile.mkdtemp()) / "backworks.yaml")
    return {
        "infer_s": time.perf_counter() - started,
        "endpoints": len(result.endpoints),
        "exchanges": result.exchanges,
        "yaml_bytes": len(result.text),
    }


def _in_subprocess(what: str, store: Path) -> dict:
    """Run one measurement in a fresh interpreter; its result plus its peak memory."""
    code = (
        "import json, resource, sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; "
        "import infer_bench; "
        f"out = infer_bench._measure_{what}(sys.argv[3]); "
        "out['maxrss_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
        "print(json.dumps(out))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(HERE), str(store)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(count: int, small: int, rounds: int = 1) -> dict:
    """Figures for `count` exchanges and for `small` ones (for the scaling ratio)."""
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (small, count):
            store = Path(tmp) / f"bench-{n}.db"
            started = time.perf_counter()
            make_store(store, n)
            made = time.perf_counter() - started
            best: dict = {}
            for _ in range(rounds):  # parse and infer interleaved; the best of each is kept
                parse = _in_subprocess("parse", store)
                learned = _in_subprocess("infer", store)
                if not best or parse["parse_s"] < best["parse"]["parse_s"]:
                    best["parse"] = parse
                if "infer" not in best or learned["infer_s"] < best["infer"]["infer_s"]:
                    best["infer"] = learned
            results[str(n)] = {
                "exchanges": n,
                "store_mb": store.stat().st_size / 1e6,
                "generate_s": made,
                **best,
                "ratio": best["infer"]["infer_s"] / best["parse"]["parse_s"],
                "ratio_read_parse": best["infer"]["infer_s"]
                / (best["parse"]["parse_s"] + best["parse"]["read_s"]),
            }
    big, little = results[str(count)], results[str(small)]
    results["scaling"] = big["infer"]["infer_s"] / little["infer"]["infer_s"]
    results["scale"] = count / small
    return results


def report(results: dict) -> str:
    lines = [
        "### infer",
        "",
        "| exchanges | JSON MB | json.loads s | read+parse s | query read s | infer s | "
        "infer/parse | infer/(read+parse) | infer peak MiB |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in results.values():
        if not isinstance(row, dict):
            continue
        parse, learned = row["parse"], row["infer"]
        lines.append(
            f"| {row['exchanges']} | {parse['megabytes']:.0f} | {parse['parse_s']:.2f} | "
            f"{parse['parse_s'] + parse['read_s']:.2f} | {parse['query_read_s']:.2f} | "
            f"{learned['infer_s']:.2f} | "
            f"{row['ratio']:.2f}x | {row['ratio_read_parse']:.2f}x | "
            f"{learned['maxrss_mib']:.0f} |"
        )
    lines += [
        "",
        "json.loads: parsing every body once, bodies already in memory; read+parse: reading them "
        "through Store.scan (as infer does) and parsing them once; query read: reading them as "
        "full Exchanges through Store.query instead. Targets: infer at most 3x "
        "the baseline, peak under 1024 MiB, and 10x the exchanges about 10x the time: "
        f"{results['scale']:.0f}x the exchanges cost {results['scaling']:.1f}x here.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=0, help="default: a tenth of --exchanges")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    results = run(args.exchanges, args.small or max(1, args.exchanges // 10), args.rounds)
    print(report(results))
    print(json.dumps(results, indent=2), file=sys.stderr)


if __name__ == "__main__":
    main()
