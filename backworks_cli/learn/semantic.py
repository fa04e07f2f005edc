"""Field semantics: which kind of data a JSON leaf holds (email, city, price...).

A field is judged from its name, its path and a few sample values. The shipped model is a
small linear classifier in ONNX (trained by training/train_semantic.py) fed by `featurize`,
which lives here so training and inference share one implementation. `rule_based` is the
format/keyword baseline and the fallback when the model cannot be loaded. This is the only
module that imports onnxruntime; it and numpy are imported lazily.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

SEMANTIC_TYPES: tuple[str, ...] = (
    "email",
    "uuid",
    "url",
    "hostname",
    "ipv4",
    "ipv6",
    "date",
    "datetime",
    "time",
    "unix_timestamp",
    "phone",
    "first_name",
    "last_name",
    "full_name",
    "username",
    "company",
    "job_title",
    "street_address",
    "city",
    "country",
    "country_code",
    "postcode",
    "latitude",
    "longitude",
    "currency_code",
    "price",
    "percentage",
    "color_hex",
    "locale",
    "user_agent",
    "mime_type",
    "file_path",
    "iban",
    "credit_card_masked",
    "isbn",
    "jwt",
    "hex_hash",
    "base64",
    "slug",
    "word",
    "sentence",
    "paragraph",
    "integer_id",
    "quantity",
    "boolean",
    "category",
    "other",
)

MAX_VALUES = 10
# Distinct sample values whose text and shape n-grams are features (all feed the statistics).
KEYED_VALUES = 6
# Hashed blocks (name, value text, value shape) followed by the dense shape/number features.
NAME_DIM = 2048
VALUE_DIM = 2048
SHAPE_DIM = 1024
# Rules carry no calibrated confidence; this marks a rule-based answer.
RULE_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Field:
    """One leaf of a JSON body: its key, where it sits, sample values and JSON type."""

    name: str
    path: str
    values: tuple[Any, ...]
    json_type: str


# --- value formats -----------------------------------------------------------------------

_RE = {
    "email": r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}",
    "uuid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "url": r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+",
    "hostname": r"(?=.{4,253}$)(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}",
    "ipv4": r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:/\d{1,2})?",
    "date": r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{4}|\d{4}/\d{2}/\d{2}",
    "datetime": r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} (?:GMT|UTC|[+-]\d{4})",
    "time": r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?: ?[AaPp][Mm])?",
    "color_hex": r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})",
    "jwt": r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",
    "hex_hash": r"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128}",
    "base64": r"(?=.{16,})(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?",
    "iban": r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,32}",
    "mime_type": r"(?:application|audio|font|image|message|model|multipart|text|video)"
    r"/[\w.+-]+(?:;.*)?",
    "locale": r"[a-z]{2,3}(?:[_-][A-Z]{2}|[_-][A-Z][a-z]{3}(?:[_-][A-Z]{2})?)",
    "slug": r"[a-z0-9]+(?:-[a-z0-9]+)+",
    "credit_card_masked": r"(?:[*xX•#]{4}[ -]?){1,3}\d{4}|\d{4,6}[*xX•#]{5,9}\d{4}"
    r"|[*xX•#]+ ?\d{4}",
    "phone": r"\+?[\d\s().-]{7,20}(?:\s*(?:x|ext\.?)\s*\d+)?",
    "file_path": r"(?:[A-Za-z]:\\|/|\./|~/)?(?:[\w .-]+[/\\])+[\w .-]+(?:\.\w{1,5})?"
    r"|[\w-]+\.(?:pdf|docx?|xlsx?|csv|txt|png|jpe?g|gif|mp[34]|json|zip|html?)",
    "user_agent": r"(?:Mozilla|Opera)/\d.*|.*(?:AppleWebKit|Gecko/|MSIE|Trident).*",
    "currency_code": r"[A-Z]{3}",
    "country_code": r"[A-Z]{2}",
    "postcode": r"(?=.*\d)[A-Z0-9][A-Z0-9 -]{2,9}",
    "word": r"[^\W\d_]+",
}
_COMPILED = {kind: re.compile(pattern) for kind, pattern in _RE.items()}


def _isbn_ok(s: str) -> bool:
    digits = s.replace("-", "").replace(" ", "")
    if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] in "xX"):
        total = sum((10 - i) * int(c) for i, c in enumerate(digits[:9]))
        total += 10 if digits[9] in "xX" else int(digits[9])
        return total % 11 == 0
    if len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979"):
        total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(digits))
        return total % 10 == 0
    return False


def _ipv6_ok(s: str) -> bool:
    if ":" not in s:
        return False
    try:
        ipaddress.IPv6Address(s.split("/")[0])
    except ValueError:
        return False
    return True


def _phone_ok(s: str) -> bool:
    return bool(_COMPILED["phone"].fullmatch(s)) and 7 <= sum(c.isdigit() for c in s) <= 15


def _matches(kind: str, s: str) -> bool:
    if kind == "isbn":
        return _isbn_ok(s)
    if kind == "ipv6":
        return _ipv6_ok(s)
    if kind == "phone":
        return _phone_ok(s)
    return bool(_COMPILED[kind].fullmatch(s))


_FORMAT_KINDS: tuple[str, ...] = (*_RE, "isbn", "ipv6")


# --- normalisation shared by features and rules ---------------------------------------------

_TOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_a-zA-Z]+")
# Leading words that qualify rather than type a field: `billing_email` is an email.
_QUALIFIERS = frozenset(
    ("billing", "shipping", "user", "customer", "home", "work", "contact", "primary")
    + ("secondary", "default", "current", "new", "old", "my", "main", "personal", "business")
    + ("delivery", "invoice", "client", "buyer", "seller", "sender", "profile", "private")
    + ("office", "mailing", "alt", "alternate", "other")
)


def name_tokens(name: str) -> list[str]:
    """Split camelCase, snake_case, kebab-case and dotted names into lower-case tokens."""
    return [t.lower() for t in _TOKEN.findall(name)]


def core_tokens(tokens: list[str]) -> list[str]:
    """Tokens without leading qualifiers such as billing_/shipping_/user_ (at least one kept)."""
    i = 0
    while i < len(tokens) - 1 and tokens[i] in _QUALIFIERS:
        i += 1
    return tokens[i:]


def _parent_tokens(path: str, name: str) -> list[str]:
    segments = [s for s in re.split(r"[.\[\]/]+", path) if s and s != "$"]
    if segments and segments[-1] == name:
        segments = segments[:-1]
    return name_tokens(segments[-1]) if segments else []


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and 0 < len(value) < 32:
        try:
            x = float(value.strip().rstrip("%"))
        except ValueError:
            return None
        return x if math.isfinite(x) else None
    return None


def _shape(s: str) -> str:
    out = []
    for c in s:
        if c.isdigit():
            out.append("0")
        elif c.isalpha():
            out.append("A" if c.isupper() else "a" if c.islower() else "c")
        elif c.isspace():
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)


def _collapse(shape: str) -> str:
    return "".join(c for i, c in enumerate(shape) if i == 0 or c != shape[i - 1])


# --- featurizer -----------------------------------------------------------------------------


def _hasher(dim: int) -> Callable[[str], int]:
    # crc32, not hash(): the same key lands in the same column in every process.
    @lru_cache(maxsize=1 << 16)
    def bucket(key: str) -> int:
        return zlib.crc32(key.encode("utf-8", "surrogatepass")) % dim

    return bucket


def _grams(text: str) -> list[str]:
    """Character 2-, 3- and 4-grams of the text with boundary marks."""
    padded = f"<{text}>"
    return [padded[i : i + n] for n in (2, 3, 4) for i in range(len(padded) - n + 1)]


def _hashed(keys: Counter[str], dim: int, offset: int) -> dict[int, float]:
    """Hash weighted keys into `dim` columns from `offset`; the block has unit length."""
    columns = list(map(_BUCKETS[dim], keys))
    weights = list(keys.values())
    if len(set(columns)) == len(columns):
        block = dict(zip(columns, weights, strict=True))
    else:
        block = {}
        for i, w in zip(columns, weights, strict=True):
            block[i] = block.get(i, 0.0) + w
    norm = math.hypot(*block.values())
    return {offset + i: w / norm for i, w in block.items()} if norm else {}


def _name_keys(field: Field) -> Counter[str]:
    """Keys of the name: n-grams of its core, its tokens, token pairs and the parent object.

    Keys other than n-grams start with "\\1", so they never collide with an n-gram.
    """
    keys: Counter[str] = Counter()
    tokens = name_tokens(field.name)
    core = core_tokens(tokens) or ["_"]
    keys.update(_grams("_".join(core)))
    keys.update("\1t:" + t for t in tokens)
    keys.update("\1c:" + t for t in core)
    keys.update(f"\1b:{a}|{b}" for a, b in pairwise(core))
    keys["\1j:" + "_".join(core)] += 2
    keys["\1l:" + core[-1]] += 2
    keys["\1f:" + core[0]] += 1
    parent = _parent_tokens(field.path, field.name)
    for t in parent:
        keys["\1p:" + t] += 0.5
    if parent:
        keys[f"\1pl:{parent[-1]}|{core[-1]}"] += 1
    return keys


_BUCKETS = {dim: _hasher(dim) for dim in {NAME_DIM, VALUE_DIM, SHAPE_DIM}}


def _value_keys(texts: list[str]) -> tuple[Counter[str], Counter[str]]:
    """Keys of the value text (n-grams, first/last word) and of its shape (digits->0...)."""
    value: Counter[str] = Counter()
    shape: Counter[str] = Counter()
    for s in list(dict.fromkeys(texts))[:KEYED_VALUES]:
        short = s[:48]
        value.update(_grams(short.lower()))
        words = short.split()
        value.update("\1w:" + w.lower() for w in words[:6])
        if words:
            value["\1fw:" + words[0].lower()] += 1
            value["\1lw:" + words[-1].lower()] += 1
        sh = _shape(s[:32])
        shape.update(_grams(sh))
        shape["\1cs:" + _collapse(sh)[:24]] += 2
        shape[f"\1len:{min(len(s), 40)}"] += 1
    return value, shape


def _non_ascii(c: str) -> bool:
    return not c.isascii()


def _punctuation(c: str) -> bool:
    return c in ".,;:!?"


def _frac(items: Iterable[bool], n: int) -> float:
    return sum(items) / n if n else 0.0


def _dense(field: Field, present: list[Any], texts: list[str]) -> list[float]:
    n_all = len(field.values)
    n = len(present)
    feats = [float(field.json_type == t) for t in ("string", "integer", "number", "boolean")]
    feats.append(float(field.json_type not in ("string", "integer", "number", "boolean")))
    feats.append(1.0 - n / n_all if n_all else 1.0)
    feats.append(min(n, MAX_VALUES) / MAX_VALUES)
    feats.append(_frac((isinstance(v, str) for v in present), n))
    feats.append(_frac((isinstance(v, bool) for v in present), n))
    feats.append(_frac((isinstance(v, int) and not isinstance(v, bool) for v in present), n))
    feats.append(_frac((isinstance(v, float) for v in present), n))
    lengths = [len(s) for s in texts]
    if lengths:
        mean = sum(lengths) / n
        std = math.sqrt(sum((x - mean) ** 2 for x in lengths) / n)
        feats += [math.log1p(mean) / 6, math.log1p(max(lengths)) / 6, math.log1p(min(lengths)) / 6]
        feats += [min(std / 10, 1.0), float(len(set(lengths)) == 1)]
        for test in (str.isdigit, str.isalpha, str.isupper, _non_ascii, _punctuation):
            feats.append(sum(sum(map(test, s)) / max(len(s), 1) for s in texts) / n)
        words = [len(s.split()) for s in texts]
        feats.append(math.log1p(sum(words) / n) / 5)
        feats.append(_frac((w == 1 for w in words), n))
        feats.append(_frac((s.rstrip()[-1:] in ".!?" for s in texts), n))
        feats.append(_frac((s[:1].isupper() for s in texts), n))
        feats.append(_frac((s.islower() for s in texts), n))
        feats.append(_frac((s.isupper() for s in texts), n))
        feats.append(len(set(texts)) / n)
        feats.append(min(len(set(texts)), MAX_VALUES) / MAX_VALUES)
    else:
        feats += [0.0] * 18
    numbers = [x for x in (_number(v) for v in present) if x is not None]
    m = len(numbers)
    feats.append(m / n if n else 0.0)
    if numbers:
        feats.append(_frac((x == int(x) for x in numbers), m))
        feats.append(_frac((x < 0 for x in numbers), m))
        feats.append(_frac((0 <= x <= 1 for x in numbers), m))
        feats.append(_frac((0 <= x <= 100 for x in numbers), m))
        feats.append(_frac((-90 <= x <= 90 for x in numbers), m))
        feats.append(_frac((-180 <= x <= 180 for x in numbers), m))
        feats.append(_frac((1e9 <= x <= 2.2e9 for x in numbers), m))
        feats.append(_frac((1e12 <= x <= 2.2e12 for x in numbers), m))
        logs = [math.log10(abs(x) + 1) for x in numbers]
        feats += [sum(logs) / m / 13, max(logs) / 13, min(logs) / 13]
        decimals = [len(s.partition(".")[2]) if "." in s else 0 for s in texts if _number(s)]
        k = len(decimals)
        feats.append(min(sum(decimals) / k / 10, 1.0) if k else 0.0)
        feats.append(_frac((d == 2 for d in decimals), k))
        feats.append(_frac((d >= 4 for d in decimals), k))
        feats.append(_frac((s.endswith("%") for s in texts), n))
    else:
        feats += [0.0] * 15
    for kind in _FORMAT_KINDS:
        feats.append(_frac((_matches(kind, s) for s in texts), n))
    return feats


DENSE_DIM = len(_dense(Field("", "", (), "null"), [], []))
FEATURE_DIM = NAME_DIM + VALUE_DIM + SHAPE_DIM + DENSE_DIM


def _present(field: Field) -> tuple[list[Any], list[str]]:
    present = [v for v in field.values[:MAX_VALUES] if v is not None]
    return present, [unicodedata.normalize("NFC", _text(v)) for v in present]


def sparse_features(field: Field) -> dict[int, float]:
    """The feature vector of one field as {column: value}."""
    present, texts = _present(field)
    value, shape = _value_keys(texts)
    out = _hashed(_name_keys(field), NAME_DIM, 0)
    out.update(_hashed(value, VALUE_DIM, NAME_DIM))
    out.update(_hashed(shape, SHAPE_DIM, NAME_DIM + VALUE_DIM))
    base = NAME_DIM + VALUE_DIM + SHAPE_DIM
    for i, x in enumerate(_dense(field, present, texts)):
        if x:
            out[base + i] = x
    return out


# Fields whose features fingerprint the featurizer: a model trained with other features
# (a changed n-gram, weight or regex) is refused rather than fed columns it does not know.
_CANARIES = (
    Field("billingEmail", "$.customer.billingEmail", ("ann@example.com", None), "string"),
    Field("unit_price", "$.items[].unit_price", (19.99, 5, "7.50"), "number"),
    Field("Stadt", "$.adresse.Stadt", ("München", "Köln", "東京"), "string"),
    Field("createdAt", "$.createdAt", ("2024-03-01T12:30:00Z", 1700000000, True), "string"),
)


def featurizer_fingerprint() -> str:
    """A short hash of the canary fields' features; training stores it in the model."""
    text = json.dumps(
        [sorted((i, round(x, 6)) for i, x in sparse_features(f).items()) for f in _CANARIES]
    )
    return f"{zlib.crc32(f'{FEATURE_DIM}:{text}'.encode()):08x}"


