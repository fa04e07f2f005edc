"""The admin API every backworks host answers under /__backworks/.

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

Who may ask is decided by host/admin_access.py (the token, loopback, Host and Origin, JSON
only for POST; see there). What a POST may send is bounded: MAX_BODY bytes, JSON nested at
most MAX_JSON_DEPTH deep, a promotion seeding at most `server.admin_max_rows` rows. Every
refusal is a 4xx with a JSON body that says why. Paths, queries, details, headers and bodies
are shown with their secrets redacted (host/scrub.py).

What the resources read is counted by stats.Stats; a host hands itself in as `AdminHost`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

from backworks_cli.core.asgi import Receive, Scope, Send, read_body
from backworks_cli.core.errors import BackworksError
from backworks_cli.host.admin_access import AdminAccess
from backworks_cli.host.stats import (
    KEEP_BODY,
    ZERO,
    Subscriber,
    dumps,
    render_metrics,
    verify_count,
)

if TYPE_CHECKING:
    from pathlib import Path

    from backworks_cli.host.stats import Stats


class AdminHost(Protocol):
    """What the admin API reads of the host it answers for (the mock host, serve's host and
    capture's). A host that forwards may also have `set_recording(endpoint, record)`."""

    stats: Stats
    access: AdminAccess
    config_path: Path | None
    reload_error: str | None
    admin_max_rows: int  # the most rows a promotion through the admin API may seed

    def endpoints(self) -> list[dict]: ...

    def reset(self) -> None: ...

    async def reload_if_changed(self) -> bool | None: ...


PREFIX = "/__backworks/"


REQUESTS_LIMIT = 1000  # requests /requests lists when not given ?limit=N
MAX_BODY = 1024 * 1024  # bytes an admin request may send; more gets 413 unread
MAX_JSON_DEPTH = 16  # how deep the JSON of an admin request may nest
MAX_ID_DIGITS = 18  # ?id=N longer than this is no request of the journal
PROMOTE_KEYS = ("endpoint", "to", "upstream", "language", "rows")


QUEUE_SIZE = 512  # events a slow /events subscriber may lag behind before events are dropped
HEARTBEAT = 15.0  # seconds of silence after which an event stream gets a comment line
EVENT_BATCH = 0.01  # seconds an event stream waits after a request, to send more in one chunk
# Seconds a sampling (?ordinary=N) stream gathers events before it sends them: it feeds a
# screen, and fewer, larger chunks cost the host and the reader less under heavy load. The
# journal is still read every EVENT_BATCH, so no notable request slips out of it meanwhile.
SAMPLED_FLUSH = 0.1


_JSON = [(b"content-type", b"application/json")]


def dumps_line(data: Any) -> bytes:
    """JSON data as the admin API sends it: one line."""
    return dumps(data).encode("utf-8", "surrogateescape") + b"\n"


async def send_json(send: Send, status: int, data: Any, headers: list | None = None) -> None:
    body = dumps_line(data)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON, (b"content-length", b"%d" % len(body)), *(headers or ())],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- the resources -----------------------------------------------------------------------


async def answer(
    host: AdminHost, scope: Scope, receive: Receive, send: Send, name: str, main_port: bool = True
) -> None:
    """Answer the admin request for resource `name` (the path after /__backworks/), or refuse
    it (see admin_access). `main_port` is False when it came to the admin API's own address."""
    refused = refusal(host, scope, name, main_port)
    if refused is not None:
        await send_json(send, *refused)
        return
    await ROUTES[name.strip("/")][1](host, scope, receive, send)


def refusal(
    host: AdminHost, scope: Scope, name: str, main_port: bool
) -> tuple[int, dict, list] | None:
    """Why the admin request for `name` is not answered, as (status, JSON, headers); None
    when it is. No CORS: OPTIONS is a method no resource answers."""
    access = host.access
    refused = access.refuse_origin(scope, main_port)
    if refused is not None:
        return refused
    name = name.strip("/")
    route = ROUTES.get(name)
    if route is None:
        return (
            404,
            {
                "error": f"no admin resource {PREFIX}{name}",
                "resources": [f"{PREFIX}{n}" for n in ROUTES],
            },
            [],
        )
    methods = route[0]
    if scope["method"] not in methods:
        return (
            405,
            {"error": f"{PREFIX}{name} answers {', '.join(methods)}"},
            [(b"allow", ", ".join(methods).encode())],
        )
    return access.refuse_request(scope, main_port)


def _query(scope: Scope) -> dict[str, str]:
    return dict(parse_qsl(scope["query_string"].decode("latin-1")))


async def _health(host: AdminHost, scope: Scope, receive: Receive, send: Send) -> None:
    await send_json(
        send,
        200,
        {
            "status": "ok",
            "started": host.stats.started_wall,  # also tells one process from the next
            "uptime_s": round(time.perf_counter() - host.stats.started_perf, 3),
            "endpoints": len(host.endpoints()),
            "config": str(host.config_path) if host.config_path else None,
            "reloads": dict(host.stats.reloads),
            "reload_error": host.reload_error,
        },
    )


async def _endpoints(host: AdminHost, scope: Scope, receive: Receive, send: Send) -> None:
    counts = host.stats.per_endpoint()
    rows = [{**ep, **counts.get(ep["name"], ZERO)} for ep in host.endpoints()]
    if None in counts:  # requests no endpoint answered
        rows.append(
            {"name": None, "path": None, "methods": [], "mode": None, "recordings": 0}
            | counts[None]
        )
    await send_json(send, 200, {"endpoints": rows})


async def _requests(host: AdminHost, scope: Scope, receive: Receive, send: Send) -> None:
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


