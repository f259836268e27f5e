"""The headless printer: every event as plain lines, coloured on a terminal, for CI and scripts."""

from __future__ import annotations

from typing import TextIO

from deploy_tui.dns_view import answer_line
from deploy_tui.events import (
    CommandFinished,
    CommandStarted,
    Diagnosis,
    DnsAnswer,
    Event,
    Notice,
    Output,
    PlannedCommand,
    ProbeResult,
    RunFinished,
    StepFinished,
    StepStarted,
    TestFinished,
    TestStarted,
)

MARKS = {
    "passed": ("✓", "32"),
    "already-done": ("=", "36"),
    "failed": ("✗", "31"),
    "skipped": ("-", "33"),
    "cancelled": ("!", "33"),
    "planned": ("·", "36"),
    "error": ("✗", "31"),
}


class Printer:
    """A sink that writes one or more lines per event as it comes."""

    def __init__(self, out: TextIO, color: bool | None = None) -> None:
        self._out = out
        self._color = out.isatty() if color is None else color

    def _paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self._color else text

    def _say(self, *lines: str) -> None:
        self._out.write("".join(line + "\n" for line in lines))
        self._out.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self._say(self._paint(f"▶ {event.step}: {event.title}", "1"))
        elif isinstance(event, StepFinished):
            mark, code = MARKS.get(event.status, ("?", "0"))
            summary = f": {event.summary}" if event.summary else ""
            self._say(self._paint(f"{mark} {event.step} {event.status} ({event.duration:.1f} s){summary}", code))
        elif isinstance(event, CommandStarted):
            self._say(self._paint(f"  $ {event.argv_display}", "2") + f"  [{event.host}]")
        elif isinstance(event, PlannedCommand):
            sudo = "sudo " if event.sudo and not event.argv_display.startswith("sudo") else ""
            self._say(f"  would run: {sudo}{event.argv_display}  [{event.host}]")
        elif isinstance(event, Output):
            prefix = self._paint("  ! ", "33") if event.stream == "stderr" else "  │ "
            self._say(*(prefix + line for line in event.lines))
        elif isinstance(event, CommandFinished) and (event.exit_status != 0 or event.error):
            why = event.error or f"exit status {event.exit_status}"
            self._say(self._paint(f"  → {why} after {event.duration:.1f} s", "33"))
        elif isinstance(event, DnsAnswer):
            self._say("  " + answer_line(event))
        elif isinstance(event, ProbeResult):
            answer = f"{event.status} {event.title!r}" if event.status else event.error
            self._say(f"  {event.vantage:<7} {event.url} -> {answer}")
        elif isinstance(event, TestStarted):
            self._say(f"  … {event.name}")
        elif isinstance(event, TestFinished):
            mark, code = MARKS.get(event.outcome, ("?", "0"))
            shot = f" (screenshot {event.screenshot})" if event.screenshot else ""
            self._say(self._paint(f"  {mark} {event.name} {event.outcome} ({event.duration:.1f} s){shot}", code))
        elif isinstance(event, Diagnosis):
            self._say(
                self._paint(f"  {event.code}: {event.cause}", "1;31"),
                f"      fix: {event.fix}",
                *(f"      | {line}" for line in event.evidence),
            )
        elif isinstance(event, Notice):
            code = {"error": "31", "warning": "33"}.get(event.level, "0")
            self._say(self._paint(f"  {event.level}: {event.text}", code))
        elif isinstance(event, RunFinished):
            mark, code = MARKS.get(event.status, ("?", "0"))
            self._say(self._paint(f"{mark} run {event.status} in {event.duration:.1f} s", f"1;{code}"))
