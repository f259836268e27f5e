"""One running command's output, wherever it runs: split into lines, redacted, kept, and sent as events.

Both sessions (SSH and local) read 64 KiB chunks and hand them here; this is the
one place that decides what becomes an `Output` event, what is kept for a
failure's evidence, what is captured for the caller, and what stays secret.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from deploy_tui.core.commands import CommandResult, LineHook
from deploy_tui.core.events import CommandFinished, Output, OutputUpdate, Sink
from deploy_tui.core.secrets import Redactor
from deploy_tui.remote.lines import LineSplitter

TAIL_LINES = 200
CAPTURE_LIMIT = 4 * 1024 * 1024
CHUNK = 65536


@dataclass
class CommandOutput:
    """What one running command has produced so far."""

    emit: Sink
    redact: Redactor
    step: str
    command_id: str
    capture: bool = False
    secret: bool = False  # stdout is a secret being fetched (a key): captured as it is, never an event
    on_line: LineHook | None = None
    hide: Callable[[str], bool] | None = None  # lines for on_line only, never shown (machine-readable marks)
    tails: dict[str, deque[str]] = field(
        default_factory=lambda: {"stdout": deque(maxlen=TAIL_LINES), "stderr": deque(maxlen=TAIL_LINES)}
    )
    captured: list[str] = field(default_factory=list)
    captured_size: int = 0
    started: float = field(default_factory=time.monotonic)

    def deliver(self, stream: str, lines: list[str]) -> None:
        if not lines:
            return
        if self.secret and stream == "stdout":
            self.captured.extend(lines)
            return
        redacted = self.redact.lines(lines)
        shown = [line for line in redacted if not self.hide(line)] if self.hide else redacted
        self.tails[stream].extend(shown[-TAIL_LINES:])
        if stream == "stdout" and self.capture and self.captured_size < CAPTURE_LIMIT:
            self.captured.extend(redacted)
            self.captured_size += sum(len(line) + 1 for line in redacted)
        if shown:
            self.emit(Output(step=self.step, command_id=self.command_id, stream=stream, lines=tuple(shown)))
        if self.on_line is not None:
            for line in redacted:
                self.on_line(stream, line)

    def update(self, stream: str, text: str) -> None:
        """The stream's unfinished line as it now shows (a progress bar redrawn with carriage returns)."""
        self.emit(OutputUpdate(step=self.step, command_id=self.command_id, stream=stream, text=self.redact(text)))

    def finish(
        self, exit_status: int | None, *, timed_out: bool = False, cancelled: bool = False, error: str = ""
    ) -> CommandResult:
        """Say the command ended (one CommandFinished) and hand back what it produced."""
        duration = time.monotonic() - self.started
        self.emit(
            CommandFinished(
                step=self.step,
                command_id=self.command_id,
                exit_status=exit_status,
                duration=duration,
                timed_out=timed_out,
                cancelled=cancelled,
                error=error,
            )
        )
        return CommandResult(
            self.command_id,
            exit_status,
            duration,
            tuple(self.tails["stdout"]),
            tuple(self.tails["stderr"]),
            "\n".join(self.captured),
            timed_out=timed_out,
            cancelled=cancelled,
        )


async def pump(
    read: Callable[[int], Awaitable[bytes]],
    stream: str,
    deliver: Callable[[str, list[str]], None],
    update: Callable[[str, str], None],
) -> None:
    """Read one stream to its end in chunks, handing on finished lines and the unfinished one's changes."""
    splitter = LineSplitter()
    while True:
        chunk = await read(CHUNK)
        if not chunk:
            break
        split = splitter.feed(chunk)
        deliver(stream, split.lines)
        # A read that finds data waiting does not suspend: without this a flood would
        # keep the loop (and a UI sharing it) busy until the command ends.
        await asyncio.sleep(0)
        if split.update is not None:
            update(stream, split.update)
    deliver(stream, splitter.close())
