"""Text for an 80-column terminal: lines fitted and wrapped, commands shown as a user types
them, tables laid out and read back.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable
from typing import Any

Out = Callable[[str], None]
WIDTH = 80  # output lines are kept to this many columns where the demo chooses the text


def fit(line: str, width: int = WIDTH) -> str:
    """`line`, cut to `width` columns with an ellipsis when longer (for tables and data)."""
    line = line.rstrip()
    return line if len(line) <= width else line[: width - 1] + "…"


def wrap(text: str, indent: int = 2, width: int = WIDTH) -> str:
    """Prose, filled to `width` columns; lines after the first are indented two more."""
    return textwrap.fill(
        text.strip(),
        width,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + 2),
        break_long_words=False,
        break_on_hyphens=False,
    )


def command(args: list[str] | tuple[str, ...], width: int = WIDTH) -> str:
    """`backworks ARGS` as a shell command, indented by two and continued with backslashes
    to fit `width` columns; an option stays on the line of its value."""
    groups: list[str] = []
    for arg in args:
        if groups and groups[-1].startswith("-") and " " not in groups[-1] and arg[:1] != "-":
            groups[-1] += " " + arg
        else:
            groups.append(arg)
    lines, line = [], "  backworks"
    for group in groups:
        if len(line) + 1 + len(group) > width - 2 and line != "  backworks":
            lines.append(line + " \\")
            line = "      " + group
        else:
            line += " " + group
    return "\n".join([*lines, line])


def columns(header: list[str], rows: list[list[str]], right: frozenset[int] = frozenset()) -> str:
    """A plain table: two spaces between columns, indented by two."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return "\n".join(lines)


def parse_table(text: str, first: str) -> tuple[list[str], list[list[str]]] | None:
    """The table printed by a command, from its header line (starting with `first`) to the
    first blank line after a row: cells are separated by two spaces or more. None when a row
    does not have as many cells as the header."""
    lines = [line.strip() for line in text.splitlines()]
    start = next((i for i, line in enumerate(lines) if line.startswith(first)), None)
    if start is None:
        return None
    header = re.split(r"\s{2,}", lines[start])
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if not line.strip("─━-= "):
            if rows:
                break
            continue
        cells = re.split(r"\s{2,}", line)
        if len(cells) != len(header):
            return None
        rows.append(cells)
    return header, rows


def pick(table: tuple[list[str], list[list[str]]], names: list[str]) -> list[list[str]]:
    """The named columns of a parsed table, in that order."""
    header, rows = table
    index = [header.index(name) for name in names]
    return [[row[i] for i in index] for row in rows]


def brief(value: Any, width: int) -> str:
    """JSON on one line within `width` columns: an object's first keys, then `…`."""

    def dump(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    if len(dump(value)) <= width or not isinstance(value, dict):
        return fit(dump(value), width)
    shown: dict = {}
    for key, item in value.items():
        if len(dump({**shown, key: item})) > width - 2:
            break
        shown[key] = item
    return dump(shown)[:-1] + ",…}" if shown else "{…}"


def indented(text: str, out: Out, prefix: str = "  ") -> None:
    for line in text.rstrip("\n").splitlines():
        out(fit(prefix + line))


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
