"""Why a request missed: each matcher's verdict as a sentence and a diff of its part of the
recorded and received requests, for the nearest recordings (Miss, Candidate, MatcherResult).
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from backworks_cli.answer.match_keys import IGNORED, body_kind, form_pairs, header_values, json_data
from backworks_cli.answer.match_rules import IDENTIFIER, JsonPath
from backworks_cli.core.exchange import Request

_SHOW = 60  # characters of a value shown in a failure sentence


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


# --- failure sentences ----------------------------------------------------------------------


def show(value: Any) -> str:
    if value is IGNORED:
        return "(ignored)"
    text = repr(value) if isinstance(value, str) else _json_text(value)
    return text if len(text) <= _SHOW else text[: _SHOW - 1] + "…"


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (ValueError, TypeError, RecursionError):
        return repr(value)


def show_values(values: list[str] | None) -> str:
    if not values:
        return "absent"
    if len(values) == 1:
        return show(values[0])
    text = repr(values)
    return text if len(text) <= _SHOW else text[: _SHOW - 1] + "…"


def _group(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def pairs_diff(label: str, expected: Iterable, got: Iterable) -> str:
    exp, act = _group(expected), _group(got)
    names = [n for n in sorted(exp.keys() | act.keys()) if exp.get(n) != act.get(n)]
    if not names:
        return f"{label}: same pairs"
    first = names[0]
    expected, got = show_values(exp.get(first)), show_values(act.get(first))
    text = f"{label} {first}: expected {expected}, got {got}"
    return text + (f" (and {len(names) - 1} more)" if len(names) > 1 else "")


def _key_path(where: str, key: str) -> str:
    return f"{where}.{key}" if IDENTIFIER.match(key) else f"{where}[{json.dumps(key)}]"


def _same_leaf(a: Any, b: Any) -> bool:
    return type(a) is type(b) and (a == b or (a != a and b != b))  # NaN equals NaN here


def json_diff(expected: Any, got: Any, where: str = "$") -> tuple[str, str, str] | None:
    """The first difference between two JSON values: (path, expected, got), or None."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in sorted(expected.keys() | got.keys()):
            sub = _key_path(where, key)
            if key not in got:
                return sub, show(expected[key]), "absent"
            if key not in expected:
                return sub, "absent", show(got[key])
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
    return where, show(expected), show(got)


def _describe_body(part: tuple) -> str:
    if not part:
        return "an empty body"
    kind, length = part[0], part[1]
    return {"json": "a JSON body", "form": "form data"}.get(kind, f"{length} bytes")


def why_body(exp: Request, got: Request, ep: tuple, gp: tuple, paths: Sequence[JsonPath]) -> str:
    if ep == gp:
        return "body matches" if ep else "body empty, as recorded"
    if not ep or not gp or ep[0] != gp[0]:
        return f"body: expected {_describe_body(ep)}, got {_describe_body(gp)}"
    if ep[0] == "form":
        return pairs_diff("body field", form_pairs(exp.body), form_pairs(got.body))
    if ep[0] == "json":
        try:
            found = json_diff(json_data(exp.body, paths), json_data(got.body, paths))
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


def pair_lines(pairs: Iterable[tuple[str, str]], ignore: Iterable[str] = ()) -> list[str]:
    skip = set(ignore)
    return [f"{name}={value}" for name, value in sorted(pairs) if name not in skip]


def header_lines(name: str) -> Callable[[Request], list[str]]:
    return lambda request: [f"{name}: {value}" for value in header_values(request, name)]


def body_lines(request: Request, paths: Sequence[JsonPath]) -> list[str]:
    """The body as it is compared: JSON pretty-printed with sorted keys and ignored paths shown
    as (ignored), form fields one per line, text as its lines, anything else summarised."""
    body = request.body
    if not body:
        return []
    summary = f"({len(body)} bytes, blake2b {hashlib.blake2b(body, digest_size=8).hexdigest()})"
    if len(body) > _DIFF_BODY:
        return [summary]
    kind = body_kind(body, request.content_type)
    if kind == "json":
        try:
            text = json.dumps(json_data(body, paths), indent=2, sort_keys=True, ensure_ascii=False)
        except (ValueError, TypeError, RecursionError):
            pass
        else:
            return text.replace(json.dumps(IGNORED), "(ignored)").splitlines()
    if kind == "form":
        return pair_lines(form_pairs(body))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return [summary]
    if "\x00" in text:
        return [summary]
    return text.splitlines()
