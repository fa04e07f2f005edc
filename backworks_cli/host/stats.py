"""What a host counts, on the request path: the journal of answered requests (`Row`), counts
by label, duration histograms, drift, the event subscribers, the Prometheus text of it all
(`render_metrics`) and `verify_count`.

Counting is on the request path, so it is ints in dicts and a bounded deque of rows, turned
into JSON only when asked for. Under load, events cost a request no more than a look at an
empty list: each subscriber reads the journal from where it left off, every EVENT_BATCH seconds
at most, and encodes what is new in one go; only one that has caught up asks to be woken by
the next request. A subscriber that falls more than the journal behind loses events (counted)
rather than slowing requests down.

Drift: with `Stats.drift` set (a drift.DriftCheck, which each host builds from its
configuration), a row whose answer came from a live source (how in drift.LIVE) and whose
response is kept is checked against the endpoint's learned response; a drifted row's detail
gains `drift` (the violations) and the endpoint's drift count goes up. The check has a budget
of CPU time (see backworks_cli.answer.drift), so it never takes more than a small share of
the host; replayed and generated rows cost one set lookup.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import itertools
import json
import re
import time
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from backworks_cli.answer.drift import LIVE
from backworks_cli.host.scrub import Scrubber

if TYPE_CHECKING:
    from backworks_cli.answer.drift import DriftCheck

# Requests kept for /requests, /verify and /events: also the window an event stream has to
# read them in, which at 90k requests a second is about 0.1 s.
JOURNAL_SIZE = 10_000


MESSAGES_KEPT = 1000  # the newest requests whose messages (headers, bodies) /exchange can show


STRING_CACHE = 10_000  # JSON string literals remembered for event lines; cleared when full
# Upper bounds (seconds) of the request duration histogram's buckets.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CRITERIA = ("method", "path", "status", "endpoint", "how")
KEEP_BODY = 64 * 1024  # request and response bodies up to this size are kept for /exchange
ZERO = {"hits": 0, "misses": 0, "generated": 0, "errors": 0, "drift": 0}  # an endpoint's counts


dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode
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
        found = _literals[value] = dumps(value)
    return found


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


class Row(NamedTuple):
    """One journaled request. `status` is 0 for a dropped connection; `seconds` from the
    request to the last byte of the answer."""

    start: float  # time.perf_counter() when the request began
    method: str
    path: str
    query: bytes  # the raw query string
    endpoint: str | None
    mode: str | None
    how: str
    status: int
    seconds: float
    detail: dict | None
    fault: str | None


# Builds a Row from one tuple of its fields at a tuple's cost: for the mock's request path.
make_row = functools.partial(tuple.__new__, Row)


def notable(row: Row) -> bool:
    """Whether a journal row says more than "answered as usual": a miss, a refusal, an error
    or a dropped connection, a fault, drift, or a slow answer."""
    status, detail = row.status, row.detail
    return (
        row.how in NOTABLE_HOWS
        or status == 0
        or status >= 500
        or row.fault is not None
        or row.seconds >= NOTABLE_SECONDS
        or (detail is not None and "drift" in detail)
    )


@dataclass
class Stats:
    """Requests by label, durations by endpoint, the journal, and the event subscribers.

    The journal keeps a `Row` per request; rows are numbered from 1 in the order they were
    recorded, and `total` is the number of the last one. The request and response of the
    newest MESSAGES_KEPT go to `messages` (None where a body was too large to keep), so that
    the bodies held stay few however long the journal. With `drift` set, live answers are
    checked for drift as they are recorded (see the module docstring).
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
    # What the journal shows goes through it: secrets in paths, queries and details replaced.
    scrub: Scrubber = field(default_factory=Scrubber)

    def __post_init__(self) -> None:
        self.journal = deque(maxlen=self.journal_size)
        self.messages = deque(maxlen=min(MESSAGES_KEPT, self.journal_size))

    def record(self, row: Row, request: Any = None, response: Any = None) -> None:
        """Count one answered request: its journal row, and its request and response when
        they are kept for /exchange."""
        if row.how in LIVE:
            row = self._check_drift(row, response)
        endpoint, seconds = row.endpoint, row.seconds
        key = (endpoint, row.method, row.status, row.how)
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1
        hist = self.durations.get(endpoint)
        if hist is None:
            hist = self.durations[endpoint] = [0] * (len(BUCKETS) + 1) + [0.0]
        hist[bisect_left(BUCKETS, seconds)] += 1
        hist[-1] += seconds
        self.messages.append((request, response))
        self.journal.append(row)
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

    def _check_drift(self, row: Row, response: Any) -> Row:
        """The row, with `drift` in its detail when its kept response drifted."""
        check = self.drift
        if check is None or response is None:
            return row
        violations = check.check(row.endpoint, row.status, response)
        if not violations:
            return row
        self.drifted[row.endpoint] = self.drifted.get(row.endpoint, 0) + 1
        return row._replace(detail={**(row.detail or {}), "drift": violations})

    def entry(self, row: Row, number: int | None = None) -> dict:
        """A journal row as JSON data; `number` is its id."""
        start, method, path, query, endpoint, mode, how, status, seconds, detail, fault = row
        path, text = self.scrub.target(path, query)
        detail = self.scrub.detail(detail)
        data = {
            "id": number,
            "time": round(self.started_wall + (start - self.started_perf), 6),
            "method": method,
            "path": path,
            "query": text,
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

    def numbered(self) -> list[tuple[int, Row]]:
        """The journal's rows with their ids, oldest first."""
        rows = list(self.journal)
        first = self.total - len(rows) + 1
        return list(enumerate(rows, first))

    def publish(self, data: dict) -> None:
        """Queue one event (not a request: those come from the journal) for every subscriber;
        a full queue drops it and counts the drop."""
        line = b"data: " + dumps(data).encode("utf-8", "surrogateescape") + b"\n\n"
        for sub in self.subscribers:
            try:
                sub.queue.put_nowait(line)
            except asyncio.QueueFull:
                sub.dropped += 1
                self.events_dropped += 1
            sub.wake.set()

    def event_line(self, row: Row, number: int) -> bytes:
        """A journal row as an event-stream line, with the fields of `entry`, formatted
        directly: a third of the cost of a dict through the JSON encoder."""
        start, method, path, query, endpoint, mode, how, status, seconds, detail, fault = row
        path, query_text = self.scrub.target(path, query)
        text = _EVENT % (
            number,
            self.started_wall + (start - self.started_perf),
            _literal(method),
            _literal(path),
            _literal(query_text) if query else '""',
            _literal(endpoint),
            _literal(mode),
            _literal(how),
            status or "null",
            seconds * 1000,
        )
        if fault is not None or detail is not None:
            extra = {"fault": fault, "detail": self.scrub.detail(detail)}
            text = text[:-1] + "," + dumps({k: v for k, v in extra.items() if v is not None})[1:]
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
            parts.insert(0, b"data: " + dumps(lost).encode() + b"\n\n")
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
            lines.append(b"data: " + dumps(told).encode() + b"\n\n")
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
            (method is None or row.method == method)
            and (glob is None or fnmatch.fnmatchcase(row.path, glob))
            and (status is None or status[0] <= row.status <= status[1])
            and (endpoint is None or row.endpoint == endpoint)
            and (how is None or row.how == how)
        ):
            count += 1
    return count
