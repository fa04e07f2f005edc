"""`backworks infer`: recordings in, backworks.yaml endpoints out.

One pass over the store (Store.scan: only the columns infer needs, bodies as the text SQLite
holds, parsed once): each exchange's path goes through the templater and its bodies into the
accumulators of its (method, path) group; no body is kept. Then the groups are merged by
template, their fields classified (semantic types), and the endpoints written into
backworks.yaml with ruamel.yaml's round-trip mode, so that an existing file keeps its comments
and edits.

Who owns what in an endpoint: infer owns `params`, `query`, `request`, `responses` (widened with
new evidence: types united, bounds widened, never narrowed) and `status_mix`, `latency`,
`examples` (recomputed from the recordings). Every other key (`path`, `methods`, `mode`, `mock`,
`replay`, ...) and every descriptive key inside a schema (`x-semantic`, `description`...) is the
user's and is never changed. Recorded traffic goes to the existing endpoint that would answer it
(by method and path, as the engine routes), else to a new endpoint; an existing endpoint that no
recording reached stays as it is and is reported as not seen.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backworks_cli.config.model import make_endpoint
from backworks_cli.config.yamlfile import (
    dump,
    flowable,
    new_map,
    round_trip_load,
    to_yaml,
    yaml_key,
)
from backworks_cli.core.errors import BackworksError, ConfigError, ExitCode, StoreError
from backworks_cli.core.files import disk_full, full, replacing
from backworks_cli.core.numbers import latency
from backworks_cli.core.paths import PARAMETER, split
from backworks_cli.core.routing import Router
from backworks_cli.learn.merge import merge_schemas, plain_json, same_json, schema_key
from backworks_cli.learn.schemas import BodyAccumulator, LeafField
from backworks_cli.learn.templates import PathTemplater, Template
from backworks_cli.learn.values import TextValues

INFER_KEYS = ("params", "query", "request", "responses", "status_mix", "latency", "examples")
ENDPOINT_ORDER = ("path", "methods", "mode", *INFER_KEYS)
METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
REQUIRED_SHARE = 0.95  # a query parameter present this often is required
EXAMPLES = 3
CLASSIFY_BATCH = 256
MIN_CONFIDENCE = 0.5
NO_SEMANTIC = frozenset({"other", "unknown", ""})
PROGRESS_EVERY = 500
# What infer reads of each exchange (Store.scan), in the order _Evidence.add unpacks it.
SCAN_COLUMNS = (
    "id",
    "method",
    "path",
    "query",
    "duration_ms",
    "request_content_type",
    "request_body",
    "status",
    "response_content_type",
    "response_body",
)
FLUSH_EVERY = 2048  # exchanges read between describing every waiting batch
HEADER = (
    "Endpoints learned by `backworks infer` from recorded traffic. Edit freely: infer keeps\n"
    "your changes. It widens params, query, request and responses with new evidence (never\n"
    "narrows them), refreshes status_mix, latency and examples, and leaves every other key\n"
    "(path, methods, mode, mock, replay...) and x-semantic as you set them."
)


# --- evidence ---------------------------------------------------------------------------------


class _Evidence:
    """Everything learned about one group of exchanges; no body is kept."""

    def __init__(self) -> None:
        self.count = 0
        self.statuses: dict[int, int] = {}
        self.durations = array("d")
        self.first_ids: list[int] = []
        self.first_by_status: dict[int, int] = {}
        self.query: dict[str, TextValues] = {}
        self.query_seen: dict[str, int] = {}
        self.request = BodyAccumulator()
        self.responses: dict[int, BodyAccumulator] = {}

    def add(self, row: tuple) -> None:
        """Add one exchange, a row of SCAN_COLUMNS."""
        id_, _, _, query, duration, request_type, request_body, status, response_type, body = row
        self.count += 1
        if len(self.first_ids) < EXAMPLES:
            self.first_ids.append(id_)
        if duration is not None and math.isfinite(duration):
            self.durations.append(duration)
        if query:
            names = set()
            for name, value in query:
                values = self.query.get(name)
                if values is None:
                    self.query[name] = values = TextValues()
                values.add(value)
                names.add(name)
            for name in names:
                self.query_seen[name] = self.query_seen.get(name, 0) + 1
        self.request.add(request_body, request_type)
        if status is not None:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            bodies = self.responses.get(status)
            if bodies is None:
                self.responses[status] = bodies = BodyAccumulator()
                self.first_by_status[status] = id_
            bodies.add(body, response_type)

    def merge(self, other: _Evidence) -> None:
        self.count += other.count
        for status, n in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n
        self.durations.extend(other.durations)
        self.first_ids = sorted(self.first_ids + other.first_ids)[:EXAMPLES]
        for status, id_ in other.first_by_status.items():
            self.first_by_status[status] = min(id_, self.first_by_status.get(status, id_))
        for name, values in other.query.items():
            if name in self.query:
                self.query[name].merge(values)
            else:
                self.query[name] = values
            self.query_seen[name] = self.query_seen.get(name, 0) + other.query_seen[name]
        self.request.merge(other.request)
        for status, bodies in other.responses.items():
            if status in self.responses:
                self.responses[status].merge(bodies)
            else:
                self.responses[status] = bodies

    def flush(self) -> None:
        for bodies in self.bodies():
            bodies.flush()

    def bodies(self) -> list[BodyAccumulator]:
        return [self.request, *(self.responses[s] for s in sorted(self.responses))]

    def render(self, params: dict[str, Any]) -> dict[str, Any]:
        """The infer-owned keys of the endpoint, from this evidence."""
        spec: dict[str, Any] = {}
        if params:
            spec["params"] = params
        if self.query:
            spec["query"] = {
                name: {
                    **self.query[name].to_schema(),
                    "required": self.query_seen[name] >= REQUIRED_SHARE * self.count,
                }
                for name in sorted(self.query)
            }
        request = self.request.to_spec()
        if request is not None:
            spec["request"] = request
        if self.responses:
            spec["responses"] = {
                str(status): self.responses[status].to_spec() or {}
                for status in sorted(self.responses)
            }
            answered = sum(self.statuses.values())
            spec["status_mix"] = {
                str(status): round(n / answered, 4) for status, n in sorted(self.statuses.items())
            }
        if self.durations:
            spec["latency"] = latency(self.durations)
        examples = [self.first_by_status[s] for s in sorted(self.first_by_status)][:EXAMPLES]
        examples += [i for i in self.first_ids if i not in examples][: EXAMPLES - len(examples)]
        if examples:
            spec["examples"] = sorted(examples)
        return spec


# --- results ----------------------------------------------------------------------------------


@dataclass
class EndpointSummary:
    name: str
    methods: tuple[str, ...]
    path: str
    samples: int  # recorded exchanges it was learned from (0: not seen)
    semantics: int  # fields given an x-semantic type
    state: str  # new | updated | unchanged | not seen


@dataclass
class InferResult:
    text: str  # the whole new backworks.yaml
    exchanges: int  # exchanges read
    endpoints: list[EndpointSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings worth showing
    changed: bool = True  # text differs from the existing file

    @property
    def unseen(self) -> list[str]:
        return [e.name for e in self.endpoints if e.state == "not seen"]

    def count(self, state: str) -> int:
        return sum(1 for e in self.endpoints if e.state == state)


Progress = Callable[[int, int], None]


# --- the pass over the store ------------------------------------------------------------------


def infer(
    store,
    *,
    session: str | None = None,
    existing: Path | None = None,
    classifier=None,
    progress: Progress | None = None,
) -> InferResult:
    """Learn the endpoints of `store` (one session, or all) into the backworks.yaml at
    `existing` (which need not exist yet); the file itself is not written.

    `classifier` has `classify(fields) -> [(type, confidence)]` (default: the shipped semantic
    model); `progress(done, total)` is called as exchanges are read.
    """
    from backworks_cli.record.store import Filter

    notes: list[str] = []
    original, doc = load_existing(Path(existing) if existing is not None else None)
    if session is not None and session not in store.sessions():
        known = ", ".join(store.sessions()) or "none"
        raise BackworksError(
            f"No session named {session!r} in {store.path}; the sessions there are: {known}.",
            "Pass one of them to --session, or leave --session out to learn from all of them.",
            exit_code=ExitCode.USAGE,
        )
    flt = Filter(session=session)
    total = store.count(flt)
    if total == 0:
        raise StoreError(
            f"{store.path} has no recorded exchanges"
            + (f" in session {session!r}" if session else "")
            + "; there is nothing to learn from.",
            "Record some traffic first with `backworks capture --upstream URL`, or import a HAR "
            "file with `backworks recordings import`.",
        )
    with _collector_paused():
        templater, groups, done = _gather(store, flt, total, progress)

    templates = templater.finish()
    learned: dict[tuple[str, str], tuple[Template, _Evidence]] = {}
    for (method, key), evidence in groups.items():
        template = templates[key]
        problem = _unwritable(method, template.path)
        if problem:
            notes.append(f"Skipped {evidence.count} exchange(s) of {method} {problem}.")
            continue
        found = learned.get((method, template.path))
        if found is None:
            learned[(method, template.path)] = (template, evidence)
        else:
            found[1].merge(evidence)
    _warn_invalid_json(learned, notes)

    if doc is not None and doc.get("endpoints") is None:
        doc["endpoints"] = new_map()
    endpoints = doc["endpoints"] if doc is not None else None
    plan = _plan(learned, endpoints or {})
    _classify([target.evidence for target in plan.values()], classifier, notes)
    if doc is None:
        doc = _fresh_document(store.path, existing)
        endpoints = doc["endpoints"]
    summaries = _apply(plan, endpoints)
    text = dump(doc)
    return InferResult(
        text=text,
        exchanges=done,
        endpoints=summaries,
        notes=notes,
        changed=text != original,
    )


def _gather(store, flt, total: int, progress: Progress | None):
    """The pass over the store: each exchange's path into the templater, its evidence into the
    group of its method and path key. Returns (templater, groups, exchanges read)."""
    templater = PathTemplater()
    add_path = templater.add
    groups: dict[tuple[str, tuple[str, ...]], _Evidence] = {}
    done = 0
    for row in store.scan(flt, columns=SCAN_COLUMNS):
        key = (row[1].upper(), add_path(row[2]))
        evidence = groups.get(key)
        if evidence is None:
            groups[key] = evidence = _Evidence()
        evidence.add(row)
        done += 1
        if done % FLUSH_EVERY == 0:  # bounds the parsed bodies waiting in batches
            for waiting in groups.values():
                waiting.flush()
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)
    if progress is not None:
        progress(done, total)
    return templater, groups, done


@contextlib.contextmanager
def _collector_paused():
    """No cyclic garbage collection meanwhile. The pass allocates millions of containers (parsed
    bodies) that die young and form no cycles, so the collector's runs over them, a tenth of
    the pass, find nothing; anything left is collected when it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _unwritable(method: str, path: str) -> str | None:
    """Why an endpoint cannot be written to backworks.yaml, if it cannot."""
    from backworks_cli.config.model import HTTP_METHODS

    shown = path.encode("utf-8", "backslashreplace").decode("utf-8")
    if method not in HTTP_METHODS:
        return f"{shown}: backworks.yaml knows no method {method}"
    if shown != path:
        return f"{shown}: its path is not valid UTF-8"
    literal = PARAMETER.sub("", path)
    if "{" in literal or "}" in literal:
        return f"{path}: its path has a literal {{ or }}, which backworks.yaml cannot express"
    return None


