"""backworks.yaml endpoints as an OpenAPI 3.1 document, examples from the recordings."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from backworks_cli.config.model import DEFAULT_CONTENT_TYPE, Config, Endpoint
from backworks_cli.config.yamlfile import (
    YamlError,
    dump,
    load_plain,
    to_yaml,
)
from backworks_cli.core.errors import BackworksError, ConfigError, StoreError
from backworks_cli.learn.openapi.spec import EXTENSION, OPERATIONS, escape, snake_case

OPENAPI_VERSION = "3.1.0"
DEFAULT_VERSION = "0.0.0"
SEED = 0  # generated examples are the mock's answers for seed 0


@dataclass
class ExportResult:
    document: dict[str, Any]
    operations: int
    notes: list[str] = field(default_factory=list)


def export_openapi(config: Config, *, store_path: Path | None = None) -> ExportResult:
    """The OpenAPI 3.1 document of `config`'s endpoints; examples come from the recordings at
    `store_path` (default: the configuration's store) or are generated."""
    notes: list[str] = []
    recorded = _Recorded(store_path or config.recordings.path, config.redact, notes)
    examples = _Examples(recorded, notes)
    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()  # operationIds, unique in a document
    count = 0
    try:
        for endpoint in config.endpoint_list():
            item = paths.setdefault(endpoint.path, {})
            for method in endpoint.methods:
                if method.lower() not in OPERATIONS:
                    notes.append(f"{endpoint.name}: OpenAPI has no {method} operation; left out.")
                    continue
                op = _operation(endpoint, method, examples, components, used)
                item[method.lower()] = op
                count += 1
    finally:
        recorded.close()
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": config.name, "version": _config_version(config)},
    }
    if config.upstream:
        document["servers"] = [{"url": config.upstream}]
    document["paths"] = {
        path: {m: paths[path][m] for m in OPERATIONS if m in paths[path]}
        for path in sorted(paths)
        if paths[path]
    }
    if components:
        document["components"] = {"schemas": dict(sorted(components.items()))}
    return ExportResult(document, count, notes)


