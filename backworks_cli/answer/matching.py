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

import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from backworks_cli.core.errors import ConfigError
from backworks_cli.core.exchange import Exchange, Request
from backworks_cli.core.paths import decode

SEQUENCES = ("repeat_last", "cycle", "first")
MAX_EXAMINED = 200  # recordings compared at most when explaining a miss
MAX_NEAREST = 5  # candidates a miss reports
BODY_MEMO = 4096  # request bodies whose match-key part an index remembers
BODY_MEMO_BYTES = 64 * 1024  # larger bodies are not remembered
_INLINE = 64  # canonical bodies longer than this are kept in the key as a digest
_SHOW = 60  # characters of a value shown in a failure sentence

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_JSON_START = re.compile(rb"\s*[\[{]")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STEP = re.compile(
    r"""\.(?P<name>[^.\[\]]+)|\[(?:(?P<index>-?\d+)|(?P<star>\*)|'(?P<sq>[^']*)'|"(?P<dq>[^"]*)")\]"""
)


class _Any:
    """The `*` step of a JSON path: every key of an object, every item of an array."""

    def __repr__(self) -> str:
        return "*"


ANY = _Any()
JsonPath = tuple[str | int | _Any, ...]

# Stands in for an ignored array item (object keys are deleted instead), so that the array's
# length is still compared while the item's value is not.
_IGNORED = "\x00(ignored)"


def parse_json_path(path: str) -> JsonPath:
    """`$.items[*].nonce` -> ("items", ANY, "nonce"); raises ValueError saying what is wrong.

    Supported: `$` (the whole body), `.name`, `['name']`, `[0]`, `[-1]`, `[*]` and `.*`.
    A negative index counts from the end of each body's own array.
    """
    if not path.startswith("$"):
        raise ValueError("a JSON path starts with $, e.g. $.meta.nonce")
    steps: list[str | int | _Any] = []
    pos = 1
    while pos < len(path):
        m = _STEP.match(path, pos)
        if not m:
            raise ValueError(f"cannot read {path[pos:]!r} (character {pos + 1})")
        if m["name"] is not None:
            steps.append(ANY if m["name"] == "*" else m["name"])
        elif m["index"] is not None:
            steps.append(int(m["index"]))
        elif m["star"] is not None:
            steps.append(ANY)
        else:
            steps.append(m["sq"] if m["sq"] is not None else m["dq"])
        pos = m.end()
    return tuple(steps)


@dataclass(frozen=True)
class MatchRules:
    """How requests are compared with recordings; the `replay:` block of backworks.yaml."""

    ignore_query: frozenset[str] = frozenset()  # query parameter names not compared
    ignore_json: tuple[str, ...] = ()  # JSON paths in request bodies not compared
    headers: tuple[str, ...] = ()  # request headers that must match (names case-insensitive)
    sequence: str = "repeat_last"  # "repeat_last" | "cycle" | "first"

    @classmethod
    def from_config(
        cls, block: dict | None, defaults: dict | None = None, *, where: str = "endpoint replay"
    ) -> MatchRules:
        """Rules from an endpoint's `replay:` block over the top-level `replay:` defaults.

        Endpoint keys replace default keys whole (lists are not merged). `where` names the
        endpoint's block in error messages, e.g. "endpoints.get_users.replay".
        """
        merged: dict[str, tuple[str, Any]] = {}
        for label, source in (("replay", defaults), (where, block)):
            if source is None:
                continue
            if not isinstance(source, dict):
                raise ConfigError(
                    f"{label} must be a mapping of matching rules, got {source!r}.",
                    "Write it like `replay: {ignore_query: [ts], sequence: repeat_last}`.",
                )
            for key, value in source.items():
                if key not in _RULE_KEYS:
                    close = difflib.get_close_matches(str(key), _RULE_KEYS, n=1)
                    raise ConfigError(
                        f"{label} has an unknown key {key!r}.",
                        (f"Did you mean {close[0]!r}? " if close else "")
                        + f"The keys are: {', '.join(_RULE_KEYS)}.",
                    )
                merged[key] = (f"{label}.{key}", value)

        rules: dict[str, Any] = {}
        if "ignore_query" in merged:
            rules["ignore_query"] = frozenset(_names(*merged["ignore_query"], "ts"))
        if "ignore_json" in merged:
            at, value = merged["ignore_json"]
            paths = _names(at, value, "$.timestamp")
            _json_paths(paths, at)
            rules["ignore_json"] = paths
        if "headers" in merged:
            at, value = merged["headers"]
            names = _names(at, value, "X-Tenant")
            for i, name in enumerate(names):
                if not _HEADER_NAME.match(name):
                    raise ConfigError(
                        f"{at}[{i}] {name!r} is not a header name.",
                        "Give the bare header name, e.g. X-Tenant (no colon, no value).",
                    )
            rules["headers"] = names
        if "sequence" in merged:
            at, value = merged["sequence"]
            value = "repeat_last" if value is None else value
            if value not in SEQUENCES:
                close = difflib.get_close_matches(str(value), SEQUENCES, n=1)
                raise ConfigError(
                    f"{at} is {value!r}, which is not a sequence mode.",
                    (f"Did you mean {close[0]!r}? " if close else "")
                    + "Use repeat_last (serve repeats in order, then keep the last), cycle "
                    "(start over) or first (always the first).",
                )
            rules["sequence"] = value
        return cls(**rules)


