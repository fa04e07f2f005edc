"""A tiny, fast HTTP/1.1 upstream for benchmarks (stdlib asyncio, pre-built responses).

It does close to nothing per request, so the proxy in front of it is what gets measured.
The canonical scenario: GET /users/{id} (about 500 B of JSON), GET /users (a list of 20,
about 10 KB), POST /users (201, echoing the body); anything else 404.

    python3 bench/upstream.py --port 18080
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re

USER_PATH = re.compile(rb"^/users/\d+$")


def user(n: int) -> dict:
    return {
        "id": n,
        "uuid": f"6f1c2a4e-93b1-4c1e-9d7a-{n:012d}",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": f"ada{n}@example.com",
        "username": f"ada{n}",
        "phone": "+44 20 7946 0958",
        "company": "Analytical Engines Ltd",
        "job_title": "Mathematician",
        "created_at": "2026-01-15T09:30:00Z",
        "address": {
            "street": "12 St James's Square",
            "city": "London",
            "postcode": "SW1Y 4JH",
            "country_code": "GB",
        },
        "balance": 1234.56,
        "currency": "GBP",
        "active": True,
    }


def response(status: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


USER = response(b"200 OK", json.dumps(user(1)).encode())
USERS = response(b"200 OK", json.dumps([user(n) for n in range(1, 21)]).encode())
NOT_FOUND = response(b"404 Not Found", b'{"error":"not found"}')


class Http(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4 : head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length :]
            method, target = head.split(b" ", 2)[:2]
            path = target.split(b"?", 1)[0]
            if method == b"GET" and USER_PATH.match(path):
                self.transport.write(USER)
            elif method == b"GET" and path == b"/users":
                self.transport.write(USERS)
            elif method == b"POST" and path == b"/users":
                self.transport.write(response(b"201 Created", body))
            else:
                self.transport.write(NOT_FOUND)


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http, host, port, reuse_address=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
