"""Numbers, one rule for every wing: THE reading of numbers a request writes as text (a path
parameter, a query value), which never raises on what a client sends; nearest-rank
percentiles; and the p50/p95 latency that infer writes and the modes replay when none is
written."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

_INTEGER = re.compile(r"[-+]?[0-9]+").fullmatch
_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?").fullmatch


def integer(text: str) -> int | None:
    """`text` as an int when it is one (ASCII digits, an optional sign), else None; also None
    past the digits Python converts (sys.get_int_max_str_digits(), 4300 by default), a limit
    that guards against quadratic-time conversion."""
    if not _INTEGER(text):
        return None
    try:
        return int(text)
    except ValueError:
        return None


def number(text: str) -> float | None:
    """`text` as a float when it is a decimal number that a double holds (1e999 is not: it
    would be infinity), else None."""
    if not _NUMBER(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def percentile(ordered: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) of sorted values, nearest rank; None when empty."""
    if not ordered:
        return None
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def latency(durations: Iterable[float | None]) -> dict[str, float] | None:
    """{"p50", "p95"} in milliseconds to two decimals of the known durations; None if none."""
    ordered = sorted(d for d in durations if d is not None)
    if not ordered:
        return None
    return {f"p{q}": round(float(percentile(ordered, q)), 2) for q in (50, 95)}