def _warn_invalid_json(learned, notes: list[str]) -> None:
    for (method, path), (_, evidence) in sorted(learned.items()):
        for where, bodies in (("request", evidence.request), *evidence.responses.items()):
            if bodies.invalid_json:
                what = "request bodies" if where == "request" else f"{where} response bodies"
                fate = "left out of the schema" if bodies.json else "described as text"
                notes.append(
                    f"{method} {path}: {bodies.invalid_json} {what} look like JSON but do not "
                    f"parse (truncated?); they are {fate}."
                )


# --- planning: which endpoint each group goes to ----------------------------------------------


def _router(endpoints: dict) -> Router:
    """The file's endpoints routed as the engine routes them, so that a template is filed
    under the endpoint that answers its requests."""
    router = Router()
    for name, spec in endpoints.items():
        if isinstance(spec, dict) and isinstance(spec.get("path"), str):
            router.add(make_endpoint(str(name), spec))
    return router


def _params_for(texts: dict[str, str], template: Template) -> dict[str, Any]:
    """Schemas of the route's parameters, from what they captured of the learned template."""
    params = {}
    for name, text in texts.items():
        own = re.fullmatch(r"\{(\w+)\}", text)
        if own and own[1] in template.params:
            params[name] = template.params[own[1]]
        elif "{" in text:
            params[name] = {"type": "string"}
        else:
            values = TextValues(enum=False)
            values.add(text)
            params[name] = values.to_schema()
    return params


