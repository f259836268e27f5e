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


@pytest.fixture(autouse=True, scope="session")
def _own_data_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Runs the tests make are recorded in a directory of their own, never in the user's."""
    import os

    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
