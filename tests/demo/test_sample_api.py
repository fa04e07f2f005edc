"""The built-in sample shop API: every route in process, streaming routes on a real server."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import socket
import subprocess
import sys

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backworks_cli.demo.sample_api import (
    DEMO_PASSWORD,
    ORDER_COUNT,
    USER_COUNT,
    SampleApi,
    accepts_gzip,
    create_app,
    serve_sample_api,
)


def call(app: SampleApi, method: str, path: str, **kwargs) -> httpx.Response:
    """One request to `app` in process; the body is read in full (and decoded, as httpx does)."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def raw_body(app: SampleApi, path: str, headers: dict[str, str]) -> bytes:
    """The body exactly as sent, without httpx's content decoding."""

    async def go() -> bytes:
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://shop.test")
        async with client, client.stream("GET", path, headers=headers) as response:
            return b"".join([chunk async for chunk in response.aiter_raw()])

    return asyncio.run(go())


def login(app: SampleApi, user_id: int = 1) -> httpx.Response:
    username = app.users[user_id - 1]["username"]
    return call(app, "POST", "/api/login", json={"username": username, "password": DEMO_PASSWORD})


@pytest.fixture
def app() -> SampleApi:
    return create_app()


def test_health(app):
    response = call(app, "GET", "/api/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == "ok"


def test_users_pages_link_to_each_other_and_cover_every_user(app):
    seen, url, pages = [], "/api/users?per_page=10", 0
    while url:
        response = call(app, "GET", url)
        assert response.status_code == 200
        page = response.json()
        assert page["total"] == USER_COUNT
        assert page["per_page"] == 10
        assert len(page["data"]) <= 10
        seen.extend(user["id"] for user in page["data"])
        url = page["next"]
        pages += 1
        if url:
            assert url.startswith("http://shop.test/api/users?page=")
    assert pages == 5
    assert seen == list(range(1, USER_COUNT + 1))


def test_users_page_defaults_and_beyond_the_end(app):
    first = call(app, "GET", "/api/users").json()
    assert (first["page"], first["per_page"], len(first["data"])) == (1, 10, 10)
    assert first["next"] == "http://shop.test/api/users?page=2&per_page=10"
    beyond = call(app, "GET", "/api/users?page=99").json()
    assert beyond["data"] == [] and beyond["next"] is None


@pytest.mark.parametrize(
    "query", ["page=0", "page=x", "per_page=0", "per_page=101", "page=-1", "page=" + "9" * 5000]
)
def test_users_bad_paging_is_a_400(app, query):
    response = call(app, "GET", f"/api/users?{query}")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid query parameter"


def test_user_fields(app):
    user = call(app, "GET", "/api/users/3").json()
    assert user["id"] == 3
    assert set(user) == {
        "id", "uuid", "first_name", "last_name", "email", "username", "phone", "created_at",
        "address",
    }  # fmt: skip
    assert set(user["address"]) == {"street", "city", "postcode", "country_code"}
    assert "@" in user["email"]
    assert user["created_at"].endswith("Z")
    assert len(user["uuid"]) == 36


def test_unknown_user_is_a_json_404(app):
    response = call(app, "GET", "/api/users/999")
    assert response.status_code == 404
    assert response.json() == {"error": "user not found", "id": 999}


def test_users_me_needs_a_token_from_login(app):
    assert call(app, "GET", "/api/users/me").status_code == 401
    bad = call(app, "GET", "/api/users/me", headers={"Authorization": "Bearer a.b.c"})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"].startswith("Bearer")
    token = login(app, user_id=5).json()["access_token"]
    me = call(app, "GET", "/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["id"] == 5


def test_login_returns_jwt_shaped_tokens_and_a_session_cookie(app):
    response = login(app)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    for name in ("access_token", "refresh_token"):
        head, payload, signature = body[name].split(".")
        assert json.loads(base64.urlsafe_b64decode(head + "==="))["alg"] == "HS256"
        assert json.loads(base64.urlsafe_b64decode(payload + "==="))["sub"] == "1"
        assert signature
    assert response.headers["set-cookie"].startswith("session=")
    assert "HttpOnly" in response.headers["set-cookie"]


def test_login_failures(app):
    username = app.users[0]["username"]
    wrong = call(app, "POST", "/api/login", json={"username": username, "password": "nope"})
    assert wrong.status_code == 401
    missing = call(app, "POST", "/api/login", json={"username": username})
    assert missing.status_code == 422
    assert missing.json()["violations"] == [{"field": "password", "message": "required string"}]
    assert call(app, "POST", "/api/login", content=b"{not json").status_code == 400


def test_products_and_category_filter(app):
    products = call(app, "GET", "/api/products").json()
    assert len(products) == len(app.products)
    assert all(p["currency"] == "EUR" and round(p["price"], 2) == p["price"] for p in products)
    books = call(app, "GET", "/api/products?category=books").json()
    assert books and all(p["category"] == "books" for p in books)
    assert call(app, "GET", "/api/products?category=boats").json() == []


def test_products_are_gzipped_only_when_asked(app):
    zipped = call(app, "GET", "/api/products", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == app.products
    raw = raw_body(app, "/api/products", {"Accept-Encoding": "gzip"})
    assert raw[:2] == b"\x1f\x8b"
    assert json.loads(gzip.decompress(raw)) == app.products
    plain = raw_body(app, "/api/products", {"Accept-Encoding": "identity"})
    assert json.loads(plain) == app.products
    refused = call(app, "GET", "/api/products", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


@pytest.mark.parametrize(
    ("header", "expected"),
    [("gzip", True), ("br, gzip;q=0.5", True), ("*", True), ("gzip;q=0", False), ("br", False)],
)
def test_accepts_gzip(header, expected):
    assert accepts_gzip(header) is expected


def test_product_by_id(app):
    assert call(app, "GET", "/api/products/2").json() == app.products[1]
    assert call(app, "GET", "/api/products/0").status_code == 404


def test_orders_list_and_get(app):
    orders = call(app, "GET", "/api/orders").json()
    assert [o["id"] for o in orders] == list(range(1, ORDER_COUNT + 1))
    order = call(app, "GET", "/api/orders/3").json()
    assert order == orders[2]
    assert order["total"] == round(sum(i["quantity"] * i["unit_price"] for i in order["items"]), 2)
    assert call(app, "GET", "/api/orders/999").status_code == 404
    mine = call(app, "GET", f"/api/orders?user_id={orders[0]['user_id']}").json()
    assert mine and all(o["user_id"] == orders[0]["user_id"] for o in mine)


def test_create_order_assigns_increasing_ids_per_instance(app):
    body = {
        "user_id": 2,
        "items": [{"product_id": 1, "quantity": 2}, {"product_id": 4, "quantity": 1}],
    }
    first = call(app, "POST", "/api/orders", json=body)
    second = call(app, "POST", "/api/orders", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == ORDER_COUNT + 1
    assert second.json()["id"] == ORDER_COUNT + 2
    assert first.headers["location"] == f"/api/orders/{ORDER_COUNT + 1}"
    created = first.json()
    assert created["status"] == "pending"
    assert created["items"][0]["unit_price"] == app.products[0]["price"]
    assert call(app, "GET", first.headers["location"]).json() == created
    assert call(app, "POST", "/api/orders", json=body).json()["id"] == ORDER_COUNT + 3
    assert call(create_app(), "POST", "/api/orders", json=body).json()["id"] == ORDER_COUNT + 1


def test_invalid_order_is_a_422_listing_violations(app):
    response = call(
        app,
        "POST",
        "/api/orders",
        json={"user_id": 999, "items": [{"product_id": 1, "quantity": 0}]},
    )
    assert response.status_code == 422
    fields = {v["field"] for v in response.json()["violations"]}
    assert fields == {"user_id", "items[0].quantity"}
    assert call(app, "POST", "/api/orders", json={}).status_code == 422
    assert call(app, "POST", "/api/orders", content=b"[").status_code == 400


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 50) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
order_like = st.fixed_dictionaries(
    {},
    optional={
        "user_id": json_values,
        "items": st.lists(
            st.fixed_dictionaries({}, optional={"product_id": json_values, "quantity": json_values})
            | json_values,
            max_size=3,
        )
        | json_values,
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=order_like | json_values)
def test_any_json_order_is_created_or_rejected_never_a_server_error(app, payload):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    response = call(app, "POST", "/api/orders", content=body, headers=headers)
    assert response.status_code in (201, 422)
    if response.status_code == 422:
        assert response.json()["violations"]


def test_daily_report_fails_with_a_json_500(app):
    response = call(app, "GET", "/api/reports/daily")
    assert response.status_code == 500
    assert response.json()["error"] == "internal server error"


def test_avatar_is_a_png(app):
    response = call(app, "GET", "/api/avatar/4.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert response.content == call(create_app(), "GET", "/api/avatar/4.png").content
    assert response.content != call(app, "GET", "/api/avatar/5.png").content
    assert call(app, "GET", "/api/avatar/999.png").status_code == 404


def test_unknown_paths_and_methods(app):
    response = call(app, "GET", "/api/nothing/here")
    assert response.status_code == 404
    assert response.json() == {"error": "not found", "path": "/api/nothing/here"}
    assert call(app, "GET", "/api/users/abc").status_code == 404
    assert call(app, "GET", "/api/users/" + "9" * 5000).status_code == 404
    assert call(app, "GET", "/api/avatar/1xpng").status_code == 404
    wrong = call(app, "DELETE", "/api/orders")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, POST"


def test_data_is_deterministic_per_seed():
    one, two, other = create_app(7), create_app(7), create_app(8)
    assert one.users == two.users
    assert one.products == two.products
    assert one.orders == two.orders
    assert one.users != other.users
    for path in ("/api/users?page=2", "/api/products", "/api/orders/5"):
        assert call(one, "GET", path).content == call(two, "GET", path).content


# --- on a real server ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_url():
    with serve_sample_api() as url:
        yield url


def test_serve_sample_api_binds_a_free_port_and_stops():
    with serve_sample_api(port=0) as url:
        port = int(url.rsplit(":", 1)[1])
        assert url == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/api/health", trust_env=False).status_code == 200
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_server_sent_events(server_url):
    with httpx.stream("GET", f"{server_url}/api/events", trust_env=False, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    events = [block for block in text.split("\n\n") if block]
    assert len(events) == 3
    fields = dict(line.split(": ", 1) for line in events[0].splitlines())
    assert fields["id"] == "1"
    assert fields["event"] == "order.updated"
    assert json.loads(fields["data"])["seq"] == 1


def test_websocket_echoes_text_as_json_and_binary_as_is(server_url):
    from websockets.sync.client import connect

    with connect(server_url.replace("http://", "ws://") + "/api/ws", open_timeout=5) as ws:
        ws.send("hello")
        assert json.loads(ws.recv(timeout=5)) == {"echo": "hello"}
        ws.send(b"\x00\x01\xff")
        assert ws.recv(timeout=5) == b"\x00\x01\xff"


def test_http_over_real_server_with_gzip(server_url):
    response = httpx.get(
        f"{server_url}/api/products", headers={"Accept-Encoding": "gzip"}, trust_env=False
    )
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()) == len(create_app().products)


def test_standalone_module_prints_its_url_and_serves():
    process = subprocess.Popen(
        [sys.executable, "-m", "backworks_cli.demo.sample_api", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("Sample API on http://127.0.0.1:")
        url = line.split()[3].removesuffix("/api/health")
        assert httpx.get(f"{url}/api/health", trust_env=False).json()["status"] == "ok"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