@dataclass
class _Target:
    """What goes into one endpoint: its evidence, and its path parameters' schemas."""

    evidence: _Evidence
    params: dict[str, Any]
    new: tuple[str, str] | None = None  # (method, path) of an endpoint to add


def _plan(learned, endpoints: dict) -> dict[str, _Target]:
    """Endpoint name -> what it learns: existing endpoints first, then new ones."""
    router = _router(endpoints)
    plan: dict[str, _Target] = {}
    fresh: list[tuple[str, str, Template, _Evidence]] = []
    for (method, path), (template, evidence) in sorted(learned.items(), key=_order):
        filed = router.file(method, template.path)
        if filed is None:
            fresh.append((method, path, template, evidence))
            continue
        route, texts = filed
        params = _params_for(texts, template)
        target = plan.get(route.endpoint)
        if target is None:
            plan[route.endpoint] = _Target(evidence, params)
            continue
        target.evidence.merge(evidence)
        for name, schema in params.items():
            known = target.params.get(name)
            target.params[name] = schema if known is None else merge_schemas(known, schema)
    taken = {str(name) for name in endpoints} | set(plan)
    for method, path, template, evidence in fresh:
        name = base = endpoint_name(method, path)
        n = 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        plan[name] = _Target(evidence, dict(template.params), (method, path))
    return plan


