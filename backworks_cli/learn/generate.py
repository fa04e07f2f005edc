"""Data from a JSON Schema whose fields carry `x-semantic` types, deterministic per seed and key.

`Generator.generate` compiles each schema once into a plan of small closures and walks it. Every
field draws its randomness from blake2b(f"{seed}|{key}|{json pointer}"), so a key gives the same
value in every process and adding a field leaves the other fields as they were. Realistic values
(names, companies, cities, ...) are picked from pools that Faker fills once per locale with a fixed
seed, because calling Faker per field is ten times too slow for a mock server.
`Generator.edge_case` draws boundary data from hypothesis-jsonschema instead.

When a semantic type and the schema disagree, the schema wins: a known `format` replaces the
semantic type, and a semantic value is used only if it fits the type, bounds, lengths and pattern;
otherwise the plain generator for the schema's type runs.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import math
import random
import re
import threading
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from re import _constants as _sre  # opcodes of the parsed regex, to build matching strings
from re import _parser as _sre_parse
from typing import Any

from backworks_cli.core.errors import ConfigError

SEMANTIC_TYPES: tuple[str, ...] = (
    "email", "uuid", "url", "hostname", "ipv4", "ipv6", "date", "datetime", "time",
    "unix_timestamp", "phone", "first_name", "last_name", "full_name", "username", "company",
    "job_title", "street_address", "city", "country", "country_code", "postcode", "latitude",
    "longitude", "currency_code", "price", "percentage", "color_hex", "locale", "user_agent",
    "mime_type", "file_path", "iban", "credit_card_masked", "isbn", "jwt", "hex_hash", "base64",
    "slug", "word", "sentence", "paragraph", "integer_id", "category", "other",
)  # fmt: skip

# String formats the generator produces valid values for.
FORMATS: tuple[str, ...] = (
    "date-time", "date", "time", "email", "idn-email", "uuid", "uri", "uri-reference", "iri",
    "iri-reference", "hostname", "idn-hostname", "ipv4", "ipv6",
)  # fmt: skip

# A node of a compiled plan: (hasher of "seed|key|", draw of this field, its JSON pointer as
# bytes, nesting depth, top-level overrides or None) -> value.
Node = Callable[[Any, int, bytes, int, "dict | None"], Any]

_SOFT_DEPTH = 8  # deeper than this: optional properties left out, arrays at minItems, null chosen
_HARD_DEPTH = 48  # a recursion the schema cannot end otherwise stops here with null
_RECURSION_WEIGHT = 3  # each pass through a recursive $ref counts as this many levels
_PRESENT = 218  # out of 256: an optional property is present about 85% of the time
_NULL = 26  # out of 256: a nullable value is null about 10% of the time
_POOL_SIZE = 256
_T0, _T1 = 1577836800, 1767225600  # generated instants fall in 2020-2025, whatever today is
_EPOCH = _dt.datetime(1970, 1, 1)
_D0 = _dt.date(2020, 1, 1).toordinal()
_M53 = (1 << 53) - 1
_M128 = (1 << 128) - 1
_ANNOTATIONS = frozenset(
    ("title", "description", "examples", "default", "$comment", "$id", "$schema", "$anchor",
     "$defs", "definitions", "readOnly", "writeOnly", "deprecated")
)  # fmt: skip


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=16).digest(), "little")


def _rehash(r: int) -> int:
    """Fresh 128 bits from a draw whose bits are used up."""
    return int.from_bytes(
        hashlib.blake2b((r & _M128).to_bytes(16, "little"), digest_size=16).digest(), "little"
    )


# ---------------------------------------------------------------------------------------------
# Pools: Faker's values, made once per locale


_POOL_SOURCES = {
    "first_name": "first_name", "last_name": "last_name", "user_name": "user_name",
    "company": "company", "job": "job", "street_address": "street_address", "city": "city",
    "country": "country", "country_code": "country_code", "postcode": "postcode",
    "currency_code": "currency_code", "phone": "phone_number", "locale": "locale",
    "mime_type": "mime_type", "file_path": "file_path", "iban": "iban", "isbn": "isbn13",
    "word": "word", "sentence": "sentence", "paragraph": "paragraph", "user_agent": "user_agent",
    "email_domain": "free_email_domain", "domain": "domain_name",
}  # fmt: skip


class _Pools(dict):
    """Pool name -> tuple of values Faker made with a fixed seed; filled on first use.

    `ascii:<pool>` holds the pool's values lower-cased to ASCII letters and digits, for emails,
    hosts and slugs.
    """

    def __init__(self, locale: str):
        super().__init__()
        self.locale = locale
        self._faker: Any = None
        self._lock = threading.Lock()  # one seeded Faker: fills must not interleave

    def __missing__(self, name: str) -> tuple[str, ...]:
        if name.startswith("ascii:"):
            values = tuple(dict.fromkeys(v for v in map(_ascii_word, self[name[6:]]) if v))
            values = values or ("user",)
        else:
            with self._lock:
                if self._faker is None:
                    from faker import Faker

                    self._faker = Faker(self.locale)
                fake = self._faker
                fake.seed_instance(_stable_int(f"{self.locale}|{name}"))
                method = getattr(fake, _POOL_SOURCES[name])
                values = tuple(dict.fromkeys(str(method()) for _ in range(_POOL_SIZE)))
        self[name] = values
        return values


_POOLS: dict[str, _Pools] = {}


def _ascii_word(text: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


# ---------------------------------------------------------------------------------------------
# Formats and semantic types: (pools, draw, field) -> value


class _Field:
    """What a semantic generator must respect: the JSON type chosen and the schema's bounds."""

    __slots__ = ("fmt", "hi", "hix", "lo", "lox", "max_len", "min_len", "type")

    def __init__(self, type_: str, s: dict):
        self.type = type_
        self.lo, self.hi, self.lox, self.hix = _bounds(s)
        self.min_len = int(s.get("minLength", 0))
        self.max_len = s.get("maxLength")
        self.fmt = s.get("format")