_RULE_KEYS = ("ignore_query", "ignore_json", "headers", "sequence")


def _names(at: str, value: Any, example: str) -> tuple[str, ...]:
    """A YAML list of non-empty strings; null means an empty list."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(
            f"{at} must be a list, got {value!r}.",
            f"Write a YAML list, e.g. `{at.rsplit('.', 1)[-1]}: [{example}]`.",
        )
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise ConfigError(
                f"{at}[{i}] must be a non-empty string, got {item!r}.",
                f"Quote it if YAML reads it as something else, e.g. '{example}'.",
            )
    return tuple(value)


def _json_paths(paths: Iterable[str], at: str) -> tuple[JsonPath, ...]:
    parsed = []
    for i, path in enumerate(paths):
        try:
            parsed.append(parse_json_path(path))
        except ValueError as e:
            raise ConfigError(
                f"{at}[{i}] {path!r} is not a JSON path: {e}.",
                "Write paths like $.timestamp, $.meta.nonce, $.items[*].nonce or $['odd key'].",
            ) from None
    return tuple(parsed)


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatcherResult:
    name: str  # "method", "path", "query", "body", "header:x-tenant"
    ok: bool
    why: str  # one sentence: what matched, or what was expected and what came
    # For a failed matcher, its aspect of both requests as a unified diff without file
    # headers: "-" lines are the recording's, "+" lines the incoming request's, "…" a gap.
    diff: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """A recording a missed request was compared with, and every matcher's verdict."""

    exchange_id: int | None
    method: str
    target: str  # path?query of the recording
    results: tuple[MatcherResult, ...]
    score: float  # share of matchers that passed

    @property
    def failed(self) -> tuple[MatcherResult, ...]:
        return tuple(r for r in self.results if not r.ok)


@dataclass(frozen=True)
class Miss:
    """No recording matches `method target`; `candidates` are the nearest, best first."""

    method: str
    target: str
    candidates: tuple[Candidate, ...] = field(default=())

    def describe(self) -> str:
        """One line for logs: the request and how the nearest recording differs."""
        text = f"no recording matches {self.method} {self.target}"
        if self.candidates:
            best = self.candidates[0]
            reasons = "; ".join(r.why for r in best.failed)
            text += f"; nearest is #{best.exchange_id} {best.method} {best.target}: {reasons}"
        return text

    def to_json(self) -> dict:
        return {
            "error": "no recording matches",
            "request": {"method": self.method, "target": self.target},
            "nearest": [
                {
                    "id": c.exchange_id,
                    "method": c.method,
                    "target": c.target,
                    "score": round(c.score, 3),
                    "matchers": [_result_json(r) for r in c.results],
                }
                for c in self.candidates
            ],
        }


def _result_json(result: MatcherResult) -> dict:
    out: dict[str, Any] = {"name": result.name, "ok": result.ok, "why": result.why}
    if result.diff:
        out["diff"] = list(result.diff)
    return out


# --- normalisation ------------------------------------------------------------------------


def _number(text: str) -> int | float:
    """JSON numbers with a fraction or exponent: integral ones become ints, so 1.0 == 1."""
    value = float(text)
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


# One decoder and one encoder for every body: json.loads/dumps with options build new ones per call.
_DECODER = json.JSONDecoder(parse_float=_number)
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


def _load_json(body: bytes) -> Any:
    return _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))


def _drop(node: Any, steps: JsonPath) -> Any:
    """`node` without what `steps` points at: object keys deleted, array items blanked."""
    if not steps:
        return _IGNORED
    head, rest = steps[0], steps[1:]
    if isinstance(node, dict):
        if head is ANY:
            keys = list(node)
        elif isinstance(head, str) and head in node:
            keys = [head]
        else:
            return node
        out = dict(node)
        for key in keys:
            if rest:
                out[key] = _drop(node[key], rest)
            else:
                del out[key]
        return out
    if isinstance(node, list):
        if head is ANY:
            items = range(len(node))
        elif (
            isinstance(head, int) and not isinstance(head, bool) and -len(node) <= head < len(node)
        ):
            items = [head]
        else:
            return node
        out = list(node)
        for i in items:
            out[i] = _drop(node[i], rest)
        return out
    return node


