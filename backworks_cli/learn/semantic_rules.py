"""The rule-based baseline for field semantics: value formats that identify a type on their
own, then keywords of the field's name (`rule_based`); also the fallback when the model
cannot be loaded.
"""

from __future__ import annotations

from typing import Any

from backworks_cli.learn.features import (
    Field,
    as_number,
    core_tokens,
    frac,
    matches,
    name_tokens,
    present_values,
)

# Rules carry no calibrated confidence; this marks a rule-based answer.
RULE_CONFIDENCE = 0.5

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
    numbers = [x for x in (as_number(v) for v in present) if x is not None]
    if len(numbers) == n:
        if all(1e9 <= x <= 2.2e9 or 1e12 <= x <= 2.2e12 for x in numbers):
            return "unix_timestamp"
        if all(x == int(x) for x in numbers):
            return "integer_id"
        return "other"

    def share(kind: str) -> float:
        return frac((matches(kind, s) for s in texts), n)

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
    present, texts = present_values(field)
    if field.json_type == "boolean" or (present and all(isinstance(v, bool) for v in present)):
        return "boolean"
    tokens = name_tokens(field.name)
    if not present:
        return _by_name(tokens) or "other"
    for kind in _VALUE_RULES:
        if frac((matches(kind, s) for s in texts), len(texts)) >= 0.8:
            return kind
    guess = _by_name(tokens)
    if guess in ("date", "datetime", "unix_timestamp"):
        numbers = [as_number(v) for v in present]
        if all(x is not None and (1e9 <= x <= 2.2e9 or 1e12 <= x <= 2.2e12) for x in numbers):
            return "unix_timestamp"
    if guess is not None:
        return guess
    return _shape_guess(present, texts)
