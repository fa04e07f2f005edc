"""Secrets recognised by their shape, wherever they appear in text.

The provider token rules are the regex plugins of the `detect-secrets` library (GitHub, GitLab,
AWS, Stripe, Slack, Twilio, SendGrid, npm, PyPI, JWTs, private keys, URL credentials, ...),
completed by the shapes it does not know yet (Google API keys, Anthropic and project-scoped
OpenAI keys, Stripe test and restricted keys, fine-grained GitHub tokens, Shopify, Hugging
Face, DigitalOcean, whole PEM blocks, DSN user keys, presigned-URL parameters).

Running every pattern over every body would cost milliseconds per exchange, so each rule has
literal hints, strings one of which any match must contain; a rule runs only on text holding one
of its hints. All hints are found in one pass by an Aho-Corasick automaton (`ahocorasick_rs`,
the Rust crate ripgrep uses), so clean text costs one scan however many rules there are. The
library's plugins are imported the first time a hint is seen, so starting a mock or a capture
does not pay for them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from backworks_cli.record.redact_rules import PLACEHOLDER, PREFIX

# Literal hints for the detect-secrets regex plugins, by class name. A plugin missing here (a
# newer library version) runs on all text; IPPublicDetector is left out: an IP is not a secret.
_LIBRARY_HINTS: dict[str, tuple[str, ...]] = {
    "ArtifactoryDetector": ("AKC", "AP"),
    "AWSKeyDetector": ("IA", "A3T", "ACCA", "aws"),
    "AzureStorageKeyDetector": ("AccountKey=",),
    "BasicAuthDetector": ("://",),
    "CloudantDetector": ("cloudant",),
    "DiscordBotTokenDetector": ("Bot",),
    "GitHubTokenDetector": ("gh",),
    "GitLabTokenDetector": ("gl", "GR1348941"),
    "IbmCloudIamDetector": ("ibm", "iam"),
    "IbmCosHmacDetector": ("secret",),
    "JwtTokenDetector": ("eyJ",),
    "MailchimpDetector": ("-us",),
    "NpmDetector": (":_authToken",),
    "OpenAIDetector": ("T3BlbkFJ",),
    "PrivateKeyDetector": ("PRIVATE KEY", "PuTTY"),
    "PypiTokenDetector": ("pypi-",),
    "SendGridDetector": ("SG.",),
    "SlackDetector": ("xox", "hooks.slack"),
    "SoftlayerDetector": ("softlayer",),
    "SquareOAuthDetector": ("sq0csp-",),
    "StripeDetector": ("k_live_",),
    "TelegramBotTokenDetector": ("bot",),
    "TwilioKeyDetector": ("AC", "SK"),
}
_LEFT_OUT = frozenset({"IPPublicDetector"})

# Shapes the library lacks. Where a pattern has a group, the group is the secret.
_OWN: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Google API key", ("AIza",), r"AIza[0-9A-Za-z_-]{35}"),
    ("Anthropic API key", ("sk-ant-",), r"sk-ant-[A-Za-z0-9]{2,10}-[A-Za-z0-9_-]{32,}"),
    ("OpenAI API key", ("sk-",), r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}"),
    ("OpenAI API key", ("sk-",), r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9]{40,}"),
    ("Stripe key", ("k_test_", "k_live_"), r"(?:sk|rk)_(?:test|live)_[0-9a-zA-Z]{16,}"),
    ("Stripe webhook secret", ("whsec_",), r"whsec_[0-9a-zA-Z+/]{24,}"),
    ("GitHub token", ("github_pat_",), r"github_pat_[A-Za-z0-9_]{22,}"),
    ("GitHub token", ("gh",), r"gh[pousr]_[A-Za-z0-9]{30,}"),
    ("Shopify token", ("shp",), r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"),
    (
        "Slack token",
        ("xapp", "xox"),
        r"xapp-\d-[A-Z0-9]+-\d+-[A-Za-z0-9]+|xox[a-z]-[A-Za-z0-9-]{10,}",
    ),
    ("Hugging Face token", ("hf_",), r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}"),
    ("DigitalOcean token", ("_v1_",), r"do[por]_v1_[a-f0-9]{64}"),
    ("npm token", ("npm_",), r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}"),
    ("PyPI token", ("pypi-",), r"pypi-[A-Za-z0-9_-]{50,}"),
    ("GitLab token", ("gl",), r"glpat-[A-Za-z0-9_-]{20,}"),
    ("SendGrid API key", ("SG.",), r"SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"),
    ("Twilio API key", ("SK",), r"(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![A-Za-z0-9])"),
    (
        "Private key",
        ("PRIVATE KEY",),
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\:-]*)",
    ),
    # scheme://user:password@host and a DSN's key (scheme://longkey@host); both start at the
    # literal "://", which the regex engine finds fast.
    ("URL credentials", ("://",), r"://[^\s/:@?#\"'<>\\]*:([^\s/@?#\"'<>\\]+)@"),
    ("DSN key", ("://",), r"://([A-Za-z0-9]{20,})@[A-Za-z0-9.-]+"),
    (
        "AWS secret key",
        ("aws", "AWS"),
        r"(?i:aws[\w.-]{0,20}secret[\w.-]{0,20})[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
    ),
)


# Literals a rule's matches all contain besides its hint, by rule name: credentials in a URL
# need both "://" and "@", which clean JSON often holds one of (links, e-mail addresses).
_NEEDS: dict[str, frozenset[str]] = {
    name: frozenset({"@"}) for name in ("Basic Auth Credentials", "URL credentials", "DSN key")
}


@dataclass(frozen=True, slots=True)
class Rule:
    """A secret shape: `pattern` is tried only on text holding one of `hints` and all of
    `needs`."""

    name: str
    hints: tuple[str, ...]
    pattern: re.Pattern[str]
    needs: frozenset[str] = frozenset()

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """The (start, end) of each secret this rule sees in `text`: the pattern's first group
        where it follows some context (a name, `user:`), else the whole match, since a group
        at the start is a choice of prefix (`(ghp|gho)_…`), not the secret."""
        grouped = self.pattern.groups > 0
        for match in self.pattern.finditer(text):
            start, end = match.span()
            if grouped:
                group_start, group_end = match.span(1)
                if group_start > start:
                    start, end = group_start, group_end
            if end > start:
                yield start, end


def _library_rules() -> list[Rule]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    rules = []
    for cls in get_mapping_from_secret_type_to_class().values():
        if not issubclass(cls, RegexBasedDetector) or cls.__name__ in _LEFT_OUT:
            continue
        hints = _LIBRARY_HINTS.get(cls.__name__, ("",))
        for pattern in cls.denylist:
            needs = _NEEDS.get(cls.secret_type, frozenset())
            rules.append(Rule(cls.secret_type, hints, pattern, needs))
    return rules


class Detectors:
    """Every shape rule, with the hint test that keeps clean text cheap."""

    def __init__(self, signals: tuple[str, ...] = ()) -> None:
        import ahocorasick_rs

        self._own = [
            Rule(name, hints, re.compile(p, re.S), _NEEDS.get(name, frozenset()))
            for name, hints, p in _OWN
        ]
        # By hint, once the library's rules are loaded; with the rules that have no hint (a
        # newer library's plugins), which run whenever any hint is present.
        self._by_hint: dict[str, list[Rule]] | None = None
        self._unhinted: list[Rule] = []
        hints = {h for _, hs, _ in _OWN for h in hs}
        hints.update(h for hs in _LIBRARY_HINTS.values() for h in hs)
        self._hint_set = frozenset(hints)
        hints.update(h for needs in _NEEDS.values() for h in needs)
        # Every literal the redactor tests text for is looked for in the same pass: one scan
        # of a body answers all of them.
        self._literals = tuple(sorted(hints | set(signals)))
        # Overlapping matches report every literal present, also one inside another ("AC" in
        # "ACCA"), which leftmost matching would hide. Only which literals occur matters, not
        # where, so the automaton runs over UTF-8 bytes: faster than over str, whose offsets
        # it would convert, and lone surrogates (bytes that were not UTF-8) pass as they are.
        self._automaton = ahocorasick_rs.BytesAhoCorasick([lit.encode() for lit in self._literals])

    def hint(self, text: str) -> bool:
        """Whether any rule could match in `text` (cheap; may say yes wrongly)."""
        return not self._hint_set.isdisjoint(self.present(text))

    def present(self, text: str) -> frozenset[str]:
        """The hints and signals that occur in `text`, found in one pass."""
        if not text:
            return frozenset()
        literals = self._literals
        data = text.encode("utf-8", "surrogatepass")  # pragma: no mutate (codec names)
        found = self._automaton.find_matches_as_indexes(data, overlapping=True)
        return frozenset([literals[index] for index, _, _ in found])

    def _index(self) -> dict[str, list[Rule]]:
        if self._by_hint is None:
            by_hint: dict[str, list[Rule]] = {hint: [] for hint in self._hint_set}
            for rule in self._own + _library_rules():
                if not rule.hints[0]:
                    self._unhinted.append(rule)
                for hint in rule.hints:
                    by_hint.setdefault(hint, []).append(rule)
            self._by_hint = by_hint
        return self._by_hint

    def find(self, text: str, present: frozenset[str] | None = None) -> list[tuple[int, int, str]]:
        """Disjoint (start, end, rule name) spans of secrets in `text`, in order; where
        rules overlap, the earliest and then the longest span wins. `present` is what
        `present(text)` says, when the caller has it already."""
        if present is None:
            present = self.present(text)
        hinted = present & self._hint_set
        if not hinted:
            return []
        by_hint = self._index()
        chosen = dict.fromkeys(self._unhinted)
        for hint in sorted(hinted):
            chosen.update(dict.fromkeys(by_hint[hint]))
        found = []
        for rule in chosen:
            if not present.issuperset(rule.needs):
                continue
            found.extend((start, end, rule.name) for start, end in rule.spans(text))
        if not found:
            return []
        if PREFIX in present:
            # A placeholder is never a secret, not even a piece of one (in userinfo, it reads
            # as "user:password").
            held = [m.span() for m in PLACEHOLDER.finditer(text)]
            found = [f for f in found if not any(a <= f[0] and f[1] <= b for a, b in held)]
            if not found:
                return []
        found.sort(key=lambda span: (span[0], -span[1]))
        out = [found[0]]
        for span in found[1:]:
            if span[0] >= out[-1][1]:
                out.append(span)
        return out


# What the redactor looks for besides the rules' hints: a JWT, a Bearer token, name/value
# pairs, escaped strings, XML, a placeholder already there.
SIGNALS = ("eyJ", "bearer", "Bearer", "BEARER", '"value"', '"Value"', "\\", "</", PREFIX)
DETECTORS = Detectors(SIGNALS)


def entropy(text: str) -> float:
    """Shannon entropy of `text` in bits per character."""
    if not text:
        return 0.0
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


_TOKEN_CHARS = re.compile(r"[A-Za-z0-9+/=_.~-]{16,}")


def looks_random(value: str) -> bool:
    """Whether `value` looks like a generated credential rather than a word or an id: one
    token of 16+ characters mixing letters and digits with high entropy."""
    if len(value) > 512 or not _TOKEN_CHARS.fullmatch(value):
        return False
    if not any(c.isdigit() for c in value) or not any(c.isalpha() for c in value):
        return False
    # UUIDs name things; a key is not hyphenated in 8-4-4-4-12.
    if len(value) == 36 and value.count("-") == 4:
        return False
    return entropy(value) >= 3.5
