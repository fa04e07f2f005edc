"""Where secrets sit in bodies that are not JSON: `name = value` text (INI, .env, YAML, GraphQL
arguments), XML elements, multipart parts, URLs inside text, and the charset a body is written
in. Each finder returns spans; the Redactor (redact) decides what replaces them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from urllib.parse import unquote_plus

from backworks_cli.record.redact_rules import SCHEMES

Spans = list[tuple[int, int]]

# name = value, name: value, "name": "value", name => 'value', NAME=value (env files).
_KV = re.compile(
    r"""(?<![\w.-])["']?([A-Za-z_][A-Za-z0-9_.-]{0,63})["']?[ \t]*(?::=|=>|[:=])[ \t]*"""
    r"""(?:"((?:[^"\\\n]|\\.)*)"|'([^'\n]*)'|([^\s,;&'"<>{}\[\]()]+))"""
)
# Substrings one of which a secret's name holds (lower-case); text without any skips the scan.
_KV_HINTS = (
    "pass", "secret", "token", "key", "pwd", "auth", "sess", "sig", "cred", "sid", "pat",
    "dsn", "otp", "pin", "jwt", "cvv", "ssn", "cookie", "hmac",
)  # fmt: skip
_AFTER_SCHEME = re.compile(r"[ \t]+([^\s,;'\"<>]+)")
_URL_PARAM = re.compile(r"[?&;]([A-Za-z0-9_.~%-]{1,64})=([^&\s\"'<>#\\]+)")
_XML_ELEMENT = re.compile(
    r"<((?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*))(?:\s[^<>]*)?>([^<]*)</\1\s*>"
)
_BOUNDARY = re.compile(r"boundary=(?:\"([^\"]+)\"|([^;\s]+))", re.I)
_DISPOSITION_NAME = re.compile(rb"""\bname\*?=(?:"([^"]*)"|([^;\s]+))""", re.I)
_CHARSET = re.compile(r"charset=[\"']?([A-Za-z0-9._:-]+)", re.I)
_TEXTUAL = ("text/", "json", "xml", "x-www-form-urlencoded", "javascript", "graphql", "yaml",
            "csv", "html", "x-ndjson")  # fmt: skip


def may_hold_pairs(text: str) -> bool:
    """Whether `text` could hold a `name = value` pair with a secret-looking name."""
    if "=" not in text and ":" not in text:
        return False
    return any(map(text.lower().__contains__, _KV_HINTS))


def kv_spans(text: str, is_secret: Callable[[str], bool]) -> Spans:
    """Spans of the values of `name = value` pairs in `text` whose name `is_secret` accepts."""
    if not may_hold_pairs(text):
        return []
    spans: Spans = []
    _kv_spans(text, is_secret, 0, len(text), spans)
    return spans


def _kv_spans(text: str, is_secret: Callable[[str], bool], pos: int, endpos: int, spans) -> None:
    for match in _KV.finditer(text, pos, endpos):
        group = next(g for g in (2, 3, 4) if match[g] is not None)
        if not is_secret(match[1]):
            # A quoted value can hold pairs of its own: {"env": "DB_PASSWORD=…"}.
            if group != 4 and "=" in match[group]:
                _kv_spans(text, is_secret, *match.span(group), spans)
            continue
        start, end = match.span(group)
        if group == 4 and match[4].lower() in SCHEMES:
            # "Authorization: Bearer <token>": the credential is the word after the scheme.
            after = _AFTER_SCHEME.match(text, end)
            if after is None:
                continue
            start, end = after.span(1)
        if end > start:
            spans.append((start, end))


def url_param_spans(text: str, is_secret: Callable[[str], bool]) -> Spans:
    """Spans of secret-named query parameter values in URLs written inside `text` (presigned
    URLs in JSON, links in HTML)."""
    if "=" not in text:
        return []
    return [m.span(2) for m in _URL_PARAM.finditer(text) if is_secret(unquote_plus(m[1]))]


def xml_spans(text: str, is_secret: Callable[[str], bool]) -> Spans:
    """Spans of the text of XML elements whose local name `is_secret` accepts
    (`<apiKey>…</apiKey>`, `<wsse:Password Type="…">…</wsse:Password>`)."""
    spans = []
    for match in _XML_ELEMENT.finditer(text):
        if match[3].strip() and is_secret(match[2]):
            spans.append(match.span(3))
    return spans


def merge(spans: Spans) -> Spans:
    """Spans sorted, overlapping ones joined."""
    out: Spans = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def multipart_parts(body: bytes, content_type: str) -> Iterator[tuple[str, str, int, int]]:
    """(field name, part content type, start, end) of each part's content in a multipart
    body; nothing when the boundary is missing or the body is not made of such parts."""
    match = _BOUNDARY.search(content_type)
    if not match:
        return
    delimiter = b"--" + (match[1] or match[2]).encode("latin-1")
    position = body.find(delimiter)
    while position != -1:
        head_start = body.find(b"\n", position) + 1
        if head_start == 0 or body.startswith(b"--", position + len(delimiter)):
            return
        head_end = body.find(b"\r\n\r\n", head_start)
        gap = 4
        if head_end == -1:
            head_end, gap = body.find(b"\n\n", head_start), 2
            if head_end == -1:
                return
        following = body.find(delimiter, head_end + gap)
        if following == -1:
            return
        end = following
        if body[end - 2 : end] == b"\r\n":
            end -= 2
        elif body[end - 1 : end] == b"\n":
            end -= 1
        head = body[head_start:head_end]
        name = part_type = ""
        for line in head.split(b"\n"):
            key, _, value = line.partition(b":")
            key = key.strip().lower()
            if key == b"content-disposition":
                found = _DISPOSITION_NAME.search(value)
                if found:
                    name = (found[1] or found[2]).decode("utf-8", "replace")
            elif key == b"content-type":
                part_type = value.strip().decode("latin-1")
        yield name, part_type, head_end + gap, end
        position = following


def decode_body(body: bytes, content_type: str) -> tuple[str, str] | None:
    """(text, codec) of a body, by its declared charset, JSON's encoding rules or UTF-8; a
    textual body in no such encoding is read as latin-1 (every byte kept). None for a body
    that is neither UTF-8 nor declared textual."""
    ctype = content_type.lower()
    declared = _CHARSET.search(ctype)
    if declared:
        codec = declared[1]
    elif "json" in ctype:
        codec = json.detect_encoding(body)
    else:
        codec = "utf-8"
    try:
        return body.decode(codec), codec
    except (UnicodeDecodeError, LookupError):
        pass
    if codec != "utf-8":
        try:
            return body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    if any(kind in ctype for kind in _TEXTUAL):
        return body.decode("latin-1"), "latin-1"
    return None
