"""Mode `database` over a store recorded from the sample shop API (run in process through
httpx.ASGITransport): provisioning (summary, columns, recorded and deterministic generated
rows, lazy creation), listing with filters, sorting and sample-API pagination, get, create,
replace, patch, delete, 404/400/422 answers, an SQL-injection corpus that changes nothing,
concurrent writes from threads, and 503 for a database locked by another connection. Property
tests check values round-trip through real columns and that query parsing only ever builds SQL
from the table's own names."""

from __future__ import annotations

import asyncio
import json
import resource
import signal
import sqlite3
import threading
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backworks_cli.answer import listing, seeding, tables
from backworks_cli.answer.engine import Engine, Outcome
from backworks_cli.answer.seeding import provision
from backworks_cli.config.load import load_config
from backworks_cli.core.errors import ConfigError
from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.demo.sample_api import create_app
from backworks_cli.record.store import Store

JSON_HEADERS = (("Content-Type", "application/json"),)
ADDRESS = {
    "type": "object",
    "properties": {
        "street": {"type": "string"},
        "city": {"type": "string", "x-semantic": "city"},
        "postcode": {"type": "string"},
        "country_code": {"type": "string"},
    },
}
USER = {
    "type": "object",
    "required": ["id", "first_name", "last_name", "email", "address"],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "uuid": {"type": "string", "format": "uuid"},
        "first_name": {"type": "string", "x-semantic": "first_name"},
        "last_name": {"type": "string", "x-semantic": "last_name"},
        "email": {"type": "string", "format": "email", "x-semantic": "email"},
        "username": {"type": "string"},
        "phone": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "address": ADDRESS,
    },
}
PRODUCT = {
    "type": "object",
    "required": ["id", "sku", "name", "category", "price", "currency", "in_stock"],
    "properties": {
        "id": {"type": "integer"},
        "sku": {"type": "string"},
        "name": {"type": "string"},
        "category": {"type": "string"},
        "price": {"type": "number", "minimum": 0},
        "currency": {"type": "string"},
        "in_stock": {"type": "boolean"},
    },
}
USER_PAGE = {
    "type": "object",
    "properties": {
        "data": {"type": "array", "items": USER},
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "total": {"type": "integer"},
        "next": {"type": ["string", "null"]},
    },
}


# --- a store recorded from the sample API -------------------------------------------------


def to_exchange(response: httpx.Response) -> Exchange:
    request = response.request
    return Exchange(
        Request(
            request.method,
            request.url.path,
            tuple(request.url.params.multi_items()),
            tuple(request.headers.items()),
            request.content,
            request.url.scheme,
            request.url.host,
            request.url.port or 0,
        ),
        Response(response.status_code, tuple(response.headers.items()), response.content),
        duration_ms=1.0,
    )


async def journey() -> list[Exchange]:
    """Three pages of users, some users by id (one missing), the products list and one
    product: 30 users and 24 products recorded."""
    app = create_app()
    transport = httpx.ASGITransport(app=app)
    out = []
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
        for page in (1, 2, 3):
            params = {"page": page, "per_page": 10}
            out.append(to_exchange(await client.get("/api/users", params=params)))
        for uid in (1, 2, 999):
            out.append(to_exchange(await client.get(f"/api/users/{uid}")))
        out.append(to_exchange(await client.get("/api/users/me")))
        out.append(to_exchange(await client.get("/api/products")))
        out.append(to_exchange(await client.get("/api/products/2")))
    return out


@pytest.fixture(scope="module")
def recorded() -> list[Exchange]:
    return asyncio.run(journey())


@pytest.fixture(scope="module")
def shop():
    return create_app()


def write_config(directory: Path, users: dict | None = None, products: dict | None = None) -> Path:
    """backworks.yaml (as JSON, which is YAML) with users and products in database mode."""
    config = {
        "recordings": {"path": "recordings.db"},
        "endpoints": {
            "get_users_me": {"path": "/api/users/me", "methods": ["GET"], "mode": "replay"},
            "users": {
                "path": "/api/users",
                "methods": ["GET", "POST"],
                "mode": "database",
                "responses": {"200": {"schema": USER_PAGE}},
            },
            "users_id": {
                "path": "/api/users/{id}",
                "methods": ["GET", "PUT", "PATCH", "DELETE"],
                "mode": "database",
                "params": {"id": {"type": "integer"}},
                "responses": {"200": {"schema": USER}},
                "database": {"table": "users", "rows": 42, **(users or {})},
            },
            "products": {
                "path": "/api/products",
                "methods": ["GET", "POST"],
                "mode": "database",
                "responses": {"200": {"schema": {"type": "array", "items": PRODUCT}}},
                "database": {"rows": 24, **(products or {})},
            },
            "products_id": {
                "path": "/api/products/{product_id}",
                "methods": ["GET", "PUT", "PATCH", "DELETE"],
                "mode": "database",
            },
        },
    }
    path = directory / "backworks.yaml"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


