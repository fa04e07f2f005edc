"""A small shop API used by `backworks demo`, the capture tests and the benchmarks.

A plain ASGI app (no web framework) over deterministic data built from a seed, covering what a
real API throws at a recorder: pagination, path parameters next to literal routes, bearer auth,
cookies, gzip, validation errors, a failing route, server-sent events, WebSockets and binary
bodies. `serve_sample_api()` runs it with uvicorn in a background thread.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import hashlib
import hmac
import json
import random
import re
import signal
import struct
import threading
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from backworks_cli.core.asgi import Receive, Scope, Send
from backworks_cli.core.errors import NetworkError

DEMO_PASSWORD = "correct-horse-battery-staple"  # accepted for every user by POST /api/login
USER_COUNT = 42
PRODUCT_COUNT = 24
ORDER_COUNT = 12
CATEGORIES = ("books", "electronics", "garden", "kitchen", "toys")
ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")
MAX_PER_PAGE = 100
MAX_BODY = 1 << 20
EVENT_DELAY = 0.02  # seconds between server-sent events

FIRST_NAMES = (
    "Ada", "Alan", "Anna", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hugo", "Ines",
    "Jonas", "Karin", "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara",
    "Umar", "Vera", "Wim", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Andersen", "Bauer", "Costa", "Dubois", "Eriksson", "Fischer", "Garcia", "Horvat", "Ivanova",
    "Jansen", "Kowalski", "Lindqvist", "Martin", "Novak", "Okafor", "Peters", "Rossi", "Schmidt",
    "Tanaka", "Varga", "Weber", "Yilmaz",
)  # fmt: skip
STREETS = (
    "Main Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue", "High Street",
    "Garden Row", "Harbour Way", "Oak Drive", "River Walk",
)  # fmt: skip
# city, country code, postcode pattern (# is a digit), phone prefix
CITIES = (
    ("Berlin", "DE", "1####", "+49 30"),
    ("Hamburg", "DE", "2####", "+49 40"),
    ("Paris", "FR", "750##", "+33 1"),
    ("Lyon", "FR", "690##", "+33 4"),
    ("Amsterdam", "NL", "10## AB", "+31 20"),
    ("Madrid", "ES", "280##", "+34 91"),
    ("Rome", "IT", "001##", "+39 06"),
    ("Vienna", "AT", "1###", "+43 1"),
    ("Lisbon", "PT", "1###-###", "+351 21"),
    ("Dublin", "IE", "D0# X###", "+353 1"),
)
PRODUCT_WORDS = {
    "books": (
        ("Guide", "Cookbook", "Novel", "Atlas", "Notebook"),
        ("Paperback", "Hardcover"),
    ),
    "electronics": (("Headphones", "Charger", "Speaker", "Keyboard", "Webcam"), ("Pro", "Mini")),
    "garden": (("Hose", "Trowel", "Planter", "Seed Kit", "Lantern"), ("Classic", "XL")),
    "kitchen": (("Kettle", "Pan", "Knife Set", "Grinder", "Teapot"), ("Steel", "Ceramic")),
    "toys": (("Puzzle", "Kite", "Robot", "Marble Run", "Yo-yo"), ("Junior", "Deluxe")),
}
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


# --- data ------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _digits(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)


def _money(cents: int) -> float:
    return round(cents / 100, 2)


def make_users(rng: random.Random, count: int = USER_COUNT) -> list[dict[str, Any]]:
    users = []
    for uid in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, country, postcode, phone_prefix = rng.choice(CITIES)
        handle = f"{first}.{last}".lower()
        users.append(
            {
                "id": uid,
                "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "first_name": first,
                "last_name": last,
                "email": f"{handle}{uid}@example.com",
                "username": f"{first[0]}{last}{uid}".lower(),
                "phone": f"{phone_prefix} {_digits(rng, '### ####')}",
                "created_at": _iso(EPOCH + timedelta(seconds=rng.randrange(365 * 86400))),
                "address": {
                    "street": f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
                    "city": city,
                    "postcode": _digits(rng, postcode),
                    "country_code": country,
                },
            }
        )
    return users


def make_products(rng: random.Random, count: int = PRODUCT_COUNT) -> list[dict[str, Any]]:
    products = []
    for pid in range(1, count + 1):
        category = CATEGORIES[(pid - 1) % len(CATEGORIES)]
        nouns, variants = PRODUCT_WORDS[category]
        products.append(
            {
                "id": pid,
                "sku": f"{category[:3].upper()}-{rng.randrange(10000, 100000)}",
                "name": f"{rng.choice(nouns)} {rng.choice(variants)}",
                "category": category,
                "price": _money(rng.randrange(299, 25000)),
                "currency": "EUR",
                "in_stock": rng.random() < 0.8,
            }
        )
    return products


def make_order(
    oid: int,
    user_id: int,
    lines: list[tuple[dict[str, Any], int]],
    status: str,
    created_at: datetime,
) -> dict[str, Any]:
    items = [
        {"product_id": product["id"], "quantity": quantity, "unit_price": product["price"]}
        for product, quantity in lines
    ]
    cents = sum(round(product["price"] * 100) * quantity for product, quantity in lines)
    return {
        "id": oid,
        "user_id": user_id,
        "items": items,
        "total": _money(cents),
        "status": status,
        "created_at": _iso(created_at),
    }


def make_orders(
    rng: random.Random, users: list[dict[str, Any]], products: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    orders = []
    for oid in range(1, ORDER_COUNT + 1):
        lines = [(p, rng.randint(1, 3)) for p in rng.sample(products, rng.randint(1, 3))]
        created = EPOCH + timedelta(days=365, seconds=rng.randrange(60 * 86400))
        orders.append(
            make_order(oid, rng.choice(users)["id"], lines, rng.choice(ORDER_STATUSES), created)
        )
    return orders


def avatar_png(seed: int, size: int = 16) -> bytes:
    """A `size`x`size` single-colour RGB PNG whose colour depends on `seed`."""
    red, green, blue = hashlib.sha256(str(seed).encode()).digest()[:3]
    row = b"\x00" + bytes((red, green, blue)) * size

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size, 9))
        + chunk(b"IEND", b"")
    )


# --- tokens ----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(secret: bytes, claims: dict[str, Any]) -> str:
    """A JWT (HS256) over `claims`."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def verify_token(secret: bytes, token: str) -> dict[str, Any] | None:
    """The claims of a token this app issued and that has not expired, else None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(parts[2])):
            return None
        claims = json.loads(_unb64(parts[1]))
    except ValueError:
        return None
    if not isinstance(claims, dict) or claims.get("exp", 0) < time.time():
        return None
    return claims


# --- HTTP plumbing ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    stream: AsyncIterator[bytes] | None = None  # sent chunk by chunk after `body`


@dataclass(slots=True)
class Call:
    """What a route handler sees of a request."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names; the last value wins
    params: dict[str, str]
    receive: Receive
    scope: Scope

    async def body(self) -> bytes:
        chunks, size = [], 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def base_url(self) -> str:
        scheme = self.scope.get("scheme", "http")
        host = self.headers.get("host")
        if not host:
            server = self.scope.get("server") or ("127.0.0.1", 80)
            host = f"{server[0]}:{server[1]}"
        return f"{scheme}://{host}"


