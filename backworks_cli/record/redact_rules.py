"""Which names and which text count as secrets: the rules the Redactor (redact) applies.

Names of headers, query parameters and JSON or form fields are compared normalised (lower-case,
without ``-`` and ``_``): a built-in list of exact names, substrings that mark any name as a
secret, and names that describe a secret rather than hold one. Free text is searched for JWTs,
``Bearer <token>`` and the user's patterns; the redact module's docstring says what each rule
covers.
"""

from __future__ import annotations

import functools
import re

from backworks_cli.core.errors import ConfigError

NAME_CACHE_SIZE = 4096

# What a redacted secret becomes: PREFIX and 16 hex digits of a keyed hash.
PREFIX = "redacted:"
PLACEHOLDER = re.compile(r"redacted:[0-9a-f]{16}")
PLACEHOLDER_SPLIT = re.compile(r"(redacted:[0-9a-f]{16})")
PLACEHOLDER_SPLIT_BYTES = re.compile(rb"(redacted:[0-9a-f]{16})")

# --- names -----------------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Substrings that make any name (header, query parameter, JSON field) a secret.
_STRONG = re.compile(
    "token|secret|passw|passphrase|apikey|accesskey|privatekey|signingkey|encryptionkey"
    "|masterkey|clientkey|sessionkey|authkey|authcode|subscriptionkey|credential|signature"
    "|csrf|xsrf|sessionid|creditcard|cardnumber"
)
# Names that describe a secret (its type, lifetime, location, a count) rather than hold one.
_DESCRIBES = re.compile(
    "(?:type|types|url|uri|endpoint|expiry|expires|expiresat|expiresin|expiration|issuedat"
    "|createdat|updatedat|ttl|timeout|length|count|required|enabled|method|methods|mode|status"
    "|hint|format|policy|provider|scheme|name|usage|limit|scope|scopes|tokenizer"
    "|(?:max|min|total|prompt|completion|input|output|cached|reasoning|num|audio|text|image)"
    "tokens)$"
)
_HARMLESS = _words(
    ":authority authority author authors wwwauthenticate proxyauthenticate "
    "accesscontrolallowcredentials accesscontrolallowheaders accesscontrolexposeheaders "
    "accesscontrolrequestheaders signatureinput"
)
# In header names, "auth" alone marks a credential except in the words listed here.
_HEADER_AUTH = re.compile(r"auth(?!enticated|enticate$|ority$|ors?$)")

HEADERS = _words(
    "authorization proxyauthorization cookie setcookie xapikey apikey xauthtoken "
    "xaccesstoken xcsrftoken xxsrftoken xamzsecuritytoken xgoogapikey "
    "ocpapimsubscriptionkey"
)
QUERY = _words(
    "token accesstoken refreshtoken idtoken apikey key secret clientsecret password "
    "passwd pwd signature sig auth session sessionid sid code codeverifier jwt "
    "xamzsignature xamzcredential xamzsecuritytoken xgoogsignature xgoogcredential hmac "
    "signaturev4 sharedaccesssignature"
)
FIELDS = _words(
    "pass pwd auth authorization session sid jwt cvv cvv2 cvc ssn pin otp codeverifier ccnumber"
)
FIELD_SUFFIXES = ("pwd",)

# Authentication schemes kept in front of a redacted credential in any credential header;
# Authorization headers keep any scheme-shaped first word.
SCHEMES = _words(
    "basic bearer digest dpop gnap hoba mutual negotiate ntlm oauth token apikey api-key "
    "key jwt aws4-hmac-sha256 sso-key ssws"
)
SCHEME_VALUE = re.compile(r"([A-Za-z][A-Za-z0-9_.-]{0,31})([ \t]+)(\S.*)", re.S)

URL_HEADERS = frozenset({"location", "contentlocation", "referer", "referrer"})

# --- free text -------------------------------------------------------------------------------

JWT = re.compile(
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
    r"(?:\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?"
)
BEARER = re.compile(r"\b(bearer[ \t]+)(?!redacted:)([A-Za-z0-9._~+/-]+=*)", re.I)


def bearer_hint(text: str) -> bool:
    return "bearer" in text.lower()


# Parameters of a Bearer challenge (RFC 6750), which follow "Bearer " in WWW-Authenticate.
BEARER_PARAMS = frozenset({"realm", "scope", "error", "error_description", "error_uri"})


# Names under which a random-looking value is a credential (maps_key, repo_pat, sentry_dsn),
# though the name alone does not say so.
_KEYISH = re.compile(r"(?:key|pat|dsn|hmac|mac|sig|salt|seed)$|^(?:pat|dsn|env)$")
# Path segments after which a long segment is a one-time token (/reset/<token>).
_RESET = _words(
    "reset resetpassword passwordreset passwordresets verify verification "
    "verifyemail confirm confirmation confirmemail activate activation invite invites "
    "invitation invitations magic magiclink magiclinks unsubscribe token tokens onetime otp "
    "recover recovery"
)


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def is_keyish(name: str) -> bool:
    """Whether a random-looking value under `name` is a credential."""
    norm = normalise(name)
    return bool(norm) and not _DESCRIBES.search(norm) and _KEYISH.search(norm) is not None


def is_reset_segment(segment: str) -> bool:
    """Whether a path segment announces a one-time token as the next segment."""
    return normalise(segment) in _RESET


def normalise(name: str) -> str:
    """A name as the rules compare it: lower-case, without '-' and '_'."""
    return name.lower().replace("-", "").replace("_", "")


class NameRule:
    """Decides whether a name (of a header, query parameter or field) marks a secret."""

    def __init__(self, exact: frozenset[str], suffixes: tuple[str, ...] = (), header=False):
        self.exact = exact
        self.suffixes = suffixes
        self.header = header
        self.cache: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        hit = self.cache.get(name)
        if hit is None:
            hit = self.decide(normalise(name))
            if len(self.cache) >= NAME_CACHE_SIZE:
                self.cache.clear()
            self.cache[name] = hit
        return hit

    def decide(self, norm: str) -> bool:
        if norm in self.exact:
            return True
        if not norm or norm in _HARMLESS or _DESCRIBES.search(norm):
            return False
        if _STRONG.search(norm) or (self.suffixes and norm.endswith(self.suffixes)):
            return True
        return self.header and ("session" in norm or _HEADER_AUTH.search(norm) is not None)


def compile_patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """The user's redact.patterns compiled; ConfigError for one that is invalid or matches ""."""
    compiled = []
    for pattern in patterns:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ConfigError(
                f"redact.patterns: {pattern!r} is not a valid regular expression ({exc}).",
                "Fix the pattern in backworks.yaml (Python `re` syntax; quote it in YAML).",
            ) from None
        if regex.fullmatch(""):
            raise ConfigError(
                f"redact.patterns: {pattern!r} matches the empty string, so it would redact "
                "everywhere and nothing.",
                "Make the pattern match at least one character, e.g. use + instead of *.",
            )
        compiled.append(regex)
    return tuple(compiled)
