"""OpenAPI in and out: the sample API's inferred backworks.yaml exported as valid OpenAPI 3.1
with examples that fit their schemas, OpenAPI 3.0 and 3.1 documents imported into endpoints the
mock engine serves, the round trip between the two, and the inputs that must fail cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from backworks_cli.answer.engine import Engine
from backworks_cli.config.load import load_config
from backworks_cli.config.model import Config
from backworks_cli.core.errors import BackworksError, ExitCode, InputError
from backworks_cli.core.exchange import Request
from backworks_cli.learn.infer import infer, write_config
from backworks_cli.learn.openapi.export import export_openapi, render_openapi
from backworks_cli.learn.openapi.importing import import_openapi, openapi_endpoints
from backworks_cli.learn.openapi.spec import OpenAPIDocument, snake_case
from backworks_cli.record.store import Store
from tests.learn.test_infer import NameClassifier, record_sample_api

COMPARED = ("path", "methods", "params", "query", "request", "responses")

PETSTORE = """\
openapi: 3.0.3
info: {title: Petstore, version: 1.0.0}
servers:
  - url: https://{host}/v1
    variables:
      host: {default: petstore.example.com}
paths:
  /pets:
    parameters:
      - $ref: '#/components/parameters/Limit'
    get:
      operationId: listPets
      parameters:
        - {name: X-Request-Id, in: header, schema: {type: string}}
        - name: status
          in: query
          required: true
          schema: {type: string, enum: [available, sold]}
      responses:
        2XX:
          description: pets
          headers:
            X-Next: {$ref: '#/components/headers/Next'}
          content:
            application/json:
              schema:
                type: array
                items: {$ref: '#/components/schemas/Pet'}
        default: {$ref: '#/components/responses/Error'}
    post:
      operationId: createPet
      requestBody: {$ref: '#/components/requestBodies/NewPet'}
      responses:
        '201':
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pet'}
        default: {$ref: '#/components/responses/Error'}
  /pets/{pet-id}:
    get:
      operationId: getPetByID
      parameters:
        - name: pet-id
          in: path
          required: true
          schema: {type: integer, minimum: 1}
      responses:
        '200':
          description: a pet
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pet'}
              example: {id: 1, name: Rex}
        '404': {description: missing}
    delete:
      parameters:
        - {name: pet-id, in: path, required: true, schema: {type: integer}}
      responses:
        default: {description: deleted}
  /tree:
    get:
      operationId: getTree
      responses:
        '200':
          description: a tree
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Node'}
components:
  parameters:
    Limit:
      name: limit
      in: query
      schema: {type: integer, minimum: 0, maximum: 100, exclusiveMaximum: true}
  headers:
    Next:
      schema: {type: string, format: uri}
  requestBodies:
    NewPet:
      required: true
      content:
        application/xml:
          schema: {$ref: '#/components/schemas/NewPet'}
        application/json:
          schema: {$ref: '#/components/schemas/NewPet'}
  responses:
    Error:
      description: error
      content:
        application/json:
          schema:
            type: object
            required: [code, message]
            properties:
              code: {type: integer}
              message: {type: string}
  schemas:
    NewPet:
      type: object
      required: [name]
      properties:
        name: {type: string, example: Rex}
        tag: {type: string, nullable: true}
        born: {type: string, format: date, example: 2020-01-02}
        on: {type: boolean}
    Pet:
      allOf:
        - $ref: '#/components/schemas/NewPet'
        - type: object
          required: [id]
          properties:
            id: {type: integer, format: int64}
            owner:
              nullable: true
              allOf: [{$ref: '#/components/schemas/Owner'}]
            kind: {type: string, enum: [cat, dog], nullable: true}
    Owner:
      type: object
      properties:
        name: {type: string}
    Node:
      type: object
      properties:
        value: {type: integer}
        children:
          type: array
          items: {$ref: '#/components/schemas/Node'}
"""


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_project(tmp_path_factory):
    """A folder with the sample API's recordings and the backworks.yaml inferred from them."""
    folder = tmp_path_factory.mktemp("sample")
    store_path = folder / "recordings" / "backworks.db"
    with Store.open(store_path, create=True) as store:
        record_sample_api(store)
        result = infer(store, existing=folder / "backworks.yaml", classifier=NameClassifier())
    write_config(folder / "backworks.yaml", result.text)
    return folder