class Project:
    """A project directory: config, recordings store, and the engine over them."""

    def __init__(self, directory: Path, recorded: list[Exchange], **blocks):
        self.directory = directory
        self.config = load_config(write_config(directory, **blocks))
        self.store = Store.open(directory / "recordings.db", create=True)
        if not self.store.count():
            self.store.add_many(recorded)
        self.engine: Engine | None = None

    @property
    def database(self) -> Path:
        return self.directory / "data" / "backworks.sqlite"

    def provision(self, name: str = "users_id", rows: int | None = None, **options) -> str:
        return provision(name, self.config, self.store, rows, **options)

    def start(self) -> Engine:
        self.engine = Engine.build(self.config, store=self.store)
        return self.engine

    def call(self, method: str, path: str, query=(), body=None, raw: bytes | None = None):
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
        headers = JSON_HEADERS if raw is not None else ()
        request = Request(method, path, tuple(query), headers, raw or b"", host="shop.test")
        return self.engine.handle(request)

    def sql(self, statement: str) -> list[tuple]:
        """Run one statement on a connection of its own, committed, as another process would."""
        with closing(sqlite3.connect(self.database)) as conn, conn:
            return conn.execute(statement).fetchall()

    def rows(self, table: str = "users") -> list[tuple]:
        return self.sql(f'SELECT * FROM "{table}" ORDER BY 1')

    def tables(self) -> list[str]:
        return sorted(n for (n,) in self.sql("SELECT name FROM sqlite_master WHERE type = 'table'"))


@pytest.fixture
def project(tmp_path, recorded):
    made = Project(tmp_path, recorded)
    made.provision("users_id")
    made.provision("products")
    made.start()
    yield made
    made.store.close()


def data(outcome: Outcome):
    return json.loads(outcome.response.body)


# --- provisioning --------------------------------------------------------------------------


def test_provision_seeds_recorded_then_generated_rows(tmp_path, recorded, shop):
    made = Project(tmp_path, recorded)
    summary = made.provision("users_id")
    assert summary == "users: 42 rows (30 recorded, 12 generated) in data/backworks.sqlite"
    assert made.provision("products") == (
        "products: 24 rows (24 recorded, 0 generated) in data/backworks.sqlite"
    )
    info = made.sql("SELECT name, type, pk FROM pragma_table_info('users')")
    assert made.sql("PRAGMA journal_mode") == [("wal",)]
    assert [name for name, _, _ in info] == list(USER["properties"])
    assert ("id", "INTEGER", 1) in info and ("address", "TEXT", 0) in info
    rows = made.rows()
    assert [row[0] for row in rows] == list(range(1, 43))
    first = dict(zip([name for name, _, _ in info], rows[0], strict=True))
    assert json.loads(first["address"]) == shop.users[0]["address"]
    made.store.close()


def test_the_recorded_items_come_back_exactly_and_ids_are_not_duplicated(project, shop):
    for uid in (1, 2, 17, 30):
        outcome = project.call("GET", f"/api/users/{uid}")
        assert outcome.response.status == 200
        assert (outcome.mode, outcome.how) == ("database", "database")
        assert data(outcome) == shop.users[uid - 1]
    assert len({row[0] for row in project.rows()}) == len(project.rows()) == 42


def test_an_existing_table_is_kept_unless_replaced(project):
    project.call("DELETE", "/api/users/5")
    summary = project.provision("users_id")
    assert summary == "users: 41 rows (table already there) in data/backworks.sqlite"
    again = project.provision("users", rows=35, replace=True)
    assert again == "users: 35 rows (30 recorded, 5 generated) in data/backworks.sqlite"
    assert len(project.rows()) == 35


def test_generated_rows_are_deterministic(tmp_path, recorded):
    made = []
    for name in ("one", "two", "three"):
        directory = tmp_path / name
        directory.mkdir()
        project = Project(directory, recorded)
        project.provision("users_id", seed=7 if name == "three" else 0)
        made.append(project.rows())
        project.store.close()
    assert made[0] == made[1]
    assert made[0][:30] == made[2][:30]  # recorded rows do not depend on the seed
    assert made[0][30:] != made[2][30:]
    generated = {json.loads(row[8]).get("city") for row in made[0][30:]}
    assert generated - {None}  # generated from the schema, semantic types and all


