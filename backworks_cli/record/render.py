"""Text for the `recordings` commands: a table of exchanges, one exchange in full, statistics.

Functions return strings (ending in a newline); cli.py prints them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime

from backworks_cli.core.exchange import Exchange, Message, body_text

PATH_WIDTH = 60  # longest path+query shown in a table before it is shortened


def _time(ts: float | None, *, ms: bool = False) -> str:
    if ts is None:
        return "-"
    try:
        moment = datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):
        return "-"
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{moment.microsecond // 1000:03d}" if ms else text


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    for unit in ("KB", "MB", "GB"):
        n /= 1024
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}"
    return f"{n:.1f} GB"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: set[int]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        cells = (
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        return "  ".join(cells).rstrip()

    return "".join(line(row) + "\n" for row in [header, *rows])


def exchanges_table(rows: Iterable[Exchange]) -> str:
    """One line per exchange: id, start time (UTC), session, method, path, status, ms, size."""
    lines = []
    for ex in rows:
        resp = ex.response
        status = str(resp.status) if resp else ("ERR" if ex.error else "-")
        lines.append(
            (
                str(ex.id if ex.id is not None else "-"),
                _time(ex.started_at),
                ex.session,
                ex.request.method if ex.kind == "http" else f"{ex.request.method} ({ex.kind})",
                _shorten(ex.request.target, PATH_WIDTH),
                status,
                "-" if ex.duration_ms is None else f"{ex.duration_ms:.0f}",
                _size(len(resp.body)) if resp else "-",
            )
        )
    if not lines:
        return "No exchanges match.\n"
    header = ("ID", "STARTED (UTC)", "SESSION", "METHOD", "PATH", "STATUS", "MS", "SIZE")
    return _table(header, lines, right={0, 5, 6, 7})


def _body(body: bytes, content_type: str | None) -> str:
    """A body for reading: JSON pretty-printed, text as is, binary as a size and type."""
    if not body:
        return ""
    text = body_text(body, content_type)
    if text is None:
        return f"<binary: {len(body)} bytes, {content_type or 'no content-type'}>\n"
    if "json" in (content_type or "") or text.lstrip()[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return text if text.endswith("\n") else text + "\n"


def _headers(headers: tuple[tuple[str, str], ...]) -> str:
    return "".join(f"{name}: {value}\n" for name, value in headers)


def _message(m: Message) -> str:
    arrow = "->" if m.direction == "client" else "<-"
    text = m.content.decode("utf-8", "replace") if m.is_text else None
    shown = text if text is not None else f"<binary: {len(m.content)} bytes>"
    return f"  {arrow} {m.direction} {_time(m.timestamp, ms=True)}  {shown}\n"


def exchange_detail(ex: Exchange) -> str:
    """One exchange in full: request line, headers and body, then the same for the response."""
    req, resp = ex.request, ex.response
    duration = "-" if ex.duration_ms is None else f"{ex.duration_ms:.0f} ms"
    parts = [
        f"Exchange {ex.id if ex.id is not None else '-'}  session {ex.session}  {ex.kind}  "
        f"{_time(ex.started_at, ms=True)} UTC  {duration}\n\n",
        f"{req.method} {req.url} {req.http_version}\n",
        _headers(req.headers),
    ]
    if req.encoding:
        parts.append(f"(body decoded from {req.encoding})\n")
    if req.body:
        parts += ["\n", _body(req.body, req.content_type)]
    if resp is not None:
        parts.append(f"\n{resp.http_version} {resp.status} {resp.reason}".rstrip() + "\n")
        parts.append(_headers(resp.headers))
        if resp.encoding:
            parts.append(f"(body decoded from {resp.encoding})\n")
        if resp.body:
            parts += ["\n", _body(resp.body, resp.content_type)]
    else:
        parts.append("\nNo response.\n")
    if ex.error:
        parts.append(f"\nError: {ex.error}\n")
    if ex.messages:
        noun = "event" if ex.kind == "sse" else "message"
        parts.append(f"\n{len(ex.messages)} {noun}(s):\n")
        parts += [_message(m) for m in ex.messages]
    return "".join(parts)


def _counts(title: str, counts: dict[str, int]) -> str:
    if not counts:
        return ""
    width = max(len(key) for key in counts)
    count_width = max(len(str(n)) for n in counts.values())
    rows = "".join(f"  {key.ljust(width)}  {n:>{count_width}}\n" for key, n in counts.items())
    return f"\n{title}:\n{rows}"


def stats_report(stats: dict) -> str:
    """The dict from Store.stats() as text."""
    total = stats.get("total", 0)
    if not total:
        return "No exchanges match.\n"
    lines = [
        f"Exchanges: {total} ({stats.get('errors', 0)} with errors)\n",
        f"First: {_time(stats.get('first'))} UTC\n",
        f"Last:  {_time(stats.get('last'))} UTC\n",
        f"Request bodies: {_size(stats.get('request_bytes', 0))}, "
        f"response bodies: {_size(stats.get('response_bytes', 0))}\n",
    ]
    lines.append(_counts("Sessions", stats.get("sessions", {})))
    if set(stats.get("kinds", {})) - {"http"}:
        lines.append(_counts("Kinds", stats["kinds"]))
    lines.append(_counts("Methods", stats.get("methods", {})))
    lines.append(_counts("Statuses", stats.get("statuses", {})))
    endpoints = stats.get("endpoints", [])
    if endpoints:
        rows = [(e["method"], e["path"], str(e["count"])) for e in endpoints]
        table = _table(("METHOD", "PATH", "COUNT"), rows, right={2})
        lines.append("\nBusiest endpoints:\n" + "".join(f"  {x}\n" for x in table.splitlines()))
    return "".join(lines)
