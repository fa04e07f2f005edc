"""A table drawn line by line (Textual's Line API): only the rows on screen are formatted and
rendered, so replacing thousands of rows twice a second costs a list assignment. It has
what the dashboard needs of a table and no more: a row cursor, keys, keyboard and mouse, and a
message when a row is chosen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Row = tuple[str, Any]  # (key, what the formatter turns into cells)
Formatter = Callable[[Any], Sequence[str | Text]]


class RowTable(ScrollView, can_focus=True):
    """Rows of (key, payload); `formatter(payload)` gives a row's cells, each already padded to
    its column, when the row is drawn."""

    BINDINGS: ClassVar = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
    ]
    COMPONENT_CLASSES: ClassVar = {"row-table--cursor", "row-table--odd"}
    DEFAULT_CSS = """
    RowTable { height: 1fr; overflow-x: hidden; }
    RowTable > .row-table--cursor { background: $block-cursor-blurred-background; }
    RowTable:focus > .row-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
        text-style: bold;
    }
    RowTable > .row-table--odd { background: $surface-lighten-1 50%; }
    """

    cursor_row: reactive[int] = reactive(0, always_update=True)

    class Selected(Message):
        """A row was chosen: enter, or a click on the row under the cursor."""

        def __init__(self, table: RowTable, key: str):
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, formatter: Formatter, *, id: str | None = None):
        super().__init__(id=id)
        self.formatter = formatter
        self.rows: list[Row] = []
        self._index: dict[str, int] | None = None
        self._lines: dict[int, Strip] = {}  # rendered rows on screen, by row number

    # --- contents ----------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def keys(self) -> dict[str, int]:
        """Row number by key."""
        if self._index is None:
            self._index = {key: n for n, (key, _) in enumerate(self.rows)}
        return self._index

    def set_rows(self, rows: list[Row], *, follow: bool = False) -> None:
        """Show `rows`; the cursor stays on its key (or goes to the last row with follow)."""
        selected = self.selected_key
        self.rows = rows
        self._index = None
        self._lines.clear()
        self.virtual_size = Size(0, len(rows))
        if follow or selected is None:
            row = len(rows) - 1 if follow else 0
        else:
            row = self.keys.get(selected, min(self.cursor_row, len(rows) - 1))
        self.cursor_row = max(0, row)
        self.refresh()

    def cells_at(self, row: int) -> Sequence[str | Text]:
        return self.formatter(self.rows[row][1])

    @property
    def selected_key(self) -> str | None:
        return self.rows[self.cursor_row][0] if 0 <= self.cursor_row < len(self.rows) else None

    @property
    def following(self) -> bool:
        """The cursor is on the last row (or there are none): new rows keep it there."""
        return self.cursor_row >= len(self.rows) - 1

    def move_cursor(self, row: int) -> None:
        self.cursor_row = max(0, min(row, len(self.rows) - 1))

    # --- drawing -----------------------------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._lines.pop(old, None)
        self._lines.pop(new, None)
        if self.rows:
            self.scroll_to_region(Region(0, new, 1, 1), animate=False, force=True)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        row = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if row >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        strip = self._lines.get(row)
        if strip is None or strip.cell_length != width:
            strip = self._lines[row] = self._render_row(row, width)
        return strip

    def _render_row(self, row: int, width: int) -> Strip:
        base = self.rich_style
        cursor = row == self.cursor_row
        # On the cursor row the cursor's colours win over the cells' own.
        over = self.get_component_rich_style("row-table--cursor") if cursor else Style()
        if row % 2 and not cursor:
            base += self.get_component_rich_style("row-table--odd")
        text = Text.assemble(*self.cells_at(row), no_wrap=True, overflow="crop")
        segments = [
            Segment(s.text, base + s.style + over if s.style else base + over, s.control)
            for s in text.render(self.app.console)
            if s.text != "\n"
        ]
        return Strip(segments).crop_extend(0, width, base + over)

    def on_resize(self, event: events.Resize) -> None:
        self._lines.clear()

    # --- keys and mouse ----------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(1, self.size.height - 1))

    def action_jump(self, row: int) -> None:
        self.move_cursor(row if row >= 0 else len(self.rows) - 1)

    def action_select(self) -> None:
        if self.selected_key is not None:
            self.post_message(self.Selected(self, self.selected_key))

    def on_click(self, event: events.Click) -> None:
        row = self.scroll_offset.y + event.y
        if 0 <= row < len(self.rows):
            if row == self.cursor_row:
                self.action_select()
            else:
                self.move_cursor(row)
