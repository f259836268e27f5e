"""The headless printer: every event as plain lines, coloured on a terminal, for CI, scripts and asciicast."""

from __future__ import annotations

from typing import TextIO

from deploy_tui.core.commands import command_line
from deploy_tui.core.events import (
    CheckResult,
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
from deploy_tui.core.statuses import mark


def answer_line(answer: DnsAnswer) -> str:
    records = ",".join(answer.records) or "-"
    ttl = f"ttl {answer.ttl}" if answer.ttl is not None else "ttl -"
    latency = f"{answer.latency * 1000:.0f} ms" if answer.latency is not None else "-"
    where = f" ({answer.location})" if answer.location else ""
    return f"{answer.status:<13} {records:<20} {ttl:<9} {latency:>7}  {answer.resolver} {answer.address}{where}"


class Printer:
    """A sink that writes one or more lines per event as it comes."""

    def __init__(self, out: TextIO, color: bool | None = None) -> None:
        self._out = out
        self._color = out.isatty() if color is None else color

    def _paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self._color else text

    def _marked(self, status: str, text: str, bold: bool = False) -> str:
        shown = mark(status)
        return self._paint(f"{shown.glyph} {text}", ("1;" if bold else "") + shown.ansi)

    def _say(self, *lines: str) -> None:
        self._out.write("".join(line + "\n" for line in lines))
        self._out.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self._say(self._paint(f"▶ {event.step}: {event.title}", "1"))
        elif isinstance(event, StepFinished):
            summary = f": {event.summary}" if event.summary else ""
            self._say(self._marked(event.status, f"{event.step} {event.status} ({event.duration:.1f} s){summary}"))
        elif isinstance(event, CommandStarted):
            self._say("  " + self._paint(command_line(event.argv_display, sudo=event.sudo), "2") + f"   [{event.host}]")
        elif isinstance(event, PlannedCommand):
            self._say("  would run " + command_line(event.argv_display, sudo=event.sudo, host=event.host))
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
        elif isinstance(event, CheckResult):
            self._say("  " + self._marked(event.verdict, f"{event.item}: {event.found}"))
        elif isinstance(event, TestStarted):
            self._say(f"  … {event.name}")
        elif isinstance(event, TestFinished):
            shot = f" (screenshot {event.screenshot})" if event.screenshot else ""
            self._say(
                "  " + self._marked(event.outcome, f"{event.name} {event.outcome} ({event.duration:.1f} s){shot}")
            )
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
            self._say(self._marked(event.status, f"run {event.status} in {event.duration:.1f} s", bold=True))
