"""Mode `proxy`: an upstream answers, through `backworks serve`.

The engine forwards nothing itself. `handle()` chooses the upstream the request should go to
and returns an Outcome with how="proxy" and detail {"upstream": url}; the serve host forwards
the request there (mitmproxy speaks the HTTP) and reports back whether the upstream could be
reached (`Pool.failed`, `Pool.succeeded`). A host that never uses the network (`backworks
mock`) does not build this mode: its proxy endpoints answer as mock (see modes.create).

The endpoint's `proxy:` block (every key optional):

    proxy:
      upstream: https://api.example.com        # default: the top-level `upstream`
      upstreams:                               # or several, instead of `upstream`
        - {url: http://10.0.0.1:8080, weight: 3}
        - {url: http://10.0.0.2:8080, weight: 1}
      balance: weighted                        # round_robin | weighted (default: weighted
                                               # when a weight is not 1)
      health_check: {path: /health, interval_s: 10, timeout_ms: 2000}
      retries: 2                               # for idempotent methods only
      circuit_breaker: {failures: 5, reset_s: 30}
      record: false                            # true: proxied exchanges go into the store

Choosing: the upstreams that passed their last health check (all of them, before the first
check or without `health_check`) and whose circuit lets a request through take part in a smooth
weighted round robin, nginx's: each gains its weight, the one with the most is chosen and loses
the total of the weights. Weights 3 and 1 give A A B A, then again; round_robin is the same
with every weight 1. A health check is a GET of `path` answered 2xx or 3xx within timeout_ms.

Failures are connections that cannot be made (or break before a response); a 5xx answer is an
answer. A failed idempotent request (GET, HEAD, PUT, DELETE, OPTIONS) is tried again on the next
upstream not yet tried, up to `retries` times; others are not retried.

Circuit breaker, per upstream, only with `circuit_breaker`: closed, it counts consecutive
failures and opens at `failures`; open, it lets nothing through for reset_s; then one request
goes through (half-open): its success closes the circuit, its failure opens it again.

When no upstream can take a request: 503 JSON (with Retry-After) if a circuit is open, else 502
JSON naming each upstream and why it was not used.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from backworks_cli.answer.modes.base import Context, Outcome, json_response, known_keys
from backworks_cli.core.errors import ConfigError
from backworks_cli.core.exchange import Request

__all__ = ["IDEMPOTENT", "Pool", "ProxyMode", "Settings", "Upstream", "create", "read_settings"]

SOURCE = "backworks.yaml"
KEYS = ("upstream", "upstreams", "balance", "health_check", "retries", "circuit_breaker", "record")
BALANCES = ("round_robin", "weighted")
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
DEFAULT_RETRIES = 2
DEFAULT_INTERVAL_S = 10.0
DEFAULT_TIMEOUT_MS = 2000
CONNECT_TIMEOUT_S = 5.0  # how long a connection may take to open without a health_check timeout
_DEFAULT_PORTS = {"http": 80, "https": 443}


# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """An endpoint's `proxy:` block, checked, with the top-level upstream filled in."""

    upstreams: tuple[tuple[str, int], ...]  # (url, weight), in the order written
    balance: str = "round_robin"
    health_path: str | None = None  # None: no active health checks
    health_interval: float = DEFAULT_INTERVAL_S  # seconds
    health_timeout: float = DEFAULT_TIMEOUT_MS / 1000  # seconds
    retries: int = DEFAULT_RETRIES
    failures: int | None = None  # None: no circuit breaker
    reset_s: float = 30.0
    record: bool = False

    @property
    def connect_timeout(self) -> float:
        return self.health_timeout if self.health_path else CONNECT_TIMEOUT_S


