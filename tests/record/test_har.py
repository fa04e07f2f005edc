"""HAR entries field by field: the exact entry an exchange exports to, and what entries written
by Chrome, Firefox, mitmproxy and Polly.js import as, down to defaults and error messages."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backworks_cli import __version__
from backworks_cli.core.exchange import Exchange, Message, Request, Response
from backworks_cli.record.format_values import Malformed
from backworks_cli.record.har import exchange_to_har_entry, har_document, har_entry_to_exchange
from tests.strategies import exchanges

# --- export: the exact entry ------------------------------------------------------------------


def socket_exchange() -> Exchange:
    """A WebSocket exchange with every field set away from its default."""
    return Exchange(
        request=Request(
            "POST",
            "/api/orders",
            (("expand", "items"),),
            (("Content-Type", "application/json"),),
            b'{"qty": 2}',
            "https",
            "api.example.com",
            8443,
            "HTTP/2.0",
            "gzip",
        ),
        response=Response(
            302,
            (("Content-Type", "text/plain"), ("Location", "/x")),
            b"\xff\x00",
            "Found",
            "HTTP/1.0",
            "br",
        ),
        started_at=1714557600.25,
        duration_ms=42.0,
        session="shop",
        kind="websocket",
        messages=(
            Message("client", b"hi", True, 1.5),
            Message("server", b"\xff", True, 2.0),
            Message("server", b"\x00", False, 3.0),
        ),
    )


def test_an_exchange_exports_to_exactly_this_har_entry():
    """Every HAR field and every `_backworks` detail, so that no key or value goes astray."""
    assert exchange_to_har_entry(socket_exchange()) == {
        "startedDateTime": "2024-05-01T10:00:00.250000+00:00",
        "time": 42.0,
        "request": {
            "method": "POST",
            "url": "https://api.example.com:8443/api/orders?expand=items",
            "httpVersion": "HTTP/2.0",
            "cookies": [],
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "queryString": [{"name": "expand", "value": "items"}],
            "headersSize": -1,
            "bodySize": 10,
            "postData": {"mimeType": "application/json", "text": '{"qty": 2}'},
        },
        "response": {
            "status": 302,
            "statusText": "Found",
            "httpVersion": "HTTP/1.0",
            "cookies": [],
            "headers": [
                {"name": "Content-Type", "value": "text/plain"},
                {"name": "Location", "value": "/x"},
            ],
            "content": {
                "size": 2,
                "mimeType": "text/plain",
                "text": "/wA=",
                "encoding": "base64",
            },
            "redirectURL": "/x",
            "headersSize": -1,
            "bodySize": 2,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 42.0, "receive": 0},
        "_backworks": {
            "session": "shop",
            "kind": "websocket",
            "error": None,
            "request_encoding": "gzip",
            "response_encoding": "br",
            "started_at": 1714557600.25,
            "duration_ms": 42.0,
            "port": 8443,
        },
        "_resourceType": "websocket",
        "_webSocketMessages": [
            {"type": "send", "time": 1.5, "opcode": 1, "data": "hi"},
            {"type": "receive", "time": 2.0, "opcode": 1, "data": "/w==", "_encoding": "base64"},
            {"type": "receive", "time": 3.0, "opcode": 2, "data": "AA=="},
        ],
    }


def test_an_exchange_without_a_response_exports_status_0_and_its_error():
    """No response is HAR's status 0 with empty fields, the error in `_error` and `_backworks`."""
    ex = Exchange(Request("GET", "/"), started_at=0.0, error="connection refused")
    entry = exchange_to_har_entry(ex)
    assert entry["time"] == 0
    assert entry["timings"] == {"send": 0, "wait": 0, "receive": 0}
    assert "postData" not in entry["request"]
    assert entry["request"]["url"] == "http:///"
    assert entry["request"]["bodySize"] == 0
    assert entry["response"] == {
        "status": 0,
        "statusText": "",
        "httpVersion": "",
        "cookies": [],
        "headers": [],
        "content": {"size": 0, "mimeType": ""},
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": -1,
        "_error": "connection refused",
    }
    assert entry["_backworks"]["error"] == "connection refused"
    assert entry["_backworks"]["response_encoding"] is None
    assert entry["_backworks"]["duration_ms"] is None
    assert "_resourceType" not in entry and "_webSocketMessages" not in entry
    assert "messages" not in entry["_backworks"]


