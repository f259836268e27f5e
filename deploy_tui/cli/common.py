"""What the command line's modules share: the checkout's place, the error an operator can fix, and the
argument types and parser that turn a bad argument into one line."""

from __future__ import annotations

import argparse
import math
import os
import re
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from deploy_tui.core.names import ascii_number, hidden_character
from deploy_tui.core.shown import shown, shown_path

CHECKOUT = Path(__file__).resolve().parents[2]
# ASCII digits and one dot only: not "inf", "nan", "1e9", "1_0" or full-width digits, all of which float() takes.
_SECONDS = re.compile(r"^(?=\.?[0-9])[0-9]{0,9}(\.[0-9]{0,9})?$")


# Set by `deploy-tui web` for the app processes it starts: their output is a browser tab, not a pipe.
WEB_ENV = "DEPLOY_TUI_WEB"


def on_screen() -> bool:
    """The walkthrough can be shown: on a terminal, or in a browser tab of deploy-tui web."""
    return bool(os.environ.get(WEB_ENV)) or (sys.stdout.isatty() and sys.stdin.isatty())


class UsageError(Exception):
    """A problem with what the operator asked for; its text is the whole message."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (usage is --help's job), its value escaped and cut short.

    argparse's own messages quote a value with repr(), or not at all ("unrecognized
    arguments: ..."), and never shorten it: both go through `shown` here.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {shown(message, 200, quote=False)} (see {self.prog} --help)\n")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse's own message puts the whole value before the choices; the choices are the fix.
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(str(choice) for choice in action.choices)
            raise argparse.ArgumentError(action, f"{shown(value, 40)} is not one of {choices}")


def port_number(text: str) -> int:
    """An argparse type: a TCP port in ASCII digits, 1 to 65535."""
    number = ascii_number(text, digits=5)
    if number is None or not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(
            f"{shown(text, 40)} is not a port: give a whole number from 1 to 65535 in the digits 0-9"
        )
    return number


def seconds(most: float) -> Callable[[str], float]:
    """An argparse type: a finite, positive number of seconds in ASCII digits, at most `most`."""

    def parse(text: str) -> float:
        value = float(text) if _SECONDS.match(text) else math.nan
        if not 0 < value <= most:
            raise argparse.ArgumentTypeError(
                f"{shown(text, 40)} is not a number of seconds: give a positive number up to {most:g}, like 3 or 0.5"
            )
        return value

    parse.__name__ = "seconds"
    return parse


def file_to_write(path: Path, option: str, *, replace: bool = False) -> Path:
    """A path to write a file at: a new one (replace: or a regular file, overwritten) in a directory that is there.

    Anything else is one line naming the option: a directory, a device (/dev/null), /proc's files.
    """
    where = f"{option} {shown_path(path)}"
    if hidden_character(str(path)) is not None:
        # The path is printed when the run ends; a name with a control character (or undecodable bytes) is a mistake.
        raise UsageError(f"{where}: the name has a control or invisible character; give a plain file name")
    try:
        info = path.stat() if replace else path.lstat()
    except FileNotFoundError:
        info = None
    except (OSError, ValueError) as error:
        raise UsageError(f"{where}: cannot use it ({getattr(error, 'strerror', None) or error})") from None
    if info is not None and not (replace and stat.S_ISREG(info.st_mode)):
        if stat.S_ISDIR(info.st_mode):
            what = "a directory; give a file's path in it"
        elif stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
            what = "already there, and each run writes a recording of its own; give a new file's path"
        else:
            what = "not a regular file; give a file's path"
        raise UsageError(f"{where}: {what}")
    parent = path.parent
    try:
        usable = parent.is_dir() and os.access(parent, os.W_OK)
    except (OSError, ValueError):
        usable = False
    if not usable:
        raise UsageError(f"{where}: its directory is not there, or not writable; create it, or give another path")
    return path


def say(line: str) -> None:
    """One line to stderr, as the command line's errors and warnings go."""
    print(f"deploy-tui: {line}", file=sys.stderr, flush=True)
