"""HAR and JSON lines: round-trips, other tools' HAR files, and malformed input."""

from __future__ import annotations

import base64
import gzip
import io
import json
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backworks_cli.config.model import RedactConfig
from backworks_cli.core.errors import InputError
from backworks_cli.core.exchange import Exchange, Message, Request, Response
from backworks_cli.record.formats import HINT, _write_har, export_exchanges, read_exchanges
from backworks_cli.record.har import exchange_to_har_entry, har_document, har_entry_to_exchange
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


# --- JSON lines field by field ----------------------------------------------------------------


def every_field() -> Exchange:
    """An exchange with every field set away from its default, and bodies of both kinds."""
    return Exchange(
        request=Request(
            "PUT",
            "/a",
            (("q", "1"),),
            (("X-A", "b"),),
            b"\xff\xfe",
            "https",
            "h.example",
            8443,
            "HTTP/2.0",
            "gzip",
        ),
        response=Response(
            404, (("Content-Type", "text/plain"),), b"gone", "Not Found", "HTTP/1.0", "br"
        ),
        started_at=12.5,
        duration_ms=3.25,
        session="s1",
        error="reset",
        kind="websocket",
        messages=(Message("client", b"hi", True, 1.5), Message("server", b"\xff", False, 2.5)),
    )


def test_an_exchange_is_exactly_this_json_object():
    """Every key of a JSON lines record, so that none is renamed or dropped unnoticed."""
    assert exchange_to_json(every_field()) == {
        "format_version": 1,
        "session": "s1",
        "kind": "websocket",
        "started_at": 12.5,
        "duration_ms": 3.25,
        "error": "reset",
        "request": {
            "method": "PUT",
            "scheme": "https",
            "host": "h.example",
            "port": 8443,
            "path": "/a",
            "query": [["q", "1"]],
            "headers": [["X-A", "b"]],
            "http_version": "HTTP/2.0",
            "encoding": "gzip",
            "body_base64": "//4=",
        },
        "response": {
            "status": 404,
            "reason": "Not Found",
            "http_version": "HTTP/1.0",
            "headers": [["Content-Type", "text/plain"]],
            "encoding": "br",
            "body": "gone",
        },
        "messages": [
            {"direction": "client", "is_text": True, "timestamp": 1.5, "content": "hi"},
            {"direction": "server", "is_text": False, "timestamp": 2.5, "content_base64": "/w=="},
        ],
    }
    assert exchange_to_json(Exchange(Request("GET", "/")))["response"] is None


@pytest.mark.parametrize("kind", ["http", "websocket", "sse"])
def test_an_exchange_with_every_field_set_reads_back_equal(kind):
    """The quick, exact round trip of records that use every field, of each kind."""
    ex = replace(every_field(), kind=kind)
    assert json_to_exchange(through_json_text(exchange_to_json(ex))) == ex
    assert har_entry_to_exchange(through_json_text(exchange_to_har_entry(ex))) == ex


def test_a_body_whose_text_holds_a_lone_surrogate_keeps_its_bytes():
    """A \\ud800 escape another writer produced is kept as the bytes surrogatepass gives."""
    record = exchange_to_json(Exchange(Request("GET", "/"), Response(200)))
    record["response"]["body"] = "a\ud800"
    record["messages"] = [{"direction": "server", "content": "\udfff"}]
    ex = json_to_exchange(record)
    assert ex.response.body == b"a\xed\xa0\x80"
    assert ex.messages[0].content == b"\xed\xbf\xbf"


def test_a_record_that_leaves_out_what_it_can_gets_the_defaults():
    """Only a request's method and path are required; everything else has the model's default."""
    record = {"request": {"method": "GET", "path": "/"}, "messages": None}
    assert json_to_exchange(record) == Exchange(Request("GET", "/"))
    record = {
        "request": {"method": "GET", "path": "/"},
        "response": {"status": 204},
        "messages": [{"direction": "server"}, {"direction": "client", "is_text": 0}],
    }
    ex = json_to_exchange(record)
    assert ex.response == Response(204)
    assert ex.messages == (Message("server", b""), Message("client", b"", False))


