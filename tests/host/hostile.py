"""What the HTTP robustness tests throw at a host: a project with an endpoint in every mode, a
raw-socket client that tells an answer from a close from a hang, a small h11 upstream for
capture to record, and a seeded generator of malformed requests."""

from __future__ import annotations

import json
import random
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import h11

from backworks_cli.core.exchange import Exchange, Request, Response
from backworks_cli.record.store import Store

JSON = (("Content-Type", "application/json"),)
DEADLINE = 5.0  # seconds a host has to answer (or close) one connection
DIGITS = b"9" * 5000  # past the 4300 digits Python converts from text

WIDGET = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "price": {"type": "number"},
    },
}
# A worker in another process (runtime `command`) that echoes what it was given.
WORKER = """\
import json, sys
for line in sys.stdin:
    request = json.loads(line)
    answer = {"q": request["query"], "body": request.get("body"), "path": request["path"]}
    print(json.dumps({"id": request["id"], "status": 200, "body": answer}), flush=True)
"""
HANDLER = """\
def handle(request):
    return {"status": 200, "body": {"query": request["query"], "body": request.get("body")}}
"""


def write_project(directory: Path, **server) -> Path:
    """backworks.yaml with an endpoint in every mode (replay, mock with typed parameters and a
    request schema, mock state, a Python handler, a worker process, database tables, one
    nested), over a store holding what replay and database mode start from."""
    store = directory / "recordings" / "backworks.db"
    store.parent.mkdir(parents=True, exist_ok=True)

    def recorded(method: str, path: str, answer: object, body: bytes = b"") -> Exchange:
        request = Request(method, path, headers=(("Host", "api.test"), *JSON), body=body)
        reply = Response(200, JSON, json.dumps(answer).encode())
        return Exchange(request, reply, started_at=time.time(), duration_ms=2.0)

    with Store.open(store, create=True) as db:
        db.add_many(
            [
                recorded("GET", "/api/things/1", {"id": 1}),
                recorded("POST", "/api/things/1", {"ok": True}, b'{"n": 1}'),
                recorded("GET", "/api/users", [{"id": 1, "name": "Ada"}]),
                recorded("GET", "/api/users/1", {"id": 1, "name": "Ada"}),
                recorded("GET", "/api/notes", [{"id": 1, "text": "first", "user_id": 1}]),
            ]
        )
    handlers = directory / "handlers"
    handlers.mkdir(exist_ok=True)
    (handlers / "hello.py").write_text(HANDLER)
    (handlers / "worker.py").write_text(WORKER)
    endpoints = {
        "things_id": {"path": "/api/things/{id}", "methods": ["GET", "POST"], "mode": "replay"},
        "get_widgets_id": {
            "path": "/api/widgets/{id}",
            "methods": ["GET"],
            "mode": "mock",
            "params": {"id": {"type": "integer"}},
            "query": {"page": {"type": "integer"}, "ratio": {"type": "number"}},
            "responses": {"200": {"schema": WIDGET}},
        },
        "post_widgets": {
            "path": "/api/widgets",
            "methods": ["POST"],
            "mode": "mock",
            "request": {"schema": WIDGET},
            "responses": {"201": {"schema": WIDGET}},
        },
        "users": {"path": "/api/users", "methods": ["GET", "POST"], "mock": {"state": True}},
        "user": {
            "path": "/api/users/{id}",
            "methods": ["GET", "PUT", "PATCH", "DELETE"],
            "params": {"id": {"type": "integer"}},
            "mock": {"state": True},
        },
        "hello": {
            "path": "/api/hello",
            "methods": ["GET", "POST"],
            "mode": "runtime",
            "runtime": {"language": "python", "handler": "handlers/hello.py"},
        },
        "echo": {
            "path": "/api/echo/{name}",
            "methods": ["GET", "POST"],
            "mode": "runtime",
            "runtime": {"language": "command", "command": [sys.executable, "handlers/worker.py"]},
        },
        "notes": {
            "path": "/api/notes",
            "methods": ["GET", "POST"],
            "mode": "database",
            "database": {"rows": 0},
        },
        "notes_id": {
            "path": "/api/notes/{id}",
            "methods": ["GET", "PUT", "PATCH", "DELETE"],
            "mode": "database",
        },
        "user_notes": {
            "path": "/api/users/{user_id}/notes",
            "methods": ["GET", "POST"],
            "mode": "database",
            "database": {"table": "notes"},
        },
    }
    config = {"recordings": {"path": str(store)}, "endpoints": endpoints}
    if server:
        config["server"] = server
    path = directory / "backworks.yaml"
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path


