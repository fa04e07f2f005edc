"""List requests of mode `database`: filters, sorting and pages from a query string, and list
bodies in the style the recordings show. Plain functions over plain data; the SQL they produce
is fragments with `?` placeholders over names from the table's design (backworks_cli.answer.tables),
never text from the request.

- Filters: `field=value` (equality; the parameter given twice matches either value) or
  `field_op=value` with op one of OPERATORS: eq, ne, lt, lte, gt, gte, like (SQL LIKE: % and _
  are wildcards, ASCII case-insensitive). A field inside a JSON column is named with dots
  (`address.city`). Values convert to the field's type, else the request is refused.
- Sorting: `sort=name` or `sort=-price,name`; the primary key breaks ties.
- Pages: `page` and `per_page` (or the size parameter the recordings used) in style `page`;
  `limit` and `offset` in styles `offset` and `none`. Sizes go up to MAX_PAGE_SIZE.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from backworks_cli.answer.state import COUNT_KEYS, ok_get_json, unwrap
from backworks_cli.answer.tables import Column, Design, bindable, fits, quote, schema_kind
from backworks_cli.core.numbers import integer, number

if TYPE_CHECKING:
    from backworks_cli.core.exchange import Exchange, Request

OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "like")
SQL_OPERATORS = {
    "eq": "=",
    "ne": "IS NOT",  # rows where the field is null count as different
    "lt": "<",
    "lte": "<=",
    "gt": ">",
    "gte": ">=",
    "like": "LIKE",
}
SORT = "sort"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
PAGE_SIZE_KEYS = ("per_page", "page_size", "pageSize", "size", "limit")
NEXT_KEYS = ("next", "next_page", "nextPage")
PREVIOUS_KEYS = ("prev", "previous", "prev_page", "prevPage")
PAGES_KEYS = ("pages", "total_pages", "totalPages", "page_count")
NESTED_DEPTH = 3  # levels of a JSON column's fields that filters and sorts can name
_BOOLEAN = {"true": 1, "false": 0, "1": 1, "0": 0}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").fullmatch
EXPECTED = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "string": "text",
    "json": "text",
}


class QueryError(Exception):
    """A list request that cannot be answered: its 400 body."""

    def __init__(self, error: str, **detail: Any):
        super().__init__(error)
        self.body = {"error": error, **detail}


@dataclass(frozen=True)
class Listing:
    """How the collection is listed, as the recordings show it."""

    style: str  # page | offset | none
    envelope: dict | None = None  # the recorded envelope, in key order; None: a bare array
    list_key: str | None = None
    size_param: str = "per_page"
    default_size: int | None = None  # None: every row
    absolute_next: bool = False  # the recorded `next` links were absolute URLs

    @property
    def reserved(self) -> list[str]:
        """Query parameters that are not filters."""
        if self.style == "page":
            return [SORT, "page", self.size_param]
        return [SORT, "limit", "offset"]


@dataclass(frozen=True)
class Field:
    """What a filter or sort can name: a column, or a field inside a JSON column."""

    name: str
    sql: str  # an expression over a quoted column name, with `?` for `params`
    params: tuple[Any, ...]
    kind: str


@dataclass
class Query:
    """A list request as SQL fragments and their parameters."""

    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    order_params: list[Any] = field(default_factory=list)
    page: int = 1
    size: int | None = None  # None: every row
    offset: int = 0


# --- the recordings' style ------------------------------------------------------------------


def detect_listing(
    collection: list[tuple[Exchange, tuple[str, ...]]], style: str | None
) -> Listing:
    """The listing style of the recorded 2xx GETs of the collection (the latest envelope wins),
    or `style` when the configuration names one (`cursor` is answered as `offset`)."""
    envelope = list_key = size_param = default_size = None
    names: set[str] = set()
    absolute = False
    for exchange, _ in collection:
        body = ok_get_json(exchange)
        rows, key = unwrap(body)
        if rows is None:
            continue
        asked = {k for k, _ in exchange.request.query}
        names |= asked
        envelope, list_key = (None, None) if key is None else ({**body, key: []}, key)
        if key is not None:
            names |= set(body)
            size_param = size_param or next((k for k in PAGE_SIZE_KEYS if k in body), None)
            size = body.get(size_param) if size_param else None
            if size_param and size_param not in asked and isinstance(size, int) and size > 0:
                default_size = size
            following = next((body[k] for k in NEXT_KEYS if isinstance(body.get(k), str)), "")
            absolute = absolute or following.startswith(("http://", "https://"))
        size_param = size_param or next((k for k in PAGE_SIZE_KEYS if k in asked), None)
    if style == "cursor":
        style = "offset"
    if style is None:
        style = "page" if "page" in names else "offset" if names & {"offset", "limit"} else "none"
    if style == "page":
        size_param = size_param if size_param and size_param != "limit" else "per_page"
        default_size = min(default_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    else:
        size_param = "limit"
        if envelope is None or "limit" not in envelope:
            default_size = None
    return Listing(style, envelope, list_key, size_param, default_size, absolute)


# --- fields and queries ---------------------------------------------------------------------


def fields(design: Design) -> dict[str, Field]:
    """What filters and sorts may name: every column, and the named fields of JSON columns'
    object schemas (address.city), down to NESTED_DEPTH levels."""
    found: dict[str, Field] = {}
    for column in design.columns:
        found[column.name] = Field(column.name, quote(column.name), (), column.kind)
        if column.kind == "json" and column.schema is not None:
            _nested(found, column, column.schema, [], 1)
    return found


def _nested(found: dict[str, Field], column: Column, schema: dict, path: list[str], depth: int):
    properties = schema.get("properties")
    if not isinstance(properties, dict) or depth > NESTED_DEPTH:
        return
    for name, sub in properties.items():
        if not isinstance(name, str) or not _NAME(name):
            continue
        kind = schema_kind(sub)[0]
        parts = [*path, name]
        label = ".".join([column.name, *parts])
        sql = f"json_extract({quote(column.name)}, ?)"
        found[label] = Field(label, sql, ("$." + ".".join(parts),), kind)
        if kind == "json" and isinstance(sub, dict):
            _nested(found, column, sub, parts, depth + 1)


def typed(text: str, kind: str, op: str = "eq") -> Any:
    """A query value as the type of its field (booleans as 1/0), or None when it is not one."""
    if op == "like" or kind in ("string", "json"):
        return bindable(text)
    if kind == "boolean":
        return _BOOLEAN.get(text.lower())
    whole = integer(text)
    if whole is not None and fits(whole):
        return whole
    return number(text)  # None past what a double holds


def parse(pairs: tuple[tuple[str, str], ...], listing: Listing, known: dict[str, Field]) -> Query:
    """The filters, order and page of a list request's query; QueryError when one is wrong."""
    query = Query(size=listing.default_size)
    if listing.style == "page":
        paging = {"page": "page", listing.size_param: "size"}
    else:
        paging = {"limit": "size", "offset": "offset"}
    equal: dict[str, list[Any]] = {}
    for name, text in pairs:
        if name == SORT:
            _sort(query, text, known)
            continue
        if name in paging:
            _page(query, paging[name], name, text)
            continue
        target, op = _field(name, known, listing)
        value = typed(text, target.kind, op)
        if value is None:
            expected = EXPECTED[target.kind]
            raise QueryError("invalid filter value", parameter=name, value=text, expected=expected)
        if op == "eq":
            equal.setdefault(target.name, []).append(value)
            continue
        query.where.append(f"{target.sql} {SQL_OPERATORS[op]} ?")
        query.params += [*target.params, value]
    for name, values in equal.items():
        target = known[name]
        marks = ", ".join("?" for _ in values)
        query.where.append(f"{target.sql} IN ({marks})")
        query.params += [*target.params, *values]
    if listing.style == "page" and query.size is not None:
        query.offset = (query.page - 1) * query.size
    return query