def _pick(pool: tuple, r: int) -> str:
    return pool[r % len(pool)]


def _iso_datetime(r: int) -> str:
    return (_EPOCH + _dt.timedelta(seconds=_T0 + r % (_T1 - _T0))).isoformat() + "Z"


def _iso_date(r: int) -> str:
    return _dt.date.fromordinal(_D0 + r % ((_T1 - _T0) // 86400)).isoformat()


def _clock(r: int, zone: str = "") -> str:
    s = r % 86400
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{zone}"


def _uuid(r: int) -> str:
    h = f"{r & _M128:032x}"
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


def _ipv4(r: int) -> str:
    return f"{1 + r % 223}.{(r >> 8) & 255}.{(r >> 16) & 255}.{1 + (r >> 24) % 254}"


def _ipv6(r: int) -> str:
    groups = [0x2001 + (r & 0xFFF)] + [(r >> (16 + 16 * i)) & 0xFFFF for i in range(7)]
    return ":".join(f"{g:x}" for g in groups)


_SUBDOMAINS = ("api", "www", "app", "mail", "cdn", "static", "auth", "docs")


def _hostname(P: _Pools, r: int) -> str:
    domains = P["domain"]
    r, i = divmod(r, len(domains))
    return f"{_SUBDOMAINS[r % len(_SUBDOMAINS)]}.{domains[i]}"


def _url(P: _Pools, r: int) -> str:
    words = P["ascii:word"]
    r, a = divmod(r, len(words))
    r, b = divmod(r, len(words))
    path = f"{words[a]}/{words[b]}" if r & 1 else words[a]
    return f"https://{_hostname(P, r >> 1)}/{path}"


def _email(P: _Pools, r: int) -> str:
    firsts, lasts, domains = P["ascii:first_name"], P["ascii:last_name"], P["email_domain"]
    r, i = divmod(r, len(firsts))
    r, j = divmod(r, len(lasts))
    r, k = divmod(r, len(domains))
    first, last, style = firsts[i], lasts[j], r % 4
    local = (f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}", f"{first}{r % 97}")[style]
    return f"{local}@{domains[k]}"


def _fmt(fn: Callable[[int], str]) -> Callable[[_Pools, int, _Field], str]:
    return lambda P, r, f: fn(r)


_FORMAT_GENERATORS: dict[str, Callable[[_Pools, int, _Field], str]] = {
    "date-time": _fmt(_iso_datetime),
    "date": _fmt(_iso_date),
    "time": _fmt(lambda r: _clock(r, "Z")),
    "email": lambda P, r, f: _email(P, r),
    "idn-email": lambda P, r, f: _email(P, r),
    "uuid": _fmt(_uuid),
    "uri": lambda P, r, f: _url(P, r),
    "uri-reference": lambda P, r, f: _url(P, r),
    "iri": lambda P, r, f: _url(P, r),
    "iri-reference": lambda P, r, f: _url(P, r),
    "hostname": lambda P, r, f: _hostname(P, r),
    "idn-hostname": lambda P, r, f: _hostname(P, r),
    "ipv4": _fmt(_ipv4),
    "ipv6": _fmt(_ipv6),
}


def _range(f: _Field, lo: float, hi: float, usual_lo: float, usual_hi: float):
    """The semantic's usual range moved inside both its valid range and the schema's bounds."""
    a = lo if f.lo is None else max(lo, f.lo)
    b = hi if f.hi is None else min(hi, f.hi)
    if a > b:
        return None
    ua, ub = max(a, usual_lo), min(b, usual_hi)
    if ua <= ub:
        return ua, ub
    width = usual_hi - usual_lo
    return (a, min(b, a + width)) if a > usual_hi else (max(a, b - width), b)


def _numeric(lo, hi, usual_lo, usual_hi, places: int, integer_only: bool = False):
    """A semantic number: int for integer fields, `places` decimals, a string for string fields."""

    def gen(P: _Pools, r: int, f: _Field):
        span = _range(f, lo, hi, usual_lo, usual_hi)
        if span is None:
            return None
        a, b = span
        if integer_only or f.type == "integer":
            ia, ib = math.ceil(a), math.floor(b)
            if ia > ib:
                return None
            v = ia + r % (ib - ia + 1)
            return str(v) if f.type == "string" else v
        x = a + (b - a) * ((r & _M53) / _M53)
        v = round(x, places)
        if not a <= v <= b:
            v = x
        return f"{v:.{places}f}" if f.type == "string" else v

    return gen


_timestamp = _numeric(0, 2**32, _T0, _T1, 0, integer_only=True)


def _instant(iso: Callable[[int], str]):
    def gen(P: _Pools, r: int, f: _Field):
        return _timestamp(P, r, f) if f.type in ("integer", "number") else iso(r)

    return gen


def _pooled(name: str):
    return lambda P, r, f: _pick(P[name], r)


def _full_name(P: _Pools, r: int, f: _Field) -> str:
    firsts, lasts = P["first_name"], P["last_name"]
    r, i = divmod(r, len(firsts))
    return f"{firsts[i]} {lasts[r % len(lasts)]}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_JWT_HEADER = _b64url(b'{"alg":"HS256","typ":"JWT"}')


def _jwt(P: _Pools, r: int, f: _Field) -> str:
    iat = _T0 + r % (_T1 - _T0)
    claims = f'{{"sub":"{(r >> 40) % 1000000}","iat":{iat},"exp":{iat + 3600}}}'.encode()
    signature = hashlib.blake2b(r.to_bytes(16, "little"), digest_size=32).digest()
    return f"{_JWT_HEADER}.{_b64url(claims)}.{_b64url(signature)}"


def _hex_hash(P: _Pools, r: int, f: _Field) -> str:
    n = max(f.min_len, f.max_len if f.max_len is not None else 40)
    return hashlib.shake_256(r.to_bytes(16, "little")).hexdigest((n + 1) // 2)[:n]


def _base64(P: _Pools, r: int, f: _Field) -> str:
    n = 12 + r % 13
    if f.max_len is not None:
        n = min(n, f.max_len // 4 * 3)
    n = max(n, -(-f.min_len // 4) * 3)
    return base64.b64encode(hashlib.shake_256(r.to_bytes(16, "little")).digest(n)).decode()


def _slug(P: _Pools, r: int, f: _Field) -> str:
    words = P["ascii:word"]
    r, extra = divmod(r, 3)
    parts = []
    for _ in range(2 + extra):
        r, i = divmod(r, len(words))
        parts.append(words[i])
    return "-".join(parts)


_SEMANTICS: dict[str, Callable[[_Pools, int, _Field], Any]] = {
    "email": lambda P, r, f: _email(P, r),
    "uuid": lambda P, r, f: _uuid(r),
    "url": lambda P, r, f: _url(P, r),
    "hostname": lambda P, r, f: _hostname(P, r),
    "ipv4": lambda P, r, f: _ipv4(r),
    "ipv6": lambda P, r, f: _ipv6(r),
    "date": _instant(_iso_date),
    "datetime": _instant(_iso_datetime),
    "time": lambda P, r, f: _clock(r),
    "unix_timestamp": _timestamp,
    "phone": _pooled("phone"),
    "first_name": _pooled("first_name"),
    "last_name": _pooled("last_name"),
    "full_name": _full_name,
    "username": _pooled("user_name"),
    "company": _pooled("company"),
    "job_title": _pooled("job"),
    "street_address": _pooled("street_address"),
    "city": _pooled("city"),
    "country": _pooled("country"),
    "country_code": _pooled("country_code"),
    "postcode": _pooled("postcode"),
    "latitude": _numeric(-90, 90, -90, 90, 6),
    "longitude": _numeric(-180, 180, -180, 180, 6),
    "currency_code": _pooled("currency_code"),
    "price": _numeric(0.01, 1e12, 1, 500, 2),
    "percentage": _numeric(0, 100, 0, 100, 2),
    "color_hex": lambda P, r, f: f"#{r & 0xFFFFFF:06x}",
    "locale": _pooled("locale"),
    "user_agent": _pooled("user_agent"),
    "mime_type": _pooled("mime_type"),
    "file_path": _pooled("file_path"),
    "iban": _pooled("iban"),
    "credit_card_masked": lambda P, r, f: f"**** **** **** {r % 10000:04d}",
    "isbn": _pooled("isbn"),
    "jwt": _jwt,
    "hex_hash": _hex_hash,
    "base64": _base64,
    "slug": _slug,
    "word": _pooled("word"),
    "sentence": _pooled("sentence"),
    "paragraph": _pooled("paragraph"),
    "integer_id": _numeric(1, 2**31 - 1, 1, 100000, 0, integer_only=True),
    "category": _pooled("word"),
}

# The JSON type a semantic type naturally has, used when the schema gives none.
_SEMANTIC_TYPE = {
    "unix_timestamp": "integer", "integer_id": "integer", "latitude": "number",
    "longitude": "number", "price": "number", "percentage": "number",
}  # fmt: skip


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


def _pattern_generator(pattern: str, regex: re.Pattern, min_len: int, max_len: int | None):
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

    def gen(P: _Pools, r: int, f: _Field) -> str:
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


# ---------------------------------------------------------------------------------------------
# Schema helpers


def _bounds(s: dict):
    """(lo, hi, lo_exclusive, hi_exclusive), with draft-4 boolean exclusives understood."""
    lo, hi = s.get("minimum"), s.get("maximum")
    lox = hix = False
    ex = s.get("exclusiveMinimum")
    if isinstance(ex, bool):
        lox = ex and lo is not None
    elif isinstance(ex, int | float) and (lo is None or ex >= lo):
        lo, lox = ex, True
    ex = s.get("exclusiveMaximum")
    if isinstance(ex, bool):
        hix = ex and hi is not None
    elif isinstance(ex, int | float) and (hi is None or ex <= hi):
        hi, hix = ex, True
    return lo, hi, lox, hix


def _declared_types(s: dict) -> list[str]:
    t = s.get("type")
    types = [t] if isinstance(t, str) else list(t) if isinstance(t, list) else []
    if s.get("nullable") is True and types and "null" not in types:
        types.append("null")
    return types


def _inferred_type(s: dict, semantic: str | None) -> str:
    keys = s.keys()
    if keys & {"properties", "required", "additionalProperties", "minProperties"}:
        return "object"
    if keys & {"items", "prefixItems", "minItems", "maxItems", "uniqueItems"}:
        return "array"
    if keys & {"minLength", "maxLength", "pattern", "format"}:
        return "string"
    if keys & {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}:
        return "number"
    return _SEMANTIC_TYPE.get(semantic or "", "string")


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def _is_type(v: Any, t: str) -> bool:
    actual = _json_type(v)
    if actual == t:
        return True
    if t == "number":
        return actual == "integer"
    return t == "integer" and actual == "number" and v.is_integer()


_MERGE_MAX = frozenset(
    ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains")
)
_MERGE_MIN = frozenset(
    ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains")
)


def _merge(a: dict, b: dict) -> dict:
    """Both schemas at once (allOf): bounds tightened, properties and required united."""
    out = dict(a)
    for k, v in b.items():
        if k not in out:
            out[k] = v
            continue
        cur = out[k]
        if k == "properties":
            props = dict(cur)
            for name, sub in v.items():
                props[name] = {"allOf": [props[name], sub]} if name in props else sub
            out[k] = props
        elif k == "required":
            out[k] = list(dict.fromkeys([*cur, *v]))
        elif k == "type":
            out[k] = _merge_types(cur, v)
        elif isinstance(cur, bool) or isinstance(v, bool):
            if k in ("additionalProperties", "items", "additionalItems"):
                out[k] = False if False in (cur, v) else v if cur is True else cur
            else:
                out[k] = cur or v
        elif k in _MERGE_MAX:
            out[k] = max(cur, v)
        elif k in _MERGE_MIN:
            out[k] = min(cur, v)
        elif k == "enum":
            out[k] = [x for x in cur if x in v] or cur
        elif k in ("items", "additionalProperties") and isinstance(cur, dict):
            out[k] = {"allOf": [cur, v]}
        elif k == "x-semantic" and v == "other":
            continue
        else:
            out[k] = v
    return out


def _merge_types(a, b) -> list[str]:
    a = [a] if isinstance(a, str) else list(a)
    b = [b] if isinstance(b, str) else list(b)
    out = [t for t in a if t in b]
    if "integer" in a and "number" in b and "integer" not in out:
        out.append("integer")
    if "number" in a and "integer" in b and "integer" not in out:
        out.append("integer")
    return out or b


def _pointer_token(name: Any) -> bytes:
    return ("/" + str(name).replace("~", "~0").replace("/", "~1")).encode()


def _copy(v: Any) -> Any:
    return json.loads(json.dumps(v)) if isinstance(v, dict | list) else v


def _unique_key(v: Any) -> str:
    def norm(x):
        if isinstance(x, float) and x.is_integer():
            return int(x)
        if isinstance(x, list):
            return [norm(i) for i in x]
        if isinstance(x, dict):
            return {k: norm(i) for k, i in x.items()}
        return x

    return json.dumps(norm(v), sort_keys=True)


def _is_multiple(v: float, m: float) -> bool:
    """jsonschema's own test, float arithmetic included, so what passes here validates there."""
    if isinstance(m, float):
        try:
            q = v / m
            return int(q) == q
        except (OverflowError, ValueError):
            return False
    return v % m == 0


def _coerce(v: Any, types: tuple[str, ...]) -> Any:
    """An override converted to the property's type: "42" for a string id, 42 for an integer."""
    if not types or any(_is_type(v, t) for t in types):
        return v
    for t in types:
        if t == "string" and v is not None:
            return json.dumps(v) if isinstance(v, bool | dict | list) else str(v)
        if t in ("integer", "number") and isinstance(v, str):
            try:
                return int(v)
            except ValueError:
                try:
                    f = float(v)
                except ValueError:
                    continue
                if math.isfinite(f) and (t == "number" or f.is_integer()):
                    return int(f) if f.is_integer() else f
        if t == "integer" and isinstance(v, float) and v.is_integer():
            return int(v)
        if t == "boolean" and isinstance(v, str | int) and str(v).lower() in ("true", "1"):
            return True
        if t == "boolean" and isinstance(v, str | int) and str(v).lower() in ("false", "0"):
            return False
    return v


# ---------------------------------------------------------------------------------------------
# Plan compilation


def _const_node(value: Any) -> Node:
    if isinstance(value, dict | list):
        return lambda ctx, r, ptr, depth, ov: _copy(value)
    return lambda ctx, r, ptr, depth, ov: value


def _nullable(inner: Node) -> Node:
    def node(ctx, r, ptr, depth, ov):
        if ov is None and (depth >= _SOFT_DEPTH or (r >> 112) & 0xFF < _NULL):
            return None
        return inner(ctx, r, ptr, depth, ov)

    return node


def _choice(nodes: list[Node], shallow: int | None) -> Node:
    """One of several nodes, chosen by the draw; at depth, the one that ends recursion."""
    n = len(nodes)

    def node(ctx, r, ptr, depth, ov):
        i = shallow if depth >= _SOFT_DEPTH and shallow is not None else (r >> 96) % n
        return nodes[i](ctx, r, ptr, depth, ov)

    return node


def _first_valid(gens: list, check, P: _Pools, field: _Field) -> Node:
    """The first candidate value that passes `check`, else the last candidate's value."""
    if check is None or len(gens) == 1:
        gen = gens[0]
        return lambda ctx, r, ptr, depth, ov: gen(P, r, field)

    def node(ctx, r, ptr, depth, ov):
        for gen in gens:
            v = gen(P, r, field)
            if v is not None and check(v):
                return v
        return v

    return node


class _Compiler:
    """Turns one schema (the root that $refs resolve against) into a Node."""

    def __init__(self, root: Any, pools: _Pools):
        self.root = root
        self.P = pools
        self.refs: dict[str, tuple[Node, list]] = {}
        self.compiling: set[str] = set()
        self.flattening: list[str] = []

    def node(self, s: Any) -> Node:
        if s is True or s == {}:
            return self._string({}, None)
        if s is False or s is None:
            return _const_node(None)
        if not isinstance(s, dict):
            raise ConfigError(
                f"A schema must be an object or a boolean, not {s!r}.",
                hint="Write the schema as a JSON Schema object, e.g. {type: string}.",
            )
        if "$ref" in s and not (s.keys() - _ANNOTATIONS - {"$ref"}):
            return self._ref(s["$ref"])
        if "$ref" in s or "allOf" in s:
            s = self._flatten(s)
        for key in ("oneOf", "anyOf"):
            if s.get(key):
                return self._union(s, key)
        if "const" in s:
            return _const_node(s["const"])
        types = _declared_types(s)
        if s.get("enum"):
            values = [v for v in s["enum"] if not types or any(_is_type(v, t) for t in types)]
            values = values or list(s["enum"])
            if any(isinstance(v, dict | list) for v in values):
                return lambda ctx, r, ptr, depth, ov: _copy(values[r % len(values)])
            return lambda ctx, r, ptr, depth, ov: values[r % len(values)]
        semantic = s.get("x-semantic")
        semantic = semantic if semantic in _SEMANTICS else None
        kinds = [t for t in types if t != "null"] if types else [_inferred_type(s, semantic)]
        if not kinds:
            return _const_node(None)
        nodes = [self._typed(s, t, semantic) for t in kinds]
        node = nodes[0] if len(nodes) == 1 else _choice(nodes, None)
        return _nullable(node) if "null" in types else node

    def _typed(self, s: dict, t: str, semantic: str | None) -> Node:
        if t == "object":
            return self._object(s)
        if t == "array":
            return self._array(s)
        if t == "string":
            return self._string(s, semantic)
        if t in ("integer", "number"):
            return self._number(s, t, semantic)
        if t == "boolean":
            return lambda ctx, r, ptr, depth, ov: bool(r & 1)
        if t == "null":
            return _const_node(None)
        raise ConfigError(
            f"Unknown JSON Schema type {t!r} in {json.dumps(s)[:200]}.",
            hint="Use one of: string, integer, number, boolean, object, array, null.",
        )

    # -- references, allOf, oneOf/anyOf

    def _resolve(self, ref: str) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise ConfigError(
                f"Schema reference {ref!r} points outside the schema.",
                hint="Put shared schemas under $defs in the same schema and refer to them as "
                '"#/$defs/<name>".',
            )
        target = self.root
        for token in filter(None, ref[1:].split("/")):
            token = token.replace("~1", "/").replace("~0", "~").replace("%25", "%")
            if isinstance(target, dict) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise ConfigError(
                    f"Schema reference {ref!r} points at nothing in the schema.",
                    hint="Define it under $defs (or definitions) of the same schema, or fix "
                    "the name.",
                )
        return target

    def _ref(self, ref: str) -> Node:
        known = self.refs.get(ref)
        if known is not None:
            if ref in self.compiling:
                known[1][1] = True  # met again while compiling its own target: a recursion
            return known[0]
        slot: list = [None, False]  # the target's node, and whether the reference recurses

        def node(ctx, r, ptr, depth, ov):
            if depth > _HARD_DEPTH:
                return None
            return slot[0](ctx, r, ptr, depth + _RECURSION_WEIGHT if slot[1] else depth, ov)

        self.refs[ref] = (node, slot)
        self.compiling.add(ref)
        slot[0] = self.node(self._resolve(ref))
        self.compiling.discard(ref)
        return node

    def _flatten(self, s: Any) -> Any:
        """A schema with its top-level $ref and allOf merged in (nested ones stay lazy)."""
        if not isinstance(s, dict) or not ("$ref" in s or "allOf" in s):
            return {} if s is True else s
        out = {k: v for k, v in s.items() if k not in ("$ref", "allOf")}
        ref = s.get("$ref")
        if ref is not None and ref not in self.flattening:
            self.flattening.append(ref)
            target = self._flatten(self._resolve(ref))
            self.flattening.pop()
            if isinstance(target, dict):
                out = _merge(target, out)
        for part in s.get("allOf", ()):
            part = self._flatten(part)
            if isinstance(part, dict):
                out = _merge(out, part)
        return out

    def _union(self, s: dict, key: str) -> Node:
        base = {k: v for k, v in s.items() if k != key}
        constrained = bool(base.keys() - _ANNOTATIONS)
        branches = [
            _merge(base, self._flatten(b) if isinstance(b, dict) else {}) if constrained else b
            for b in s[key]
        ]
        ends = [self._ends(b) for b in branches]
        shallow = next((i for i, e in enumerate(ends) if e), None)
        if "null" in ends:
            shallow = ends.index("null")
        return _choice([self.node(b) for b in branches], shallow)

    def _ends(self, s: Any) -> str | None:
        """The type of a branch that cannot recurse (a scalar), preferring null; else None."""
        if not isinstance(s, dict) or "$ref" in s:
            return None
        if "const" in s or "enum" in s:
            return "scalar"
        types = _declared_types(s)
        if "null" in types:
            return "null"
        scalars = {"string", "integer", "number", "boolean"}
        return "scalar" if types and set(types) <= scalars else None

    def _types_of(self, s: Any, depth: int = 0) -> tuple[str, ...]:
        """The JSON types a property schema allows, for coercing overrides; () when any."""
        if not isinstance(s, dict) or depth > 8:
            return ()
        s = self._flatten(s)
        if "const" in s:
            return (_json_type(s["const"]),)
        types = _declared_types(s)
        if types:
            return tuple(types)
        if s.get("enum"):
            return tuple(dict.fromkeys(_json_type(v) for v in s["enum"]))
        branches = s.get("oneOf") or s.get("anyOf")
        if branches:
            found = [self._types_of(b, depth + 1) for b in branches]
            return () if () in found else tuple(dict.fromkeys(t for ts in found for t in ts))
        if s.get("x-semantic") in _SEMANTIC_TYPE or s.keys() - _ANNOTATIONS - {"x-semantic"}:
            return (_inferred_type(s, s.get("x-semantic")),)
        return ()

    # -- containers

    def _object(self, s: dict) -> Node:
        props = s.get("properties") or {}
        required = [n for n in s.get("required", ()) if isinstance(n, str)]
        extra = s.get("additionalProperties", True)
        extra_schema = extra if isinstance(extra, dict) else {}
        entries = [
            (name, _pointer_token(name), self.node(sub), name in required, self._types_of(sub))
            for name, sub in props.items()
        ]
        for name in dict.fromkeys(required):
            if name not in props:
                types = self._types_of(extra_schema)
                entries.append((name, _pointer_token(name), self.node(extra_schema), True, types))
        names = {e[0] for e in entries}
        open_ = extra is not False
        min_p, max_p = int(s.get("minProperties", 0)), s.get("maxProperties")
        resize = self._resizer(entries, min_p, max_p, open_, extra_schema)

        def node(ctx, r, ptr, depth, ov):
            out = {}
            shallow = depth >= _SOFT_DEPTH
            d1 = depth + 1
            for name, token, child, req, types in entries:
                if ov is not None and name in ov:
                    out[name] = _coerce(ov[name], types)
                    continue
                p = ptr + token
                h = ctx.copy()
                h.update(p)
                rc = int.from_bytes(h.digest(), "little")
                if req or (not shallow and rc >> 120 < _PRESENT):
                    out[name] = child(ctx, rc, p, d1, None)
            if ov is not None and open_:
                for k, v in ov.items():
                    if k not in names:
                        out[k] = v
            if resize is not None:
                resize(out, ctx, ptr, d1, ov)
            return out

        return node

    def _resizer(self, entries, min_p: int, max_p, open_: bool, extra_schema: dict):
        """minProperties: absent optional properties added, then extra keys; maxProperties:
        optional ones dropped from the end."""
        if min_p <= 0 and max_p is None:
            return None
        extra_node = self.node(extra_schema)

        def resize(out, ctx, ptr, d1, ov):
            for name, token, child, _req, _types in entries:
                if len(out) >= min_p:
                    break
                if name not in out:
                    p = ptr + token
                    h = ctx.copy()
                    h.update(p)
                    out[name] = child(ctx, int.from_bytes(h.digest(), "little"), p, d1, None)
            i = 0
            while open_ and len(out) < min_p:
                name = f"field_{i}"
                i += 1
                if name not in out:
                    p = ptr + _pointer_token(name)
                    h = ctx.copy()
                    h.update(p)
                    out[name] = extra_node(ctx, int.from_bytes(h.digest(), "little"), p, d1, None)
            if max_p is not None:
                for name, _token, _child, req, _types in reversed(entries):
                    if len(out) <= max_p:
                        break
                    if not req and name in out and not (ov and name in ov):
                        del out[name]

        return resize

    def _array(self, s: dict) -> Node:
        items, prefix = s.get("items"), s.get("prefixItems") or []
        if isinstance(items, list):
            prefix, items = items, s.get("additionalItems", True)
        prefix_nodes = [self.node(p) for p in prefix]
        item_node = None if items is False else self.node(items if items is not None else {})
        deep = int(s.get("minItems", 0))
        lo = deep if "minItems" in s else (0 if s.get("maxItems") == 0 else 1)
        hi = max(lo, 5) if s.get("maxItems") is None else min(int(s["maxItems"]), max(lo, 5))
        if item_node is None:
            hi = min(hi, len(prefix_nodes))
            lo, deep = min(lo, hi), min(deep, hi)
        span, n_prefix = max(1, hi - lo + 1), len(prefix_nodes)
        unique = s.get("uniqueItems") is True

        def item(ctx, i, ptr, d1):
            p = ptr + b"/%d" % i
            h = ctx.copy()
            h.update(p)
            child = prefix_nodes[i] if i < n_prefix else item_node
            return child(ctx, int.from_bytes(h.digest(), "little"), p, d1, None)

        if unique:

            def unique_node(ctx, r, ptr, depth, ov):
                n = deep if depth >= _SOFT_DEPTH else lo + r % span
                out, seen = [], set()
                for i in range(4 * n + 8):
                    if len(out) >= n:
                        break
                    v = item(ctx, i, ptr, depth + 1)
                    key = _unique_key(v)
                    if key not in seen:
                        seen.add(key)
                        out.append(v)
                return out

            return unique_node

        def node(ctx, r, ptr, depth, ov):
            n = deep if depth >= _SOFT_DEPTH else lo + r % span
            return [item(ctx, i, ptr, depth + 1) for i in range(n)]

        return node

    # -- scalars

    def _string(self, s: dict, semantic: str | None) -> Node:
        field = _Field("string", s)
        min_len, max_len = field.min_len, field.max_len
        pattern = s.get("pattern")
        regex = None
        if isinstance(pattern, str):
            try:
                regex = re.compile(pattern)
            except re.error as err:
                raise ConfigError(
                    f"The schema pattern {pattern!r} is not a valid regular expression: {err}.",
                    hint="Fix the pattern in backworks.yaml (JSON Schema patterns are "
                    "ECMA-262 regular expressions).",
                ) from err
        fmt = _FORMAT_GENERATORS.get(field.fmt)
        gens = []
        if semantic and semantic != "other" and fmt is None:
            gens.append(_SEMANTICS[semantic])
        if regex is not None:
            gen = _pattern_generator(pattern, regex, min_len, max_len)
            if gen is not None:
                gens.append(gen)
        if fmt is not None:
            gens.append(fmt)
        gens.append(lambda P, r, f: _words(P, r, min_len, max_len))
        check = None
        if min_len or max_len is not None or regex is not None:
            top = math.inf if max_len is None else max_len

            def check(v):
                return (
                    isinstance(v, str)
                    and min_len <= len(v) <= top
                    and (regex is None or regex.search(v) is not None)
                )

        return _first_valid(gens, check, self.P, field)

    def _number(self, s: dict, t: str, semantic: str | None) -> Node:
        field = _Field(t, s)
        lo, hi, lox, hix = field.lo, field.hi, field.lox, field.hix
        m = s.get("multipleOf")
        m = m if isinstance(m, int | float) and not isinstance(m, bool) and m > 0 else None
        integer = t == "integer"

        def ok(v):
            if isinstance(v, bool) or not isinstance(v, int | float):
                return False
            if integer and not isinstance(v, int):
                return False
            if lo is not None and (v < lo or (lox and v == lo)):
                return False
            if hi is not None and (v > hi or (hix and v == hi)):
                return False
            return m is None or _is_multiple(v, m)

        plain = _plain_number(lo, hi, lox, hix, m, integer, ok)
        gens = [plain]
        if semantic and semantic != "other":
            sem = _SEMANTICS[semantic]
            to_number = _as_integer if integer else _as_number
            gens.insert(0, lambda P, r, f: to_number(sem(P, r, f)))
        return _first_valid(gens, ok, self.P, field)


def _as_integer(v: Any) -> int | None:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.isdigit() and len(v) < 19:
        return int(v)
    return None


def _as_number(v: Any) -> int | float | None:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def _plain_number(lo, hi, lox: bool, hix: bool, m, integer: bool, ok):
    """A number from the bounds alone: ints for integers, two decimals for numbers."""
    if integer:
        a = None if lo is None else (math.floor(lo) + 1 if lox else math.ceil(lo))
        b = None if hi is None else (math.ceil(hi) - 1 if hix else math.floor(hi))
    else:
        a, b = lo, hi
    if a is None and b is None:
        a, b = (1, 1000) if integer else (0, 1000)
    elif a is None:
        a = 1 if b >= 1 + 10 else b - 1000
    elif b is None:
        b = a + 1000
    if m is not None:
        step = m
        if integer and not float(m).is_integer():
            step = Fraction(str(m)).numerator
        if float(step).is_integer():
            step, places = int(step), 0
        else:
            places = max(0, -Decimal(repr(step)).as_tuple().exponent)
        kmin, kmax = math.ceil(a / step), math.floor(b / step)

        def times(k):
            return k * step if places == 0 else round(k * step, places)

        def multiple(P, r, f):
            count = kmax - kmin + 1
            if count <= 0:
                return times(kmin)
            for _ in range(8):
                r, i = divmod(r, count)
                v = times(kmin + i)
                if ok(v):
                    return v
            for k in range(kmin, min(kmax, kmin + 64) + 1):
                if ok(times(k)):
                    return times(k)
            return times(kmin)

        return multiple
    if integer:
        return lambda P, r, f: a + r % max(1, b - a + 1)

    def number(P, r, f):
        x = a + (b - a) * ((r & _M53) / _M53)
        for v in (round(x, 2), x, (a + b) / 2):
            if ok(v):
                return v
        return x

    return number


def _words(P: _Pools, r: int, min_len: int, max_len: int | None) -> str:
    """One or two words, more if minLength asks, cut at maxLength."""
    words = P["word"]
    n = len(words)
    r, i = divmod(r, n)
    s = words[i]
    if r & 1:
        r, i = divmod(r >> 1, n)
        s += " " + words[i]
    while len(s) < min_len:
        if r < n:
            r = _rehash(r)
        r, i = divmod(r, n)
        s += " " + words[i]
    if max_len is not None and len(s) > max_len:
        s = s[:max_len]
        if s.endswith(" "):
            s = s[:-1] + "x"
    return s


# ---------------------------------------------------------------------------------------------
# Edge cases through hypothesis-jsonschema


_NAME_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_VALUES = (
    "items", "additionalItems", "additionalProperties", "not", "contains", "propertyNames",
    "if", "then", "else", "unevaluatedItems", "unevaluatedProperties",
)  # fmt: skip


def _mentions_all_of(s: Any) -> bool:
    if isinstance(s, dict):
        return "allOf" in s or any(_mentions_all_of(v) for v in s.values())
    return isinstance(s, list) and any(_mentions_all_of(v) for v in s)


def _edge_schema(s: Any, close: bool) -> Any:
    """The schema as hypothesis-jsonschema reads it: no x- keys, OpenAPI `nullable` as a type,
    tuples as draft-7 `items` lists; with `close`, objects closed to undeclared keys so the edge
    cases land on the fields a client knows (not when allOf could combine two objects)."""
    if not isinstance(s, dict):
        return s
    out: dict = {}
    for k, v in s.items():
        if k.startswith("x-") or k == "nullable":
            continue
        if k in _NAME_MAPS and isinstance(v, dict):
            out[k] = {name: _edge_schema(sub, close) for name, sub in v.items()}
        elif k in _SCHEMA_LISTS and isinstance(v, list):
            out[k] = [_edge_schema(sub, close) for sub in v]
        elif k in _SCHEMA_VALUES:
            edge = [_edge_schema(x, close) for x in v] if isinstance(v, list) else None
            out[k] = edge if edge is not None else _edge_schema(v, close)
        else:
            out[k] = v
    if s.get("nullable") is True and "type" in out:
        types = _declared_types(s)
        out["type"] = types
    if "prefixItems" in out:
        out["additionalItems"] = out.pop("items", True)
        out["items"] = out.pop("prefixItems")
    if close and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


_PROVIDER: list = []


def _stable_provider():
    """Hypothesis's provider without the constants it scrapes from whatever modules are loaded,
    which would make a key's draw depend on the process."""
    if _PROVIDER:
        return _PROVIDER[0]
    from hypothesis.internal.conjecture.choice import choice_constraints_key, choice_permitted
    from hypothesis.internal.conjecture.providers import GLOBAL_CONSTANTS, HypothesisProvider

    cache: dict = {}

    class StableProvider(HypothesisProvider):
        def _maybe_draw_constant(self, choice_type, constraints, *, p=0.05):
            if self._random.random() > p:
                return None
            key = (choice_type, choice_constraints_key(choice_type, constraints))
            pool = cache.get(key)
            if pool is None:
                pool = cache[key] = tuple(
                    c
                    for c in GLOBAL_CONSTANTS.set_for_type(choice_type)
                    if choice_permitted(c, constraints)
                )
            return self._random.choice(pool) if pool else None

    _PROVIDER.append(StableProvider)
    return StableProvider


def _edge_strategy(schema: Any) -> Any:
    try:
        from hypothesis import strategies as st
        from hypothesis_jsonschema import from_schema
    except ImportError as err:
        raise ConfigError(
            "Edge-case data needs the hypothesis-jsonschema package.",
            hint="pip install hypothesis-jsonschema",
        ) from err
    uuids = st.uuids().map(str)  # the one claimed format hypothesis-jsonschema lacks
    closed = _edge_schema(schema, not _mentions_all_of(schema))
    return from_schema(closed, custom_formats={"uuid": uuids})


_MISS = object()


def _edge_draw(strategy: Any, seed: int) -> Any:
    """One value of `strategy` from a seeded random, or _MISS when the draw runs out of room."""
    from hypothesis.control import BuildContext
    from hypothesis.errors import StopTest
    from hypothesis.internal.conjecture.data import ConjectureData

    data = ConjectureData(random=random.Random(seed), provider=_stable_provider())
    try:
        with BuildContext(data, is_final=False, wrapped_test=None):
            return data.draw(strategy)
    except StopTest:
        return _MISS


# ---------------------------------------------------------------------------------------------
# The generator


class Generator:
    """Schema-valid data, deterministic per (seed, key).

    `key` names one response, e.g. "get_users_id|id=42"; the same key gives the same value in
    every process. Schemas are treated as immutable: each is compiled once and the plan is cached
    by identity.
    """

    def __init__(self, seed: int = 0, locale: str = "en_US"):
        from faker.config import AVAILABLE_LOCALES

        if locale not in AVAILABLE_LOCALES:
            raise ConfigError(
                f"Unknown locale {locale!r} for generated data.",
                hint=f"Use a Faker locale such as en_US, de_DE or fr_FR "
                f"({len(AVAILABLE_LOCALES)} are available).",
            )
        self.seed = seed
        self.locale = locale
        pools = _POOLS.get(locale)
        if pools is None:
            pools = _POOLS[locale] = _Pools(locale)
        self._pools = pools
        self._plans: dict[int, tuple[Any, Node]] = {}
        self._edges: dict[int, tuple[Any, Any]] = {}

    def _plan(self, schema: Any) -> Node:
        entry = self._plans.get(id(schema))
        if entry is not None and entry[0] is schema:
            return entry[1]
        if len(self._plans) > 4096:
            self._plans.clear()
        plan = _Compiler(schema, self._pools).node(schema)
        self._plans[id(schema)] = (schema, plan)
        return plan

    def generate(self, schema: Any, *, key: str, overrides: dict | None = None) -> Any:
        """A value valid for `schema`; `overrides` are forced at the top level of an object
        schema, converted to each property's type ({"id": "42"} for a string id)."""
        plan = self._plan(schema)
        ctx = hashlib.blake2b(f"{self.seed}|{key}|".encode(), digest_size=16)
        r = int.from_bytes(ctx.copy().digest(), "little")
        return plan(ctx, r, b"", 0, overrides or None)

    def edge_case(self, schema: Any, *, key: str) -> Any:
        """Boundary data valid for `schema` (extreme lengths and bounds, empty arrays, unicode)
        drawn by hypothesis-jsonschema, deterministic per key. Schemas it cannot handle
        (recursive references, for one) get `generate`'s value."""
        entry = self._edges.get(id(schema))
        if entry is None or entry[0] is not schema:
            self._plan(schema)  # a bad $ref or pattern raises ConfigError here, not in hypothesis
            if len(self._edges) > 1024:
                self._edges.clear()
            entry = self._edges[id(schema)] = (schema, _edge_strategy(schema))
        strategy = entry[1]
        if strategy is not None:
            base = _stable_int(f"{self.seed}|{key}|edge")
            for attempt in range(8):
                try:
                    value = _edge_draw(strategy, base + attempt)
                except Exception:
                    # hypothesis-jsonschema raises on the first draw for schemas it cannot build
                    self._edges[id(schema)] = (schema, None)
                    break
                if value is not _MISS:
                    return value
        return self.generate(schema, key=key)
