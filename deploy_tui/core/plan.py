"""A deployment as data: steps that know how to check and apply themselves, and what they share.

A step carries its own knowledge: its title, a guide for people, whether it needs
sudo, which results view its pane shows, and the commands it runs, built once as
values (`commands`), which `apply` runs and a dry run and the guide show. The
engine is the one loop that runs a plan; adding a step touches its module and
the plan list, nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from deploy_tui.core.commands import StepCommand
from deploy_tui.core.config import Site
from deploy_tui.core.events import Sink
from deploy_tui.core.hold import Hold
from deploy_tui.core.resolvers import Resolver
from deploy_tui.core.secrets import Redactor
from deploy_tui.core.session import NoSession, Session

if TYPE_CHECKING:
    from deploy_tui.project import Project

Results = Literal["", "checks", "dns", "probes", "tests"]


@dataclass(frozen=True)
class Options:
    allow_unpropagated: bool = False  # go on before DNS has propagated, reaching the host by address
    dns_timeout: float = 3.0
    apt_lock_timeout: int = 60  # seconds apt waits for another apt or dpkg to let go of its lock
    start_timeout: float = 20.0  # seconds the dev server gets to start listening
    lock_wait: float = 0.0  # seconds to wait for another run of the same site to let go of the deploy lock
    checkout: Path = field(default_factory=Path.cwd)  # the site's checkout on this machine (its FTs)
    override_gate: str = ""  # why a gated site goes on without its gating site's FTs (recorded)
    allow_migration_mismatch: bool = False  # a rollback goes on though the two releases' migrations differ


@dataclass(frozen=True)
class SiteLayout:
    """The site's repository as the steps run it: found in the checkout, or as deploy.toml says."""

    manage_py: str = "manage.py"  # relative to the repository's root
    requirements: str = "requirements.txt"
    env: tuple[tuple[str, str], ...] = ()  # the site's environment, placeholders not yet filled
    collectstatic: bool = False  # the settings set STATIC_ROOT
    production: bool = False  # gunicorn and nginx instead of the dev server (deploy.toml's production)
    wsgi: str = ""  # gunicorn's APP: module:callable, from the settings module's package ("" when unknown)


@dataclass(frozen=True)
class TestRun:
    """How the site's functional tests run on this machine."""

    __test__ = False  # not a test class for pytest to collect
    command: str = ""  # shell words, run from the checkout; "" when the checkout has no FTs
    python: str = ""
    python_why: str = ""  # "the checkout's .venv" or "deploy-tui's own"
    runner: str = "pytest"  # "pytest" or "django" (manage.py test)
    browser: str = ""  # "chromium", "firefox", or "" (the FTs' own choice)
    firefox_as_chromium: bool = False  # Firefox-written FTs run in Chromium through the shim


@dataclass
class Context:
    """What every step of one run sees."""

    site: Site
    emit: Sink
    address: str  # the IPv4 the domain must resolve to, settled when the run was assembled
    session: Session = field(default_factory=NoSession)  # the server
    local: Session = field(default_factory=NoSession)  # this machine (the functional tests)
    resolvers: tuple[Resolver, ...] = ()
    options: Options = field(default_factory=Options)
    artifacts: Path | None = None  # where this run's failed FTs leave screenshots
    layout: SiteLayout = field(default_factory=SiteLayout)
    tests: TestRun = field(default_factory=TestRun)
    project: Project | None = None  # the checkout, read: what the preflight checks
    redactor: Redactor = field(default_factory=Redactor)  # secrets a step learns are masked from then on
    # Set when emit (and the sessions' events) go through a Hold: the engine then checks every step at once.
    hold: Hold | None = None
    runs_dir: Path | None = None  # where the runs are recorded: what a gate reads
    secret_key_kept: bool = False  # the site's SECRET_KEY was found on the server and is masked: read once a run
    # Steps working at once (runs_beside) make and read the key one at a time: one key, made once.
    secret_key_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class AlreadyDone(Exception):
    """Raised by a step's apply (one that says apply_tells_done) that found its work already done."""


class Step:
    id: ClassVar[str]
    title: ClassVar[str]
    guide: ClassVar[str] = ""  # what the step does and why, for someone deploying for the first time
    verifies: ClassVar[bool] = False  # a check that always runs, never "already done"
    sudo: ClassVar[bool] = False
    results: ClassVar[Results] = ""  # the results view its pane shows
    before_lock: ClassVar[bool] = False  # runs here before the deploy lock, and before anything touches the server
    # A verifying step that only looks (probes, reads): run ahead with the checks, its result kept when no
    # step before it changes anything, and thrown away unseen when one does.
    looks_only: ClassVar[bool] = False
    # Applying tells by itself when there was nothing to do (it raises AlreadyDone) at no more cost than a
    # check: once an earlier step has changed things, the engine applies it without checking it again.
    apply_tells_done: ClassVar[bool] = False
    # Steps this one may work at the same time as, when one of them comes just before it: it needs none of
    # their work, nor they its. Its events are held until its turn, so the steps are still reported in order.
    runs_beside: ClassVar[frozenset[str]] = frozenset()
    # Its check is the slowest (Django starts for it): when the checks run at once, sent first, so that the
    # others' channels and shells, opened in the same moment, do not delay the one the run waits on longest.
    check_first: ClassVar[bool] = False

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        """The commands apply runs, in order: also what a dry run and the guide show."""
        return ()

    async def check(self, ctx: Context) -> bool:
        """Whether the step's work is already done (so apply can be skipped)."""
        return False

    async def apply(self, ctx: Context) -> str:
        """Do the work; return a one-line summary, or raise StepFailed."""
        raise NotImplementedError


def needs_sudo(
    plan: Sequence[Step], only: Collection[str] = (), skip: Collection[str] = (), dry_run: bool = False
) -> bool:
    """Whether running this much of the plan needs the sudo password."""
    return not dry_run and any(step.sudo and (not only or step.id in only) and step.id not in skip for step in plan)