def _strip(data: Any, paths: Sequence[JsonPath]) -> Any:
    for steps in paths:
        data = _drop(data, steps)
    return data


def _body_kind(body: bytes, content_type: str | None) -> str:
    ctype = (content_type or "").lower()
    if "x-www-form-urlencoded" in ctype:
        return "form"
    if "json" in ctype or _JSON_START.match(body):
        return "json"
    return "bytes"


def _form_pairs(body: bytes) -> list[tuple[str, str]]:
    text = body.decode("utf-8", "surrogateescape")
    return sorted(parse_qsl(text, keep_blank_values=True, errors="surrogateescape"))


def _digest(data: bytes) -> tuple[int, bytes]:
    """(length, the bytes themselves when short, else their blake2b digest)."""
    if len(data) <= _INLINE:
        return len(data), data
    return len(data), hashlib.blake2b(data, digest_size=16).digest()


def _json_data(body: bytes, paths: Sequence[JsonPath]) -> Any:
    """The body as JSON data without the ignored paths; ValueError/RecursionError if not JSON."""
    return _strip(_load_json(body), paths)


def body_part(body: bytes, content_type: str | None, paths: Sequence[JsonPath] = ()) -> tuple:
    """The body's share of a match key: () when empty, else (kind, length, bytes-or-digest)."""
    if not body:
        return ()
    kind = _body_kind(body, content_type)
    if kind == "json":
        try:
            canonical = _canonical(_json_data(body, paths))
        except (ValueError, RecursionError):
            kind = "bytes"
        else:
            return ("json", *_digest(canonical.encode()))
    if kind == "form":
        return ("form", *_digest(json.dumps(_form_pairs(body)).encode()))
    return ("bytes", *_digest(body))


def _header_values(request: Request, name: str) -> tuple[str, ...]:
    return tuple(v for k, v in request.headers if k.lower() == name)


# --- failure sentences ----------------------------------------------------------------------


def _show(value: Any) -> str:
    if value is _IGNORED:
        return "(ignored)"
    text = repr(value) if isinstance(value, str) else _json_text(value)
    return text if len(text) <= _SHOW else text[: _SHOW - 1] + "…"


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (ValueError, TypeError, RecursionError):
        return repr(value)


def _values(values: list[str] | None) -> str:
    if not values:
        return "absent"
    if len(values) == 1:
        return _show(values[0])
    text = repr(values)
    return text if len(text) <= _SHOW else text[: _SHOW - 1] + "…"