@pytest.mark.parametrize("version", [None, 0, 1])
def test_format_versions_up_to_this_one_are_read(version):
    """Records of this format version, of older ones, and without one are read."""
    record = exchange_to_json(sample())
    if version is None:
        del record["format_version"]
    else:
        record["format_version"] = version
    assert json_to_exchange(record) == sample()


def jsonl_error(record) -> str:
    with pytest.raises(ValueError) as caught:
        json_to_exchange(record)
    return str(caught.value)


def with_change(where: str, key: str, value) -> dict:
    """The record of sample(), with `key` of the part `where` ("" for the top) set to `value`."""
    record = exchange_to_json(sample())
    (record[where] if where else record)[key] = value
    return record


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ([], "not a backworks exchange (no request object)"),
        ({"request": "GET /"}, "not a backworks exchange (no request object)"),
        (
            with_change("", "format_version", 2),
            "format_version 2 is newer than this backworks reads (1); upgrade backworks",
        ),
        (
            with_change("", "format_version", "1"),
            "format_version '1' is newer than this backworks reads (1); upgrade backworks",
        ),
        (with_change("request", "path", None), "request.path must be a string, not null"),
        (with_change("request", "scheme", 1), "request.scheme must be a string, not 1"),
        (with_change("request", "host", 1), "request.host must be a string, not 1"),
        (with_change("request", "port", "443"), 'request.port must be an integer, not "443"'),
        (with_change("request", "port", True), "request.port must be an integer, not true"),
        (with_change("request", "http_version", 1), "request.http_version must be a string, not 1"),
        (with_change("request", "encoding", 1), "request.encoding must be a string, not 1"),
        (
            with_change("request", "query", "a=1"),
            "request.query must be a list of [name, value] pairs",
        ),
        (
            with_change("request", "headers", [["a"]]),
            "request.headers must be a list of [name, value] pairs, found ['a']",
        ),
        (
            with_change("request", "headers", [["a", "b", "c"]]),
            "request.headers must be a list of [name, value] pairs, found ['a', 'b', 'c']",
        ),
        (
            with_change("request", "headers", ["x" * 60]),
            f"request.headers must be a list of [name, value] pairs, found '{'x' * 39}",
        ),
        (
            with_change("request", "headers", [["a", 1]]),
            "request.headers must be a string, not 1",
        ),
        (
            with_change("request", "headers", [[1, "a"]]),
            "request.headers must be a string, not 1",
        ),
        (
            with_change("request", "port", ["x" * 60]),
            f'request.port must be an integer, not ["{"x" * 38}',
        ),
        (
            with_change("", "started_at", ["x" * 60]),
            f'started_at must be a number, not ["{"x" * 38}',
        ),
        (with_change("request", "body", 5), "body must be a string, not 5"),
        (
            with_change("request", "body_base64", "!"),
            "invalid base64 data (Only base64 data is allowed)",
        ),
        (with_change("", "response", "201"), "response must be an object or null"),
        (with_change("response", "status", "201"), 'response.status must be an integer, not "201"'),
        (with_change("response", "reason", None), "response.reason must be a string, not null"),
        (
            with_change("response", "http_version", 2),
            "response.http_version must be a string, not 2",
        ),
        (with_change("response", "encoding", 1), "response.encoding must be a string, not 1"),
        (
            with_change("response", "headers", {"a": "b"}),
            "response.headers must be a list of [name, value] pairs",
        ),
        (
            with_change("", "messages", ["hi"]),
            "messages must be objects with direction client or server",
        ),
        (
            with_change("", "messages", [{"direction": "up"}]),
            "messages must be objects with direction client or server",
        ),
        (
            with_change("", "messages", [{"direction": "client", "timestamp": "1"}]),
            'message timestamp must be a number, not "1"',
        ),
        (
            with_change("", "messages", [{"direction": "client", "content": 1}]),
            "content must be a string, not 1",
        ),
        (with_change("", "kind", "grpc"), "kind must be http, websocket or sse, not 'grpc'"),
        (with_change("", "started_at", "now"), 'started_at must be a number, not "now"'),
        (with_change("", "duration_ms", "1"), 'duration_ms must be a number, not "1"'),
        (with_change("", "duration_ms", False), "duration_ms must be a number, not false"),
        (with_change("", "session", None), "session must be a string, not null"),
        (with_change("", "error", 3), "error must be a string, not 3"),
    ],
)
def test_a_malformed_record_names_the_field(record, message):
    """Each unusable value is refused with the field it is in, for the reader to place."""
    assert jsonl_error(record) == message


