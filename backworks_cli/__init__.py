"""backworks: record, learn, replay and evolve HTTP APIs you do not control.

The package is cut into wings by capability, so the tree reads as the journey:

    core/      errors, exchange records, files, ports, path shapes, the router, ASGI types
    config/    backworks.yaml: its model, its JSON Schema, loading, and the one YAML owner
    record/    the capture addon, the recordings store, redaction, HAR/JSONL, tables of text
    learn/     infer, schemas, semantic types, generation, OpenAPI import and export
    answer/    the engine, matching, drift, state, tables and the modes that answer
    evolve/    promotion of an endpoint from one mode to another, handler scaffolds
    host/      the HTTP hosts (mock, serve), the admin API, stats, reload, mitmproxy runner
    dashboard/ the Textual dashboard, a client of a host's admin API
    demo/      `backworks demo` and the built-in sample shop API
    cli.py     typer: one short function per command, the only place that prints or exits

Rules (tests/test_layout.py reads every import, lazy and TYPE_CHECKING ones too, and holds
the code to them):
- layers import downward only: core < config < record < learn < answer < evolve < host <
  {cli, demo}; nothing below cli.py imports it; the dashboard imports core only;
- no import cycles between modules;
- what a lower layer needs from above is handed in as a callable (the Recorder's
  `on_recorded`, which a host gives it to journal each exchange), never imported;
- each third-party library has one owner: mitmproxy the Recorder (record/capture.py) and the
  proxy runners in host/ (with host/mitm_http1.py, fixes to its HTTP/1 layer); PyYAML and
  ruamel.yaml config/yamlfile.py; genson learn/schemas.py; onnxruntime learn/semantic.py;
  Faker learn/generate.py and learn/generation/; hypothesis learn/generation/edges.py;
  sqlite-utils record/store_schema.py and answer/tables.py; detect-secrets
  record/detectors.py; Textual the dashboard; typer cli.py.
"""

__version__ = "0.1.0"
