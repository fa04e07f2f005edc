"""backworks.yaml: the typed model of the file (model), its JSON Schema, the single source of
truth for what a key means (schema), and loading with line-numbered errors and warnings
(load); the one
owner of YAML itself (yamlfile): reading with line marks, plain and JSON-like loading, and
round-trip writing with ruamel.yaml that keeps the user's comments; and promote's minimal
line edits on top of it (yamledit). config imports core only; nothing else in the package
imports PyYAML or ruamel.yaml.
"""
