"""What the dashboard knows, as plain data: the event stream parsed, the request log, per
endpoint rates and latencies, and alerts. No Textual and no I/O here, so the app's handlers
stay a few lines each and every rule can be tested without a terminal.

Everything is bounded: the log and each endpoint's samples are ring buffers, alerts are
aggregated by kind and key and capped, so memory stays flat whatever the event rate.
"""

from __future__ import annotations

import json
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from backworks_cli.core.numbers import percentile

LOG_SIZE = 5000  # events kept for the log, its filter and its table
SEED = 1000  # requests taken from the host's journal on connecting
LATENCY_SAMPLES = 1000  # latencies kept per endpoint for p50/p95 and outliers
MIN_HISTORY = 50  # samples an endpoint needs before a latency can be an outlier
OUTLIER_FACTOR = 4.0  # an outlier is this many times the endpoint's p95 ...
OUTLIER_FLOOR_MS = 5.0  # ... and at least this much above it
THRESHOLD_EVERY = 100  # samples between recomputations of an endpoint's outlier threshold
BURST_ERRORS = 5  # errors of one endpoint ...
BURST_SECONDS = 10.0  # ... within this many seconds make a burst
RATE_POINTS = 30  # req/s samples kept per endpoint (one per snapshot, about a second apart)
MAX_ALERTS = 200  # distinct alerts kept; the least recently seen go first
MAX_LINE = 1 << 20  # an event-stream line longer than this is dropped as malformed
SPARK = "▁▂▃▄▅▆▇█"
NO_ENDPOINT = "(no endpoint)"

# How a request was answered, as the log shows it.
HOW_LABELS = {
    "replayed": "replayed",
    "generated": "generated",
    "state": "state",
    "proxied": "proxied",
    "proxy": "proxied",
    "proxy_error": "proxy ✗",
    "handler": "handler",
    "handler_error": "handler ✗",
    "database": "database",
    "miss": "miss",
    "not_found": "no route",
    "invalid": "invalid",
    "fault": "fault",
    "error": "error",
}
SORTS = ("name", "mode", "rate", "p50", "p95", "error_rate", "hits", "misses")


# --- the event stream ------------------------------------------------------------------------


class SSEParser:
    """Server-sent events from bytes as they arrive: one dict per `data:` event whose data is
    a JSON object. Lines that are not SSE, data that is not a JSON object and lines over
    MAX_LINE are skipped and counted in `malformed`."""

    def __init__(self) -> None:
        self._partial = b""
        self._data: list[bytes] = []
        self._discarding = False  # inside an overlong line, up to its end
        self.malformed = 0

    def feed(self, chunk: bytes) -> list[dict]:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        events: list[dict] = []
        for line in lines:
            if self._discarding:
                self._discarding = False
                continue
            self._line(line[:-1] if line.endswith(b"\r") else line, events)
        if len(self._partial) > MAX_LINE:
            self._partial = b""
            self._discarding = True
            self.malformed += 1
        return events

    def _line(self, line: bytes, events: list[dict]) -> None:
        if not line:
            if self._data:
                data, self._data = b"\n".join(self._data), []
                try:
                    event = json.loads(data)
                except ValueError:
                    event = None
                if isinstance(event, dict):
                    events.append(event)
                else:
                    self.malformed += 1
            return
        if line[:1] == b":":
            return  # a comment: the server's greeting and keep-alives
        name, _, value = line.partition(b":")
        if name == b"data":
            self._data.append(value[1:] if value[:1] == b" " else value)
        elif name not in (b"event", b"id", b"retry"):
            self.malformed += 1


# --- numbers as the tables show them -----------------------------------------------------------


def sparkline(values: list[float] | deque, width: int) -> str:
    """The last `width` values as block characters scaled to their maximum."""
    shown = list(values)[-width:]
    top = max(shown, default=0)
    if top <= 0:
        return SPARK[0] * len(shown)
    return "".join(SPARK[min(7, int(v / top * 7 + 0.5))] for v in shown)


def format_ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"


