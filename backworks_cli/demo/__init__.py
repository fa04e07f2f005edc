"""`backworks demo`: the whole journey (capture, infer, mock, promote, serve) run as child
processes against the built-in sample shop API (journey), and that API itself, a small
ASGI app with state (sample_api). demo sits at the top beside cli.py and may import any
wing; nothing imports demo but cli.py.
"""
