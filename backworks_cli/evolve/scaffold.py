"""Runtime scaffolds: the handler file a newly promoted runtime endpoint starts from, in
Python, JavaScript (node) or shell, answering with the endpoint's first recorded example, else
a response generated from its schema. Every handler speaks the runtime protocol: one JSON
request per line on stdin, one JSON response per line on stdout.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import json
import math
import pprint
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backworks_cli.config.model import Config, Endpoint

LANGUAGES = ("python", "node", "shell", "command")
EXTENSIONS = {"python": "py", "node": "js", "shell": "sh"}


@dataclass(frozen=True)
class Scaffold:
    path: Path
    text: str
    executable: bool


class Examples:
    """Recorded example responses, from the store opened once when first needed."""

    def __init__(self, config: Config):
        self._path = config.recordings.path
        self._store: Any = None
        self._opened = False

    def response(self, exchange_id: int) -> Any:
        from backworks_cli.core.errors import StoreError

        if not self._opened:
            self._opened = True
            if self._path.exists():
                from backworks_cli.record.store import Store

                with contextlib.suppress(StoreError):
                    self._store = Store.open(self._path)
        if self._store is None:
            return None
        try:
            return self._store.get(exchange_id).response
        except StoreError:
            return None

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def scaffold_for(
    block: dict, endpoint: Endpoint, folder: Path, examples: Examples, notes: list[str]
) -> Scaffold | None:
    language = block.get("language")
    if language == "command":
        notes.append(
            f"{endpoint.name}: runtime.command is a placeholder "
            f"({' '.join(map(str, block.get('command') or []))}); replace it with the argv of "
            "your worker, which reads one JSON request per line on stdin and writes one JSON "
            "response per line on stdout."
        )
        return None
    handler = block.get("handler")
    if language not in EXTENSIONS or not isinstance(handler, str):
        return None
    target = folder / handler
    if target.exists():
        notes.append(f"{endpoint.name}: kept the existing handler {handler}.")
        return None
    example, source = example_response(endpoint, examples.response)
    render = {"python": python_handler, "node": node_handler, "shell": shell_handler}[language]
    return Scaffold(target, render(endpoint, example, source), language != "python")


def example_response(endpoint: Endpoint, recorded: Any = None) -> tuple[dict, str]:
    """(the response line a handler starts with, where it comes from): the first recorded
    example's response, else one generated from the response schema, else 200 with {}."""
    for exchange_id in endpoint.examples[:1]:
        response = recorded(exchange_id) if recorded else None
        if response is not None:
            content_type = response.header("content-type")
            answer = {"status": response.status}
            answer["headers"] = {"content-type": content_type} if content_type else {}
            answer.update(_protocol_body(content_type, response.body))
            return answer, f"recorded example (exchange {exchange_id})"
    from backworks_cli.answer.modes.mock import pick_status

    status, answer = pick_status(endpoint)
    if answer and answer.get("schema") is not None:
        from backworks_cli.learn.generate import Generator

        seed = endpoint.mock.get("seed") or 0
        body = Generator(int(seed)).generate(answer["schema"], key=f"{endpoint.name}|")
        headers = {"content-type": answer.get("content_type") or "application/json"}
        return {"status": status, "headers": headers, "body": _finite(body)}, (
            f"response generated from its {status} schema"
        )
    return {"status": status, "headers": {"content-type": "application/json"}, "body": {}}, (
        "empty JSON object (no recording or schema to start from)"
    )


def _protocol_body(content_type: str | None, body: bytes) -> dict:
    """A body as the runtime protocol carries it: JSON as JSON, other text as a string,
    anything else as base64. A JSON string stays text, so it is sent as recorded."""
    media = (content_type or "").split(";")[0].strip().lower()
    if body and (media == "application/json" or media.endswith("+json")):
        try:
            value = json.loads(body)
        except ValueError:
            value = None
        else:
            if not isinstance(value, str):
                return {"body": _finite(value)}
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(body).decode("ascii")}


def _finite(value: Any) -> Any:
    """Non-finite numbers (1e999 in a recording) as null: no handler language writes them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _about(endpoint: Endpoint) -> str:
    route = f"{','.join(endpoint.methods)} {endpoint.path}"
    return "".join(c if c.isprintable() else " " for c in f"{endpoint.name} ({route})")


def python_handler(endpoint: Endpoint, example: dict, source: str) -> str:
    imports = "import copy\n"
    literal = pprint.pformat(example, width=96, sort_dicts=False)
    try:
        same = ast.literal_eval(literal) == example
    except (ValueError, SyntaxError):
        same = False
    if not same:
        imports += "import json\n"
        literal = "json.loads(" + repr(json.dumps(example, ensure_ascii=False)) + ")"
    return f'''# Handler of endpoint {_about(endpoint)}.
"""backworks calls `handle(request)` in process for every request of the endpoint.

