"""Secrets out of exchanges before anything is stored or exported.

A secret is replaced by a placeholder, ``"redacted:" + hex(HMAC-SHA256(key, secret))[:16]``: the
same secret under the same key (one per store) always gives the same placeholder, so two requests
that carried one token still match each other on replay, while the token itself is gone.
Placeholders are never redacted again, so redacting twice equals redacting once.

What is redacted (names are compared normalised: lower-case, without ``-`` and ``_``):

- Headers. The well-known credential headers (Authorization, Cookie, X-Api-Key, ...) and any
  header whose name contains token, secret, password, apikey, session, signature, csrf, ...
  or ``auth``. ``auth`` does not count in ``authenticated`` (X-Authenticated-User names a user,
  it proves nothing), in challenges (WWW-Authenticate), in ``authority`` or ``author``.
  Authorization keeps its scheme (``Bearer <placeholder>``), cookies keep their names and
  Set-Cookie its attributes, so a reader still sees what was sent.
- Query parameters, in ``Request.query``, a query left in the path, and URL-bearing headers
  (Location, Content-Location, Referer), fragments included (OAuth implicit flow).
- JSON bodies (and JSON text messages, NDJSON lines, SSE ``data:`` lines): string and number
  values under secret-looking field names at any depth; a list under such a name has its
  items redacted, an object under it is walked (its own keys decide). Only the values' bytes
  change: the rest of the document keeps its formatting. Form-urlencoded bodies: fields
  named like JSON secrets or secret query parameters.
- Anywhere in text (header values, query values, JSON string values, text bodies, messages):
  JWTs (``eyJ...`` with three or five base64url segments), ``Bearer <token>`` with a token of
  at least 8 characters that is not a plain word (so "Bearer token required" stays), and the
  user's regex patterns (the whole match is replaced; a JSON number in which a pattern matches
  is replaced as a whole). Patterns see decoded values, not raw JSON syntax.

Other bodies (XML, multipart, plain text) get the free-text rules only, and field rules need
valid JSON: a broken JSON body is treated as text.

Names that describe a secret rather than hold one (``token_type``, ``max_tokens``,
``password_hint``, ``secret_name``, ``expires_in``...) are left alone; the user's own names
always count. Bodies that are not UTF-8 are left alone, and a body with nothing to redact is
returned as the very same bytes. When a body changes and Content-Length equalled its length,
Content-Length is updated to the new length.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from urllib.parse import quote_plus, unquote_plus

from backworks_cli.config.model import RedactConfig
from backworks_cli.core.exchange import Exchange, Headers, Message, Query, Request, Response
from backworks_cli.record.detectors import DETECTORS, looks_random
from backworks_cli.record.propagate import Table, spreads, update_length
from backworks_cli.record.redact_json import JSON_START, json_edits, splice
from backworks_cli.record.redact_rules import (
    BEARER,
    BEARER_PARAMS,
    FIELD_SUFFIXES,
    FIELDS,
    HEADERS,
    JWT,
    NAME_CACHE_SIZE,
    PLACEHOLDER,
    PLACEHOLDER_SPLIT,
    PREFIX,
    QUERY,
    SCHEME_VALUE,
    SCHEMES,
    URL_HEADERS,
    NameRule,
    bearer_hint,
    compile_patterns,
    is_keyish,
    is_reset_segment,
    normalise,
)
from backworks_cli.record.redact_text import (
    decode_body,
    kv_spans,
    may_hold_pairs,
    merge,
    multipart_parts,
    url_param_spans,
    xml_spans,
)

_PLAIN, _SECRET, _AUTHORIZATION, _COOKIE, _SET_COOKIE, _URL = range(6)  # header kinds


# How many secrets of earlier exchanges a recording session (capture, an import) keeps
# replacing in later ones.
SESSION_MEMORY = 32


def is_placeholder(value: str) -> bool:
    """Whether `value` is exactly one placeholder."""
    return len(value) == 25 and PLACEHOLDER.fullmatch(value) is not None


class Redactor:
    """Replaces secrets in exchanges by stable keyed placeholders; see the module docstring."""

    def __init__(self, key: bytes, rules: RedactConfig | None = None, *, remember: int = 0):
        """`remember`: how many secrets found in earlier exchanges to keep replacing in later
        ones (a recording session's redactor); 0 makes each exchange's redaction stand alone,
        as matching a live request against recordings needs."""
        rules = rules or RedactConfig()
        self.enabled = rules.enabled
        self._key = key.encode() if isinstance(key, str) else bytes(key)
        self._patterns = compile_patterns(tuple(rules.patterns))
        user_headers = frozenset(normalise(h) for h in rules.headers)
        user_query = frozenset(normalise(q) for q in rules.query)
        user_fields = frozenset(normalise(f) for f in rules.fields)
        self._header_secret = NameRule(HEADERS | user_headers, header=True)
        self._query_secret = NameRule(QUERY | user_query)
        self._field_secret = NameRule(FIELDS | user_fields, FIELD_SUFFIXES)
        self._form_secret = NameRule(FIELDS | QUERY | user_fields | user_query, FIELD_SUFFIXES)
        self._header_kinds: dict[str, int] = {}
        self._remember = remember
        self._memory: OrderedDict[str, str] = OrderedDict()
        self._local = threading.local()  # .found: the secrets of the exchange being redacted

    # --- public ------------------------------------------------------------------------------

    def placeholder(self, secret: str) -> str:
        """The stable stand-in for `secret` under this redactor's key."""
        data = secret.encode("utf-8", "surrogatepass")
        return PREFIX + hmac.new(self._key, data, hashlib.sha256).hexdigest()[:16]

    def exchange(self, ex: Exchange) -> Exchange:
        """`ex` with its request, response, messages and error redacted (`ex` itself if clean),
        and every secret found in one part replaced in all the others."""
        return self._everywhere(ex, self._exchange, "exchange")

    def request(self, req: Request) -> Request:
        return self._everywhere(req, self._request, "request")

    def response(self, resp: Response) -> Response:
        return self._everywhere(resp, self._response, "response")

    def _everywhere(self, part, redact, kind: str):
        """`part` redacted by `redact`, then each secret found in it (and each remembered one)
        replaced wherever else it occurs, by the Table's method of the same `kind`."""
        if not self.enabled:
            return part
        with self._collecting() as found:
            part = redact(part)
        table = self._table(found)
        return getattr(table, kind)(part) if table else part

    def findings(self, ex: Exchange) -> dict[str, str]:
        """The secrets this redactor would replace in `ex`, each with the rule that found it."""
        with self._collecting() as found:
            self._exchange(ex)
        return found

    @contextmanager
    def _collecting(self) -> Iterator[dict[str, str]]:
        """Notes, while one exchange (or message) is redacted, each secret found and the rule
        that found it; per thread, as hosts may redact in several."""
        found = self._local.found = {}
        try:
            yield found
        finally:
            self._local.found = None

    def _hide(self, secret: str, why: str = "secret name") -> str:
        """The placeholder of `secret`, which is noted as found in the current exchange."""
        found = getattr(self._local, "found", None)
        if found is not None:
            found.setdefault(secret, why)
        return self.placeholder(secret)

    def _table(self, found: dict[str, str]) -> Table | None:
        """What to replace across the exchange: its own secrets and the remembered ones."""
        secrets = {secret: self.placeholder(secret) for secret in found}
        if self._remember:
            memory = self._memory
            for secret, placeholder in secrets.items():
                if spreads(secret) and len(secret) >= 8:
                    memory[secret] = placeholder
                    memory.move_to_end(secret)
            while len(memory) > self._remember:
                memory.popitem(last=False)
            if memory:
                secrets = {**memory, **secrets}
        return Table(secrets) if secrets else None

    def _exchange(self, ex: Exchange) -> Exchange:
        request = self._request(ex.request)
        response = self._response(ex.response) if ex.response is not None else None
        messages = self._messages(ex.messages, ex.kind)
        error = self._scrub(ex.error) if ex.error else ex.error
        if (
            request is ex.request
            and response is ex.response
            and messages is ex.messages
            and error is ex.error
        ):
            return ex
        return replace(ex, request=request, response=response, messages=messages, error=error)

    def _request(self, req: Request) -> Request:
        headers = self._headers(req.headers)
        query = self._query(req.query)
        path = self._url(req.path) if "?" in req.path or "#" in req.path else self._path(req.path)
        body = self._body(req.body, req.content_type)
        if headers is req.headers and query is req.query and path == req.path and body is req.body:
            return req
        if body is not req.body:
            headers = update_length(headers, req.body, body)
        return replace(req, headers=headers, query=query, path=path, body=body)

    def _response(self, resp: Response) -> Response:
        headers = self._headers(resp.headers)
        body = self._body(resp.body, resp.content_type)
        if headers is resp.headers and body is resp.body:
            return resp
        if body is not resp.body:
            headers = update_length(headers, resp.body, body)
        return replace(resp, headers=headers, body=body)

    # --- headers -----------------------------------------------------------------------------

    def _headers(self, headers: Headers) -> Headers:
        # The common case: no credential header and nothing in any value worth a closer look.
        kind = self._header_kind
        if all(kind(name) == _PLAIN for name, _ in headers) and not self._any_hint(headers):
            return headers
        out = None
        for i, (name, value) in enumerate(headers):
            new = self._header(name, value)
            if new != value:
                if out is None:
                    out = list(headers)
                out[i] = (name, new)
        return headers if out is None else tuple(out)

    def _header_kind(self, name: str) -> int:
        kind = self._header_kinds.get(name)
        if kind is None:
            norm = normalise(name)
            if norm == "cookie":
                kind = _COOKIE
            elif norm in ("setcookie", "setcookie2"):
                kind = _SET_COOKIE
            elif norm in URL_HEADERS:
                kind = _URL
            elif not self._header_secret(name):
                kind = _PLAIN
            elif "authorization" in norm:
                kind = _AUTHORIZATION
            else:
                kind = _SECRET
            if len(self._header_kinds) >= NAME_CACHE_SIZE:
                self._header_kinds.clear()
            self._header_kinds[name] = kind
        return kind

    def _header(self, name: str, value: str) -> str:
        kind = self._header_kind(name)
        if kind == _PLAIN:
            return self._scrub(value)
        if kind == _URL:
            return self._url(value)
        if kind == _COOKIE:
            return self._cookie(value)
        if kind == _SET_COOKIE:
            return "\n".join(self._set_cookie(line) for line in value.split("\n"))
        return self._credential(value, any_scheme=kind == _AUTHORIZATION)

    def _credential(self, value: str, any_scheme: bool) -> str:
        """A credential header's value: the scheme kept, the rest replaced."""
        match = SCHEME_VALUE.fullmatch(value)
        if match and (any_scheme or match[1].lower() in SCHEMES):
            rest = match[3]
            if is_placeholder(rest):
                return value
            return match[1] + match[2] + self._hide(rest, "credential header")
        secret = value.strip()
        if not secret or is_placeholder(secret):
            return value
        return self._hide(secret, "credential header")

    def _cookie(self, value: str) -> str:
        parts = value.split(";")
        changed = False
        for i, part in enumerate(parts):
            new = self._cookie_pair(part)
            if new is not part:
                parts[i] = new
                changed = True
        return ";".join(parts) if changed else value

    def _set_cookie(self, line: str) -> str:
        pair, sep, attributes = line.partition(";")
        new = self._cookie_pair(pair)
        return line if new is pair else new + sep + attributes

    def _cookie_pair(self, part: str) -> str:
        """`name=value` with the value replaced (a value without a name is replaced whole)."""
        name, eq, value = part.partition("=")
        if not eq:
            name, value = "", part
        core = value.strip()
        quoted = len(core) >= 2 and core[0] == core[-1] == '"'
        secret = core[1:-1] if quoted else core
        if not secret or is_placeholder(secret):
            return part
        start = value.index(core)
        new = self._hide(secret, "cookie")
        if quoted:
            new = f'"{new}"'
        return name + eq + value[:start] + new + value[start + len(core) :]

    # --- URLs and query strings ---------------------------------------------------------------

    def _query(self, query: Query) -> Query:
        is_secret = self._query_secret
        if not any(is_secret(name) for name, _ in query) and not self._any_hint(query):
            return query
        out = None
        for i, (name, value) in enumerate(query):
            if is_secret(name):
                new = (
                    value
                    if not value or is_placeholder(value)
                    else self._hide(value, "secret query parameter")
                )
            else:
                new = self._scrub(value)
            if new != value:
                if out is None:
                    out = list(query)
                out[i] = (name, new)
        return query if out is None else tuple(out)

    def _url(self, url: str) -> str:
        head, hash_, fragment = url.partition("#")
        base, question, query = head.partition("?")
        new_base = self._path(base)
        new_query = self._query_string(query, self._query_secret)
        if "=" in fragment:
            new_fragment = self._query_string(fragment, self._query_secret)
        else:
            new_fragment = self._scrub(fragment)
        if new_base is base and new_query is query and new_fragment is fragment:
            return url
        return new_base + question + new_query + hash_ + new_fragment

    def _query_string(self, text: str, is_secret: NameRule) -> str:
        """An urlencoded string (query, fragment or form body) with secret values replaced;
        every other byte, escapes included, stays as it was."""
        if not text:
            return text
        parts = text.split("&")
        changed = False
        for i, part in enumerate(parts):
            name, eq, value = part.partition("=")
            if eq and value and is_secret(unquote_plus(name)):
                secret = unquote_plus(value)
                new = part if is_placeholder(secret) else name + eq + self._hide(secret)
            elif eq:
                new_value = self._scrub_encoded(value)
                new = part if new_value is value else name + eq + new_value
            else:
                new = self._scrub_encoded(part)
            if new is not part:
                parts[i] = new
                changed = True
        return "&".join(parts) if changed else text

    def _scrub_encoded(self, value: str) -> str:
        """A percent-encoded value scrubbed as the text it stands for."""
        if "%" not in value and "+" not in value:
            return self._scrub(value)
        decoded = unquote_plus(value)
        new = self._scrub(decoded)
        return value if new == decoded else quote_plus(new, safe=":/")

    # --- bodies and messages ------------------------------------------------------------------

    def _body(self, body: bytes, content_type: str | None) -> bytes:
        if not body:
            return body
        ctype = content_type.lower() if content_type else ""
        if "multipart/" in ctype:
            return self._multipart(body, content_type or "")
        decoded = decode_body(body, ctype)
        if decoded is None:
            return body
        text, codec = decoded
        if "x-www-form-urlencoded" in ctype:
            new = self._query_string(text, self._form_secret)
        elif "event-stream" in ctype:
            new = self._event_stream(text)
        else:
            new = self._text(text)
        return body if new == text else new.encode(codec, "surrogatepass")

    def _multipart(self, body: bytes, ctype: str) -> bytes:
        """Each part of a multipart body: a secret-named field replaced whole, any other part
        (a JSON field, an uploaded .env file) redacted as the body it is."""
        edits = []
        for name, part_type, start, end in multipart_parts(body, ctype):
            content = body[start:end]
            if not content:
                continue
            if name and self._form_secret(name):
                secret = content.decode("utf-8", "replace")
                if not is_placeholder(secret):
                    edits.append((start, end, self._hide(secret).encode()))
                continue
            new = self._body(content, part_type or "text/plain")
            if new is not content:
                edits.append((start, end, new))
        if not edits:
            return body
        out, last = [], 0
        for start, end, new in edits:
            out += [body[last:start], new]
            last = end
        out.append(body[last:])
        return b"".join(out)

    def _messages(self, messages: tuple[Message, ...], kind: str = "http") -> tuple[Message, ...]:
        out = None
        for i, message in enumerate(messages):
            if not message.content:
                continue
            if not message.is_text:
                content = self._binary(message.content)
            elif kind == "sse" and b"data:" in message.content:
                content = self._body(message.content, "text/event-stream")
            else:
                content = self._body(message.content, "text/plain")
            if content is not message.content:
                if out is None:
                    out = list(messages)
                out[i] = replace(message, content=content)
        return messages if out is None else tuple(out)

    def _binary(self, data: bytes) -> bytes:
        """A binary message: secrets written in it as text (tokens, keys) replaced."""
        text = data.decode("latin-1")
        new = self._scrub(text)
        return data if new == text else new.encode("latin-1", "replace")

    def _event_stream(self, text: str) -> str:
        """Server-sent events: each `data:` line as JSON or text, every other line as text."""
        return "\n".join(
            "data:" + self._text(line[5:]) if line.startswith("data:") else self._scrub(line)
            for line in text.split("\n")
        )

    def _text(self, text: str) -> str:
        """A text value: JSON (a document or one per line) by field rules, else free text."""
        if JSON_START(text):
            new = self._json(text)
            if new is not None:
                return new
            if "\n" in text:
                lines = text.split("\n")
                new_lines = [self._text(line) if line.strip() else line for line in lines]
                return "\n".join(new_lines) if new_lines != lines else text
        return self._plain(text)

    def _plain(self, text: str) -> str:
        """Text that is not JSON: `name = value` pairs and XML elements with secret names
        replaced, then the free-text rules."""
        spans = kv_spans(text, self._form_secret)
        if "</" in text:
            spans += xml_spans(text, self._form_secret)
        if spans:
            text = self._splice(text, merge(spans), "secret name")
        return self._scrub(text)

    def _splice(self, text: str, spans: list[tuple[int, int]], why: str) -> str:
        """`text` with each span replaced by its placeholder (placeholders kept as they are)."""
        edits = []
        for start, end in spans:
            secret = text[start:end]
            if secret and not is_placeholder(secret) and PREFIX not in secret:
                edits.append((start, end, self._hide(secret, why)))
        return splice(text, edits) if edits else text

    def _json(self, text: str) -> str | None:
        """`text` as a JSON document with its secrets replaced, or None when it is not JSON.
        Fields under secret names are replaced in place; secrets found by shape, in name/value
        pairs or under key-like names are noted, and replaced wherever they occur."""
        bom = "\ufeff" if text.startswith("\ufeff") else ""
        doc = text[len(bom) :]
        keys: set[str] = set()
        try:
            json.JSONDecoder(object_hook=keys.update).decode(doc)
        except (ValueError, RecursionError):
            return None
        seen = DETECTORS.present(doc)
        self._json_notes(doc, keys, seen)
        secret_keys = any(map(self._field_secret, keys))
        scan = self._scan_hint(doc, seen) or bool(self._patterns and "\\" in seen)
        if not secret_keys and not scan:
            return text
        edits = json_edits(
            doc,
            scan,
            is_secret=self._field_secret,
            stand_in=self._stand_in,
            scrub=self._scrub_rules,
            patterns=self._patterns,
        )
        return bom + splice(doc, edits) if edits else text

    def _json_notes(self, doc: str, keys: set[str], seen: frozenset[str]) -> None:
        """Notes as found, in a JSON document that parsed, has `keys` and holds the literals
        `seen` (DETECTORS.present): the values of secret-named name/value pairs, random-looking
        values under key-like names, and secrets inside its longer strings (tokens by shape,
        credentials in URLs, GraphQL arguments). Read with regular expressions over the text,
        which is valid JSON, rather than a walk in Python; each runs only when the document
        holds what it looks for."""
        if '"value"' in seen or '"Value"' in seen:
            for match in _PAIR.finditer(doc):
                name, value = (match[1], match[2]) if match[1] is not None else (match[4], match[3])
                self._pair(_unescape(name), _unescape(value))
        if any(map(is_keyish, keys)):
            for match in _KEYED_VALUE.finditer(doc):
                if is_keyish(match[1]) and looks_random(match[2]):
                    self._hide(match[2], "random value under a key-like name")
        # name = value pairs inside strings need an escaped quote (GraphQL arguments) or an
        # "=" (.env text); JSON's own "name": value pairs are the field rules' business.
        escaped = "\\" in seen
        pairs = "=" in doc or (escaped and '\\"' in doc)
        if escaped:
            doc = doc.replace('\\"', '"').replace("\\/", "/")
            seen = DETECTORS.present(doc)
        self._text_notes(doc, self._field_secret if pairs else None, seen)

    def _pair(self, name: str, value: str) -> None:
        """`{"name": "GITHUB_PAT", "value": "…"}`: the value of a secret-named pair."""
        if not value or is_placeholder(value):
            return
        if self._form_secret(name) or (self._header_secret(name) and name.lower() != "host"):
            self._hide(value, f"secret name {name!r}")
        elif is_keyish(name) and looks_random(value):
            self._hide(value, "random value under a key-like name")

    def _text_notes(
        self, text: str, names: NameRule | None, seen: frozenset[str] | None = None
    ) -> None:
        """Notes the secrets written inside free text, without changing it; `names` decides
        which `name = value` pairs hold one (None: no pairs are looked for), `seen` is
        DETECTORS.present(text) when known."""
        for start, end, name in DETECTORS.find(text, seen):
            secret = text[start:end]
            if PREFIX not in secret:
                self._hide(secret, name)
        for start, end in url_param_spans(text, self._query_secret):
            self._hide(text[start:end], "secret URL parameter")
        if names is None:
            return
        for start, end in kv_spans(text, names):
            secret = text[start:end]
            if not is_placeholder(secret):
                self._hide(secret, "secret name")

    def _stand_in(self, secret: str) -> str:
        """The placeholder of a secret JSON value; an empty value or a placeholder stays."""
        return secret if not secret or is_placeholder(secret) else self._hide(secret)

    def _scan_hint(self, text: str, seen: frozenset[str] | None = None) -> bool:
        """Whether any free-text rule could match in `text` (cheap, may say yes wrongly);
        `seen` is DETECTORS.present(text) when known."""
        if seen is not None:
            if "eyJ" in seen or not seen.isdisjoint(_BEARER_SIGNALS):
                return True
        elif "eyJ" in text or bearer_hint(text):
            return True
        return any(pattern.search(text) for pattern in self._patterns)

    def _any_hint(self, pairs: Headers) -> bool:
        """`_scan_hint` over the values of (name, value) pairs, built-in rules in one pass."""
        if not pairs:
            return False
        joined = "\n".join([value for _, value in pairs])
        if "eyJ" in joined or bearer_hint(joined) or DETECTORS.hint(joined):
            return True
        if "=" in joined and may_hold_pairs(joined):
            return True
        for pattern in self._patterns:
            for _, value in pairs:
                if pattern.search(value):
                    return True
        return False

    def _scrub(self, text: str) -> str:
        """Free text: JWTs, Bearer tokens, user patterns, provider tokens and keys by shape,
        credentials in URLs; existing placeholders untouched."""
        if not text:
            return text
        text = self._scrub_rules(text)
        found = DETECTORS.find(text)
        found += [
            (a, b, "secret URL parameter") for a, b in url_param_spans(text, self._query_secret)
        ]
        if not found:
            return text
        for start, end, rule in found:
            secret = text[start:end]
            if secret and PREFIX not in secret:
                self._hide(secret, rule)
        return self._splice(text, merge([(a, b) for a, b, _ in found]), "secret shape")

    def _scrub_rules(self, text: str) -> str:
        """JWTs, Bearer tokens and user patterns replaced; existing placeholders untouched."""
        if not text or not self._scan_hint(text):
            return text
        if "eyJ" in text:
            text = self._outside_placeholders(text, JWT, self._whole)
        if bearer_hint(text):
            text = BEARER.sub(self._bearer, text)
        for pattern in self._patterns:
            text = self._outside_placeholders(text, pattern, self._whole)
        return text

    def _path(self, path: str) -> str:
        """A path: tokens after reset/verify/invite-like segments, then the free-text rules."""
        if "/" in path:
            segments = path.split("/")
            for i in range(1, len(segments)):
                segment = segments[i]
                if (
                    len(segment) >= 16
                    and is_reset_segment(segments[i - 1])
                    and not is_placeholder(segment)
                ):
                    segments[i] = self._hide(segment, "token in the path")
            path = "/".join(segments)
        return self._scrub(path)

    def _outside_placeholders(self, text: str, regex: re.Pattern[str], fn) -> str:
        if PREFIX not in text:
            return regex.sub(fn, text)
        parts = PLACEHOLDER_SPLIT.split(text)
        for i in range(0, len(parts), 2):
            if parts[i]:
                parts[i] = regex.sub(fn, parts[i])
        return "".join(parts)

    def _whole(self, match: re.Match[str]) -> str:
        return self._hide(match[0], "pattern") if match[0] else match[0]

    def _bearer(self, match: re.Match[str]) -> str:
        token = match[2]
        word = token.rstrip("=")
        if word.lower() in BEARER_PARAMS and word != token:
            return match[0]  # a challenge parameter, e.g. Bearer realm="api"
        if len(word) < 8 or (word.isalpha() and len(word) < 20):
            return match[0]  # prose such as "Bearer authentication"
        return match[1] + self._hide(token, "bearer token")


_BEARER_SIGNALS = frozenset({"bearer", "Bearer", "BEARER"})
_JSON_STR = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
# "key": "value" with a long value, for random values under key-like names.
_KEYED_VALUE = re.compile(r'"([^"\\]{1,64})"\s*:\s*"([^"\\]{16,512})"')
# {"name": …, "value": …} in either order, as neighbours.
_PAIR = re.compile(
    r'"(?:name|key|Name|Key)"\s*:\s*'
    + _JSON_STR
    + r'\s*,\s*"(?:value|Value)"\s*:\s*'
    + _JSON_STR
    + r'|"(?:value|Value)"\s*:\s*'
    + _JSON_STR
    + r'\s*,\s*"(?:name|key|Name|Key)"\s*:\s*'
    + _JSON_STR
)


def _unescape(raw: str) -> str:
    """A JSON string literal's content as the text it stands for."""
    if "\\" not in raw:
        return raw
    try:
        return json.loads(f'"{raw}"')
    except ValueError:
        return raw
