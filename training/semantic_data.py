"""Labelled fields for the semantic model, generated with Faker.

Each semantic type has value generators and two disjoint lists of field names: `train`
names for training, `held_out` names for evaluation. Locales, name qualifiers, parent
objects and opaque names are split the same way, so the evaluation set measures how the
model does on locales and names it never saw. Same seed, same examples.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import string
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faker import Faker
from faker.providers import BaseProvider

from backworks_cli.learn.features import SEMANTIC_TYPES, Field


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


TRAIN_LOCALES = _names(
    "en_US en_GB de_DE fr_FR es_ES it_IT nl_NL pt_BR ja_JP pl_PL sv_SE ru_RU zh_CN ko_KR "
    "el_GR tr_TR en_AU hu_HU"
)
HELD_OUT_LOCALES = _names(
    "en_CA de_AT fr_CH es_MX pt_PT da_DK fi_FI cs_CZ no_NO en_IE ro_RO en_IN zh_TW uk_UA"
)

# Qualifiers put in front of personal/contact fields (`billing_email`).
TRAIN_QUALIFIERS = _names("billing shipping home work customer user contact")
HELD_OUT_QUALIFIERS = _names("owner recipient emergency guardian payer beneficiary partner")
# Objects a field sits in, for its path.
TRAIN_PARENTS = _names("data items[] user result attributes payload customer order")
HELD_OUT_PARENTS = _names("records[] entity object response account node")
# Names that say nothing about the type: the values must carry it.
TRAIN_OPAQUE = _names("value val field attr prop col1 column2 f1 item x data_field property")
HELD_OUT_OPAQUE = _names("v entry f7 column_9 thing element datum fld")

STYLES = ("snake", "camel", "pascal", "kebab", "upper", "flat")


@dataclass(frozen=True)
class Spec:
    """How to make examples of one semantic type."""

    values: Callable[[Faker, random.Random], Callable[[], Any]]
    train: tuple[str, ...]
    held_out: tuple[str, ...]
    personal: bool = False  # takes qualifiers such as billing_/shipping_
    by_value: bool = False  # values alone identify the type, so opaque names are fair


def _pick(*makers: Callable[[], Any]) -> Callable[[Faker, random.Random], Callable[[], Any]]:
    """A spec's `values`: each example picks one of the makers (a style) and sticks to it."""

    def choose(fake: Faker, rng: random.Random) -> Callable[[], Any]:
        return rng.choice(makers)(fake, rng)

    return choose