def _order(item) -> tuple:
    (method, path), _ = item
    return endpoint_sort_key(path, method)


def endpoint_sort_key(path: str, method: str) -> tuple:
    """Endpoints are sorted by path, then method (GET, POST, PUT, PATCH, DELETE, ...)."""
    rank = METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)
    return (path, rank, method)


def endpoint_name(method: str, path: str) -> str:
    """`GET /api/users/{id}` -> `get_api_users_id`; `GET /` -> `get_root`."""
    words = "_".join(PARAMETER.sub(r"\1", s) for s in split(path))
    slug = re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_") or "root"
    return f"{re.sub(r'[^a-z0-9]+', '_', method.lower())}_{slug}"


# --- field semantics --------------------------------------------------------------------------


def _classify(evidences: list[_Evidence], classifier, notes: list[str]) -> None:
    """Give each scalar field of every body a semantic type (x-semantic), in batches."""
    leaves: list[LeafField] = [
        leaf
        for evidence in evidences
        for bodies in evidence.bodies()
        for leaf in bodies.leaf_fields()
    ]
    if not leaves:
        return
    try:
        from backworks_cli.learn.features import Field
        from backworks_cli.learn.semantic import Classifier
    except ImportError as error:  # an install without the semantic model's dependencies
        notes.append(f"Field semantics (x-semantic) skipped: {error}.")
        return
    if classifier is None:
        classifier = Classifier.load(warn=notes.append)

    for start in range(0, len(leaves), CLASSIFY_BATCH):
        batch = leaves[start : start + CLASSIFY_BATCH]
        fields = [Field(leaf.name, leaf.path, tuple(leaf.values), leaf.json_type) for leaf in batch]
        for leaf, (kind, confidence) in zip(batch, classifier.classify(fields), strict=True):
            if kind and kind not in NO_SEMANTIC and confidence >= MIN_CONFIDENCE:
                leaf.node.semantic = str(kind)


