"""OpenAPI documents as backworks.yaml endpoints: local `$ref`s resolved, 3.0 spellings made
2020-12 ones, and new endpoints merged into the file with its comments kept.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backworks_cli.config.yamlfile import (
    dump,
    new_map,
)
from backworks_cli.core.errors import BackworksError, ConfigError, InputError
from backworks_cli.core.paths import params_of, typed_shape
from backworks_cli.learn.openapi.spec import (
    EXTENSION,
    IDENTIFIER,
    OPERATIONS,
    OpenAPIDocument,
    escape,
    read_openapi,
    snake_case,
)

IMPORT_MODES = ("mock", "replay", "proxy")  # modes that work without a block of their own
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
_UPSTREAM = re.compile(r"^https?://[^\s/?#]+([/?#]\S*)?$")


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
            target, _ = self.doc.resolve("#/" + "/".join(map(escape, pointer)), at)
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
        if isinstance(s.get("discriminator"), dict):
            _discriminate(out, s)
        out = _single_all_of(out)
        return _nullable(out) if s.get("nullable") is True else out

    def _ref(self, s: dict, at: tuple, stack: tuple) -> Any:
        target, pointer = self.doc.resolve(s["$ref"], (*at, "$ref"))
        if pointer in stack or pointer in self._names:
            name = self._names.get(pointer) or self._def_name(pointer)
            found: Any = {"$ref": f"#/$defs/{escape(name)}"}
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


def _discriminate(out: dict, s: dict) -> None:
    """OpenAPI's `discriminator` as JSON Schema: each oneOf/anyOf branch that is a $ref requires
    the discriminating property to hold that branch's names (from `mapping`, else the schema's
    own name), so that one branch, not several, fits a value, as OpenAPI reads it."""
    prop = s["discriminator"].get("propertyName")
    mapping = s["discriminator"].get("mapping")
    mapping = mapping if isinstance(mapping, dict) else {}
    if not isinstance(prop, str):
        return
    for key in ("oneOf", "anyOf"):
        if not isinstance(s.get(key), list) or not isinstance(out.get(key), list):
            continue
        for n, branch in enumerate(s[key]):
            ref = branch.get("$ref") if isinstance(branch, dict) else None
            if not isinstance(ref, str):
                continue
            name = ref.rsplit("/", 1)[-1]
            values = [v for v, target in mapping.items() if target in (ref, name)]
            out[key][n] = {
                "allOf": [out[key][n]],
                "required": [prop],
                "properties": {prop: {"enum": values or [name]}},
            }


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
        for method in OPERATIONS:
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
        new = new if IDENTIFIER.fullmatch(new) else f"p_{new}"
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
