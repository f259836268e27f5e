"""What a step, a run or a test can end as, and how each looks: one mark and one colour, everywhere.

The headless printer, the walkthrough's step list and its tables all draw statuses
from this table, so a passed step looks the same on a CI log and in the TUI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StepStatus = Literal["pending", "running", "passed", "failed", "skipped", "already-done", "cancelled", "planned"]
RunStatus = Literal["passed", "failed", "cancelled"]
TestOutcome = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class Mark:
    glyph: str
    colour: str  # a colour name both Rich and the ANSI table below know; "" for the terminal's own
    bold: bool = False

    @property
    def style(self) -> str:
        """As a Rich style."""
        return " ".join(part for part in ("bold" if self.bold else "", self.colour) if part)

    @property
    def ansi(self) -> str:
        """As an SGR parameter string for a plain terminal."""
        codes = [_ANSI[self.colour]] if self.colour else []
        return ";".join((["1"] if self.bold else []) + codes) or "0"


_ANSI = {"green": "32", "red": "31", "yellow": "33", "cyan": "36", "dim": "2"}

MARKS: dict[str, Mark] = {
    "pending": Mark("○", "dim"),
    "running": Mark("◐", "yellow", bold=True),
    "passed": Mark("✓", "green", bold=True),
    "already-done": Mark("=", "cyan"),
    "failed": Mark("✗", "red", bold=True),
    "error": Mark("✗", "red", bold=True),
    "skipped": Mark("-", "yellow"),
    "cancelled": Mark("!", "yellow"),
    "planned": Mark("·", "cyan"),
    "queued": Mark("·", "dim"),
    # A preflight check's verdict.
    "ok": Mark("✓", "green"),
    "warning": Mark("!", "yellow", bold=True),
    "problem": Mark("✗", "red", bold=True),
    # A resolver's answer (the DNS table).
    "match": Mark("✓", "green"),
    "stale": Mark("✗", "red", bold=True),
    "nxdomain": Mark("✗", "red"),
    "no-answer": Mark("✗", "red"),
    "timeout": Mark("…", "yellow"),
}
UNKNOWN = Mark("?", "")


def mark(status: str) -> Mark:
    return MARKS.get(status, UNKNOWN)


def label(status: str) -> str:
    """A status as words for people ("already done")."""
    return status.replace("-", " ")