# --- a raw-socket client ---------------------------------------------------------------------


@dataclass
class Reply:
    """What one connection got: the status (None without a response), the response head and
    body, whether the whole response arrived, and whether the host closed or stayed silent."""

    status: int | None
    head: bytes = b""
    body: bytes = b""
    whole: bool = False
    closed: bool = False

    @property
    def hung(self) -> bool:
        """Neither a whole answer nor a close within the deadline."""
        return not self.whole and not self.closed

    def header(self, name: bytes) -> bytes | None:
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name:
                return value.strip()
        return None

    def json(self) -> object:
        return json.loads(self.body)


def send(port: int, data: bytes, *, finish: bool = False, head_only: bool = False) -> Reply:
    """Send `data` on a new connection to 127.0.0.1:`port` and read one response (the first
    after any 1xx), within DEADLINE. `finish` half-closes the connection after sending, for a
    request that is incomplete on purpose; `head_only` is for the answer to a HEAD."""
    deadline = time.monotonic() + DEADLINE
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as sock:
        try:
            sock.sendall(data)
            if finish:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # the host closed before taking it all: it has answered, or not
            pass
        buffer, closed = b"", False
        while True:
            reply = _parse(buffer, head_only)
            if reply.whole:
                return reply
            if closed:
                reply.closed = True
                # Without Content-Length or chunks, a response ends where the connection does.
                reply.whole = reply.status is not None and not _framed(reply)
                return reply
            left = deadline - time.monotonic()
            if left <= 0:
                return reply
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return reply
            except OSError:  # reset by the host
                chunk = b""
            closed = not chunk
            buffer += chunk


def _parse(buffer: bytes, head_only: bool) -> Reply:
    """The first final response in `buffer`, as much of it as has arrived."""
    while b"\r\n\r\n" in buffer:
        head, _, rest = buffer.partition(b"\r\n\r\n")
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        if status is not None and 100 <= status < 200:
            buffer = rest
            continue
        reply = Reply(status, head, rest)
        reply.whole = status is not None and _complete(reply, head_only)
        return reply
    return Reply(None, body=buffer)


def _framed(reply: Reply) -> bool:
    chunked = b"chunked" in (reply.header(b"transfer-encoding") or b"").lower()
    return chunked or reply.header(b"content-length") is not None


def _complete(reply: Reply, head_only: bool) -> bool:
    if head_only or reply.status in (204, 304):
        return True
    length = reply.header(b"content-length")
    if length is not None:
        return length.isdigit() and len(reply.body) >= int(length)
    if b"chunked" in (reply.header(b"transfer-encoding") or b"").lower():
        return reply.body.endswith(b"\r\n\r\n") and b"0\r\n" in reply.body
    return False  # read until the host closes


# --- requests, well-formed and not ----------------------------------------------------------


@dataclass
class Raw:
    """A request as bytes on the wire, built from parts a mutation may break."""

    method: bytes
    target: bytes
    version: bytes = b"HTTP/1.1"
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    chunked: bool = False
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)
    before: bytes = b""  # bytes ahead of the request line
    raw_body: bytes | None = None  # the body as sent, when a mutation wrote it itself
    complete: bool = True  # False: the host must wait for more, so the client half-closes
    note: str = "valid"

    def wire(self) -> bytes:
        lines = [b"%s %s %s" % (self.method, self.target, self.version)]
        lines += [b"%s: %s" % pair for pair in self.headers]
        head = self.before + b"\r\n".join(lines) + b"\r\n\r\n"
        if self.raw_body is not None:
            return head + self.raw_body
        if self.chunked:
            body = b"%x\r\n%s\r\n" % (len(self.body), self.body) if self.body else b""
            trailer = b"".join(b"%s: %s\r\n" % pair for pair in self.trailers)
            return head + body + b"0\r\n" + trailer + b"\r\n"
        return head + self.body


