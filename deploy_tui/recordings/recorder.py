"""Recordings: every event of a run, one JSON object per line, each flushed as it is written.

Flushing each line means a run killed at any moment (even `kill -9`) leaves a file
whose every complete line parses; at worst the last line is cut short, and the
reader stops there with a warning instead of failing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from deploy_tui.core.events import Event, to_json

if TYPE_CHECKING:
    from deploy_tui.recordings.index import Index


class Recorder:
    """A sink that appends each event to a file. Recordings may hold command output: 0600.

    Each line goes to the kernel in one write() on an unbuffered descriptor, so no
    line is ever left half in a user-space buffer when the process dies.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Exclusive: one file per run, never two runs in one (a name taken is an error, not a merge).
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self._offset = os.fstat(self._fd).st_size
        # Imported here: the runner (and so the app's start-up) needs the recorder, not the index's reader.
        from deploy_tui.recordings.index import Index

        self.index: Index = Index()

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
