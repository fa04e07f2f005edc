"""Replay matching: which recorded exchange answers a request, or why none does.

Matching is a short list of named matchers (method, path, query, body, one per configured
header), each comparing one aspect of a request in a normalised form:

- method: upper-cased; path: exact after percent-decoding;
- query: the multiset of (name, value) pairs, order-insensitive, minus `ignore_query` names;
- body: JSON (by Content-Type, or a body that starts with `{` or `[`) compared as data, so key
  order, whitespace and `1` vs `1.0` do not matter, minus the `ignore_json` paths;
  form-urlencoded bodies as a multiset of fields; anything else byte for byte;
- `header:<name>`: the header's values, where absent and present differ.

The normalised aspects together are the request's key; `ReplayIndex.lookup` computes it once
and makes one dict lookup, so a hit never scans. Only a miss scans, over a bounded number of
recordings (nearest first: same method and path, then same path, then any), and explains
itself with every matcher's verdict for the closest five.

Recordings carry redaction placeholders (`redacted:<hex>`); the engine redacts an incoming
request with the store's key before lookup, so placeholders compare here as plain strings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from backworks_cli.answer.match_keys import body_part, header_values
from backworks_cli.answer.match_rules import SEQUENCES, MatchRules, json_paths
from backworks_cli.answer.misses import (
    Candidate,
    MatcherResult,
    Miss,
    body_lines,
    diff_lines,
    header_lines,
    pair_lines,
    pairs_diff,
    show,
    show_values,
    why_body,
)
from backworks_cli.core.errors import ConfigError
from backworks_cli.core.exchange import Exchange, Request
from backworks_cli.core.paths import decode

MAX_EXAMINED = 200  # recordings compared at most when explaining a miss
MAX_NEAREST = 5  # candidates a miss reports
BODY_MEMO = 4096  # request bodies whose match-key part an index remembers
BODY_MEMO_BYTES = 64 * 1024  # larger bodies are not remembered


# --- the index ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Matcher:
    """One aspect: its name, and a sentence comparing the recorded and incoming requests given
    the aspect's parts of their two keys."""

    name: str
    why: Callable[[Request, Request, Any, Any], str]
    lines: Callable[[Request], list[str]]  # the aspect of one request, as lines to diff


@dataclass(frozen=True, slots=True)
class _Entry:
    seq: int  # position in recorded order
    exchange: Exchange
    key: tuple


def _target(request: Request) -> str:
    """path?query, also when a query value cannot be encoded (a lone surrogate)."""
    try:
        return request.target
    except UnicodeError:  # only a (non-empty) query is encoded
        return request.path + "?" + urlencode(request.query, errors="backslashreplace")