def render_openapi(document: dict[str, Any], fmt: str = "yaml") -> str:
    """The document as text: JSON (2-space indent) or YAML (infer's writer, keys in order)."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    return dump(to_yaml(document))


def write_document(path: Path, text: str) -> None:
    """Write an exported document atomically (infer's writer), naming -o on failure."""
    from backworks_cli.learn.infer import write_config

    try:
        write_config(path, text)
    except ConfigError as error:
        raise BackworksError(
            error.message, "Check the permissions of the folder, or pass another --output."
        ) from None


def _config_version(config: Config) -> str:
    """`version:` at the top of backworks.yaml (a blueprint key), else 0.0.0."""
    if config.path is None or not config.path.is_file():
        return DEFAULT_VERSION
    try:
        data = load_plain(config.path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError, YamlError):
        return DEFAULT_VERSION
    version = data.get("version") if isinstance(data, dict) else None
    if isinstance(version, bool) or not isinstance(version, str | int | float) or version == "":
        return DEFAULT_VERSION
    return str(version)


def _operation(
    endpoint: Endpoint, method: str, examples: _Examples, components: dict, used: set[str]
) -> dict:
    """One operation: operationId is the endpoint's name (with the method when the endpoint
    answers several), and x-backworks-endpoint names the endpoint when import could not tell."""
    name = endpoint.name
    several = len(endpoint.methods) > 1
    op_id = base = f"{name}_{method.lower()}" if several else name
    n = 2
    while op_id in used:
        op_id, n = f"{base}_{n}", n + 1
    used.add(op_id)
    op: dict[str, Any] = {"operationId": op_id}
    if op_id != name or snake_case(name) != name:
        op[EXTENSION] = name
    parameters = []
    for param in endpoint.param_names:
        schema = endpoint.params.get(param) or {"type": "string"}
        parameters.append(
            {
                "name": param,
                "in": "path",
                "required": True,
                "schema": _portable(schema, components, f"{name}_param_{param}"),
            }
        )
    for param, spec in endpoint.query.items():
        schema = {k: v for k, v in spec.items() if k != "required"}
        parameters.append(
            {
                "name": param,
                "in": "query",
                "required": spec.get("required") is True,
                "schema": _portable(schema, components, f"{name}_query_{param}"),
            }
        )
    if parameters:
        op["parameters"] = parameters
    if endpoint.request is not None and method not in ("GET", "HEAD"):
        content_type = endpoint.request.get("content_type") or DEFAULT_CONTENT_TYPE
        schema = endpoint.request.get("schema")
        media: dict[str, Any] = {}
        if schema is not None:
            media["schema"] = _portable(schema, components, f"{name}_request")
            example = examples.request(endpoint, schema, content_type)
            if example is not None:
                media["examples"] = example
        op["requestBody"] = {"content": {content_type: media}}
    responses = {}
    raw = endpoint.raw.get("responses") or {}
    for status in sorted(endpoint.responses, key=int):
        answer = endpoint.responses[status]
        out: dict[str, Any] = {"description": _phrase(status)}
        if answer.get("headers"):
            out["headers"] = {
                header: {"schema": _portable(schema, components, f"{name}_{status}_{header}")}
                for header, schema in answer["headers"].items()
            }
        schema = answer.get("schema")
        written = raw.get(status) or raw.get(int(status)) or {}
        if schema is not None or "content_type" in written:
            content_type = answer.get("content_type") or DEFAULT_CONTENT_TYPE
            media = {}
            if schema is not None:
                media["schema"] = _portable(schema, components, f"{name}_{status}")
                example = examples.response(endpoint, status, schema, content_type)
                if example is not None:
                    media["examples"] = example
            out["content"] = {content_type: media}
        responses[status] = out
    if responses:
        op["responses"] = responses
    return op


def _phrase(status: str) -> str:
    try:
        return HTTPStatus(int(status)).phrase
    except ValueError:
        return f"Status {status}"


def _portable(schema: Any, components: dict, name: str) -> Any:
    """`schema` as it can stand in the document: one with local `$ref`s (relative to its own
    root) moves to components/schemas, its references made relative to the document."""
    if not _has_local_ref(schema):
        return schema
    key = base = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    n = 2
    while key in components and components[key] != _rebase(schema, key):
        key, n = f"{base}_{n}", n + 1
    components[key] = _rebase(schema, key)
    return {"$ref": f"#/components/schemas/{escape(key)}"}


def _has_local_ref(value: Any) -> bool:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            return True
        return any(_has_local_ref(v) for k, v in value.items() if k not in ("enum", "const"))
    if isinstance(value, list):
        return any(_has_local_ref(v) for v in value)
    return False


def _rebase(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        out = {k: (_rebase(v, key) if k not in ("enum", "const") else v) for k, v in value.items()}
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            out["$ref"] = f"#/components/schemas/{escape(key)}{ref[1:]}"
        return out
    if isinstance(value, list):
        return [_rebase(v, key) for v in value]
    return value


class _Recorded:
    """Exchanges of the store by id, redacted again on the way out as every export is; the
    store is opened on first use, and a missing one gives none."""

    def __init__(self, path: Path, rules: Any, notes: list[str]):
        self.path = Path(path)
        self.rules = rules
        self.notes = notes
        self._store: Any = None
        self._redactor: Any = None
        self._failed = False
        self._cache: dict[int, Any] = {}

    def get(self, id_: int) -> Any:
        if id_ in self._cache:
            return self._cache[id_]
        exchange = None
        store = self._open()
        if store is not None:
            try:
                exchange = self._redactor.exchange(store.get(id_))
            except StoreError:
                exchange = None
        self._cache[id_] = exchange
        return exchange

    def _open(self) -> Any:
        if self._store is None and not self._failed:
            if not self.path.is_file():
                self._failed = True
                return None
            from backworks_cli.record.redact import Redactor
            from backworks_cli.record.store import Store

            try:
                self._store = Store.open(self.path)
                self._redactor = Redactor(self._store.redaction_key(), self.rules)
            except StoreError as error:
                self._failed = True
                self.notes.append(f"Examples generated: the recordings cannot be read ({error}).")
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class _Examples:
    """Examples for request and response bodies: recorded when they fit, else generated."""

    def __init__(self, recorded: _Recorded, notes: list[str]):
        self.recorded = recorded
        self.notes = notes
        self._generator: Any = None

    def response(self, endpoint: Endpoint, status: str, schema: Any, content_type: str) -> Any:
        for id_ in endpoint.examples:
            exchange = self.recorded.get(id_)
            if exchange is None or exchange.response is None:
                continue
            if str(exchange.response.status) != status:
                continue
            found = self._fitting(exchange.response.body, content_type, schema)
            if found is not None:
                return {"recorded": {"summary": f"Recorded exchange {id_}", "value": found[0]}}
        return self._generated(f"{endpoint.name}|{status}", schema, content_type)

    def request(self, endpoint: Endpoint, schema: Any, content_type: str) -> Any:
        for id_ in endpoint.examples:
            exchange = self.recorded.get(id_)
            if exchange is None or not exchange.request.body:
                continue
            found = self._fitting(exchange.request.body, content_type, schema)
            if found is not None:
                return {"recorded": {"summary": f"Recorded exchange {id_}", "value": found[0]}}
        return self._generated(f"{endpoint.name}|request", schema, content_type)

    def _fitting(self, body: bytes, content_type: str, schema: Any) -> tuple[Any] | None:
        """(value,) when the body reads as the content type says and fits the schema."""
        try:
            text = body.decode("utf-8")
            value = json.loads(text) if "json" in content_type.lower() else text
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None
        return (value,) if _valid(schema, value) else None

    def _generated(self, key: str, schema: Any, content_type: str) -> Any:
        if _binary(schema, content_type):
            return None
        if self._generator is None:
            from backworks_cli.learn.generate import Generator

            self._generator = Generator(SEED)
        try:
            value = self._generator.generate(schema, key=key)
        except BackworksError as error:
            self.notes.append(f"{key.split('|')[0]}: no example ({error.message})")
            return None
        if not _valid(schema, value):
            return None
        return {"generated": {"summary": "Generated from the schema", "value": value}}


def _binary(schema: Any, content_type: str) -> bool:
    """Bodies that JSON and YAML cannot carry as text."""
    if isinstance(schema, dict) and schema.get("format") == "binary":
        return True
    from backworks_cli.core.exchange import is_text_type

    return not is_text_type(content_type)


def _valid(schema: Any, value: Any) -> bool:
    from jsonschema import Draft202012Validator

    try:
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        return validator.is_valid(value)
    except Exception:  # SchemaError, an unresolvable $ref, a recursion without end
        return False
