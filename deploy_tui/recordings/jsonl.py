"""The one reader of a recording's lines: JSON objects, one per line, each an event.

Used by the whole read, the index (rebuilt by one pass) and the spans a replay
reads. Output events, most of a recording's bytes, can be passed over without
being parsed: their kind sits at the head of each line.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from pathlib import Path

from deploy_tui.core.events import Event, EventFormatError, NewerSchemaError, from_json


class DamagedLine(EventFormatError):
    """A line that is not an event, or is cut short; `offset` is where it starts."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


# Output events are most of a recording's bytes; their kind sits at the head of each line.
_OUTPUT = (b'"kind":"Output"', b'"kind":"OutputUpdate"')
_HEAD = 48


def is_output(line: bytes) -> bool:
    head = line[:_HEAD]
    return any(kind in head for kind in _OUTPUT)


def scan(
    path: Path, start: int = 0, end: int | None = None, *, skip_output: bool = False
) -> Iterator[tuple[int, Event]]:
    """(offset, event) for every whole line from start up to end.

    Raises DamagedLine, naming the line (counted from start), at the first line that is
    not an event, or is cut short; NewerSchemaError for a newer deploy-tui's. The file is
    mapped, not read: a line passed over (output, with skip_output) is never copied.
    """
    with path.open("rb") as data:
        size = os.fstat(data.fileno()).st_size
        stop = size if end is None else min(end, size)
        if start >= stop:
            return
        with mmap.mmap(data.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            offset, number = start, 0
            while offset < stop:
                number += 1
                newline = mapped.find(b"\n", offset)
                if newline < 0:
                    raise DamagedLine(f"line {number}: cut short", offset)
                if skip_output and is_output(mapped[offset : offset + _HEAD]):
                    offset = newline + 1
                    continue
                line = mapped[offset:newline]
                if line.strip():
                    try:
                        yield offset, from_json(line.decode("utf-8", errors="replace"))
                    except NewerSchemaError:
                        raise
                    except EventFormatError as error:
                        raise DamagedLine(f"line {number}: {error}", offset) from None
                offset = newline + 1
