"""Benchmark of redaction on clean exchanges: µs per exchange with a 1 KB and a 10 KB JSON
response body, against json.loads of the same body in the same run (the baseline), and on an
exchange holding secrets.

    python3 bench/redact_bench.py
    python3 bench/redact_bench.py --seconds 1

Also used by bench/run.py (section `redact`).
"""

from __future__ import annotations

import argparse
import json
import random
import timeit

from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.record.redact import Redactor

WORDS = "alpha beta gamma delta order price name email street city active status items"


def _document(size: int, rng: random.Random) -> bytes:
    items: list[dict] = []
    while len(json.dumps(items)) < size:
        n = rng.randint(1, 10**6)
        items.append({
            "id": n,
            "name": " ".join(rng.choices(WORDS.split(), k=3)),
            "email": f"{rng.choice(WORDS.split())}{n}@example.com",
            "created_at": "2024-05-01T12:00:00Z",
            "price": round(rng.random() * 100, 2),
            "url": f"https://api.example.com/v1/users/{n}",
        })  # fmt: skip
    return json.dumps(items).encode()


def _exchange(body: bytes) -> Exchange:
    headers = (("Host", "api.example.com"), ("Accept", "application/json"), ("User-Agent", "x/1"))
    return Exchange(
        Request("GET", "/v1/users", query=(("page", "2"),), headers=headers),
        Response(200, headers=(("Content-Type", "application/json"),), body=body),
    )


def _per_call(fn, seconds: float) -> float:
    """µs per call: the best of five runs of about `seconds` / 5 each."""
    number = max(1, int(seconds / 5 / max(timeit.timeit(fn, number=1), 1e-6)))
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def run(seconds: float = 2.0) -> dict:
    rng = random.Random(7)
    redactor = Redactor(b"bench")
    out = {}
    for size in (1_000, 10_000):
        body = _document(size, rng)
        ex = _exchange(body)
        out[f"clean {size // 1000} KB"] = {
            "redact_us": _per_call(lambda ex=ex: redactor.exchange(ex), seconds),
            "json_loads_us": _per_call(lambda body=body: json.loads(body), seconds),
        }
    secret = json.dumps({"user": "ada", "password": "hunter2-hunter2", "note": "x" * 900}).encode()
    ex = _exchange(secret)
    out["1 KB with a secret"] = {
        "redact_us": _per_call(lambda: redactor.exchange(ex), seconds),
        "json_loads_us": _per_call(lambda: json.loads(secret), seconds),
    }
    return out


def report(results: dict) -> str:
    lines = [
        "### redaction cost per exchange (µs), against json.loads of the same body",
        "",
        "| exchange | redact µs | json.loads µs | ratio |",
        "|---|--:|--:|--:|",
    ]
    for name, r in results.items():
        ratio = r["redact_us"] / r["json_loads_us"]
        lines.append(f"| {name} | {r['redact_us']:.1f} | {r['json_loads_us']:.1f} | {ratio:.1f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    print(report(run(parser.parse_args().seconds)))