def format_rate(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def format_time(stamp: float | None, tz: tzinfo | None) -> str:
    if stamp is None:
        return "–"
    return datetime.fromtimestamp(stamp, tz).strftime("%H:%M:%S.%f")[:-3]


def is_error(event: dict) -> bool:
    status = event.get("status")
    return not status or status >= 500


# --- the request log ---------------------------------------------------------------------------


def event_matches(event: dict, terms: list[tuple[str | None, str]]) -> bool:
    """Every term matches: `field:value` compares one field (status by prefix, so status:4
    is every 4xx), a bare word is a substring of method, path, endpoint, mode, how or status."""
    for key, value in terms:
        if key is None:
            text = " ".join(
                str(event.get(k) or "")
                for k in ("method", "path", "query", "endpoint", "mode", "how", "status")
            ).lower()
            if value not in text:
                return False
        elif key == "status":
            if not str(event.get("status") or 0).startswith(value):
                return False
        elif value not in str(event.get(key) or "").lower():
            return False
    return True


FILTER_FIELDS = ("method", "path", "endpoint", "mode", "how", "status")


def parse_filter(text: str) -> list[tuple[str | None, str]]:
    """`how:miss /users` -> [("how", "miss"), (None, "/users")]; lower case."""
    terms: list[tuple[str | None, str]] = []
    for word in text.lower().split():
        key, sep, value = word.partition(":")
        if sep and key in FILTER_FIELDS:
            terms.append((key, value))
        else:
            terms.append((None, word))
    return terms


# --- per endpoint ------------------------------------------------------------------------------


@dataclass
class EndpointView:
    """One endpoint as the server last reported it, plus what the dashboard measured."""

    name: str | None
    path: str | None = None
    methods: tuple[str, ...] = ()
    mode: str | None = None
    recordings: int = 0
    hits: int = 0
    misses: int = 0
    generated: int = 0
    errors: int = 0
    record: bool | None = None  # proxy endpoints: whether serve records what they forward
    rates: deque = field(default_factory=lambda: deque(maxlen=RATE_POINTS))
    windows: deque = field(default_factory=lambda: deque(maxlen=RATE_POINTS))  # (hits, errors)
    latencies: deque = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    threshold_ms: float | None = None  # latencies above are outliers
    since_threshold: int = 0
    error_times: deque = field(default_factory=lambda: deque(maxlen=BURST_ERRORS))
    p50: float | None = None
    p95: float | None = None

    @property
    def label(self) -> str:
        return self.name if self.name is not None else NO_ENDPOINT

    @property
    def rate(self) -> float | None:
        return self.rates[-1] if self.rates else None

    @property
    def error_rate(self) -> float | None:
        """Errors per request over the rate window (the last RATE_POINTS snapshots)."""
        hits = sum(h for h, _ in self.windows)
        return sum(e for _, e in self.windows) / hits if hits else None

    def update_percentiles(self) -> None:
        ordered = sorted(self.latencies)
        self.p50, self.p95 = percentile(ordered, 50), percentile(ordered, 95)
        if len(ordered) >= MIN_HISTORY and self.p95 is not None:
            self.threshold_ms = max(self.p95 * OUTLIER_FACTOR, self.p95 + OUTLIER_FLOOR_MS)
        self.since_threshold = 0


# --- alerts ------------------------------------------------------------------------------------


@dataclass
class Alert:
    kind: str  # miss, unknown, schema, drift, latency, burst
    key: str
    endpoint: str | None
    message: str
    first: float
    last: float
    count: int = 1
    example: int | None = None  # the dashboard's number of the last event behind it


ALERT_LABELS = {
    "miss": "miss",
    "unknown": "unknown path",
    "schema": "schema",
    "drift": "drift",
    "latency": "slow",
    "burst": "errors",
}


def _miss_message(event: dict) -> str:
    detail = event.get("detail") or {}
    target = event["path"] + (f"?{event['query']}" if event.get("query") else "")
    text = f"no recording matches {event.get('method')} {target}"
    nearest = detail.get("nearest") or []
    if nearest:
        best = nearest[0]
        failed = [m["why"] for m in best.get("matchers", []) if not m.get("ok")]
        text += f"; nearest #{best.get('id')}: " + "; ".join(failed)
    return text


def _schema_message(event: dict) -> str:
    violations = (event.get("detail") or {}).get("violations") or []
    first = violations[0] if violations else "does not match the schema"
    if isinstance(first, dict):
        first = first.get("message") or json.dumps(first, sort_keys=True)
    more = f" (+{len(violations) - 1} more)" if len(violations) > 1 else ""
    return f"{event.get('method')} {event['path']}: {first}{more}"


def _drift_message(event: dict, drift: list) -> str:
    """`GET /users/1 → 200: $.email: 'x' is not a 'email' (+2 more)`: the first violation of a
    live answer that no longer fits the endpoint's learned response."""
    listed = [v for v in drift if isinstance(v, dict) and "more" not in v]
    unlisted = sum(int(v.get("more") or 0) for v in drift if isinstance(v, dict))
    first = listed[0] if listed else {}
    what = f"{first.get('path', '$')}: {first.get('message', 'does not fit the schema')}"
    extra = max(0, len(listed) - 1) + unlisted
    more = f" (+{extra} more)" if extra else ""
    return f"{event.get('method')} {event.get('path')} → {event.get('status')}: {what}{more}"


# --- the whole picture -------------------------------------------------------------------------


@dataclass
class Model:
    """Everything the screens show. Feed it with `ingest` (events), `apply_endpoints`
    (snapshots) and `connected`; read it from the views. `now` is always passed in."""

    log: deque = field(default_factory=lambda: deque(maxlen=LOG_SIZE))
    endpoints: dict[str | None, EndpointView] = field(default_factory=dict)
    alerts: OrderedDict = field(default_factory=OrderedDict)
    received: int = 0  # request events taken in
    numbered: int = 0  # the dashboard's own event numbers, unique across server restarts
    generation: int = 0  # +1 for every new server process seen
    last_id: int = 0  # the server's id of the newest request event taken in
    dropped: int = 0  # events the server says this subscriber missed
    sampled: int = 0  # ordinary requests the server left out of the stream, as asked
    malformed: int = 0  # stream lines skipped
    reloads: int = 0
    reload_error: str | None = None
    server_started: float | None = None  # when the host process started (epoch seconds)
    snapshot_at: float | None = None  # monotonic time of the last endpoints snapshot
    log_dirty: bool = True
    endpoints_dirty: bool = True
    alerts_dirty: bool = True

    # connection ----------------------------------------------------------------------------

    def connected(self, health: dict, wall: float) -> bool:
        """Note a (re)connection; True when it is another server process than before, whose
        ids and counters start again."""
        started = health.get("started")
        if isinstance(started, int | float):
            same = started == self.server_started
        else:  # a host that does not say when it started: judged by its uptime
            started = wall - float(health.get("uptime_s") or 0)
            same = self.server_started is not None and abs(started - self.server_started) < 1.0
        self.server_started = started
        if same:
            return False
        self.generation += 1
        self.last_id = 0
        self.snapshot_at = None
        for view in self.endpoints.values():
            view.rates.clear()
            view.windows.clear()
        return True

    # events --------------------------------------------------------------------------------

    def ingest(self, events: list[dict], malformed: int = 0) -> None:
        """Take in a batch of stream events (requests, drops, reloads)."""
        self.malformed += malformed
        for event in events:
            kind = event.get("type", "request")
            if kind == "request":
                self._request(event)
            elif kind == "dropped":
                self.dropped += int(event.get("count") or 0)
            elif kind == "sampled":
                self.sampled += int(event.get("skipped") or 0)
            elif kind == "reload":
                self.reloads += 1
                self.reload_error = None if event.get("ok") else event.get("error")
                self.endpoints_dirty = True

    def seed(self, requests: list[dict]) -> None:
        """Take in the server's journal, as if its requests had come as events."""
        for row in requests:
            self._request({"type": "request", **row})

    def _request(self, event: dict) -> None:
        ident = event.get("id")
        if isinstance(ident, int):
            if ident <= self.last_id:
                return  # already taken in, from the journal or the stream
            self.last_id = ident
        self.numbered += 1
        event["_n"] = self.numbered
        event["_gen"] = self.generation
        self.received += 1
        self.log.append(event)
        self.log_dirty = True
        name = event.get("endpoint")
        view = self.endpoints.get(name)
        if view is None:
            view = self.endpoints[name] = EndpointView(name, mode=event.get("mode"))
            self.endpoints_dirty = True
        latency = event.get("latency_ms")
        stamp = event.get("time") or 0.0
        if isinstance(latency, int | float):
            threshold = view.threshold_ms
            if threshold is not None and latency > threshold:
                self._alert(
                    "latency",
                    view.label,
                    name,
                    f"{event.get('method')} {event.get('path')} took {format_ms(latency)}; "
                    f"p95 is {format_ms(view.p95)}",
                    event,
                )
            view.latencies.append(latency)
            view.since_threshold += 1
            if view.since_threshold >= THRESHOLD_EVERY:
                view.update_percentiles()
            self.endpoints_dirty = True
        how = event.get("how")
        if how == "miss":
            self._alert(
                "miss",
                f"{name}:{event.get('method')} {event.get('path')}",
                name,
                _miss_message(event),
                event,
            )
        elif how == "not_found" and name is None:
            allowed = (event.get("detail") or {}).get("allowed")
            what = f"no endpoint answers {event.get('method')} {event.get('path')}"
            if allowed:
                what += f" (the path takes {', '.join(allowed)})"
            self._alert("unknown", f"{event.get('method')} {event.get('path')}", None, what, event)
        elif how == "invalid" and (event.get("detail") or {}).get("violations"):
            self._alert("schema", view.label, name, _schema_message(event), event)
        drift = (event.get("detail") or {}).get("drift")
        if drift and isinstance(drift, list):
            self._alert("drift", view.label, name, _drift_message(event, drift), event)
        if is_error(event):
            times = view.error_times
            times.append(stamp)
            if len(times) == BURST_ERRORS and times[-1] - times[0] <= BURST_SECONDS:
                self._alert(
                    "burst",
                    view.label,
                    name,
                    f"{BURST_ERRORS} errors within {times[-1] - times[0]:.1f} s "
                    f"(last: {event.get('status') or 'connection dropped'} on "
                    f"{event.get('method')} {event.get('path')})",
                    event,
                )
                times.clear()

    def _alert(self, kind: str, key: str, endpoint: str | None, message: str, event: dict) -> None:
        stamp = event.get("time") or 0.0
        alert = self.alerts.get((kind, key))
        if alert is None:
            if len(self.alerts) >= MAX_ALERTS:
                self.alerts.popitem(last=False)
            alert = self.alerts[(kind, key)] = Alert(kind, key, endpoint, message, stamp, stamp)
        else:
            alert.count += 1
            alert.last, alert.message = stamp, message
            self.alerts.move_to_end((kind, key))
        alert.example = event["_n"]
        self.alerts_dirty = True

    # snapshots -----------------------------------------------------------------------------

    def apply_endpoints(self, rows: list[dict], now: float) -> None:
        """Take in GET /__backworks/endpoints at monotonic time `now`: modes and counters as
        the server has them, and req/s from the change of each endpoint's hits since the
        previous snapshot."""
        elapsed = now - self.snapshot_at if self.snapshot_at is not None else None
        seen = set()
        for row in rows:
            name = row.get("name")
            seen.add(name)
            view = self.endpoints.get(name)
            if view is None:
                view = self.endpoints[name] = EndpointView(name)
            hits, errors = int(row.get("hits") or 0), int(row.get("errors") or 0)
            if elapsed and elapsed > 0:
                new_hits = hits - view.hits if hits >= view.hits else hits
                new_errors = errors - view.errors if errors >= view.errors else errors
                view.rates.append(new_hits / elapsed)
                view.windows.append((new_hits, new_errors))
            view.path = row.get("path")
            view.methods = tuple(row.get("methods") or ())
            view.mode = row.get("mode")
            view.record = row.get("record")
            view.recordings = int(row.get("recordings") or 0)
            view.hits, view.errors = hits, errors
            view.misses = int(row.get("misses") or 0)
            view.generated = int(row.get("generated") or 0)
        for name in [n for n in self.endpoints if n not in seen and n is not None]:
            del self.endpoints[name]  # gone from backworks.yaml
        self.snapshot_at = now
        self.endpoints_dirty = True

    # views ---------------------------------------------------------------------------------

    def visible_log(self, terms: list[tuple[str | None, str]]) -> list:
        """The kept events matching the filter terms, oldest first."""
        if not terms:
            return list(self.log)
        return [event for event in self.log if event_matches(event, terms)]

    def event(self, number: int) -> dict | None:
        """The logged event with the dashboard's number `number`, while it is kept."""
        for event in reversed(self.log):
            if event["_n"] == number:
                return event
            if event["_n"] < number:
                return None
        return None

    def update_percentiles(self) -> None:
        """p50 and p95 of every endpoint with samples taken in since they were computed."""
        for view in self.endpoints.values():
            if view.since_threshold:
                view.update_percentiles()

    def sorted_endpoints(self, column: str) -> list[EndpointView]:
        views = list(self.endpoints.values())
        if column in ("name", "mode"):
            return sorted(views, key=lambda v: (getattr(v, column) is None, v.label, v.mode or ""))
        return sorted(views, key=lambda v: (-(getattr(v, column) or 0), v.name is None, v.label))

    def total_rate(self) -> float | None:
        rates = [v.rate for v in self.endpoints.values() if v.rate is not None]
        return sum(rates) if rates else None
