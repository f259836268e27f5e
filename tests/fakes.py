"""A session that runs nothing: it answers each command from a script, for engine and step unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from deploy_tui.core.commands import Command, CommandResult, LineHook, script_of
from deploy_tui.core.events import CommandFinished, CommandStarted, Output, Sink


@dataclass
class Answer:
    exit_status: int = 0
    stdout: tuple[str, ...] = ()
    stderr: tuple[str, ...] = ()
    hang: bool = False  # wait until cancelled, like a command that never ends


@dataclass
class FakeSession:
    """Answers a command by the first (substring, answer) rule that matches its script; exit 0 otherwise."""

    emit: Sink
    rules: list[tuple[str, Answer]] = field(default_factory=list)
    label: str = "fake@box"
    ran: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    sudo_runs: list[str] = field(default_factory=list)

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
        script = script_of(command)
        self.ran.append(script)
        if sudo:
            self.sudo_runs.append(script)
        answer = next((a for pattern, a in self.rules if pattern in script), Answer())
        command_id = f"f{len(self.ran)}"
        self.emit(CommandStarted(step=step, command_id=command_id, argv_display=script, host=self.label, sudo=sudo))
        if answer.hang:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.append(script)
                self.emit(
                    CommandFinished(step=step, command_id=command_id, exit_status=None, duration=0, cancelled=True)
                )
                raise
        for stream, lines in (("stdout", answer.stdout), ("stderr", answer.stderr)):
            if lines and not (secret_output and stream == "stdout"):
                self.emit(Output(step=step, command_id=command_id, stream=stream, lines=lines))
            for line in lines:
                if on_line is not None:
                    on_line(stream, line)
        self.emit(CommandFinished(step=step, command_id=command_id, exit_status=answer.exit_status, duration=0))
        return CommandResult(
            command_id,
            answer.exit_status,
            0.0,
            answer.stdout,
            answer.stderr,
            "\n".join(answer.stdout) if capture or secret_output else "",
        )

    async def put(self, local: Path, remote: str, *, step: str = "", what: str = "") -> None:
        self.ran.append(f"put {local.name} {remote}")

    async def close(self) -> None:
        return None
