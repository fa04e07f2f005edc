"""The features of a JSON leaf for field semantics: hashed name, value and shape n-grams plus
dense statistics of its sample values (`featurize`). Training (training/train_semantic.py)
and inference (semantic.py) share this one implementation; SEMANTIC_TYPES are the labels.
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


def matches(kind: str, s: str) -> bool:
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


def as_number(value: Any) -> float | None:
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


def frac(items: Iterable[bool], n: int) -> float:
    return sum(items) / n if n else 0.0


def _dense(field: Field, present: list[Any], texts: list[str]) -> list[float]:
    n_all = len(field.values)
    n = len(present)
    feats = [float(field.json_type == t) for t in ("string", "integer", "number", "boolean")]
    feats.append(float(field.json_type not in ("string", "integer", "number", "boolean")))
    feats.append(1.0 - n / n_all if n_all else 1.0)
    feats.append(min(n, MAX_VALUES) / MAX_VALUES)
    feats.append(frac((isinstance(v, str) for v in present), n))
    feats.append(frac((isinstance(v, bool) for v in present), n))
    feats.append(frac((isinstance(v, int) and not isinstance(v, bool) for v in present), n))
    feats.append(frac((isinstance(v, float) for v in present), n))
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
        feats.append(frac((w == 1 for w in words), n))
        feats.append(frac((s.rstrip()[-1:] in ".!?" for s in texts), n))
        feats.append(frac((s[:1].isupper() for s in texts), n))
        feats.append(frac((s.islower() for s in texts), n))
        feats.append(frac((s.isupper() for s in texts), n))
        feats.append(len(set(texts)) / n)
        feats.append(min(len(set(texts)), MAX_VALUES) / MAX_VALUES)
    else:
        feats += [0.0] * 18
    numbers = [x for x in (as_number(v) for v in present) if x is not None]
    m = len(numbers)
    feats.append(m / n if n else 0.0)
    if numbers:
        feats.append(frac((x == int(x) for x in numbers), m))
        feats.append(frac((x < 0 for x in numbers), m))
        feats.append(frac((0 <= x <= 1 for x in numbers), m))
        feats.append(frac((0 <= x <= 100 for x in numbers), m))
        feats.append(frac((-90 <= x <= 90 for x in numbers), m))
        feats.append(frac((-180 <= x <= 180 for x in numbers), m))
        feats.append(frac((1e9 <= x <= 2.2e9 for x in numbers), m))
        feats.append(frac((1e12 <= x <= 2.2e12 for x in numbers), m))
        logs = [math.log10(abs(x) + 1) for x in numbers]
        feats += [sum(logs) / m / 13, max(logs) / 13, min(logs) / 13]
        decimals = [len(s.partition(".")[2]) if "." in s else 0 for s in texts if as_number(s)]
        k = len(decimals)
        feats.append(min(sum(decimals) / k / 10, 1.0) if k else 0.0)
        feats.append(frac((d == 2 for d in decimals), k))
        feats.append(frac((d >= 4 for d in decimals), k))
        feats.append(frac((s.endswith("%") for s in texts), n))
    else:
        feats += [0.0] * 15
    for kind in _FORMAT_KINDS:
        feats.append(frac((matches(kind, s) for s in texts), n))
    return feats


DENSE_DIM = len(_dense(Field("", "", (), "null"), [], []))
FEATURE_DIM = NAME_DIM + VALUE_DIM + SHAPE_DIM + DENSE_DIM


def present_values(field: Field) -> tuple[list[Any], list[str]]:
    present = [v for v in field.values[:MAX_VALUES] if v is not None]
    return present, [unicodedata.normalize("NFC", _text(v)) for v in present]


def sparse_features(field: Field) -> dict[int, float]:
    """The feature vector of one field as {column: value}."""
    present, texts = present_values(field)
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
