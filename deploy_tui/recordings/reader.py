"""Reading recordings: the one JSONL reader, a whole recording, and one opened through its index.

A recording's lines are parsed in one place (`scan`). A whole read keeps every event
up to the last good line. A `RecordingFile` opens through the index instead: the
skeleton of the run (every event but command output, found without parsing the
output lines) at once, and a step's whole span when it is wanted, so a 100 MB
recording opens and jumps without reading its output.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from deploy_tui.core.events import Event, EventFormatError, NewerSchemaError
from deploy_tui.core.shown import shown, shown_path
from deploy_tui.recordings.index import Index, load_index
from deploy_tui.recordings.jsonl import scan


class RecordingError(Exception):
    """A recording that cannot be read at all; the message is one line."""


@dataclass
class Recording:
    path: Path
    events: list[Event] = field(default_factory=list)
    warning: str = ""  # one line when the file was cut short or damaged
    damage: str = ""  # where and how, as in the warning: "line 3: StepFinished.duration must be a number, ..."


def read_recording(path: Path) -> Recording:
    """Read a whole recording, keeping every event up to the last good one."""
    where = _where(path)
    recording = Recording(path)
    try:
        for _, event in scan(path):
            recording.events.append(event)
    except NewerSchemaError as error:
        raise RecordingError(f"{where}: {error}") from None
    except EventFormatError as error:
        recording.damage = shown(str(error), 160, quote=False)
        recording.warning = (
            f"{where} is damaged at {recording.damage}; showing the {len(recording.events)} events before it"
        )
    except OSError as error:
        raise RecordingError(f"{where}: cannot read it ({error.strerror})") from None
    return recording


def _where(path: Path) -> str:
    """The path for an error line (escaped, short), once it is known to be a file; RecordingError if not."""
    where = shown_path(path)
    try:
        is_file = path.is_file()
    except (OSError, ValueError):
        is_file = False
    if not is_file:
        raise RecordingError(f"{where}: no such recording; give a recording's .jsonl file")
    return where


@dataclass(frozen=True)
class Span:
    """A stretch of the file: the run's opening, or one run of one step (to the next step's start)."""

    start: int
    end: int
    step: str  # "" for the opening


class RecordingFile:
    """A recording opened through its index: its skeleton at once, each span's events on demand."""

    def __init__(self, path: Path) -> None:
        where = _where(path)
        try:
            self.index: Index = load_index(path)
        except NewerSchemaError as error:
            raise RecordingError(f"{where}: {error}") from None
        except OSError as error:
            raise RecordingError(f"{where}: cannot read it ({error.strerror})") from None
        self.path = path
        size = path.stat().st_size
        self.warning = (
            f"{where} is damaged or cut short after {self.index.size} of {size} bytes; showing what comes before"
            if self.index.size < size
            else ""
        )
        starts = sorted((offset, step) for step, offsets in self.index.steps.items() for offset in offsets)
        bounds = [*(offset for offset, _ in starts), self.index.size]
        self.spans = [Span(0, bounds[0], "")] + [
            Span(offset, bounds[i + 1], step) for i, (offset, step) in enumerate(starts)
        ]

    def skeleton(self) -> tuple[list[Event], list[int]]:
        """Every event but command output, with the number of the span each is in."""
        events: list[Event] = []
        span_of: list[int] = []
        span = 0
        for offset, event in self._scan(0, self.index.size, skip_output=True):
            while span + 1 < len(self.spans) and offset >= self.spans[span + 1].start:
                span += 1
            events.append(event)
            span_of.append(span)
        return events, span_of

    def read(self, span: int) -> list[Event]:
        """Every event of one span."""
        where = self.spans[span]
        return [event for _, event in self._scan(where.start, where.end)]

    def _scan(self, start: int, end: int, skip_output: bool = False) -> Iterator[tuple[int, Event]]:
        try:
            yield from scan(self.path, start, end, skip_output=skip_output)
        except EventFormatError:
            return  # the index ends before any damage; a file changed under us just ends here