def test_a_body_without_a_content_type_has_an_empty_mime_type():
    """HAR requires mimeType, so a body sent without Content-Type gets an empty one."""
    ex = Exchange(Request("PUT", "/a", body=b"x"), Response(200, body=b"ok"))
    entry = exchange_to_har_entry(ex)
    assert entry["request"]["postData"] == {"mimeType": "", "text": "x"}
    assert entry["response"]["content"] == {"size": 2, "mimeType": "", "text": "ok"}
    assert entry["response"]["redirectURL"] == ""


def test_events_of_a_stream_that_is_no_websocket_go_under_backworks():
    """An event stream's messages are no `_webSocketMessages`: Chrome would read them as frames."""
    ex = Exchange(
        Request("GET", "/events"),
        Response(200, (("Content-Type", "text/event-stream"),)),
        kind="sse",
        messages=(Message("server", b"data: 1\n\n", True, 5.0),),
    )
    entry = exchange_to_har_entry(ex)
    assert "_resourceType" not in entry and "_webSocketMessages" not in entry
    assert entry["_backworks"]["messages"] == [
        {"type": "receive", "time": 5.0, "opcode": 1, "data": "data: 1\n\n"}
    ]
    assert har_entry_to_exchange(json.loads(json.dumps(entry))) == ex


def test_a_websocket_without_messages_still_has_a_message_list():
    """Chrome marks a WebSocket entry by `_resourceType` and an (empty) `_webSocketMessages`."""
    entry = exchange_to_har_entry(Exchange(Request("GET", "/ws", scheme="wss"), kind="websocket"))
    assert entry["_resourceType"] == "websocket"
    assert entry["_webSocketMessages"] == []


@pytest.mark.parametrize(
    ("scheme", "host", "port", "url"),
    [
        ("http", "example.com", 80, "http://example.com/p"),
        ("https", "example.com", 443, "https://example.com/p"),
        ("ws", "example.com", 80, "ws://example.com/p"),
        ("wss", "example.com", 443, "wss://example.com/p"),
        ("http", "example.com", 443, "http://example.com:443/p"),
        ("https", "example.com", 80, "https://example.com:80/p"),
        ("http", "example.com", 0, "http://example.com/p"),
        ("http", "::1", 8080, "http://[::1]:8080/p"),
        ("https", "fe80::1", 443, "https://[fe80::1]/p"),
    ],
)
def test_the_url_leaves_out_default_ports_and_brackets_ipv6_hosts(scheme, host, port, url):
    """A URL as a browser writes it: no :443 on https, [brackets] around an IPv6 address."""
    entry = exchange_to_har_entry(
        Exchange(Request("GET", "/p", scheme=scheme, host=host, port=port))
    )
    assert entry["request"]["url"] == url


def test_a_query_of_text_that_is_not_utf8_survives_in_the_url():
    """Surrogate-escaped query bytes are written, not refused, as a capture may hold them."""
    ex = Exchange(Request("GET", "/", query=(("q", "\udcff"),), host="h"))
    assert exchange_to_har_entry(ex)["request"]["url"] == "http://h/?q=%ED%B3%BF"


@pytest.mark.parametrize("moment", [1e20, -1e20, float("nan")])
def test_a_start_time_no_calendar_holds_is_written_as_the_epoch(moment):
    """startedDateTime must be a date, so a timestamp datetime cannot hold becomes 1970."""
    entry = exchange_to_har_entry(Exchange(Request("GET", "/"), started_at=moment))
    assert entry["startedDateTime"] == "1970-01-01T00:00:00+00:00"
    assert entry["_backworks"]["started_at"] is moment


def test_the_har_document_is_har_1_2_by_backworks():
    """The log wrapper other tools look for: version 1.2, a creator, pages and entries."""
    assert har_document(iter([{"a": 1}])) == {
        "log": {
            "version": "1.2",
            "creator": {"name": "backworks", "version": __version__},
            "pages": [],
            "entries": [{"a": 1}],
        }
    }


@settings(max_examples=100, deadline=None)
@given(ex=exchanges)
def test_an_exported_entry_declares_its_body_sizes(ex):
    """bodySize and content.size are the bytes of the bodies, whatever they hold."""
    entry = exchange_to_har_entry(ex)
    assert entry["request"]["bodySize"] == len(ex.request.body)
    assert ("postData" in entry["request"]) == bool(ex.request.body)
    if ex.response is not None:
        assert entry["response"]["bodySize"] == len(ex.response.body)
        assert entry["response"]["content"]["size"] == len(ex.response.body)
    assert [m["type"] for m in entry.get("_webSocketMessages", [])] == [
        "send" if m.direction == "client" else "receive" for m in ex.messages
    ] * (ex.kind == "websocket")


