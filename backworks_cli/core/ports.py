"""Listening ports: say clearly, before any server starts, that a port cannot be had."""

from __future__ import annotations

import errno
import socket

from backworks_cli.core.errors import NetworkError


def check_port_free(host: str, port: int, *, option: str = "--listen HOST:PORT") -> None:
    """Raise NetworkError (exit code 5) when `host:port` cannot be bound right now.

    `option` names the command-line option that chooses the address, for the hint. The probe
    sets SO_REUSEADDR as servers do, so a port in TIME_WAIT counts as free.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise NetworkError(
                    f"Cannot listen on {host}:{port}: the port is already in use.",
                    f"Stop the other process or choose another port with {option}.",
                ) from None
            raise NetworkError(
                f"Cannot listen on {host}:{port}: {e.strerror}.",
                f"Check the address, or choose another with {option}.",
            ) from None
