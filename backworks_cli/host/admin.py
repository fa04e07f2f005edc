"""The admin API every backworks host answers under /__backworks/, and the counts behind it.

Resources (JSON unless said):

- GET  health     {"status": "ok", "started" (epoch seconds), "uptime_s", "endpoints", "config",
                  "reloads", "reload_error"}
- GET  endpoints  each endpoint's name, path, methods, mode, recordings, hits, misses,
                  generated, errors (5xx answers and dropped connections) and drift (live
                  answers that no longer fit the endpoint's learned response); proxy
                  endpoints also say whether they `record`
- GET  requests   the journal of recent requests, newest last: the last REQUESTS_LIMIT, or
                  ?limit=N for the last N of the JOURNAL_SIZE kept; each has an `id`, counting
                  from 1 since the host started
- GET  exchange   ?id=N: one journaled request with its headers and bodies (bodies over
                  KEEP_BODY bytes are not kept, messages only for the last MESSAGES_KEPT
                  requests), and the response sent
- GET  metrics    Prometheus text: backworks_requests_total{endpoint,method,status,how},
                  backworks_request_duration_seconds (histogram per endpoint), backworks_up,
                  backworks_events_dropped_total, backworks_config_reloads_total{result},
                  backworks_responses_drifted_total{endpoint},
                  backworks_responses_unchecked_total (live answers the drift check's budget
                  left unchecked)
- GET  events     server-sent events: one `data: {json}` line per request as it is answered;
                  a drifted answer's `detail.drift` lists its violations. ?ordinary=N sends
                  at most N ordinary requests a second (spread evenly) and every notable one
                  (misses, refusals, 5xx, faults, drift, answers over 5 ms), then
                  {"type": "sampled", "skipped": K} for those left out, in chunks sent
                  every 0.1 s
- POST reset      the engine's state back to its start (counters and journal are kept)
- GET/POST verify how many journaled requests match method, path (glob), status (404 or 4xx),
                  endpoint and how, given as query parameters or a JSON object
- POST promote    {"endpoint": NAME, "to": MODE} (and optionally upstream, language, rows):
                  backworks.promote on the host's backworks.yaml, then an immediate reload
- POST record     {"endpoint": NAME, "record": true|false} (without "record": toggled): a
                  proxy endpoint of `backworks serve` records what it forwards, or stops, for
                  as long as serve runs; answers {"endpoint", "record", "store"}

Counting is on the request path, so it is ints in dicts and a bounded deque of tuples, turned
into JSON only when asked for. Under load, events cost a request no more than a look at an
empty list: each subscriber reads the journal from where it left off, every EVENT_BATCH seconds
at most, and encodes what is new in one go; only one that has caught up asks to be woken by
the next request. A subscriber that falls more than the journal behind loses events (counted)
rather than slowing requests down.

Drift: with `Stats.drift` set (a drift.DriftCheck, which each host builds from its
configuration), a row whose answer came from a live source (how in drift.LIVE) and whose
response is kept is checked against the endpoint's learned response; a drifted row's detail
gains `drift` (the violations) and the endpoint's drift count goes up. The check has a budget
of CPU time (see backworks_cli.answer.drift), so it never takes more than a small share of the host;
replayed and generated rows cost one set lookup.
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import itertools
import json
import re
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from backworks_cli.answer.drift import LIVE
from backworks_cli.core.errors import BackworksError

if TYPE_CHECKING:
    from backworks_cli.answer.drift import DriftCheck
    from backworks_cli.host.mock import MockApp

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

PREFIX = "/__backworks/"
# Requests kept for /requests, /verify and /events: also the window an event stream has to
# read them in, which at 90k requests a second is about 0.1 s.
JOURNAL_SIZE = 10_000
REQUESTS_LIMIT = 1000  # requests /requests lists when not given ?limit=N
MESSAGES_KEPT = 1000  # the newest requests whose messages (headers, bodies) /exchange can show
QUEUE_SIZE = 512  # events a slow /events subscriber may lag behind before events are dropped
HEARTBEAT = 15.0  # seconds of silence after which an event stream gets a comment line
EVENT_BATCH = 0.01  # seconds an event stream waits after a request, to send more in one chunk
# Seconds a sampling (?ordinary=N) stream gathers events before it sends them: it feeds a
# screen, and fewer, larger chunks cost the host and the reader less under heavy load. The
# journal is still read every EVENT_BATCH, so no notable request slips out of it meanwhile.
SAMPLED_FLUSH = 0.1
STRING_CACHE = 10_000  # JSON string literals remembered for event lines; cleared when full
# Upper bounds (seconds) of the request duration histogram's buckets.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CRITERIA = ("method", "path", "status", "endpoint", "how")
KEEP_BODY = 64 * 1024  # request and response bodies up to this size are kept for /exchange
ZERO = {"hits": 0, "misses": 0, "generated": 0, "errors": 0, "drift": 0}  # an endpoint's counts

_JSON = [(b"content-type", b"application/json")]
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode
# A request event, fields as in Stats.entry; the strings are JSON literals already.
_EVENT = (
    '{"type":"request","id":%d,"time":%.6f,"method":%s,"path":%s,"query":%s,"endpoint":%s,'
    '"mode":%s,"how":%s,"status":%s,"latency_ms":%.3f}'
)
_literals: dict[Any, str] = {}


def _literal(value: str | None) -> str:
    """`value` as a JSON literal; the few values a host repeats are encoded once."""
    found = _literals.get(value)
    if found is None:
        if len(_literals) >= STRING_CACHE:
            _literals.clear()
        found = _literals[value] = _dumps(value)
    return found


async def send_json(send: Send, status: int, data: Any, headers: list | None = None) -> None:
    body = _dumps(data).encode("utf-8", "surrogateescape") + b"\n"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON, (b"content-length", b"%d" % len(body)), *(headers or ())],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- what a host counts ------------------------------------------------------------------


@dataclass(eq=False)
class Subscriber:
    """One /events client: its queue of events other than requests, the number of the last
    journaled request it was sent, the flag that wakes it, and the events it missed.

    With `ordinary` set (?ordinary=N), at most N ordinary requests a second are sent, spread
    evenly; every notable one is (see `notable`). `allowance` and `stamp` are the token
    bucket that spreads them, `skipped` the ordinary requests left out since last told."""

    queue: asyncio.Queue
    dropped: int = 0
    cursor: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    ordinary: float | None = None
    allowance: float = 0.0
    stamp: float = field(default_factory=time.monotonic)
    skipped: int = 0


# How answers that say something come: a subscriber that samples gets every one of these.
NOTABLE_HOWS = frozenset(
    {"miss", "not_found", "invalid", "fault", "error", "proxy_error", "handler_error"}
)
NOTABLE_SECONDS = 0.005  # an answer this slow is notable: a latency outlier is at least this


def notable(row: tuple) -> bool:
    """Whether a journal row says more than "answered as usual": a miss, a refusal, an error
    or a dropped connection, a fault, drift, or a slow answer."""
    status, detail = row[7], row[9]
    return (
        row[6] in NOTABLE_HOWS
        or status == 0
        or status >= 500
        or row[10] is not None
        or row[8] >= NOTABLE_SECONDS
        or (detail is not None and "drift" in detail)
    )


@dataclass
class Stats:
    """Requests by label, durations by endpoint, the journal, and the event subscribers.

    A journal row is a tuple: (start as perf_counter, method, path, raw query, endpoint,
    mode, how, status (0 for a dropped connection), seconds, detail, fault), optionally
    followed by the Request and the Response (None when not kept). Rows are numbered from 1
    in the order they were recorded; `total` is the number of the last one. The journal keeps
    the first eleven fields; the whole rows of the newest MESSAGES_KEPT go to `messages`, so
    that the bodies held stay as few as before the journal grew. With `drift` set, live answers
    are checked for drift as they are recorded (see the module docstring).
    """

    journal_size: int = JOURNAL_SIZE
    total: int = 0
    counts: dict[tuple, int] = field(default_factory=dict)  # (endpoint, method, status, how)
    # endpoint -> [count per bucket..., count above the last bucket, sum of seconds]
    durations: dict[str | None, list] = field(default_factory=dict)
    journal: deque = field(init=False)
    messages: deque = field(init=False)
    subscribers: set[Subscriber] = field(default_factory=set)
    # Subscribers that have sent everything and wait for the next request; one that is busy
    # reads the journal again after EVENT_BATCH, so a request under load costs no wake-up.
    waiting: list[Subscriber] = field(default_factory=list)
    events_dropped: int = 0
    reloads: dict[str, int] = field(default_factory=lambda: {"ok": 0, "error": 0})
    started_wall: float = field(default_factory=time.time)
    started_perf: float = field(default_factory=time.perf_counter)
    drift: DriftCheck | None = None
    drifted: dict[str | None, int] = field(default_factory=dict)  # endpoint -> drifted answers

    def __post_init__(self) -> None:
        self.journal = deque(maxlen=self.journal_size)
        self.messages = deque(maxlen=min(MESSAGES_KEPT, self.journal_size))

    def record(self, row: tuple) -> None:
        """Count one answered request (a journal row, see the class docstring)."""
        if row[6] in LIVE:
            row = self._check_drift(row)
        endpoint, seconds = row[4], row[8]
        key = (endpoint, row[1], row[7], row[6])
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1
        hist = self.durations.get(endpoint)
        if hist is None:
            hist = self.durations[endpoint] = [0] * (len(BUCKETS) + 1) + [0.0]
        hist[bisect_left(BUCKETS, seconds)] += 1
        hist[-1] += seconds
        self.messages.append(row)
        self.journal.append(row[:11])
        self.total += 1
        if self.waiting:
            for sub in self.waiting:
                sub.wake.set()
            self.waiting.clear()

    def park(self, sub: Subscriber) -> None:
        """Have `sub` woken by the next request, or now if one came since it last read."""
        if sub not in self.waiting:
            self.waiting.append(sub)
        if self.total != sub.cursor:  # counted after the append: a request cannot slip by
            sub.wake.set()

    def _check_drift(self, row: tuple) -> tuple:
        """The row, with `drift` in its detail when its kept response drifted."""
        check = self.drift
        if check is None or len(row) < 13 or row[12] is None:
            return row
        violations = check.check(row[4], row[7], row[12])
        if not violations:
            return row
        endpoint = row[4]
        self.drifted[endpoint] = self.drifted.get(endpoint, 0) + 1
        return (*row[:9], {**(row[9] or {}), "drift": violations}, *row[10:])

    def entry(self, row: tuple, number: int | None = None) -> dict:
        """A journal row as JSON data; `number` is its id."""
        start, method, path, query, endpoint, mode, how, status, seconds, detail, fault = row[:11]
        data = {
            "id": number,
            "time": round(self.started_wall + (start - self.started_perf), 6),
            "method": method,
            "path": path,
            "query": query.decode("latin-1") if query else "",
            "endpoint": endpoint,
            "mode": mode,
            "how": how,
            "status": status or None,
            "latency_ms": round(seconds * 1000, 3),
        }
        if fault is not None:
            data["fault"] = fault
        if detail is not None:
            data["detail"] = detail
        return data

    def numbered(self) -> list[tuple[int, tuple]]:
        """The journal's rows with their ids, oldest first."""
        rows = list(self.journal)
        first = self.total - len(rows) + 1
        return list(enumerate(rows, first))

    def publish(self, data: dict) -> None:
        """Queue one event (not a request: those come from the journal) for every subscriber;
        a full queue drops it and counts the drop."""
        line = b"data: " + _dumps(data).encode("utf-8", "surrogateescape") + b"\n\n"
        for sub in self.subscribers:
            try:
                sub.queue.put_nowait(line)
            except asyncio.QueueFull:
                sub.dropped += 1
                self.events_dropped += 1
            sub.wake.set()

    def event_line(self, row: tuple, number: int) -> bytes:
        """A journal row as an event-stream line, with the fields of `entry`, formatted
        directly: a third of the cost of a dict through the JSON encoder."""
        start, method, path, query, endpoint, mode, how, status, seconds, detail, fault = row[:11]
        text = _EVENT % (
            number,
            self.started_wall + (start - self.started_perf),
            _literal(method),
            _literal(path),
            _literal(query.decode("latin-1")) if query else '""',
            _literal(endpoint),
            _literal(mode),
            _literal(how),
            status or "null",
            seconds * 1000,
        )
        if fault is not None or detail is not None:
            extra = {"fault": fault, "detail": detail}
            text = text[:-1] + "," + _dumps({k: v for k, v in extra.items() if v is not None})[1:]
        return b"data: " + text.encode("utf-8", "surrogateescape") + b"\n\n"

    def events_for(self, sub: Subscriber) -> bytes:
        """What `sub` has not been sent yet: queued events, then the requests journaled since
        its cursor; requests that already left the journal are counted as dropped."""
        parts = []
        while not sub.queue.empty():
            parts.append(sub.queue.get_nowait())
        new = self.total - sub.cursor
        if new > 0:
            kept = min(new, len(self.journal))
            if new > kept:
                sub.dropped += new - kept
                self.events_dropped += new - kept
            rows = list(itertools.islice(reversed(self.journal), kept))
            first = self.total - kept + 1
            numbered = enumerate(reversed(rows), first)
            if sub.ordinary is None:
                parts += [self.event_line(row, n) for n, row in numbered]
            else:
                parts += self._sampled(sub, numbered)
            sub.cursor = self.total
        if sub.dropped:  # tell the subscriber what it missed while it lagged
            lost = {"type": "dropped", "count": sub.dropped}
            parts.insert(0, b"data: " + _dumps(lost).encode() + b"\n\n")
            sub.dropped = 0
        return b"".join(parts)

    def _sampled(self, sub: Subscriber, numbered) -> list[bytes]:
        """Event lines for the notable rows and for as many ordinary ones as the subscriber's
        allowance lets through; a `sampled` event says how many were left out."""
        now = time.monotonic()
        rate = sub.ordinary
        allowance = min(rate, sub.allowance + max(0.0, now - sub.stamp) * rate)  # a second at most
        sub.stamp = now
        lines = []
        for n, row in numbered:
            if allowance >= 1.0:
                allowance -= 1.0
            elif not notable(row):
                sub.skipped += 1
                continue
            lines.append(self.event_line(row, n))
        sub.allowance = allowance
        if sub.skipped:
            told = {"type": "sampled", "skipped": sub.skipped}
            lines.append(b"data: " + _dumps(told).encode() + b"\n\n")
            sub.skipped = 0
        return lines

    def per_endpoint(self) -> dict[str | None, dict[str, int]]:
        out: dict[str | None, dict[str, int]] = {}
        for (endpoint, _method, status, how), n in self.counts.items():
            row = out.setdefault(endpoint, dict(ZERO))
            row["hits"] += n
            if how == "miss":
                row["misses"] += n
            elif how == "generated":
                row["generated"] += n
            if status == 0 or status >= 500:
                row["errors"] += n
        for endpoint, n in self.drifted.items():
            out.setdefault(endpoint, dict(ZERO))["drift"] = n
        return out