def test_a_long_value_is_cut_in_the_message():
    """A message quotes at most 40 characters of the value it refuses."""
    assert jsonl_error(with_change("request", "method", ["x" * 100])) == (
        f'request.method must be a string, not ["{"x" * 38}'
    )


# --- writing files ------------------------------------------------------------------------------


def test_a_har_export_is_the_document_json_writes_indented():
    """The streamed HAR is byte for byte json.dumps of the whole document, indented by 2."""
    for rows in ([], [sample()], [sample(), every_field()]):
        out = io.BytesIO()
        assert _write_har(iter(rows), out) == len(rows)
        document = har_document(exchange_to_har_entry(ex) for ex in rows)
        assert out.getvalue() == (json.dumps(document, indent=2) + "\n").encode()


def test_an_export_writes_text_as_utf8_and_text_with_lone_surrogates_as_escapes(tmp_path):
    """Non-ASCII text stays readable; a surrogate no UTF-8 holds is written as a \\u escape."""
    plain = Exchange(Request("GET", "/café"), session="é")
    odd = Exchange(Request("GET", "/\udcff"))
    path = tmp_path / "out.jsonl"
    export_exchanges([plain, odd], path, "jsonl", redact=None, key=KEY)
    first, second = path.read_bytes().splitlines()
    assert '"path":"/café"'.encode() in first
    assert b'"path":"/\\udcff"' in second
    assert list(read_exchanges(path)) == [plain, odd]


def test_an_export_to_stdout_writes_the_file_there(capsysbinary):
    """`-o -` streams the export to standard output, whole, and counts what it wrote."""
    assert export_exchanges([sample()], Path("-"), "jsonl", redact=None, key=KEY) == 1
    out = capsysbinary.readouterr().out
    assert (
        out
        == json.dumps(exchange_to_json(sample()), sort_keys=True, separators=(",", ":")).encode()
        + b"\n"
    )


def test_an_unknown_format_is_refused_with_the_known_ones(tmp_path):
    """A format name other than har and jsonl is an error that lists both."""
    from backworks_cli.core.errors import BackworksError

    with pytest.raises(BackworksError) as caught:
        export_exchanges([sample()], tmp_path / "x.csv", "csv", redact=None, key=KEY)
    assert caught.value.message == "Unknown export format 'csv'."
    assert caught.value.hint == "Use one of: har, jsonl."
    assert not (tmp_path / "x.csv").exists()


def test_a_missing_directory_is_named_with_a_hint(tmp_path):
    """The message names the file and the directory that is missing."""
    from backworks_cli.core.errors import BackworksError

    output = tmp_path / "no" / "x.har"
    with pytest.raises(BackworksError) as caught:
        export_exchanges([sample()], output, "har", redact=None, key=KEY)
    assert caught.value.message == (
        f"Cannot write {output}: the directory {output.parent} does not exist."
    )
    assert caught.value.hint == "Create the directory first, or pass another --output."


