"""The dashboard's side of the admin API: JSON snapshots and actions over httpx, and the event
stream read chunk by chunk. Every way of not reaching a backworks host becomes `Offline`,
whose message says what was tried and what answered."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from backworks_cli.core.errors import InputError
from backworks_cli.dashboard.model import SSEParser

ADMIN = "/__backworks/"
TIMEOUT = 5.0  # seconds for a snapshot or an action
STREAM_READ_TIMEOUT = 45.0  # the host sends a keep-alive every 15 s; silence beyond is a loss
# Ordinary requests a second the host sends (every notable one comes too): more than a log can
# show, enough for percentiles, and what keeps the dashboard from taking a loaded host's CPU.
ORDINARY = 500
_URL = re.compile(r"^https?://[^\s/?#]+/?$")


class Offline(Exception):
    """No backworks host answers: `reason` says what happened, in a few words; `answered` is
    True when something answered, just not as a backworks host; `refused` when a backworks
    host answered but refused the dashboard (no token, or not this one)."""

    def __init__(self, reason: str, answered: bool = False, refused: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.answered = answered
        self.refused = refused


class ActionFailed(Exception):
    """The host refused an action; the message is its error and hint."""


def check_url(url: str) -> str:
    """The host's base URL without a trailing slash; InputError when it is not one."""
    if not _URL.match(url.strip()):
        raise InputError(
            f"--url {url!r} is not the base URL of a backworks host.",
            "Give scheme, host and port only, e.g. --url http://127.0.0.1:3000",
        )
    return url.strip().rstrip("/")


class AdminClient:
    """One host's admin API, with its bearer token when one is given. Methods raise Offline
    when the host cannot be reached."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = TIMEOUT):
        self.url = check_url(url)
        headers = {"Authorization": f"Bearer {token}"} if token else None
        # No proxies from the environment: the host is usually on loopback.
        self._http = httpx.AsyncClient(
            base_url=self.url + ADMIN, headers=headers, timeout=timeout, trust_env=False
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def _get(self, name: str, **params: Any) -> Any:
        try:
            reply = await self._http.get(name, params=params or None)
        except httpx.HTTPError as error:
            raise Offline(_why(error)) from None
        if reply.status_code in (401, 403) and name == "health":
            raise Offline(_refused(reply), answered=True, refused=True)
        if reply.status_code != 200 and name == "health":
            raise Offline(f"GET {ADMIN}health gave {reply.status_code}", answered=True)
        try:
            return reply.json()
        except ValueError:
            raise Offline(f"GET {ADMIN}{name} gave something that is not JSON", True) from None

    async def health(self) -> dict:
        return await self._get("health")

    async def endpoints(self) -> list[dict]:
        return (await self._get("endpoints")).get("endpoints", [])

    async def requests(self, limit: int) -> list[dict]:
        return (await self._get("requests", limit=limit)).get("requests", [])

    async def exchange(self, ident: int) -> dict:
        """One journaled request with headers and bodies; ActionFailed when it is gone."""
        data = await self._get("exchange", id=ident)
        if "error" in data:
            raise ActionFailed(data["error"])
        return data

    async def _post(self, name: str, body: dict | None = None) -> dict:
        try:
            reply = await self._http.post(name, json=body or {})  # the admin API takes JSON only
        except httpx.HTTPError as error:
            raise Offline(_why(error)) from None
        try:
            data = reply.json()
        except ValueError:
            data = {"error": reply.text.strip() or f"HTTP {reply.status_code}"}
        if reply.status_code >= 400:
            hint = f" Hint: {data['hint']}" if data.get("hint") else ""
            raise ActionFailed(f"{data.get('error', reply.status_code)}{hint}")
        return data

    async def promote(self, endpoint: str, to: str) -> dict:
        return await self._post("promote", {"endpoint": endpoint, "to": to})

    async def record(self, endpoint: str) -> dict:
        """Toggle recording of a proxy endpoint (serve only)."""
        return await self._post("record", {"endpoint": endpoint})

    async def reset(self) -> dict:
        return await self._post("reset")

    async def events(self, parser: SSEParser) -> AsyncIterator[list[dict] | None]:
        """The event stream: yields None once the host accepted the subscription, then the
        events of each chunk as it arrives (maybe none, when a chunk held only a keep-alive or
        part of a line). Raises Offline when the stream cannot start or ends."""
        timeout = httpx.Timeout(TIMEOUT, read=STREAM_READ_TIMEOUT)
        try:
            params = {"ordinary": ORDINARY}
            async with self._http.stream("GET", "events", params=params, timeout=timeout) as reply:
                if reply.status_code in (401, 403):
                    await reply.aread()
                    raise Offline(_refused(reply), True, refused=True)
                if reply.status_code != 200:
                    raise Offline(f"GET {ADMIN}events gave {reply.status_code}", True)
                yield None
                async for chunk in reply.aiter_raw():
                    yield parser.feed(chunk)
        except httpx.HTTPError as error:
            raise Offline(_why(error)) from None
        raise Offline("the host ended the event stream")


def _refused(reply: httpx.Response) -> str:
    """Why the host refused the dashboard, in its own words where it gave them."""
    try:
        error = reply.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if reply.status_code == 401:
        return (
            f"it wants its admin token ({error or 401}); pass --admin-token, or run the "
            "dashboard in the project folder where the host wrote admin.token"
        )
    return f"it refused the dashboard ({error or reply.status_code})"


def _why(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.ConnectError):
        return "connection refused"
    if isinstance(error, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(error, httpx.RemoteProtocolError):
        return "the host closed the connection"
    return str(error) or type(error).__name__
