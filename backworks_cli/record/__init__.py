"""Recording: the mitmproxy addon that turns flows into exchanges (capture, the Recorder
only), the SQLite recordings store (store), redaction of secrets before anything is written
(redact), HAR and JSON-lines import and export (formats), and plain-text tables of
recordings (render). record imports core and config; what it needs from above (naming an
exchange's endpoint, counting it in a host's journal) is handed in as a callable.
"""
