"""Realistic values by semantic type and string format: pools that Faker fills once per locale
with a fixed seed, and small makers (uuid, ipv4, url, jwt, slug...) drawing from one integer.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import math
import re
import threading
from collections.abc import Callable
from typing import Any

from backworks_cli.learn.generation.keywords import bounds

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

SOFT_DEPTH = 8  # deeper than this: optional properties left out, arrays at minItems, null chosen
HARD_DEPTH = 48  # a recursion the schema cannot end otherwise stops here with null
RECURSION_WEIGHT = 3  # each pass through a recursive $ref counts as this many levels
PRESENT = 218  # out of 256: an optional property is present about 85% of the time
NULL = 26  # out of 256: a nullable value is null about 10% of the time
_POOL_SIZE = 256
_T0, _T1 = 1577836800, 1767225600  # generated instants fall in 2020-2025, whatever today is
_EPOCH = _dt.datetime(1970, 1, 1)
_D0 = _dt.date(2020, 1, 1).toordinal()
M53 = (1 << 53) - 1
_M128 = (1 << 128) - 1
ANNOTATIONS = frozenset(
    ("title", "description", "examples", "default", "$comment", "$id", "$schema", "$anchor",
     "$defs", "definitions", "readOnly", "writeOnly", "deprecated")
)  # fmt: skip


def stable_int(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=16).digest(), "little")


def rehash(r: int) -> int:
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


class Pools(dict):
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
                fake.seed_instance(stable_int(f"{self.locale}|{name}"))
                method = getattr(fake, _POOL_SOURCES[name])
                values = tuple(dict.fromkeys(str(method()) for _ in range(_POOL_SIZE)))
        self[name] = values
        return values


POOLS: dict[str, Pools] = {}


def _ascii_word(text: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


# ---------------------------------------------------------------------------------------------
# Formats and semantic types: (pools, draw, field) -> value


class Field:
    """What a semantic generator must respect: the JSON type chosen and the schema's bounds."""

    __slots__ = ("fmt", "hi", "hix", "lo", "lox", "max_len", "min_len", "type")

    def __init__(self, type_: str, s: dict):
        self.type = type_
        self.lo, self.hi, self.lox, self.hix = bounds(s)
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


def _hostname(P: Pools, r: int) -> str:
    domains = P["domain"]
    r, i = divmod(r, len(domains))
    return f"{_SUBDOMAINS[r % len(_SUBDOMAINS)]}.{domains[i]}"


def _url(P: Pools, r: int) -> str:
    words = P["ascii:word"]
    r, a = divmod(r, len(words))
    r, b = divmod(r, len(words))
    path = f"{words[a]}/{words[b]}" if r & 1 else words[a]
    return f"https://{_hostname(P, r >> 1)}/{path}"


def _email(P: Pools, r: int) -> str:
    firsts, lasts, domains = P["ascii:first_name"], P["ascii:last_name"], P["email_domain"]
    r, i = divmod(r, len(firsts))
    r, j = divmod(r, len(lasts))
    r, k = divmod(r, len(domains))
    first, last, style = firsts[i], lasts[j], r % 4
    local = (f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}", f"{first}{r % 97}")[style]
    return f"{local}@{domains[k]}"


def _fmt(fn: Callable[[int], str]) -> Callable[[Pools, int, Field], str]:
    return lambda P, r, f: fn(r)


FORMAT_GENERATORS: dict[str, Callable[[Pools, int, Field], str]] = {
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


def _range(f: Field, lo: float, hi: float, usual_lo: float, usual_hi: float):
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

    def gen(P: Pools, r: int, f: Field):
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
        x = a + (b - a) * ((r & M53) / M53)
        v = round(x, places)
        if not a <= v <= b:
            v = x
        return f"{v:.{places}f}" if f.type == "string" else v

    return gen


_timestamp = _numeric(0, 2**32, _T0, _T1, 0, integer_only=True)


def _instant(iso: Callable[[int], str]):
    def gen(P: Pools, r: int, f: Field):
        return _timestamp(P, r, f) if f.type in ("integer", "number") else iso(r)

    return gen


def _pooled(name: str):
    return lambda P, r, f: _pick(P[name], r)


def _full_name(P: Pools, r: int, f: Field) -> str:
    firsts, lasts = P["first_name"], P["last_name"]
    r, i = divmod(r, len(firsts))
    return f"{firsts[i]} {lasts[r % len(lasts)]}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_JWT_HEADER = _b64url(b'{"alg":"HS256","typ":"JWT"}')


def _jwt(P: Pools, r: int, f: Field) -> str:
    iat = _T0 + r % (_T1 - _T0)
    claims = f'{{"sub":"{(r >> 40) % 1000000}","iat":{iat},"exp":{iat + 3600}}}'.encode()
    signature = hashlib.blake2b(r.to_bytes(16, "little"), digest_size=32).digest()
    return f"{_JWT_HEADER}.{_b64url(claims)}.{_b64url(signature)}"


def _hex_hash(P: Pools, r: int, f: Field) -> str:
    n = max(f.min_len, f.max_len if f.max_len is not None else 40)
    return hashlib.shake_256(r.to_bytes(16, "little")).hexdigest((n + 1) // 2)[:n]


def _base64(P: Pools, r: int, f: Field) -> str:
    n = 12 + r % 13
    if f.max_len is not None:
        n = min(n, f.max_len // 4 * 3)
    n = max(n, -(-f.min_len // 4) * 3)
    return base64.b64encode(hashlib.shake_256(r.to_bytes(16, "little")).digest(n)).decode()


def _slug(P: Pools, r: int, f: Field) -> str:
    words = P["ascii:word"]
    r, extra = divmod(r, 3)
    parts = []
    for _ in range(2 + extra):
        r, i = divmod(r, len(words))
        parts.append(words[i])
    return "-".join(parts)


SEMANTICS: dict[str, Callable[[Pools, int, Field], Any]] = {
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
