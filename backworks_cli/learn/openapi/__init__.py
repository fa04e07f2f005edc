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

spec reads a document (and holds what export and import share), export writes one, importing
merges one into backworks.yaml.
"""
