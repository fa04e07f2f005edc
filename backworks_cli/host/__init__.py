"""Hosting: the mock host (an ASGI app, the wire form of its answers, mock_run its uvicorn
runner) and its fast path for stable answers, the serve host that runs each endpoint in its
own mode, the admin API under /__backworks/, the journal, metrics and verification (stats),
the one watcher of files for hot reload (reload), the mitmproxy runner for capture and serve's
proxy, and the capture CA (certs). host imports every layer below it; the admin API's actions
from above (promote) are handed in as callables by the CLI.
"""
