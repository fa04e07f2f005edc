"""Secrets in a JSON document, found without re-encoding it: a walk over the text of a
document that has already parsed, listing the spans to replace, so that only the values' bytes
change and the rest keeps its formatting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from json.decoder import scanstring

_WS = re.compile(r"[ \t\n\r]*").match
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?").match
JSON_START = re.compile(r"[ \t\n\r\ufeff]*[{\[]").match
_LITERALS = ("true", "false", "null", "NaN", "Infinity", "-Infinity")


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """`text` with each (start, end) span replaced; spans are in order and disjoint."""
    out = []
    last = 0
    for start, end, new in edits:
        out.append(text[last:start])
        out.append(new)
        last = end
    out.append(text[last:])
    return "".join(out)


def json_edits(
    s: str,
    scan: bool,
    *,
    is_secret: Callable[[str], bool],
    stand_in: Callable[[str], str],
    scrub: Callable[[str], str],
    patterns: tuple[re.Pattern[str], ...],
) -> list[tuple[int, int, str]]:
    """Spans of a valid JSON document to replace, each by the `stand_in` of its value (which
    returns a value to keep as it is): strings and numbers under names that `is_secret`
    accepts and, when `scan`, numbers in which one of `patterns` matches and strings that
    `scrub` changes (by the scrubbed text). `s` must already have parsed."""
    ws, blank = _WS, " \t\n\r"
    patterns = patterns if scan else ()
    edits: list[tuple[int, int, str]] = []
    # One frame per open container: None for an object, else whether an array's items
    # are secrets (a list under a secret name).
    stack: list[bool | None] = []
    secret = need_key = False
    i = ws(s, 0).end()
    while True:
        if need_key:
            key, i = scanstring(s, i + 1, True)
            secret = is_secret(key)
            if s[i] != ":":
                i = ws(s, i).end()
            i += 1
            if s[i] in blank:
                i = ws(s, i).end()
        c = s[i]
        if c == '"':
            start = i
            value, i = scanstring(s, i + 1, True)
            if secret:
                new = stand_in(value)
                if new != value:
                    edits.append((start, i, f'"{new}"'))
            elif scan:
                new = scrub(value)
                if new != value:
                    # Escaped strings stay escaped (lone surrogates can only be written so).
                    escaped = "\\" in s[start:i]
                    edits.append((start, i, json.dumps(new, ensure_ascii=escaped)))
        elif c == "{" or c == "[":
            i += 1
            if s[i] in blank:
                i = ws(s, i).end()
            if s[i] != ("}" if c == "{" else "]"):
                need_key = c == "{"
                stack.append(None if need_key else secret)
                continue
            i += 1
        elif (number := _NUMBER(s, i)) is not None:
            i = number.end()
            lexeme = number.group()
            if secret or any(p.search(lexeme) for p in patterns):
                edits.append((number.start(), i, f'"{stand_in(lexeme)}"'))
        else:
            i += next(len(word) for word in _LITERALS if s.startswith(word, i))
        # After a value: close finished containers, then move to the next value.
        while stack:
            c = s[i]
            if c in blank:
                i = ws(s, i).end()
                c = s[i]
            i += 1
            if c == ",":
                if s[i] in blank:
                    i = ws(s, i).end()
                frame = stack[-1]
                need_key = frame is None
                if not need_key:
                    secret = frame
                break
            stack.pop()
        else:
            return edits