def _one(fn: Callable[[Faker, random.Random], Any]):
    return lambda fake, rng: lambda: fn(fake, rng)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(fake: Faker, rng: random.Random) -> str:
    header = {"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}
    payload = {"sub": str(rng.randint(1, 10**6)), "iat": rng.randint(1_500_000_000, 1_800_000_000)}
    if rng.random() < 0.5:
        payload["email"] = fake.email()
    if rng.random() < 0.5:
        payload["scope"] = " ".join(fake.words(rng.randint(1, 3)))
    sig = rng.randbytes(rng.choice([32, 64, 256]))
    parts = [json.dumps(header).encode(), json.dumps(payload).encode()]
    return ".".join([*map(_b64url, parts), _b64url(sig)])


# Fixed bounds: Faker's defaults end "now", which would change the data (and model) daily.
_EARLIEST = datetime(1950, 1, 1)
_LATEST = datetime(2035, 12, 31)


def _moment(fake: Faker) -> datetime:
    return fake.date_time_between(_EARLIEST, _LATEST)


class _FixedYears(BaseProvider):
    """`year` for user names and emails, without Faker's default upper bound of "now"."""

    def year(self) -> str:
        return str(self.random_int(_EARLIEST.year, _LATEST.year))


def _date_maker(pattern: str):
    return lambda fake, rng: lambda: _moment(fake).strftime(pattern)


def _time_maker(pattern: str):
    return lambda fake, rng: lambda: _moment(fake).strftime(pattern)


def _datetime_maker(kind: int):
    def make(fake: Faker, rng: random.Random) -> Callable[[], str]:
        def one() -> str:
            dt = _moment(fake)
            if kind == 0:
                return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            if kind == 1:
                return dt.isoformat(timespec="milliseconds") + "Z"
            if kind == 2:
                return dt.strftime("%Y-%m-%dT%H:%M:%S") + rng.choice(["+00:00", "+02:00", "-05:00"])
            if kind == 3:
                return dt.strftime("%Y-%m-%d %H:%M:%S")
            return dt.strftime("%a, %d %b %Y %H:%M:%S GMT")

        return one

    return make


def _unix(scale: int, as_text: bool):
    def make(fake: Faker, rng: random.Random) -> Callable[[], Any]:
        def one() -> Any:
            t = rng.randint(1_300_000_000, 1_900_000_000) * scale + rng.randint(0, scale - 1)
            return str(t) if as_text else t

        return one

    return make


def _number_text(rng: random.Random, x: float, digits: int, as_text: bool) -> Any:
    x = round(x, digits)
    return f"{x:.{digits}f}" if as_text else x


def _price(as_text: bool, integer: bool):
    def make(fake: Faker, rng: random.Random) -> Callable[[], Any]:
        top = rng.choice([20, 200, 2000, 20000])

        def one() -> Any:
            if integer:
                return rng.randint(1, top)
            x = rng.uniform(0.5, top)
            if rng.random() < 0.3:
                x = int(x) + rng.choice([0.99, 0.95, 0.5, 0.0])
            return _number_text(rng, x, 2, as_text)

        return one

    return make


def _percentage(kind: int):
    def make(fake: Faker, rng: random.Random) -> Callable[[], Any]:
        def one() -> Any:
            if kind == 0:
                return round(rng.uniform(0, 100), rng.choice([0, 1, 2]))
            if kind == 1:
                return round(rng.random(), rng.choice([2, 3, 4]))
            if kind == 2:
                return rng.randint(0, 100)
            return f"{round(rng.uniform(0, 100), rng.choice([0, 1]))}%"

        return one

    return make


def _coordinate(limit: float, as_text: bool):
    def make(fake: Faker, rng: random.Random) -> Callable[[], Any]:
        digits = rng.choice([4, 5, 6, 7])

        def one() -> Any:
            return _number_text(rng, rng.uniform(-limit, limit), digits, as_text)

        return one

    return make


def _masked_card(kind: int):
    def make(fake: Faker, rng: random.Random) -> Callable[[], str]:
        def one() -> str:
            last4 = f"{rng.randint(0, 9999):04d}"
            if kind == 0:
                return f"**** **** **** {last4}"
            if kind == 1:
                return f"XXXX-XXXX-XXXX-{last4}"
            if kind == 2:
                return f"{fake.credit_card_number()[:6]}******{last4}"
            return f"•••• {last4}"

        return one

    return make


def _hex_hash(fake: Faker, rng: random.Random) -> Callable[[], str]:
    algo = rng.choice(["md5", "sha1", "sha256", "sha512"])
    upper = rng.random() < 0.1
    return lambda: (lambda h: h.upper() if upper else h)(
        hashlib.new(algo, rng.randbytes(16)).hexdigest()
    )


def _base64(fake: Faker, rng: random.Random) -> Callable[[], str]:
    return lambda: base64.b64encode(rng.randbytes(rng.randint(12, 120))).decode()


def _category(vocab_lists: list[list[str]]):
    def make(fake: Faker, rng: random.Random) -> Callable[[], Any]:
        vocab = rng.choice(vocab_lists)
        vocab = vocab[: rng.randint(2, len(vocab))]
        case = rng.choice([str, str.upper, str.lower, str.capitalize])
        return lambda: case(rng.choice(vocab))

    return make


CATEGORY_VOCAB = [
    ["active", "inactive", "pending", "suspended"],
    ["small", "medium", "large", "xl"],
    ["draft", "published", "archived"],
    ["admin", "editor", "viewer", "guest"],
    ["male", "female", "other"],
    ["low", "normal", "high", "urgent"],
    ["web", "ios", "android"],
    ["credit", "debit"],
    ["new", "in_progress", "done", "cancelled"],
    ["free", "basic", "pro", "enterprise"],
    ["GET", "POST", "PUT", "DELETE"],
    ["open", "closed"],
]


def _other(kind: int):
    def make(fake: Faker, rng: random.Random) -> Callable[[], Any]:
        def one() -> Any:
            if kind == 0:
                return f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}"
            if kind == 1:
                letters = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(2, 4)))
                return f"{letters}-{rng.randint(100, 99999)}"
            if kind == 2:
                return f"PT{rng.randint(1, 59)}{rng.choice('HMS')}"
            if kind == 3:
                return rng.uniform(-1e4, 1e4)
            if kind == 4:
                return fake.pystr(min_chars=3, max_chars=12)
            if kind == 5:
                return rng.choice([fake.word(), rng.randint(0, 99), "", "n/a"])
            return fake.bothify(rng.choice(["??-####", "#??#-##", "????####"]))

        return one

    return make


