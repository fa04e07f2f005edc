"""The ground every wing stands on: the error family and exit codes (errors), the frozen
Request/Response/Message/Exchange records (exchange), atomic file writes and the rule that
tells a file changed (files), port checks (ports), percentiles and latency (numbers), the
rules of path shapes and parameters (paths), the one router that files a request under an
endpoint template for infer and the engine alike (routing), and the ASGI type aliases
(asgi). Plain data and functions over it; core imports nothing from backworks_cli outside
core, and no third-party library.
"""