def featurize(fields: Sequence[Field]):
    """A dense float32 matrix (len(fields) x FEATURE_DIM), the model's input."""
    import numpy as np

    matrix = np.zeros((len(fields), FEATURE_DIM), dtype=np.float32)
    for row, field in enumerate(fields):
        feats = sparse_features(field)
        if feats:
            matrix[row, list(feats)] = list(feats.values())
    return matrix


# --- rule-based baseline -------------------------------------------------------------------

# Value formats that identify a type on their own, most specific first.
_VALUE_RULES: tuple[str, ...] = (
    "jwt",
    "uuid",
    "email",
    "url",
    "ipv6",
    "ipv4",
    "datetime",
    "date",
    "time",
    "color_hex",
    "mime_type",
    "iban",
    "isbn",
    "credit_card_masked",
    "hex_hash",
    "user_agent",
    "locale",
    "hostname",
)

# Name keywords, checked against the last core token, then any token.
_NAME_RULES: dict[str, str] = {
    **dict.fromkeys(("email", "mail"), "email"),
    **dict.fromkeys(("uuid", "guid"), "uuid"),
    **dict.fromkeys(("url", "uri", "link", "href", "website", "homepage"), "url"),
    **dict.fromkeys(("host", "hostname", "domain", "fqdn"), "hostname"),
    **dict.fromkeys(("ip", "ipv4"), "ipv4"),
    **dict.fromkeys(("ipv6", "ip6"), "ipv6"),
    **dict.fromkeys(("date", "dob", "birthday", "birthdate"), "date"),
    **dict.fromkeys(("datetime", "at", "created", "updated", "modified"), "datetime"),
    **dict.fromkeys(("time",), "time"),
    **dict.fromkeys(("timestamp", "ts", "epoch"), "unix_timestamp"),
    **dict.fromkeys(("phone", "tel", "telephone", "mobile", "cell", "fax", "msisdn"), "phone"),
    **dict.fromkeys(("firstname", "fname", "forename", "given"), "first_name"),
    **dict.fromkeys(("lastname", "lname", "surname", "family"), "last_name"),
    **dict.fromkeys(("name", "fullname", "author"), "full_name"),
    **dict.fromkeys(("username", "login", "handle", "nickname", "user"), "username"),
    **dict.fromkeys(("company", "employer", "organization", "organisation", "org"), "company"),
    **dict.fromkeys(("job", "occupation", "position", "profession"), "job_title"),
    **dict.fromkeys(("address", "addr", "street", "line1", "address1"), "street_address"),
    **dict.fromkeys(("city", "town", "locality", "municipality"), "city"),
    **dict.fromkeys(("country", "nation"), "country"),
    **dict.fromkeys(("zip", "zipcode", "postcode", "postal", "plz"), "postcode"),
    **dict.fromkeys(("lat", "latitude"), "latitude"),
    **dict.fromkeys(("lng", "lon", "long", "longitude"), "longitude"),
    **dict.fromkeys(("currency", "ccy"), "currency_code"),
    **dict.fromkeys(("price", "amount", "cost", "total", "subtotal", "fee", "balance"), "price"),
    **dict.fromkeys(("percent", "percentage", "pct", "rate", "ratio"), "percentage"),
    **dict.fromkeys(("color", "colour"), "color_hex"),
    **dict.fromkeys(("locale", "lang", "language"), "locale"),
    **dict.fromkeys(("agent", "ua", "useragent"), "user_agent"),
    **dict.fromkeys(("mime", "mimetype"), "mime_type"),
    **dict.fromkeys(("path", "file", "filename", "filepath"), "file_path"),
    **dict.fromkeys(("iban",), "iban"),
    **dict.fromkeys(("card", "pan"), "credit_card_masked"),
    **dict.fromkeys(("isbn", "isbn10", "isbn13"), "isbn"),
    **dict.fromkeys(("token", "jwt"), "jwt"),
    **dict.fromkeys(("hash", "md5", "sha1", "sha256", "checksum", "digest"), "hex_hash"),
    **dict.fromkeys(("slug", "permalink"), "slug"),
    **dict.fromkeys(("id",), "integer_id"),
    **dict.fromkeys(("qty", "quantity", "count", "stock"), "quantity"),
    **dict.fromkeys(("status", "type", "kind", "state", "level", "tier", "category"), "category"),
    **dict.fromkeys(("description", "bio", "body", "content", "text"), "paragraph"),
    **dict.fromkeys(("title", "summary", "subject", "headline", "message"), "sentence"),
    **dict.fromkeys(("tag", "keyword", "word"), "word"),
}


