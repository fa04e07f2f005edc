"""The shape detectors on their own: which literals a text holds, which secrets a rule finds
and where, and the randomness test for values under key-like names. Each test builds its own
Detectors (the module's DETECTORS is built at import), so that building one is tested too."""

from __future__ import annotations

import itertools
import math
import random
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backworks_cli.record.detectors import (
    DETECTORS,
    SIGNALS,
    Detectors,
    Rule,
    entropy,
    looks_random,
)

_RNG = random.Random(1306)
ALNUM = string.ascii_letters + string.digits


def chars(alphabet: str, n: int) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def detectors() -> Detectors:
    return Detectors(SIGNALS)


HEX = "0123456789abcdef"
# (rule name, a secret of its shape, the same shape one character short of the rule)
SHAPES = [
    ("Google API key", "AIza" + chars(ALNUM, 35), "AIza" + chars(ALNUM, 34)),
    ("Anthropic API key", "sk-ant-api03-" + chars(ALNUM, 32), "sk-ant-api03-" + chars(ALNUM, 31)),
    ("OpenAI API key", "sk-proj-" + chars(ALNUM, 20), "sk-proj-" + chars(ALNUM, 19)),
    ("OpenAI API key", "sk-" + chars(ALNUM, 40), "sk-" + chars(ALNUM, 39)),
    ("Stripe key", "rk_test_" + chars(ALNUM, 16), "rk_test_" + chars(ALNUM, 15)),
    ("Stripe webhook secret", "whsec_" + chars(ALNUM, 24), "whsec_" + chars(ALNUM, 23)),
    ("GitHub token", "github_pat_" + chars(ALNUM, 22), "github_pat_" + chars(ALNUM, 21)),
    ("GitHub token", "ghu_" + chars(ALNUM, 30), "ghu_" + chars(ALNUM, 29)),
    ("Shopify token", "shpat_" + chars(HEX, 32), "shpat_" + chars(HEX, 31)),
    ("Slack token", "xoxe-" + chars(ALNUM, 10), "xoxe-" + chars(ALNUM, 9)),
    ("Hugging Face token", "hf_" + chars(ALNUM, 30), "hf_" + chars(ALNUM, 29)),
    ("DigitalOcean token", "dop_v1_" + chars(HEX, 64), "dop_v1_" + chars(HEX, 63)),
    ("npm token", "npm_" + chars(ALNUM, 36), "npm_" + chars(ALNUM, 35)),
    ("PyPI token", "pypi-" + chars(ALNUM, 50), "pypi-" + chars(ALNUM, 49)),
    ("GitLab token", "glpat-" + chars(ALNUM, 20), "glpat-" + chars(ALNUM, 19)),
    (
        "SendGrid API key",
        "SG." + chars(ALNUM, 16) + "." + chars(ALNUM, 16),
        "SG." + chars(ALNUM, 16) + "." + chars(ALNUM, 15),
    ),
    ("Twilio API key", "SK" + chars(HEX, 32), "SK" + chars(HEX, 31)),
]


@pytest.mark.parametrize(("rule", "secret", "short"), SHAPES, ids=[s[0] for s in SHAPES])
def test_each_shape_is_found_whole_and_one_character_short_is_not(rule, secret, short):
    text = f"token: {secret} (rotated)"
    start = text.index(secret)
    assert detectors().find(text) == [(start, start + len(secret), rule)]
    assert detectors().find(f"token: {short} (rotated)") == []


@pytest.mark.parametrize(
    ("text", "secret", "rule"),
    [
        ("key AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE", "AWS Access Key"),
        (
            'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS secret key",
        ),
        ("postgres://app:hunter2hunter2@db:5432/x", "hunter2hunter2", "URL credentials"),
        (
            "https://0123456789abcdef0123@o1.ingest.sentry.io/7",
            "0123456789abcdef0123",
            "DSN key",
        ),
    ],
)
def test_a_rule_with_a_group_finds_only_the_secret_in_it(text, secret, rule):
    start = text.index(secret)
    assert (start, start + len(secret), rule) in detectors().find(text)


def test_a_whole_private_key_block_is_one_span():
    block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----"
    text = f"key={block}\nnext=1"
    start = text.index(block)
    spans = detectors().find(text)
    assert (start, start + len(block), "Private key") in spans
    # Spans never overlap: the library's rule for the BEGIN line is inside the block.
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_credentials_in_a_url_need_the_at_sign():
    assert detectors().find("see https://example.com:8443/path and x:y") == []
    text = "see https://u:longpassword@example.com"
    start = text.index("longpassword")
    assert (start, start + len("longpassword"), "URL credentials") in detectors().find(text)


