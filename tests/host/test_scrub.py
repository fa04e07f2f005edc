"""What the admin API shows of the journal goes through the redactor: paths, query strings,
details, and kept headers and bodies."""

from __future__ import annotations

import json
import time

from backworks_cli.config.model import RedactConfig
from backworks_cli.core.exchange import Request, Response
from backworks_cli.host.scrub import Scrubber
from backworks_cli.host.stats import Row, Stats

TOKEN = "ghp_generatedForTheTest0123456789abcdefAB"  # not a real token
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def row(path: str, query: bytes, detail: dict | None = None) -> Row:
    return Row(
        time.perf_counter(), "GET", path, query, "e", "mock", "miss", 404, 0.001, detail, None
    )


def test_entries_and_event_lines_are_redacted_with_the_rest_kept():
    stats = Stats()
    detail = {"why": f"got Bearer {JWT}", "nearest": [{"password": "hunter2-hunter2"}], "n": 1}
    stats.record(row(f"/reset/{JWT}", b"page=2&access_token=" + TOKEN.encode(), detail))
    entry = stats.entry(stats.journal[0], 1)
    line = stats.event_line(stats.journal[0], 1).decode()
    event = json.loads(line.removeprefix("data: "))
    for shown in (json.dumps(entry), line):
        assert TOKEN not in shown and JWT not in shown and "hunter2-hunter2" not in shown
    assert entry["query"].startswith("page=2&access_token=redacted:")
    assert event["query"] == entry["query"] and event["path"] == entry["path"]
    assert entry["path"].startswith("/reset/redacted:")
    assert entry["detail"]["n"] == 1 and entry["detail"]["nearest"][0]["password"].startswith(
        "redacted:"
    )
    assert event["detail"] == entry["detail"]


def test_clean_rows_are_shown_as_they_are():
    stats = Stats()
    detail = {"error": "no recording matches", "closest": ["/api/users"]}
    stats.record(row("/api/users/7", b"page=2&sort=name%20asc", detail))
    entry = stats.entry(stats.journal[0], 1)
    assert entry["path"] == "/api/users/7" and entry["query"] == "page=2&sort=name%20asc"
    assert entry["detail"] is detail


def test_kept_messages_are_redacted_and_the_same_secret_keeps_its_placeholder():
    scrub = Scrubber(RedactConfig(fields=("pin",)), key=b"k" * 32)
    request = Request(
        "POST",
        "/login",
        headers=(("Authorization", f"Bearer {TOKEN}"), ("Content-Type", "application/json")),
        body=json.dumps({"user": "ada", "pin": "4921", "password": "pw-1234567"}).encode(),
    )
    headers, body = scrub.request("POST", request)
    again, _ = scrub.request("POST", request)
    assert dict(headers)["Authorization"].startswith("Bearer redacted:") and headers == again
    data = json.loads(body)
    assert data["user"] == "ada" and data["pin"].startswith("redacted:")
    assert data["password"].startswith("redacted:")
    response = Response(200, (("Set-Cookie", f"session={TOKEN}; Path=/"),), b"ok")
    headers, body = scrub.response(200, response)
    assert TOKEN not in json.dumps(headers) and body == b"ok"


def test_redaction_is_on_for_the_admin_api_even_when_the_store_turns_it_off():
    scrub = Scrubber(RedactConfig(enabled=False))
    assert scrub.target("/x", b"api_key=" + TOKEN.encode())[1].startswith("api_key=redacted:")
