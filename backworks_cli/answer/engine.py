"""The engine: routes each request to its endpoint and lets the endpoint's mode answer.

Layer 1: plain data in (`Request`), plain data out (`Outcome`), nothing of any HTTP server. The
host calls `Engine.handle` for every request; it is synchronous and cheap on a replay hit (one
dict lookup or a short trie walk to route, one dict lookup to match, a prebuilt answer).

Routing follows backworks.yaml's rules: static paths win over templates (/users/me before
/users/{id}); among templates, more literal segments win, then the order of the file; a
trailing slash does not count. HEAD is answered as GET where only GET is listed (the server
drops the body). Path parameters are typed by their `params` schema: an integer
or number parameter whose value does not convert does not match that template. A path that no
endpoint answers is 404 naming the closest endpoint paths; a known path asked with another
method is 405 with Allow.

The latency and faults of an endpoint's `mock:` block apply whatever its mode: the engine
draws them before the mode answers (modes.Behaviour).

Without endpoints in the configuration, every recorded method and exact path becomes an
endpoint of its own in replay mode, so any store replays out of the box.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from backworks_cli.answer.match_rules import MatchRules
from backworks_cli.answer.matching import ReplayIndex
from backworks_cli.answer.modes import create
from backworks_cli.answer.modes.base import (
    Behaviour,
    Context,
    Mode,
    Outcome,
    Shared,
    json_response,
    known_keys,
    learned_latency,
)
from backworks_cli.config.model import HTTP_METHODS, Config, Endpoint, merge_mock
from backworks_cli.core.errors import ConfigError, StoreError
from backworks_cli.core.exchange import Exchange, Request
from backworks_cli.core.paths import normalise, shape
from backworks_cli.core.routing import Router
from backworks_cli.record.redact import PREFIX

if TYPE_CHECKING:
    from backworks_cli.record.store import Store

__all__ = ["Engine", "Outcome", "derive_endpoints"]

MEMO_SIZE = 512  # redacted requests remembered
MEMO_BODY = 2048  # requests with larger bodies are redacted every time
REPLAY_KEYS = ("ignore_query", "ignore_json", "headers", "sequence")
MOCK_KEYS = ("state", "latency", "faults", "validate", "seed")
CLOSEST = 3  # endpoint paths a 404 suggests
_SLUG = re.compile(r"[^a-z0-9]+")


# --- the engine ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Served:
    endpoint: Endpoint
    mode: Mode
    behaviour: Behaviour | None
    recordings: int


class Engine:
    """Answers requests for every endpoint of a configuration; see the module docstring."""

    def __init__(self, router: Router, served: dict[str, _Served], notes: list[str]):
        self._router = router
        self._served = served
        self._paths = list(dict.fromkeys(s.endpoint.path for s in served.values()))
        self.notes = notes
        # Endpoints whose mode may block (a runtime handler): hosts answer them off their loop.
        self.blocking = frozenset(
            name for name, s in served.items() if getattr(s.mode, "blocking", False)
        )

    @classmethod
    def build(
        cls,
        config: Config,
        *,
        seed: int = 0,
        strict: bool = False,
        edge_cases: bool = False,
        store: Store | None = None,
        local_only: bool = True,
    ) -> Engine:
        """Load the recordings (from `store`, else config.recordings.path), route each to its
        endpoint, and build every endpoint's mode. StoreError when the store is missing and the
        endpoints cannot answer without it. With local_only (the mock host) proxy endpoints
        answer as mock; without it (the serve host) their mode chooses an upstream to forward
        to (modes.proxy)."""
        notes: list[str] = []
        endpoints = config.endpoint_list()
        exchanges, redactor = _recordings(config, endpoints, store, notes, local_only)
        derived = not endpoints
        if derived:
            endpoints = derive_endpoints(exchanges, config)
            if endpoints:
                notes.append(
                    f"No endpoints in the configuration: replaying {len(endpoints)} method and "
                    "path pair(s) as recorded. Run `backworks infer` for schemas and mocks."
                )
            else:
                notes.append(
                    "No endpoints in the configuration and no recorded HTTP responses: every "
                    "request will be answered 404. Record with `backworks capture` first."
                )
        router = Router()
        shapes = {}
        for endpoint in endpoints:
            router.add(endpoint, literal=derived)
            shapes[endpoint.name] = endpoint.path if derived else shape(endpoint.path)
        routed, shared = _route(exchanges, router, shapes, notes)
        served: dict[str, _Served] = {}
        for endpoint in endpoints:
            served[endpoint.name] = _serve(
                endpoint,
                config,
                routed[endpoint.name],
                shapes[endpoint.name],
                shared,
                redactor,
                seed=seed,
                strict=strict,
                edge_cases=edge_cases,
                notes=notes,
                local_only=local_only,
            )
        return cls(router, served, notes)

    def handle(self, request: Request) -> Outcome:
        method = request.method
        if not method.isupper():
            method = method.upper()
        found = self._router.resolve(method, request.path)
        if found.__class__ is tuple:
            route, params = found
            served = self._served[route.endpoint]
            if served.behaviour is None:
                return served.mode.handle(request, params)
            return _behave(served, request, params)
        if method == "HEAD":
            # HEAD is GET without the body, which the server leaves out (RFC 9110, 9.3.2).
            as_get = self._router.resolve("GET", request.path)
            if as_get.__class__ is tuple:
                return self.handle(replace(request, method="GET"))
        if found is None:
            return self._not_found(request)
        return _not_allowed(request, found)

    def blocks(self, request: Request) -> bool:
        """Whether answering `request` may block, so that a host runs it in a thread."""
        if not self.blocking:
            return False
        found = self._router.resolve(request.method.upper(), request.path)
        return found.__class__ is tuple and found[0].endpoint in self.blocking

    def close(self) -> None:
        """Stop what the modes started (runtime worker processes); the engine is done."""
        for served in self._served.values():
            close = getattr(served.mode, "close", None)
            if close is not None:
                close()

    def mode_for(self, method: str, path: str) -> Mode | None:
        """The mode of the endpoint that answers `method` at `path` (HEAD as GET where only GET
        is listed), or None when none does (handle() would answer 404 or 405)."""
        if not method.isupper():
            method = method.upper()
        found = self._router.resolve(method, path)
        if found.__class__ is not tuple and method == "HEAD":
            found = self._router.resolve("GET", path)
        return self._served[found[0].endpoint].mode if found.__class__ is tuple else None

    def modes(self) -> dict[str, Mode]:
        """Every endpoint's mode object, by endpoint name."""
        return {name: served.mode for name, served in self._served.items()}

    def reset(self) -> None:
        """Mock state back to its seed, replay sequences back to the start, delays and faults
        back to the start of their sequence."""
        for served in self._served.values():
            served.mode.reset()
            if served.behaviour is not None:
                served.behaviour.reset()

    def endpoints(self) -> list[dict]:
        rows = []
        for name, s in self._served.items():
            row = {
                "name": name,
                "path": s.endpoint.path,
                "methods": list(s.endpoint.methods),
                "mode": s.mode.name,
                "recordings": s.recordings,
            }
            record = getattr(s.mode, "record", None)  # proxy endpoints: whether they record
            if record is not None:
                row["record"] = record
            rows.append(row)
        return rows

    def _not_found(self, request: Request) -> Outcome:
        closest = difflib.get_close_matches(request.path, self._paths, n=CLOSEST, cutoff=0.3)
        body = {
            "error": "no endpoint matches",
            "method": request.method,
            "path": request.path,
            "closest": closest,
        }
        return Outcome(json_response(404, body), None, None, "not_found", body)