def test_a_placeholder_is_never_a_secret_nor_part_of_one():
    placeholder = "redacted:0123456789abcdef"
    assert detectors().find(f"https://user:{placeholder}@db.example.com/") == []
    # A secret beside a placeholder is still found.
    token = "ghp_" + chars(ALNUM, 36)
    text = f"{placeholder} {token}"
    assert detectors().find(text) == [(len(placeholder) + 1, len(text), "GitHub token")]


def test_overlapping_matches_keep_the_earliest_then_the_longest():
    token = "sk_live_" + chars(ALNUM, 24)
    found = detectors().find(f"a {token} b")
    # Both the library's Stripe rule and our own match; one span, the longest, is kept.
    assert found == [(2, 2 + len(token), found[0][2])]
    spans = detectors().find(f"{token} {token}")
    assert [s[:2] for s in spans] == [(0, len(token)), (len(token) + 1, 2 * len(token) + 1)]


def test_present_reports_every_literal_also_one_inside_another():
    assert detectors().present("") == frozenset()
    assert detectors().present("plain words only") == frozenset()
    found = detectors().present("xACCAx")
    assert {"AC", "ACCA"} <= found
    assert detectors().present('{"a": "</b>"}') == {"</"}
    # Text from bytes that were not UTF-8 (lone surrogates) is searched, not refused.
    assert "eyJ" in detectors().present("\udcff eyJ \udcfe")
    assert "://" in detectors().present("é://ü")


def test_hint_is_about_rules_only_not_the_other_signals():
    for signal in SIGNALS:
        text = f"x {signal} y"
        if detectors()._hint_set.isdisjoint(detectors().present(text)):
            assert not detectors().hint(text)
    assert not detectors().hint("")
    assert detectors().hint("token ghp_")
    # "@" alone (an e-mail address) is only what URL rules also need, never a hint.
    assert not detectors().hint("ada@example.com")


def test_find_uses_what_present_said():
    token = "glpat-" + chars(ALNUM, 24)
    text = f"x {token}"
    assert detectors().find(text, detectors().present(text)) == detectors().find(text)
    # Told that no hint is there, find does not look.
    assert detectors().find(text, frozenset()) == []


def test_a_new_detectors_set_searches_its_own_signals():
    detectors = Detectors(("needle",))
    assert detectors.present("a needle here") == {"needle"}
    assert "needle" not in DETECTORS.present("a needle here")


WORDS = st.text(alphabet=string.ascii_lowercase + " .,;:\n", max_size=200)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SHAPES), WORDS, WORDS)
def test_a_secret_anywhere_in_text_is_found_exactly(shape, before, after):
    rule, secret, _ = shape
    text = f"{before} {secret} {after}"
    start = len(before) + 1
    assert (start, start + len(secret), rule) in detectors().find(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.ascii_lowercase + string.digits + ' {}[]",:', max_size=400))
def test_lower_case_words_and_numbers_hold_no_secret(text):
    # Every hint of the rules that could match such text needs a capital, "_" or "-".
    assert [
        rule for *_, rule in detectors().find(text) if rule != "Base64 High Entropy String"
    ] == []


def test_entropy():
    assert entropy("") == 0.0
    assert entropy("aaaa") == 0.0
    assert entropy("ab") == 1.0
    assert entropy("abcd") == 2.0
    assert entropy("aab") == pytest.approx(-(2 / 3) * math.log2(2 / 3) - (1 / 3) * math.log2(1 / 3))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a1B2c3D4e5F6g7H8", True),  # 16 characters, letters and digits, high entropy
        ("a1B2c3D4e5F6g7H", False),  # 15
        ("abcdefghijklmnopqrstuvwxyzABCD", False),  # no digit
        ("1234567890123456789012", False),  # no letter
        ("aaaaaaaa11111111", False),  # low entropy
        ("6f1c2a4e-93b1-4c1e-9d7a-5b3c8e2f4a6d", False),  # a UUID names something
        ("6f1c2a4e93b14c1e9d7a5b3c8e2f4a6d9b1c", True),  # as long, not hyphenated
        ("a1B2 c3D4e5F6g7H8i9", False),  # two words
        ("Zx9" * 171, False),  # over 512 characters
    ],
)
def test_looks_random(value, expected):
    assert looks_random(value) is expected


def test_looks_random_at_the_length_limit():
    value = ("a1B2c3D4e5F6g7H8" * 40)[:512]
    assert looks_random(value)
    assert not looks_random(value + "x")


