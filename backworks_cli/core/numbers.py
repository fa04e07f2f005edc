"""Figures over measured values, one rule for every wing: nearest-rank percentiles, and the
p50/p95 latency that infer writes and the modes replay when none is written."""

from __future__ import annotations

import math
from collections.abc import Iterable


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
