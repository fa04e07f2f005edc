"""One error family for everything a user can cause, and the exit codes the CLI uses."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of the `backworks` command; documented in the README."""

    OK = 0
    ERROR = 1  # anything not covered below
    USAGE = 2  # bad command-line arguments (typer/click's own code)
    CONFIG = 3  # backworks.yaml missing, unparsable or invalid
    STORE = 4  # recordings store missing, corrupt, unwritable or too new
    NETWORK = 5  # port in use, upstream unreachable at start
    INPUT = 6  # an input file (HAR, JSON lines) that cannot be read
    INTERRUPTED = 130  # stopped by Ctrl-C before finishing


class BackworksError(Exception):
    """A failure the user can fix: what went wrong, and a hint naming the fix."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None, *, exit_code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nHint: {self.hint}"


class ConfigError(BackworksError):
    exit_code = ExitCode.CONFIG


class StoreError(BackworksError):
    exit_code = ExitCode.STORE


class NetworkError(BackworksError):
    exit_code = ExitCode.NETWORK


class InputError(BackworksError):
    exit_code = ExitCode.INPUT