def _faker(method: str, **kwargs: Any):
    return lambda fake, rng: lambda: getattr(fake, method)(**kwargs)


def _text_of(method: str, transform: Callable[[str], str]):
    return lambda fake, rng: lambda: transform(getattr(fake, method)())


def _postcode_number(fake: Faker, rng: random.Random) -> Any:
    """Some APIs send all-digit postcodes as JSON numbers."""
    code = fake.postcode()
    return int(code) if code.isdigit() and code[0] != "0" else code


SPECS: dict[str, Spec] = {
    "email": Spec(
        _pick(_faker("email"), _faker("company_email"), _faker("free_email")),
        _names("email mail email_address e_mail email_addr"),
        _names("email_id mailbox notify_email reply_to"),
        personal=True,
        by_value=True,
    ),
    "uuid": Spec(
        _pick(_one(lambda f, r: _uuid(r)), _one(lambda f, r: _uuid(r).upper())),
        _names("uuid guid id request_id trace_id session_id external_id"),
        _names("correlation_id idempotency_key device_guid nonce"),
        by_value=True,
    ),
    "url": Spec(
        _pick(_faker("url"), _faker("uri"), _faker("image_url")),
        _names("url link website homepage href avatar_url image_url callback_url"),
        _names("profile_link web landing_page photo_uri redirect_uri"),
        by_value=True,
    ),
    "hostname": Spec(
        _pick(_faker("hostname"), _faker("domain_name"), _faker("domain_name", levels=2)),
        _names("hostname host domain server fqdn"),
        _names("server_name origin_host domain_name smtp_server"),
        by_value=True,
    ),
    "ipv4": Spec(
        _pick(_faker("ipv4"), _faker("ipv4_private"), _faker("ipv4_public")),
        _names("ip ip_address client_ip remote_addr ipv4"),
        _names("source_ip last_ip peer_address gateway"),
        by_value=True,
    ),
    "ipv6": Spec(
        _pick(_faker("ipv6")),
        _names("ipv6 ip6 ipv6_address client_ip ip"),
        _names("source_ip6 v6_addr remote_ipv6 peer"),
        by_value=True,
    ),
    "date": Spec(
        _pick(
            _date_maker("%Y-%m-%d"),
            _date_maker("%Y-%m-%d"),
            _date_maker("%d/%m/%Y"),
            _date_maker("%m/%d/%Y"),
            _date_maker("%d.%m.%Y"),
        ),
        _names("date dob birthday birth_date due_date start_date expiry_date"),
        _names("date_of_birth delivery_date valid_until effective_on"),
        by_value=True,
    ),
    "datetime": Spec(
        _pick(*(_datetime_maker(k) for k in range(5))),
        _names("created_at updated_at timestamp last_login published_at occurred_at datetime"),
        _names("modified_on sent_at expires_at last_seen"),
        by_value=True,
    ),
    "time": Spec(
        _pick(_time_maker("%H:%M:%S"), _time_maker("%H:%M"), _time_maker("%I:%M %p")),
        _names("time start_time open_time closing_time departure_time"),
        _names("pickup_time alarm begins time_of_day"),
        by_value=True,
    ),
    "unix_timestamp": Spec(
        _pick(_unix(1, False), _unix(1000, False), _unix(1, True)),
        _names("timestamp ts epoch created created_at updated iat exp"),
        _names("modified_ts epoch_ms issued_at last_activity"),
    ),
    "phone": Spec(
        _pick(_faker("phone_number"), _faker("phone_number"), _one(lambda f, r: "+" + f.msisdn())),
        _names("phone phone_number tel telephone mobile cell msisdn"),
        _names("contact_number fax mobile_no phone_no landline"),
        personal=True,
    ),
    "first_name": Spec(
        _pick(_faker("first_name"), _faker("first_name_male"), _faker("first_name_female")),
        _names("first_name firstname fname given_name forename"),
        _names("first first_nm christian_name name_first given"),
        personal=True,
    ),
    "last_name": Spec(
        _pick(_faker("last_name")),
        _names("last_name lastname lname surname family_name"),
        _names("last name_last family last_nm sur_name"),
        personal=True,
    ),
    "full_name": Spec(
        _pick(_faker("name"), _faker("name_nonbinary")),
        _names("name full_name fullname display_name contact_name customer_name author"),
        _names("person holder_name owner complete_name nm"),
        personal=True,
    ),
    "username": Spec(
        _pick(_faker("user_name")),
        _names("username user_name login handle screen_name nickname"),
        _names("member account_name login_id uname user_handle"),
        personal=True,
    ),
    "company": Spec(
        _pick(_faker("company")),
        _names(
            "company company_name employer organization org business_name merchant brand "
            "manufacturer publisher agency company.name"
        ),
        _names("organisation firm vendor supplier employer_name issuer"),
        personal=True,
    ),
    "job_title": Spec(
        _pick(_faker("job")),
        _names("job_title job position occupation designation"),
        _names("profession job_role work_title post"),
        personal=True,
    ),
    "street_address": Spec(
        _pick(
            _text_of("street_address", lambda s: s.replace("\n", ", ")),
            _text_of("address", lambda s: s.replace("\n", ", ")),
        ),
        _names("address street_address street addr address_line1 line1 address.street"),
        _names("address1 street_line road addr_line residence"),
        personal=True,
    ),
    "city": Spec(
        _pick(_faker("city")),
        _names("city town locality city_name municipality village birthplace commune address.city"),
        _names("place cty town_name settlement hometown"),
        personal=True,
    ),
    "country": Spec(
        _pick(_faker("country")),
        _names("country country_name nation origin home_country residence_country country.name"),
        _names("land origin_country country_of_residence destination"),
        personal=True,
    ),
    "country_code": Spec(
        _pick(
            _faker("country_code"),
            _faker("country_code"),
            _faker("country_code", representation="alpha-3"),
        ),
        _names("country_code cc iso_country country_iso country.code"),
        _names("nation_code iso2 country_alpha2 ctry"),
        personal=True,
    ),
    "postcode": Spec(
        _pick(_faker("postcode"), _faker("postcode"), _one(_postcode_number)),
        _names("zip zipcode postcode postal_code zip_code plz"),
        _names("post_code zip5 postal pincode cap"),
        personal=True,
    ),
    "latitude": Spec(
        _pick(_coordinate(90, False), _coordinate(90, False), _coordinate(90, True)),
        _names("lat latitude geo_lat location.lat"),
        _names("gps_lat lat_deg location_latitude coord_lat"),
    ),
    "longitude": Spec(
        _pick(_coordinate(180, False), _coordinate(180, False), _coordinate(180, True)),
        _names("lng lon long longitude geo_lng location.lng"),
        _names("gps_lon lng_deg location_longitude coord_lng"),
    ),
    "currency_code": Spec(
        _pick(_faker("currency_code")),
        _names("currency currency_code ccy price.currency"),
        _names("cur iso_currency money_currency settlement_currency"),
    ),
    "price": Spec(
        _pick(_price(False, False), _price(False, False), _price(True, False), _price(False, True)),
        _names("price amount total cost unit_price subtotal fee balance tax"),
        _names("grand_total list_price charge msrp payout"),
    ),
    "percentage": Spec(
        _pick(*(_percentage(k) for k in range(4))),
        _names("percent pct discount_rate tax_rate progress completion share"),
        _names("utilization pct_complete vat_rate success_rate"),
    ),
    "color_hex": Spec(
        _pick(
            _faker("hex_color"),
            _text_of("hex_color", str.upper),
            _text_of("hex_color", lambda s: "#" + s[1] + s[3] + s[5]),
        ),
        _names("color colour hex_color bg_color theme_color background"),
        _names("primary_colour fill accent tint brand_color"),
        by_value=True,
    ),
    "locale": Spec(
        _pick(_faker("locale"), _text_of("locale", lambda s: s.replace("_", "-"))),
        _names("locale language lang culture preferred_locale"),
        _names("ui_language i18n lang_code language_tag"),
        by_value=True,
    ),
    "user_agent": Spec(
        _pick(_faker("user_agent")),
        _names("user_agent ua browser client"),
        _names("agent http_user_agent useragent_string device_ua"),
        by_value=True,
    ),
    "mime_type": Spec(
        _pick(_faker("mime_type")),
        _names("mime_type content_type mimetype media_type format"),
        _names("file_type mime asset_type encoding_type"),
        by_value=True,
    ),
    "file_path": Spec(
        _pick(
            _faker("file_path"),
            _faker("file_path", depth=3),
            _faker("file_name"),
            _text_of("file_path", lambda s: "C:" + s.replace("/", "\\")),
        ),
        _names("path file_path filename file location attachment"),
        _names("document local_path upload src_file dir"),
        by_value=True,
    ),
    "iban": Spec(
        _pick(
            _faker("iban"),
            _text_of("iban", lambda s: " ".join(s[i : i + 4] for i in range(0, len(s), 4))),
        ),
        _names("iban bank_account account_number iban_code"),
        _names("payout_account bank_iban acct sepa_account"),
        by_value=True,
    ),
    "credit_card_masked": Spec(
        _pick(*(_masked_card(k) for k in range(4))),
        _names("card_number card masked_pan cc_number"),
        _names("pan payment_card card_no credit_card"),
        by_value=True,
    ),
    "isbn": Spec(
        _pick(
            _faker("isbn13"),
            _faker("isbn10"),
            _text_of("isbn13", lambda s: s.replace("-", "")),
        ),
        _names("isbn isbn13 isbn10 book_isbn"),
        _names("ean_book isbn_code book_number"),
        by_value=True,
    ),
    "jwt": Spec(
        _pick(_one(_jwt)),
        _names("token access_token id_token jwt bearer refresh_token"),
        _names("auth session_token authorization credential"),
        by_value=True,
    ),
    "hex_hash": Spec(
        _pick(_hex_hash),
        _names("hash sha256 md5 checksum etag digest fingerprint sha1"),
        _names("content_hash sig file_digest commit revision"),
        by_value=True,
    ),
    "base64": Spec(
        _pick(_base64),
        _names("data payload content_base64 image_data blob signature encoded"),
        _names("raw body_b64 attachment_data cipher thumbnail"),
        by_value=True,
    ),
    "slug": Spec(
        _pick(_faker("slug")),
        _names("slug permalink url_key seo_slug"),
        _names("path_segment friendly_url article_key route_name"),
        by_value=True,
    ),
    "word": Spec(
        _pick(_faker("word")),
        _names("word tag tags keyword term label hashtag"),
        _names("tag_name key_word lemma topic"),
    ),
    "sentence": Spec(
        _pick(_faker("sentence")),
        _names("title headline summary subject caption tagline message"),
        _names("heading blurb short_description note question"),
    ),
    "paragraph": Spec(
        _pick(_one(lambda f, r: f.paragraph(nb_sentences=r.randint(3, 7)))),
        _names("description body bio content text details about comment"),
        _names("long_description notes article_body abstract review"),
    ),
    "integer_id": Spec(
        _pick(
            # Small APIs and fresh tables have small ids: the name, not the size, tells them
            # apart from quantities.
            _one(lambda f, r: r.randint(1, 100)),
            _one(lambda f, r: r.randint(1, 10**6)),
            _one(lambda f, r: r.randint(10**6, 10**10)),
            _one(lambda f, r: str(r.randint(1, 10**7))),
        ),
        _names("id user_id order_id customer_id account_id parent_id product_id"),
        _names("invoice_id ticket_number record_id pk seq emp_no"),
    ),
    "quantity": Spec(
        _pick(_one(lambda f, r: r.randint(0, 20)), _one(lambda f, r: r.randint(0, 500))),
        _names("qty quantity count stock num_items total_items retries seats"),
        _names("units inventory pieces n_items attempts in_stock"),
    ),
    "boolean": Spec(
        _pick(_one(lambda f, r: r.random() < 0.5), _one(lambda f, r: r.random() < 0.9)),
        _names("is_active active enabled verified has_children deleted paid"),
        _names("is_admin visible archived flag opt_in"),
        by_value=True,
    ),
    "category": Spec(
        _category(CATEGORY_VOCAB),
        _names("status type kind state level tier plan role gender priority channel source"),
        _names("mode stage segment visibility severity class"),
    ),
    "other": Spec(
        _pick(*(_other(k) for k in range(7))),
        _names("version sku code ref extra flags metadata build"),
        _names("misc x_custom revision_label lot variant"),
    ),
}
assert set(SPECS) == set(SEMANTIC_TYPES), set(SPECS) ^ set(SEMANTIC_TYPES)


