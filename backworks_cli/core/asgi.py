"""THE ASGI type aliases every host and the sample API use (as starlette.types defines them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def read_body(receive: Receive, limit: int) -> bytes | bool | None:
    """A request's body; None once it passes `limit` bytes (the rest is left unread), False
    when the client disconnected first."""
    message = await receive()
    if message["type"] == "http.disconnect":
        return False
    chunk = message.get("body", b"")
    if not message.get("more_body"):
        return chunk if len(chunk) <= limit else None
    chunks, size = [chunk], len(chunk)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
