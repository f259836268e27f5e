"""Where commands run: the one interface the engine and the steps see, whatever is behind it.

`SshSession` (the server, over one SSH connection), `LocalSession` (this machine:
the functional tests) and the tests' fake all run a command, stream its output as
events and can be stopped by cancelling the task that awaits `run`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from deploy_tui.core.commands import Command, CommandResult, LineHook
from deploy_tui.core.failure import Facts


class SessionError(Exception):
    """A command could not be run at all (no connection, lost connection); one line for the operator.

    Its evidence and facts are what a diagnosis reads, as for a failed step.
    """

    def __init__(self, message: str, evidence: tuple[str, ...] = (), facts: Facts | None = None) -> None:
        super().__init__(message)
        self.evidence = evidence
        self.facts = facts or Facts()


class SudoPasswordRefused(SessionError):
    """sudo said the password was wrong: ask for it again."""


class Session(Protocol):
    @property
    def label(self) -> str:
        """Where commands run, for people: user@host:port, or "localhost"."""
        ...

    async def run(
        self,
        command: Command,
        *,
        step: str = "",
        sudo: bool = False,
        timeout: float | None = None,
        capture: bool = False,
        on_line: LineHook | None = None,
        secret_output: bool = False,
        hide: Callable[[str], bool] | None = None,
    ) -> CommandResult:
        """Run a command, streaming its output as events; cancelling the caller stops it.

        on_line sees each finished line (stream, text) after redaction, for progress parsing;
        secret_output: stdout is a secret being fetched (a key): captured, never an event;
        hide: lines for on_line only, never shown (machine-readable marks).
        """
        ...

    async def put(self, local: Path, remote: str, *, step: str = "", what: str = "") -> None:
        """Copy a file of this machine to `remote` (relative to the user's home, or absolute), as one command.

        Its directories are made; an existing file is replaced. Shown as a command (what: for people).
        """
        ...

    async def close(self) -> None: ...


class NoSession:
    """A session that runs nothing: for describing a plan (the guides) before any connection."""

    label = ""

    async def run(self, command: Command, **kwargs: object) -> CommandResult:
        raise SessionError("not connected: this plan is only being described")

    async def put(self, local: Path, remote: str, *, step: str = "", what: str = "") -> None:
        raise SessionError("not connected: this plan is only being described")

    async def close(self) -> None:
        return None
