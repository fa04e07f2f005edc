"""Drift: answers from live sources that no longer fit what backworks.yaml learned of them.

An endpoint's `responses` give, per status, the content type and the JSON Schema its answers
had when they were recorded. A live source (the upstream of a proxy endpoint or a capture, a
runtime handler, a database table) can change under them; `DriftCheck` compares each of its
answers with the learned response of that status and lists what no longer fits: another media
type (HTML where JSON was learned), a body that is not JSON, and the schema's violations (the
first MAX_VIOLATIONS, then one entry saying how many more).

Replayed answers are the recordings the schemas were learned from and generated ones are made
from the schemas, so neither is checked; nor are statuses with no learned response, and
endpoints without `responses`.

Checking runs where a host counts its requests (admin.Stats.record), which for `backworks mock`
is the request path, so it is budgeted: a token bucket of seconds, filled at SHARE of the wall
time up to BURST and drained by the measured cost of each check. A check that finds the bucket
empty is skipped and counted in `skipped`. The bucket starts full, so the first checks always
run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from backworks_cli.answer.modes.base import JSON, schema_validator, schema_violations
from backworks_cli.config.model import Config

# How answers from live sources are journaled (admin.Stats rows); only these are checked.
LIVE = frozenset({"proxy", "recorded", "handler", "database"})
MAX_VIOLATIONS = 5  # schema violations listed per answer; the rest are counted
SHARE = 0.05  # at most this share of wall time goes to checking, over time
BURST = 0.05  # seconds of checking the bucket holds when full


def media_type(value: str | None) -> str:
    """The media type of a Content-Type value, lower case ("" for none): application/json for
    "Application/JSON; charset=utf-8"."""
    return (value or "").split(";", 1)[0].strip().lower()


def is_json(media: str) -> bool:
    return media == JSON or media.endswith("+json")


def _header(headers: Any, wanted: str) -> str | None:
    for name, value in headers:
        if name.lower() == wanted:
            return value
    return None


class DriftCheck:
    """The learned responses of a configuration's endpoints, checked against live answers.

    `previous` is the check this one replaces after a reload: its budget and counts go on.
    `clock` measures the budget (perf_counter; tests pass a fake one).
    """

    def __init__(
        self,
        config: Config,
        *,
        share: float = SHARE,
        burst: float = BURST,
        clock: Callable[[], float] = time.perf_counter,
        previous: DriftCheck | None = None,
    ):
        self._learned: dict[str | None, dict[int, dict]] = {}
        for endpoint in config.endpoint_list():
            answers = {int(s): a for s, a in endpoint.responses.items() if s.isdigit()}
            if answers:
                self._learned[endpoint.name] = answers
        self._validators: dict[tuple[str | None, int], Any] = {}  # False: the schema cannot be used
        self.share, self.burst, self._clock = share, burst, clock
        self.tokens, self._filled = burst, clock()
        self.checked = 0  # answers checked
        self.skipped = 0  # answers not checked for lack of budget
        if previous is not None:
            self.tokens, self._filled = min(previous.tokens, burst), previous._filled
            self.checked, self.skipped = previous.checked, previous.skipped

    def check(self, endpoint: str | None, status: int, response: Any) -> list[dict] | None:
        """What in `response` (with .headers as pairs and the decoded .body) no longer fits
        the learned response for `status`: [] when everything fits, None when it was not
        checked (nothing learned for that status, or no budget left)."""
        learned = self._learned.get(endpoint)
        if learned is None:
            return None
        answer = learned.get(status)
        if answer is None:
            return None
        clock = self._clock
        now = clock()
        tokens = min(self.burst, self.tokens + (now - self._filled) * self.share)
        self._filled = now
        if tokens <= 0:
            self.tokens = tokens
            self.skipped += 1
            return None
        try:
            found = self._violations(endpoint, status, answer, response)
        except Exception:  # a check must never fail the request it looks at
            found = None
        self.tokens = tokens - (clock() - now)
        self.checked += 1
        return found

    def violations(self, endpoint: str | None, status: int, response: Any) -> list[dict] | None:
        """As `check`, without the budget: None only when nothing is learned for `status`."""
        answer = self._learned.get(endpoint, {}).get(status)
        return None if answer is None else self._violations(endpoint, status, answer, response)

    def _violations(
        self, endpoint: str | None, status: int, answer: dict, response: Any
    ) -> list[dict]:
        want = media_type(answer.get("content_type")) or JSON
        schema = answer.get("schema")
        body = response.body
        if not body:
            if schema is None:
                return []
            return [{"path": "$", "message": f"the body is empty; {want} was learned"}]
        got = media_type(_header(response.headers, "content-type"))
        if got != want and not (is_json(got) and is_json(want)):
            message = f"the answer is {got or 'not typed'}; {want} was learned"
            return [{"path": "$", "message": message}]
        if schema is None or not is_json(want):
            return []
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as error:
            return [{"path": "$", "message": f"the body is not valid JSON: {error}"}]
        key = (endpoint, status)
        validator = self._validators.get(key)
        if validator is None:
            validator = self._validators[key] = schema_validator(schema)
        if validator is False:
            return []
        try:
            found = schema_violations(validator, data)
        except Exception:  # a schema jsonschema cannot use (a bad $ref, an unknown type)
            self._validators[key] = False
            return []
        if len(found) > MAX_VIOLATIONS:
            more = len(found) - MAX_VIOLATIONS
            found = found[:MAX_VIOLATIONS]
            found.append({"path": "…", "message": f"{more} more not listed", "more": more})
        return found
