"""The inventory behind `backworks modes`: every endpoint with its mode and what backs it
(its recordings, upstreams, handler or table), counted the way the engine routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backworks_cli.config.model import Config, Endpoint
from backworks_cli.evolve.promote import DATABASE_FILE, upstreams


@dataclass(frozen=True)
class ModeRow:
    endpoint: str
    path: str
    methods: tuple[str, ...]
    mode: str
    backing: str  # what answers: recordings, upstream(s), handler, table@file


def endpoint_modes(config: Config) -> list[ModeRow]:
    """Every endpoint with its mode and what backs it, in file order."""
    endpoints = config.endpoint_list()
    counts = _recording_counts(config, endpoints)
    folder = config.path.absolute().parent if config.path else Path.cwd()
    rows = []
    for endpoint in endpoints:
        block = endpoint.block(endpoint.mode)
        block = block if isinstance(block, dict) else {}
        if endpoint.mode == "proxy":
            backing = upstreams(block) or (
                f"{config.upstream} (top-level)" if config.upstream else "no upstream set"
            )
        elif endpoint.mode == "runtime":
            backing = _runtime_backing(block, folder)
        elif endpoint.mode == "database":
            backing = f"{block.get('table', '?')}@{block.get('file', DATABASE_FILE)}"
        else:
            backing = _recordings_backing(endpoint, counts)
        rows.append(ModeRow(endpoint.name, endpoint.path, endpoint.methods, endpoint.mode, backing))
    return rows


def _recordings_backing(endpoint: Endpoint, counts: dict[str, int] | None) -> str:
    text = "no recordings store" if counts is None else f"{counts[endpoint.name]} recording(s)"
    if endpoint.mode == "mock" and any(r.get("schema") for r in endpoint.responses.values()):
        text += " + schema"
    return text


def _runtime_backing(block: dict, folder: Path) -> str:
    if block.get("language") == "command":
        return "command: " + " ".join(str(a) for a in block.get("command") or [])
    handler = block.get("handler")
    if not isinstance(handler, str):
        return "no handler set"
    missing = "" if (folder / handler).exists() else ", missing"
    return f"{handler} ({block.get('language', 'python')}{missing})"


def _recording_counts(config: Config, endpoints: list[Endpoint]) -> dict[str, int] | None:
    """Recorded exchanges routed to each endpoint as the engine routes them; None when
    there is no store."""
    path = config.recordings.path
    if not path.exists():
        return None
    from backworks_cli.core.routing import Router
    from backworks_cli.record.store import Store

    router = Router()
    for endpoint in endpoints:
        router.add(endpoint)
    counts = dict.fromkeys((e.name for e in endpoints), 0)
    with Store.open(path) as store:
        for exchange in store.query():
            if exchange.kind != "http" or exchange.response is None:
                continue
            found = router.resolve(exchange.request.method.upper(), exchange.request.path)
            if isinstance(found, tuple):
                counts[found[0].endpoint] += 1
    return counts


def modes_table(rows: list[ModeRow]) -> str:
    """The rows as an aligned text table, one endpoint a line."""
    header = ("ENDPOINT", "PATH", "METHODS", "MODE", "BACKED BY")
    cells = [header] + [(r.endpoint, r.path, ",".join(r.methods), r.mode, r.backing) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in cells
    )