# --- import: other tools' entries -------------------------------------------------------------


def foreign(url: str = "https://api.example.com/v1/items", **fields) -> dict:
    """A minimal entry as Chrome and Firefox devtools write it; `fields` replace or add keys."""
    entry = {
        "startedDateTime": "2024-05-01T10:00:00.000Z",
        "time": 12.5,
        "request": {
            "method": "GET",
            "url": url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [],
            "queryString": [],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "content": {"size": 2, "mimeType": "application/json", "text": "{}"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": 2,
        },
        "cache": {},
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "send": 0, "wait": 12, "receive": 0.5},
    }
    for key, value in fields.items():
        if key in ("request", "response") and isinstance(value, dict):
            entry[key] = {**entry[key], **value}
        else:
            entry[key] = value
    return entry


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "path", "query"),
    [
        ("https://api.example.com/v1/items", "https", "api.example.com", 443, "/v1/items", ()),
        ("http://api.example.com/v1", "http", "api.example.com", 80, "/v1", ()),
        ("wss://api.example.com/ws", "wss", "api.example.com", 443, "/ws", ()),
        ("ws://api.example.com/ws", "ws", "api.example.com", 80, "/ws", ()),
        ("HTTPS://API.example.com:8443/a", "https", "API.example.com", 8443, "/a", ()),
        ("https://ann:pw@example.com:444/a", "https", "example.com", 444, "/a", ()),
        ("http://[::1]:8080/a?x=1", "http", "::1", 8080, "/a", (("x", "1"),)),
        ("http://[::1]/a", "http", "::1", 80, "/a", ()),
        ("http://example.com:abc/a", "http", "example.com:abc", 80, "/a", ()),
        ("https://example.com", "https", "example.com", 443, "/", ()),
        ("https://example.com?a=&b", "https", "example.com", 443, "/", (("a", ""), ("b", ""))),
        ("ftp://files.example.com/f", "ftp", "files.example.com", 0, "/f", ()),
        ("http://localhost:3000/login", "http", "localhost", 3000, "/login", ()),
    ],
)
def test_the_url_of_another_tool_gives_scheme_host_port_path_and_query(
    url, scheme, host, port, path, query
):
    """The URL is all other tools' entries say of the target, so every part is read from it."""
    request = har_entry_to_exchange(foreign(url)).request
    assert (request.scheme, request.host, request.port, request.path, request.query) == (
        scheme,
        host,
        port,
        path,
        query,
    )


def test_the_query_comes_from_the_url_not_from_query_string():
    """Chrome's queryString keeps values percent-encoded; the URL decodes to the real ones."""
    entry = foreign("https://a.example/s?q=red%20shoes&q=blue")
    entry["request"]["queryString"] = [{"name": "q", "value": "red%20shoes"}]
    assert har_entry_to_exchange(entry).request.query == (("q", "red shoes"), ("q", "blue"))


def test_a_firefox_entry_with_a_fragment_reads_its_target():
    """Firefox keeps a page's #fragment in request.url; the host and method still read."""
    entry = foreign(
        "https://developer.mozilla.org/en-US/docs/Web/HTTP#see_also",
        pageref="page_1",
        _securityState="secure",
        serverIPAddress="34.111.97.67",
        connection="443",
    )
    entry["request"]["httpVersion"] = "HTTP/2"
    ex = har_entry_to_exchange(entry, fallback_session="firefox")
    assert (ex.request.host, ex.request.port, ex.request.method) == (
        "developer.mozilla.org",
        443,
        "GET",
    )
    assert ex.request.path.startswith("/en-US/docs/Web/HTTP")
    assert ex.request.http_version == "HTTP/2"
    assert ex.session == "firefox"


@pytest.mark.xfail(strict=True, reason="known bug: the #fragment is kept in the path or query")
@pytest.mark.parametrize(
    ("url", "path", "query"),
    [
        ("https://example.com/docs#intro", "/docs", ()),
        ("https://example.com/docs?page=2#intro", "/docs", (("page", "2"),)),
        ("https://example.com#top", "/", ()),
    ],
)
def test_a_fragment_is_no_part_of_the_path_or_query(url, path, query):
    """A fragment never goes to the server, so it belongs to neither the path nor the query."""
    request = har_entry_to_exchange(foreign(url)).request
    assert (request.path, request.query) == (path, query)


