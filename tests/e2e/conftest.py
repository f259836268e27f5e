"""The sandbox box as pytest fixtures: one box per test session, and throwaway ones.

The boxes use their own user names, a free ssh port, and resolver and authority addresses
(127.0.53.11 and up) so they never collide with a sandbox someone has up with the defaults.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from deploy_tui.sandbox import BoxInfo, Sandbox, SandboxConfig
from tests.conftest import free_port

SESSION_USER = "dtuitest"
SESSION_RESOLVERS = ("127.0.53.11", "127.0.53.12", "127.0.53.13")
SESSION_AUTHORITY = "127.0.53.19"
# Throwaway boxes' authority unless a test names another; boxes up at the same time need their own.
THROWAWAY_AUTHORITY = "127.0.53.29"


class MakeSandbox(Protocol):
    def __call__(self, user: str, resolvers: tuple[str, ...], authority: str = ...) -> Sandbox: ...


def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the sandbox box needs root (it starts sshd and dnsmasq and creates a user)")


def _state_parent() -> Path:
    """A fresh directory the box user can traverse (pytest's own tmp dirs are 0700)."""
    parent = Path(tempfile.mkdtemp(prefix="deploy-tui-e2e-"))
    parent.chmod(0o755)
    return parent


def sandbox_config(parent: Path, user: str, resolvers: tuple[str, ...], authority: str) -> SandboxConfig:
    return SandboxConfig(
        state_dir=parent / "sandbox",
        user=user,
        ssh_port=free_port("127.0.0.2"),
        resolvers=resolvers,
        authority=authority,
    )


@pytest.fixture(scope="session")
def sandbox_box() -> Iterator[tuple[Sandbox, BoxInfo]]:
    """The session's box, up; taken down and purged (user, state dir) at the end, also on failure."""
    _needs_root()
    with contextlib.ExitStack() as cleanup:
        parent = _state_parent()
        cleanup.callback(shutil.rmtree, parent, ignore_errors=True)
        sandbox = Sandbox(sandbox_config(parent, SESSION_USER, SESSION_RESOLVERS, SESSION_AUTHORITY))
        cleanup.callback(sandbox.down, purge=True)
        yield sandbox, sandbox.up()


@pytest.fixture
def make_sandbox() -> Iterator[MakeSandbox]:
    """A factory of extra boxes (not yet up) for tests that break or stop theirs; all are purged."""
    _needs_root()
    with contextlib.ExitStack() as cleanup:

        def make(user: str, resolvers: tuple[str, ...], authority: str = THROWAWAY_AUTHORITY) -> Sandbox:
            parent = _state_parent()
            cleanup.callback(shutil.rmtree, parent, ignore_errors=True)
            sandbox = Sandbox(sandbox_config(parent, user, resolvers, authority))
            cleanup.callback(sandbox.down, purge=True)
            return sandbox

        yield make