def _label(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(stats: Stats) -> str:
    """The Prometheus text exposition format (version 0.0.4) of `stats`."""
    lines = [
        "# HELP backworks_up 1 while the host is serving.",
        "# TYPE backworks_up gauge",
        "backworks_up 1",
        "# HELP backworks_requests_total Requests answered, by endpoint, method, status and how "
        "(replayed, generated, state, miss, not_found, invalid, fault, error).",
        "# TYPE backworks_requests_total counter",
    ]
    for (endpoint, method, status, how), n in sorted(
        stats.counts.items(), key=lambda kv: tuple(map(str, kv[0]))
    ):
        labels = f'endpoint="{_label(endpoint)}",method="{_label(method)}"'
        lines.append(f'backworks_requests_total{{{labels},status="{status}",how="{how}"}} {n}')
    lines += [
        "# HELP backworks_request_duration_seconds From the request to the last byte of the "
        "answer, by endpoint.",
        "# TYPE backworks_request_duration_seconds histogram",
    ]
    for endpoint, hist in sorted(stats.durations.items(), key=lambda kv: str(kv[0] or "")):
        label = f'endpoint="{_label(endpoint)}"'
        cumulative = 0
        for bound, n in zip(BUCKETS, hist, strict=False):
            cumulative += n
            lines.append(
                f'backworks_request_duration_seconds_bucket{{{label},le="{bound}"}} {cumulative}'
            )
        total = cumulative + hist[len(BUCKETS)]
        lines += [
            f'backworks_request_duration_seconds_bucket{{{label},le="+Inf"}} {total}',
            f"backworks_request_duration_seconds_sum{{{label}}} {hist[-1]:.9f}",
            f"backworks_request_duration_seconds_count{{{label}}} {total}",
        ]
    lines += [
        "# HELP backworks_events_dropped_total Events a lagging /events subscriber did not get.",
        "# TYPE backworks_events_dropped_total counter",
        f"backworks_events_dropped_total {stats.events_dropped}",
        "# HELP backworks_config_reloads_total Reloads of backworks.yaml, by result.",
        "# TYPE backworks_config_reloads_total counter",
        *(
            f'backworks_config_reloads_total{{result="{result}"}} {n}'
            for result, n in sorted(stats.reloads.items())
        ),
        "# HELP backworks_responses_drifted_total Live answers that no longer fit the endpoint's "
        "learned response, by endpoint.",
        "# TYPE backworks_responses_drifted_total counter",
        *(
            f'backworks_responses_drifted_total{{endpoint="{_label(endpoint)}"}} {n}'
            for endpoint, n in sorted(stats.drifted.items(), key=lambda kv: str(kv[0] or ""))
        ),
        "# HELP backworks_responses_unchecked_total Live answers not checked for drift because "
        "the check's CPU budget was spent.",
        "# TYPE backworks_responses_unchecked_total counter",
        f"backworks_responses_unchecked_total {stats.drift.skipped if stats.drift else 0}",
    ]
    return "\n".join(lines) + "\n"


def _status_range(value: Any) -> tuple[int, int]:
    text = str(value).strip().lower()
    if re.fullmatch(r"[1-5]\d\d", text):
        return int(text), int(text)
    if re.fullmatch(r"[1-5]xx", text):
        return int(text[0]) * 100, int(text[0]) * 100 + 99
    raise ValueError(f"status {value!r} is neither a code such as 404 nor a class such as 4xx")


def verify_count(stats: Stats, criteria: dict[str, Any]) -> int:
    """How many journaled requests match every given criterion (see CRITERIA): method in any
    case, path as a glob whose * also matches /, status as 404 or 4xx. ValueError names an
    unknown criterion or a bad status."""
    unknown = sorted(set(criteria) - set(CRITERIA))
    if unknown:
        raise ValueError(f"unknown criteria {unknown}; use {', '.join(CRITERIA)}")
    method = str(criteria["method"]).upper() if criteria.get("method") else None
    glob = criteria.get("path") or None
    status = _status_range(criteria["status"]) if criteria.get("status") else None
    endpoint, how = criteria.get("endpoint") or None, criteria.get("how") or None
    count = 0
    for row in list(stats.journal):
        if (
            (method is None or row[1] == method)
            and (glob is None or fnmatch.fnmatchcase(row[2], glob))
            and (status is None or status[0] <= row[7] <= status[1])
            and (endpoint is None or row[4] == endpoint)
            and (how is None or row[6] == how)
        ):
            count += 1
    return count


# --- the resources -----------------------------------------------------------------------


async def answer(host: MockApp, scope: Scope, receive: Receive, send: Send, name: str) -> None:
    """Answer the admin request for resource `name` (the path after /__backworks/)."""
    name = name.strip("/")
    route = ROUTES.get(name)
    if route is None:
        await send_json(
            send,
            404,
            {
                "error": f"no admin resource {PREFIX}{name}",
                "resources": [f"{PREFIX}{n}" for n in ROUTES],
            },
        )
        return
    methods, handler = route
    if scope["method"] not in methods:
        await send_json(
            send,
            405,
            {"error": f"{PREFIX}{name} answers {', '.join(methods)}"},
            [(b"allow", ", ".join(methods).encode())],
        )
        return
    await handler(host, scope, receive, send)


def _query(scope: Scope) -> dict[str, str]:
    return dict(parse_qsl(scope["query_string"].decode("latin-1")))


async def _health(host: MockApp, scope: Scope, receive: Receive, send: Send) -> None:
    await send_json(
        send,
        200,
        {
            "status": "ok",
            "started": host.stats.started_wall,  # also tells one process from the next
            "uptime_s": round(time.perf_counter() - host.stats.started_perf, 3),
            "endpoints": len(host.engine.endpoints()),
            "config": str(host.config_path) if host.config_path else None,
            "reloads": dict(host.stats.reloads),
            "reload_error": host.reload_error,
        },
    )


async def _endpoints(host: MockApp, scope: Scope, receive: Receive, send: Send) -> None:
    counts = host.stats.per_endpoint()
    rows = [{**ep, **counts.get(ep["name"], ZERO)} for ep in host.engine.endpoints()]
    if None in counts:  # requests no endpoint answered
        rows.append(
            {"name": None, "path": None, "methods": [], "mode": None, "recordings": 0}
            | counts[None]
        )
    await send_json(send, 200, {"endpoints": rows})


async def _requests(host: MockApp, scope: Scope, receive: Receive, send: Send) -> None:
    rows = host.stats.numbered()
    try:
        limit = int(_query(scope).get("limit", REQUESTS_LIMIT))
    except ValueError:
        await send_json(send, 400, {"error": "limit must be a whole number"})
        return
    rows = rows[-limit:] if limit > 0 else []
    await send_json(
        send,
        200,
        {
            "requests": [host.stats.entry(row, n) for n, row in rows],
            "kept": host.stats.journal_size,
        },
    )


def _message(message: Any) -> dict | None:
    """A Request or Response as JSON data: headers as pairs, the body as text when it is
    UTF-8, else base64."""
    if message is None:
        return None
    body = message.body
    try:
        data = {"headers": [list(pair) for pair in message.headers], "body": body.decode()}
    except UnicodeDecodeError:
        data = {"headers": [list(pair) for pair in message.headers]}
        data["body_base64"] = base64.b64encode(body).decode("ascii")
    return data


async def _exchange(host: MockApp, scope: Scope, receive: Receive, send: Send) -> None:
    text = _query(scope).get("id", "")
    if not text.isdigit():
        await send_json(send, 400, {"error": "give the request's id as ?id=N (see requests)"})
        return
    stats, number = host.stats, int(text)
    index = number - (stats.total - len(stats.journal)) - 1
    if number < 1 or not 0 <= index < len(stats.journal):
        error = f"request {number} is not in the journal, which keeps the last {stats.journal_size}"
        await send_json(send, 404, {"error": error, "last": stats.total})
        return
    row = stats.journal[index]
    data = stats.entry(row, number)
    at = number - (stats.total - len(stats.messages)) - 1
    if at < 0:
        data["request"] = data["response"] = None
        data["note"] = f"messages are kept for the last {len(stats.messages)} requests only"
    else:
        whole = stats.messages[at]
        request, response = (whole[11], whole[12]) if len(whole) > 11 else (None, None)
        data["request"] = _message(request)
        data["response"] = _message(response)
        if request is None or response is None:
            data["note"] = f"bodies over {KEEP_BODY} bytes are not kept, nor the messages with them"
    await send_json(send, 200, data)


async def _json_object(
    host: MockApp, receive: Receive, send: Send, needs: tuple[str, ...], shape: str
) -> dict | None:
    """The request's JSON object with every key of `needs`; None once a 400 has been sent."""
    body = await host.read_body(receive)
    if body is False:
        return None
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        await send_json(send, 400, {"error": f"the body is not JSON: {exc}"})
        return None
    if not isinstance(data, dict) or not all(data.get(key) for key in needs):
        await send_json(send, 400, {"error": f"send {shape}"})
        return None
    return data


async def _promote(host: MockApp, scope: Scope, receive: Receive, send: Send) -> None:
    data = await _json_object(
        host, receive, send, ("endpoint", "to"), '{"endpoint": NAME, "to": MODE}'
    )
    if data is None:
        return
    if host.config_path is None:
        error = "this host was started without a backworks.yaml, so there is nothing to promote"
        await send_json(send, 409, {"error": error})
        return
    from backworks_cli.evolve.promote import promote  # the YAML editor, loaded when first needed

    options = {k: data[k] for k in ("upstream", "language", "rows") if data.get(k) is not None}
    try:
        result = await asyncio.to_thread(
            promote, host.config_path, [str(data["endpoint"])], str(data["to"]), **options
        )
    except BackworksError as error:
        await send_json(send, 400, {"error": error.message, "hint": error.hint})
        return
    except (TypeError, ValueError) as error:
        await send_json(send, 400, {"error": str(error)})
        return
    reloaded = await host.reload_if_changed() if result.written else None
    await send_json(
        send,
        200,
        {
            "written": result.written,
            "changes": [
                {"endpoint": c.endpoint, "before": c.before, "after": c.after, "detail": c.detail}
                for c in result.changes
            ],
            "notes": list(result.notes),
            "files": [str(f) for f in result.files],
            "diff": result.diff,
            "reloaded": reloaded,
            "reload_error": host.reload_error,
        },
    )


async def _record(host: MockApp, scope: Scope, receive: Receive, send: Send) -> None:
    shape = '{"endpoint": NAME, "record": true|false} (without "record": the other way round)'
    data = await _json_object(host, receive, send, ("endpoint",), shape)
    if data is None:
        return
    record = data.get("record")
    if record is not None and not isinstance(record, bool):
        await send_json(send, 400, {"error": f"record must be true or false, not {record!r}"})
        return
    set_recording = getattr(host, "set_recording", None)
    if set_recording is None:
        error = "this host does not forward, so it has nothing to record"
        hint = "Proxy endpoints record in `backworks serve`; `backworks capture` records all."
        await send_json(send, 409, {"error": error, "hint": hint})
        return
    try:
        result = await set_recording(str(data["endpoint"]), record)
    except BackworksError as error:
        await send_json(send, 409, {"error": error.message, "hint": error.hint})
        return
    await send_json(send, 200, result)


async def _metrics(host: MockApp, scope: Scope, receive: Receive, send: Send) -> None:
    body = render_metrics(host.stats).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain; version=0.0.4; charset=utf-8"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _reset(host: MockApp, scope: Scope, receive: Receive, send: Send) -> None:
    host.engine.reset()
    await send_json(send, 200, {"status": "ok", "reset": True})


async def _verify(host: MockApp, scope: Scope, receive: Receive, send: Send) -> None:
    criteria: dict[str, Any] = _query(scope)
    if scope["method"] == "POST":
        body = await host.read_body(receive)
        if body is False:
            return
        if body:
            try:
                data = json.loads(body)
            except ValueError as exc:
                await send_json(send, 400, {"error": f"the body is not JSON: {exc}"})
                return
            if not isinstance(data, dict):
                await send_json(send, 400, {"error": "the body must be a JSON object"})
                return
            criteria.update(data)
    try:
        count = verify_count(host.stats, criteria)
    except ValueError as exc:
        await send_json(send, 400, {"error": str(exc)})
        return
    await send_json(
        send, 200, {"count": count, "criteria": criteria, "journal": len(host.stats.journal)}
    )


async def _events(host: MockApp, scope: Scope, receive: Receive, send: Send) -> None:
    ordinary = _query(scope).get("ordinary")
    try:
        rate = float(ordinary) if ordinary is not None else None
        if rate is not None and not rate >= 0:
            raise ValueError
    except ValueError:
        await send_json(
            send, 400, {"error": f"ordinary must be a number of events a second, not {ordinary!r}"}
        )
        return
    stats = host.stats
    sub = Subscriber(asyncio.Queue(QUEUE_SIZE), cursor=stats.total, ordinary=rate)
    stats.subscribers.add(sub)

    async def until_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    gone = asyncio.ensure_future(until_disconnect())
    get: asyncio.Future | None = None
    flush = SAMPLED_FLUSH if rate is not None else 0.0
    pending: list[bytes] = []
    sent = time.monotonic()
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b": connected\n\n", "more_body": True})
        while True:
            if get is None:
                stats.park(sub)
                get = asyncio.ensure_future(sub.wake.wait())
            due = max(0.0, flush - (time.monotonic() - sent)) if pending else HEARTBEAT
            done, _ = await asyncio.wait(
                {get, gone}, timeout=due, return_when=asyncio.FIRST_COMPLETED
            )
            if gone in done:
                break
            if get in done:
                get = None
                await asyncio.sleep(EVENT_BATCH)  # let more requests come, to send them at once
                sub.wake.clear()
                chunk = stats.events_for(sub)
                if chunk:
                    pending.append(chunk)
            elif not pending:  # HEARTBEAT seconds of silence
                pending.append(b": keepalive\n\n")
            if pending and time.monotonic() - sent >= flush:
                body = b"".join(pending)
                pending.clear()
                await send({"type": "http.response.body", "body": body, "more_body": True})
                sent = time.monotonic()
    finally:
        stats.subscribers.discard(sub)
        if sub in stats.waiting:
            stats.waiting.remove(sub)
        gone.cancel()
        if get is not None:
            get.cancel()


ROUTES: dict[str, tuple[tuple[str, ...], Callable]] = {
    "health": (("GET", "HEAD"), _health),
    "endpoints": (("GET", "HEAD"), _endpoints),
    "requests": (("GET", "HEAD"), _requests),
    "metrics": (("GET", "HEAD"), _metrics),
    "events": (("GET",), _events),
    "reset": (("POST",), _reset),
    "verify": (("GET", "POST"), _verify),
    "exchange": (("GET", "HEAD"), _exchange),
    "promote": (("POST",), _promote),
    "record": (("POST",), _record),
}
