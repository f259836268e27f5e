"""The steps' toolkit: the site directory as a shell word, and running a step's commands.

A step's commands are values (`StepCommand`); `run` sends one to the server, or
runs it here when it says so, and `must` turns a failure into `StepFailed` with
the command's last lines as evidence.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from deploy_tui.core.commands import Command, CommandResult, LineHook, Shell, StepCommand
from deploy_tui.core.config import Site
from deploy_tui.core.failure import Facts, StepFailed
from deploy_tui.core.plan import Context, Options, Step

__all__ = ["Context", "Options", "Step", "StepFailed", "in_site", "must", "run", "site_dir"]


def site_dir(site: Site) -> str:
    """The site directory as a shell word: ~/ becomes "$HOME"/, the rest quoted."""
    if site.directory.startswith("~/"):
        return '"$HOME"/' + shlex.quote(site.directory[2:])
    return shlex.quote(site.directory)


def in_site(
    site: Site, command: Command, what: str = "", *, timeout: float | None = None, note: str = ""
) -> StepCommand:
    """A command run from the site directory."""
    return StepCommand(command, what=what, cwd=site_dir(site), timeout=timeout, note=note)


async def run(
    ctx: Context,
    step: Step,
    command: StepCommand | Command,
    *,
    capture: bool = False,
    on_line: LineHook | None = None,
    secret_output: bool = False,
    hide: Callable[[str], bool] | None = None,
) -> CommandResult:
    """Run one command of a step where it belongs (the server, or here), streaming its output."""
    if not isinstance(command, StepCommand):
        command = StepCommand(command)
    session = ctx.local if command.here else ctx.session
    return await session.run(
        Shell(command.script),
        step=step.id,
        sudo=command.sudo,
        timeout=command.timeout,
        capture=capture,
        on_line=on_line,
        secret_output=secret_output,
        hide=hide,
    )


async def must(
    ctx: Context,
    step: Step,
    command: StepCommand,
    *,
    capture: bool = False,
    on_line: LineHook | None = None,
    secret_output: bool = False,
    facts: Facts | None = None,
) -> CommandResult:
    """Run a command that has to work; on failure raise StepFailed with its last lines as evidence."""
    result = await run(ctx, step, command, capture=capture, on_line=on_line, secret_output=secret_output)
    what = command.what or command.display
    evidence = result.stderr_tail[-20:] + result.stdout_tail[-20:]
    if result.timed_out:
        raise StepFailed(f"{what}: timed out", evidence, facts)
    if not result.ok:
        raise StepFailed(f"{what}: exit status {result.exit_status}", evidence, facts)
    return result