def request(method: str, target: str, body: object = None, *, close: bool = True) -> Raw:
    """A well-formed request to the project's host, JSON body framed by Content-Length."""
    headers = [(b"Host", b"api.test")]
    data = b"" if body is None else json.dumps(body).encode()
    if body is not None:
        headers += [(b"Content-Type", b"application/json"), (b"Content-Length", b"%d" % len(data))]
    if close:
        headers.append((b"Connection", b"close"))
    return Raw(method.encode(), target.encode(), headers=headers, body=data)


BASES = (
    ("GET", "/api/things/1", None),
    ("POST", "/api/things/1", {"n": 1}),
    ("HEAD", "/api/things/1", None),
    ("GET", "/api/widgets/7?page=2&ratio=0.5", None),
    ("POST", "/api/widgets", {"id": 1, "name": "bolt", "price": 2.5}),
    ("GET", "/api/users", None),
    ("POST", "/api/users", {"name": "Grace"}),
    ("PUT", "/api/users/1", {"name": "Ada L."}),
    ("GET", "/api/hello?name=x", None),
    ("POST", "/api/echo/x", {"a": [1, 2]}),
    ("GET", "/api/notes?user_id=1", None),
    ("POST", "/api/notes", {"text": "new", "user_id": 1}),
    ("PATCH", "/api/notes/1", {"text": "changed"}),
    ("GET", "/api/users/1/notes", None),
    ("DELETE", "/api/notes/999", None),
    ("GET", "/api/nowhere/1", None),
)

_BAD_BYTES = (b"\xff", b"\xfe\xfe", b"\xc3\x28", b"\xc0\xaf", b"\x80", b"\xed\xa0\x80", b"\x00")
_BAD_BYTES += (b"\x01", b"\x1b[0m", b"\x7f", b"%FF", b"%C3%28", b"%00", b"%", b"%zz", b"\\", b'"')
_NUMBERS = (DIGITS, b"-" + DIGITS, b"1e999", b"-1e999", b"9" * 4300, b"1" + b"0" * 30)
_NUMBERS += (b"9223372036854775808", b"-9223372036854775809", b"1e308", b"NaN", b"Infinity")


def _method(rng: random.Random, raw: Raw) -> Raw:
    choices = (
        b"G\xe9T",
        b"GE\x00T",
        b"\xff",
        b"get",
        b"G T",
        b"GET\t",
        b"X" * 300,
        b"",
        b"\x16\x03",
    )
    return replace(raw, method=rng.choice(choices + (bytes(rng.randrange(256) for _ in range(4)),)))


def _target(rng: random.Random, raw: Raw) -> Raw:
    target = raw.target or b"/"
    at = rng.randrange(1, len(target) + 1)
    return replace(raw, target=target[:at] + rng.choice(_BAD_BYTES) + target[at:])


def _version(rng: random.Random, raw: Raw) -> Raw:
    versions = (b"HTTP/1.2", b"HTTP/2.0", b"HTTP/9.9", b"HTTP/1", b"http/1.1", b"HTTP/1.1\x00")
    versions += (b"", b"HTTP/1.10", b"HTCPCP/1.0", b"HTTP/\xff.1", b"HTTP/1.0")
    return replace(raw, version=rng.choice(versions))


def _number(rng: random.Random, raw: Raw) -> Raw:
    number = rng.choice(_NUMBERS)
    where = rng.randrange(3)
    if where == 0 and raw.target.rsplit(b"/", 1)[-1][:1].isdigit():
        path, _, query = raw.target.partition(b"?")
        path = path.rsplit(b"/", 1)[0] + b"/" + number
        return replace(raw, target=path + (b"?" + query if query else b""))
    if where == 1:
        glue = b"&" if b"?" in raw.target else b"?"
        name = rng.choice((b"page", b"ratio", b"id", b"user_id", b"id_lt", b"limit"))
        return replace(raw, target=raw.target + glue + name + b"=" + number)
    body = b'{"id": %s, "text": %s, "price": %s}' % (number, number, number)
    return _with_body(raw, body)