def test_looks_random_needs_entropy_of_three_and_a_half_bits():
    low = "abcabcab12121212"  # 5 symbols
    assert entropy(low) < 3.5 and not looks_random(low)
    high = "abcdefgh12345678"  # 16 symbols, 4 bits
    assert entropy(high) >= 3.5 and looks_random(high)
    edge = "abcdefghijk1" + "abcd"  # 12 symbols over 16 characters
    assert looks_random(edge) is (entropy(edge) >= 3.5)


def test_the_module_set_and_a_new_one_agree():
    text = " ".join(secret for _, secret, _ in SHAPES) + " https://u:pw12345678@h ada@example.com"
    assert DETECTORS.find(text) == detectors().find(text)
    assert DETECTORS.present(text) == detectors().present(text)


def test_library_rules_are_used():
    # Shapes only detect-secrets knows, found under its names.
    for text, rule in [
        ("AKIAIOSFODNN7EXAMPLE", "AWS Access Key"),
        (chars(HEX, 32) + "-us12", "Mailchimp Access Key"),
        ("//registry.npmjs.org/:_authToken=abcdef01-2345-6789-abcd-ef0123456789", "NPM tokens"),
        ("PuTTY-User-Key-File-2: ssh-rsa", "Private Key"),
    ]:
        assert rule in {name for *_, name in detectors().find(f"x {text} y")}, text
    # IPPublicDetector is left out: an address is not a secret.
    assert detectors().find("from 93.184.216.34 via AKIA") == []


def test_a_group_at_the_start_of_a_pattern_is_a_choice_of_prefix_not_the_secret():
    rule = Rule("t", ("gh",), re.compile(r"(ghp|gho)_[a-z]{4}"))
    assert list(rule.spans("a ghp_abcd b")) == [(2, 10)]
    named = Rule("t", ("k",), re.compile(r"k=([a-z]+)"))
    assert list(named.spans("k=abc k=")) == [(2, 5)]
    empty = Rule("t", ("",), re.compile(r"x*"))
    assert list(empty.spans("abc")) == []  # empty matches are no secret


def test_a_rule_whose_needs_are_missing_does_not_stop_the_others():
    # "://" without "@": the URL rules are skipped; the token after it is still found.
    token = "glpat-" + chars(ALNUM, 24)
    text = f"https://example.com/repo {token}"
    start = text.index(token)
    assert detectors().find(text) == [(start, start + len(token), "GitLab token")]


def test_a_secret_ending_inside_a_placeholder_is_still_found():
    # A token written right before a placeholder runs into it; the token is kept.
    token = "ghp_" + chars(ALNUM, 30)
    text = f"{token}redacted:0123456789abcdef"
    found = detectors().find(text)
    assert [(start, rule) for start, _, rule in found] == [(0, "GitHub token")]


def test_the_longest_of_matches_at_one_place_wins():
    # The library's Stripe rule takes 24 characters, ours all of them.
    token = "sk_live_" + chars(ALNUM, 30)
    assert detectors().find(f"a {token}") == [(2, 2 + len(token), "Stripe key")]


def test_adjacent_secrets_are_two_spans():
    first, second = "AIza" + chars(ALNUM, 35), "AIza" + chars(ALNUM, 35)
    assert detectors().find(first + second) == [
        (0, 39, "Google API key"),
        (39, 78, "Google API key"),
    ]
    third = "glpat-" + chars(ALNUM, 20)
    text = f"{third} {third} {third}"
    assert [span[:2] for span in detectors().find(text)] == [(0, 26), (27, 53), (54, 80)]


def test_a_library_plugin_without_hints_runs_whenever_a_hint_is_there(monkeypatch):
    # As a newer detect-secrets' plugin would be: not in the hint table.
    from backworks_cli.record import detectors as module

    hints = dict(module._LIBRARY_HINTS)
    del hints["AWSKeyDetector"]
    monkeypatch.setattr(module, "_LIBRARY_HINTS", hints)
    fresh = Detectors(SIGNALS)
    found = fresh.find("AKIAIOSFODNN7EXAMPLE then ghp")
    assert (0, 20, "AWS Access Key") in found
    # Text holding no hint at all is not searched, not even by such a plugin.
    assert fresh.find("AKIAIOSFODNN7EXAMPLE") == []


def test_url_rules_also_need_an_at_sign():
    from backworks_cli.record.detectors import _library_rules

    needs = {rule.name: rule.needs for rule in _library_rules() + detectors()._own}
    for name in ("Basic Auth Credentials", "URL credentials", "DSN key"):
        assert needs[name] == {"@"}
    assert needs["GitHub token"] == frozenset()
