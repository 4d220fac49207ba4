"""Loopback ports: a free one to listen on, a closed one to fail to connect to."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on right now (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port_url(path: str = "/feed.xml") -> str:
    """A URL whose connection is refused."""
    return f"http://127.0.0.1:{free_port()}{path}"
