"""The dashboard app. One worker talks to the host (health, the journal to start with, an
endpoints snapshot every second, the event stream) and posts messages; the handlers below own
the model and nothing else writes it. Tables are redrawn from the model on a timer, never per
event, so a busy host costs the dashboard a few dict updates per request.

`create_app` is the one way to make the app: the CLI runs it, the tests drive it with the pilot,
and snapshot tests build it without a connection and feed it the same messages the worker
posts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import tzinfo
from typing import ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import (
    ContentSwitcher,
    Footer,
    Input,
    Static,
    TabbedContent,
    TabPane,
)

from backworks_cli.dashboard import views
from backworks_cli.dashboard.client import ActionFailed, AdminClient, Offline
from backworks_cli.dashboard.messages import (
    ActionDone,
    Connected,
    Disconnected,
    EndpointsSnapshot,
    EventsReceived,
    Seeded,
    Streaming,
)
from backworks_cli.dashboard.model import (
    SEED,
    SORTS,
    Alert,
    EndpointView,
    Model,
    SSEParser,
    parse_filter,
)
from backworks_cli.dashboard.screens import DetailScreen, HelpScreen, ModePicker, TooSmall
from backworks_cli.dashboard.widgets import RowTable

REFRESH = 0.5  # seconds between redraws of the tables (2 Hz)
POLL = 1.0  # seconds between endpoints snapshots
RETRY = 2.0  # seconds before trying a lost host again
MIN_SIZE = (60, 16)  # columns and rows below which the dashboard shows a notice instead
SORT_LABELS = {
    "name": "endpoint",
    "mode": "mode",
    "rate": "req/s",
    "p50": "p50",
    "p95": "p95",
    "error_rate": "error rate",
    "hits": "hits",
    "misses": "misses",
}


# --- the app -------------------------------------------------------------------------------------


class Dashboard(App[None]):
    TITLE = "backworks dashboard"
    AUTO_FOCUS = None  # the log table takes focus once the host answers
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #title { height: 1; background: $primary-background; padding: 0 1; }
    #status { height: 1; background: $panel; padding: 0 1; }
    #main { height: 1fr; }
    #offline { padding: 1 2; height: 1fr; }
    TabbedContent { height: 1fr; }
    TabPane { padding: 0; }
    .header { height: 1; background: $panel; text-style: bold; }
    #filter { dock: bottom; display: none; height: 3; }
    #filter.shown { display: block; }
    """
    BINDINGS: ClassVar = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Keys"),
        Binding("slash", "filter", "Filter"),
        Binding("space", "pause", "Pause"),
        Binding("s", "sort", "Sort"),
        Binding("p", "promote", "Promote"),
        Binding("r", "reset", "Reset"),
        Binding("t", "record", "Record"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("1", "tab('log')", "Log", show=False),
        Binding("2", "tab('endpoints')", "Endpoints", show=False),
        Binding("3", "tab('alerts')", "Alerts", show=False),
    ]

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        connect: bool = True,
        tz: tzinfo | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        super().__init__()
        self.url = url
        self.token = token
        self.connect = connect
        self.tz = tz
        self.clock = clock
        self.wall = wall
        self.model = Model()
        self.client: AdminClient | None = None
        self.state = "connecting"  # connecting, live, retrying, offline
        self.ever_connected = False
        self.streaming = False  # subscribed to the host's events
        self.reconnected = False
        self.reason = ""
        self.paused = False
        self.held = 0  # events that came while the log was paused
        self.filter_text = ""
        self.sort = "name"
        self.endpoint_count = 0
        self._filter_changed = True
        self._poll_now = asyncio.Event()
        self._shown_size: tuple[int, int] | None = None
        self._notice = False  # the too-small notice is up
        self._shown: dict[str, str] = {}  # text of the one-line Statics, as last drawn
        self._alerts_label = "Alerts"

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        with ContentSwitcher(initial="offline", id="main"):
            yield Static(id="offline")
            with TabbedContent(id="tabs", initial="log"):
                with TabPane("Log", id="log"):
                    yield Static(id="log-header", classes="header")
                    yield RowTable(self._log_cells, id="log-table")
                with TabPane("Endpoints", id="endpoints"):
                    yield Static(id="endpoints-header", classes="header")
                    yield RowTable(self._endpoint_cells, id="endpoints-table")
                with TabPane("Alerts", id="alerts"):
                    yield Static(id="alerts-header", classes="header")
                    yield RowTable(self._alert_cells, id="alerts-table")
        yield Input(placeholder="filter: words or field:value (escape clears)", id="filter")
        yield Static(id="status")
        yield Footer()

    def _log_cells(self, event: dict) -> list:
        return views.log_row(event, self._columns["log-table"], self.tz)

    def _endpoint_cells(self, view: EndpointView) -> list:
        return views.endpoint_row(view, self._columns["endpoints-table"])

    def _alert_cells(self, alert: Alert) -> list:
        return views.alert_row(alert, self._columns["alerts-table"], self.tz)

    def on_mount(self) -> None:
        self._offline_text("connecting…")
        self._layout_tables()
        self._draw_status()
        self.set_interval(REFRESH, self.refresh_views)
        if self.connect:
            self.client = AdminClient(self.url, token=self.token)
            self.watch_host()
        self.call_after_refresh(self._check_size)

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.close()

    # --- the worker: all I/O with the host ------------------------------------------------------

    @work(exclusive=True, group="host", exit_on_error=False)
    async def watch_host(self) -> None:
        client = self.client
        assert client is not None
        while True:
            try:
                health = await client.health()
                self.post_message(Connected(health, self.wall()))
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._poll(client))
                    group.create_task(self._stream(client))
            except* Offline as errors:
                first = errors.exceptions[0]
                self.post_message(Disconnected(first.reason, first.answered, RETRY, first.refused))
            except* Exception as errors:  # an answer not shaped as the admin API's
                why = f"{self.url} gave an unexpected answer ({errors.exceptions[0]!r})"
                self.post_message(Disconnected(why, True, RETRY))
            await asyncio.sleep(RETRY)

    async def _poll(self, client: AdminClient) -> None:
        while True:
            rows = await client.endpoints()
            self.post_message(EndpointsSnapshot(rows, self.clock()))
            self._poll_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poll_now.wait(), POLL)

    async def _stream(self, client: AdminClient) -> None:
        parser = SSEParser()
        async for events in client.events(parser):
            if events is None:
                # Subscribed: the journal now holds everything before the first event (the
                # model skips ids it already has), and its message goes before any event's.
                self.post_message(Seeded(await client.requests(SEED)))
                self.post_message(Streaming())
                continue
            malformed, parser.malformed = parser.malformed, 0
            if events or malformed:
                self.post_message(EventsReceived(events, malformed))

    @work(group="actions", exit_on_error=False)
    async def perform(self, name: str, endpoint: str | None = None, to: str | None = None):
        client = self.client
        if client is None:
            self.post_message(ActionDone("Not connected to a host.", False))
            return
        try:
            if name == "promote":
                result = await client.promote(endpoint, to)
                changes = ", ".join(
                    f"{c['endpoint']}: {c['before']} → {c['after']}" for c in result["changes"]
                )
                text = f"Promoted {changes}" if changes else f"{endpoint} is already {to}."
                if result.get("reload_error"):
                    text += f" The host kept its previous configuration: {result['reload_error']}"
                self.post_message(ActionDone(text, not result.get("reload_error")))
            elif name == "record":
                result = await client.record(endpoint)
                if result["record"]:
                    text = f"{endpoint} records what it forwards into {result['store']}."
                else:
                    text = f"{endpoint} no longer records."
                self.post_message(ActionDone(text, True))
            else:
                await client.reset()
                self.post_message(ActionDone("Mock state reset (counters are kept).", True))
        except (Offline, ActionFailed) as error:
            self.post_message(ActionDone(f"{name.capitalize()} failed: {error}", False))

    async def fetch_exchange(self, ident: int) -> dict:
        if self.client is None:
            raise Offline("not connected")
        return await self.client.exchange(ident)

    # --- the handlers: the only writers of the model ----------------------------------------------

    def on_connected(self, message: Connected) -> None:
        new_server = self.model.connected(message.health, message.wall)
        self.reconnected = self.ever_connected
        self.ever_connected = True
        self.state = "live"
        self.endpoint_count = int(message.health.get("endpoints") or 0)
        self.model.reload_error = message.health.get("reload_error")
        switcher = self.query_one("#main", ContentSwitcher)
        if switcher.current != "tabs":
            switcher.current = "tabs"
            self._table(f"{self._active()}-table").focus()
        if self.reconnected:
            again = "a restarted host" if new_server else "the host"
            self.notify(f"Reconnected to {again} at {self.url}.", timeout=4)
        self._draw_status()

    def on_seeded(self, message: Seeded) -> None:
        self.model.seed(message.requests)

    def on_streaming(self, message: Streaming) -> None:
        self.state = "live"
        self.streaming = True
        self._draw_status()

    def on_events_received(self, message: EventsReceived) -> None:
        before = self.model.received
        self.model.ingest(message.events, message.malformed)
        if self.paused:
            self.held += self.model.received - before

    def on_endpoints_snapshot(self, message: EndpointsSnapshot) -> None:
        self.model.apply_endpoints(message.rows, message.at)
        self.endpoint_count = sum(1 for row in message.rows if row.get("name") is not None)

    def on_disconnected(self, message: Disconnected) -> None:
        self.reason = message.reason
        self.streaming = False
        if self.ever_connected:
            self.state = "retrying"
        else:
            self.state = "offline"
            self._offline_text(message.reason, message.answered, message.retry_in, message.refused)
        self._draw_status()

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, severity="information" if message.ok else "error", timeout=6)
        self._poll_now.set()

    # --- drawing -------------------------------------------------------------------------------

    def refresh_views(self) -> None:
        """Redraw what changed since the last tick: called every REFRESH seconds."""
        model = self.model
        if (model.log_dirty or self._filter_changed) and not self.paused:
            self._draw_log()
        if model.endpoints_dirty:
            self._draw_endpoints()
        if model.alerts_dirty:
            self._draw_alerts()
        self._draw_status()

    def _layout_tables(self) -> None:
        width = max(MIN_SIZE[0], self.size.width)
        self._columns = {
            "log-table": views.log_columns(width),
            "endpoints-table": views.endpoint_columns(width),
            "alerts-table": views.alert_columns(width),
        }
        for ident, columns in self._columns.items():
            header = "".join(views.header(columns))
            self.query_one(f"#{ident.replace('table', 'header')}", Static).update(header)
            self.query_one(f"#{ident}", RowTable).refresh()
        self._filter_changed = True
        self.model.endpoints_dirty = self.model.alerts_dirty = True

    def _table(self, ident: str) -> RowTable:
        return self.query_one(f"#{ident}", RowTable)

    def _draw_log(self) -> None:
        table = self._table("log-table")
        events = self.model.visible_log(parse_filter(self.filter_text))
        table.set_rows([(str(e["_n"]), e) for e in events], follow=table.following)
        self.model.log_dirty = self._filter_changed = False

    def _draw_endpoints(self) -> None:
        self.model.update_percentiles()
        rows = self.model.sorted_endpoints(self.sort)
        self._table("endpoints-table").set_rows([(v.label, v) for v in rows])
        self.model.endpoints_dirty = False

    def _draw_alerts(self) -> None:
        alerts = list(reversed(self.model.alerts.items()))
        self._table("alerts-table").set_rows([("|".join(key), a) for key, a in alerts])
        label = f"Alerts ({len(alerts)})" if alerts else "Alerts"
        if label != self._alerts_label:
            self.query_one("#tabs", TabbedContent).get_tab("alerts").label = label
            self._alerts_label = label
        self.model.alerts_dirty = False

    def _show(self, selector: str, text: str) -> None:
        """Update a one-line Static when its text changed, without a new layout."""
        if self._shown.get(selector) != text:
            self._shown[selector] = text
            self.query_one(selector, Static).update(text, layout=False)

    def _draw_status(self) -> None:
        model = self.model
        title = f"backworks · {self.url}"
        if self.endpoint_count:
            title += f" · {self.endpoint_count} endpoints"
        if model.reload_error:
            title += " · backworks.yaml has an error (the host kept the previous one)"
        self._show("#title", title)
        if self.state == "live":
            parts = ["[green]● live[/]" + (" · reconnected" if self.reconnected else "")]
        elif self.state == "retrying":
            parts = [f"[red]○ disconnected — retrying in {RETRY:.0f}s…[/] ({self.reason})"]
        elif self.state == "offline":
            parts = [f"[red]○ no host — retrying in {RETRY:.0f}s…[/]"]
        else:
            parts = ["connecting…"]
        rate = model.total_rate()
        if rate is not None:
            parts.append(f"{views.format_rate(rate)} req/s")
        parts.append(f"{model.received:,} requests")
        if model.sampled:
            parts.append(f"{model.sampled:,} more sampled out")
        if model.alerts:
            parts.append(f"[yellow]{len(model.alerts)} alerts[/]")
        if model.dropped:
            parts.append(f"[red]{model.dropped:,} events dropped by the host[/]")
        if model.malformed:
            parts.append(f"{model.malformed:,} malformed lines skipped")
        if self.paused:
            parts.append(f"[reverse] PAUSED [/] {self.held:,} new")
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        parts.append(f"sort: {SORT_LABELS[self.sort]}")
        self._show("#status", " · ".join(parts))

    def _offline_text(
        self,
        reason: str,
        answered: bool = False,
        retry_in: float | None = None,
        refused: bool = False,
    ) -> None:
        if retry_in is None:
            text = f"Connecting to {self.url}…"
        else:
            if refused:
                first = f"[b]The backworks host at {self.url} refused the dashboard[/b]: {reason}."
            elif answered:
                first = f"[b]{self.url} answers, but not as a backworks host[/b]: {reason}."
            else:
                first = f"[b]No backworks host answers at {self.url}[/b] ({reason})."
            text = (
                f"{first}\n\nStart one in your project directory:\n\n"
                "    [b cyan]backworks mock[/]\n\n"
                "or point the dashboard at a running one:\n\n"
                "    [b cyan]backworks dashboard --url http://HOST:PORT[/]\n\n"
                f"[dim]Retrying every {retry_in:.0f}s…[/]"
            )
        self.query_one("#offline", Static).update(text)

    # --- size ----------------------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        self._check_size()
        if self.is_mounted and (self._shown_size or (0, 0))[0] != event.size.width:
            self._layout_tables()

    def _check_size(self) -> None:
        """Show the too-small notice when the terminal is below MIN_SIZE; it leaves by itself
        when the terminal grows."""
        size = (self.size.width, self.size.height)
        small = size[0] < MIN_SIZE[0] or size[1] < MIN_SIZE[1]
        if small and not self._notice:
            self._notice = True
            self.push_screen(TooSmall(MIN_SIZE), lambda _: setattr(self, "_notice", False))
        self._shown_size = size

    # --- actions -------------------------------------------------------------------------------

    def _active(self) -> str:
        return self.query_one("#tabs", TabbedContent).active

    def action_tab(self, name: str) -> None:
        self.query_one("#tabs", TabbedContent).active = name
        self._table(f"{name}-table").focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_filter(self) -> None:
        self.action_tab("log")
        box = self.query_one("#filter", Input)
        box.value = self.filter_text
        box.add_class("shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._filter_changed = True

    @on(Input.Submitted, "#filter")
    def filter_done(self, event: Input.Submitted) -> None:
        self.query_one("#filter", Input).remove_class("shown")
        self._table("log-table").focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        self.filter_text = ""
        self._filter_changed = True
        box.remove_class("shown")
        self._table("log-table").focus()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.held = 0
        self._filter_changed = True
        self._draw_status()

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.model.endpoints_dirty = True
        if self._active() != "endpoints":
            self.action_tab("endpoints")
        self.refresh_views()

    def selected_endpoint(self) -> tuple[str, str | None] | None:
        """(name, mode) of the endpoint selected in the active table, if any."""
        active = self._active()
        if active == "endpoints":
            key = self._table("endpoints-table").selected_key
            view = next((v for v in self.model.endpoints.values() if v.label == key), None)
            return (view.name, view.mode) if view and view.name else None
        if active == "log":
            key = self._table("log-table").selected_key
            event = self.model.event(int(key)) if key else None
            name = event.get("endpoint") if event else None
            if name is None:
                return None
            view = self.model.endpoints.get(name)
            return name, view.mode if view else event.get("mode")
        return None

    def action_promote(self) -> None:
        chosen = self.selected_endpoint()
        if chosen is None:
            self.notify("Select an endpoint first (in the log or the endpoints tab).", timeout=4)
            return
        name, mode = chosen

        def picked(to: str | None) -> None:
            if to:
                self.perform("promote", name, to)

        self.push_screen(ModePicker(name, mode), picked)

    def action_record(self) -> None:
        chosen = self.selected_endpoint()
        if chosen is None:
            self.notify(
                "Select a proxy endpoint first (in the log or the endpoints tab).", timeout=4
            )
            return
        self.perform("record", chosen[0])

    def action_reset(self) -> None:
        self.perform("reset")

    @on(RowTable.Selected)
    def row_selected(self, event: RowTable.Selected) -> None:
        table, key = event.table, event.key
        if table.id == "endpoints-table":
            self.action_promote()
            return
        if table.id == "alerts-table":
            alert = self.model.alerts.get(tuple(key.split("|", 1)))
            key = str(alert.example) if alert and alert.example else ""
        shown = self.model.event(int(key)) if key.isdigit() else None
        if shown is None:
            self.notify("That request is no longer kept by the dashboard.", timeout=4)
            return
        if shown.get("_gen") != self.model.generation:
            fetch = "the host has restarted since, and its journal started again"
        elif self.client is None or self.state != "live":
            fetch = "not available while the host is not reachable"
        else:
            fetch = self.fetch_exchange
        self.push_screen(DetailScreen(shown, self.tz, fetch))


def create_app(
    url: str = "http://127.0.0.1:3000",
    *,
    token: str | None = None,
    connect: bool = True,
    tz: tzinfo | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> Dashboard:
    """The dashboard for the host at `url`, sending the admin `token` with every request.
    With connect=False it talks to no host: tests feed it the messages its worker would
    post. `tz` is the time zone of the times shown (default: local); `clock` and `wall` are
    the monotonic and wall clocks."""
    return Dashboard(url, token=token, connect=connect, tz=tz, clock=clock, wall=wall)
