"""Modes: how one endpoint answers. One module per mode, each with `create(context) -> Mode`;
what they share (the Outcome record, the Context the engine builds, JSON responses, latency
and faults) is in base.py.

The engine routes a request to its endpoint and calls that endpoint's mode; a mode returns an
`Outcome`: the response to send and how it was made. A new mode is one module here and one
line in MODES. Each mode is imported when an endpoint first needs it, so a host that serves
no table never loads sqlite-utils and one that generates nothing never loads Faker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backworks_cli.answer.modes.base import Context, Mode


def _replay(context: Context) -> Mode:
    from backworks_cli.answer.modes import replay

    return replay.create(context)


def _mock(context: Context) -> Mode:
    from backworks_cli.answer.modes import mock

    return mock.create(context)


def _proxy(context: Context) -> Mode:
    from backworks_cli.answer.modes import proxy

    return proxy.create(context)


def _runtime(context: Context) -> Mode:
    from backworks_cli.answer.modes import runtime

    return runtime.create(context)


def _database(context: Context) -> Mode:
    from backworks_cli.answer.modes import database

    return database.create(context)


# The modes this package implements; an endpoint in another mode is answered as `mock`.
MODES: dict[str, Callable[[Context], Mode]] = {
    "replay": _replay,
    "mock": _mock,
    "proxy": _proxy,
    "runtime": _runtime,
    "database": _database,
}
IMPLEMENTED = tuple(MODES)
# Modes that reach other hosts; a host built local_only (`backworks mock`) answers them as mock.
NETWORK = ("proxy",)


def create(context: Context) -> Mode:
    """The mode object for the context's endpoint; modes not implemented here, and network
    modes on a local-only host, answer as mock."""
    name = context.endpoint.mode
    if name not in MODES or (context.local_only and name in NETWORK):
        context.notes.append(
            f"Endpoint {context.name} is in mode {name}, which this host does not run; "
            "it answers as mock (recordings first, then generated data)."
        )
        name = "mock"
    return MODES[name](context)
