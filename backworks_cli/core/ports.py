"""Listening ports: say clearly, before any server starts, that a port cannot be had."""

from __future__ import annotations

import errno
import socket

from backworks_cli.core.errors import NetworkError

BACKLOG = 2048  # uvicorn's default


def check_port_free(host: str, port: int, *, option: str = "--listen HOST:PORT") -> None:
    """Raise NetworkError (exit code 5) when `host:port` cannot be bound right now.

    `option` names the command-line option that chooses the address, for the hint. The probe
    sets SO_REUSEADDR as servers do, so a port in TIME_WAIT counts as free.
    """
    listen_socket(host, port, option=option, listen=False).close()


def listen_socket(
    host: str, port: int, *, option: str = "--listen HOST:PORT", listen: bool = True
) -> socket.socket:
    """A TCP socket bound to `host:port` (port 0: one the system chooses) and listening, set
    as uvicorn sets its own (SO_REUSEADDR, inheritable by worker processes); NetworkError (exit
    code 5) naming `option` when the address cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(BACKLOG)
            sock.set_inheritable(True)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise NetworkError(
                f"Cannot listen on {host}:{port}: the port is already in use.",
                f"Stop the other process or choose another port with {option}.",
            ) from None
        raise NetworkError(
            f"Cannot listen on {host}:{port}: {e.strerror}.",
            f"Check the address, or choose another with {option}.",
        ) from None
    return sock