class _TooLarge(Exception):
    pass


def json_reply(status: int, data: Any, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status, json.dumps(data, separators=(",", ":")).encode(), headers=headers)


def error_reply(
    status: int, message: str, headers: tuple[tuple[str, str], ...] = (), **extra: Any
) -> Reply:
    return json_reply(status, {"error": message, **extra}, headers)


def accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=")
            try:
                return not params.strip() or float(q) > 0
            except ValueError:
                return False
    return False


def _int_param(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not (raw.isdigit() and len(raw) <= 9) or not low <= int(raw) <= high:
        raise _BadParam(name, raw, f"an integer from {low} to {high}")
    return int(raw)


class _BadParam(Exception):
    def __init__(self, name: str, value: str, expected: str):
        super().__init__(name)
        self.reply = error_reply(
            400, "invalid query parameter", parameter=name, value=value, expected=expected
        )


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def _compile(template: str) -> re.Pattern[str]:
    """`/api/users/{id:int}` -> a regex with named groups; `{name}` matches one segment."""
    pattern = ""
    for n, piece in enumerate(re.split(r"\{([^}]+)\}", template)):
        if n % 2 == 0:
            pattern += re.escape(piece)
        else:
            name, _, kind = piece.partition(":")
            pattern += f"(?P<{name}>[0-9]{{1,9}})" if kind == "int" else f"(?P<{name}>[^/]+)"
    return re.compile(f"^{pattern}$")


# --- the app ---------------------------------------------------------------------------------


@dataclass
class SampleApi:
    """The shop: its data, its routes, and the ASGI entry point."""

    seed: int = 7
    users: list[dict[str, Any]] = field(init=False)
    products: list[dict[str, Any]] = field(init=False)
    orders: dict[int, dict[str, Any]] = field(init=False)
    routes: list[Route] = field(init=False)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self.users = make_users(rng)
        self.products = make_products(rng)
        self.orders = {o["id"]: o for o in make_orders(rng, self.users, self.products)}
        self._users_by_name = {u["username"]: u for u in self.users}
        self._next_order_id = max(self.orders) + 1
        self._secret = hashlib.sha256(f"backworks-sample-{self.seed}".encode()).digest()
        self._session_rng = random.Random(self.seed + 1)
        self._product_cache: dict[tuple[str, bool], bytes] = {}
        self.routes = [
            Route(method, _compile(template), handler)
            for method, template, handler in (
                ("GET", "/api/health", self.health),
                ("GET", "/api/users", self.list_users),
                ("GET", "/api/users/me", self.me),
                ("GET", "/api/users/{id:int}", self.get_user),
                ("GET", "/api/products", self.list_products),
                ("GET", "/api/products/{id:int}", self.get_product),
                ("GET", "/api/orders", self.list_orders),
                ("POST", "/api/orders", self.create_order),
                ("GET", "/api/orders/{id:int}", self.get_order),
                ("POST", "/api/login", self.login),
                ("GET", "/api/reports/daily", self.daily_report),
                ("GET", "/api/events", self.events),
                ("GET", "/api/avatar/{id:int}.png", self.avatar),
            )
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        call = Call(
            method=scope["method"],
            path=path,
            query=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            params={},
            receive=receive,
            scope=scope,
        )
        reply = await self._dispatch(call)
        await _send_reply(send, reply)

    async def _dispatch(self, call: Call) -> Reply:
        allowed = []
        for route in self.routes:
            match = route.pattern.match(call.path)
            if match is None:
                continue
            if route.method != call.method:
                allowed.append(route.method)
                continue
            call.params = match.groupdict()
            try:
                return await route.handler(call)
            except _BadParam as error:
                return error.reply
            except _TooLarge:
                return error_reply(413, "request body too large", limit=MAX_BODY)
        if allowed:
            return error_reply(
                405,
                "method not allowed",
                headers=(("Allow", ", ".join(allowed)),),
                path=call.path,
                allowed=allowed,
            )
        return error_reply(404, "not found", path=call.path)

    # --- handlers ----------------------------------------------------------------------------

    async def health(self, call: Call) -> Reply:
        return json_reply(200, {"status": "ok", "service": "sample-shop", "version": "1.0.0"})

    async def list_users(self, call: Call) -> Reply:
        per_page = _int_param(call.query, "per_page", 10, 1, MAX_PER_PAGE)
        page = _int_param(call.query, "page", 1, 1, 1_000_000)
        start = (page - 1) * per_page
        total = len(self.users)
        more = start + per_page < total
        return json_reply(
            200,
            {
                "data": self.users[start : start + per_page],
                "page": page,
                "per_page": per_page,
                "total": total,
                "next": (
                    f"{call.base_url()}/api/users?page={page + 1}&per_page={per_page}"
                    if more
                    else None
                ),
            },
        )

    async def get_user(self, call: Call) -> Reply:
        user = self._user(int(call.params["id"]))
        if user is None:
            return error_reply(404, "user not found", id=int(call.params["id"]))
        return json_reply(200, user)

    async def me(self, call: Call) -> Reply:
        scheme, _, token = call.headers.get("authorization", "").partition(" ")
        claims = verify_token(self._secret, token.strip()) if scheme.lower() == "bearer" else None
        if claims is None:
            return error_reply(
                401,
                "unauthorized",
                headers=(("WWW-Authenticate", 'Bearer realm="sample-shop"'),),
                detail="send 'Authorization: Bearer <access_token>' from POST /api/login",
            )
        user = self._user(int(claims.get("sub", 0)))
        return json_reply(200, user) if user else error_reply(404, "user not found")

    async def list_products(self, call: Call) -> Reply:
        category = call.query.get("category", "")
        compressed = accepts_gzip(call.headers.get("accept-encoding", ""))
        key = (category, compressed)
        body = self._product_cache.get(key)
        if body is None:
            rows = [p for p in self.products if not category or p["category"] == category]
            body = json.dumps(rows, separators=(",", ":")).encode()
            if compressed:
                body = gzip.compress(body, compresslevel=6, mtime=0)
            self._product_cache[key] = body
        headers = [("Vary", "Accept-Encoding")]
        if compressed:
            headers.append(("Content-Encoding", "gzip"))
        return Reply(200, body, headers=tuple(headers))

    async def get_product(self, call: Call) -> Reply:
        pid = int(call.params["id"])
        if not 1 <= pid <= len(self.products):
            return error_reply(404, "product not found", id=pid)
        return json_reply(200, self.products[pid - 1])

    async def list_orders(self, call: Call) -> Reply:
        rows = list(self.orders.values())
        if "user_id" in call.query:
            uid = _int_param(call.query, "user_id", 0, 1, 1_000_000_000)
            rows = [o for o in rows if o["user_id"] == uid]
        if "status" in call.query:
            rows = [o for o in rows if o["status"] == call.query["status"]]
        return json_reply(200, rows)

    async def get_order(self, call: Call) -> Reply:
        order = self.orders.get(int(call.params["id"]))
        if order is None:
            return error_reply(404, "order not found", id=int(call.params["id"]))
        return json_reply(200, order)

    async def create_order(self, call: Call) -> Reply:
        try:
            payload = json.loads(await call.body())
        except ValueError:
            return error_reply(400, "request body is not valid JSON")
        violations = self._order_violations(payload)
        if violations:
            return error_reply(422, "validation failed", violations=violations)
        oid = self._next_order_id
        self._next_order_id += 1
        lines = [(self.products[i["product_id"] - 1], i["quantity"]) for i in payload["items"]]
        order = make_order(oid, payload["user_id"], lines, "pending", datetime.now(UTC))
        self.orders[oid] = order
        return json_reply(201, order, headers=(("Location", f"/api/orders/{oid}"),))

    def _order_violations(self, payload: Any) -> list[dict[str, str]]:
        if not isinstance(payload, dict):
            return [{"field": "", "message": "must be a JSON object"}]
        found = []
        uid = payload.get("user_id")
        if not _is_int(uid):
            found.append({"field": "user_id", "message": "required integer"})
        elif self._user(uid) is None:
            found.append({"field": "user_id", "message": f"no user with id {uid}"})
        items = payload.get("items")
        if not isinstance(items, list) or not items:
            found.append({"field": "items", "message": "required non-empty list"})
            return found
        for n, item in enumerate(items):
            where = f"items[{n}]"
            if not isinstance(item, dict):
                found.append({"field": where, "message": "must be an object"})
                continue
            pid, quantity = item.get("product_id"), item.get("quantity")
            if not _is_int(pid) or not 1 <= pid <= len(self.products):
                found.append({"field": f"{where}.product_id", "message": "unknown product"})
            if not _is_int(quantity) or not 1 <= quantity <= 100:
                found.append(
                    {"field": f"{where}.quantity", "message": "integer from 1 to 100 required"}
                )
        return found

    async def login(self, call: Call) -> Reply:
        try:
            payload = json.loads(await call.body())
        except ValueError:
            return error_reply(400, "request body is not valid JSON")
        if not isinstance(payload, dict):
            payload = {}
        violations = [
            {"field": name, "message": "required string"}
            for name in ("username", "password")
            if not isinstance(payload.get(name), str) or not payload.get(name)
        ]
        if violations:
            return error_reply(422, "validation failed", violations=violations)
        user = self._users_by_name.get(payload["username"])
        if user is None or not hmac.compare_digest(payload["password"], DEMO_PASSWORD):
            return error_reply(401, "invalid username or password")
        now = int(time.time())
        base = {"sub": str(user["id"]), "iat": now, "iss": "sample-shop"}
        session = f"{self._session_rng.getrandbits(128):032x}"
        return json_reply(
            200,
            {
                "access_token": issue_token(self._secret, {**base, "exp": now + 3600}),
                "refresh_token": issue_token(
                    self._secret, {**base, "exp": now + 30 * 86400, "typ": "refresh"}
                ),
                "token_type": "bearer",
                "expires_in": 3600,
            },
            headers=(("Set-Cookie", f"session={session}; Path=/; HttpOnly; SameSite=Lax"),),
        )

    async def daily_report(self, call: Call) -> Reply:
        return error_reply(
            500,
            "internal server error",
            detail="report backend unavailable",
            request_id=f"req-{self.seed:04d}-daily",
        )

    async def events(self, call: Call) -> Reply:
        count = _int_param(call.query, "count", 3, 1, 100)
        return Reply(
            200,
            content_type="text/event-stream; charset=utf-8",
            headers=(("Cache-Control", "no-cache"),),
            stream=self._order_events(count),
        )

    async def _order_events(self, count: int) -> AsyncIterator[bytes]:
        for n in range(1, count + 1):
            order = self.orders[(n - 1) % ORDER_COUNT + 1]
            data = {"order_id": order["id"], "status": order["status"], "seq": n}
            yield f"id: {n}\nevent: order.updated\ndata: {json.dumps(data)}\n\n".encode()
            if n < count:
                await asyncio.sleep(EVENT_DELAY)

    async def avatar(self, call: Call) -> Reply:
        uid = int(call.params["id"])
        if self._user(uid) is None:
            return error_reply(404, "user not found", id=uid)
        return Reply(
            200,
            avatar_png(self.seed * 100_003 + uid),
            "image/png",
            (("Cache-Control", "max-age=86400"),),
        )

    def _user(self, uid: int) -> dict[str, Any] | None:
        return self.users[uid - 1] if 1 <= uid <= len(self.users) else None

    # --- WebSocket ---------------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if scope["path"] != "/api/ws":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                echo = json.dumps({"echo": message["text"]})
                await send({"type": "websocket.send", "text": echo})
            elif message.get("bytes") is not None:
                await send({"type": "websocket.send", "bytes": message["bytes"]})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


async def _send_reply(send: Send, reply: Reply) -> None:
    headers = [(b"content-type", reply.content_type.encode("latin-1"))]
    if reply.stream is None:
        headers.append((b"content-length", str(len(reply.body)).encode("ascii")))
    headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers)
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    if reply.stream is None:
        await send({"type": "http.response.body", "body": reply.body})
        return
    if reply.body:
        await send({"type": "http.response.body", "body": reply.body, "more_body": True})
    async for chunk in reply.stream:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(seed: int = 7) -> SampleApi:
    """A fresh shop with data from `seed`; created orders live as long as the instance."""
    return SampleApi(seed)


# --- serving ---------------------------------------------------------------------------------


@contextmanager
def serve_sample_api(
    host: str = "127.0.0.1", port: int = 0, *, seed: int = 7, app: Any = None, **options: Any
) -> Iterator[str]:
    """Serve the sample API (or `app`) with uvicorn in a background thread; yields its base URL.

    With port 0 the system picks a free port. The server is stopped when the block exits.
    `options` go to uvicorn.Config, e.g. ssl_certfile/ssl_keyfile to serve HTTPS.
    """
    import uvicorn

    config = uvicorn.Config(
        app if app is not None else create_app(seed),
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=5,
        **options,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="sample-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=5)
            raise NetworkError(
                f"The sample API could not start on {host}:{port}.",
                hint="Choose another port (or 0 for any free one), or stop what is using it.",
            )
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    try:
        scheme = "https" if options.get("ssl_certfile") else "http"
        yield f"{scheme}://{shown_host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m backworks_cli.demo.sample_api",
        description="Serve the built-in sample shop API (the one `backworks demo` records).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated data")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with serve_sample_api(args.host, args.port, seed=args.seed) as url:
            print(f"Sample API on {url}/api/health (Ctrl-C to stop)", flush=True)
            stop.wait()
    except NetworkError as error:
        parser.exit(5, f"Error: {error.message}\nHint: {error.hint}\n")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
