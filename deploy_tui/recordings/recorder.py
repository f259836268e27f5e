"""Recordings: every event of a run, one JSON object per line, each flushed as it is written.

Flushing each line means a run killed at any moment (even `kill -9`) leaves a file
whose every complete line parses; at worst the last line is cut short, and the
reader stops there with a warning instead of failing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from deploy_tui.core.events import Event, EventFormatError, NewerSchemaError, from_json, to_json
from deploy_tui.recordings.index import Index


class RecordingError(Exception):
    """A recording that cannot be read at all; the message is one line."""


class Recorder:
    """A sink that appends each event to a file. Recordings may hold command output: 0600.

    Each line goes to the kernel in one write() on an unbuffered descriptor, so no
    line is ever left half in a user-space buffer when the process dies.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._offset = os.fstat(self._fd).st_size
        self.index = Index()

    def __call__(self, event: Event) -> None:
        data = (to_json(event) + "\n").encode()
        self.index.note(self._offset, event)
        self._offset += len(data)
        while data:
            data = data[os.write(self._fd, data) :]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self.index.size = self._offset
            self.index.save(self.path)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Recording:
    path: Path
    events: list[Event] = field(default_factory=list)
    warning: str = ""  # one line when the file was cut short or damaged


def iter_events(path: Path) -> Iterator[Event]:
    """Events in order; raises EventFormatError (with the line number) at the first bad line."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield from_json(line)
            except NewerSchemaError:
                raise
            except EventFormatError as error:
                raise EventFormatError(f"line {number}: {error}") from None


def read_recording(path: Path) -> Recording:
    """Read a whole recording, keeping every event up to the last good one."""
    if not path.is_file():
        raise RecordingError(f"{path}: no such recording")
    recording = Recording(path)
    try:
        for event in iter_events(path):
            recording.events.append(event)
    except NewerSchemaError as error:
        raise RecordingError(f"{path}: {error}") from None
    except EventFormatError as error:
        recording.warning = f"{path} is damaged at {error}; showing the {len(recording.events)} events before it"
    return recording
