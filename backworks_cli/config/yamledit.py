"""Minimal edits of backworks.yaml for promote: an endpoint's `mode:` replaced in place (its
quotes and a trailing comment kept), a missing one inserted, a new mode block appended, as
line edits where the layout allows; else the round-trip document edited and dumped in the
file's own indentation. Either way every other line stays as the user wrote it.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from backworks_cli.config.yamlfile import (
    is_round_trip_map,
    load_plain,
    load_yaml12,
    new_map,
    new_seq,
    writer,
)


@dataclass(frozen=True)
class ModeEdit:
    """One endpoint's new mode, and the new mode's block when the endpoint gets one."""

    name: str
    mode: str
    block: dict | None


# The value of a `mode:` key: a quoted or plain scalar.
_TOKEN = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*'|[^\s,#{}\[\]]+")


def reads_as(text: str, expected: Any) -> bool:
    try:
        return load_plain(text) == expected
    except Exception:  # a malformed result is simply not the intended one
        return False


def _lines(text: str) -> list[str]:
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def line_edit(text: str, doc: Any, edits: list[ModeEdit]) -> str | None:
    """The edits as line replacements and insertions, or None for a layout they cannot make:
    the mode's value is replaced in place (keeping its quotes), a missing `mode:` goes after
    `methods:` (or `path:`), the new block goes at the end of the endpoint."""
    lines = _lines(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    endpoints = doc.get("endpoints")
    if not is_round_trip_map(endpoints) or endpoints.fa.flow_style():
        return None
    ops: list[tuple[int, int, str, Any]] = []  # (line, order, kind, payload)
    for edit in edits:
        spec = endpoints[edit.name]
        own = list(spec.lc.data) if is_round_trip_map(spec) else []
        if not own or spec.fa.flow_style():
            return None
        name_line, name_col = endpoints.lc.key(edit.name)
        first_line, column = spec.lc.key(own[0])
        step = column - name_col
        if first_line <= name_line or step <= 0:
            return None
        chain = [(endpoints, edit.name), (doc, "endpoints")]
        if "mode" in own:
            line_no, col = spec.lc.value("mode")
            line = lines[line_no]
            token = _TOKEN.match(line, col)
            if token is None:
                return None
            ops.append((line_no, 0, "replace", _replace_token(line, token, edit.mode)))
        else:
            after = [k for k in own if k in ("path", "methods")]
            at = _entry_end(lines, [(spec, after[-1]), *chain]) if after else first_line
            ops.append((at, 0, "insert", [f"{' ' * column}mode: {edit.mode}{newline}"]))
        if edit.block is not None:
            at = _entry_end(lines, chain)
            ops.append(
                (at, 1, "insert", _block_lines(edit.mode, edit.block, column, step, newline))
            )
    for at, _, kind, payload in sorted(ops, key=lambda op: (op[0], op[1]), reverse=True):
        if kind == "replace":
            lines[at] = payload
            continue
        if at == len(lines) and lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        lines[at:at] = payload
    return "".join(lines)


def _replace_token(line: str, token: re.Match, mode: str) -> str:
    """The line with the scalar `token` replaced by `mode` in the same quotes; a comment after
    it keeps its column when there is room."""
    quote = token.group()[0] if token.group()[0] in "\"'" else ""
    value = f"{quote}{mode}{quote}"
    rest = line[token.end() :]
    gap = len(rest) - len(rest.lstrip(" "))
    if rest[gap : gap + 1] == "#":
        wider = gap - (len(value) - len(token.group()))
        rest = " " * (wider if wider >= 1 else gap) + rest[gap:]
    return line[: token.start()] + value + rest


def _entry_end(lines: list[str], chain: list[tuple[Any, Any]]) -> int:
    """Index of the line after the entry chain[0] (a mapping and one of its keys), before the
    blank lines and the comments that lead into whatever follows; the chain goes on with the
    enclosing mappings, to find what follows when the entry is its mapping's last."""
    start = chain[0][0].lc.key(chain[0][1])[0]
    stop, next_col = len(lines), 0
    for mapping, key in chain:
        own = list(mapping.lc.data)
        at = own.index(key)
        if at + 1 < len(own):
            stop, next_col = mapping.lc.key(own[at + 1])
            break
    while stop - 1 > start and _leads_on(lines[stop - 1], next_col):
        stop -= 1
    return stop


def _leads_on(line: str, column: int) -> bool:
    """A blank line, or a comment no deeper than the key that follows it."""
    stripped = line.strip()
    return not stripped or (stripped[0] == "#" and len(line) - len(line.lstrip()) <= column)


def _block_lines(key: str, block: dict, column: int, step: int, newline: str) -> list[str]:
    inner = " " * (column + step)
    return [f"{' ' * column}{key}:{newline}"] + [
        f"{inner}{name}: {_scalar(value)}{newline}" for name, value in block.items()
    ]


def _scalar(value: Any) -> str:
    """A value as YAML that both PyYAML (1.1) and ruamel.yaml (1.2) read back as itself."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    text = str(value)
    if re.fullmatch(r"[A-Za-z0-9_./][A-Za-z0-9_./:@%+~-]*", text) and _plain_ok(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _plain_ok(text: str) -> bool:
    try:
        return load_plain(text) == text and load_yaml12(text) == text
    except Exception:
        return False


def dump_edit(text: str, doc: Any, edits: list[ModeEdit]) -> str:
    """The edits made on the round-trip document, dumped with the file's indentation."""
    for edit in edits:  # the document is the plan's own, changed in place
        spec = doc["endpoints"][edit.name]
        if "mode" in spec:
            old = spec["mode"]
            spec["mode"] = type(old)(edit.mode) if isinstance(old, str) else edit.mode
        else:
            after = [i for i, k in enumerate(spec) if k in ("path", "methods")]
            spec.insert(after[-1] + 1 if after else 0, "mode", edit.mode)
        if edit.block is not None:
            spec[edit.mode] = new_map(
                {
                    k: new_seq(v, flow=True) if isinstance(v, list) else v
                    for k, v in edit.block.items()
                }
            )
    mapping, sequence, offset = _indentation(text)
    yaml = writer(mapping, sequence, offset, width=4096)  # never fold a line written on one
    yaml.explicit_start = bool(re.match(r"(\s*#[^\n]*\n|\s*\n)*---", text))
    out = io.StringIO()
    yaml.dump(doc, out)
    dumped = out.getvalue()
    return dumped.replace("\n", "\r\n") if "\r\n" in text else dumped


def _indentation(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indentation most used in the file, in ruamel.yaml's terms:
    the step of nested mappings, and the item and dash columns of block lists under a key."""
    steps: Counter[int] = Counter()
    sequences: Counter[tuple[int, int]] = Counter()
    lines = [line for line in text.splitlines() if line.strip() and line.lstrip()[0] != "#"]
    for above, line in itertools.pairwise(lines):
        if not above.rstrip().endswith(":"):
            continue
        parent = len(above) - len(above.lstrip())
        if above.lstrip().startswith("- "):
            parent += 2  # the key after the dash
        depth = len(line) - len(line.lstrip())
        if line.lstrip().startswith("- ") and depth >= parent:
            sequences[(depth - parent + 2, depth - parent)] += 1
        elif depth > parent:
            steps[depth - parent] += 1
    mapping = steps.most_common(1)[0][0] if steps else 2
    sequence, offset = sequences.most_common(1)[0][0] if sequences else (mapping + 2, mapping)
    return mapping, max(sequence, offset + 2), offset
