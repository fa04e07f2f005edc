"""What the dashboard's worker tells the app: plain messages, each handled by one handler
that updates the model."""

from __future__ import annotations

from textual.message import Message


class Connected(Message):
    def __init__(self, health: dict, wall: float):
        super().__init__()
        self.health = health
        self.wall = wall


class Seeded(Message):
    def __init__(self, requests: list[dict]):
        super().__init__()
        self.requests = requests


class Streaming(Message):
    """The host accepted the event subscription: from now on every request comes as an event."""


class EventsReceived(Message):
    def __init__(self, events: list[dict], malformed: int = 0):
        super().__init__()
        self.events = events
        self.malformed = malformed


class EndpointsSnapshot(Message):
    def __init__(self, rows: list[dict], at: float):
        super().__init__()
        self.rows = rows
        self.at = at


class Disconnected(Message):
    def __init__(self, reason: str, answered: bool, retry_in: float, refused: bool = False):
        super().__init__()
        self.reason = reason
        self.answered = answered
        self.retry_in = retry_in
        self.refused = refused  # a backworks host that will not let the dashboard in


class ActionDone(Message):
    def __init__(self, text: str, ok: bool):
        super().__init__()
        self.text = text
        self.ok = ok