def test_http2_pseudo_headers_of_other_tools_are_dropped():
    """Chrome lists :authority and :status among headers; they are no headers to replay."""
    entry = foreign(
        request={
            "headers": [
                {"name": ":authority", "value": "api.example.com"},
                {"name": ":path", "value": "/v1/items"},
                {"name": "accept", "value": "*/*"},
            ]
        },
        response={
            "headers": [
                {"name": ":status", "value": "200"},
                {"name": "content-type", "value": "application/json"},
            ]
        },
    )
    ex = har_entry_to_exchange(entry)
    assert ex.request.headers == (("accept", "*/*"),)
    assert ex.response.headers == (("content-type", "application/json"),)


def test_polly_list_valued_headers_keep_every_value_in_order():
    """Polly.js writes a header with a list of values as one entry per value (`_fromType`)."""
    entry = foreign(
        response={
            "headers": [
                {"name": "set-cookie", "value": "a=1", "_fromType": "array"},
                {"name": "content-type", "value": "text/plain"},
                {"name": "set-cookie", "value": "b=2", "_fromType": "array"},
            ],
            "content": {"mimeType": "text/plain", "size": 2, "text": "hi"},
        },
        _id="4f1ac1b3c6a2f1d8e2",
        _order=0,
    )
    response = har_entry_to_exchange(entry).response
    assert response.headers == (
        ("set-cookie", "a=1"),
        ("content-type", "text/plain"),
        ("set-cookie", "b=2"),
    )
    assert response.body == b"hi"


@pytest.mark.parametrize(
    ("item", "pair"),
    [
        ({"name": "x-empty", "value": None}, ("x-empty", "")),
        ({"name": "x-missing"}, ("x-missing", "")),
        ({"name": "x-number", "value": 5}, ("x-number", "5")),
        ({"name": "x-text", "value": "v"}, ("x-text", "v")),
    ],
)
def test_a_header_value_that_is_missing_null_or_a_number_is_read_as_text(item, pair):
    """Producers write null, leave the value out, or write a number; all read as header text."""
    entry = foreign(request={"headers": [item]})
    assert har_entry_to_exchange(entry).request.headers == (pair,)


def test_missing_header_lists_read_as_none():
    """A hand-trimmed entry without headers lists still reads, with no headers."""
    entry = foreign()
    del entry["request"]["headers"]
    del entry["response"]["headers"]
    ex = har_entry_to_exchange(entry)
    assert ex.request.headers == () and ex.response.headers == ()


@pytest.mark.parametrize(
    ("value", "encoding"),
    [
        ("gzip", "gzip"),
        (" GZIP ", "gzip"),
        ("br", "br"),
        ("deflate", "deflate"),
        ("zstd", "zstd"),
        ("identity", None),
        ("gzip, br", None),
    ],
)
def test_the_content_encoding_of_another_tool_comes_from_its_header(value, encoding):
    """Other tools record the decoded body and the header; one known coding is the encoding."""
    entry = foreign(
        request={"headers": [{"name": "Content-Encoding", "value": value}]},
        response={"headers": [{"name": "CONTENT-ENCODING", "value": value}]},
    )
    ex = har_entry_to_exchange(entry)
    assert ex.request.encoding == encoding
    assert ex.response.encoding == encoding


def test_no_content_encoding_header_is_no_encoding():
    """Without the header there is nothing to re-apply."""
    ex = har_entry_to_exchange(foreign())
    assert ex.request.encoding is None and ex.response.encoding is None


def test_form_params_without_text_become_a_urlencoded_body():
    """Chrome and mitmproxy may give a form's fields as postData.params and no text."""
    entry = foreign(
        request={
            "method": "POST",
            "postData": {
                "mimeType": "application/x-www-form-urlencoded",
                "params": [
                    {"name": "user", "value": "ann"},
                    {"name": "pw", "value": "a&b c"},
                    {"name": "remember"},
                ],
            },
        }
    )
    assert har_entry_to_exchange(entry).request.body == b"user=ann&pw=a%26b+c&remember="


def test_mitmproxy_post_data_whose_text_is_null_reads_its_params():
    """mitmproxy writes text null when the body is not text; the params are what is left."""
    entry = foreign(
        request={
            "method": "POST",
            "postData": {
                "mimeType": "application/x-www-form-urlencoded",
                "text": None,
                "params": [],
            },
        }
    )
    assert har_entry_to_exchange(entry).request.body == b""


