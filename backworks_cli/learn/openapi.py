"""OpenAPI in and out: backworks.yaml endpoints as an OpenAPI 3.1 document, and OpenAPI 3.0 or
3.1 documents (Prism's input) as backworks.yaml endpoints.

Export writes one operation per endpoint and method, with every response's example taken from
the endpoint's recorded exchanges when they fit its schema, else generated (deterministic).
Schemas go out as they are: JSON Schema 2020-12 is OpenAPI 3.1's dialect, and `x-semantic`,
`x-size` are extensions it allows. A schema with local `$ref`s moves to components/schemas so
that its references still resolve inside the larger document.

Import resolves every local `$ref`: a schema is inlined where it is used, and one that refers to
itself (directly or not) goes under the `$defs` of the endpoint schema that needs it, which is
what the generator follows. OpenAPI 3.0 spellings become 2020-12 ones (`nullable`, boolean
`exclusiveMinimum`, `example`). Media-type examples are left out: mock answers from recordings
and schemas, not canned bodies. New endpoints are merged into backworks.yaml with infer's
round-trip writer; an existing endpoint of the same name, or one already answering the same
method and path, is left as it is.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from backworks_cli.config.model import DEFAULT_CONTENT_TYPE, Config, Endpoint
from backworks_cli.config.yamlfile import (
    YamlError,
    dump,
    line_marks,
    load_json_like,
    load_plain,
    new_map,
    to_yaml,
)
from backworks_cli.core.errors import BackworksError, ConfigError, InputError, StoreError
from backworks_cli.core.paths import params_of, typed_shape

OPENAPI_VERSION = "3.1.0"
DEFAULT_VERSION = "0.0.0"
IMPORT_MODES = ("mock", "replay", "proxy")  # modes that work without a block of their own
SEED = 0  # generated examples are the mock's answers for seed 0
EXTENSION = "x-backworks-endpoint"  # the endpoint an operation belongs to, when not its id
_OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = (
    "items", "additionalProperties", "additionalItems", "contains", "not", "if", "then", "else",
    "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema",
)  # fmt: skip
_OPENAPI_ONLY = ("discriminator", "xml", "externalDocs", "nullable", "$defs", "definitions")
_ANNOTATIONS = frozenset(
    ("title", "description", "examples", "default", "deprecated", "readOnly", "writeOnly",
     "$comment")
)  # fmt: skip
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UPSTREAM = re.compile(r"^https?://[^\s/?#]+([/?#]\S*)?$")


# --- export ----------------------------------------------------------------------------------


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
                if method.lower() not in _OPERATIONS:
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
        path: {m: paths[path][m] for m in _OPERATIONS if m in paths[path]}
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
    return {"$ref": f"#/components/schemas/{_escape(key)}"}


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
            out["$ref"] = f"#/components/schemas/{_escape(key)}{ref[1:]}"
        return out
    if isinstance(value, list):
        return [_rebase(v, key) for v in value]
    return value


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


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


# --- import: reading the document ------------------------------------------------------------


@dataclass
class OpenAPIDocument:
    """A parsed OpenAPI document and where it came from, for messages that name the line."""

    data: dict[str, Any]
    file: str
    text: str
    version: tuple[int, int]
    _marks: dict[tuple, int] | None = None

    def where(self, path: tuple) -> str:
        """`file:line: key.path` of a key path (the line of its nearest parent known)."""
        if self._marks is None:
            self._marks = line_marks(self.text)
        probe = tuple(str(p) for p in path)
        while probe and probe not in self._marks:
            probe = probe[:-1]
        line = self._marks.get(probe)
        shown = _key_path(path)
        at = f"{self.file}:{line}" if line else self.file
        return f"{at}: {shown}" if shown else at

    def resolve(self, ref: Any, at: tuple) -> tuple[Any, tuple]:
        """The target of a local `$ref` and its key path; InputError naming `at` otherwise."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise InputError(
                f"{self.where(at)}: the $ref {ref!r} points outside this document, which "
                "backworks cannot follow.",
                "Bundle the specification into one file first (for example with "
                "`npx @redocly/cli bundle spec.yaml -o bundled.yaml`), then import that.",
            )
        target: Any = self.data
        path: list[str] = []
        for token in ref[1:].split("/")[1:] if ref != "#" else []:
            from urllib.parse import unquote

            token = unquote(token).replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise InputError(
                    f"{self.where(at)}: the $ref {ref!r} points at nothing in the document "
                    f"(no {token!r} under {_key_path(tuple(path)) or 'the top level'}).",
                    "Fix the reference, or add the schema it names under components.",
                )
            path.append(token)
        return target, tuple(path)