def _not_allowed(request: Request, allowed: frozenset) -> Outcome:
    methods = [m for m in HTTP_METHODS if m in allowed] + sorted(allowed - set(HTTP_METHODS))
    body = {
        "error": "method not allowed",
        "method": request.method,
        "path": request.path,
        "allowed": methods,
    }
    response = json_response(405, body, (("Allow", ", ".join(methods)),))
    return Outcome(response, None, None, "not_found", body)


def _behave(served: _Served, request: Request, params: dict[str, Any]) -> Outcome:
    behaviour = served.behaviour
    fault, delay = behaviour.draw()
    name, mode = served.endpoint.name, served.mode.name
    if fault == "error":
        return behaviour.error(name, mode, delay)
    if fault == "reset":
        return behaviour.reset_outcome(name, mode, delay)
    outcome = served.mode.handle(request, params)
    changes: dict[str, Any] = {"delay_ms": delay} if delay else {}
    if behaviour.slow_rate:
        changes.update(delay_ms=delay, fault="slow_body", fault_arg=behaviour.slow_rate)
    if outcome.stable:  # what the behaviour draws changes from one request to the next
        changes["stable"] = False
    return replace(outcome, **changes) if changes else outcome


class _Memo:
    """Redacted requests by request. Clients send the same credentials again and again, and
    redacting one costs an HMAC and a few regex scans: remembering the answer makes a repeat
    cost one hash. Requests with large bodies are not remembered."""

    def __init__(self, redact: Any, size: int = MEMO_SIZE):
        self._redact = redact
        self._size = size
        self._known: dict[Request, Request] = {}

    def __call__(self, request: Request) -> Request:
        if len(request.body) > MEMO_BODY:
            return self._redact(request)
        known = self._known
        try:
            found = known.get(request)
        except TypeError:  # a field that is not hashable (a list where a tuple belongs)
            return self._redact(request)
        if found is None:
            found = self._redact(request)
            if len(known) >= self._size:
                known.clear()
            known[request] = found
        return found


