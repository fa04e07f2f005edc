"""No secret reaches the disk: a generated corpus of every shape and body kind, pushed through
the Redactor, a real capture in front of httpbin, HAR import, and everything made from the
store afterwards (exports, backworks.yaml, OpenAPI, mock answers), checked with `scan`."""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.record.har import exchange_to_har_entry, har_document
from backworks_cli.record.redact import Redactor
from backworks_cli.record.scan import Scanner
from tests.conftest import run_cli
from tests.record.secret_corpus import Shapes, cases, survivors
from tests.record.test_redact import everything

R = Redactor(b"corpus-key")


@pytest.fixture(autouse=True)
def _fresh_redactor():
    """R built anew for each test, so that its caches of names start empty."""
    global R
    R = Redactor(b"corpus-key")


CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_every_shape_in_every_body_kind_is_redacted(case):
    red = R.exchange(case.exchange)
    assert survivors(everything(red), case.secrets) == []
    # What was found is reported by `scan` too, and the redacted exchange is clean.
    assert Scanner().redactor.findings(case.exchange)
    assert not [s for s in Scanner().redactor.findings(red) if "redacted:" not in s]


def test_redaction_is_idempotent_on_the_corpus():
    for case in CASES:
        once = R.exchange(case.exchange)
        assert R.exchange(once) == once, case.label


def test_placeholders_are_stable_across_exchanges_and_shapes():
    token = Shapes(5).all()["github_classic"]
    a = R.exchange(Exchange(Request("POST", "/a", body=json.dumps({"env": token}).encode())))
    b = R.exchange(Exchange(Request("GET", "/b", headers=(("X-Note", f"use {token}"),))))
    assert R.placeholder(token) in a.request.body.decode()
    assert R.placeholder(token) in b.request.headers[0][1]


def test_clean_bodies_keep_their_bytes():
    doc = b'{\n  "id": 7,\n  "name": "Ada Lovelace",\n  "links": ["https://example.com/a"]\n}'
    req = Request("POST", "/users", headers=(("Content-Type", "application/json"),), body=doc)
    assert R.request(req) is req
    text = b"[server]\nport = 8080\nname = shop\n"
    req = Request("POST", "/cfg", headers=(("Content-Type", "text/plain"),), body=text)
    assert R.request(req) is req


def test_a_secret_seen_earlier_in_the_session_is_replaced_later():
    session = Redactor(b"k", remember=8)
    token = Shapes(9).chars("abcdefghijklmnopqrstuvwxyz0123456789", 24)
    login = Exchange(
        Request("POST", "/login"),
        Response(200, body=json.dumps({"access_token": token}).encode()),
    )
    later = Exchange(Request("GET", f"/sessions/{token}/items"))
    session.exchange(login)
    assert token not in everything(session.exchange(later))
    # Without memory each exchange stands alone (as matching a live request needs).
    assert token in everything(Redactor(b"k").exchange(later))


# --- propagation, at random ------------------------------------------------------------------

TOKEN_CHARS = st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_characters="\\")
PLACES = ("json", "header", "query", "cookie", "form")
ENCODINGS = ("raw", "json-escaped", "escaped-document", "url", "url-plus", "base64", "b64url")


def _encode(secret: str, how: str) -> str:
    if how == "raw":
        return secret
    if how == "json-escaped":
        return json.dumps(secret)[1:-1]
    if how == "escaped-document":
        return json.dumps(json.dumps({"sent": secret}))[1:-1]
    if how == "url":
        return quote(secret, safe="")
    if how == "url-plus":
        return quote_plus(secret, safe="")
    raw = secret.encode("utf-8")
    return (base64.b64encode if how == "base64" else base64.urlsafe_b64encode)(raw).decode()


def _sent(secret: str, place: str) -> Request:
    if place == "json":
        body = json.dumps({"user": "ada", "password": secret}).encode()
        return Request("POST", "/login", headers=(("Content-Type", "application/json"),), body=body)
    if place == "header":
        return Request("GET", "/me", headers=(("X-Api-Key", secret),))
    if place == "query":
        return Request("GET", "/me", query=(("access_token", secret),))
    if place == "cookie":
        return Request("GET", "/me", headers=(("Cookie", f"theme=dark; session={secret}"),))
    form = f"user=ada&password={quote_plus(secret)}".encode()
    ctype = (("Content-Type", "application/x-www-form-urlencoded"),)
    return Request("POST", "/login", headers=ctype, body=form)


