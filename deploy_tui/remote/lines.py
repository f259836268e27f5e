"""Turns a stream of output chunks into finished lines and live updates of the current line.

Bytes arrive in chunks that cut lines and UTF-8 characters anywhere. A finished
line ends in a newline; what a terminal would show of it is what follows its last
carriage return (progress bars redraw with `\\r`). The unfinished tail, when it has
changed, is reported as an update so a progress line shows while it is drawn.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass


def _visible(segment: str) -> str:
    """What a terminal shows of a line containing carriage returns."""
    if "\r" not in segment:
        return segment
    parts = [p for p in segment.split("\r") if p]
    return parts[-1] if parts else ""


@dataclass
class Split:
    lines: list[str]
    update: str | None  # the unfinished line as it now shows, when it changed


class LineSplitter:
    """Incremental splitter for one stream (stdout or stderr)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._tail = ""
        self._shown = ""

    def feed(self, chunk: bytes) -> Split:
        text = self._tail + self._decoder.decode(chunk)
        *done, self._tail = text.split("\n")
        # Most chunks hold no carriage return at all: only then is each line looked at.
        lines = [_visible(line) for line in done] if "\r" in text else done
        if lines:
            self._shown = ""
        update = None
        now = _visible(self._tail)
        if now != self._shown:
            self._shown = now
            update = now
        return Split(lines, update)

    def close(self) -> list[str]:
        """Flush what is left at end of stream: a last line without a newline counts as a line."""
        text = self._tail + self._decoder.decode(b"", final=True)
        self._tail = ""
        self._shown = ""
        last = _visible(text)
        return [last] if last else []