def _with_body(raw: Raw, body: bytes) -> Raw:
    headers = [(n, v) for n, v in raw.headers if n.lower() != b"content-length"]
    headers.append((b"Content-Length", b"%d" % len(body)))
    if not any(n.lower() == b"content-type" for n, _ in headers):
        headers.append((b"Content-Type", b"application/json"))
    return replace(raw, headers=headers, body=body)


def _long_header(rng: random.Random, raw: Raw) -> Raw:
    kind = rng.randrange(3)
    if kind == 0:
        extra = [(b"X-Long", b"a" * rng.choice((8_000, 70_000)))]
    elif kind == 1:
        extra = [(b"X-Many-%d" % n, b"v") for n in range(rng.choice((200, 1000)))]
    else:
        extra = [(b"X" * 10_000, b"v")]
    return replace(raw, headers=[*raw.headers, *extra])


def _chunked(rng: random.Random, raw: Raw) -> Raw:
    headers = [(n, v) for n, v in raw.headers if n.lower() != b"content-length"]
    headers.append((b"Transfer-Encoding", b"chunked"))
    body = raw.body or b'{"a": 1}'
    chunked = replace(raw, headers=headers, body=body, chunked=True)
    kind = rng.randrange(9)
    if kind == 0:
        return replace(chunked, note="chunked")
    if kind == 1:
        pairs = [(b"X-Checksum", b"abc"), (b"X-Trace", b"1")][: rng.randrange(1, 3)]
        return replace(chunked, trailers=pairs, note="chunked with trailers")
    if kind == 2:
        bad = rng.choice(((b"X-Bad\x00", b"v"), (b"no colon", b""), (b"Content-Length", b"99")))
        return replace(chunked, trailers=[bad], note="chunked with a bad trailer")
    if kind == 3:
        return replace(chunked, raw_body=b"zz\r\n" + body + b"\r\n0\r\n\r\n", note="bad chunk size")
    if kind == 4:
        wire = b"%x;ext=1\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        return replace(chunked, raw_body=wire, note="chunk extension")
    if kind == 5:  # a chunk that says more than it holds: the host waits for the rest
        wire = b"%x\r\n%s" % (len(body) + 50, body)
        return replace(chunked, raw_body=wire, complete=False, note="short chunk")
    if kind == 6:
        wire = b"ffffffffffffffff\r\n" + body
        return replace(chunked, raw_body=wire, complete=False, note="huge chunk")
    if kind == 7:
        both = [*headers, (b"Content-Length", b"%d" % len(body))]
        return replace(chunked, headers=both, note="chunked and Content-Length")
    return replace(chunked, raw_body=b"%x\r\n%s0\r\n\r\n" % (len(body), body), note="no CRLF")


def _truncated(rng: random.Random, raw: Raw) -> Raw:
    body = raw.body or b'{"text": "cut short"}'
    cut = replace(_with_body(raw, body), complete=False, note="truncated body")
    return replace(cut, body=body[: rng.randrange(len(body))])


def _length(rng: random.Random, raw: Raw) -> Raw:
    body = raw.body or b'{"n": 1}'
    size = b"%d" % len(body)
    value = rng.choice((b"abc", b"-1", size + b", " + size, b"+" + size, b"0x10", DIGITS, b""))
    headers = [(n, v) for n, v in raw.headers if n.lower() != b"content-length"]
    if rng.random() < 0.3:
        headers.append((b"Content-Length", size))  # and a second one
    headers.append((b"Content-Length", value))
    return replace(raw, headers=headers, body=body, note="bad Content-Length")


def _nul(rng: random.Random, raw: Raw) -> Raw:
    kind = rng.randrange(3)
    if kind == 0:
        return replace(raw, headers=[*raw.headers, (b"X-Nul", b"a\x00b")])
    if kind == 1:
        return replace(raw, headers=[*raw.headers, (b"X-\x00", b"v")])
    return _with_body(raw, b'{"text": "a\x00b"}')


def _folded(rng: random.Random, raw: Raw) -> Raw:
    return replace(raw, headers=[*raw.headers, (b"X-Folded", b"first\r\n  second")])