class ReplayIndex:
    """Recorded exchanges by match key; `lookup` answers a request with one of them or a Miss.

    Several recordings with the same key are served in recorded order. After the last one,
    `repeat_last` keeps serving the last, `cycle` starts over and `first` always serves the
    first. A match is never used up: every request that matched once matches again, and only
    the position within its group of repeats moves (`reset()` moves every group back to the
    start). An unmatched request gets a `Miss` naming the nearest recordings and the matchers
    they failed. The index is not locked: use one per event loop or thread.
    """

    def __init__(self, rules: MatchRules | None = None, *, max_examined: int = MAX_EXAMINED):
        self.rules = rules = rules or MatchRules()
        self.max_examined = max_examined
        self._paths = json_paths(rules.ignore_json, "replay.ignore_json")
        self._headers = tuple(h.lower() for h in rules.headers)
        # Clients resend the same bodies; their canonical JSON is worked out once.
        self._body_parts: dict[tuple[bytes, str | None], tuple] = {}
        if rules.sequence not in SEQUENCES:
            raise ConfigError(
                f"replay.sequence is {rules.sequence!r}, which is not a sequence mode.",
                "Use repeat_last, cycle or first.",
            )
        paths = self._paths
        ignore = rules.ignore_query
        self._matchers = (
            _Matcher("method", _why_method, lambda r: [r.method.upper()]),
            _Matcher("path", _why_path, lambda r: [decode(r.path)]),
            _Matcher("query", _why_query, lambda r: pair_lines(r.query, ignore)),
            _Matcher(
                "body",
                lambda exp, got, a, b: why_body(exp, got, a, b, paths),
                lambda r: body_lines(r, paths),
            ),
            *(_Matcher(f"header:{h}", _why_header(h), header_lines(h)) for h in self._headers),
        )
        self._by_key: dict[tuple, list[Exchange]] = {}
        self._cursor: dict[tuple, int] = {}
        self._by_route: dict[tuple[str, str], list[_Entry]] = {}
        self._by_path: dict[str, list[_Entry]] = {}
        self._all: list[_Entry] = []

    def key(self, request: Request) -> tuple:
        """The request's match key: (method, path, query, body, *header values)."""
        ignore = self.rules.ignore_query
        query = request.query
        if ignore:
            query = [pair for pair in query if pair[0] not in ignore]
        key = (
            request.method.upper(),
            decode(request.path),
            tuple(sorted(query)),
            self._body_part(request.body, request.content_type) if request.body else (),
        )
        if self._headers:
            key += tuple(header_values(request, h) for h in self._headers)
        return key

    def _body_part(self, body: bytes, content_type: str | None) -> tuple:
        memo = self._body_parts
        part = memo.get((body, content_type))
        if part is None:
            part = body_part(body, content_type, self._paths)
            if len(body) <= BODY_MEMO_BYTES:
                if len(memo) >= BODY_MEMO:
                    memo.clear()
                memo[(body, content_type)] = part
        return part

    def add(self, exchange: Exchange) -> None:
        """Index an exchange; add them in recorded order, which is the order repeats play."""
        key = self.key(exchange.request)
        entry = _Entry(len(self._all), exchange, key)
        self._by_key.setdefault(key, []).append(exchange)
        self._by_route.setdefault((key[0], key[1]), []).append(entry)
        self._by_path.setdefault(key[1], []).append(entry)
        self._all.append(entry)

    def lookup(self, request: Request, *, explain: bool = True) -> Exchange | Miss:
        """The recording for `request`, or a Miss; with explain=False the Miss lists no
        candidates (for callers that answer a miss some other way and show no explanation)."""
        key = self.key(request)
        found = self._by_key.get(key)
        if found is None:
            if not explain:
                return Miss(request.method, _target(request))
            return self._miss(request, key)
        if len(found) == 1 or self.rules.sequence == "first":
            return found[0]
        i = self._cursor.get(key, 0)
        if self.rules.sequence == "cycle":
            self._cursor[key] = (i + 1) % len(found)
            return found[i]
        self._cursor[key] = min(i + 1, len(found) - 1)
        return found[i]

    @property
    def keyed_by_headers(self) -> bool:
        """Whether request headers are part of the match key (header matchers are set)."""
        return bool(self._headers)

    def always_served(self) -> set[int]:
        """ids of the recordings that every request matching them gets, whatever came before:
        those alone with their match key (or first of their group, with sequence `first`).
        Empty when header matchers are set, since the headers are then part of the key."""
        if self.keyed_by_headers:
            return set()
        first = self.rules.sequence == "first"
        return {id(group[0]) for group in self._by_key.values() if first or len(group) == 1}

    def reset(self) -> None:
        """Every group of repeats back to its first recording."""
        self._cursor.clear()

    def __len__(self) -> int:
        return len(self._all)

    def explain(self, exchange: Exchange, request: Request) -> tuple[MatcherResult, ...]:
        """Every matcher's verdict on `request` against the recorded `exchange`."""
        return self._results(
            exchange.request, self.key(exchange.request), request, self.key(request)
        )

    # The slow path: bounded, nearest groups first.

    def _nearby(self, key: tuple) -> Iterator[_Entry]:
        seen: set[int] = set()
        examined = 0
        groups = (
            self._by_route.get((key[0], key[1]), ()),
            self._by_path.get(key[1], ()),
            self._all,
        )
        for group in groups:
            for entry in group:
                if examined >= self.max_examined:
                    return
                if entry.seq in seen:
                    continue
                seen.add(entry.seq)
                examined += 1
                yield entry

    def _miss(self, request: Request, key: tuple) -> Miss:
        scored = []
        for order, entry in enumerate(self._nearby(key)):
            passed = sum(a == b for a, b in zip(entry.key, key, strict=True))
            scored.append((-passed, order, entry))
        scored.sort(key=lambda item: item[:2])
        candidates = []
        for _, _, entry in scored[:MAX_NEAREST]:
            recorded = entry.exchange.request
            results = self._results(recorded, entry.key, request, key)
            candidates.append(
                Candidate(
                    exchange_id=entry.exchange.id,
                    method=recorded.method,
                    target=_target(recorded),
                    results=results,
                    score=sum(r.ok for r in results) / len(results),
                )
            )
        return Miss(request.method, _target(request), tuple(candidates))

    def _results(
        self, recorded: Request, rkey: tuple, request: Request, key: tuple
    ) -> tuple[MatcherResult, ...]:
        # A matcher passes exactly when its part of the two keys is equal, so a hit and a
        # miss's verdicts can never disagree; the sentence is worked out only for display.
        return tuple(
            MatcherResult(m.name, True, m.why(recorded, request, a, b))
            if a == b
            else MatcherResult(
                m.name,
                False,
                m.why(recorded, request, a, b),
                diff_lines(m.lines(recorded), m.lines(request)),
            )
            for m, a, b in zip(self._matchers, rkey, key, strict=True)
        )


def _why_method(exp: Request, got: Request, want: str, have: str) -> str:
    if want == have:
        return f"method {have}, as recorded"
    return f"method: expected {want}, got {have}"


def _why_query(exp: Request, got: Request, want: tuple, have: tuple) -> str:
    if want == have:
        return "query matches" if want else "no query, as recorded"
    return pairs_diff("query", want, have)


def _why_path(exp: Request, got: Request, want: str, have: str) -> str:
    if want == have:
        return f"path {have}, as recorded"
    return f"path: expected {show(want)}, got {show(have)}"


def _why_header(name: str) -> Callable[[Request, Request, Any, Any], str]:
    def why(exp: Request, got: Request, want: tuple, have: tuple) -> str:
        if want == have:
            return f"header {name} matches" if want else f"header {name} absent, as recorded"
        return f"header {name}: expected {show_values(list(want))}, got {show_values(list(have))}"

    return why