def test_the_table_is_created_on_first_use(tmp_path, recorded, shop):
    made = Project(tmp_path, recorded)
    made.start()
    assert not made.database.exists() or "users" not in made.tables()
    assert data(made.call("GET", "/api/users/3")) == shop.users[2]
    assert len(made.rows()) == 42
    assert data(made.call("GET", "/api/products", [("id", "2")])) == [shop.products[1]]
    made.store.close()


def test_bad_database_settings_name_the_key(tmp_path, recorded):
    made = Project(tmp_path, recorded, users={"table": "users; DROP TABLE x"})
    with pytest.raises(ConfigError) as error:
        made.start()
    assert "endpoints.users_id.database.table" in error.value.message
    made.store.close()
    other = tmp_path / "other"
    other.mkdir()
    made = Project(other, recorded, users={"primary_key": "nope"})
    with pytest.raises(ConfigError) as error:
        made.provision()
    assert "'nope'" in error.value.message and "first_name" in error.value.message
    made.store.close()


def test_the_database_file_stays_inside_the_project_folder(tmp_path):
    """The same rule as loading (see tests/config/test_containment.py), for settings built
    from a Config made without load_config; the opt-in goes with the block naming the file."""
    from backworks_cli.config.model import Config

    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (project / "elsewhere").symlink_to(outside)

    def settings_of(*blocks: dict) -> tables.Settings:
        endpoints = {
            "items": {"path": "/items", "mode": "database", "database": blocks[0]},
            "items_id": {"path": "/items/{id}", "mode": "database", "database": blocks[1]},
        }
        config = Config(endpoints=endpoints, path=project / "backworks.yaml")
        return tables.settings(config.endpoint_list()[0], config)

    for file in ["../shared.sqlite", str(outside / "db.sqlite"), "elsewhere/db.sqlite"]:
        with pytest.raises(ConfigError) as caught:
            settings_of({"file": file}, {})
        assert "endpoints.items.database.file is " in caught.value.message
        assert "outside the project folder" in caught.value.message
        assert "allow_outside_project: true" in caught.value.hint
    assert settings_of({}, {}).file == project / tables.DEFAULT_FILE
    assert settings_of({"file": "db/a.sqlite"}, {}).file == project / "db/a.sqlite"
    allowed = {"file": "../shared.sqlite", "allow_outside_project": True}
    assert settings_of(allowed, {}).file == project / "../shared.sqlite"
    # A sibling that names no file neither gives nor takes away the opt-in.
    assert settings_of(allowed, {"allow_outside_project": False, "rows": 3}).rows == 3
    with pytest.raises(ConfigError):
        settings_of({"file": "../shared.sqlite"}, {"allow_outside_project": True})


# --- reading -------------------------------------------------------------------------------


def test_lists_page_like_the_sample_api(project, recorded):
    for exchange in recorded[:3]:  # the recorded pages come back as recorded
        outcome = project.call("GET", "/api/users", exchange.request.query)
        assert data(outcome) == json.loads(exchange.response.body)
    first = data(project.call("GET", "/api/users"))
    assert [u["id"] for u in first["data"]] == list(range(1, 11))
    assert (first["page"], first["per_page"], first["total"]) == (1, 10, 42)
    assert first["next"] == "http://shop.test/api/users?page=2&per_page=10"
    last = data(project.call("GET", "/api/users", [("page", "9"), ("per_page", "5")]))
    assert [u["id"] for u in last["data"]] == [41, 42]
    assert last["next"] is None
    beyond = data(project.call("GET", "/api/users", [("page", "100")]))
    assert beyond["data"] == [] and beyond["total"] == 42


def test_filters_with_operators(project, shop):
    def ids(*query):
        body = data(project.call("GET", "/api/users", [*query, ("per_page", "100")]))
        return [u["id"] for u in body["data"]]

    paris = [u["id"] for u in shop.users[:30] if u["address"]["city"] == "Paris"]
    assert paris and ids(("address.city", "Paris"), ("id_lte", "30")) == paris
    assert ids(("id_gte", "40")) == [40, 41, 42]
    assert ids(("id_gt", "40"), ("id_ne", "42")) == [41]
    assert ids(("id_lt", "3")) == [1, 2]
    assert ids(("id", "3"), ("id", "5")) == [3, 5]
    assert ids(("id_eq", "7")) == [7]
    ada = [u["id"] for u in shop.users[:30] if u["first_name"].lower().startswith("a")]
    assert ids(("first_name_like", "a%"), ("id_lte", "30")) == ada
    body = data(project.call("GET", "/api/users", [("address.city", "Paris"), ("per_page", "2")]))
    assert body["total"] == len(ids(("address.city", "Paris")))

    def products(*query):
        return data(project.call("GET", "/api/products", query))

    cheap = [p for p in shop.products if p["price"] < 50 and p["in_stock"]]
    assert products(("price_lt", "50"), ("in_stock", "true")) == cheap
    books = [p for p in shop.products if p["category"] == "books"]
    assert products(("category", "books")) == books


