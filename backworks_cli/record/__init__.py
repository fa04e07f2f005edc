"""Recording: the mitmproxy addon that turns flows into exchanges (capture, the Recorder
only); the SQLite recordings store (store, with store_rows for an exchange as a row and
store_schema for the file itself); redaction of secrets before anything is written (redact,
with redact_rules for what counts as a secret by name, detectors for secrets by shape,
redact_json and redact_text for where they sit in bodies, and propagate for replacing a found
secret everywhere it recurs); `backworks scan` over files (scan); HAR and
JSON-lines import and export (formats, with har, jsonl and format_values); and plain-text
tables of recordings (render). record imports core and config; what it needs from above
(counting an exchange in a host's journal) is handed in as a callable.
"""