def _field(name: str, known: dict[str, Field], listing: Listing) -> tuple[Field, str]:
    if name in known:
        return known[name], "eq"
    base, _, op = name.rpartition("_")
    if base in known and op in OPERATORS:
        return known[base], op
    raise QueryError(
        "unknown filter field",
        field=name,
        valid=list(known),
        operators=[f"<field>_{op}" for op in OPERATORS],
        reserved=listing.reserved,
    )


def _sort(query: Query, text: str, known: dict[str, Field]) -> None:
    for token in text.split(","):
        token = token.strip()
        name = token.lstrip("+-")
        target = known.get(name)
        if target is None:
            raise QueryError("unknown sort field", field=name, valid=list(known))
        query.order.append(f"{target.sql} {'DESC' if token.startswith('-') else 'ASC'}")
        query.order_params += target.params


def _page(query: Query, what: str, name: str, text: str) -> None:
    low = 0 if what == "offset" else 1
    high = MAX_PAGE_SIZE if what == "size" else 1_000_000_000
    if not (text.isdigit() and len(text) <= 10 and low <= int(text) <= high):
        expected = f"an integer from {low} to {high}"
        raise QueryError("invalid query parameter", parameter=name, value=text, expected=expected)
    setattr(query, what, int(text))


# --- list bodies ----------------------------------------------------------------------------


def body(listing: Listing, request: Request, rows: list, total: int | None, query: Query) -> Any:
    """The list response body: a bare array, or the recorded envelope with this page's rows,
    counts and links (the default envelope {data, page, per_page, total, next} for style
    `page` without one)."""
    envelope = listing.envelope
    if envelope is None:
        if listing.style != "page":
            return rows
        envelope = {"data": [], "page": 1, "per_page": 0, "total": 0, "next": None}
    size, offset = query.size, query.offset
    more = total is not None and size is not None and offset + len(rows) < total
    back = offset > 0 and size is not None
    out = {}
    for key, value in envelope.items():
        if key == (listing.list_key or "data"):
            out[key] = rows
        elif key == "page" and listing.style == "page":
            out[key] = query.page
        elif key == listing.size_param or (key == "limit" and listing.style != "page"):
            out[key] = size
        elif key == "offset":
            out[key] = offset
        elif key in COUNT_KEYS and total is not None:
            out[key] = total
        elif key in PAGES_KEYS and total is not None:
            out[key] = math.ceil(total / size) if size else 1
        elif key in NEXT_KEYS:
            out[key] = link(listing, request, query, offset + len(rows)) if more else None
        elif key in PREVIOUS_KEYS:
            out[key] = link(listing, request, query, max(0, offset - size)) if back else None
        else:
            out[key] = value
    return out


def link(listing: Listing, request: Request, query: Query, offset: int) -> str:
    """The URL of the page starting at `offset`, the request's other parameters kept; absolute
    when the recorded links were and the request names its host."""
    if listing.style == "page":
        paging = {"page": str(offset // query.size + 1), listing.size_param: str(query.size)}
    else:
        paging = {"limit": str(query.size), "offset": str(offset)}
    kept = [(k, v) for k, v in request.query if k not in paging]
    target = request.path + "?" + urlencode([*kept, *paging.items()])
    if not listing.absolute_next or not request.host:
        return target
    default = {"http": 80, "https": 443}.get(request.scheme)
    port = "" if not request.port or request.port == default else f":{request.port}"
    return f"{request.scheme}://{request.host}{port}{target}"