def media_objects(document: dict):
    """(where, media type object) of every request and response body in the document."""
    for path, item in document["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {})
            for content_type, media in body.items():
                yield f"{method} {path} request {content_type}", media
            for status, answer in op.get("responses", {}).items():
                for content_type, media in answer.get("content", {}).items():
                    yield f"{method} {path} {status} {content_type}", media


def resolved(schema: dict, document: dict) -> dict:
    """A media schema that can be checked on its own (a components reference followed)."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        return {**document["components"]["schemas"][ref.rsplit("/", 1)[1]], "$defs": {}}
    return schema


def check_examples(document: dict) -> list[str]:
    """The source ("recorded"/"generated") of every example, asserting each fits its schema."""
    sources = []
    for where, media in media_objects(document):
        for source, example in media.get("examples", {}).items():
            schema = resolved(media["schema"], document)
            validator = Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            errors = [e.message for e in validator.iter_errors(example["value"])]
            assert not errors, (where, errors)
            sources.append(source)
    return sources


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def same_endpoints(first: Path, second: Path) -> None:
    before = {e.name: e for e in load_config(first).endpoint_list()}
    after = {e.name: e for e in load_config(second).endpoint_list()}
    assert sorted(before) == sorted(after)
    for name, endpoint in before.items():
        for key in COMPARED:
            assert getattr(after[name], key) == getattr(endpoint, key), (name, key)


def backworks(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backworks_cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- export ----------------------------------------------------------------------------------


def test_export_of_the_inferred_sample_api_is_valid_openapi_31(sample_project):
    config = load_config(sample_project / "backworks.yaml")
    result = export_openapi(config)
    document = result.document
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "backworks", "version": "0.0.0"}
    assert list(document["paths"]) == sorted(document["paths"])
    assert result.operations == len(config.endpoints) == 13
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert sorted(ids) == sorted(config.endpoints)

    user = document["paths"]["/api/users/{id}"]["get"]
    assert user["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]
    assert user["responses"]["404"]["description"] == "Not Found"
    listing = document["paths"]["/api/users"]["get"]["parameters"]
    assert {p["name"]: p["required"] for p in listing} == {"page": True, "per_page": True}
    body = document["paths"]["/api/orders"]["post"]["requestBody"]["content"]
    assert "user_id" in body["application/json"]["schema"]["properties"]
    # x-semantic stays in the schemas, as an extension.
    assert "x-semantic" in json.dumps(user["responses"]["200"]["content"])

    sources = check_examples(document)
    assert sources.count("recorded") >= 15
    # A PNG body cannot be an example; an event stream is text and can.
    avatar = document["paths"]["/api/avatar/{id}.png"]["get"]["responses"]["200"]["content"]
    assert "examples" not in avatar["image/png"]
    events = document["paths"]["/api/events"]["get"]["responses"]["200"]["content"]
    assert events["text/event-stream"]["examples"]["recorded"]["value"].startswith("id: 1")
    # Examples from the store are redacted as every export is.
    assert "correct-horse" not in json.dumps(document)


def test_export_is_deterministic_and_generates_examples_without_the_store(sample_project, tmp_path):
    config = load_config(sample_project / "backworks.yaml")
    text = render_openapi(export_openapi(config).document)
    assert render_openapi(export_openapi(config).document) == text
    assert yaml.safe_load(text) == json.loads(
        render_openapi(export_openapi(config).document, "json")
    )

    missing = export_openapi(config, store_path=tmp_path / "gone.db")
    validate(missing.document, cls=OpenAPIV31SpecValidator)
    sources = check_examples(missing.document)
    assert sources and set(sources) == {"generated"}
    again = export_openapi(config, store_path=tmp_path / "gone.db")
    assert render_openapi(again.document) == render_openapi(missing.document)


def test_export_title_version_servers_references_and_several_methods(tmp_path):
    config = write(
        tmp_path / "backworks.yaml",
        """\
name: trees
version: "2.1"
upstream: https://api.example.com/v2
endpoints:
  tree:
    path: /trees/{id}
    methods: [GET, PUT]
    params:
      id: {type: integer}
    request:
      schema:
        $ref: '#/$defs/node'
        $defs:
          node:
            type: object
            properties:
              kids: {type: array, items: {$ref: '#/$defs/node'}}
    responses:
      "200":
        schema:
          type: object
          properties:
            root: {$ref: '#/$defs/node'}
          $defs:
            node:
              type: object
              properties:
                kids: {type: array, maxItems: 2, items: {$ref: '#/$defs/node'}}
        headers: {X-Request-Id: {type: string, format: uuid}}
      "204": {}
  tree_get:
    path: /forest
    methods: [GET]
""",
    )
    document = export_openapi(load_config(config), store_path=tmp_path / "none.db").document
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["info"] == {"title": "trees", "version": "2.1"}
    assert document["servers"] == [{"url": "https://api.example.com/v2"}]
    item = document["paths"]["/trees/{id}"]
    assert list(item) == ["get", "put"]
    assert (
        item["get"]["operationId"] == "tree_get" and item["get"]["x-backworks-endpoint"] == "tree"
    )
    # /forest's endpoint is named tree_get too: its operationId must differ.
    forest = document["paths"]["/forest"]["get"]
    assert forest["operationId"] == "tree_get_2" and forest["x-backworks-endpoint"] == "tree_get"
    assert "requestBody" not in item["get"] and "requestBody" in item["put"]
    ok = item["get"]["responses"]["200"]
    assert ok["headers"] == {"X-Request-Id": {"schema": {"type": "string", "format": "uuid"}}}
    ref = ok["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/tree_200"
    node = document["components"]["schemas"]["tree_200"]["properties"]["root"]
    assert node == {"$ref": "#/components/schemas/tree_200/$defs/node"}
    assert "content" not in item["get"]["responses"]["204"]

    exported = write(tmp_path / "trees.json", render_openapi(document, "json"))
    back = tmp_path / "back.yaml"
    write_config(back, import_openapi(exported, existing=back).text)
    loaded = load_config(back)
    assert loaded.upstream == "https://api.example.com/v2" and loaded.name == "trees"
    tree = {e.name: e for e in loaded.endpoint_list()}["tree"]
    assert tree.methods == ("GET", "PUT") and tree.path == "/trees/{id}"
    assert tree.request["schema"]["$defs"]["node"]["properties"]["kids"]["items"] == {
        "$ref": "#/$defs/node"
    }
    engine = Engine.build(loaded)
    answer = engine.handle(Request("GET", "/trees/7"))
    assert answer.response.status == 200
    Draft202012Validator(tree.responses["200"]["schema"]).validate(json.loads(answer.response.body))


# --- round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["openapi.yaml", "openapi.json"])
def test_export_then_import_gives_back_the_same_endpoints(sample_project, tmp_path, name):
    config = load_config(sample_project / "backworks.yaml")
    text = render_openapi(
        export_openapi(config).document, "json" if name.endswith("json") else "yaml"
    )
    spec = write(tmp_path / name, text)
    back = tmp_path / "backworks.yaml"
    result = import_openapi(spec, existing=back)
    assert result.notes == [] and len(result.added) == 13
    write_config(back, result.text)
    same_endpoints(sample_project / "backworks.yaml", back)


scalars = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["string", "integer", "boolean"])}),
    st.fixed_dictionaries(
        {"type": st.just("string"), "format": st.sampled_from(["email", "uuid", "date"])}
    ),
    st.fixed_dictionaries(
        {"type": st.just(["integer", "null"]), "minimum": st.integers(-5, 5)},
        optional={"x-semantic": st.just("integer_id")},
    ),
    st.fixed_dictionaries(
        {"enum": st.lists(st.sampled_from(["a", "b", "on"]), min_size=1, unique=True)}
    ),
)
schemas = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.fixed_dictionaries({"type": st.just("array"), "items": inner}),
        st.builds(
            lambda props: {"type": "object", "required": sorted(props)[:1], "properties": props},
            st.dictionaries(
                st.sampled_from(["id", "name", "nullable", "example"]), inner, max_size=3
            ),
        ),
    ),
    max_leaves=6,
)


@settings(max_examples=25, deadline=None)
@given(
    body=schemas,
    param=st.sampled_from([{"type": "integer"}, {"type": "string", "format": "uuid"}]),
    query=st.dictionaries(st.sampled_from(["page", "q"]), scalars, max_size=2),
    required=st.booleans(),
)
def test_any_endpoint_survives_export_and_import(body, param, query, required, tmp_path_factory):
    spec = {
        "path": "/things/{id}",
        "methods": ["GET"],
        "params": {"id": param},
        "responses": {"200": {"content_type": "application/json", "schema": body}},
    }
    if query:
        spec["query"] = {name: {**schema, "required": required} for name, schema in query.items()}
    config = Config(endpoints={"get_thing": spec})
    missing = tmp_path_factory.getbasetemp() / "no-store.db"
    document = export_openapi(config, store_path=missing).document
    validate(document, cls=OpenAPIV31SpecValidator)
    check_examples(document)
    back, notes = openapi_endpoints(OpenAPIDocument(document, "x.json", "", (3, 1)))
    assert notes == []
    assert back == {"get_thing": {**spec, "mode": "mock"}}


# --- import ----------------------------------------------------------------------------------


def test_import_of_an_openapi_30_petstore(tmp_path):
    spec = write(tmp_path / "petstore.yaml", PETSTORE)
    target = tmp_path / "backworks.yaml"
    result = import_openapi(spec, existing=target)
    assert result.added == [
        "list_pets",
        "create_pet",
        "get_pet_by_id",
        "delete_pets_pet_id",
        "get_tree",
    ]
    assert result.upstream == "https://petstore.example.com/v1"
    assert any("header X-Request-Id" in note for note in result.notes)
    assert sum("`default` response is left out" in note for note in result.notes) == 2
    write_config(target, result.text)
    config = load_config(target)
    assert config.name == "Petstore" and config.upstream == "https://petstore.example.com/v1"
    endpoints = {e.name: e for e in config.endpoint_list()}

    pets = endpoints["list_pets"]
    assert pets.methods == ("GET",) and pets.mode == "mock"
    assert pets.query["status"] == {
        "type": "string",
        "enum": ["available", "sold"],
        "required": True,
    }
    assert pets.query["limit"] == {
        "type": "integer",
        "minimum": 0,
        "exclusiveMaximum": 100,
        "required": False,
    }
    assert list(pets.responses) == ["200"]  # 2XX is 200; default is left out
    assert pets.responses["200"]["headers"] == {"X-Next": {"type": "string", "format": "uri"}}
    pet = pets.responses["200"]["schema"]["items"]
    assert "$ref" not in json.dumps(pet)  # nothing recursive: every reference inlined
    new_pet, extra = pet["allOf"]
    assert new_pet["properties"]["tag"] == {"type": ["string", "null"]}
    assert new_pet["properties"]["born"]["examples"] == ["2020-01-02"]  # a date stays text
    assert "on" in new_pet["properties"]  # not read as a boolean
    assert extra["properties"]["owner"] == {
        "type": ["object", "null"],
        "properties": {"name": {"type": "string"}},
    }
    assert extra["properties"]["kind"] == {"type": ["string", "null"], "enum": ["cat", "dog", None]}

    create = endpoints["create_pet"]
    assert create.request["content_type"] == "application/json"  # JSON before XML
    assert create.request["schema"]["required"] == ["name"]
    one = endpoints["get_pet_by_id"]
    assert one.path == "/pets/{pet_id}" and one.params == {
        "pet_id": {"type": "integer", "minimum": 1}
    }
    # The media type's example is not kept: mock answers from recordings and schemas.
    assert one.raw["responses"]["200"].keys() == {"content_type", "schema"}
    assert "examples" not in one.responses["200"]["schema"]
    assert endpoints["delete_pets_pet_id"].responses.keys() == {"200"}  # default, alone
    tree = endpoints["get_tree"].responses["200"]["schema"]
    assert tree["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert tree["$defs"]["Node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}

    engine = Engine.build(config)
    for method, path, name, status in [
        ("GET", "/pets", "list_pets", 200),
        ("POST", "/pets", "create_pet", 201),
        ("GET", "/pets/3", "get_pet_by_id", 200),
        ("GET", "/tree", "get_tree", 200),
    ]:
        outcome = engine.handle(Request(method, path))
        assert outcome.response.status == status and outcome.how == "generated"
        schema = endpoints[name].responses[str(status)]["schema"]
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        validator.validate(json.loads(outcome.response.body))
    assert engine.handle(Request("GET", "/pets/x")).response.status == 404


def test_import_of_openapi_31_features(tmp_path):
    spec = write(
        tmp_path / "spec.json",
        json.dumps(
            {
                "openapi": "3.1.0",
                "info": {"title": "t", "version": "1"},
                "paths": {
                    "/items/{id}": {"$ref": "#/components/pathItems/Item"},
                    "/search": {
                        "get": {
                            "parameters": [
                                {
                                    "name": "q",
                                    "in": "query",
                                    "content": {"application/json": {"schema": {"type": "object"}}},
                                },
                                {"name": "session", "in": "cookie", "schema": {"type": "string"}},
                            ],
                            "responses": {
                                "4XX": {"description": "bad"},
                                "400": {
                                    "description": "exact",
                                    "content": {"text/plain": {"schema": {"type": "string"}}},
                                },
                            },
                        }
                    },
                },
                "components": {
                    "pathItems": {
                        "Item": {
                            "get": {
                                "operationId": "get-item",
                                "parameters": [
                                    {
                                        "name": "id",
                                        "in": "path",
                                        "required": True,
                                        "schema": {"type": "string", "format": "uuid"},
                                    }
                                ],
                                "responses": {
                                    "200": {
                                        "description": "ok",
                                        "content": {
                                            "application/json": {
                                                "schema": {
                                                    "$ref": "#/components/schemas/Item",
                                                    "description": "the item",
                                                }
                                            }
                                        },
                                    }
                                },
                            }
                        }
                    },
                    "schemas": {
                        "Item": {
                            "type": "object",
                            "required": ["id"],
                            "properties": {
                                "id": {"type": "string", "format": "uuid"},
                                "note": {"type": ["string", "null"], "examples": ["hi"]},
                            },
                        }
                    },
                },
            }
        ),
    )
    target = tmp_path / "backworks.yaml"
    result = import_openapi(spec, existing=target, mode="replay")
    assert result.added == ["get_item", "get_search"]
    assert any("cookie session" in note for note in result.notes)
    write_config(target, result.text)
    endpoints = {e.name: e for e in load_config(target).endpoint_list()}
    item = endpoints["get_item"]
    assert item.mode == "replay" and item.params == {"id": {"type": "string", "format": "uuid"}}
    schema = item.responses["200"]["schema"]
    assert schema["description"] == "the item" and schema["required"] == ["id"]
    assert schema["properties"]["note"] == {"type": ["string", "null"], "examples": ["hi"]}
    search = endpoints["get_search"]
    assert search.query == {"q": {"type": "object", "required": False}}
    assert search.responses == {
        "400": {"content_type": "text/plain", "schema": {"type": "string"}, "headers": {}}
    }


def test_import_merges_into_an_existing_file_keeping_it(tmp_path):
    target = write(
        tmp_path / "backworks.yaml",
        """\
# my notes, kept
name: mine
endpoints:
  list_pets:            # a hand-made endpoint of the same name
    path: /animals
    methods: [GET]
  pet:
    path: /pets/{id}
    methods: [GET]
    params:
      id: {type: integer}
""",
    )
    spec = write(tmp_path / "petstore.yaml", PETSTORE)
    result = import_openapi(spec, existing=target)
    assert result.kept == ["list_pets"]
    assert result.clashes == ["get_pet_by_id: GET /pets/{pet_id} is answered by pet"]
    assert result.added == ["create_pet", "delete_pets_pet_id", "get_tree"]
    assert result.upstream == "https://petstore.example.com/v1"
    assert result.text.startswith("# my notes, kept\nname: mine\n")
    assert "list_pets:            # a hand-made endpoint of the same name\n" in result.text
    write_config(target, result.text)
    config = load_config(target)
    assert config.endpoints["list_pets"]["path"] == "/animals"
    assert config.endpoints["pet"] == {
        "path": "/pets/{id}",
        "methods": ["GET"],
        "params": {"id": {"type": "integer"}},
    }
    again = import_openapi(spec, existing=target)
    assert not again.changed and again.added == [] and again.upstream is None


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        (None, "missing.yaml", "missing.yaml: no such file"),
        ("openapi: 3.0.0\npaths: [\n", "broken.yaml", "broken.yaml:3:1: not valid YAML or JSON"),
        ("- just\n- a list\n", "list.yaml", "not an OpenAPI document: the top level"),
        ("name: shop\nendpoints: {}\n", "config.yaml", "config.yaml: not an OpenAPI document"),
        ('{"swagger": "2.0", "paths": {}}', "old.json", "a Swagger 2.0 document"),
        ("openapi: 2.5.0\n", "odd.yaml", "OpenAPI version '2.5.0' is not supported"),
        ("openapi: 3.0.0\npaths: 7\n", "paths.yaml", "paths.yaml:2: paths: `paths` is not a"),
        (
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n"
            "      responses:\n        '200':\n          description: ok\n          content:\n"
            "            application/json:\n              schema:\n"
            "                $ref: '#/components/schemas/Missing'\n",
            "ref.yaml",
            'ref.yaml:12: paths["/a"].get.responses.200.content["application/json"].schema.$ref:'
            " the $ref '#/components/schemas/Missing' points at nothing",
        ),
        (
            '{"openapi": "3.1.0", "paths": {"/a": {"get": {"responses": {"200": {'
            '"$ref": "other.yaml#/components/responses/Ok"}}}}}}',
            "external.json",
            "points outside this document",
        ),
    ],
)
def test_bad_inputs_name_the_file_and_place(tmp_path, text, name, expected):
    spec = tmp_path / name
    if text is not None:
        write(spec, text)
    with pytest.raises(InputError) as error:
        import_openapi(spec, existing=tmp_path / "backworks.yaml")
    assert expected in error.value.message and error.value.hint
    assert not (tmp_path / "backworks.yaml").exists()


def test_a_schema_backworks_cannot_load_is_reported_before_anything_is_written(tmp_path):
    spec = write(
        tmp_path / "odd.yaml",
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n"
        "      responses:\n        '200':\n          description: ok\n          content:\n"
        "            application/json:\n              schema: {type: whatever}\n",
    )
    with pytest.raises(InputError) as error:
        import_openapi(spec, existing=tmp_path / "backworks.yaml")
    assert error.value.message.startswith(f"{spec}: the endpoints it gives would not load in ")
    assert error.value.message.endswith(
        'backworks.yaml: endpoints.get_a.responses.200.schema.type: "whatever" is not one of '
        "array, boolean, integer, null, number, object, string"
    )


def test_a_broken_backworks_yaml_and_a_mode_that_needs_its_own_block(tmp_path):
    spec = write(tmp_path / "petstore.yaml", PETSTORE)
    broken = write(tmp_path / "backworks.yaml", "endpoints: [\n")
    with pytest.raises(BackworksError) as error:
        import_openapi(spec, existing=broken)
    assert error.value.exit_code == ExitCode.CONFIG
    with pytest.raises(BackworksError) as error:
        import_openapi(spec, existing=tmp_path / "new.yaml", mode="runtime")
    assert "promote" in error.value.hint


def test_snake_case():
    assert snake_case("listPets") == "list_pets"
    assert snake_case("getHTTPStatusByID") == "get_http_status_by_id"
    assert snake_case("find-pets.by status") == "find_pets_by_status"
    assert snake_case("v2GetUser") == "v2_get_user"
    assert snake_case("get_api_users_id") == "get_api_users_id"
    assert snake_case("---") == ""


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_snake_case_is_snake_and_idempotent(text):
    name = snake_case(text)
    assert all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in name)
    assert not name.startswith("_") and not name.endswith("_") and "__" not in name
    assert snake_case(name) == name


# --- the commands ----------------------------------------------------------------------------


def test_export_command(sample_project, tmp_path):
    done = backworks("export", "openapi", cwd=sample_project)
    assert done.returncode == 0, done.stderr
    document = yaml.safe_load(done.stdout)  # stdout is the document and nothing else
    validate(document, cls=OpenAPIV31SpecValidator)
    assert "Traceback" not in done.stderr
    out = tmp_path / "api.json"
    written = backworks(
        "export", "openapi", "-c", "backworks.yaml", "-o", str(out), cwd=sample_project
    )
    assert written.returncode == 0 and written.stdout == ""
    assert "13 operation(s)" in written.stderr
    assert json.loads(out.read_text()) == document


def test_import_command(tmp_path):
    write(tmp_path / "petstore.yaml", PETSTORE)
    done = backworks("import", "openapi", "petstore.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "5 endpoint(s) added from petstore.yaml" in done.stderr
    assert "Warning: GET /pets: header X-Request-Id not kept" in done.stderr
    assert load_config(tmp_path / "backworks.yaml").endpoints["get_tree"]
    again = backworks("import", "openapi", "petstore.yaml", "--mode", "proxy", cwd=tmp_path)
    assert again.returncode == 0 and "Nothing to add" in again.stderr
    assert "Kept as they are (an endpoint of that name exists): list_pets" in again.stderr


def test_command_errors(tmp_path):
    write(tmp_path / "notes.txt", "just words: [\n")
    for args, code, text in [
        (("import", "openapi", "missing.yaml"), ExitCode.INPUT, "missing.yaml: no such file"),
        (("import", "openapi", "notes.txt"), ExitCode.INPUT, "notes.txt:2:1: not valid YAML"),
        (("import", "openapi", "notes.txt", "--mode", "runtime"), ExitCode.USAGE, "--mode"),
        (("export", "openapi", "-c", "missing.yaml"), ExitCode.CONFIG, "missing.yaml"),
    ]:
        done = backworks(*args, cwd=tmp_path)
        assert done.returncode == code, (args, done.stderr)
        assert text in done.stderr and "Traceback" not in done.stderr
        assert done.stdout == ""
    assert not (tmp_path / "backworks.yaml").exists()


def test_a_discriminator_makes_each_branch_require_its_own_names(tmp_path):
    """OpenAPI picks a oneOf branch by the discriminator's value; as JSON Schema each $ref
    branch requires that value (the mapping's names for it, else the schema's name), so a
    value fits one branch, not every open one."""
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "pets", "version": "1"},
        "paths": {
            "/pets": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}
                        }
                    },
                    "responses": {"204": {"description": "ok"}},
                }
            }
        },
        "components": {
            "schemas": {
                "Pet": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/Cat"},
                        {"$ref": "#/components/schemas/Dog"},
                    ],
                    "discriminator": {
                        "propertyName": "kind",
                        "mapping": {"cat": "#/components/schemas/Cat", "kitty": "Cat"},
                    },
                },
                "Cat": {"type": "object", "properties": {"kind": {"type": "string"}}},
                "Dog": {"type": "object", "properties": {"kind": {"type": "string"}}},
            }
        },
    }
    path = write(tmp_path / "pets.json", json.dumps(spec))
    target = tmp_path / "backworks.yaml"
    write_config(target, import_openapi(path, existing=target).text)
    schema = load_config(target).endpoints["post_pets"]["request"]["schema"]
    cat, dog = schema["oneOf"]
    assert cat["required"] == ["kind"] and cat["properties"]["kind"] == {"enum": ["cat", "kitty"]}
    assert dog["properties"]["kind"] == {"enum": ["Dog"]}  # no mapping: the schema's name
    check = Draft202012Validator(schema)
    assert check.is_valid({"kind": "kitty"}) and check.is_valid({"kind": "Dog"})
    assert not check.is_valid({"kind": "cow"})
    # Without the names, a cat fitted both open branches, and so none of a oneOf.
    plain = {"oneOf": [cat["allOf"][0], dog["allOf"][0]]}
    assert not Draft202012Validator(plain).is_valid({"kind": "cat"})