def test_multipart_post_data_with_text_reads_the_text_not_the_params():
    """Chrome's multipart postData has the whole body as text, and the fields again as params."""
    body = (
        "------WebKitFormBoundaryx7\r\n"
        'Content-Disposition: form-data; name="title"\r\n\r\nlamp\r\n'
        "------WebKitFormBoundaryx7\r\n"
        'Content-Disposition: form-data; name="photo"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n\r\n"
        "------WebKitFormBoundaryx7--\r\n"
    )
    entry = foreign(
        request={
            "method": "POST",
            "postData": {
                "mimeType": "multipart/form-data; boundary=----WebKitFormBoundaryx7",
                "text": body,
                "params": [
                    {"name": "title", "value": "lamp"},
                    {"name": "photo", "fileName": "a.png", "contentType": "image/png"},
                ],
            },
        }
    )
    assert har_entry_to_exchange(entry).request.body == body.encode()


@pytest.mark.parametrize("params", [[], {}, None, ""])
def test_post_data_without_text_and_with_empty_params_is_no_body(params):
    """Empty params, whatever JSON shape a tool gave them, mean no body."""
    entry = foreign(request={"postData": {"mimeType": "text/plain", "params": params}})
    assert har_entry_to_exchange(entry).request.body == b""


def test_omitted_content_text_is_an_empty_body():
    """Firefox and Chrome leave content.text out when they kept no body (images, big files)."""
    entry = foreign(response={"content": {"size": 5120, "mimeType": "image/png"}})
    assert har_entry_to_exchange(entry).response.body == b""


def test_mitmproxy_empty_content_of_an_error_is_read():
    """mitmproxy writes `"content": {}` for a flow that got no response."""
    entry = foreign(response={"status": 0, "content": {}, "_error": "Connection killed."})
    ex = har_entry_to_exchange(entry)
    assert ex.response is None and ex.error == "Connection killed."


def test_base64_content_is_decoded():
    """`encoding: base64` marks binary content, which Chrome and Firefox write as base64."""
    data = b"\x89PNG\r\n\x1a\n\x00"
    entry = foreign(
        response={
            "content": {
                "size": len(data),
                "mimeType": "image/png",
                "text": base64.b64encode(data).decode(),
                "encoding": "base64",
            }
        }
    )
    assert har_entry_to_exchange(entry).response.body == data


def test_text_content_keeps_its_characters_as_utf8():
    """Non-ASCII text (and a lone surrogate a JSON escape made) becomes the body's UTF-8."""
    entry = foreign(response={"content": {"mimeType": "text/plain", "text": "café \ud800"}})
    assert har_entry_to_exchange(entry).response.body == "café ".encode() + b"\xed\xa0\x80"


def test_a_status_of_zero_or_none_given_is_no_response():
    """Chrome writes status 0 for a blocked or failed request; a missing status is the same."""
    entry = foreign(response={"status": 0, "_error": "net::ERR_CONNECTION_REFUSED"})
    ex = har_entry_to_exchange(entry)
    assert ex.response is None and ex.error == "net::ERR_CONNECTION_REFUSED"

    entry = foreign()
    del entry["response"]["status"]
    assert har_entry_to_exchange(entry).response is None


def test_a_first_positive_status_is_a_response():
    """Any status above zero is an answer, even a nonsensical 1 a tool may write."""
    assert har_entry_to_exchange(foreign(response={"status": 1})).response.status == 1


def test_an_error_that_is_not_text_is_no_error():
    """Chrome writes `_error: null` on successful requests, and a tool may write other values."""
    for value in (None, 0, {"code": 1}):
        ex = har_entry_to_exchange(foreign(response={"status": 0, "_error": value}))
        assert ex.error is None and ex.response is None


def test_missing_or_null_status_text_and_versions_get_defaults():
    """Chrome writes "" for HTTP/2 status texts and versions; defaults stand in for them."""
    entry = foreign(request={"httpVersion": ""}, response={"statusText": None, "httpVersion": ""})
    ex = har_entry_to_exchange(entry)
    assert ex.response.reason == ""
    assert ex.request.http_version == "HTTP/1.1"
    assert ex.response.http_version == "HTTP/1.1"
    del entry["request"]["httpVersion"]
    del entry["response"]["httpVersion"]
    del entry["response"]["statusText"]
    ex = har_entry_to_exchange(entry)
    assert (ex.request.http_version, ex.response.http_version, ex.response.reason) == (
        "HTTP/1.1",
        "HTTP/1.1",
        "",
    )


def test_status_text_is_kept():
    """The reason phrase a tool recorded is the response's reason."""
    assert har_entry_to_exchange(foreign(response={"statusText": "Created"})).response.reason == (
        "Created"
    )


