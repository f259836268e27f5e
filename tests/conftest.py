"""Shared helpers for the project's own tests."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parent.parent


def free_port(host: str) -> int:
    """A TCP port nothing listens on at host right now (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def checkout() -> Path:
    return CHECKOUT