def _by_name(tokens: list[str]) -> str | None:
    core = core_tokens(tokens)
    if not core:
        return None
    joined = "".join(core)
    if joined in _NAME_RULES:
        return _NAME_RULES[joined]
    if core[-1] == "code" and len(core) > 1:
        return {"country": "country_code", "currency": "currency_code"}.get(core[-2], "postcode")
    if core[-1] == "name" and len(core) > 1:
        special = {"first": "first_name", "last": "last_name", "user": "username"}
        if core[-2] in special:
            return special[core[-2]]
        if core[-2] in ("company", "business", "org"):
            return "company"
    for t in reversed(core):
        if t in _NAME_RULES:
            return _NAME_RULES[t]
    return None


def _shape_guess(present: list[Any], texts: list[str]) -> str:
    n = len(present)
    numbers = [x for x in (_number(v) for v in present) if x is not None]
    if len(numbers) == n:
        if all(1e9 <= x <= 2.2e9 or 1e12 <= x <= 2.2e12 for x in numbers):
            return "unix_timestamp"
        if all(x == int(x) for x in numbers):
            return "integer_id"
        return "other"

    def share(kind: str) -> float:
        return _frac((_matches(kind, s) for s in texts), n)

    for kind in ("phone", "slug", "file_path", "base64", "country_code", "currency_code"):
        if share(kind) >= 0.8:
            return kind
    words = [len(s.split()) for s in texts]
    if n >= 4 and len(set(texts)) <= max(2, n // 3):
        return "category"
    if min(words) >= 25 or sum(s.count(". ") for s in texts) >= n:
        return "paragraph"
    if min(words) >= 3 and all(s.rstrip().endswith((".", "!", "?")) for s in texts):
        return "sentence"
    if share("word") >= 0.8 and all(s.islower() for s in texts):
        return "word"
    return "other"


def rule_based(field: Field) -> str:
    """The format/keyword baseline: value formats first, then the name, then value shape."""
    present, texts = _present(field)
    if field.json_type == "boolean" or (present and all(isinstance(v, bool) for v in present)):
        return "boolean"
    tokens = name_tokens(field.name)
    if not present:
        return _by_name(tokens) or "other"
    for kind in _VALUE_RULES:
        if _frac((_matches(kind, s) for s in texts), len(texts)) >= 0.8:
            return kind
    guess = _by_name(tokens)
    if guess in ("date", "datetime", "unix_timestamp"):
        numbers = [_number(v) for v in present]
        if all(x is not None and (1e9 <= x <= 2.2e9 or 1e12 <= x <= 2.2e12) for x in numbers):
            return "unix_timestamp"
    if guess is not None:
        return guess
    return _shape_guess(present, texts)


# --- the model -------------------------------------------------------------------------------


def _default_model_bytes() -> bytes:
    from importlib.resources import files

    return files("backworks_cli").joinpath("data", "semantic.onnx").read_bytes()


class Classifier:
    """Field classifier: the shipped ONNX model, or the rules when it cannot be loaded."""

    def __init__(self, session: Any = None, labels: Sequence[str] = ()) -> None:
        self._session = session
        self._labels = tuple(labels)

    @classmethod
    def load(
        cls, path: Path | None = None, *, warn: Callable[[str], None] | None = None
    ) -> Classifier:
        """Load the model at `path` (default: the packaged one); never raises.

        A missing, unreadable or incompatible model calls `warn` once and gives a classifier
        that uses `rule_based`.
        """
        where = str(path) if path is not None else "packaged with backworks"
        try:
            data = Path(path).read_bytes() if path is not None else _default_model_bytes()
        except OSError as exc:
            reason = f"it cannot be read ({exc.strerror or exc})"
        else:
            try:
                return cls(*_session(data))
            except Exception as exc:
                reason = f"it is not a usable model ({type(exc).__name__}: {exc})"
        if warn is not None:
            warn(
                f"Cannot use the semantic model {where}: {reason}. Field types come from "
                "rule-based detection instead; reinstall backworks or rebuild the model with "
                "`python training/train_semantic.py`."
            )
        return cls()

    @property
    def uses_model(self) -> bool:
        return self._session is not None

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels if self._session is not None else SEMANTIC_TYPES

    def classify(self, fields: Sequence[Field]) -> list[tuple[str, float]]:
        """(semantic type, confidence) for each field, in one model run."""
        if not fields:
            return []
        if self._session is None:
            return [(rule_based(f), RULE_CONFIDENCE) for f in fields]
        probabilities = self.probabilities(fields)
        best = probabilities.argmax(axis=1)
        return [(self._labels[int(i)], float(probabilities[row, i])) for row, i in enumerate(best)]

    def probabilities(self, fields: Sequence[Field]):
        """The model's class probabilities (len(fields) x len(labels)), columns as `labels`."""
        x = featurize(fields)
        name = self._session.get_inputs()[0].name
        outputs = self._session.run(None, {name: x})
        return outputs[1]


def _session(data: bytes) -> tuple[Any, list[str]]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 4
    session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    labels = json.loads(meta.get("labels", "[]"))
    trained_with = meta.get("featurizer", "none")
    if trained_with != featurizer_fingerprint():
        raise ValueError(
            f"trained with featurizer {trained_with}, this is {featurizer_fingerprint()}"
        )
    width = session.get_inputs()[0].shape[-1]
    if width != FEATURE_DIM:
        raise ValueError(f"input width {width}, expected {FEATURE_DIM}")
    if not labels or len(session.get_outputs()) < 2:
        raise ValueError("no labels recorded in the model metadata")
    return session, labels