def styled(tokens: list[str], style: str) -> str:
    """Write name tokens in one naming style."""
    if style == "snake":
        return "_".join(tokens)
    if style == "camel":
        return tokens[0] + "".join(t.capitalize() for t in tokens[1:])
    if style == "pascal":
        return "".join(t.capitalize() for t in tokens)
    if style == "kebab":
        return "-".join(tokens)
    if style == "upper":
        return "_".join(tokens).upper()
    return "".join(tokens)


def json_type(values: list[Any]) -> str:
    """The JSON Schema type a schema learner would give these values."""
    present = [v for v in values if v is not None]
    if not present:
        return "null"
    if all(isinstance(v, bool) for v in present):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "integer"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "number"
    return "string"


@dataclass(frozen=True)
class Split:
    """Which locales and name lists a set of examples draws from."""

    locales: tuple[str, ...]
    qualifiers: tuple[str, ...]
    parents: tuple[str, ...]
    opaque: tuple[str, ...]
    held_out: bool
    opaque_rate: float


TRAIN = Split(
    TRAIN_LOCALES, TRAIN_QUALIFIERS, TRAIN_PARENTS, TRAIN_OPAQUE, held_out=False, opaque_rate=0.1
)
HELD_OUT = Split(
    HELD_OUT_LOCALES,
    HELD_OUT_QUALIFIERS,
    HELD_OUT_PARENTS,
    HELD_OUT_OPAQUE,
    held_out=True,
    opaque_rate=0.15,
)


