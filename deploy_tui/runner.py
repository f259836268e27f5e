"""Putting a run together: config, SSH session, recorder and engine, for headless runs and the demo.

The TUI builds the same pieces with its own sinks and prompts; this module is the
plain-terminal way: host keys and the sudo password are asked on the terminal when
there is one, and otherwise must come from files.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from deploy_tui.config import Site
from deploy_tui.dns_resolvers import DEFAULT_RESOLVERS, Resolver
from deploy_tui.engine import Engine, RunOutcome
from deploy_tui.events import Sink, fanout
from deploy_tui.record import Recorder
from deploy_tui.secret import Redactor, Secret
from deploy_tui.ssh import HostKeyDecision, HostKeyPrompt, HostKeyQuestion, SshSession, SshTarget
from deploy_tui.steps import Context, Options, Step, default_plan


def runs_dir() -> Path:
    """Where every run's recording goes: the user's data directory."""
    import platformdirs

    return Path(platformdirs.user_data_dir("deploy-tui")) / "runs"


def recording_path(site: str, when: datetime | None = None) -> Path:
    stamp = (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return runs_dir() / f"{site}-{stamp}.jsonl"


@dataclass
class RunRequest:
    site: Site
    resolvers: tuple[Resolver, ...] | None = None
    options: Options = field(default_factory=Options)
    sudo_password: Secret | None = None
    only: Collection[str] = ()
    skip: Collection[str] = ()
    force: Collection[str] = ()
    dry_run: bool = False
    recording: Path | None = None
    plan: list[Step] | None = None  # None: the whole deployment


def target_for(site: Site) -> SshTarget:
    return SshTarget(
        site.host,
        site.port,
        site.user,
        client_keys=(Path(site.identity_file),) if site.identity_file else (),
        known_hosts=Path(site.known_hosts) if site.known_hosts else SshTarget(site.host).known_hosts,
    )


async def ask_on_terminal(question: HostKeyQuestion) -> HostKeyDecision:
    """The OpenSSH-style question, on the terminal; no terminal means no."""
    if not sys.stdin.isatty():
        return HostKeyDecision.REJECT
    prompt = (
        f"The authenticity of host {question.host} can't be established.\n"
        f"{question.key_type} key fingerprint is {question.fingerprint}.\n"
        f"Accept it once (o), accept and save to {question.known_hosts} (s), or reject (r)? "
    )
    answer = (await asyncio.to_thread(input, prompt)).strip().lower()
    return {"o": HostKeyDecision.ACCEPT_ONCE, "s": HostKeyDecision.ACCEPT_AND_SAVE}.get(
        answer[:1], HostKeyDecision.REJECT
    )


def read_password(path: Path | None, user: str | None) -> Secret | None:
    """From a file (first line), or asked on the terminal; None when neither is possible."""
    if path is not None:
        lines = path.read_text().splitlines()
        return Secret(lines[0] if lines else "")
    if sys.stdin.isatty():
        return Secret(getpass.getpass(f"sudo password for {user or 'the deploy user'} on the server: "))
    return None


async def execute(
    request: RunRequest, sink: Sink, on_unknown_host_key: HostKeyPrompt = ask_on_terminal
) -> tuple[RunOutcome, Path]:
    """Run the plan with events going to sink and to a new recording; returns the outcome and its path."""
    path = request.recording or recording_path(request.site.name)
    redactor = Redactor()
    with Recorder(path) as recorder:
        emit = fanout(recorder, sink)
        session = SshSession(
            target_for(request.site),
            emit=emit,
            redactor=redactor,
            on_unknown_host_key=on_unknown_host_key,
            sudo_password=request.sudo_password,
        )
        ctx = Context(
            site=request.site,
            emit=emit,
            ssh=session,
            resolvers=request.resolvers or DEFAULT_RESOLVERS,
            options=request.options,
            redactor=redactor,
        )
        if request.options.artifacts is None:
            request.options.artifacts = path.with_suffix("") / "ft-artifacts"
        try:
            outcome = await Engine(request.plan or default_plan(), ctx).run(
                only=request.only, skip=request.skip, force=request.force, dry_run=request.dry_run
            )
        finally:
            await session.close()
    return outcome, path