def test_sorting(project, shop):
    by_price = sorted(shop.products, key=lambda p: (-p["price"], p["id"]))
    assert data(project.call("GET", "/api/products", [("sort", "-price")])) == by_price
    by_name = sorted(shop.products, key=lambda p: (p["category"], -p["price"], p["id"]))
    assert data(project.call("GET", "/api/products", [("sort", "category,-price")])) == by_name
    body = data(project.call("GET", "/api/users", [("sort", "-id"), ("per_page", "3")]))
    assert [u["id"] for u in body["data"]] == [42, 41, 40]
    assert body["next"].endswith("?sort=-id&page=2&per_page=3")


def test_plain_lists_slice_with_limit_and_offset(project, shop):
    body = data(project.call("GET", "/api/products", [("limit", "3"), ("offset", "2")]))
    assert body == shop.products[2:5]


def test_bad_list_requests_are_400_naming_what_is_valid(project):
    outcome = project.call("GET", "/api/users", [("town", "Paris")])
    assert outcome.response.status == 400 and outcome.how == "invalid"
    body = data(outcome)
    assert body["error"] == "unknown filter field" and body["field"] == "town"
    assert "first_name" in body["valid"] and "address.city" in body["valid"]
    assert "<field>_gte" in body["operators"]
    assert data(project.call("GET", "/api/users", [("id_gte", "ten")]))["expected"] == (
        "an integer"
    )
    assert data(project.call("GET", "/api/users", [("sort", "-town")]))["field"] == "town"
    for query in ([("per_page", "0")], [("per_page", "1000")], [("page", "x")]):
        assert project.call("GET", "/api/users", query).response.status == 400
    assert project.call("GET", "/api/products", [("in_stock", "maybe")]).response.status == 400


def test_missing_ids_are_404(project):
    for path in ("/api/users/999", "/api/users/0", "/api/products/abc"):
        outcome = project.call("GET", path)
        assert outcome.response.status == 404, path
    assert data(project.call("GET", "/api/users/999")) == {"error": "not found", "id": 999}
    for method in ("PUT", "PATCH"):
        assert project.call(method, "/api/users/999", body={}).response.status in (404, 422)
    assert project.call("PATCH", "/api/users/999", body={"phone": "1"}).response.status == 404
    assert project.call("DELETE", "/api/users/999").response.status == 404


# --- writing -------------------------------------------------------------------------------

NEW_USER = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "email": "grace@example.com",
    "address": {"city": "Arlington", "country_code": "US"},
}


def test_create_answers_201_with_location_and_the_item_is_listed(project):
    outcome = project.call("POST", "/api/users", body=NEW_USER)
    assert outcome.response.status == 201
    created = data(outcome)
    assert created == {"id": 43, **NEW_USER}
    assert outcome.response.header("Location") == "/api/users/43"
    assert data(project.call("GET", "/api/users/43")) == created
    assert data(project.call("GET", "/api/users"))["total"] == 43
    chosen = project.call("POST", "/api/users", body={**NEW_USER, "id": 100})
    assert data(chosen)["id"] == 100
    taken = project.call("POST", "/api/users", body={**NEW_USER, "id": 100})
    assert taken.response.status == 409


def test_replace_and_patch(project, shop):
    replaced = project.call("PUT", "/api/users/2", body=NEW_USER)
    assert replaced.response.status == 200
    assert data(replaced) == {"id": 2, **NEW_USER}
    assert data(project.call("GET", "/api/users/2")) == {"id": 2, **NEW_USER}
    patched = project.call(
        "PATCH", "/api/users/3", body={"address": {"city": "Oslo"}, "phone": None}
    )
    expected = {k: v for k, v in shop.users[2].items() if k != "phone"}
    expected["address"] = {**expected["address"], "city": "Oslo"}
    assert data(patched) == expected
    assert data(project.call("GET", "/api/users/3")) == expected


