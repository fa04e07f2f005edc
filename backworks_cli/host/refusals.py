"""What the mock and serve answer, before the engine sees a request, to one they will not take:
a method that is no HTTP token or a request target that is not UTF-8 text (400), and a body
over `server.max_body` (413). One JSON shape for both hosts, each with the reason and the fix.

A target that is percent-encoded (`/caf%E9`) is a valid URI whatever the bytes it encodes, so
it is answered like any path (a recording of it replays); raw bytes that are not UTF-8, or
control characters, in the request line are not, and get the 400.
"""

from __future__ import annotations

import re

BODY_LIMIT_KEY = "server.max_body"  # the backworks.yaml key both hosts read the limit from

# RFC 9110 section 5.6.2: a method is a token.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch
_CONTROL = re.compile(rb"[\x00-\x20\x7f]").search


NOT_A_TOKEN = "the method is not an HTTP token (RFC 9110 section 9)"
NOT_UTF8 = "the request target holds bytes that are not UTF-8"
CONTROL = "the request target holds a space or a control character"
NOT_ASCII = "the request target holds a byte that must be percent-encoded (a control "
NOT_ASCII += "character, or one above 0x7F as in text that is not ASCII)"


def request_line_problem(method: bytes, target: bytes) -> str | None:
    """Why a request's method or target cannot be answered, or None when they can be."""
    if not _TOKEN(method):
        return NOT_A_TOKEN
    try:
        target.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_UTF8
    if _CONTROL(target):
        return CONTROL
    return None


def bad_request(reason: str) -> dict:
    """The body of a 400 for a request that is no HTTP the host can answer."""
    return {
        "error": "bad request",
        "reason": reason,
        "hint": "Send the method as a plain token and the path and query as ASCII, "
        "percent-encoding anything else as UTF-8 (RFC 3986).",
    }


def too_large(limit: int) -> dict:
    """The body of a 413 for a request body over `limit` bytes."""
    return {
        "error": "request body too large",
        "limit_bytes": limit,
        "hint": f"Send a smaller body, or raise `{BODY_LIMIT_KEY}` (bytes) in backworks.yaml.",
    }
