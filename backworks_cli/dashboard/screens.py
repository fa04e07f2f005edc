"""The dashboard's pop-up screens: one exchange in detail, the mode picker, the keys, and the
notice shown when the terminal is too small."""

from __future__ import annotations

import json
from datetime import tzinfo
from typing import Any, ClassVar

from rich.console import Group
from rich.json import JSON
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.events import Resize
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from backworks_cli.dashboard.model import HOW_LABELS, format_ms, format_time

MODES = {
    "replay": "the recorded response that matches",
    "mock": "recordings first, then generated data",
    "proxy": "forwarded to the upstream",
    "runtime": "your handler (a Python file is made)",
    "database": "CRUD on a SQLite table, seeded",
}

# Every key, by where it works; the help screen lists this.
KEYS = [
    ("Everywhere", [("q", "quit"), ("?", "this help"), ("1 2 3", "log, endpoints, alerts")]),
    (
        "Actions",
        [
            ("p", "promote or demote the selected endpoint (opens the mode picker)"),
            ("r", "reset the mock's state (counters and journal are kept)"),
            ("t", "record, or stop recording, what the selected proxy endpoint forwards (serve)"),
        ],
    ),
    (
        "Request log",
        [
            ("/", "filter: words, or field:value for method path endpoint mode how status"),
            ("escape", "clear the filter"),
            ("space", "pause or resume the log (counting goes on)"),
            ("enter", "the selected request in detail"),
            ("↑ ↓ pgup pgdn", "move in the log; home and end jump"),
        ],
    ),
    ("Endpoints", [("s", "sort by the next column"), ("enter", "open the mode picker")]),
    ("Alerts", [("enter", "the request behind the alert, while the log keeps it")]),
    ("Detail, help, picker", [("escape", "close"), ("↑ ↓", "scroll or choose")]),
    ("Mouse", [("click", "tabs, rows, the keys in the footer; scroll wheel scrolls")]),
]