def test_delete(project):
    assert project.call("DELETE", "/api/users/4").response.status == 204
    assert project.call("GET", "/api/users/4").response.status == 404
    assert project.call("DELETE", "/api/users/4").response.status == 404
    assert len(project.rows()) == 41


def test_invalid_bodies_are_422_with_every_violation(project, shop):
    outcome = project.call(
        "POST", "/api/users", body={"first_name": 7, "email": "not-an-email", "shoe_size": 44}
    )
    assert outcome.response.status == 422 and outcome.how == "invalid"
    violations = data(outcome)["violations"]
    paths = {v["path"] for v in violations}
    assert {"$.first_name", "$.email", "$.shoe_size", "$"} <= paths
    assert any("last_name" in v["message"] for v in violations)
    assert any("unknown field" in v["message"] for v in violations)
    bad_patch = project.call("PATCH", "/api/users/1", body={"email": "nope"})
    assert bad_patch.response.status == 422
    assert data(bad_patch)["violations"][0]["path"] == "$.email"
    assert project.call("PATCH", "/api/users/1", body={"last_name": None}).response.status == 422
    assert data(project.call("GET", "/api/users/1")) == shop.users[0]
    assert project.call("PUT", "/api/users/1", raw=b"[1, 2]").response.status == 422
    assert project.call("POST", "/api/users", raw=b"{nope").response.status == 400
    assert len(project.rows()) == 42


def test_a_given_id_must_have_the_key_type(project):
    outcome = project.call("POST", "/api/users", body={**NEW_USER, "id": "seven"})
    assert outcome.response.status == 422
    assert data(outcome)["violations"] == [
        {"path": "$.id", "message": "'seven' is not a valid integer id"}
    ]
    assert data(project.call("POST", "/api/users", body={**NEW_USER, "id": "77"}))["id"] == 77


def test_numbers_beyond_64_bits_do_not_break_anything(project):
    huge = 10**30
    assert project.call("GET", f"/api/users/{huge}").response.status == 404
    listed = project.call("GET", "/api/users", [("id_lt", str(huge))])
    assert data(listed)["total"] == 42
    patched = project.call("PATCH", "/api/products/1", body={"price": huge})
    assert patched.response.status == 200 and data(patched)["price"] == float(huge)


def test_absurd_numbers_and_undecodable_text_are_4xx(project):
    digits = "9" * 5000  # past the 4300 digits Python converts from text
    for path in (f"/api/users/{digits}", f"/api/products/{digits}", "/api/users/%FF"):
        assert project.call("GET", path).response.status == 404, path
    assert project.call("GET", "/api/users", [("id_lt", digits)]).response.status == 400
    assert project.call("GET", "/api/users", [("email", "\udcff")]).response.status == 200
    for raw in (b'{"price": 1e999}', b'{"price": NaN}', b'{"price": ' + digits.encode() + b"}"):
        patched = project.call("PATCH", "/api/products/1", raw=raw)
        assert patched.response.status == 400, raw
    too_large = project.call("PATCH", "/api/products/1", body={"price": 10**400})
    assert too_large.response.status == 422
    assert data(too_large)["violations"][0]["path"] == "$.price"
    # Lone surrogates are no text SQLite can hold: kept as bytes, read back replaced.
    named = project.call("PATCH", "/api/users/1", raw=b'{"username": "\\udcff\\ud800"}')
    assert named.response.status == 200
    assert json.loads(named.response.body)["username"] == "\ufffd" * 6


# --- other shapes of resources -------------------------------------------------------------


def synthetic(directory: Path, exchanges: list[Exchange], endpoints: dict) -> Project:
    store = Store.open(directory / "recordings.db", create=True)
    store.add_many(exchanges)
    store.close()
    path = directory / "backworks.yaml"
    config = {"recordings": {"path": "recordings.db"}, "endpoints": endpoints}
    path.write_text(json.dumps(config), encoding="utf-8")
    made = Project.__new__(Project)
    made.directory, made.config = directory, load_config(path)
    made.store = Store.open(directory / "recordings.db")
    made.start()
    return made


def answer(method: str, path: str, value: object, query=()) -> Exchange:
    response = Response(200, JSON_HEADERS, json.dumps(value).encode())
    return Exchange(Request(method, path, tuple(query)), response, duration_ms=1.0)


