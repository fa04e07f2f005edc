"""What every mode shares: the
outcome record, the per-endpoint context the engine builds, JSON responses, and the latency and
fault behaviour of `mock:` blocks (applied by the engine around any mode).
"""

from __future__ import annotations

import difflib
import json
import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.core.numbers import latency

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from backworks_cli.answer.matching import ReplayIndex
    from backworks_cli.answer.misses import Miss
    from backworks_cli.config.model import Config, Endpoint

JSON = "application/json"
HOW = (
    "replayed",
    "generated",
    "state",
    "miss",
    "not_found",
    "invalid",
    "fault",
    "handler",  # a runtime handler answered
    "handler_error",  # a runtime handler failed, timed out or exited (500, 504, 502)
    "database",  # the database mode's table answered
    "proxy",  # forwarded to the upstream in detail["upstream"] (by a host that forwards)
    "proxy_error",  # no upstream could take the request (502, or 503 with a circuit open)
)
_Z95 = 1.6448536269514722  # the standard normal's 95th percentile

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the engine answers and how: the host sends `response` after `delay_ms`, unless
    `fault` says to reset the connection or to send the body slowly (`fault_arg` bytes/s)."""

    response: Response  # body bytes ready to send; the host sets Content-Length
    endpoint: str | None  # endpoint name, None when no route matched
    mode: str | None
    how: str  # one of HOW
    detail: dict | None = None  # why: a miss's nearest recordings, violations, closest paths
    delay_ms: float = 0.0
    fault: str | None = None  # "reset" | "slow_body" | None
    fault_arg: float | None = None
    # The same request always gets this very outcome, whatever came before (a recording no
    # other shares a match key with, replayed as is, or a generated answer that no state or
    # header decides): a host may remember it for the request.
    stable: bool = False


@dataclass
class Shared:
    """What the endpoints of one engine share: recordings by route shape, state, generators."""

    # "/api/orders/{}" -> [(exchange, its path parameter values in order)], recorded order
    recorded: dict[str, list[tuple[Exchange, tuple[str, ...]]]] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)  # state.Resource by collection shape
    generators: dict[int, Any] = field(default_factory=dict)  # generate.Generator by seed
    pools: dict[Any, Any] = field(default_factory=dict)  # proxy.Pool by proxy.Settings


@dataclass
class Context:
    """Everything a mode needs about its endpoint, built once by the engine."""

    endpoint: Endpoint
    shape: str  # the path template with parameters as {}, e.g. /api/orders/{}
    recordings: list[Exchange]  # the exchanges routed to this endpoint, in recorded order
    index: ReplayIndex
    redact: Callable[[Request], Request] | None  # None when no recording holds a placeholder
    seed: int
    strict: bool = False
    edge_cases: bool = False
    shared: Shared = field(default_factory=Shared)
    notes: list[str] = field(default_factory=list)
    base_dir: Path | None = None  # the directory of backworks.yaml; None: the current one
    config: Config | None = None  # the whole configuration, for modes spanning endpoints
    local_only: bool = True  # False: modes in NETWORK run (the serve host forwards for them)

    @property
    def name(self) -> str:
        return self.endpoint.name


class Mode(Protocol):
    name: str

    def handle(self, request: Request, params: dict[str, Any]) -> Outcome: ...

    def reset(self) -> None: ...


def known_keys(block: Any, keys: tuple[str, ...], where: str, notes: list[str]) -> dict:
    """The block's keys backworks acts on; each other key gets a note (and is ignored)."""
    if not isinstance(block, dict):
        return {}
    for key in block:
        if key not in keys:
            close = difflib.get_close_matches(str(key), keys, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else f" (known: {', '.join(keys)})"
            note = f"{where}.{key} is not a setting backworks knows; it is ignored{hint}."
            if note not in notes:
                notes.append(note)
    return {k: v for k, v in block.items() if k in keys}


# --- responses ------------------------------------------------------------------------------


def json_body(data: Any) -> bytes:
    """`data` as UTF-8 JSON. Text from a request that was not UTF-8 holds lone surrogates
    (its bytes kept by surrogateescape), which UTF-8 cannot encode; inside a JSON string the
    backslashreplace handler writes each as a \\udcXX escape, so the body stays valid JSON."""
    return _dumps(data).encode("utf-8", "backslashreplace")


def json_response(status: int, data: Any, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, (("Content-Type", JSON), *headers), json_body(data))


def miss_outcome(miss: Miss, endpoint: str, mode: str) -> Outcome:
    detail = miss.to_json()
    response = json_response(404, detail, (("x-backworks-miss", "1"),))
    return Outcome(response, endpoint, mode, "miss", detail)


def json_path(parts: Any) -> str:
    """("items", 0, "qty") -> "$.items[0].qty", the form replay.ignore_json uses."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def schema_validator(schema: Any) -> Any:
    """A JSON Schema (2020-12) validator that checks `format` too; jsonschema is imported here,
    when a mode first needs it."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_violations(validator: Any, value: Any) -> list[dict[str, str]]:
    """Every way `value` breaks the validator's schema, as {"path": "$.x", "message"}, in
    path order."""
    errors = sorted(
        validator.iter_errors(value), key=lambda e: (list(map(str, e.absolute_path)), e.message)
    )
    return [{"path": json_path(e.absolute_path), "message": e.message} for e in errors]


# --- latency and faults ---------------------------------------------------------------------


class Behaviour:
    """The latency and faults of one endpoint's `mock:` block.

    Draws come from a generator seeded by (seed, endpoint name), in a fixed order per request,
    so a given request sequence always gets the same delays and faults.
    """

    def __init__(self, block: dict, learned: dict | None, seed: int, endpoint: str):
        self._seed = f"{seed}|{endpoint}|behaviour"
        self._rng = random.Random(self._seed)
        self.delay = _latency(block.get("latency"), learned)
        faults = block.get("faults") or {}
        self.error_rate = float(faults.get("error_rate") or 0.0)
        self.error_status = int(faults.get("error_status") or 500)
        self.reset_rate = float(faults.get("reset_rate") or 0.0)
        slow = faults.get("slow_body")
        self.slow_rate = float(slow["bytes_per_second"]) if isinstance(slow, dict) else None

    @property
    def active(self) -> bool:
        return bool(self.delay or self.error_rate or self.reset_rate or self.slow_rate)

    def reset(self) -> None:
        self._rng = random.Random(self._seed)

    def draw(self) -> tuple[str | None, float]:
        """(fault, delay in ms) for the next request: fault is "error", "reset" or None."""
        rng = self._rng
        fault = None
        if self.error_rate and rng.random() < self.error_rate:
            fault = "error"
        elif self.reset_rate and rng.random() < self.reset_rate:
            fault = "reset"
        return fault, (self.delay(rng) if self.delay else 0.0)

    def error(self, endpoint: str, mode: str, delay: float) -> Outcome:
        status = self.error_status
        body = {"error": "injected fault", "status": status, "endpoint": endpoint}
        return Outcome(json_response(status, body), endpoint, mode, "fault", body, delay)

    def reset_outcome(self, endpoint: str, mode: str, delay: float) -> Outcome:
        # The host drops the connection; the response is what a host that cannot would send.
        body = {"error": "injected fault: connection reset", "endpoint": endpoint}
        return Outcome(json_response(502, body), endpoint, mode, "fault", body, delay, "reset")


def _latency(setting: Any, learned: dict | None) -> Callable[[random.Random], float] | None:
    """A function drawing one delay in milliseconds, or None for no delay."""
    if setting is None or setting == "none":
        return None
    if setting == "recorded":
        if not learned:
            return None
        return _lognormal(learned.get("p50", 0.0), learned.get("p95", 0.0))
    if not isinstance(setting, dict):
        return None
    if "fixed" in setting:
        fixed = float(setting["fixed"])
        return (lambda rng: fixed) if fixed > 0 else None
    if "uniform" in setting:
        low, high = (float(v) for v in setting["uniform"])
        return lambda rng: rng.uniform(low, high)
    if "lognormal" in setting:
        return _lognormal(setting["lognormal"]["p50"], setting["lognormal"]["p95"])
    return None


def _lognormal(p50: float, p95: float) -> Callable[[random.Random], float] | None:
    """A log-normal fitted to its median and 95th percentile."""
    if not p50 or p50 <= 0:
        return None
    mu = math.log(p50)
    sigma = max(0.0, (math.log(p95) - mu) / _Z95) if p95 and p95 > p50 else 0.0
    if sigma == 0.0:
        return lambda rng: float(p50)
    return lambda rng: rng.lognormvariate(mu, sigma)


def learned_latency(endpoint: Endpoint, recordings: list[Exchange]) -> dict | None:
    """The endpoint's `latency:` when written, else p50/p95 of its recordings' durations."""
    if endpoint.latency:
        return endpoint.latency
    return latency(e.duration_ms for e in recordings)