def _semantic_count(value: Any) -> int:
    if isinstance(value, dict):
        return ("x-semantic" in value) + sum(_semantic_count(v) for v in value.values())
    if isinstance(value, list):
        return sum(_semantic_count(v) for v in value)
    return 0


# --- applying the plan to the document --------------------------------------------------------


def _apply(plan: dict[str, _Target], endpoints) -> list[EndpointSummary]:
    """Write the plan into the document's endpoints; a summary of every endpoint."""
    summaries = []
    for name, target in plan.items():
        learned = target.evidence.render(target.params)
        if target.new is not None:
            method, path = target.new
            spec = {"path": path, "methods": [method], "mode": "mock", **learned}
            insert_endpoint(endpoints, name, spec, endpoint_sort_key(path, method))
            state = "new"
        else:
            existing = endpoints[name]
            spec = _widen(plain_json(existing), learned)
            state = "unchanged"
            for key in INFER_KEYS:
                if key in spec and not same_json(plain_json(existing.get(key)), spec[key]):
                    state = "updated"
                    _assign(existing, key, spec[key], _endpoint_rank)
        summaries.append(_summary(name, endpoints[name], target.evidence.count, state, spec))
    for name, spec in endpoints.items():
        if str(name) not in plan:
            summaries.append(_summary(str(name), spec, 0, "not seen", spec))
    summaries.sort(key=lambda s: endpoint_sort_key(s.path, s.methods[0] if s.methods else ""))
    return summaries


def _summary(name: str, spec: Any, samples: int, state: str, learned: dict) -> EndpointSummary:
    spec = spec if isinstance(spec, dict) else {}
    methods = spec.get("methods")
    return EndpointSummary(
        name=name,
        methods=tuple(str(m).upper() for m in methods) if isinstance(methods, list) else (),
        path=str(spec.get("path", "")),
        samples=samples,
        semantics=_semantic_count([learned.get("request"), learned.get("responses")]),
        state=state,
    )