def read_settings(context: Context) -> Settings:
    """The endpoint's proxy settings; ConfigError naming the key and the fix when unusable."""
    name = context.name
    where = f"endpoints.{name}.proxy"
    block = context.endpoint.proxy
    if block is None:
        block = {}
    if not isinstance(block, dict):
        raise ConfigError(
            f"{SOURCE}: {where} must be a mapping of proxy settings.",
            "Write e.g. `proxy: {upstream: https://api.example.com}`.",
        )
    known_keys(block, KEYS, where, context.notes)
    top = context.config.upstream if context.config is not None else None
    upstreams = _upstreams(block, top, where)
    weighted = any(weight != 1 for _, weight in upstreams)
    balance = block.get("balance", "weighted" if weighted else "round_robin")
    if balance not in BALANCES:
        raise ConfigError(
            f"{SOURCE}: {where}.balance is {balance!r}.",
            f"Use one of {', '.join(BALANCES)}.",
        )
    settings: dict[str, Any] = {"upstreams": upstreams, "balance": balance}
    check = block.get("health_check")
    if check is not None:
        if not isinstance(check, dict) or not isinstance(check.get("path"), str):
            raise ConfigError(
                f"{SOURCE}: {where}.health_check needs the `path` to GET on each upstream.",
                "Write e.g. `health_check: {path: /health, interval_s: 10, timeout_ms: 2000}`.",
            )
        path = check["path"] if check["path"].startswith("/") else "/" + check["path"]
        interval = _positive(
            check.get("interval_s", DEFAULT_INTERVAL_S),
            f"{where}.health_check.interval_s",
            "seconds",
            "10",
        )
        timeout = _positive(
            check.get("timeout_ms", DEFAULT_TIMEOUT_MS),
            f"{where}.health_check.timeout_ms",
            "milliseconds",
            "2000",
        )
        settings.update(health_path=path, health_interval=interval, health_timeout=timeout / 1000)
    retries = block.get("retries", DEFAULT_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(
            f"{SOURCE}: {where}.retries is {retries!r}; it must be a whole number, 0 or more.",
            "Write how many other upstreams an idempotent request may try, e.g. `retries: 2`.",
        )
    settings["retries"] = retries
    breaker = block.get("circuit_breaker")
    if breaker is not None:
        if not isinstance(breaker, dict):
            raise ConfigError(
                f"{SOURCE}: {where}.circuit_breaker must be a mapping.",
                "Write e.g. `circuit_breaker: {failures: 5, reset_s: 30}`.",
            )
        failures = breaker.get("failures", 5)
        if isinstance(failures, bool) or not isinstance(failures, int) or failures < 1:
            raise ConfigError(
                f"{SOURCE}: {where}.circuit_breaker.failures is {failures!r}; it must be a whole "
                "number, 1 or more.",
                "Write after how many failures in a row the circuit opens, e.g. `failures: 5`.",
            )
        reset = _positive(
            breaker.get("reset_s", 30), f"{where}.circuit_breaker.reset_s", "seconds", "30"
        )
        settings.update(failures=failures, reset_s=reset)
    record = block.get("record", False)
    if not isinstance(record, bool):
        raise ConfigError(
            f"{SOURCE}: {where}.record is {record!r}; it must be true or false.",
            "Write `record: true` to record the proxied exchanges into the store.",
        )
    settings["record"] = record
    return Settings(**settings)


def _upstreams(block: dict, top: str | None, where: str) -> tuple[tuple[str, int], ...]:
    if block.get("upstream") is not None and block.get("upstreams") is not None:
        raise ConfigError(
            f"{SOURCE}: {where} has both `upstream` and `upstreams`.",
            "Keep one: `upstream` for one URL, `upstreams` for several with weights.",
        )
    many = block.get("upstreams")
    if many is None:
        url = block.get("upstream") or top
        if url is None:
            raise ConfigError(
                f"{SOURCE}: {where} has no upstream, and there is no top-level `upstream`.",
                "Write `upstream: https://api.example.com` in the proxy block or at the top of "
                "the file.",
            )
        return ((_url(url, f"{where}.upstream"), 1),)
    if not isinstance(many, list) or not many:
        raise ConfigError(
            f"{SOURCE}: {where}.upstreams must be a list of URLs or {{url, weight}} mappings.",
            "Write e.g. `upstreams: [{url: http://10.0.0.1:8080, weight: 3}, "
            "{url: http://10.0.0.2:8080}]`.",
        )
    out = []
    for i, item in enumerate(many):
        spot = f"{where}.upstreams[{i}]"
        entry = item if isinstance(item, dict) else {"url": item}
        weight = entry.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
            raise ConfigError(
                f"{SOURCE}: {spot}.weight is {weight!r}; it must be a whole number, 1 or more.",
                "Weights are relative shares: 3 and 1 send three requests to the first for each "
                "one to the second.",
            )
        out.append((_url(entry.get("url"), f"{spot}.url"), weight))
    urls = [url for url, _ in out]
    if len(set(urls)) != len(urls):
        raise ConfigError(
            f"{SOURCE}: {where}.upstreams lists the same URL twice.",
            "List each upstream once and give it a larger weight instead.",
        )
    return tuple(out)


def _url(value: Any, where: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(
            f"{SOURCE}: {where} is {value!r}, which is not an http:// or https:// URL.",
            "Write e.g. `https://api.example.com` or `http://127.0.0.1:8080`.",
        )
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise ConfigError(
            f"{SOURCE}: {where} is {value!r}, whose port is not a number from 0 to 65535.",
            "Write e.g. `http://127.0.0.1:8080`.",
        ) from None
    return value.rstrip("/")


def _positive(value: Any, where: str, unit: str, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(
            f"{SOURCE}: {where} is {value!r}; it must be a positive number of {unit}.",
            f"Write e.g. `{where.rsplit('.', 1)[-1]}: {example}`.",
        )
    return float(value)


# --- upstreams and their state ---------------------------------------------------------------


@dataclass(eq=False)
class Upstream:
    """One upstream: where it is, its share, and what the pool knows of it."""

    url: str
    weight: int = 1
    current: int = 0  # smooth weighted round robin's running score
    healthy: bool = True  # the last health check's verdict
    failures: int = 0  # consecutive failures
    opened_at: float | None = None  # when the circuit opened; None while it is closed
    probe_at: float | None = None  # when a half-open probe went through; None: none under way
    error: str | None = None  # why the last health check or connection failed

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self.prefix = parts.path.rstrip("/")  # put before every forwarded path

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port


class Pool:
    """The upstreams of one or more proxy endpoints with the same settings: the balancer, the
    circuit breakers and the health verdicts. `clock` gives seconds (time.monotonic)."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.clock = clock
        weighted = settings.balance == "weighted"
        self.upstreams = [
            Upstream(url, weight if weighted else 1) for url, weight in settings.upstreams
        ]
        self._by_url = {u.url: u for u in self.upstreams}

    def get(self, url: str) -> Upstream:
        return self._by_url[url]

    def reset(self) -> None:
        """The balancer and the circuits back to their start; health verdicts are kept."""
        for u in self.upstreams:
            u.current, u.failures, u.opened_at, u.probe_at = 0, 0, None, None

    # -- choosing ------------------------------------------------------------------------------

    def choose(self, exclude: Iterable[Upstream] = ()) -> Upstream | None:
        """The next upstream for a request, or None when none may take it (see `refusal`)."""
        now = self.clock()
        skip = set(map(id, exclude))
        total = 0
        best: Upstream | None = None
        for u in self.upstreams:
            if id(u) in skip or not u.healthy or not self._admits(u, now):
                continue
            u.current += u.weight
            total += u.weight
            if best is None or u.current > best.current:
                best = u
        if best is None:
            return None
        best.current -= total
        if best.opened_at is not None:  # half-open: this request is the probe
            best.probe_at = now
        return best

    def _admits(self, u: Upstream, now: float) -> bool:
        if u.opened_at is None:
            return True
        if now - u.opened_at < self.settings.reset_s:
            return False
        return u.probe_at is None or now - u.probe_at >= self.settings.reset_s

    def open_circuits(self, exclude: Iterable[Upstream] = ()) -> list[Upstream]:
        """The upstreams (not excluded) that a circuit keeps closed to requests right now."""
        now = self.clock()
        skip = set(map(id, exclude))
        return [
            u
            for u in self.upstreams
            if id(u) not in skip and u.healthy and not self._admits(u, now)
        ]

    def retry_after(self, upstreams: list[Upstream]) -> int:
        """Whole seconds until the first of these circuits lets a probe through."""
        now = self.clock()
        waits = [
            max(u.opened_at, u.probe_at or u.opened_at) + self.settings.reset_s - now
            for u in upstreams
            if u.opened_at is not None
        ]
        return max(1, math.ceil(min(waits))) if waits else 1

    # -- what the host reports -----------------------------------------------------------------

    def succeeded(self, u: Upstream) -> None:
        u.failures, u.opened_at, u.probe_at = 0, None, None

    def failed(self, u: Upstream, error: str) -> None:
        u.error = error
        u.failures += 1
        limit = self.settings.failures
        if limit is not None and (u.opened_at is not None or u.failures >= limit):
            u.opened_at, u.probe_at = self.clock(), None

    def set_health(self, u: Upstream, error: str | None) -> None:
        u.healthy = error is None
        if error is not None:
            u.error = f"health check: {error}"

    def state(self) -> list[dict]:
        now = self.clock()
        return [
            {
                "url": u.url,
                "weight": u.weight,
                "healthy": u.healthy,
                "circuit": "closed"
                if u.opened_at is None
                else ("open" if not self._admits(u, now) else "half-open"),
                "failures": u.failures,
                "error": u.error,
            }
            for u in self.upstreams
        ]


# --- the mode --------------------------------------------------------------------------------


class ProxyMode:
    """Chooses the upstream of each request of one endpoint; the host forwards it."""

    name = "proxy"

    def __init__(self, endpoint: str | None, settings: Settings, pool: Pool):
        self.endpoint = endpoint
        self.settings = settings
        self.pool = pool
        self.record = settings.record
        body = {
            "error": "proxy endpoints are forwarded by `backworks serve`",
            "endpoint": endpoint,
        }
        # What a host that does not forward would send; the serve host replaces it.
        self._unforwarded = json_response(502, body)

    @classmethod
    def forwarding(cls, url: str) -> ProxyMode:
        """A mode for requests no endpoint answers: all to `url`, no retries, no breaker."""
        settings = Settings(upstreams=((url.rstrip("/"), 1),), retries=0)
        return cls(None, settings, Pool(settings))

    def handle(self, request: Request, params: dict[str, Any]) -> Outcome:
        return self.pick()

    def pick(self, tried: list[Upstream] | tuple[Upstream, ...] = ()) -> Outcome:
        """Forward to the next upstream not in `tried`, or the 503/502 saying why none can."""
        chosen = self.pool.choose(tried)
        if chosen is not None:
            detail = {"upstream": chosen.url}
            return Outcome(self._unforwarded, self.endpoint, self.name, "proxy", detail)
        return self.refusal(tried)

    def attempts(self, method: str) -> int:
        """How many upstreams a request may try: retries only for idempotent methods."""
        return 1 + (self.settings.retries if method.upper() in IDEMPOTENT else 0)

    def refusal(self, tried: list[Upstream] | tuple[Upstream, ...] = ()) -> Outcome:
        """503 when an open circuit keeps an upstream out, else 502 naming what failed."""
        upstreams = [u for u in self.pool.upstreams]
        blocked = self.pool.open_circuits(tried)
        if blocked:
            wait = self.pool.retry_after(blocked)
            body = {
                "error": "circuit open: the upstream failed too often and is given a rest",
                "endpoint": self.endpoint,
                "retry_after_s": wait,
                "upstreams": self.pool.state(),
            }
            response = json_response(503, body, (("Retry-After", str(wait)),))
            return Outcome(response, self.endpoint, self.name, "proxy_error", body)
        why = (
            "upstream unreachable"
            if len(upstreams) == 1
            else "no upstream could be reached: every one is unhealthy or failed"
        )
        body = {"error": why, "endpoint": self.endpoint, "upstreams": self.pool.state()}
        return Outcome(json_response(502, body), self.endpoint, self.name, "proxy_error", body)

    def reset(self) -> None:
        self.pool.reset()


def create(context: Context) -> ProxyMode:
    settings = read_settings(context)
    # Endpoints with the same settings share one pool: one balancer, one circuit per upstream.
    pool = context.shared.pools.get(settings)
    if pool is None:
        pool = context.shared.pools[settings] = Pool(settings)
    return ProxyMode(context.name, settings, pool)


# --- checking upstreams (used by the serve host) ---------------------------------------------


async def connect_error(upstream: Upstream, timeout: float) -> str | None:
    """None when a TCP connection to the upstream opens within `timeout` seconds, else why not."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(upstream.host, upstream.port)
    except TimeoutError:
        return f"no connection to {upstream.host}:{upstream.port} within {timeout:g}s"
    except OSError as exc:
        return f"cannot connect to {upstream.host}:{upstream.port}: {exc.strerror or exc}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


async def health_error(upstream: Upstream, path: str, timeout: float) -> str | None:
    """None when GET `path` on the upstream is answered 2xx or 3xx within `timeout` seconds."""
    tls = ssl.create_default_context() if upstream.scheme == "https" else None
    default = _DEFAULT_PORTS[upstream.scheme]
    netloc = upstream.host if upstream.port == default else f"{upstream.host}:{upstream.port}"
    head = (
        f"GET {upstream.prefix}{path} HTTP/1.1\r\nHost: {netloc}\r\n"
        "User-Agent: backworks-health-check\r\nConnection: close\r\n\r\n"
    )
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(upstream.host, upstream.port, ssl=tls)
            try:
                writer.write(head.encode("latin-1"))
                await writer.drain()
                line = await reader.readline()
            finally:
                writer.close()
    except TimeoutError:
        return f"no answer within {timeout:g}s"
    except (OSError, ssl.SSLError) as exc:
        return f"cannot connect: {getattr(exc, 'strerror', None) or exc}"
    parts = line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        return "the answer is not HTTP"
    status = int(parts[1])
    return None if 200 <= status < 400 else f"answered {status}"


async def check_health(pool: Pool) -> None:
    """One round of health checks of every upstream of the pool, at the same time."""
    settings = pool.settings
    path = settings.health_path
    if path is None:
        return
    errors = await asyncio.gather(
        *(health_error(u, path, settings.health_timeout) for u in pool.upstreams)
    )
    for u, error in zip(pool.upstreams, errors, strict=True):
        pool.set_health(u, error)


async def watch_health(pool: Pool, *, now: bool = False) -> None:
    """Check the pool's upstreams every health_check.interval_s (first at once with `now`),
    until cancelled."""
    if now:
        await check_health(pool)
    while True:
        await asyncio.sleep(pool.settings.health_interval)
        await check_health(pool)