def test_an_output_that_is_a_directory_is_an_error_naming_it(tmp_path):
    """A write that fails (here: the output is a folder) is reported with the reason."""
    from backworks_cli.core.errors import BackworksError

    with pytest.raises(BackworksError) as caught:
        export_exchanges([sample()], tmp_path, "jsonl", redact=None, key=KEY)
    assert caught.value.message == f"Cannot write {tmp_path}: Is a directory."
    assert caught.value.hint == (
        "Check free disk space and permissions, or pass another --output with a path in a "
        "writable directory."
    )
    assert list(tmp_path.iterdir()) == []  # no temporary file is left behind


def test_a_disk_that_fills_during_an_export_is_a_disk_full_error(tmp_path):
    """ENOSPC while the rows stream is told as a full disk, and no partial file is left."""
    import errno

    from backworks_cli.core.errors import BackworksError

    def rows():
        yield sample()
        raise OSError(errno.ENOSPC, "No space left on device")

    output = tmp_path / "out.har"
    with pytest.raises(BackworksError) as caught:
        export_exchanges(rows(), output, "har", redact=None, key=KEY)
    assert caught.value.message == f"disk full: {output} (no space is left on its disk)."
    assert caught.value.hint == (
        "Free some disk space (or raise the file size limit, `ulimit -f`), or pass --output on "
        "another disk; what was written before is kept."
    )
    assert list(tmp_path.iterdir()) == []


def test_an_export_with_redaction_off_refuses_a_secret(tmp_path):
    """Redaction turned off in backworks.yaml still stops a secret unless asked on purpose."""
    from backworks_cli.core.errors import BackworksError

    off = RedactConfig(enabled=False)
    clean = Exchange(Request("GET", "/health"))
    path = tmp_path / "out.jsonl"
    with pytest.raises(BackworksError) as caught:
        export_exchanges([clean, sample()], path, "jsonl", redact=off, key=KEY)
    assert caught.value.message == (
        "Refusing to export: exchange 2 (POST) holds a secret (credential header) and "
        "redaction is off in backworks.yaml."
    )
    assert caught.value.hint == (
        "Turn redaction back on, or pass --no-redact to export secrets on purpose."
    )
    assert not path.exists()

    with pytest.raises(BackworksError) as caught:
        export_exchanges([sample().with_id(41)], path, "jsonl", redact=off, key=KEY)
    assert "exchange 41 (POST)" in caught.value.message

    assert export_exchanges([clean], path, "jsonl", redact=off, key=KEY) == 1
    count = export_exchanges(
        [clean, sample()], path, "jsonl", redact=off, key=KEY, allow_secrets=True
    )
    assert count == 2
    assert "sk_live_abcdef123456" in path.read_text()


def test_an_export_redacts_what_the_config_adds_to_the_built_in_rules(tmp_path):
    """Headers named in the redact block are redacted too, not only the built-in secrets."""
    ex = Exchange(Request("GET", "/", headers=(("X-Flavour", "vanilla-bean"),)))
    path = tmp_path / "out.jsonl"
    export_exchanges([ex], path, "jsonl", redact=RedactConfig(), key=KEY)
    assert "vanilla-bean" in path.read_text()
    export_exchanges([ex], path, "jsonl", redact=RedactConfig(headers=("X-Flavour",)), key=KEY)
    assert "vanilla-bean" not in path.read_text()


def test_without_a_redact_config_an_export_is_written_as_recorded(tmp_path):
    """No config at all (a store opened without backworks.yaml) exports the bytes as they are."""
    path = tmp_path / "out.har"
    export_exchanges([sample()], path, "har", redact=None, key=KEY)
    assert "sk_live_abcdef123456" in path.read_text()


# --- reading files ------------------------------------------------------------------------------


def test_a_missing_input_file_is_named(tmp_path):
    """A file that cannot be opened is an InputError with the reason, not a traceback."""
    error = read_error(tmp_path / "gone.har")
    assert error.message == f"Cannot read {tmp_path / 'gone.har'}: No such file or directory."
    assert error.hint == "Check the path and its permissions."