def _field_name(kind: str, spec: Spec, split: Split, rng: random.Random) -> tuple[str, str]:
    """A (name, path) for one example of `kind`."""
    names = spec.held_out if split.held_out else spec.train
    # Opaque names train every type (the model learns value priors) but are only evaluated
    # where the values identify the type.
    if rng.random() < split.opaque_rate and (spec.by_value or not split.held_out):
        base, parent = rng.choice(split.opaque), rng.choice(split.parents)
    else:
        base = rng.choice(names)
        parent, _, leaf = base.rpartition(".")
        base = leaf
        if not parent:
            parent = rng.choice(split.parents) if rng.random() < 0.7 else ""
    tokens = base.split("_")
    if spec.personal and rng.random() < 0.35:
        tokens = [rng.choice(split.qualifiers), *tokens]
    style = rng.choice(STYLES)
    name = styled(tokens, style)
    path = f"$.{styled(parent.split('_'), style)}.{name}" if parent else f"$.{name}"
    return name, path


def _count(rng: random.Random) -> int:
    return rng.choice([1, 1, 2, 3, 3, 5, 5, 8, 10, 10])


def examples(split: Split, per_type: int, seed: int) -> Iterator[tuple[Field, str]]:
    """`per_type` labelled fields for every semantic type, deterministic for a seed."""
    rng = random.Random(seed)
    fakers = []
    for i, locale in enumerate(split.locales):
        fake = Faker(locale)
        fake.add_provider(_FixedYears)
        fake.seed_instance(seed * 1000 + i)
        fakers.append(fake)
    for kind in SEMANTIC_TYPES:
        spec = SPECS[kind]
        for j in range(per_type):
            fake = fakers[j % len(fakers)]
            make = spec.values(fake, rng)
            values = [make() for _ in range(_count(rng))]
            if len(values) > 1 and rng.random() < 0.15:
                values[rng.randrange(len(values))] = None
            if kind == "other" and rng.random() < 0.05:
                values = [None] * len(values)
            name, path = _field_name(kind, spec, split, rng)
            yield Field(name, path, tuple(values), json_type(values)), kind


def overlaps() -> list[str]:
    """Held-out names or locales that also occur in training (there should be none)."""
    seen = set(TRAIN_LOCALES) | set(TRAIN_QUALIFIERS) | set(TRAIN_PARENTS) | set(TRAIN_OPAQUE)
    for spec in SPECS.values():
        seen.update(name.rpartition(".")[2] for name in spec.train)
        seen.update(name.rpartition(".")[0] for name in spec.train if "." in name)
    held_out = set(HELD_OUT_LOCALES) | set(HELD_OUT_QUALIFIERS) | set(HELD_OUT_PARENTS)
    held_out |= set(HELD_OUT_OPAQUE)
    for spec in SPECS.values():
        held_out.update(part for name in spec.held_out for part in name.split("."))
    return sorted(seen & held_out)


def pin_hash_seed() -> None:
    """Re-run the script under PYTHONHASHSEED=0: Faker draws some values (it_IT cities) from
    sets, whose order follows the hash seed, and the data must not change from run to run."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, *sys.argv])