def test_an_entry_without_a_response_object_has_no_response():
    """Some tools write `"response": null` for a request still pending when the HAR was saved."""
    ex = har_entry_to_exchange(foreign(response=None))
    assert ex.response is None and ex.error is None


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({}, "http"),
        ({"_resourceType": "websocket"}, "websocket"),
        ({"_resourceType": "fetch", "_webSocketMessages": []}, "websocket"),
        ({"_resourceType": "eventsource"}, "http"),
    ],
)
def test_the_kind_of_another_tool_entry_comes_from_its_resource_type(fields, kind):
    """Chrome marks WebSockets by `_resourceType` or by carrying `_webSocketMessages`."""
    assert har_entry_to_exchange(foreign(**fields)).kind == kind


def test_an_event_stream_response_is_an_sse_exchange():
    """A text/event-stream response (with parameters) is a server-sent event stream."""
    entry = foreign(
        response={
            "headers": [{"name": "Content-Type", "value": "text/event-stream; charset=utf-8"}],
            "content": {"mimeType": "text/event-stream", "text": "data: 1\n\n"},
        }
    )
    assert har_entry_to_exchange(entry).kind == "sse"
    entry["response"]["headers"] = [{"name": "Content-Type", "value": "text/plain"}]
    assert har_entry_to_exchange(entry).kind == "http"
    entry["response"]["headers"] = []
    assert har_entry_to_exchange(entry).kind == "http"


def test_chrome_websocket_frames_become_messages_and_control_frames_are_dropped():
    """Opcode 1 is text, 2 is binary (base64); close, ping and pong (8, 9, 10) carry no message."""
    entry = foreign(
        "wss://stream.example.com/prices",
        _resourceType="websocket",
        _webSocketMessages=[
            {"type": "send", "time": 10.5, "opcode": 1, "data": "héllo"},
            {"type": "receive", "time": 10.6, "opcode": 9, "data": ""},
            {"type": "receive", "time": 10.7, "opcode": 2, "data": "AAEC"},
            {"type": "send", "time": 10.8, "opcode": 10, "data": ""},
            {"type": "receive", "time": 10.9, "opcode": 8, "data": "A+g="},
            {"type": "receive", "time": 11},
        ],
    )
    assert har_entry_to_exchange(entry).messages == (
        Message("client", "héllo".encode(), True, 10.5),
        Message("server", b"\x00\x01\x02", False, 10.7),
        Message("server", b"", True, 11),
    )


def test_a_text_frame_with_a_lone_surrogate_keeps_its_bytes():
    """A \\udc80 escape in a frame's text is kept as the bytes surrogatepass gives."""
    entry = foreign(_webSocketMessages=[{"type": "send", "opcode": 1, "data": "a\udc80"}])
    assert har_entry_to_exchange(entry).messages[0].content == b"a\xed\xb2\x80"


def test_a_frame_without_a_time_is_at_zero():
    """A frame's time is optional for backworks; without it the message is at 0."""
    entry = foreign(_webSocketMessages=[{"type": "send", "opcode": 1, "data": "x"}])
    assert har_entry_to_exchange(entry).messages == (Message("client", b"x", True, 0.0),)


def test_a_text_frame_in_base64_is_decoded():
    """backworks writes a text frame that is not UTF-8 as base64 under `_encoding`."""
    entry = foreign(
        _webSocketMessages=[
            {"type": "receive", "time": 1, "opcode": 1, "data": "/w==", "_encoding": "base64"}
        ]
    )
    assert har_entry_to_exchange(entry).messages == (Message("server", b"\xff", True, 1),)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(87.25, 87.25), (3, 3), (0, 0), (-1, None), (True, None), ("12", None), (None, None)],
)
def test_the_duration_of_another_tool_is_its_time_when_that_is_a_number(value, expected):
    """Chrome writes time -1 when unknown; anything but a non-negative number is no duration."""
    duration = har_entry_to_exchange(foreign(time=value)).duration_ms
    assert duration == expected and type(duration) is type(expected)


@pytest.mark.parametrize(
    ("text", "timestamp"),
    [
        ("2024-05-01T10:00:00.123Z", 1714557600.123),
        ("2024-05-01T12:00:00.500+02:00", 1714557600.5),
        ("2024-05-01T10:00:00", 1714557600.0),  # no offset: read as UTC, not local time
    ],
)
def test_the_start_of_another_tool_entry_is_its_started_date_time(text, timestamp):
    """startedDateTime is ISO 8601 with or without an offset; one without is UTC."""
    ex = har_entry_to_exchange(foreign(startedDateTime=text))
    assert ex.started_at == pytest.approx(timestamp)