def test_nested_collections_filter_on_their_parent(tmp_path):
    orders = [
        answer("GET", "/api/users/1/orders", [{"id": 1, "user_id": 1, "total": 5.5}]),
        answer("GET", "/api/users/2/orders", [{"id": 2, "user_id": 2, "total": 7.0}]),
        answer("GET", "/api/users/1/orders/3", {"id": 3, "user_id": 1, "total": 1.25}),
    ]
    made = synthetic(
        tmp_path,
        orders,
        {
            "orders": {
                "path": "/api/users/{user_id}/orders",
                "mode": "database",
                "database": {"rows": 0},
            },
            "order": {"path": "/api/users/{user_id}/orders/{id}", "mode": "database"},
        },
    )
    assert [o["id"] for o in data(made.call("GET", "/api/users/1/orders"))] == [1, 3]
    created = made.call("POST", "/api/users/2/orders", body={"total": 9.0})
    assert data(created) == {"id": 4, "user_id": 2, "total": 9.0}
    assert created.response.header("Location") == "/api/users/2/orders/4"
    assert made.call("GET", "/api/users/1/orders/4").response.status == 404
    assert data(made.call("GET", "/api/users/2/orders/4"))["total"] == 9.0
    assert made.call("DELETE", "/api/users/1/orders/2").response.status == 404
    assert made.rows("orders") == [(1, 1, 5.5), (2, 2, 7.0), (3, 1, 1.25), (4, 2, 9.0)]
    # A parent id that is not its column's type creates nothing (SQLite would store 1e999,
    # text that looks like a number, in an INTEGER column as infinity).
    for parent in ("1e999", "abc", "9" * 5000):
        refused = made.call("POST", f"/api/users/{parent}/orders", body={"total": 1.0})
        assert refused.response.status == 422, parent
    assert len(made.rows("orders")) == 4
    made.store.close()


def test_limit_offset_lists_keep_their_envelope(tmp_path):
    things = [{"uid": f"t{n}", "label": f"thing {n}"} for n in range(5)]
    recorded = [
        answer(
            "GET",
            "/api/things",
            {"items": things[:2], "limit": 2, "offset": 0, "count": 5},
            [("limit", "2"), ("offset", "0")],
        )
    ]
    made = synthetic(
        tmp_path,
        recorded,
        {
            "things": {"path": "/api/things", "mode": "database", "database": {"rows": 4}},
            "thing": {"path": "/api/things/{uid}", "mode": "database"},
        },
    )
    query = [("uid_like", "t%"), ("limit", "1"), ("offset", "1")]
    body = data(made.call("GET", "/api/things", query))
    assert body == {"items": [things[1]], "limit": 1, "offset": 1, "count": 2}
    every = data(made.call("GET", "/api/things"))
    assert every["count"] == 4 and len(every["items"]) == 4 and every["limit"] is None
    created = data(made.call("POST", "/api/things", body={"label": "new"}))
    assert len(created["uid"]) == 36  # a text key gets a UUID
    assert data(made.call("GET", f"/api/things/{created['uid']}")) == created
    assert data(made.call("GET", "/api/things/t0")) == things[0]
    made.store.close()


# --- safety --------------------------------------------------------------------------------

PAYLOADS = [
    "' OR 1=1 --",
    "' OR '1'='1",
    '" OR ""="',
    "1; DROP TABLE users",
    "1; DROP TABLE users --",
    "'; DROP TABLE users; --",
    "1' UNION SELECT name, sql FROM sqlite_master --",
    "1 UNION SELECT 1,2,3,4,5,6,7,8,9",
    "' UNION ALL SELECT NULL, sqlite_version() --",
    "1 OR 1=1",
    "1) OR (1=1",
    "')) OR 1=1 --",
    "admin'--",
    "' AND 1=0 UNION SELECT * FROM users --",
    "1; DELETE FROM users",
    "1; UPDATE users SET first_name='x'",
    "'; INSERT INTO users (id) VALUES (9999); --",
    "1; ATTACH DATABASE '/tmp/x.db' AS x; --",
    "id) VALUES (1); DROP TABLE users; --",
    '"; DROP TABLE "users"; --',
    "`id`; DROP TABLE users",
    "%' OR '%'='",
    "1/**/OR/**/1=1",
    "' || (SELECT sql FROM sqlite_master) || '",
    "CASE WHEN 1=1 THEN 1 ELSE 0 END",
    "randomblob(1000000000)",
    "load_extension('x')",
    "0x27 OR 1=1",
    "\\'; DROP TABLE users; --",
    "1' AND (SELECT count(*) FROM sqlite_master) > 0 --",
    "'\x00'; DROP TABLE users --",
    "id, (SELECT sql FROM sqlite_master)",
    "-id; DROP TABLE users",
    "address'); DROP TABLE users; --",
]


