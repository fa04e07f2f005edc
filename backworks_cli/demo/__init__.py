"""`backworks demo`: the whole journey (capture, infer, mock, promote, serve) run as child
processes against the built-in sample shop API (journey, with its child processes in
processes and its 80-column text in terminal), and that API itself, a small ASGI app with
state (sample_api). demo sits at the top beside cli.py and may import any wing; nothing
imports demo but cli.py.
"""