def test_a_zhar_that_is_not_zlib_is_named(tmp_path):
    """A .zhar must be zlib data, as mitmproxy writes; anything else says so."""
    path = tmp_path / "dump.zhar"
    path.write_text(json.dumps(CHROME_HAR))
    error = read_error(path)
    assert error.message.startswith(f"{path} is not a zlib-compressed HAR file (")
    assert error.hint == "Pass the .har file itself, or a .zhar written by mitmproxy."


def test_a_gzip_file_cut_short_is_named(tmp_path):
    """A truncated .gz gives the reader's reason with the file's name."""
    path = tmp_path / "cut.har.gz"
    path.write_bytes(gzip.compress(json.dumps(CHROME_HAR).encode())[:200])
    error = read_error(path)
    assert error.message.startswith(f"Cannot read {path}: ")


def test_gzip_is_detected_by_its_bytes_not_its_name(tmp_path):
    """A gzipped HAR saved under a plain .har name is still read."""
    path = tmp_path / "chrome.har"
    path.write_bytes(gzip.compress(json.dumps(CHROME_HAR).encode()))
    assert len(list(read_exchanges(path))) == 5


@pytest.mark.parametrize("name", ["empty.jsonl", "empty.ndjson"])
@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_an_empty_json_lines_file_is_an_export_of_nothing(tmp_path, name, text):
    """A JSON lines export of an empty store is an empty file, which reads as no exchanges."""
    path = tmp_path / name
    path.write_text(text)
    assert list(read_exchanges(path)) == []


def test_blank_lines_before_the_first_record_count_in_line_numbers(tmp_path):
    """Line numbers in messages are the editor's, blank lines included."""
    good = json.dumps(exchange_to_json(sample()))
    path = tmp_path / "x.jsonl"
    path.write_text(f"\n\n{good}\n\n{{broken\n")
    assert read_error(path).message.startswith(f"{path}, line 5: not valid JSON (")
    path.write_text(f"\n\n{json.dumps({'request': {'method': 1}})}\n")
    assert read_error(path).message == f"{path}, line 3: request.method must be a string, not 1."


def test_a_json_line_that_is_not_valid_json_says_where(tmp_path):
    """The message names the line and column, with a hint about truncated files."""
    good = json.dumps(exchange_to_json(sample()))
    path = tmp_path / "x.jsonl"
    path.write_text(f'{good}\n{{"request": }}\n')
    error = read_error(path)
    assert error.message == f"{path}, line 2: not valid JSON (Expecting value, column 13)."
    assert error.hint == (
        "Each line of a JSON lines file must be one whole exchange object; the file may be "
        "truncated or edited by hand."
    )


def test_a_json_line_that_is_not_utf8_is_named(tmp_path):
    """Bytes that are not UTF-8 on a line name that line."""
    good = json.dumps(exchange_to_json(sample())).encode()
    path = tmp_path / "x.jsonl"
    path.write_bytes(good + b"\n" + b'{"a": "\xff"}\n')
    assert read_error(path).message == f"{path}, line 2: not UTF-8 text."


def test_files_with_a_byte_order_mark_are_read(tmp_path):
    """Editors on Windows start UTF-8 files with a BOM; both formats read past it."""
    line = json.dumps(exchange_to_json(sample()))
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\n" + b"\xef\xbb\xbf" + line.encode())
    assert list(read_exchanges(path)) == [sample(), sample()]
    har = tmp_path / "bom.har"
    har.write_bytes(b"\xef\xbb\xbf" + json.dumps(CHROME_HAR).encode())
    assert len(list(read_exchanges(har))) == 5