def _group(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def _pairs_diff(label: str, expected: Iterable, got: Iterable) -> str:
    exp, act = _group(expected), _group(got)
    names = [n for n in sorted(exp.keys() | act.keys()) if exp.get(n) != act.get(n)]
    if not names:
        return f"{label}: same pairs"
    first = names[0]
    text = f"{label} {first}: expected {_values(exp.get(first))}, got {_values(act.get(first))}"
    return text + (f" (and {len(names) - 1} more)" if len(names) > 1 else "")


def _key_path(where: str, key: str) -> str:
    return f"{where}.{key}" if _IDENTIFIER.match(key) else f"{where}[{json.dumps(key)}]"


def _same_leaf(a: Any, b: Any) -> bool:
    return type(a) is type(b) and (a == b or (a != a and b != b))  # NaN equals NaN here


def json_diff(expected: Any, got: Any, where: str = "$") -> tuple[str, str, str] | None:
    """The first difference between two JSON values: (path, expected, got), or None."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in sorted(expected.keys() | got.keys()):
            sub = _key_path(where, key)
            if key not in got:
                return sub, _show(expected[key]), "absent"
            if key not in expected:
                return sub, "absent", _show(got[key])
            found = json_diff(expected[key], got[key], sub)
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(got, list):
        for i, (a, b) in enumerate(zip(expected, got, strict=False)):
            found = json_diff(a, b, f"{where}[{i}]")
            if found:
                return found
        if len(expected) != len(got):
            return where, f"{len(expected)} items", f"{len(got)} items"
        return None
    if _same_leaf(expected, got):
        return None
    return where, _show(expected), _show(got)


def _describe_body(part: tuple) -> str:
    if not part:
        return "an empty body"
    kind, length = part[0], part[1]
    return {"json": "a JSON body", "form": "form data"}.get(kind, f"{length} bytes")


def _why_body(exp: Request, got: Request, ep: tuple, gp: tuple, paths: Sequence[JsonPath]) -> str:
    if ep == gp:
        return "body matches" if ep else "body empty, as recorded"
    if not ep or not gp or ep[0] != gp[0]:
        return f"body: expected {_describe_body(ep)}, got {_describe_body(gp)}"
    if ep[0] == "form":
        return _pairs_diff("body field", _form_pairs(exp.body), _form_pairs(got.body))
    if ep[0] == "json":
        try:
            found = json_diff(_json_data(exp.body, paths), _json_data(got.body, paths))
        except (ValueError, RecursionError):
            found = None
        if found:
            path, want, have = found
            return f"body {path}: expected {want}, got {have}"
        return "body: JSON differs"
    at = next(
        (i for i, (a, b) in enumerate(zip(exp.body, got.body, strict=False)) if a != b),
        min(len(exp.body), len(got.body)),
    )
    return f"body: expected {len(exp.body)} bytes, got {len(got.body)}, differing from byte {at}"


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
    except UnicodeError:
        query = urlencode(request.query, errors="backslashreplace")
        return request.path + ("?" + query if query else "")


class ReplayIndex:
    """Recorded exchanges by match key; `lookup` answers a request with one of them or a Miss.

    Several recordings with the same key are served in recorded order. After the last one,
    `repeat_last` keeps serving the last, `cycle` starts over and `first` always serves the
    first. A match is never used up: every request that matched once matches again, and only
    the position within its group of repeats moves (`reset()` moves every group back to the
    start). An unmatched request gets a `Miss` naming the nearest recordings and the matchers
    they failed. The index is not locked: use one per event loop or thread.
    """

    def __init__(self, rules: MatchRules = MatchRules(), *, max_examined: int = MAX_EXAMINED):
        self.rules = rules
        self.max_examined = max_examined
        self._paths = _json_paths(rules.ignore_json, "replay.ignore_json")
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
            _Matcher("query", _why_query, lambda r: _pair_lines(r.query, ignore)),
            _Matcher(
                "body",
                lambda exp, got, a, b: _why_body(exp, got, a, b, paths),
                lambda r: _body_lines(r, paths),
            ),
            *(_Matcher(f"header:{h}", _why_header(h), _header_lines(h)) for h in self._headers),
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
            key += tuple(_header_values(request, h) for h in self._headers)
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
                return Miss(request.method, _target(request), ())
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
    return _pairs_diff("query", want, have)


def _why_path(exp: Request, got: Request, want: str, have: str) -> str:
    if want == have:
        return f"path {have}, as recorded"
    return f"path: expected {_show(want)}, got {_show(have)}"


def _why_header(name: str) -> Callable[[Request, Request, Any, Any], str]:
    def why(exp: Request, got: Request, want: tuple, have: tuple) -> str:
        if want == have:
            return f"header {name} matches" if want else f"header {name} absent, as recorded"
        return f"header {name}: expected {_values(list(want))}, got {_values(list(have))}"

    return why


# --- failure diffs --------------------------------------------------------------------------

DIFF_LINES = 40  # lines of a failed matcher's diff that are kept
_DIFF_INPUT = 2000  # lines of each side that are compared; difflib is quadratic at worst
_DIFF_BODY = 256 * 1024  # bodies above this many bytes are summarised, not diffed


def diff_lines(recorded: list[str], received: list[str]) -> tuple[str, ...]:
    """A unified diff of two renderings, two lines of context, hunks separated by "…"."""
    out: list[str] = []
    hunks = difflib.unified_diff(recorded[:_DIFF_INPUT], received[:_DIFF_INPUT], lineterm="", n=2)
    for line in hunks:
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            if out:
                out.append("…")
            continue
        out.append(line)
    if len(out) > DIFF_LINES:
        more = len(out) - DIFF_LINES
        out[DIFF_LINES:] = [f"… {more} more line{'s' if more > 1 else ''}"]
    return tuple(out)


def _pair_lines(pairs: Iterable[tuple[str, str]], ignore: Iterable[str] = ()) -> list[str]:
    skip = set(ignore)
    return [f"{name}={value}" for name, value in sorted(pairs) if name not in skip]


def _header_lines(name: str) -> Callable[[Request], list[str]]:
    return lambda request: [f"{name}: {value}" for value in _header_values(request, name)]


def _body_lines(request: Request, paths: Sequence[JsonPath]) -> list[str]:
    """The body as it is compared: JSON pretty-printed with sorted keys and ignored paths shown
    as (ignored), form fields one per line, text as its lines, anything else summarised."""
    body = request.body
    if not body:
        return []
    summary = f"({len(body)} bytes, blake2b {hashlib.blake2b(body, digest_size=8).hexdigest()})"
    if len(body) > _DIFF_BODY:
        return [summary]
    kind = _body_kind(body, request.content_type)
    if kind == "json":
        try:
            text = json.dumps(_json_data(body, paths), indent=2, sort_keys=True, ensure_ascii=False)
        except (ValueError, TypeError, RecursionError):
            pass
        else:
            return text.replace(json.dumps(_IGNORED), "(ignored)").splitlines()
    if kind == "form":
        return _pair_lines(_form_pairs(body))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return [summary]
    if "\x00" in text:
        return [summary]
    return text.splitlines()