def test_injection_corpus_changes_nothing(project, shop):
    before_rows, before_tables = project.rows(), project.tables()
    statuses = []
    for payload in PAYLOADS:
        calls = [
            ("GET", f"/api/users/{payload}", (), None),
            ("GET", f"/api/products/{payload}", (), None),
            ("DELETE", f"/api/products/{payload}", (), None),
            ("PUT", f"/api/products/{payload}", (), {"name": "x"}),
            ("GET", "/api/users", [("first_name", payload)], None),
            ("GET", "/api/users", [("id", payload)], None),
            ("GET", "/api/users", [("id_gte", payload)], None),
            ("GET", "/api/users", [("last_name_like", payload)], None),
            ("GET", "/api/users", [("address.city", payload)], None),
            ("GET", "/api/users", [(payload, "1")], None),
            ("GET", "/api/users", [(f"{payload}_gte", "1")], None),
            ("GET", "/api/users", [("sort", payload)], None),
            ("GET", "/api/users", [("per_page", payload)], None),
            ("POST", "/api/users", (), {**NEW_USER, payload: "x"}),
            ("PUT", "/api/users/1", (), {**NEW_USER, payload: 1}),
            ("PATCH", "/api/users/1", (), {payload: None}),
        ]
        for method, path, query, body in calls:
            outcome = project.call(method, path, query, body)
            statuses.append(outcome.response.status)
            assert outcome.response.status < 500, (method, path, query, body, outcome)
            if method == "GET" and outcome.response.status == 200 and query:
                listed = data(outcome)["data"]
                assert len(listed) <= 10 and all(u["id"] <= 42 for u in listed)
    assert project.rows() == before_rows and project.tables() == before_tables
    assert {200, 400, 404, 422} <= set(statuses)
    # values are data, stored and read back as they were sent
    for n, payload in enumerate(PAYLOADS):
        uid = n % 30 + 1
        patched = project.call("PATCH", f"/api/users/{uid}", body={"username": payload})
        assert data(patched)["username"] == payload
        assert data(project.call("GET", f"/api/users/{uid}"))["username"] == payload
        found = data(project.call("GET", "/api/users", [("username", payload)]))["data"]
        assert [u["id"] for u in found] == [uid]
    assert len(project.rows()) == 42 and project.tables() == before_tables


def test_concurrent_writes_from_threads(tmp_path, recorded):
    made = Project(tmp_path, recorded, users={"busy_timeout_ms": 10_000})
    made.provision()
    made.start()
    created: list[int] = []
    errors: list[object] = []

    def writer(n: int) -> None:
        for i in range(20):
            outcome = made.call("POST", "/api/users", body={**NEW_USER, "username": f"t{n}-{i}"})
            if outcome.response.status != 201:
                errors.append(outcome)
                continue
            created.append(data(outcome)["id"])
            patched = made.call("PATCH", f"/api/users/{n + 1}", body={"phone": f"{n}-{i}"})
            if patched.response.status != 200:
                errors.append(patched)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(created) == len(set(created)) == 160
    rows = made.rows()
    assert len(rows) == 42 + 160
    assert {row[5] for row in rows if row[0] > 42} == {
        f"t{n}-{i}" for n in range(8) for i in range(20)
    }
    assert [data(made.call("GET", f"/api/users/{n + 1}"))["phone"] for n in range(8)] == [
        f"{n}-19" for n in range(8)
    ]
    made.store.close()


