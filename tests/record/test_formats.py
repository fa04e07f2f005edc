"""HAR and JSON lines: round-trips, other tools' HAR files, and malformed input."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backworks_cli.config.model import RedactConfig
from backworks_cli.core.errors import InputError
from backworks_cli.core.exchange import Exchange, Message, Request, Response
from backworks_cli.record.formats import export_exchanges, read_exchanges
from backworks_cli.record.har import exchange_to_har_entry, har_entry_to_exchange
from backworks_cli.record.jsonl import exchange_to_json, json_to_exchange
from tests.strategies import exchanges

KEY = bytes(32)


def through_json_text(value: dict) -> dict:
    """What a file gives back: JSON text and parsed again (surrogates as \\u escapes)."""
    return json.loads(json.dumps(value))


@settings(max_examples=200, deadline=None)
@given(ex=exchanges)
def test_har_entry_round_trip(ex):
    entry = through_json_text(exchange_to_har_entry(ex))
    assert har_entry_to_exchange(entry) == ex


@settings(max_examples=200, deadline=None)
@given(ex=exchanges)
def test_json_round_trip(ex):
    assert json_to_exchange(through_json_text(exchange_to_json(ex))) == ex


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(exchanges, max_size=4))
@pytest.mark.parametrize("fmt", ["har", "jsonl"])
def test_files_round_trip(tmp_path, fmt, rows):
    path = tmp_path / f"out.{fmt}"
    assert export_exchanges(rows, path, fmt, redact=None, key=KEY) == len(rows)
    assert list(read_exchanges(path)) == rows


def sample() -> Exchange:
    return Exchange(
        request=Request(
            "POST",
            "/api/orders",
            (("expand", "items"),),
            (
                ("Content-Type", "application/json"),
                ("Authorization", "Bearer sk_live_abcdef123456"),
            ),
            b'{"qty": 2}',
            "https",
            "api.example.com",
            443,
        ),
        response=Response(
            201, (("Content-Type", "application/json"),), b'{"id": "o_1"}', "Created"
        ),
        started_at=1714557600.25,
        duration_ms=42.0,
        session="checkout",
    )


def test_har_document_is_har_1_2(tmp_path):
    path = tmp_path / "out.har"
    export_exchanges([sample()], path, "har", redact=None, key=KEY)
    doc = json.loads(path.read_text())
    assert doc["log"]["version"] == "1.2"
    assert doc["log"]["creator"]["name"] == "backworks"
    (entry,) = doc["log"]["entries"]
    assert entry["startedDateTime"] == "2024-05-01T10:00:00.250000+00:00"
    assert entry["request"]["url"] == "https://api.example.com/api/orders?expand=items"
    assert entry["request"]["queryString"] == [{"name": "expand", "value": "items"}]
    assert entry["request"]["postData"] == {"mimeType": "application/json", "text": '{"qty": 2}'}
    assert entry["response"]["content"]["text"] == '{"id": "o_1"}'
    assert entry["_backworks"]["session"] == "checkout"
    assert set(entry["timings"]) >= {"send", "wait", "receive"}


def test_binary_bodies_are_base64_in_har():
    ex = Exchange(
        Request("GET", "/logo.png"), Response(200, (("Content-Type", "image/png"),), b"\x89PNG\xff")
    )
    content = exchange_to_har_entry(ex)["response"]["content"]
    assert content["encoding"] == "base64"
    assert base64.b64decode(content["text"]) == b"\x89PNG\xff"


def test_empty_stores_export_valid_files(tmp_path):
    export_exchanges([], tmp_path / "e.har", "har", redact=None, key=KEY)
    assert json.loads((tmp_path / "e.har").read_text())["log"]["entries"] == []
    export_exchanges([], tmp_path / "e.jsonl", "jsonl", redact=None, key=KEY)
    assert (tmp_path / "e.jsonl").read_text() == ""


def test_jsonl_lines_have_sorted_keys_and_a_format_version(tmp_path):
    path = tmp_path / "out.jsonl"
    export_exchanges([sample(), sample()], path, "jsonl", redact=None, key=KEY)
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    record = json.loads(lines[0])
    assert record["format_version"] == 1
    assert list(record) == sorted(record)
    assert record["request"]["body"] == '{"qty": 2}'


def test_export_redacts_secrets(tmp_path):
    for fmt in ("har", "jsonl"):
        path = tmp_path / f"out.{fmt}"
        export_exchanges([sample()], path, fmt, redact=RedactConfig(), key=KEY)
        text = path.read_text()
        assert "sk_live_abcdef123456" not in text
        assert "api.example.com" in text


def test_export_to_a_missing_directory_names_it(tmp_path):
    from backworks_cli.core.errors import BackworksError

    with pytest.raises(BackworksError, match="does not exist"):
        export_exchanges([sample()], tmp_path / "no" / "x.har", "har", redact=None, key=KEY)


def test_session_override_and_compressed_input(tmp_path):
    path = tmp_path / "out.jsonl"
    export_exchanges([sample()], path, "jsonl", redact=None, key=KEY)
    assert [ex.session for ex in read_exchanges(path, session="again")] == ["again"]
    gz = tmp_path / "out.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert list(read_exchanges(gz)) == [sample()]


# --- other tools' HAR files -------------------------------------------------------------------

CHROME_HAR = {
    "log": {
        "version": "1.2",
        "creator": {"name": "WebInspector", "version": "537.36"},
        "pages": [{"startedDateTime": "2024-05-01T10:00:00.000Z", "id": "page_1", "title": "x"}],
        "entries": [
            {
                "_initiator": {"type": "script"},
                "_priority": "High",
                "_resourceType": "fetch",
                "cache": {},
                "connection": "443",
                "pageref": "page_1",
                "request": {
                    "method": "POST",
                    "url": "https://api.example.com/v1/search?q=red%20shoes&page=2",
                    "httpVersion": "http/2.0",
                    "headers": [
                        {"name": ":authority", "value": "api.example.com"},
                        {"name": ":method", "value": "POST"},
                        {"name": "content-type", "value": "application/json"},
                        {"name": "accept-encoding", "value": "gzip, br"},
                    ],
                    "queryString": [
                        {"name": "q", "value": "red%20shoes"},
                        {"name": "page", "value": "2"},
                    ],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": 13,
                    "postData": {"mimeType": "application/json", "text": '{"limit": 10}'},
                },
                "response": {
                    "status": 200,
                    "statusText": "",
                    "httpVersion": "http/2.0",
                    "headers": [
                        {"name": "content-type", "value": "application/json"},
                        {"name": "content-encoding", "value": "br"},
                    ],
                    "cookies": [],
                    "content": {
                        "size": 17,
                        "mimeType": "application/json",
                        "compression": 0,
                        "text": '{"results": [1]}',
                    },
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": -1,
                    "_transferSize": 180,
                    "_error": None,
                },
                "serverIPAddress": "93.184.216.34",
                "startedDateTime": "2024-05-01T10:00:00.123Z",
                "time": 87.25,
                "timings": {
                    "blocked": 1.2,
                    "dns": -1,
                    "ssl": -1,
                    "connect": -1,
                    "send": 0.1,
                    "wait": 80.0,
                    "receive": 5.95,
                    "_blocked_queueing": 0.8,
                },
            },
            {
                "_resourceType": "image",
                "request": {
                    "method": "GET",
                    "url": "https://cdn.example.com:8443/logo.png",
                    "httpVersion": "http/1.1",
                    "headers": [],
                    "queryString": [],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": 0,
                },
                "response": {
                    "status": 200,
                    "statusText": "OK",
                    "httpVersion": "http/1.1",
                    "headers": [{"name": "Content-Type", "value": "image/png"}],
                    "cookies": [],
                    "content": {
                        "size": 4,
                        "mimeType": "image/png",
                        "text": base64.b64encode(b"\x89PNG").decode(),
                        "encoding": "base64",
                    },
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": -1,
                },
                "startedDateTime": "2024-05-01T12:00:00.500+02:00",
                "time": 3,
                "timings": {"send": 0, "wait": 2, "receive": 1},
            },
            {
                "_resourceType": "xhr",
                "request": {
                    "method": "POST",
                    "url": "http://localhost:3000/login",
                    "httpVersion": "HTTP/1.1",
                    "headers": [
                        {"name": "Content-Type", "value": "application/x-www-form-urlencoded"}
                    ],
                    "queryString": [],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": 17,
                    "postData": {
                        "mimeType": "application/x-www-form-urlencoded",
                        "params": [
                            {"name": "user", "value": "ann"},
                            {"name": "pw", "value": "x y"},
                        ],
                    },
                },
                "response": {
                    "status": 302,
                    "statusText": "Found",
                    "httpVersion": "HTTP/1.1",
                    "headers": [{"name": "Location", "value": "/home"}],
                    "cookies": [],
                    "content": {"size": 0, "mimeType": "x-unknown"},
                    "redirectURL": "/home",
                    "headersSize": -1,
                    "bodySize": 0,
                },
                "startedDateTime": "2024-05-01T10:00:01.000Z",
                "time": -1,
                "timings": {"send": 0, "wait": 0, "receive": 0},
            },
            {
                "_resourceType": "websocket",
                "request": {
                    "method": "GET",
                    "url": "wss://stream.example.com/prices",
                    "httpVersion": "HTTP/1.1",
                    "headers": [{"name": "Upgrade", "value": "websocket"}],
                    "queryString": [],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": 0,
                },
                "response": {
                    "status": 101,
                    "statusText": "Switching Protocols",
                    "httpVersion": "HTTP/1.1",
                    "headers": [{"name": "Upgrade", "value": "websocket"}],
                    "cookies": [],
                    "content": {"size": 0, "mimeType": "x-unknown"},
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": 0,
                },
                "startedDateTime": "2024-05-01T10:00:02.000Z",
                "time": 1500,
                "timings": {"send": 0, "wait": 0, "receive": 0},
                "_webSocketMessages": [
                    {"type": "send", "time": 1714557602.1, "opcode": 1, "data": '{"sub":"EUR"}'},
                    {"type": "receive", "time": 1714557602.2, "opcode": 1, "data": '{"p":1.07}'},
                    {"type": "receive", "time": 1714557602.3, "opcode": 2, "data": "AAEC"},
                ],
            },
            {
                "_resourceType": "fetch",
                "request": {
                    "method": "GET",
                    "url": "https://api.example.com/blocked",
                    "httpVersion": "",
                    "headers": [],
                    "queryString": [],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": 0,
                },
                "response": {
                    "status": 0,
                    "statusText": "",
                    "httpVersion": "",
                    "headers": [],
                    "cookies": [],
                    "content": {"size": 0, "mimeType": "x-unknown"},
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": -1,
                    "_transferSize": 0,
                    "_error": "net::ERR_BLOCKED_BY_CLIENT",
                },
                "startedDateTime": "2024-05-01T10:00:03.000Z",
                "time": 0.5,
                "timings": {"send": 0, "wait": 0, "receive": 0},
            },
        ],
    }
}


def test_chrome_devtools_har(tmp_path):
    path = tmp_path / "chrome-export.har"
    path.write_text(json.dumps(CHROME_HAR, indent=2))
    search, logo, login, ws, blocked = read_exchanges(path)

    assert search.session == "chrome-export"
    assert search.request.method == "POST"
    assert (search.request.scheme, search.request.host, search.request.port) == (
        "https",
        "api.example.com",
        443,
    )
    assert search.request.path == "/v1/search"
    assert search.request.query == (("q", "red shoes"), ("page", "2"))
    assert search.request.headers == (
        ("content-type", "application/json"),
        ("accept-encoding", "gzip, br"),
    )
    assert search.request.body == b'{"limit": 10}'
    assert search.request.http_version == "http/2.0"
    assert search.response.json() == {"results": [1]}
    assert search.response.encoding == "br"
    assert search.started_at == pytest.approx(1714557600.123)
    assert search.duration_ms == 87.25
    assert search.kind == "http"
    assert search.error is None

    assert logo.request.port == 8443
    assert logo.response.body == b"\x89PNG"
    assert logo.started_at == pytest.approx(1714557600.5)

    assert login.request.body == b"user=ann&pw=x+y"
    assert login.response.status == 302
    assert login.response.body == b""
    assert login.duration_ms is None

    assert ws.kind == "websocket"
    assert ws.request.scheme == "wss"
    assert ws.messages == (
        Message("client", b'{"sub":"EUR"}', True, 1714557602.1),
        Message("server", b'{"p":1.07}', True, 1714557602.2),
        Message("server", b"\x00\x01\x02", False, 1714557602.3),
    )

    assert blocked.response is None
    assert blocked.error == "net::ERR_BLOCKED_BY_CLIENT"
    assert blocked.request.http_version == "HTTP/1.1"


def mitmproxy_flows():
    from mitmproxy import http
    from mitmproxy.test import tflow, tutils

    get = tflow.tflow(resp=True)

    post = tflow.tflow(
        req=tutils.treq(
            method=b"POST",
            path=b"/api/items?sort=name&sort=id",
            headers=http.Headers(content_type="application/json"),
            content=b'{"name": "lamp"}',
        ),
        resp=tutils.tresp(headers=http.Headers(content_type="application/json"), content=b""),
    )
    post.response.headers["content-encoding"] = "gzip"
    post.response.content = b'{"id": 9, "name": "lamp"}'  # encoded on the wire, decoded here

    image = tflow.tflow(
        resp=tutils.tresp(
            headers=http.Headers(content_type="image/png"), content=b"\x89PNG\r\n\x1a\n\x00\x00\xff"
        )
    )
    failed = tflow.tflow(err=True)
    socket = tflow.twebsocketflow()
    return get, post, image, failed, socket


def test_mitmproxy_savehar(tmp_path):
    from mitmproxy.addons.savehar import SaveHar

    flows = mitmproxy_flows()
    path = tmp_path / "mitm.har"
    path.write_text(json.dumps(SaveHar().make_har(flows), indent=4))
    get, post, image, failed, socket = read_exchanges(path, session="mitm")

    assert {ex.session for ex in (get, post, image, failed, socket)} == {"mitm"}
    assert (get.request.method, get.request.host, get.request.port, get.request.path) == (
        "GET",
        "address",
        22,
        "/path",
    )
    assert get.response.status == 200
    assert get.response.body == b"message"
    assert get.response.headers == tuple(flows[0].response.headers.items(multi=True))
    assert get.started_at == flows[0].request.timestamp_start

    assert post.request.query == (("sort", "name"), ("sort", "id"))
    assert post.request.json() == {"name": "lamp"}
    assert post.response.json() == {"id": 9, "name": "lamp"}
    assert post.response.encoding == "gzip"

    assert image.response.body == b"\x89PNG\r\n\x1a\n\x00\x00\xff"

    assert failed.response is None
    assert failed.error == flows[3].error.msg

    assert socket.kind == "websocket"
    expected = tuple(
        Message("client" if m.from_client else "server", m.content, m.is_text, m.timestamp)
        for m in flows[4].websocket.messages
    )
    assert socket.messages == expected


def test_mitmproxy_zhar(tmp_path):
    from mitmproxy.addons.savehar import SaveHar

    path = tmp_path / "dump.zhar"
    path.write_bytes(zlib.compress(json.dumps(SaveHar().make_har(mitmproxy_flows()[:1])).encode()))
    assert [ex.response.body for ex in read_exchanges(path)] == [b"message"]


# --- malformed input --------------------------------------------------------------------------


def read_error(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        list(read_exchanges(path))
    assert str(path) in caught.value.message
    assert caught.value.hint
    return caught.value


def test_not_json(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, I am not JSON\n")
    assert "invalid JSON at line 1" in read_error(path).message


def test_truncated_har(tmp_path):
    path = tmp_path / "cut.har"
    text = json.dumps(CHROME_HAR, indent=2)
    path.write_text(text[: len(text) // 2])
    assert "truncated" in read_error(path).message


def test_har_without_entries(tmp_path):
    path = tmp_path / "nolog.har"
    path.write_text(json.dumps({"log": {"version": "1.2"}}, indent=2))
    assert "no log.entries" in read_error(path).message


def test_bad_har_entry_names_its_index(tmp_path):
    doc = json.loads(json.dumps(CHROME_HAR))
    doc["log"]["entries"][2]["request"]["url"] = "not a url"
    path = tmp_path / "bad.har"
    path.write_text(json.dumps(doc))
    assert "entry 2" in read_error(path).message

    doc["log"]["entries"][2]["request"]["url"] = "http://x/"
    doc["log"]["entries"][2]["response"]["content"] = {"text": "!!", "encoding": "base64"}
    path.write_text(json.dumps(doc))
    assert "entry 2 (POST http://x/): invalid base64" in read_error(path).message


def test_bad_jsonl_line_names_its_number(tmp_path):
    good = json.dumps(exchange_to_json(sample()))
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{good}\n\n{good}\n{good[:40]}\n{good}\n")
    assert "line 4: not valid JSON" in read_error(path).message

    path.write_text(f"{good}\n{json.dumps({'request': {'method': 1}})}\n")
    assert "line 2: request.method must be a string" in read_error(path).message

    newer = json.loads(good)
    newer["format_version"] = 99
    path.write_text(json.dumps(newer) + "\n")
    assert "newer" in read_error(path).message


def test_empty_and_binary_files(tmp_path):
    empty = tmp_path / "empty.har"
    empty.write_text("")
    assert "empty" in read_error(empty).message
    binary = tmp_path / "image.har"
    binary.write_bytes(b"\x89PNG\xff\xfe")
    assert "not UTF-8" in read_error(binary).message
