"""Commands as deploy-tui sends them: argv lists or scripts of its own, values always quoted; and results.

Light on purpose (no asyncssh): steps and screens that only describe commands import this.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Shell:
    """A shell script written by deploy-tui itself; values go in only through `sh()`, quoted."""

    script: str


def sh(template: str, /, **values: str | Path | int) -> Shell:
    """Fill a script template with values, each quoted for the shell: data, never code."""
    return Shell(template.format(**{k: shlex.quote(str(v)) for k, v in values.items()}))


Command = Sequence[str] | Shell
LineHook = Callable[[str, str], None]


@dataclass(frozen=True)
class CommandResult:
    command_id: str
    exit_status: int | None
    duration: float
    stdout_tail: tuple[str, ...] = ()
    stderr_tail: tuple[str, ...] = ()
    captured: str = ""  # the whole stdout, when asked for with capture=True
    timed_out: bool = False
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_status == 0
