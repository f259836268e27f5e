"""What every step is made of: the shared context, the failure it raises, and remote helpers.

A step knows how to `check` whether it is already done and how to `apply` itself,
and lists the commands it would run so a dry run can show them. Verification steps
(dns, smoke, fts) are never "already done": checking is what they do.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from deploy_tui.config import Site
from deploy_tui.dns_resolvers import Resolver
from deploy_tui.events import Sink
from deploy_tui.secret import Redactor
from deploy_tui.shell import Command, CommandResult, LineHook, Shell

if TYPE_CHECKING:
    from deploy_tui.ssh import SshSession


class StepFailed(Exception):
    """A step could not do its job. `facts` and `evidence` are what a diagnosis reads."""

    def __init__(self, message: str, evidence: tuple[str, ...] = (), **facts: Any) -> None:
        super().__init__(message)
        self.evidence = evidence
        self.facts = facts


@dataclass
class Options:
    allow_unpropagated: bool = False  # go on before DNS has propagated, reaching the host by address
    dns_timeout: float = 3.0
    apt_lock_timeout: int = 60  # seconds apt waits for another apt or dpkg to let go of its lock
    start_timeout: float = 20.0  # seconds the dev server gets to start listening
    checkout: Path = field(default_factory=Path.cwd)  # where functional_tests/ lives, on this machine
    artifacts: Path | None = None  # where failed FTs leave screenshots


@dataclass
class Context:
    site: Site
    emit: Sink
    ssh: SshSession
    resolvers: tuple[Resolver, ...]
    options: Options = field(default_factory=Options)
    facts: dict[str, Any] = field(default_factory=dict)  # what one step learns for a later one
    redactor: Redactor = field(default_factory=Redactor)  # secrets a step learns are masked from then on


class Step:
    id: ClassVar[str]
    title: ClassVar[str]
    verifies: ClassVar[bool] = False  # a check that always runs, never "already done"
    sudo: ClassVar[bool] = False

    def commands(self, ctx: Context) -> list[str]:
        """What apply would run, for a dry run and for the step's guide."""
        return []

    async def check(self, ctx: Context) -> bool:
        """Whether the step's work is already done (so apply can be skipped)."""
        return False

    async def apply(self, ctx: Context) -> str:
        """Do the work; return a one-line summary, or raise StepFailed."""
        raise NotImplementedError


def site_dir(site: Site) -> str:
    """The site directory as a shell word: ~/ becomes "$HOME"/, the rest quoted."""
    if site.directory.startswith("~/"):
        return '"$HOME"/' + shlex.quote(site.directory[2:])
    return shlex.quote(site.directory)


def in_site(site: Site, script: str) -> Shell:
    """A script run from the site directory; script's own values must already be quoted."""
    return Shell(f"cd {site_dir(site)} && {script}")


async def run(
    ctx: Context,
    step: Step,
    command: Command,
    *,
    sudo: bool = False,
    timeout: float | None = None,
    capture: bool = False,
    on_line: LineHook | None = None,
    secret_output: bool = False,
) -> CommandResult:
    return await ctx.ssh.run(
        command,
        step=step.id,
        sudo=sudo,
        timeout=timeout,
        capture=capture,
        on_line=on_line,
        secret_output=secret_output,
    )


async def must(ctx: Context, step: Step, command: Command, what: str, **kwargs: Any) -> CommandResult:
    """Run a command that has to work; on failure raise StepFailed with its last lines as evidence."""
    result = await run(ctx, step, command, **kwargs)
    if result.timed_out:
        raise StepFailed(f"{what}: timed out", result.stderr_tail[-20:] + result.stdout_tail[-20:])
    if not result.ok:
        evidence = result.stderr_tail[-20:] + result.stdout_tail[-20:]
        raise StepFailed(f"{what}: exit status {result.exit_status}", evidence)
    return result


def counter(hook: Callable[[int], None], pattern: Callable[[str], bool]) -> LineHook:
    """A line hook that counts matching lines and reports the count."""
    seen = 0

    def on_line(stream: str, line: str) -> None:
        nonlocal seen
        if pattern(line):
            seen += 1
            hook(seen)

    return on_line