def test_a_har_on_one_line_is_a_har_not_json_lines(tmp_path):
    """A minified HAR is one JSON object per line too; its `log` key tells it apart."""
    path = tmp_path / "min.har"
    path.write_text(json.dumps(CHROME_HAR) + "\n")
    assert [ex.request.method for ex in read_exchanges(path)] == [
        "POST",
        "GET",
        "POST",
        "GET",
        "GET",
    ]


def test_a_json_file_of_another_shape_is_no_har(tmp_path):
    """A JSON array or an object without log.entries is named as JSON but not HAR."""
    for text in ("[1, 2]\n", '{"log": []}', '{"log": {"entries": {}}}'):
        path = tmp_path / "other.json"
        path.write_text(text)
        error = read_error(path)
        assert error.message == f"{path} is JSON but not a HAR file: it has no log.entries list."
        assert error.hint == HINT


def test_invalid_json_that_is_not_cut_short_is_not_called_truncated(tmp_path):
    """Only an error at the end of the text suggests truncation."""
    path = tmp_path / "bad.har"
    path.write_text('{"log": {"entries": [}]}}\n')
    error = read_error(path)
    assert error.message == (
        f"{path} is neither a HAR file nor JSON lines: invalid JSON at line 1, column 22: "
        "Expecting value."
    )
    path.write_text('{"log": {"entries": [\n')
    assert read_error(path).message.endswith(
        "line 2, column 1: Expecting value (the file ends early: truncated?)."
    )
    path.write_text('{"log": {"entries": [')  # cut without a final newline
    assert read_error(path).message.endswith(
        "line 1, column 22: Expecting value (the file ends early: truncated?)."
    )


def test_a_har_that_is_not_utf8_names_the_byte(tmp_path):
    """The first byte that is not UTF-8 is named by its offset."""
    path = tmp_path / "x.har"
    path.write_bytes(b'{"log":\n "\xff"}')
    assert read_error(path).message == f"{path} is not UTF-8 text (byte 10)."


@pytest.mark.parametrize(
    ("name", "session"),
    [("chrome-export.har", "chrome-export"), ("a.b.har", "a"), (".har", "default")],
)
def test_other_tools_entries_get_the_file_name_as_their_session(tmp_path, name, session):
    """The part of the file name before its first dot names the session, else "default"."""
    path = tmp_path / name
    path.write_text(json.dumps(CHROME_HAR))
    assert {ex.session for ex in read_exchanges(path)} == {session}


def test_a_session_given_names_every_exchange_of_a_har(tmp_path):
    """--session overrides the file name for other tools' entries and backworks' own."""
    own = tmp_path / "own.har"
    export_exchanges([sample()], own, "har", redact=None, key=KEY)
    assert [ex.session for ex in read_exchanges(own)] == ["checkout"]
    assert [ex.session for ex in read_exchanges(own, session="x")] == ["x"]
    chrome = tmp_path / "chrome.har"
    chrome.write_text(json.dumps(CHROME_HAR))
    assert {ex.session for ex in read_exchanges(chrome, session="x")} == {"x"}


def test_an_entry_that_is_no_object_is_named_by_its_index_alone(tmp_path):
    """Without a request to quote, the message names the entry by its index."""
    path = tmp_path / "x.har"
    path.write_text(json.dumps({"log": {"entries": [CHROME_HAR["log"]["entries"][1], "oops"]}}))
    assert read_error(path).message == f"{path}, entry 1: an entry must be an object."


def test_a_jsonl_file_read_lazily_reports_a_bad_line_after_the_good_ones(tmp_path):
    """Reading streams: exchanges before a bad line are yielded before the error."""
    good = json.dumps(exchange_to_json(sample()))
    path = tmp_path / "x.jsonl"
    path.write_text(f"{good}\n[]\n")
    reader = read_exchanges(path)
    assert next(reader) == sample()
    with pytest.raises(InputError) as caught:
        next(reader)
    assert caught.value.message == (
        f"{path}, line 2: not a backworks exchange (no request object)."
    )