`request` is a dict with method, path, params, query, headers and body (JSON when the request
is JSON, else text, or body_base64 for binary); the answer is a dict with status, headers and
body (or body_base64). It starts out answering with the endpoint's {source},
so promoting the endpoint changed nothing a client sees; edit it to grow a real implementation.
"""

{imports}
EXAMPLE = {literal}


def handle(request: dict) -> dict:
    return copy.deepcopy(EXAMPLE)
'''


def node_handler(endpoint: Endpoint, example: dict, source: str) -> str:
    literal = json.dumps(example, indent=2, ensure_ascii=False)
    return f"""#!/usr/bin/env node
// Handler of endpoint {_about(endpoint)}.
//
// backworks runs this file as one long-lived worker: every request arrives as one JSON line
// on stdin ({{"id", "method", "path", "params", "query", "headers", "body"}}) and is answered,
// in order, by one JSON line on stdout with the same "id" and status, headers and body (or
// body_base64 for binary). It starts out answering with the endpoint's {source},
// so promoting the endpoint changed nothing a client sees; edit handle() to change that.
"use strict";
const readline = require("readline");

const EXAMPLE = {literal};

function handle(request) {{
  return JSON.parse(JSON.stringify(EXAMPLE));
}}

const lines = readline.createInterface({{ input: process.stdin, terminal: false }});
lines.on("line", (line) => {{
  if (!line.trim()) return;
  let id = null;
  let response;
  try {{
    const request = JSON.parse(line);
    id = request.id;
    response = handle(request);
  }} catch (error) {{
    response = {{ status: 500, headers: {{ "content-type": "application/json" }},
                 body: {{ error: String(error) }} }};
  }}
  process.stdout.write(JSON.stringify({{ id, ...response }}) + "\\n");
}});
"""


# Prints the top-level "id" of the JSON object on its input line, skipping strings and nested
# values, so that an "id" inside params or body is never taken for the request's.
_AWK_ID = r"""{
  s = $0; n = length(s); depth = 0; i = 1
  while (i <= n) {
    c = substr(s, i, 1)
    if (c == "\"") {
      j = i + 1
      while (j <= n && substr(s, j, 1) != "\"") j += (substr(s, j, 1) == "\\") ? 2 : 1
      key = substr(s, i, j - i + 1); i = j + 1
      if (depth != 1 || key != "\"id\"") continue
      while (substr(s, i, 1) ~ /[ \t]/) i++
      if (substr(s, i, 1) != ":") continue
      i++
      while (substr(s, i, 1) ~ /[ \t]/) i++
      j = i
      if (substr(s, j, 1) == "\"") {
        j++
        while (j <= n && substr(s, j, 1) != "\"") j += (substr(s, j, 1) == "\\") ? 2 : 1
        j++
      } else {
        while (j <= n && substr(s, j, 1) !~ /[,} \t]/) j++
      }
      print substr(s, i, j - i); exit
    }
    if (c == "{" || c == "[") depth++
    else if (c == "}" || c == "]") depth--
    i++
  }
}"""


def shell_handler(endpoint: Endpoint, example: dict, source: str) -> str:
    literal = json.dumps(example, ensure_ascii=False).replace("'", "'\\''")
    awk = _AWK_ID.replace("'", "'\\''")
    return f"""#!/bin/sh
# Handler of endpoint {_about(endpoint)}.
#
# backworks runs this script as one long-lived worker: every request arrives as one JSON line
# on stdin ({{"id", "method", "path", "params", "query", "headers", "body"}}) and is answered,
# in order, by one JSON line on stdout with the same "id" and status, headers and body (or
# body_base64 for binary). It starts out answering with the endpoint's {source},
# so promoting the endpoint changed nothing a client sees; edit handle() to change that.

EXAMPLE='{literal}'

# The response to the request line in $1, as a JSON object without its "id".
handle() {{
  printf '%s' "$EXAMPLE"
}}

# The request's top-level "id" (ids inside params or body are skipped).
request_id() {{
  printf '%s\\n' "$1" | awk '{awk}'
}}

while IFS= read -r line || [ -n "$line" ]; do
  [ -z "$line" ] && continue
  id=$(request_id "$line")
  response=$(handle "$line")
  printf '{{"id": %s, %s\\n' "${{id:-null}}" "${{response#?}}"
done
"""
