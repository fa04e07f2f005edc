"""Learning an API from what was recorded or described: infer (recordings to
backworks.yaml), path templating (templates), single values and their formats (values),
JSON Schemas with genson and enrichment (schemas) and their merging (merge), field
semantics from the shipped ONNX model (semantic, over features shared with training, with
semantic_rules as the baseline), deterministic data from a schema with Faker and
hypothesis-jsonschema (generate, built from generation/), and OpenAPI import and export
(openapi). learn imports core, config and record, never the engine or the hosts.
"""