@settings(max_examples=300, deadline=None)
@given(
    secret=st.text(TOKEN_CHARS, min_size=8, max_size=60).filter(lambda s: s.strip() == s),
    place=st.sampled_from(PLACES),
    how=st.sampled_from(ENCODINGS),
    where=st.sampled_from(("json-body", "text-body", "header", "location")),
    prefix=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
)
def test_a_secret_echoed_anywhere_in_any_encoding_never_survives(secret, place, how, where, prefix):
    echoed = _encode(secret, how)
    if where == "json-body":
        resp = Response(
            200, body=json.dumps({"echo": prefix + echoed}, ensure_ascii=False).encode()
        )
    elif where == "text-body":
        resp = Response(
            200, headers=(("Content-Type", "text/plain"),), body=(prefix + echoed).encode()
        )
    elif where == "header":
        resp = Response(200, headers=(("X-Echo", prefix + echoed),))
    else:
        resp = Response(302, headers=(("Location", f"/next?state=1&seen={echoed}"),))
    # A cookie value cannot hold ";" (it ends the cookie), nor a form value a raw "&".
    assume(place != "cookie" or (";" not in secret and "," not in secret))
    # The secret must not be a piece of the scaffold itself (a header name, the path).
    scaffold = everything(Exchange(_sent("", place), resp)).replace(echoed, "")
    assume(secret not in scaffold)
    # Nor a piece of the placeholder that replaces it ("redacted", "edacted:1f…").
    assume(secret not in R.placeholder(secret))
    red = R.exchange(Exchange(_sent(secret, place), resp))
    text = everything(red)
    assert secret not in text
    if how == "escaped-document":
        once = json.dumps(secret)[1:-1]
        echoed = json.dumps(once)[1:-1]
    assert echoed not in text


# --- real traffic: capture in front of httpbin ---------------------------------------------


@pytest.fixture(scope="module")
def httpbin_url():
    """httpbin (the PyPI package, a Flask app) served by werkzeug on a port the OS picked."""
    httpbin = pytest.importorskip("httpbin")
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, httpbin.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def _http_cases():
    return [c for c in CASES if c.exchange.kind == "http" and c.exchange.response is None]


