"""backworks.yaml: the typed model of the file (model), its JSON Schema, the single source of
truth for what a key means (schema), loading with line-numbered errors and warnings (load),
and the one owner of YAML itself (yamlfile): reading with line marks, round-trip writing
with ruamel.yaml that keeps the user's comments, and minimal line edits. config imports
core only; nothing else in the package imports PyYAML or ruamel.yaml.
"""