# --- building ------------------------------------------------------------------------------


def _recordings(
    config: Config,
    endpoints: list[Endpoint],
    store: Store | None,
    notes: list[str],
    local_only: bool = True,
) -> tuple[list[Exchange], Any]:
    """Every recorded exchange in id order, and the redactor for incoming requests."""
    if store is None:
        path = config.recordings.path
        if not path.exists():
            source = config.path or "backworks.yaml"
            if _schemas_suffice(endpoints, local_only):
                notes.append(f"No recordings at {path}: answering from the schemas in {source}.")
                return [], None
            raise StoreError(
                f"No recordings store at {path}.",
                "Record traffic first with `backworks capture`, or set recordings.path in "
                f"{source} (or --store) to an existing store.",
            )
        from backworks_cli.record.store import Store

        with Store.open(path) as opened:
            return _recordings(config, endpoints, opened, notes, local_only)
    exchanges = list(store.query())
    if not config.redact.enabled:
        return exchanges, None
    from backworks_cli.record.redact import Redactor

    return exchanges, _Memo(Redactor(store.redaction_key(), config.redact).request)


def _schemas_suffice(endpoints: list[Endpoint], local_only: bool = True) -> bool:
    """Whether the endpoints can answer without recordings: none in replay mode, and at least
    one that answers from backworks.yaml alone: in mock mode (from its schema, or a bare
    documented status: OpenAPI 3.1 operations need not document a response), runtime or
    database mode, or in proxy mode upstream (when not local_only) or, answered as mock,
    from the responses it documents."""
    return (
        bool(endpoints)
        and all(e.mode != "replay" for e in endpoints)
        and any(e.mode != "proxy" or not local_only or bool(e.responses) for e in endpoints)
    )


