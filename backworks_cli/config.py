"""backworks.yaml: the model, loading with file/line errors, and the file's JSON Schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path("backworks.yaml")
DEFAULT_STORE = Path("recordings/backworks.db")


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 3000


@dataclass(frozen=True)
class RecordingsConfig:
    path: Path = DEFAULT_STORE
    session: str = "default"
    include: tuple[str, ...] = ()  # path globs to record; empty means all
    exclude: tuple[str, ...] = ()  # path globs never recorded


@dataclass(frozen=True)
class RedactConfig:
    """What is redacted on top of the built-in rules (which are always on unless disabled)."""

    enabled: bool = True
    headers: tuple[str, ...] = ()  # extra header names (case-insensitive)
    query: tuple[str, ...] = ()  # extra query parameter names
    fields: tuple[str, ...] = ()  # extra JSON field names, at any depth
    patterns: tuple[str, ...] = ()  # regexes; any match in any text value is redacted


@dataclass(frozen=True)
class Config:
    name: str = "backworks"
    server: ServerConfig = field(default_factory=ServerConfig)
    upstream: str | None = None
    recordings: RecordingsConfig = field(default_factory=RecordingsConfig)
    redact: RedactConfig = field(default_factory=RedactConfig)
    endpoints: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the file it came from, None for defaults
    warnings: tuple[str, ...] = ()