@pytest.fixture
def new_york(monkeypatch):
    """The process's local time zone set to one far from UTC, and set back afterwards."""
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_start_without_an_offset_is_utc_whatever_the_local_time_zone(new_york):
    """A naive startedDateTime is read as UTC, not as the importing machine's local time."""
    ex = har_entry_to_exchange(foreign(startedDateTime="2024-05-01T10:00:00"))
    assert ex.started_at == 1714557600.0


def test_sessions_of_other_tools_entries_are_the_fallback_unless_overridden():
    """Other tools name no session: the reader's fallback is used, or the override given."""
    assert har_entry_to_exchange(foreign()).session == "default"
    assert har_entry_to_exchange(foreign(), fallback_session="chrome").session == "chrome"
    assert har_entry_to_exchange(foreign(), session="s", fallback_session="c").session == "s"


def test_the_parts_of_a_request_are_read():
    """Method, body and headers of a request come through unchanged."""
    entry = foreign(
        request={
            "method": "PATCH",
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "postData": {"mimeType": "application/json", "text": '{"a": 1}'},
        }
    )
    request = har_entry_to_exchange(entry).request
    assert (request.method, request.body, request.headers) == (
        "PATCH",
        b'{"a": 1}',
        (("Content-Type", "application/json"),),
    )


# --- import: backworks' own entries -----------------------------------------------------------


def own(ex: Exchange) -> dict:
    """The entry backworks writes for `ex`, as it comes back from a file."""
    return json.loads(json.dumps(exchange_to_har_entry(ex)))


def test_an_own_entry_reads_back_exactly():
    """The quick, exact round trip of an entry with every field set, encodings included."""
    assert har_entry_to_exchange(own(socket_exchange())) == socket_exchange()


def test_an_own_entry_with_a_query_string_that_is_no_list_names_it():
    """backworks' own entries read their query from queryString, so that is what is checked."""
    entry = own(socket_exchange())
    entry["request"]["queryString"] = {"expand": "items"}
    assert malformed(entry) == "request.queryString must be a list of {name, value} objects"


def test_an_own_entry_keeps_pseudo_headers_and_its_query_string():
    """backworks' own entries are exact: a header named :x and the queryString pairs stay."""
    ex = Exchange(
        Request("GET", "/a", (("q", "a b"), ("q", "")), ((":authority", "h"), ("a", "1"))),
        Response(200, ((":status", "200"),)),
    )
    assert har_entry_to_exchange(own(ex)) == ex


def test_an_own_entry_without_a_port_takes_the_url_port_or_zero():
    """`_backworks.port` may be missing from a hand-edited entry: the URL's port, else 0."""
    entry = own(Exchange(Request("GET", "/", scheme="http", host="h", port=8080)))
    del entry["_backworks"]["port"]
    assert har_entry_to_exchange(entry).request.port == 8080
    entry["request"]["url"] = "http://h/"
    assert har_entry_to_exchange(entry).request.port == 0


def test_an_own_entry_with_a_sparse_backworks_block_gets_defaults():
    """An empty `_backworks` still marks an own entry; every detail it lacks has a default."""
    entry = foreign(_backworks={}, startedDateTime="not read")
    ex = har_entry_to_exchange(entry, fallback_session="file")
    assert ex.kind == "http"
    assert ex.started_at == 0.0
    assert ex.duration_ms is None
    assert ex.error is None
    assert ex.session == "file"
    assert ex.request.encoding is None and ex.response.encoding is None


def test_own_messages_of_a_stream_come_from_backworks_block():
    """Messages of an event stream are read back from `_backworks.messages`."""
    entry = foreign(
        _backworks={"kind": "sse", "messages": [{"type": "receive", "opcode": 1, "data": "e"}]}
    )
    assert har_entry_to_exchange(entry).messages == (Message("server", b"e", True, 0.0),)


def test_a_backworks_block_that_is_no_object_is_ignored():
    """Only an object is backworks' block; anything else reads as another tool's entry."""
    entry = foreign(_backworks="yes", time=5)
    ex = har_entry_to_exchange(entry, fallback_session="f")
    assert ex.session == "f" and ex.duration_ms == 5


# --- malformed entries ------------------------------------------------------------------------


def malformed(entry) -> str:
    with pytest.raises(Malformed) as caught:
        har_entry_to_exchange(entry)
    return str(caught.value)