def derive_endpoints(exchanges: list[Exchange], config: Config) -> list[Endpoint]:
    """One replay endpoint per recorded method and exact path, named like get_api_users_1."""
    endpoints: list[Endpoint] = []
    seen: set[tuple[str, str]] = set()
    names: set[str] = set()
    for exchange in exchanges:
        if exchange.kind != "http" or exchange.response is None:
            continue
        method = exchange.request.method.upper()
        path = normalise(exchange.request.path)[0]
        if (method, path) in seen:
            continue
        seen.add((method, path))
        base = f"{method.lower()}_{_SLUG.sub('_', path.lower()).strip('_') or 'root'}"
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}_{n}"
        names.add(name)
        raw = {"path": path, "methods": [method], "mode": "replay"}
        endpoints.append(
            Endpoint(
                name=name,
                path=path,
                methods=(method,),
                mode="replay",
                replay=dict(config.replay),
                mock=merge_mock(config.mock, None),
                raw=raw,
            )
        )
    return endpoints


def _route(
    exchanges: list[Exchange], router: Router, shapes: dict[str, str], notes: list[str]
) -> tuple[dict[str, list[Exchange]], Shared]:
    """Each answered HTTP exchange under the endpoint its method and path route to."""
    routed: dict[str, list[Exchange]] = {name: [] for name in shapes}
    shared = Shared()
    unrouted = 0
    for exchange in exchanges:
        if exchange.kind != "http" or exchange.response is None:
            continue
        found = router.resolve(exchange.request.method.upper(), exchange.request.path)
        if found.__class__ is not tuple:
            unrouted += 1
            continue
        route, params = found
        routed[route.endpoint].append(exchange)
        values = tuple(v if isinstance(v, str) else _text(v) for v in params.values())
        shared.recorded.setdefault(shapes[route.endpoint], []).append((exchange, values))
    if unrouted:
        notes.append(f"{unrouted} recorded exchange(s) match no endpoint and are not served.")
    return routed, shared


def _text(value: Any) -> str:
    return json.dumps(value)


def _serve(
    endpoint: Endpoint,
    config: Config,
    recordings: list[Exchange],
    endpoint_shape: str,
    shared: Shared,
    redactor: Any,
    *,
    seed: int,
    strict: bool,
    edge_cases: bool,
    notes: list[str],
    local_only: bool = True,
) -> _Served:
    where = f"endpoints.{endpoint.name}"
    own_replay = known_keys(endpoint.raw.get("replay"), REPLAY_KEYS, f"{where}.replay", notes)
    own_mock = known_keys(endpoint.raw.get("mock"), MOCK_KEYS, f"{where}.mock", notes)
    defaults = known_keys(config.replay, REPLAY_KEYS, "replay", notes)
    try:
        rules = MatchRules.from_config(own_replay, defaults, where=f"{where}.replay")
    except ConfigError as error:
        raise ConfigError(
            f"{config.path or 'backworks.yaml'}: {error.message}", error.hint
        ) from None
    index = ReplayIndex(rules)
    for exchange in recordings:
        index.add(exchange)
    needs_redaction = redactor is not None and any(_has_placeholder(e.request) for e in recordings)
    mock_block = merge_mock(known_keys(config.mock, MOCK_KEYS, "mock", notes), own_mock)
    endpoint = replace(endpoint, mock=mock_block)
    own_seed = mock_block.get("seed")
    seed_for_endpoint = seed if own_seed is None else int(own_seed)
    context = Context(
        endpoint=endpoint,
        shape=endpoint_shape,
        recordings=recordings,
        index=index,
        redact=redactor if needs_redaction else None,
        seed=seed,
        strict=strict,
        edge_cases=edge_cases,
        shared=shared,
        notes=notes,
        base_dir=config.path.absolute().parent if config.path else None,
        config=config,
        local_only=local_only,
    )
    mode = create(context)
    if mode.name == "replay" and not recordings:
        notes.append(f"Endpoint {endpoint.name} is in replay mode but has no recordings.")
    behaviour = Behaviour(
        mock_block, learned_latency(endpoint, recordings), seed_for_endpoint, endpoint.name
    )
    return _Served(endpoint, mode, behaviour if behaviour.active else None, len(recordings))


def _has_placeholder(request: Request) -> bool:
    if PREFIX in request.path or PREFIX.encode() in request.body:
        return True
    return any(PREFIX in v for _, v in request.query) or any(
        PREFIX in v for _, v in request.headers
    )
