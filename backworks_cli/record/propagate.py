"""A secret found once is replaced everywhere: every other occurrence of it in an exchange, as
it is or written the ways a server echoes it (escaped inside a JSON string, percent-encoded,
base64-encoded), becomes the same placeholder.

A value shorter than `MIN_SPREAD` (or a short all-digit one) is too likely to occur by chance
inside other text, so it is replaced only where a whole value equals it: a whole header or
query value, or a whole JSON string.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import replace
from urllib.parse import quote, quote_plus

from backworks_cli.core.exchange import Exchange, Headers, Message, Request, Response
from backworks_cli.record.redact_rules import PLACEHOLDER_SPLIT, PLACEHOLDER_SPLIT_BYTES, PREFIX

MIN_SPREAD = 6
MIN_DIGITS_SPREAD = 8


def spreads(secret: str) -> bool:
    """Whether `secret` is long enough to be replaced inside other text."""
    if secret.isdigit():
        return len(secret) >= MIN_DIGITS_SPREAD
    return len(secret) >= MIN_SPREAD


@functools.lru_cache(maxsize=1024)
def _forms(secret: str) -> tuple[str, ...]:
    """`secret` and the ways it is written inside other text."""
    forms = [secret]
    for ascii_only in (False, True):
        escaped = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        # Once inside a JSON string, and twice: a JSON body echoed as a string (httpbin's data).
        forms.append(escaped)
        forms.append(json.dumps(escaped, ensure_ascii=ascii_only)[1:-1])
    forms.append(quote(secret, safe=""))
    forms.append(quote_plus(secret, safe=""))
    forms.append(quote(secret, safe="/:"))
    if len(secret) >= 8:
        raw = secret.encode("utf-8", "surrogatepass")
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            text = encoded.decode("ascii")
            forms.append(text)
            forms.append(text.rstrip("="))
    seen = set()
    return tuple(f for f in forms if f and not (f in seen or seen.add(f)))


class Table:
    """What to replace in an exchange: the forms of each spreading secret by its placeholder,
    and the short secrets replaced only as whole values."""

    def __init__(self, secrets: dict[str, str]):
        pairs: dict[str, str] = {}
        self.whole: dict[str, str] = {}
        for secret, placeholder in secrets.items():
            if spreads(secret):
                for form in _forms(secret):
                    pairs.setdefault(form, placeholder)
            else:
                self.whole[secret] = placeholder
        # Longest first, so a secret's escaped form is not cut by a shorter secret inside it.
        self.pairs = sorted(pairs.items(), key=lambda pair: len(pair[0]), reverse=True)
        self.pairs_bytes = [(k.encode("utf-8", "surrogatepass"), v.encode()) for k, v in self.pairs]
        self.whole_json = [
            (json.dumps(k).encode(), json.dumps(v).encode()) for k, v in self.whole.items()
        ]

    def __bool__(self) -> bool:
        return bool(self.pairs or self.whole)

    def text(self, value: str) -> str:
        """A header, query or path value with every secret in it replaced."""
        whole = self.whole.get(value)
        if whole is not None:
            return whole
        for needle, placeholder in self.pairs:
            if needle in value:
                value = _outside(value, needle, placeholder, PLACEHOLDER_SPLIT, PREFIX)
        return value

    def body(self, body: bytes) -> bytes:
        """A body (any bytes) with every secret in it replaced."""
        for needle, placeholder in self.pairs_bytes:
            if needle in body:
                body = _outside(body, needle, placeholder, PLACEHOLDER_SPLIT_BYTES, PREFIX.encode())
        for needle, placeholder in self.whole_json:
            if needle in body:
                body = body.replace(needle, placeholder)
        return body

    # --- over an exchange ------------------------------------------------------------------

    def pairs_of(self, pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        out = tuple((name, self.text(value)) for name, value in pairs)
        return pairs if out == pairs else out

    def request(self, req: Request) -> Request:
        headers = self.pairs_of(req.headers)
        query = self.pairs_of(req.query)
        path = self.text(req.path)
        body = self.body(req.body) if req.body else req.body
        if headers == req.headers and query == req.query and path == req.path and body == req.body:
            return req
        return replace(
            req, headers=update_length(headers, req.body, body), query=query, path=path, body=body
        )

    def response(self, resp: Response) -> Response:
        headers = self.pairs_of(resp.headers)
        body = self.body(resp.body) if resp.body else resp.body
        if headers == resp.headers and body == resp.body:
            return resp
        return replace(resp, headers=update_length(headers, resp.body, body), body=body)

    def messages(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        out = tuple(
            m if not m.content else replace(m, content=self.body(m.content)) for m in messages
        )
        return (
            messages
            if all(a.content == b.content for a, b in zip(out, messages, strict=True))
            else out
        )

    def exchange(self, ex: Exchange) -> Exchange:
        request = self.request(ex.request)
        response = self.response(ex.response) if ex.response is not None else None
        messages = self.messages(ex.messages)
        error = self.text(ex.error) if ex.error else ex.error
        if (
            request is ex.request
            and response is ex.response
            and messages is ex.messages
            and error == ex.error
        ):
            return ex
        return replace(ex, request=request, response=response, messages=messages, error=error)


def _outside(value, needle, placeholder, split: re.Pattern, prefix):
    """`value` with `needle` replaced, except inside placeholders already there."""
    if prefix not in value:
        return value.replace(needle, placeholder)
    parts = split.split(value)
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace(needle, placeholder)
    return parts[0][:0].join(parts)


def update_length(headers: Headers, old: bytes, new: bytes) -> Headers:
    """Content-Length follows a changed body when it described the body as it was."""
    if old == new:
        return headers
    old_length = str(len(old))
    return tuple(
        (name, str(len(new)))
        if name.lower() == "content-length" and value.strip() == old_length
        else (name, value)
        for name, value in headers
    )
