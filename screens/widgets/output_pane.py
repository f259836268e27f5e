"""A step's output: bounded, streamed in batches, stderr marked, with a live progress line."""

from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, Static

MAX_LINES = 10_000


class OutputPane(Vertical):
    """Keeps the newest lines of every step and shows the selected one's.

    Lines arrive through `add`, are buffered, and go to the Log in one `write_lines`
    per `flush` (the screen calls it about 20 times a second): one write per line
    would start a worker per line and freeze the UI under a flood (textual#2187).
    """

    DEFAULT_CSS = """
    OutputPane { height: 1fr; }
    OutputPane Log { height: 1fr; }
    OutputPane #progress-line { height: 1; color: $text-muted; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._lines: dict[str, deque[str]] = {}
        self._pending: list[str] = []
        self.shown = ""

    def compose(self) -> ComposeResult:
        yield Log(max_lines=MAX_LINES, highlight=False, id="log")
        yield Static("", id="progress-line")

    @property
    def log_widget(self) -> Log:
        return self.query_one("#log", Log)

    def add(self, step: str, lines: list[str]) -> None:
        lines = lines[-MAX_LINES:]  # a burst longer than what is kept: only its end can show
        buffer = self._lines.setdefault(step, deque(maxlen=MAX_LINES))
        buffer.extend(lines)
        if step == self.shown:
            self._pending.extend(lines)
            if len(self._pending) > MAX_LINES:
                del self._pending[: len(self._pending) - MAX_LINES]

    def update_line(self, step: str, text: str) -> None:
        if step == self.shown:
            self.query_one("#progress-line", Static).update(text[-200:])

    def flush(self) -> None:
        if self._pending:
            lines, self._pending = self._pending, []
            self.log_widget.write_lines(lines)

    def show(self, step: str) -> None:
        self.shown = step
        self._pending = []
        log = self.log_widget
        log.clear()
        lines = self._lines.get(step)
        if lines:  # each write starts a thread worker: none for a step with nothing to show yet
            log.write_lines(list(lines))
        self.query_one("#progress-line", Static).update("")

    def clear(self, step: str) -> None:
        self._lines.pop(step, None)
        if step == self.shown:
            self._pending = []
            self.log_widget.clear()

    def clear_all(self) -> None:
        self._lines.clear()
        self._pending = []
        self.log_widget.clear()

    def lines_of(self, step: str) -> list[str]:
        return list(self._lines.get(step, ()))

    def toggle_follow(self) -> bool:
        log = self.log_widget
        log.auto_scroll = not log.auto_scroll
        if log.auto_scroll:
            log.scroll_end(animate=False)
        return log.auto_scroll
