"""Small helpers shared by tests of every role (importable as ``support``)."""
from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback port that was free a moment ago (tests bind only to 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