def test_corpus_through_capture_and_everything_made_from_the_store(httpbin_url, capture, tmp_path):
    cap = capture("--upstream", httpbin_url, "--session", "corpus")
    secrets: set[str] = set()
    with httpx.Client(base_url=cap.url, timeout=30) as client:
        for case in _http_cases():
            # httpbin's /anything echoes the request: headers, query, body, form, files, url.
            target = "/anything" + case.target
            answer = client.request(case.method, target, headers=case.headers, content=case.body)
            assert answer.status_code == 200, (case.label, answer.text[:200])
            secrets.update(case.secrets)
    cap.stop()
    files = sorted(cap.store.parent.glob("backworks.db*"))
    raw = b"".join(p.read_bytes() for p in files)
    leaked = [s[:12] for s in secrets if s.encode() in raw]
    assert leaked == []

    project = tmp_path
    store = str(cap.store)
    out = run_cli("scan", str(cap.store.parent), cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "No secrets found" in out.stderr

    made = []
    for fmt in ("har", "jsonl"):
        target = project / f"export.{fmt}"
        done = run_cli(
            "recordings", "export", "--store", store, "-f", fmt, "-o", str(target), cwd=project
        )
        assert done.returncode == 0, done.stderr
        made.append(target)
    done = run_cli(
        "infer", "--store", store, "--config", str(project / "backworks.yaml"), cwd=project
    )
    assert done.returncode == 0, done.stderr
    made.append(project / "backworks.yaml")
    spec = project / "openapi.yaml"
    done = run_cli(
        "export", "openapi", "--config", str(project / "backworks.yaml"), "--store", store,
        "-o", str(spec), cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    made.append(spec)
    for path in made:
        text = path.read_text()
        assert [s[:12] for s in secrets if s in text] == [], path.name
    out = run_cli("scan", *map(str, made), cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr


def test_har_import_of_the_corpus_stores_no_secret(tmp_path):
    har = tmp_path / "devtools.har"
    har.write_text(json.dumps(har_document(exchange_to_har_entry(c.exchange) for c in CASES)))
    before = run_cli("scan", str(har), cwd=tmp_path)
    assert before.returncode == 1
    store = tmp_path / "recordings" / "backworks.db"
    done = run_cli("recordings", "import", str(har), "--store", str(store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    raw = b"".join(p.read_bytes() for p in store.parent.glob("backworks.db*"))
    secrets = {s for c in CASES for s in c.secrets}
    assert [s[:12] for s in secrets if s.encode() in raw] == []
    after = run_cli("scan", str(store.parent), cwd=tmp_path)
    assert after.returncode == 0, after.stdout


# --- scan ------------------------------------------------------------------------------------


def test_scan_names_file_location_and_rule_without_printing_the_secret(tmp_path):
    token = Shapes(3).all()["github_classic"]
    (tmp_path / "backworks.yaml").write_text(
        "endpoints:\n  login:\n    path: /login\n    password: s3cr3t-hunter\n"
    )
    (tmp_path / "notes.txt").write_text(f"first line\nexport GH={token}\n")
    (tmp_path / "clean.json").write_text('{"password": "redacted:0123456789abcdef"}')
    out = run_cli("scan", cwd=tmp_path)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert "backworks.yaml: line 4: secret name" in lines
    assert "notes.txt: line 2: GitHub Token" in lines or "notes.txt: line 2: GitHub token" in lines
    assert not any("clean.json" in line for line in lines)
    assert token not in out.stdout + out.stderr
    assert "s3cr3t-hunter" not in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


def test_scan_reads_a_store_that_holds_secrets(tmp_path):
    har = tmp_path / "in.har"
    har.write_text(json.dumps(har_document(exchange_to_har_entry(c.exchange) for c in CASES[:3])))
    store = tmp_path / "raw.db"
    done = run_cli(
        "recordings", "import", str(har), "--store", str(store), "--no-redact", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    out = run_cli("scan", str(store), cwd=tmp_path)
    assert out.returncode == 1
    assert "raw.db: exchange 1 (POST /deploys)" in out.stdout
    assert "raw.db: byte " in out.stdout


def test_scan_errors(tmp_path):
    out = run_cli("scan", str(tmp_path / "missing"), cwd=tmp_path)
    assert out.returncode == 6
    assert "no such file" in out.stderr
    assert "Traceback" not in out.stderr
    (tmp_path / "empty").mkdir()
    out = run_cli("scan", str(tmp_path / "empty"), cwd=tmp_path)
    assert out.returncode == 0
    assert "No secrets found in 0 file(s)" in out.stderr


def test_pre_commit_hook_is_shipped():
    root = Path(__file__).resolve().parents[2]
    hooks = (root / ".pre-commit-hooks.yaml").read_text()
    assert "id: backworks-scan" in hooks
    assert "entry: backworks scan" in hooks


def test_with_redaction_off_in_the_config_capture_and_export_refuse(tmp_path):
    (tmp_path / "backworks.yaml").write_text("redact:\n  enabled: false\n")
    out = run_cli(
        "capture",
        "--upstream",
        "http://127.0.0.1:9",
        "--listen",
        "127.0.0.1:0",  # refused before it binds
        cwd=tmp_path,
    )
    assert out.returncode == 3
    assert "--no-redact" in out.stderr
    assert "Traceback" not in out.stderr

    har = tmp_path / "in.har"
    har.write_text(json.dumps(har_document(exchange_to_har_entry(c.exchange) for c in CASES[:2])))
    store = str(tmp_path / "raw.db")
    done = run_cli("recordings", "import", str(har), "--store", store, "--no-redact", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    target = tmp_path / "out.har"
    refused = run_cli("recordings", "export", "--store", store, "-o", str(target), cwd=tmp_path)
    assert refused.returncode == 1
    assert "Refusing to export" in refused.stderr
    assert not target.exists()
    allowed = run_cli(
        "recordings", "export", "--store", store, "-o", str(target), "--no-redact", cwd=tmp_path
    )
    assert allowed.returncode == 0, allowed.stderr
    assert CASES[0].secrets[0] in target.read_text()


def test_a_placeholder_is_never_an_enum_member_or_a_path_literal():
    from backworks_cli.learn.schemas import BodyAccumulator
    from backworks_cli.learn.templates import template_paths

    token = R.placeholder(Shapes(1).all()["reset_token"])
    templates = template_paths([f"/password/reset/{token}", "/password/reset/other"])
    assert all(token not in t.path for t in templates.values())
    other = R.placeholder("another secret")
    acc = BodyAccumulator()
    for i in range(30):
        body = {"kind": "ab"[i % 2], "secret": (token, other)[i % 2]}
        acc.add(json.dumps(body).encode(), "application/json")
    schema = acc.to_spec()["schema"]
    assert schema["properties"]["kind"]["enum"] == ["a", "b"]  # two values do make an enum
    assert "enum" not in schema["properties"]["secret"]


@pytest.mark.parametrize("prefix", ["gldt-", "glrt-", "glsoat-", "gho_", "ghs_", "ghu_"])
def test_a_token_whose_pattern_groups_its_prefix_is_replaced_whole(prefix):
    # detect-secrets writes these as (gho|ghs|…)_… and (glpat|gldt|…)-…: the group is the
    # prefix, so the secret is the whole match.
    rest = Shapes(len(prefix)).chars(
        "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", 36
    )
    token = prefix + rest
    req = Request(
        "POST",
        "/ci",
        headers=(("Content-Type", "text/plain"),),
        body=f"ran with {token} ok".encode(),
    )
    body = R.request(req).body.decode()
    assert body == f"ran with {R.placeholder(token)} ok"