class HelpScreen(ModalScreen[None]):
    AUTO_FOCUS = "VerticalScroll"
    BINDINGS: ClassVar = [Binding("escape,q,question_mark", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        parts: list[Any] = []
        for number, (section, keys) in enumerate(KEYS):
            parts.append(Text(("\n" if number else "") + section, style="bold underline"))
            table = Table.grid(padding=(0, 2))
            table.add_column(style="bold cyan", no_wrap=True, width=13)
            table.add_column()
            for key, what in keys:
                table.add_row(key, what)
            parts.append(table)
        scroll = VerticalScroll(Static(Group(*parts)))
        scroll.border_title = "Keys"
        scroll.border_subtitle = "escape to close"
        yield scroll


class ModePicker(ModalScreen[str | None]):
    """Choose the mode to move an endpoint to; dismisses with the mode or None."""

    AUTO_FOCUS = "OptionList"

    BINDINGS: ClassVar = [Binding("escape", "dismiss(None)", "Cancel")]
    DEFAULT_CSS = """
    ModePicker { align: center middle; }
    ModePicker > Vertical {
        width: 62; max-width: 100%; height: auto;
        border: round $accent; background: $surface;
    }
    ModePicker OptionList { height: auto; border: none; }
    ModePicker Static { padding: 0 1; }
    """

    def __init__(self, endpoint: str, current: str | None):
        super().__init__()
        self.endpoint = endpoint
        self.current = current

    def compose(self) -> ComposeResult:
        options = [
            Option(
                Text.assemble(
                    (f"{mode:<9}", "bold"),
                    (" (now)" if mode == self.current else "      ", "dim"),
                    f" {what}",
                ),
                id=mode,
                disabled=mode == self.current,
            )
            for mode, what in MODES.items()
        ]
        box = Vertical(
            Static(f"Move {self.endpoint} (now {self.current or 'unknown'}) to:"),
            OptionList(*options),
            Static(Text("enter to promote, escape to cancel", style="dim")),
        )
        box.border_title = "Promote"
        yield box

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class TooSmall(Screen[None]):
    """Shown instead of the dashboard while the terminal is smaller than it needs."""

    BINDINGS: ClassVar = [Binding("q", "app.quit", "Quit")]
    DEFAULT_CSS = """
    TooSmall { align: center middle; }
    TooSmall Static { width: auto; height: auto; text-align: center; }
    """

    def __init__(self, needed: tuple[int, int]):
        super().__init__()
        self.needed = needed

    def compose(self) -> ComposeResult:
        yield Static(id="too-small")

    def on_mount(self) -> None:
        self.check(self.app.size.width, self.app.size.height)

    def on_resize(self, event: Resize) -> None:
        self.check(event.size.width, event.size.height)

    def check(self, width: int, height: int) -> None:
        need_w, need_h = self.needed
        if width >= need_w and height >= need_h:
            if self.is_current:
                self.dismiss()
            return
        self.query_one("#too-small", Static).update(
            f"The terminal is {width}×{height};\nthe dashboard needs {need_w}×{need_h}."
            "\n\nMake the window larger (q quits)."
        )


# --- one exchange ------------------------------------------------------------------------------


class ExchangeLoaded(Message):
    def __init__(self, data: dict | None, error: str | None):
        super().__init__()
        self.data = data
        self.error = error


def _pretty_body(message: dict) -> Any:
    if "body_base64" in message:
        return Text(f"({len(message['body_base64']) * 3 // 4} bytes of binary data)", "dim")
    body = message.get("body") or ""
    if not body:
        return Text("(empty body)", style="dim")
    try:
        return JSON.from_data(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return Text(body)


def _headers(message: dict) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for name, value in message.get("headers") or []:
        table.add_row(f"{name}:", value)
    return table


def miss_lines(detail: dict) -> Text:
    """A miss's nearest recordings, each with ✓/✗ per matcher and why; under a failed matcher,
    the recording's lines ("-", red) against the request's ("+", green)."""
    text = Text()
    nearest = detail.get("nearest") or []
    if not nearest:
        text.append("No recording of this endpoint comes close.\n", style="dim")
    for candidate in nearest:
        score = candidate.get("score")
        text.append(
            f"#{candidate.get('id')} {candidate.get('method')} {candidate.get('target')}",
            style="bold",
        )
        if score is not None:
            text.append(f"  {score:.0%} of matchers agree", style="dim")
        text.append("\n")
        for matcher in candidate.get("matchers") or []:
            ok = matcher.get("ok")
            text.append("  ✓ " if ok else "  ✗ ", style="green" if ok else "bold red")
            text.append(f"{matcher.get('name')}: ", style="bold")
            text.append(f"{matcher.get('why')}\n", style="" if ok else "red")
            for line in matcher.get("diff") or []:
                text.append(f"      {line}\n", style=_DIFF_STYLES.get(line[:1], "dim"))
    return text


_DIFF_STYLES = {"-": "red", "+": "green"}


def drift_lines(drift: list) -> Text:
    """A drifted answer's violations, one ✗ line each."""
    text = Text("The answer no longer fits the endpoint's learned response:\n")
    for violation in drift:
        if not isinstance(violation, dict):
            text.append(f"  ✗ {violation}\n", style="red")
        elif "more" in violation:
            text.append(f"  … {violation.get('message')}\n", style="dim")
        else:
            text.append(f"  ✗ {violation.get('path')}: {violation.get('message')}\n", style="red")
    return text


def explanation(event: dict) -> Any:
    """Why the host answered as it did, from the event's detail, or None."""
    detail = event.get("detail")
    how = event.get("how")
    if not detail:
        return None
    if how == "miss":
        return miss_lines(detail)
    if how == "not_found":
        if detail.get("allowed"):
            return Text(f"The path exists but takes {', '.join(detail['allowed'])}.")
        closest = detail.get("closest") or []
        text = Text("No endpoint's path matches.")
        if closest:
            text.append(" Closest endpoint paths: " + ", ".join(closest))
        return text
    if how == "invalid" and detail.get("violations"):
        text = Text("The request does not fit the endpoint's schema:\n")
        for violation in detail["violations"]:
            text.append(f"  ✗ {violation}\n", style="red")
        return text
    if isinstance(detail.get("drift"), list):
        rest = {k: v for k, v in detail.items() if k != "drift"}
        lines = drift_lines(detail["drift"])
        return Group(lines, JSON.from_data(rest, indent=2, ensure_ascii=False)) if rest else lines
    return JSON.from_data(detail, indent=2, ensure_ascii=False)


def summary(event: dict, tz: tzinfo | None) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    target = event.get("path", "") + (f"?{event['query']}" if event.get("query") else "")
    how = event.get("how") or ""
    rows = [
        ("request", f"{event.get('method')} {target}"),
        ("status", str(event.get("status") or "connection dropped")),
        (
            "answered",
            f"{HOW_LABELS.get(how, how)} by {event.get('endpoint') or 'no endpoint'}"
            f" ({event.get('mode') or 'no mode'})",
        ),
        ("latency", format_ms(event.get("latency_ms"))),
        ("time", format_time(event.get("time"), tz)),
    ]
    if event.get("fault"):
        rows.append(("fault", str(event["fault"])))
    if event.get("id") is not None:
        rows.append(("id", str(event["id"])))
    for name, value in rows:
        table.add_row(name, value)
    return table


class DetailScreen(ModalScreen[None]):
    """One exchange: what was asked, how it was answered and why, headers and bodies (fetched
    from the host's journal while it still keeps them)."""

    AUTO_FOCUS = "VerticalScroll"

    BINDINGS: ClassVar = [Binding("escape,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    DetailScreen { align: center middle; }
    DetailScreen > VerticalScroll {
        width: 100%; height: 100%; border: round $accent; background: $surface; padding: 0 1;
    }
    DetailScreen .section { text-style: bold; color: $accent; margin-top: 1; }
    """

    def __init__(self, event: dict, tz: tzinfo | None, fetch: Any = "not fetched"):
        super().__init__()
        self.event = event
        self.tz = tz
        self.fetch = fetch  # async (id) -> dict, or why the exchange cannot be fetched
        self.exchange = Static(id="exchange")

    def compose(self) -> ComposeResult:
        parts: list[Any] = [Static(summary(self.event, self.tz))]
        why = explanation(self.event)
        if why is not None:
            title = "Nearest recordings" if self.event.get("how") == "miss" else "Why"
            parts += [Static(title, classes="section"), Static(why, id="why")]
        parts.append(self.exchange)
        scroll = VerticalScroll(*parts)
        scroll.border_title = f"{self.event.get('method')} {self.event.get('path')}"
        scroll.border_subtitle = "escape to close"
        yield scroll

    def on_mount(self) -> None:
        if "request" in self.event or "response" in self.event:
            self.show(self.event, None)
        elif isinstance(self.fetch, str) or self.event.get("id") is None:
            self.show(None, self.fetch if isinstance(self.fetch, str) else "not journaled")
        else:
            self.exchange.update(Text("\nloading headers and bodies…", style="dim"))
            self.load()

    @work(exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        try:
            data = await self.fetch(self.event["id"])
        except Exception as error:  # Offline or ActionFailed: shown, not raised
            self.post_message(ExchangeLoaded(None, str(error)))
        else:
            self.post_message(ExchangeLoaded(data, None))

    def on_exchange_loaded(self, message: ExchangeLoaded) -> None:
        self.show(message.data, message.error)

    def show(self, data: dict | None, error: str | None) -> None:
        if data is None:
            self.exchange.update(Text(f"\nHeaders and bodies: {error}.", style="dim"))
            return
        parts: list[Any] = []
        for title, key in (("Request", "request"), ("Response", "response")):
            message = data.get(key)
            parts.append(Text(f"\n{title}", style="bold"))
            if message is None:
                parts.append(Text(data.get("note") or "not kept", style="dim"))
                continue
            parts += [_headers(message), Text(""), _pretty_body(message)]
        self.exchange.update(Group(*parts))
