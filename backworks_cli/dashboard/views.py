"""Rows of the dashboard's tables, from the model: fixed-width cells that fit the terminal,
coloured by meaning. Plain functions; the app's tables draw them."""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text

from backworks_cli.dashboard.model import (
    ALERT_LABELS,
    HOW_LABELS,
    NO_ENDPOINT,
    Alert,
    EndpointView,
    format_ms,
    format_rate,
    format_time,
    sparkline,
)

HOW_STYLES = {
    "replayed": "green",
    "generated": "cyan",
    "state": "cyan",
    "proxied": "blue",
    "proxy": "blue",
    "proxy_error": "bold red",
    "handler": "magenta",
    "database": "magenta",
    "miss": "bold red",
    "not_found": "red",
    "invalid": "yellow",
    "fault": "yellow",
    "handler_error": "bold red",
    "error": "bold red",
}
ALERT_STYLES = {
    "miss": "red",
    "unknown": "red",
    "schema": "yellow",
    "drift": "bold yellow",
    "latency": "magenta",
    "burst": "bold red",
}


def fit(text: str, width: int, right: bool = False) -> str:
    """`text` cut to `width` (with …) and padded, after one space of separation."""
    if len(text) > width:
        text = text[: max(0, width - 1)] + "…"
    return " " + (text.rjust(width) if right else text.ljust(width))


def _status_style(status: int | None) -> str:
    if not status:
        return "bold red"
    if status >= 500:
        return "bold red"
    if status >= 400:
        return "yellow"
    return "green"


# --- the request log ---------------------------------------------------------------------------


def log_columns(width: int) -> list[tuple[str, int, bool]]:
    """(label, width, right-aligned) of the log's columns for a table `width` cells wide."""
    clock = 12 if width >= 100 else 8
    fixed = [("Method", 6, False), ("Mode", 8, False), ("St", 3, True)]
    fixed += [("Latency", 7, True), ("How", 9, False)]
    used = clock + sum(w for _, w, _ in fixed) + 7 + 2  # a space per column, the scrollbar
    free = max(20, width - used)
    path = max(10, free * 11 // 20)
    return [
        ("Time", clock, False),
        fixed[0],
        ("Path", path, False),
        ("Endpoint", free - path - 1, False),
        *fixed[1:],
    ]


def log_row(event: dict, columns: list[tuple[str, int, bool]], tz: tzinfo | None) -> list:
    widths = [w for _, w, _ in columns]
    clock = format_time(event.get("time"), tz)
    if widths[0] < 12:
        clock = clock[:8]
    path = event.get("path") or ""
    if event.get("query"):
        path += "?" + event["query"]
    how = event.get("how") or ""
    status = event.get("status")
    return [
        fit(clock, widths[0]),
        fit(event.get("method") or "", widths[1]),
        fit(path, widths[2]),
        fit(event.get("endpoint") or "–", widths[3]),
        fit(event.get("mode") or "–", widths[4]),
        Text(fit(str(status or "—"), widths[5], True), style=_status_style(status)),
        fit(format_ms(event.get("latency_ms")), widths[6], True),
        Text(fit(HOW_LABELS.get(how, how), widths[7]), style=HOW_STYLES.get(how, "")),
    ]


# --- endpoints ---------------------------------------------------------------------------------


def endpoint_columns(width: int) -> list[tuple[str, int, bool]]:
    trend = 10 if width >= 100 else 6
    fixed = [
        ("Mode", 8, False),
        ("Req/s", 6, True),
        ("Trend", trend, False),
        ("p50 ms", 6, True),
        ("p95 ms", 6, True),
        ("Err%", 5, True),
        ("Hits", 7, True),
        ("Miss", 6, True),
    ]
    used = sum(w for _, w, _ in fixed) + len(fixed) + 1 + 2
    return [("Endpoint", max(12, width - used), False), *fixed]


def _ms(value: float | None) -> str:
    text = format_ms(value)
    return text.removesuffix(" ms") if text.endswith(" ms") else text


def mode_label(view: EndpointView) -> str:
    """The endpoint's mode, marked ● while a proxy endpoint records what it forwards."""
    mode = view.mode or "–"
    return f"{mode} ●" if view.record else mode


def endpoint_row(view: EndpointView, columns: list[tuple[str, int, bool]]) -> list:
    widths = [w for _, w, _ in columns]
    rate = view.error_rate
    errors = "–" if rate is None else f"{rate:.0%}" if rate >= 0.01 or rate == 0 else "<1%"
    name = view.label
    return [
        Text(fit(name, widths[0]), style="dim" if name == NO_ENDPOINT else ""),
        Text(fit(mode_label(view), widths[1]), style="bold"),
        fit(format_rate(view.rate), widths[2], True),
        Text(fit(sparkline(view.rates, widths[3]), widths[3], True), style="cyan"),
        fit(_ms(view.p50), widths[4], True),
        fit(_ms(view.p95), widths[5], True),
        Text(fit(errors, widths[6], True), style="red" if rate else ""),
        fit(f"{view.hits:,}", widths[7], True),
        Text(fit(f"{view.misses:,}", widths[8], True), style="red" if view.misses else ""),
    ]


# --- alerts ------------------------------------------------------------------------------------


def alert_columns(width: int) -> list[tuple[str, int, bool]]:
    fixed = [("Kind", 12, False), ("Count", 6, True), ("Last", 8, False)]
    used = sum(w for _, w, _ in fixed) + 4 + 2
    free = max(30, width - used)
    where = min(24, free // 3)
    return [fixed[0], ("Where", where, False), fixed[1], fixed[2], ("What", free - where, False)]


def alert_row(alert: Alert, columns: list[tuple[str, int, bool]], tz: tzinfo | None) -> list:
    widths = [w for _, w, _ in columns]
    return [
        Text(
            fit(ALERT_LABELS.get(alert.kind, alert.kind), widths[0]),
            style=ALERT_STYLES.get(alert.kind, ""),
        ),
        fit(alert.endpoint or alert.key, widths[1]),
        fit(f"{alert.count:,}", widths[2], True),
        fit(format_time(alert.last, tz)[:8], widths[3]),
        fit(alert.message, widths[4]),
    ]


def header(columns: list[tuple[str, int, bool]]) -> list[str]:
    return [fit(label, width, right) for label, width, right in columns]