def _widen(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The infer-owned keys of an existing endpoint: schemas widened with what was just learned,
    statistics replaced by it (kept when this run learned none)."""
    merged = {
        "params": _merge_named(old.get("params"), new.get("params"), merge_schemas),
        "query": _merge_named(old.get("query"), new.get("query"), _merge_query),
        "request": _merge_body(old.get("request"), new.get("request")),
        "responses": _merge_named(old.get("responses"), new.get("responses"), _merge_body),
    }
    for key in ("status_mix", "latency", "examples"):
        merged[key] = new.get(key, old.get(key))
    return {key: value for key, value in merged.items() if value is not None}


def _merge_named(old: Any, new: Any, merge: Callable[[Any, Any], Any]) -> dict | None:
    old = old if isinstance(old, dict) else None
    new = new if isinstance(new, dict) else None
    if old is None or new is None:
        return old if new is None else new
    out = dict(old)
    for name, value in new.items():
        out[name] = merge(old[name], value) if name in old else value
    return out


def _merge_query(old: Any, new: Any) -> dict[str, Any]:
    """A query parameter's schema widened; required only if both sides require it."""
    old = dict(old) if isinstance(old, dict) else {}
    new = dict(new)
    required = old.pop("required", False) is True
    required = new.pop("required", False) is True and required
    return {**merge_schemas(old, new), "required": required}


def _merge_body(old: Any, new: Any) -> Any:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return new if not isinstance(old, dict) else old
    out = dict(old)
    for key, value in new.items():
        if key == "schema" and "schema" in old:
            out["schema"] = merge_schemas(old["schema"], value)
        elif key not in old:
            out[key] = value
    return out


# --- YAML ---------------------------------------------------------------------------------------


_NAME_MAPS = frozenset({"properties", "params", "query", "responses", "status_mix", "$defs"})


def _endpoint_rank(key: Any) -> tuple:
    key = str(key)
    return (ENDPOINT_ORDER.index(key), "") if key in ENDPOINT_ORDER else (len(ENDPOINT_ORDER), key)


def _name_rank(key: Any) -> tuple:
    return (0, str(key))


def _schema_rank(key: Any) -> tuple:
    return schema_key(str(key))


def _assign(target, key: str, value: Any, rank: Callable[[Any], tuple]) -> None:
    """Set target[key] = value, changing as little of the existing nodes (and their comments)
    as possible; a new key goes where its rank puts it."""
    if key in target:
        current = target[key]
        if isinstance(current, dict) and isinstance(value, dict):
            _sync(current, value, _name_rank if key in _NAME_MAPS else _schema_rank)
        elif not same_json(plain_json(current), value):
            target[key] = to_yaml(value)
        return
    position = sum(1 for existing in target if rank(existing) <= rank(key))
    target.insert(position, yaml_key(key), to_yaml(value))
    _restyle(target)


def _sync(target, new: dict, rank: Callable[[Any], tuple]) -> None:
    for key in [k for k in target if k not in new]:
        del target[key]
    for key, value in new.items():
        _assign(target, key, value, rank)
    _restyle(target)


def _restyle(target) -> None:
    """A flow mapping ({...}) that has grown nested or long content goes to block style."""
    if target.fa.flow_style() and not flowable(plain_json(target)):
        target.fa.set_block_style()


def insert_endpoint(endpoints, name: str, spec: dict, sort_key: tuple) -> None:
    """Add an endpoint after the last one that sorts before it (by path, then method)."""
    position = 0
    for index, other in enumerate(endpoints.values()):
        other = other if isinstance(other, dict) else {}
        methods = other.get("methods") if isinstance(other.get("methods"), list) else None
        path = other.get("path") if isinstance(other.get("path"), str) else ""
        if endpoint_sort_key(path, str(methods[0]).upper() if methods else "") <= sort_key:
            position = index + 1
    endpoints.insert(position, yaml_key(name), to_yaml(spec))
    _restyle(endpoints)


def _fresh_document(store_path: Path, config_path: Path | None):
    from backworks_cli.config.model import DEFAULT_STORE

    doc = new_map()
    doc.yaml_set_start_comment(HEADER)
    folder = (Path(config_path).absolute().parent) if config_path is not None else Path.cwd()
    store = Path(os.path.relpath(Path(store_path).absolute(), folder))
    if store != DEFAULT_STORE:
        doc["recordings"] = new_map({"path": store.as_posix()}, flow=True)
    doc["endpoints"] = new_map()
    return doc


def load_existing(path: Path | None) -> tuple[str | None, Any]:
    """The existing file's text and round-trip document; (None, None) when there is none.
    A file that does not load (syntax, unknown keys...) stops infer before anything is read."""
    if path is None or not path.exists():
        return None, None
    from backworks_cli.config.load import load_config, read_text

    load_config(path)
    text = read_text(path)
    doc = round_trip_load(
        text,
        path,
        "updating",
        "Fix the YAML there, or move the file away to let infer write a new one.",
    )
    if doc is None:
        return text, None
    if not isinstance(doc.get("endpoints", {}), dict):
        raise ConfigError(
            f"{path}: `endpoints` is not a mapping of endpoint names.",
            "Write endpoints as `endpoints:` followed by `name: {path: /users, ...}` entries.",
        )
    return text, doc


def write_config(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (a temporary file renamed over it)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as out:
            out.write(text.encode("utf-8"))
    except OSError as error:
        if why := full(error):
            raise disk_full(
                path, why, ConfigError, "pass --config with a path on another disk"
            ) from None
        raise ConfigError(
            f"Cannot write {path}: {error.strerror or error}.",
            "Check the permissions of the file and its folder, or pass --config with a "
            "writable path.",
        ) from None