def read_openapi(path: Path) -> OpenAPIDocument:
    """Read an OpenAPI 3.0 or 3.1 document (YAML or JSON); InputError says what is wrong."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(
            f"{file}: no such file.", "Check the path of the OpenAPI document."
        ) from None
    except IsADirectoryError:
        raise InputError(
            f"{file}: is a folder, not a file.", "Name the OpenAPI document itself."
        ) from None
    except UnicodeDecodeError as error:
        raise InputError(
            f"{file}: not UTF-8 text (byte {error.start}).", "Save the document as UTF-8."
        ) from None
    except OSError as error:
        raise InputError(
            f"{file}: cannot be read ({error.strerror}).", "Check the file's permissions."
        ) from None
    data = _parse(text, file)
    if not isinstance(data, dict):
        raise InputError(
            f"{file}: not an OpenAPI document: the top level is not a mapping.",
            "Import an OpenAPI 3.0 or 3.1 document, which starts with `openapi: 3.x.y`.",
        )
    if "openapi" not in data:
        if "swagger" in data:
            raise InputError(
                f"{file}: a Swagger {data['swagger']} document; backworks reads OpenAPI 3.0 "
                "and 3.1.",
                "Convert it first, for example with `npx swagger2openapi spec.yaml -o "
                "openapi.yaml`, then import the result.",
            )
        raise InputError(
            f"{file}: not an OpenAPI document: it has no `openapi` key.",
            "Import an OpenAPI 3.0 or 3.1 document, which starts with `openapi: 3.x.y`.",
        )
    found = re.match(r"^(\d+)\.(\d+)", str(data["openapi"]))
    if not found or int(found[1]) != 3:
        raise InputError(
            f"{file}: OpenAPI version {data['openapi']!r} is not supported; backworks reads "
            "OpenAPI 3.0 and 3.1.",
            "Convert the document to OpenAPI 3.1 (or 3.0) first.",
        )
    document = OpenAPIDocument(data, file, text, (int(found[1]), int(found[2])))
    for key in ("paths", "components"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise InputError(
                f"{document.where((key,))}: `{key}` is not a mapping.",
                "Fix the document: see https://spec.openapis.org/oas/v3.1.0.",
            )
    return document


def _parse(text: str, file: str) -> Any:
    if text.lstrip().startswith(("{", "[")):
        try:
            return _text_keys(json.loads(text))
        except (ValueError, RecursionError):
            pass  # a YAML flow mapping, perhaps: the YAML reader says what is wrong
    try:
        return _text_keys(load_json_like(text))
    except YamlError as error:
        if error.line is not None:
            where = f"{file}:{error.line}:{error.column}"
            raise InputError(
                f"{where}: not valid YAML or JSON: {error.problem}.",
                "Fix the syntax there; an OpenAPI document is YAML or JSON text.",
            ) from None
        raise InputError(
            f"{file}: not valid YAML or JSON: {error}.",
            "Fix the syntax; an OpenAPI document is YAML or JSON text.",
        ) from None
    except RecursionError as error:
        raise InputError(
            f"{file}: not valid YAML or JSON: {error}.",
            "Fix the syntax; an OpenAPI document is YAML or JSON text.",
        ) from None


def _text_keys(value: Any) -> Any:
    """Mapping keys as text (YAML reads `200:` as a number) and values as JSON types."""
    if isinstance(value, dict):
        return {str(k): _text_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text_keys(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _key_path(path: tuple) -> str:
    out = ""
    for part in path:
        part = str(part)
        if _IDENTIFIER.fullmatch(part) or part.isdigit() or part == "$ref":
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


# --- import: schemas -------------------------------------------------------------------------


class _Schemas:
    """Converts the schemas of one document to self-contained JSON Schema 2020-12."""

    def __init__(self, document: OpenAPIDocument):
        self.doc = document
        self.v30 = document.version < (3, 1)

    def convert(self, schema: Any, at: tuple) -> Any:
        """One self-contained schema: references inlined, recursive ones under `$defs`."""
        self._names: dict[tuple, str] = {}
        self._defs: dict[str, Any] = {}
        out = self._schema(schema, at, ())
        pending = list(self._names.items())
        while pending:
            pointer, name = pending.pop(0)
            known = set(self._names)
            target, _ = self.doc.resolve("#/" + "/".join(map(_escape, pointer)), at)
            self._defs[name] = self._schema(target, pointer, (pointer,))
            pending += [(p, n) for p, n in self._names.items() if p not in known]
        if self._defs and isinstance(out, dict):
            out = {**out, "$defs": dict(sorted(self._defs.items()))}
        return out

    def _schema(self, s: Any, at: tuple, stack: tuple) -> Any:
        if isinstance(s, bool):
            return s
        if not isinstance(s, dict):
            raise InputError(
                f"{self.doc.where(at)}: a schema must be a mapping, not {json.dumps(s)[:60]}.",
                "Fix the schema there.",
            )
        if "$ref" in s:
            return self._ref(s, at, stack)
        out: dict[str, Any] = {}
        for key, value in s.items():
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {
                    name: self._schema(sub, (*at, key, name), stack) for name, sub in value.items()
                }
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                out[key] = [self._schema(sub, (*at, key, n), stack) for n, sub in enumerate(value)]
            elif key in _SCHEMA_ONE and isinstance(value, dict | bool):
                out[key] = self._schema(value, (*at, key), stack)
            elif key == "items" and isinstance(value, list):  # draft 4 tuples
                out["prefixItems"] = [
                    self._schema(sub, (*at, key, n), stack) for n, sub in enumerate(value)
                ]
            elif key == "example":
                out.setdefault("examples", [value])
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
                bound = "minimum" if key == "exclusiveMinimum" else "maximum"
                if value and bound in s:
                    out[key] = s[bound]
            elif key in ("minimum", "maximum") and s.get(f"exclusive{key.title()}") is True:
                continue
            elif key == "type" and value == "file":  # Swagger's upload type
                out["type"], out["format"] = "string", "binary"
            elif key not in _OPENAPI_ONLY:
                out[key] = value
        out = _single_all_of(out)
        return _nullable(out) if s.get("nullable") is True else out

    def _ref(self, s: dict, at: tuple, stack: tuple) -> Any:
        target, pointer = self.doc.resolve(s["$ref"], (*at, "$ref"))
        if pointer in stack or pointer in self._names:
            name = self._names.get(pointer) or self._def_name(pointer)
            found: Any = {"$ref": f"#/$defs/{_escape(name)}"}
        else:
            found = self._schema(target, pointer, (*stack, pointer))
        # OpenAPI 3.0 ignores the keys next to a $ref; 3.1 applies them too.
        siblings = {k: v for k, v in s.items() if k != "$ref"} if not self.v30 else {}
        siblings.pop("nullable", None)
        if self.v30 and s.get("nullable") is True:
            return _nullable(found if isinstance(found, dict) else {})
        if not siblings:
            return found
        rest = self._schema(siblings, at, stack)
        if (
            isinstance(found, dict)
            and "$ref" not in found
            and not ((rest.keys() - _ANNOTATIONS) & found.keys())
        ):
            return {**found, **rest}
        return {**rest, "allOf": [found]}

    def _def_name(self, pointer: tuple) -> str:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", str(pointer[-1])) if pointer else "root"
        name, n = base, 2
        while name in self._names.values():
            name, n = f"{base}_{n}", n + 1
        self._names[pointer] = name
        return name


def _single_all_of(schema: dict) -> dict:
    """`{allOf: [X]}` (with annotations at most) as X itself, the way it reads best."""
    parts = schema.get("allOf")
    if not (isinstance(parts, list) and len(parts) == 1 and isinstance(parts[0], dict)):
        return schema
    rest = {k: v for k, v in schema.items() if k != "allOf"}
    if rest.keys() - _ANNOTATIONS or rest.keys() & parts[0].keys() or "$ref" in parts[0]:
        return schema
    return {**parts[0], **rest}


def _nullable(schema: dict) -> dict:
    """OpenAPI 3.0's `nullable: true` as JSON Schema: null added to the type (and enum)."""
    out = dict(schema)
    kind = out.get("type")
    if kind is not None:
        kinds = list(kind) if isinstance(kind, list) else [kind]
        out["type"] = kinds if "null" in kinds else [*kinds, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    if out.keys() - _ANNOTATIONS:
        return {"anyOf": [out, {"type": "null"}]}
    return out


# --- import: operations ----------------------------------------------------------------------


@dataclass
class _Operation:
    name: str
    group: str | None  # x-backworks-endpoint
    method: str
    path: str
    spec: dict[str, Any]


def openapi_endpoints(
    document: OpenAPIDocument, *, mode: str = "mock"
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """backworks.yaml endpoints (name -> spec, in path order) for every operation, and notes
    about what could not be carried over."""
    from backworks_cli.learn.infer import ENDPOINT_ORDER, endpoint_name, endpoint_sort_key

    notes: list[str] = []
    schemas = _Schemas(document)
    operations: list[_Operation] = []
    paths = document.data.get("paths") or {}
    for raw_path, item in paths.items():
        at = ("paths", raw_path)
        if raw_path.startswith("x-"):  # an extension, not a path
            continue
        if isinstance(item, dict) and "$ref" in item:
            item, _ = document.resolve(item["$ref"], (*at, "$ref"))
        if not isinstance(item, dict):
            continue
        path, renames, problem = _template(raw_path)
        if problem:
            notes.append(f"{raw_path}: left out, {problem}.")
            continue
        shared = item.get("parameters") or []
        for method in _OPERATIONS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            spec = _endpoint(document, schemas, op, shared, (*at, method), path, renames, notes)
            spec = {"path": path, "methods": [method.upper()], "mode": mode, **spec}
            group = op.get(EXTENSION) if isinstance(op.get(EXTENSION), str) else None
            op_id = op.get("operationId")
            name = group or (snake_case(op_id) if isinstance(op_id, str) else "")
            operations.append(
                _Operation(name or endpoint_name(method.upper(), path), group, method, path, spec)
            )
    operations.sort(key=lambda o: endpoint_sort_key(o.path, o.method.upper()))
    endpoints: dict[str, dict[str, Any]] = {}
    groups: dict[str, str] = {}  # x-backworks-endpoint -> the name it was given
    for op in operations:
        known = groups.get(op.group) if op.group else None
        if known is not None and _joins(endpoints[known], op.spec):
            endpoints[known]["methods"].append(op.method.upper())
            if "request" in op.spec:
                endpoints[known]["request"] = op.spec["request"]
            continue
        name, n = op.name, 2
        while name in endpoints:
            name, n = f"{op.name}_{n}", n + 1
        endpoints[name] = op.spec
        if op.group:
            groups.setdefault(op.group, name)
    order = {key: n for n, key in enumerate(ENDPOINT_ORDER)}
    for name, spec in endpoints.items():
        endpoints[name] = dict(sorted(spec.items(), key=lambda kv: order.get(kv[0], len(order))))
    return endpoints, notes


def _joins(group: dict, spec: dict) -> bool:
    """Whether an operation of the same x-backworks-endpoint is the same endpoint: equal but for
    its method, and for a request body that export leaves out of GET and HEAD."""

    def rest(d: dict) -> dict:
        return {k: v for k, v in d.items() if k not in ("methods", "request")}

    requests = [d["request"] for d in (group, spec) if "request" in d]
    return rest(group) == rest(spec) and all(r == requests[0] for r in requests)


def snake_case(text: str) -> str:
    """`listPets` -> `list_pets`, `getHTTPStatus` -> `get_http_status`, `find-by-id` ->
    `find_by_id`; empty when nothing is left."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _template(path: str) -> tuple[str, dict[str, str], str | None]:
    """The path with parameter names made identifiers ({pet-id} -> {pet_id}), the renames,
    and why it cannot be used, if it cannot."""
    if not path.startswith("/"):
        return path, {}, "a path must start with /"
    renames: dict[str, str] = {}
    for segment in path.split("/"):
        rest = re.sub(r"\{[^{}/]*\}", "", segment)
        if "{" in rest or "}" in rest:
            return path, {}, "its path has a { or } that is not part of a {name} parameter"
        if "}{" in segment:
            return path, {}, "two parameters side by side cannot be told apart"
    for name in params_of(path):
        new = re.sub(r"[^A-Za-z0-9_]", "_", name) or "param"
        new = new if _IDENTIFIER.fullmatch(new) else f"p_{new}"
        base, n = new, 2
        while new in renames.values():
            new, n = f"{base}_{n}", n + 1
        renames[name] = new
    new_path = re.sub(r"\{([^{}/]*)\}", lambda m: "{" + renames[m[1]] + "}", path)
    return new_path, renames, None


def _endpoint(doc, schemas, op, shared, at, path, renames, notes) -> dict[str, Any]:
    """params, query, request and responses of one operation."""
    params: dict[str, Any] = {}
    query: dict[str, Any] = {}
    merged: dict[tuple[str, str], tuple[dict, tuple]] = {}
    for source, where in ((shared, (*at[:-1], "parameters")), (op.get("parameters") or [], None)):
        for n, parameter in enumerate(source if isinstance(source, list) else []):
            place = (*(where or (*at, "parameters")), n)
            if isinstance(parameter, dict) and "$ref" in parameter:
                parameter, pointer = doc.resolve(parameter["$ref"], (*place, "$ref"))
                place = pointer
            if isinstance(parameter, dict) and isinstance(parameter.get("name"), str):
                merged[(parameter["name"], str(parameter.get("in")))] = (parameter, place)
    skipped = []
    for (name, where), (parameter, place) in merged.items():
        schema = _parameter_schema(parameter)
        if where == "path":
            if name in renames:
                params[renames[name]] = schemas.convert(schema, (*place, "schema"))
        elif where == "query":
            converted = schemas.convert(schema, (*place, "schema"))
            converted = dict(converted) if isinstance(converted, dict) else {}
            if isinstance(converted.get("required"), list):
                del converted["required"]  # an object's required keys: not backworks' flag
            query[name] = {**converted, "required": parameter.get("required") is True}
        else:
            skipped.append(f"{where} {name}")
    if skipped:
        notes.append(
            f"{at[-1].upper()} {path}: {', '.join(skipped)} not kept; backworks.yaml describes "
            "path and query parameters only."
        )
    spec: dict[str, Any] = {}
    if params:
        spec["params"] = {name: params[name] for name in params_of(path) if name in params}
    if query:
        spec["query"] = query
    body = op.get("requestBody")
    place = (*at, "requestBody")
    if isinstance(body, dict) and "$ref" in body:
        body, place = doc.resolve(body["$ref"], (*place, "$ref"))
    if isinstance(body, dict) and isinstance(body.get("content"), dict) and body["content"]:
        spec["request"] = _body(schemas, body["content"], (*place, "content"))
    responses = _responses(doc, schemas, op.get("responses"), (*at, "responses"), path, notes)
    if responses:
        spec["responses"] = responses
    return spec


def _parameter_schema(parameter: dict) -> Any:
    schema = parameter.get("schema")
    if schema is None and isinstance(parameter.get("content"), dict):
        for media in parameter["content"].values():
            if isinstance(media, dict) and media.get("schema") is not None:
                return media["schema"]
    return schema if schema is not None else {"type": "string"}


def _body(schemas: _Schemas, content: dict, at: tuple) -> dict[str, Any]:
    """{content_type, schema} of the first JSON media type (else the first one)."""
    types = list(content)
    chosen = next((t for t in types if "json" in t.lower()), types[0])
    media = content[chosen] if isinstance(content[chosen], dict) else {}
    out: dict[str, Any] = {"content_type": chosen}
    if media.get("schema") is not None:
        out["schema"] = schemas.convert(media["schema"], (*at, chosen, "schema"))
    return out


def _responses(doc, schemas, responses, at, path, notes) -> dict[str, Any]:
    """Responses by status code: `2XX` ranges become their lowest code (an explicit code
    wins); `default` is used as 200 when it is the only response, else left out."""
    if not isinstance(responses, dict):
        return {}
    chosen: dict[str, tuple[str, Any]] = {}
    for key, answer in responses.items():
        if re.fullmatch(r"[1-5]\d\d", key):
            chosen[key] = (key, answer)
    for key, answer in responses.items():
        if re.fullmatch(r"[1-5][xX]{2}", key):
            chosen.setdefault(f"{key[0]}00", (key, answer))
    if "default" in responses:
        if not chosen:
            chosen["200"] = ("default", responses["default"])
        else:
            notes.append(
                f"{at[-2].upper()} {path}: the `default` response is left out; backworks "
                "answers listed status codes (mock's errors come from `mock.faults`)."
            )
    out: dict[str, Any] = {}
    for status in sorted(chosen):
        key, answer = chosen[status]
        place = (*at, key)
        if isinstance(answer, dict) and "$ref" in answer:
            answer, place = doc.resolve(answer["$ref"], (*place, "$ref"))
        answer = answer if isinstance(answer, dict) else {}
        entry: dict[str, Any] = {}
        content = answer.get("content")
        if isinstance(content, dict) and content:
            entry = _body(schemas, content, (*place, "content"))
        headers = {}
        for name, header in (answer.get("headers") or {}).items():
            where = (*place, "headers", name)
            if isinstance(header, dict) and "$ref" in header:
                header, where = doc.resolve(header["$ref"], (*where, "$ref"))
            if name.lower() == "content-type" or not isinstance(header, dict):
                continue
            headers[name] = schemas.convert(_parameter_schema(header), (*where, "schema"))
        if headers:
            entry["headers"] = headers
        out[status] = entry
    return out


# --- import: merging into backworks.yaml -----------------------------------------------------


@dataclass
class ImportResult:
    text: str  # the whole new backworks.yaml
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # already there by name: left as they are
    clashes: list[str] = field(default_factory=list)  # "name: GET /x is answered by other"
    notes: list[str] = field(default_factory=list)
    upstream: str | None = None  # set from the document's servers (the file had none)
    changed: bool = True


def import_openapi(spec: Path, *, existing: Path, mode: str = "mock") -> ImportResult:
    """Merge the endpoints of the OpenAPI document `spec` into the backworks.yaml at `existing`
    (which need not exist yet); the file itself is not written."""
    from backworks_cli.learn.infer import endpoint_sort_key, insert_endpoint, load_existing

    if mode not in IMPORT_MODES:
        raise BackworksError(
            f"Mode {mode!r} cannot be given on import.",
            f"Use one of {', '.join(IMPORT_MODES)}, then `backworks promote` an endpoint to "
            "runtime or database.",
        )
    document = read_openapi(spec)
    try:
        endpoints, notes = openapi_endpoints(document, mode=mode)
    except RecursionError:
        raise InputError(
            f"{spec}: its schemas nest too deeply to convert.",
            "Flatten the deepest schemas, or move nested parts under components/schemas.",
        ) from None
    existing = Path(existing)
    original, doc = load_existing(existing)
    if doc is None:
        doc = new_map()
        doc.yaml_set_start_comment(
            f"Endpoints imported from {Path(spec).name} by `backworks import openapi`. Edit\n"
            "freely; `backworks infer` widens their schemas with recorded traffic."
        )
        title = (document.data.get("info") or {}).get("title")
        if isinstance(title, str) and title.strip():
            doc["name"] = title.strip()
    result = ImportResult(text="", notes=notes)
    if doc.get("upstream") is None:
        result.upstream = _server(document.data.get("servers"))
        if result.upstream:
            position = list(doc).index("endpoints") if "endpoints" in doc else len(doc)
            doc.insert(position, "upstream", result.upstream)
    if doc.get("endpoints") is None:
        doc["endpoints"] = new_map()
    target = doc["endpoints"]

    routes: dict[tuple[str, str], str] = {}
    for name, other in target.items():
        if isinstance(other, dict) and isinstance(other.get("path"), str):
            shape = typed_shape(other["path"], other.get("params") or {})
            for method in other.get("methods") or _all_methods():
                routes.setdefault((str(method).upper(), shape), str(name))
    for name, spec_ in endpoints.items():
        if name in target:
            result.kept.append(name)
            continue
        shape = typed_shape(spec_["path"], spec_.get("params") or {})
        taken = [(m, routes[(m, shape)]) for m in spec_["methods"] if (m, shape) in routes]
        if taken:
            method, other = taken[0]
            result.clashes.append(f"{name}: {method} {spec_['path']} is answered by {other}")
            continue
        for method in spec_["methods"]:
            routes[(method, shape)] = name
        insert_endpoint(target, name, spec_, endpoint_sort_key(spec_["path"], spec_["methods"][0]))
        result.added.append(name)
    result.text = dump(doc)
    result.changed = result.text != original
    _check(result.text, existing, Path(spec))
    return result


def write_document(path: Path, text: str) -> None:
    """Write an exported document atomically (infer's writer), naming -o on failure."""
    from backworks_cli.learn.infer import write_config

    try:
        write_config(path, text)
    except ConfigError as error:
        raise BackworksError(
            error.message, "Check the permissions of the folder, or pass another --output."
        ) from None


def _all_methods() -> tuple[str, ...]:
    from backworks_cli.config.model import DEFAULT_METHODS

    return DEFAULT_METHODS


def _server(servers: Any) -> str | None:
    """The first server's URL, its {variables} set to their defaults, if it is absolute."""
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return None
    url = servers[0].get("url")
    if not isinstance(url, str):
        return None
    variables = servers[0].get("variables") or {}

    def default(match: re.Match) -> str:
        value = (variables.get(match[1]) or {}).get("default")
        return str(value) if value is not None else match[0]

    url = re.sub(r"\{([^{}]*)\}", default, url).rstrip("/")
    return url if _UPSTREAM.match(url) else None


def _check(text: str, existing: Path, spec: Path) -> None:
    """Load the merged file the way every command will, before anything is written."""
    from backworks_cli.config.load import load_config

    with tempfile.TemporaryDirectory() as folder:
        trial = Path(folder) / existing.name
        trial.write_text(text, encoding="utf-8")
        try:
            load_config(trial)
        except ConfigError as error:
            # Lines of a file that was never written would only mislead: keys name the place.
            message = re.sub(re.escape(str(trial)) + r"(:\d+)?: ", "", error.message)
            raise InputError(
                f"{spec}: the endpoints it gives would not load in {existing}: {message}",
                "Fix the schema of the operation named (endpoints.<name> is its snake_cased "
                "operationId, or method and path).",
            ) from None
