"""Learning an API from what was recorded or described: infer (recordings to
backworks.yaml), path templating (templates), JSON Schemas with genson and enrichment
(schemas), field semantics from the shipped ONNX model (semantic), deterministic data from a
schema with Faker and hypothesis-jsonschema (generate), and OpenAPI import and export
(openapi). learn imports core, config and record, never the engine or the hosts.
"""