def _message(kept: tuple[tuple, bytes] | None) -> dict | None:
    """A request's or response's (headers, body) as JSON data: headers as pairs, the body as
    text when it is UTF-8, else base64."""
    if kept is None:
        return None
    headers, body = kept
    try:
        data = {"headers": [list(pair) for pair in headers], "body": body.decode()}
    except UnicodeDecodeError:
        data = {"headers": [list(pair) for pair in headers]}
        data["body_base64"] = base64.b64encode(body).decode("ascii")
    return data


async def _exchange(host: AdminHost, scope: Scope, receive: Receive, send: Send) -> None:
    text = _query(scope).get("id", "")
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_ID_DIGITS:
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
        request, response = stats.messages[at]
        scrub = stats.scrub
        data["request"] = _message(None if request is None else scrub.request(row.method, request))
        data["response"] = _message(
            None if response is None else scrub.response(row.status, response)
        )
        if request is None or response is None:
            data["note"] = f"bodies over {KEEP_BODY} bytes are not kept, nor the messages with them"
    await send_json(send, 200, data)


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)  # a JSON string literal
_BRACKET = re.compile(rb"[\[\]{}]")


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects more than `limit` deep (strings skipped)."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(b"", body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


async def read_json(scope: Scope, receive: Receive, send: Send) -> dict | None:
    """The request's JSON object ({} for an empty body); None once a 4xx has been sent or the
    client went away. Over MAX_BODY bytes is 413, unread."""
    length = next((v for k, v in scope.get("headers") or () if k == b"content-length"), None)
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        await _too_large(send)
        return None
    body = await read_body(receive, MAX_BODY)
    if body is False:
        return None
    if body is None:
        await _too_large(send)
        return None
    if not body.strip():
        return {}
    if too_deep(body):
        await send_json(send, 400, {"error": f"the JSON nests more than {MAX_JSON_DEPTH} deep"})
        return None
    try:
        data = json.loads(body)
    except ValueError as exc:
        await send_json(send, 400, {"error": f"the body is not JSON: {exc}"})
        return None
    if not isinstance(data, dict):
        await send_json(send, 400, {"error": "the body must be a JSON object"})
        return None
    return data


async def _too_large(send: Send) -> None:
    await send_json(
        send,
        413,
        {"error": "the admin request's body is too large", "limit_bytes": MAX_BODY},
        [(b"connection", b"close")],
    )


async def _json_object(
    scope: Scope, receive: Receive, send: Send, needs: tuple[str, ...], shape: str
) -> dict | None:
    """The request's JSON object with a non-empty string under every key of `needs`; None
    once a 4xx has been sent."""
    data = await read_json(scope, receive, send)
    if data is None:
        return None
    if not all(isinstance(data.get(key), str) and data[key] for key in needs):
        await send_json(send, 400, {"error": f"send {shape}"})
        return None
    return data


def _promote_problem(data: dict, max_rows: int) -> str | None:
    """What is wrong with a promote request's options, if anything."""
    unknown = sorted(set(data) - set(PROMOTE_KEYS))
    if unknown:
        return f"unknown key(s) {', '.join(map(repr, unknown))}; promote takes {PROMOTE_KEYS}"
    for key in ("upstream", "language"):
        if data.get(key) is not None and not isinstance(data[key], str):
            return f"{key} must be a string"
    rows = data.get("rows")
    if rows is not None:
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            return f"rows must be a whole number from 0, not {rows!r}"
        if rows > max_rows:
            return (
                f"rows {rows} is over the admin API's limit of {max_rows} "
                "(server.admin_max_rows in backworks.yaml)"
            )
    return None


async def _promote(host: AdminHost, scope: Scope, receive: Receive, send: Send) -> None:
    data = await _json_object(
        scope, receive, send, ("endpoint", "to"), '{"endpoint": NAME, "to": MODE}'
    )
    if data is None:
        return
    problem = _promote_problem(data, host.admin_max_rows)
    if problem is not None:
        await send_json(send, 400, {"error": problem})
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


async def _record(host: AdminHost, scope: Scope, receive: Receive, send: Send) -> None:
    shape = '{"endpoint": NAME, "record": true|false} (without "record": the other way round)'
    data = await _json_object(scope, receive, send, ("endpoint",), shape)
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


async def _metrics(host: AdminHost, scope: Scope, receive: Receive, send: Send) -> None:
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


async def _reset(host: AdminHost, scope: Scope, receive: Receive, send: Send) -> None:
    if await read_json(scope, receive, send) is None:
        return
    host.reset()
    await send_json(send, 200, {"status": "ok", "reset": True})


async def _verify(host: AdminHost, scope: Scope, receive: Receive, send: Send) -> None:
    criteria: dict[str, Any] = _query(scope)
    if scope["method"] == "POST":
        data = await read_json(scope, receive, send)
        if data is None:
            return
        odd = [
            k
            for k, v in data.items()
            if isinstance(v, bool) or not (v is None or isinstance(v, str | int))
        ]
        if odd:
            error = f"criteria are strings or numbers, not as in {', '.join(map(repr, odd))}"
            await send_json(send, 400, {"error": error})
            return
        criteria.update(
            {k: str(v) if isinstance(v, int) and k != "status" else v for k, v in data.items()}
        )
    try:
        count = verify_count(host.stats, criteria)
    except ValueError as exc:
        await send_json(send, 400, {"error": str(exc)})
        return
    await send_json(
        send, 200, {"count": count, "criteria": criteria, "journal": len(host.stats.journal)}
    )


async def _events(host: AdminHost, scope: Scope, receive: Receive, send: Send) -> None:
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