def _blank_lines(rng: random.Random, raw: Raw) -> Raw:
    return replace(raw, before=rng.choice((b"\r\n", b"\n", b"\r\n\r\n")))


def _garbage(rng: random.Random, raw: Raw) -> Raw:
    noise = bytes(rng.randrange(0x21, 256) for _ in range(rng.randrange(1, 80)))
    return replace(raw, method=noise, target=b"", version=b"", headers=[], body=b"")


def _form(rng: random.Random, raw: Raw) -> Raw:
    target = rng.choice((b"*", b"http://api.test/api/things/1", b"api.test:80", b"//x", b"?"))
    method = b"CONNECT" if target == b"api.test:80" else raw.method
    return replace(raw, method=method, target=target)


MUTATIONS = (
    _method,
    _target,
    _version,
    _number,
    _long_header,
    _chunked,
    _truncated,
    _length,
    _nul,
    _folded,
    _blank_lines,
    _garbage,
    _form,
)


def cases(seed: int, count: int) -> Iterator[tuple[str, Raw]]:
    """`count` requests, the same for the same seed: one in eight well-formed, the rest with
    one or two mutations; each named for the failure message."""
    rng = random.Random(seed)
    for n in range(count):
        raw = request(*rng.choice(BASES))
        names = []
        if rng.random() >= 0.125:
            for mutate in rng.sample(MUTATIONS, rng.choice((1, 1, 2))):
                raw = mutate(rng, raw)
                names.append(mutate.__name__.strip("_"))
        yield f"#{n} {'+'.join(names) or 'valid'} ({raw.note})", raw


def fire(port: int, raw: Raw) -> Reply:
    head_only = raw.method == b"HEAD"
    return send(port, raw.wire(), finish=not raw.complete, head_only=head_only)


# --- an upstream for capture -----------------------------------------------------------------


class Upstream:
    """An HTTP/1.1 server on 127.0.0.1 built on h11: every request h11 accepts gets a 200 with
    what it received (method, target, body length, trailers), and a chunked response with a
    trailer for /trailers; one h11 refuses gets a 400. What it received is kept in `seen`."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.seen: list[dict] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Upstream:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        http = h11.Connection(h11.SERVER)
        conn.settimeout(DEADLINE * 2)
        with conn:
            try:
                while self._one(conn, http):
                    http.start_next_cycle()
            except h11.RemoteProtocolError:  # as most servers do: a 400, then close
                if http.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    body = b'{"error": "refused by the upstream"}'
                    head = b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n" % len(body)
                    conn.sendall(head + b"Connection: close\r\n\r\n" + body)
            except OSError:
                pass

    def _one(self, conn: socket.socket, http: h11.Connection) -> bool:
        got: dict = {"body": 0}
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                data = conn.recv(65536)
                http.receive_data(data)
                if not data and http.their_state is h11.IDLE:
                    return False
                continue
            if event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                return False
            if isinstance(event, h11.Request):
                got.update(method=event.method.decode("latin-1"))
                got.update(target=event.target.decode("latin-1"))
            elif isinstance(event, h11.Data):
                got["body"] += len(event.data)
            elif isinstance(event, h11.EndOfMessage):
                got["trailers"] = {k.decode(): v.decode("latin-1") for k, v in event.headers}
                break
        self.seen.append(got)
        if got["target"] == "/trailers":
            headers = [("Transfer-Encoding", "chunked"), ("Trailer", "X-Sum")]
            data = http.send(h11.Response(status_code=200, headers=headers))
            data += http.send(h11.Data(data=b"hello"))
            conn.sendall(data + http.send(h11.EndOfMessage(headers=[("X-Sum", "42")])))
        else:
            self._write(conn, http, 200, got, head=got["method"] == "HEAD")
        return http.our_state is h11.DONE and http.their_state is h11.DONE

    @staticmethod
    def _write(
        conn: socket.socket, http: h11.Connection, status: int, value: dict, head: bool = False
    ) -> None:
        body = json.dumps(value).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        data = http.send(h11.Response(status_code=status, headers=headers))
        if not head:
            data += http.send(h11.Data(data=body))
        conn.sendall(data + http.send(h11.EndOfMessage()))
