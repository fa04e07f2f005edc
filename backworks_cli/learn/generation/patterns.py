"""Strings that match a regular expression, built from its parsed form (the `pattern`
keyword), deterministic per draw.
"""

from __future__ import annotations

import math
import random
import re
from re import _constants as _sre  # opcodes of the parsed regex, to build matching strings
from re import _parser as _sre_parse

from backworks_cli.learn.generation.fakes import Field, Pools

# ---------------------------------------------------------------------------------------------
# Strings that match a regular expression: a walk over Python's own parse of the pattern


class _Unsupported(Exception):
    """The pattern uses a construct (lookaround, conditional) the string builder does not do."""


_PRINTABLE = tuple(chr(c) for c in range(32, 127))
_CATEGORIES = {
    _sre.CATEGORY_DIGIT: str.isdigit,
    _sre.CATEGORY_NOT_DIGIT: lambda c: not c.isdigit(),
    _sre.CATEGORY_SPACE: str.isspace,
    _sre.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
    _sre.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
    _sre.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"),
}
_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT)


def _char_class(items: list) -> tuple[str, ...]:
    """The characters a `[...]` item list allows: printable ASCII plus any non-ASCII it names."""
    negate = bool(items) and items[0][0] is _sre.NEGATE

    def member(c: str) -> bool:
        o = ord(c)
        for op, av in items:
            if (
                (op is _sre.LITERAL and o == av)
                or (op is _sre.RANGE and av[0] <= o <= av[1])
                or (op is _sre.CATEGORY and _CATEGORIES[av](c))
            ):
                return not negate
        return negate

    chars = [c for c in _PRINTABLE if member(c)]
    if not negate:
        for op, av in items:
            if op is _sre.LITERAL and av > 126:
                chars.append(chr(av))
            elif op is _sre.RANGE and av[1] > 126:
                lo = max(av[0], 127)
                chars.extend(chr(c) for c in range(lo, av[1] + 1, max(1, (av[1] - lo) // 32)))
    if not chars:
        raise _Unsupported("empty character class")
    return tuple(chars)


def _seq_lengths(plan: list) -> tuple[int, int | None]:
    """Shortest and longest (None: unbounded) text a plan makes; each op ends with the two."""
    lo = sum(op[-2] for op in plan)
    his = [op[-1] for op in plan]
    return lo, None if None in his else sum(his)


def _regex_plan(parsed) -> list:
    """Parsed regex -> list of ops, each ending with its (min, max) length:
    (0, char) | (1, chars) | (2, lo, hi, plan) repeat | (3, group, plan) | (4, [plans]) branch |
    (5, group) backreference."""
    plan: list = []
    for op, av in parsed:
        if op is _sre.LITERAL:
            plan.append((0, chr(av), 1, 1))
        elif op is _sre.NOT_LITERAL:
            plan.append((1, tuple(c for c in _PRINTABLE if ord(c) != av), 1, 1))
        elif op is _sre.ANY:
            plan.append((1, _PRINTABLE, 1, 1))
        elif op is _sre.IN:
            plan.append((1, _char_class(av), 1, 1))
        elif op in _REPEATS:
            lo, hi, sub = av
            hi = None if hi is _sre.MAXREPEAT else hi
            sub = _regex_plan(sub)
            sub_lo, sub_hi = _seq_lengths(sub)
            top = None if hi is None or sub_hi is None else hi * sub_hi
            plan.append((2, lo, hi, sub, lo * sub_lo, top))
        elif op is _sre.SUBPATTERN or op is _sre.ATOMIC_GROUP:
            group, sub = (av[0], av[3]) if op is _sre.SUBPATTERN else (None, av)
            sub = _regex_plan(sub)
            plan.append((3, group, sub, *_seq_lengths(sub)))
        elif op is _sre.BRANCH:
            subs = [_regex_plan(b) for b in av[1]]
            lengths = [_seq_lengths(b) for b in subs]
            his = [h for _, h in lengths]
            top = None if None in his else max(his)
            plan.append((4, subs, min(lo for lo, _ in lengths), top))
        elif op is _sre.GROUPREF:
            plan.append((5, av, 0, None))
        elif op is not _sre.AT:
            raise _Unsupported(str(op))
    return plan


def _emit(plan: list, rnd: random.Random, out: list, groups: dict, target: int | None) -> None:
    """Characters matching `plan` appended to `out`; aiming at `target` characters when given
    (repeats of fixed-width items are sized to fit), free-running otherwise."""
    begin = len(out)
    for i, step in enumerate(plan):
        kind = step[0]
        want = None
        if target is not None:
            want = target - (len(out) - begin) - sum(op[-2] for op in plan[i + 1 :])
        if kind == 0:
            out.append(step[1])
        elif kind == 1:
            out.append(rnd.choice(step[1]))
        elif kind == 2:
            lo, hi, sub = step[1], step[2], step[3]
            sub_lo, sub_hi = _seq_lengths(sub)
            if want is not None and sub_lo == sub_hi and sub_lo > 0:
                n = max(lo, want // sub_lo if hi is None else min(hi, want // sub_lo))
                if any(op[0] == 2 and op[-1] != op[-2] for op in plan[i + 1 :]):
                    n = rnd.randint(lo, n)  # a later repeat takes up the rest
            else:
                n = rnd.randint(lo, lo + 6 if hi is None else min(hi, lo + 6))
            for _ in range(n):
                _emit(sub, rnd, out, groups, None if want is None else sub_lo)
        elif kind == 3:
            start = len(out)
            _emit(step[2], rnd, out, groups, want)
            if step[1] is not None:
                groups[step[1]] = out[start:]
        elif kind == 4:
            _emit(rnd.choice(step[1]), rnd, out, groups, want)
        else:
            out.extend(groups.get(step[1], ()))


def pattern_generator(pattern: str, regex: re.Pattern, min_len: int, max_len: int | None):
    """A generator of strings `regex` finds, within the lengths, or None for an unusual pattern."""
    try:
        plan = _regex_plan(_sre_parse.parse(pattern))
    except (_Unsupported, KeyError):
        return None
    shortest, longest = _seq_lengths(plan)
    lo = max(min_len, shortest)
    hi = min(x for x in (max_len, longest, lo + 16) if x is not None)
    aim = min_len > 0 or max_len is not None
    top = math.inf if max_len is None else max_len

    def gen(P: Pools, r: int, f: Field) -> str:
        rnd = random.Random(r)
        first = None
        for _ in range(24):
            out: list[str] = []
            _emit(plan, rnd, out, {}, rnd.randint(lo, max(lo, hi)) if aim else None)
            s = "".join(out)
            if min_len <= len(s) <= top and regex.search(s):
                return s
            first = s if first is None else first
        return first

    return gen
