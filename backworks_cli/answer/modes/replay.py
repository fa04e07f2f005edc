"""Mode `replay`: the recorded response whose request matches, or a 404 that explains the miss.

Every recording's response is prepared once, when the mode is built: hop-by-hop headers go, and
so do Content-Encoding, Content-Length and Transfer-Encoding, because stored bodies are decoded
and the host frames the body itself. A hit returns a prebuilt Outcome, so it allocates nothing.
A miss answers 404 with `x-backworks-miss: 1` and the nearest recordings with the matchers each
one failed (matching.Miss). Whether a match is reused or moves on to the next repeat is the
endpoint's `replay.sequence` (see matching.ReplayIndex).
"""

from __future__ import annotations

from typing import Any

from backworks_cli.answer.misses import Miss
from backworks_cli.answer.modes.base import Context, Outcome, miss_outcome
from backworks_cli.core.exchange import Request, Response

# Headers that describe one connection or the body's framing on the wire, not the response.
DROPPED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-encoding",
        "content-length",
    }
)


def prepare(response: Response) -> Response:
    """The recorded response as the host should send it (see the module docstring)."""
    listed = {
        token.strip().lower()
        for name, value in response.headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    headers = tuple(
        (name, value)
        for name, value in response.headers
        if name.lower() not in DROPPED_HEADERS and name.lower() not in listed
    )
    return Response(response.status, headers, response.body, response.reason, response.http_version)


class ReplayMode:
    """Recorded answers for one endpoint; `label` is the mode name outcomes carry."""

    name = "replay"

    def __init__(self, context: Context, label: str = "replay", *, stable: bool = True):
        self.context = context
        self.label = label
        self._redact = context.redact
        self._index = context.index
        self._hits: dict[int, Outcome] = {}
        # Hits are stable unless the caller answers from something that changes (mock's state).
        always = self._index.always_served() if stable else set()
        for exchange in context.recordings:
            self._hits[id(exchange)] = Outcome(
                prepare(exchange.response),
                context.name,
                label,
                "replayed",
                stable=id(exchange) in always,
            )

    def lookup(self, request: Request, *, explain: bool = True) -> Outcome | Miss:
        """The prepared hit for `request`, or the Miss explaining why there is none."""
        if self._redact is not None:
            request = self._redact(request)
        found = self._index.lookup(request, explain=explain)
        if isinstance(found, Miss):
            return found
        outcome = self._hits.get(id(found))
        if outcome is None:  # an exchange the index knows but the context did not list
            outcome = Outcome(prepare(found.response), self.context.name, self.label, "replayed")
            self._hits[id(found)] = outcome
        return outcome

    def handle(self, request: Request, params: dict[str, Any]) -> Outcome:
        found = self.lookup(request)
        if isinstance(found, Miss):
            return miss_outcome(found, self.context.name, self.label)
        return found

    def reset(self) -> None:
        self._index.reset()


def create(context: Context) -> ReplayMode:
    return ReplayMode(context)
