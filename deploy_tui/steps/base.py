"""The steps' toolkit: the site directory as a shell word, and running a step's commands.

A step's commands are values (`StepCommand`); `run` sends one to the server, or
runs it here when it says so, and `must` turns a failure into `StepFailed` with
the command's last lines as evidence.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Callable

from deploy_tui.core.commands import Command, CommandResult, LineHook, Shell, StepCommand
from deploy_tui.core.config import Site
from deploy_tui.core.failure import Facts, StepFailed
from deploy_tui.core.plan import Context, Options, Step
from deploy_tui.core.secrets import Secret

__all__ = [
    "KEY",
    "Context",
    "Options",
    "Step",
    "StepFailed",
    "filled",
    "in_site",
    "keep_secret_key",
    "manage",
    "must",
    "run",
    "site_dir",
    "site_env",
]

KEY = ".secret_key"  # the site's SECRET_KEY, made once on the server (0600) and never shown
_PLACEHOLDER = re.compile(r"({[a-z_]+})")


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


def filled(template: str, ctx: Context) -> str:
    """One env value as a shell word: literal text quoted, placeholders filled on the server where they live."""
    words = []
    for piece in _PLACEHOLDER.split(template):
        if piece == "{domain}":
            words.append(shlex.quote(ctx.site.domain))
        elif piece == "{allowed_hosts}":
            words.append(shlex.quote(",".join(ctx.site.hosts_allowed)))
        elif piece == "{secret_key}":
            # Read from its file by the remote shell: the key's value is never in a command line.
            words.append(f'"$(cat {KEY} 2>/dev/null)"')
        elif piece == "{db_path}":
            words.append('"$PWD"/db.sqlite3')  # beside the code, untracked: a redeploy keeps it
        elif piece:
            words.append(shlex.quote(piece))
    return "".join(words) or "''"


def site_env(ctx: Context) -> str:
    """The site's environment as assignments before a command: NAME=value ..."""
    return " ".join(f"{name}={filled(value, ctx)}" for name, value in ctx.layout.env)


def env_digest(ctx: Context) -> str:
    """The site's environment as written (placeholders unfilled, so never the key) and what fills them."""
    import hashlib

    return hashlib.sha256(repr((ctx.layout.env, ctx.site.domain, ctx.site.hosts_allowed)).encode()).hexdigest()[:16]


def requirements_digest(ctx: Context) -> str:
    """A shell word that prints the first 16 hex digits of the requirements file's SHA-256, in the site directory."""
    return f'"$(sha256sum < {shlex.quote(ctx.layout.requirements)} | cut -c1-16)"'


def web_port(ctx: Context) -> int:
    """Where the site answers: nginx's port 80 in production, the dev server's app_port in chapter 9."""
    return 80 if ctx.layout.production else ctx.site.app_port


def manage(ctx: Context, args: str) -> str:
    """A manage.py command run with the venv's Python and the site's environment, from the site directory."""
    env = site_env(ctx)
    return f"{env + ' ' if env else ''}.venv/bin/python {shlex.quote(ctx.layout.manage_py)} {args}"


async def keep_secret_key(ctx: Context, step: Step, *, create: bool) -> None:
    """The site's SECRET_KEY, made once on the server when create is set, is masked from now on."""
    if not any("{secret_key}" in value for _, value in ctx.layout.env):
        return
    async with ctx.secret_key_lock:
        if ctx.secret_key_kept:
            return
        make = f"umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(50))' > {KEY}"
        script = f"(test -s {KEY} || ({make})) && cat {KEY}" if create else f"cat {KEY} 2>/dev/null || true"
        found = await run(ctx, step, in_site(ctx.site, Shell(script)), secret_output=True)
        key = found.captured.strip()
        if key:
            ctx.redactor.add(Secret(key))
            ctx.secret_key_kept = True
        elif create:
            raise StepFailed(f"could not make the site's secret key ({ctx.site.directory}/{KEY})", found.stderr_tail)


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
    facts = dataclasses.replace(
        facts or Facts(),
        user=(facts and facts.user) or ctx.site.user or "",
        site_dir=(facts and facts.site_dir) or ctx.site.directory,
    )
    evidence = result.stderr_tail[-20:] + result.stdout_tail[-20:]
    if result.timed_out:
        raise StepFailed(f"{what}: timed out", evidence, facts)
    if not result.ok:
        raise StepFailed(f"{what}: exit status {result.exit_status}", evidence, facts)
    return result
