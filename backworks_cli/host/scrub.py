"""What the admin API shows of the requests a host answered, with secrets replaced: the
journal's paths, query strings and details, the headers and bodies of /exchange, and reload
errors, through the recorder's Redactor (record/redact.py).

Redaction is on here even when backworks.yaml turns it off for the store. It runs under the
store's key when there is a store, so a secret shows as the placeholder it has in the store
and in a miss's explanation, else under a key of this process's own. Paths, queries and
details repeat, so their redacted forms are remembered.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

from backworks_cli.config.model import RedactConfig
from backworks_cli.core.errors import BackworksError
from backworks_cli.core.exchange import Request, Response
from backworks_cli.record.redact import Redactor

CACHE_SIZE = 10_000  # redacted paths, queries and details remembered; cleared when full
_JSON = (("content-type", "application/json"),)
_TEXT = (("content-type", "text/plain; charset=utf-8"),)


class Scrubber:
    """Redacts what the admin API sends (see the module docstring)."""

    def __init__(self, rules: RedactConfig | None = None, key: bytes | None = None):
        self._redactor = Redactor(
            key or secrets.token_bytes(32), replace(rules or RedactConfig(), enabled=True)
        )
        self._targets: dict[tuple[str, bytes], tuple[str, str]] = {}
        self._details: dict[str, dict] = {}

    def target(self, path: str, query: bytes) -> tuple[str, str]:
        """A journaled path and raw query string, redacted (the query as text)."""
        key = (path, query)
        found = self._targets.get(key)
        if found is None:
            redact = self._redactor.request
            text = query.decode("latin-1") if query else ""
            clean_path = redact(Request("GET", path)).path
            clean_query = redact(Request("GET", "/?" + text)).path[2:] if text else ""
            if len(self._targets) >= CACHE_SIZE:
                self._targets.clear()
            found = self._targets[key] = (clean_path, clean_query)
        return found

    def detail(self, detail: dict | None) -> dict | None:
        """A journal row's detail (why it was answered so) with secrets in its values replaced."""
        if not detail:
            return detail
        text = json.dumps(detail, ensure_ascii=False, default=str)
        found = self._details.get(text)
        if found is None:
            body = text.encode("utf-8", "surrogateescape")
            clean = self._redactor.response(Response(200, _JSON, body)).body
            found = detail if clean is body else json.loads(clean)
            if len(self._details) >= CACHE_SIZE:
                self._details.clear()
            self._details[text] = found
        return found

    def text(self, text: str) -> str:
        """Free text (a reload error quoting backworks.yaml, say) with secrets replaced."""
        body = text.encode("utf-8", "surrogateescape")
        clean = self._redactor.response(Response(200, _TEXT, body)).body
        return text if clean is body else clean.decode("utf-8", "surrogateescape")

    def request(self, method: str, message: Any) -> tuple[tuple, bytes]:
        """A kept request's (headers, body), redacted; `message` has `headers` and `body`."""
        clean = self._redactor.request(
            Request(method, "/", headers=tuple(message.headers), body=message.body)
        )
        return clean.headers, clean.body

    def response(self, status: int, message: Any) -> tuple[tuple, bytes]:
        """A kept response's (headers, body), redacted."""
        clean = self._redactor.response(
            Response(status, headers=tuple(message.headers), body=message.body)
        )
        return clean.headers, clean.body


def store_key(path: Path | None) -> bytes | None:
    """The redaction key of the store at `path`; None when there is no store to read."""
    if path is None or not Path(path).is_file():
        return None
    from backworks_cli.record.store import Store

    try:
        with Store.open(path) as store:
            return store.redaction_key()
    except BackworksError:
        return None