def changed(path: str, value, entry: dict | None = None) -> dict:
    """A copy of `entry` (a foreign one by default) with the dotted `path` set to `value`."""
    entry = copy.deepcopy(entry if entry is not None else foreign())
    *parents, last = path.split(".")
    target = entry
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return entry


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ([], "an entry must be an object"),
        (changed("request", "GET /"), "the entry has no request object"),
        (changed("request.url", "/relative"), "request.url '/relative' is not an absolute URL"),
        (changed("request.url", 7), "request.url must be a string, not 7"),
        (changed("request.method", None), "request.method must be a string, not null"),
        (
            changed("request.headers", {"a": "b"}),
            "request.headers must be a list of {name, value} objects",
        ),
        (
            changed("request.headers", ["a: b"]),
            "request.headers must be a list of {name, value} objects",
        ),
        (
            changed("request.headers", [{"value": "b"}]),
            "request.headers must be a list of {name, value} objects",
        ),
        (
            changed("request.headers", [{"name": 1, "value": "b"}]),
            "request.headers must be a string, not 1",
        ),
        (changed("request.httpVersion", 2), "request.httpVersion must be a string, not 2"),
        (changed("request.postData", "a=b"), "request.postData must be an object"),
        (
            changed("request.postData", {"params": "a=b"}),
            "request.postData.params must be a list of {name, value} objects",
        ),
        (changed("request.postData", {"text": 5}), "request.postData.text must be a string, not 5"),
        (
            changed("request.postData", {"text": "%%", "encoding": "base64"}),
            "invalid base64 data (Only base64 data is allowed)",
        ),
        (changed("response.status", "200"), 'response.status must be an integer, not "200"'),
        (changed("response.status", 200.0), "response.status must be an integer, not 200.0"),
        (
            changed("response.headers", "x"),
            "response.headers must be a list of {name, value} objects",
        ),
        (changed("response.content", []), "response.content must be an object"),
        (changed("response.content.text", 1), "response.content.text must be a string, not 1"),
        (changed("response.httpVersion", 1.1), "response.httpVersion must be a string, not 1.1"),
        (
            changed("startedDateTime", "yesterday"),
            "startedDateTime 'yesterday' is not an ISO 8601 date and time",
        ),
        (changed("startedDateTime", None), "startedDateTime must be a string, not null"),
        (
            changed("_webSocketMessages", ["hi"]),
            "_webSocketMessages must be objects with type send or receive",
        ),
        (
            changed("_webSocketMessages", [{"type": "ping", "opcode": 9}]),
            "_webSocketMessages must be objects with type send or receive",
        ),
        (
            changed("_webSocketMessages", [{"type": "send", "opcode": 1, "data": 1}]),
            "message data must be a string, not 1",
        ),
        (
            changed("_webSocketMessages", [{"type": "send", "opcode": 2, "data": 1}]),
            "base64 data must be a string, not int",
        ),
        (
            changed("_webSocketMessages", [{"type": "send", "time": "now"}]),
            'message time must be a number, not "now"',
        ),
        (
            changed("_backworks", {"kind": "grpc"}),
            "kind must be http, websocket or sse, not 'grpc'",
        ),
        (changed("_backworks", {"port": "80"}), '_backworks.port must be an integer, not "80"'),
        (
            changed("_backworks", {"started_at": "0"}),
            '_backworks.started_at must be a number, not "0"',
        ),
        (changed("_backworks", {"session": 1}), "session must be a string, not 1"),
        (changed("_backworks", {"error": 1}), "error must be a string, not 1"),
    ],
)
def test_a_malformed_entry_names_the_field(entry, message):
    """The message names the field, so that the reader can point at it in the file."""
    assert malformed(entry) == message


def test_a_long_url_is_cut_in_the_message():
    """A message quotes at most 80 characters of a URL that is not one."""
    assert malformed(changed("request.url", "x" * 200)) == (
        f"request.url {'x' * 80!r} is not an absolute URL"
    )


# --- round trips --------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(ex=exchanges, session=st.text(max_size=8))
def test_an_override_names_the_session_of_any_entry(ex, session):
    """`session` wins over what an entry records, for backworks' entries and others alike."""
    assert har_entry_to_exchange(own(ex), session=session).session == session


@settings(max_examples=100, deadline=None)
@given(ex=exchanges)
def test_an_entry_stripped_of_backworks_details_reads_as_another_tool_entry(ex):
    """Without `_backworks`, an export still reads: method, host, body and status stay."""
    entry = own(ex)
    del entry["_backworks"]
    back = har_entry_to_exchange(entry, fallback_session="other")
    assert back.request.method == ex.request.method
    assert back.request.body == ex.request.body
    assert back.session == "other"
    assert (back.response is None) == (ex.response is None)
    if ex.response is not None:
        assert back.response.status == ex.response.status
        assert back.response.body == ex.response.body
