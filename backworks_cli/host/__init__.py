"""Hosting: the mock host (an ASGI app; wire, the wire form of its answers; mock_run, its
uvicorn runner) and its fast path for stable answers; the serve host that runs each endpoint
in its own mode; the admin API under /__backworks/ (admin), who may use it (admin_access:
the token, loopback, Host and Origin) and on a port of its own for the proxying hosts
(admin_port); what it shows, redacted (scrub); the journal, metrics and verification
(stats); the one watcher
of files for hot reload (reload); what mock and serve refuse before the engine sees a request
(refusals: 400s, the 413 of server.max_body); the mitmproxy runner (runner) with capture's and
serve's proxies (capture_proxy, serve_proxy) and the gaps of mitmproxy's HTTP/1 layer it closes
(mitm_http1); and the capture CA (certs). host imports every layer below it.
"""
