"""The sandbox box as pytest fixtures: one box per test session, and throwaway ones.

The boxes use their own user names, a free ssh port, and resolver and authority addresses
(127.0.53.11 and up) so they never collide with a sandbox someone has up with the defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from deploy_tui.core.config import Site, TestsConfig
from deploy_tui.core.engine import RunOutcome
from deploy_tui.core.events import Event
from deploy_tui.core.resolvers import Resolver
from deploy_tui.core.secrets import Secret
from deploy_tui.runner import RunRequest, execute, read_checkout
from deploy_tui.sandbox.box import BoxInfo, Sandbox, SandboxConfig
from deploy_tui.steps import Options
from tests.conftest import CHECKOUT, free_port

DOMAIN = "superlists-staging.test"

# DEPLOY_TUI_E2E_SLOT=N (1-9) gives a test run a session box of its own user and addresses, so two runs
# of different e2e files can share the machine; unset, the first slot.
_SLOT = int(os.environ.get("DEPLOY_TUI_E2E_SLOT", "0") or 0)
SESSION_USER = f"dtuislot{_SLOT}" if _SLOT else "dtuitest"
SESSION_RESOLVERS = tuple(f"127.0.{53 + _SLOT}.{n}" for n in (11, 12, 13))
SESSION_AUTHORITY = f"127.0.{53 + _SLOT}.19"
# Throwaway boxes' authority unless a test names another; boxes up at the same time need their own.
THROWAWAY_AUTHORITY = f"127.0.{53 + _SLOT}.29"


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


# Deploying into the session's box.


@dataclass
class Deployment:
    """A site on the session box, with what it takes to run the plan against it."""

    site: Site
    resolvers: tuple[Resolver, ...]
    box: BoxInfo
    home: Path
    checkout: Path = CHECKOUT  # the project's checkout deploy-tui reads, and runs the FTs from
    tests: TestsConfig | None = None  # deploy.toml's [tests]

    @property
    def directory(self) -> Path:
        return self.home / self.site.directory.removeprefix("~/")

    def request(self, **changes: Any) -> RunRequest:
        """A run of this site with the sudo password; changes as RunRequest's fields (sets of step ids welcome)."""
        for name in ("only", "skip", "force"):
            if name in changes:
                changes[name] = frozenset(changes[name])
        site = changes.pop("site", self.site)
        options = changes.pop("options", Options(checkout=self.checkout))
        return RunRequest(
            site=site,
            address=site.address,
            resolvers=self.resolvers,
            options=options,
            sudo_password=Secret(self.box.sudo_password()),
            checkout=changes.pop("checkout", None) or read_checkout(site, options.checkout, self.tests),
            **changes,
        )

    def run(self, tmp: Path, **changes: Any) -> tuple[RunOutcome, list[Event]]:
        """Run the plan (or part of it) headlessly; return the outcome and every event."""
        events: list[Event] = []
        # recording=None: under runs_dir(), where a gate reads the runs.
        recording = changes.pop("recording", tmp / f"run-{uuid.uuid4().hex[:8]}.jsonl")
        request = self.request(recording=recording, **changes)
        outcome, _ = asyncio.run(execute(request, events.append))
        return outcome, events

    def stop_server(self) -> None:
        """Stop the site's dev server by the pid in its pid file (it runs in a session of its own)."""
        pid_file = self.directory / "runserver.pid"
        if pid_file.exists() and pid_file.read_text().strip().isdigit():
            pid = int(pid_file.read_text())
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)


def make_deployment(box: BoxInfo, resolvers: tuple[Resolver, ...], name: str) -> Deployment:
    """A site of its own directory and dev server port on the session box."""
    from deploy_tui.core.config import make_site
    from deploy_tui.sandbox.demo import box_site_values

    site = make_site(
        "staging",
        {
            **box_site_values(box),
            "site_dir": f"~/sites/{name}",
            "app_port": free_port("0.0.0.0"),  # noqa: S104 - the dev server binds all interfaces
        },
        "test",
    )
    return Deployment(site, resolvers, box, Path(pwd.getpwnam(box.user).pw_dir))


@pytest.fixture(scope="session")
def box_resolvers(sandbox_box: tuple[Sandbox, BoxInfo]) -> tuple[Resolver, ...]:
    _, box = sandbox_box
    return tuple(Resolver(f"sandbox {i}", r.address, r.port, "loopback") for i, r in enumerate(box.resolvers, 1))


@pytest.fixture(scope="session")
def deployed(sandbox_box: tuple[Sandbox, BoxInfo], box_resolvers, tmp_path_factory) -> Iterator[Deployment]:
    """superlists deployed once for the session (all steps but the FTs); its dev server stopped at the end."""
    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, "e2e-shared")
    try:
        outcome, events = deployment.run(tmp_path_factory.mktemp("deployed"), skip={"fts"})
        assert outcome.ok, [e for e in events if e.kind in ("Diagnosis", "StepFinished", "Notice")]
        yield deployment
    finally:
        deployment.stop_server()