def test_a_locked_database_is_503_after_the_retry(tmp_path, recorded, shop):
    made = Project(tmp_path, recorded, users={"busy_timeout_ms": 100})
    made.provision()
    made.start()
    assert made.call("GET", "/api/users/1").response.status == 200
    holder = sqlite3.connect(made.database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        outcome = made.call("POST", "/api/users", body=NEW_USER)
        assert outcome.response.status == 503
        assert outcome.response.header("Retry-After") == "1"
        body = data(outcome)
        assert body["error"] == "the database is busy" and "100 ms" in body["detail"]
        assert made.call("DELETE", "/api/users/1").response.status == 503
        assert data(made.call("GET", "/api/users/2")) == shop.users[1]  # WAL: readers go on
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert made.call("POST", "/api/users", body=NEW_USER).response.status == 201
    assert made.call("GET", "/api/users/1").response.status == 200
    made.store.close()


@contextmanager
def file_size_limit(size: int):
    """Writes past `size` bytes fail in this process as on a full disk (EFBIG), for the block."""
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_a_full_disk_is_507_naming_the_file_and_keeps_every_row(tmp_path, recorded):
    made = Project(tmp_path, recorded)
    made.provision()
    made.start()
    big = {**NEW_USER, "last_name": "x" * 20_000}
    files = [made.database, made.database.with_name(made.database.name + "-wal")]
    room = max(f.stat().st_size for f in files if f.exists()) + 200_000
    created, full = [], None
    with file_size_limit(room):
        for _ in range(200):  # 20 KB a row: the limit is met within about ten
            outcome = made.call("POST", "/api/users", body=big)
            if outcome.response.status != 201:
                full = outcome
                break
            created.append(data(outcome)["id"])
        assert full is not None, "the file size limit was never reached"
        assert full.response.status == 507
        body = data(full)
        assert body["error"].startswith(f"disk full: {made.database} (")
        assert "Free some disk space" in body["hint"]
        # Reads go on while the disk is full.
        assert made.call("GET", f"/api/users/{created[0]}").response.status == 200
    # Every row answered 201 is there, and writes work again once there is room.
    assert all(made.call("GET", f"/api/users/{i}").response.status == 200 for i in created)
    assert made.call("POST", "/api/users", body=NEW_USER).response.status == 201
    made.store.close()


def test_writes_by_another_connection_are_seen(project):
    assert data(project.call("GET", "/api/users/1"))["first_name"] != "Changed"
    project.sql("UPDATE users SET first_name = 'Changed' WHERE id = 1")
    project.engine.reset()  # as the admin API does; otherwise within 20 ms
    assert data(project.call("GET", "/api/users/1"))["first_name"] == "Changed"


# --- pure parts ----------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
BY_KIND = {
    "integer": st.integers(-(2**63), 2**63 - 1),
    "number": st.floats(allow_nan=False, allow_infinity=False),
    "boolean": st.booleans(),
    "string": st.text(),
    "json": JSON_VALUES,
}


@settings(max_examples=60, deadline=None)
@given(st.fixed_dictionaries({kind: st.none() | values for kind, values in BY_KIND.items()}))
def test_values_round_trip_through_real_columns(tmp_path_factory, item):
    path = tmp_path_factory.mktemp("roundtrip") / "t.sqlite"
    columns = [tables.Column(kind, kind) for kind in BY_KIND]
    design = tables.Design("t", [tables.Column("id", "integer"), *columns], "id")
    conn = tables.connect(path, 1000)
    try:
        conn.execute("BEGIN IMMEDIATE")
        seeding.fill(conn, design, [{"id": 1, **item}], 1, 0)
        conn.execute("COMMIT")
        row = conn.execute("SELECT * FROM t").fetchone()
    finally:
        conn.close()
    back = {c.name: tables.decode(v, c.kind) for c, v in zip(design.columns, row, strict=True)}
    assert back == {"id": 1, **item}


DESIGN = tables.design("users", USER, [], None, "id")
KNOWN = listing.fields(DESIGN)
TEMPLATES = {f.sql for f in KNOWN.values()}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), max_size=5))
def test_query_parsing_builds_sql_only_from_known_names(pairs):
    style = listing.Listing("page")
    try:
        query = listing.parse(tuple(pairs), style, KNOWN)
    except listing.QueryError as error:
        assert error.body["error"].startswith(("unknown", "invalid"))
        return
    for clause in query.where:
        assert any(clause.startswith(sql + " ") for sql in TEMPLATES), clause
        assert clause.count("?") >= 1
    for clause in query.order:
        assert clause.rsplit(" ", 1)[0] in TEMPLATES and clause.endswith(("ASC", "DESC"))
    assert len(query.params) >= len(query.where)


def test_listing_styles_follow_the_recordings(recorded):
    users = [(e, ()) for e in recorded[:3]]
    style = listing.detect_listing(users, None)
    assert (style.style, style.size_param, style.default_size) == ("page", "per_page", 10)
    assert style.absolute_next and style.list_key == "data"
    products = [(e, ()) for e in recorded if e.request.path == "/api/products"]
    assert listing.detect_listing(products, None).style == "none"
    assert listing.detect_listing(products, "cursor").style == "offset"
    offset = Exchange(
        Request("GET", "/api/things", (("limit", "2"), ("offset", "4"))),
        Response(200, JSON_HEADERS, b'{"items": [], "limit": 2, "offset": 4, "count": 9}'),
    )
    found = listing.detect_listing([(offset, ())], None)
    assert (found.style, found.list_key, found.default_size) == ("offset", "items", None)
