"""Commands as values: what a step runs, built once and used alike by apply, a dry run and the guide.

A command is an argv list or a script deploy-tui wrote itself (values in it only
through `sh()`, quoted). A `StepCommand` adds where and how it runs: the directory,
sudo, a time limit, and whether it runs on the server or here. Light on purpose
(no asyncssh): steps and screens that only describe commands import this.
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


def script_of(command: Command) -> str:
    """The command as one line of shell."""
    return command.script if isinstance(command, Shell) else shlex.join(command)


def command_line(display: str, *, sudo: bool = False, host: str = "") -> str:
    """How a command is shown to people, everywhere: `$ sudo CMD   [host]`."""
    prefix = "sudo " if sudo and not display.startswith("sudo ") else ""
    where = f"   [{host}]" if host else ""
    return f"$ {prefix}{display}{where}"


@dataclass(frozen=True)
class StepCommand:
    """One command of a step, as a value.

    cwd is a shell word (already quoted, may start with "$HOME"); here=True runs it
    on this machine instead of the server. A command whose work deploy-tui does
    in-process (a DNS query, an HTTP probe) has run=False: it is shown, never sent.
    """

    command: Command
    what: str = ""  # names the command in a failure ("pip install -r requirements.txt")
    cwd: str = ""
    sudo: bool = False
    timeout: float | None = None
    here: bool = False
    run: bool = True
    note: str = ""  # shown after the command in a dry run and the guide ("first time only")

    @property
    def script(self) -> str:
        """What is sent: the command, from its directory."""
        body = script_of(self.command)
        return f"cd {self.cwd} && {body}" if self.cwd else body

    @property
    def display(self) -> str:
        """What a person reads: the command and its notes, without the `cd`."""
        body = script_of(self.command)
        extra = "; ".join(part for part in (f"in {_unquoted(self.cwd)}" if self.cwd else "", self.note) if part)
        return f"{body}   ({extra})" if extra else body


def _unquoted(word: str) -> str:
    """A cwd word as people write it: "$HOME"/'sites/x' -> ~/sites/x."""
    text = word.replace('"$HOME"/', "~/", 1)
    try:
        return "".join(shlex.split(text)) if "'" in text else text
    except ValueError:
        return text


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


def stop_group_script(pgid: int | str, grace: float = 2.0) -> str:
    """TERM a process group, wait up to `grace` seconds for it to go, then KILL what is left.

    `kill -s SIG -- -PGID` is the spelling both dash and bash accept for a group.
    pgid may be a shell expansion such as "$pid".
    """
    return (
        f"kill -s TERM -- -{pgid} 2>/dev/null; i=0; "
        f"while kill -s 0 -- -{pgid} 2>/dev/null && [ $i -lt {int(grace * 10)} ]; "
        "do sleep 0.1; i=$((i+1)); done; "
        f"kill -s KILL -- -{pgid} 2>/dev/null"
    )
