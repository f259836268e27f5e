"""Replays: the walkthrough fed from a recording, with play/pause, speed, jumps and search.

A step can also be run again from here, against the live server, with the
parameters the recording was made with; its events join the same screens.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from deploy_tui.core.events import CommandFinished, CommandStarted, Notice, Output, OutputUpdate, PlannedCommand
from deploy_tui.recordings.player import Player
from screens.messages import RunRequested
from screens.walkthrough import FLUSH_INTERVAL, WalkthroughScreen
from screens.widgets.output_pane import OutputPane
from screens.widgets.step_list import StepList
from screens.widgets.step_pane import StepInfo

# What a step's output pane shows: refilled when a step's span is read after a jump.
OUTPUT_KINDS = (CommandStarted, CommandFinished, Output, OutputUpdate, PlannedCommand, Notice)


class SearchScreen(ModalScreen[str | None]):
    """Asks what to look for in the output."""

    DEFAULT_CSS = """
    SearchScreen { align: center middle; }
    SearchScreen > Vertical { width: 60; height: auto; border: thick $primary; background: $surface; padding: 1 2; }
    """
    BINDINGS = [("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Find in the output (from the current position on):")
            yield Input(id="search")

    @on(Input.Submitted)
    def _found(self, event: Input.Submitted) -> None:
        self.dismiss(event.value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReplayScreen(WalkthroughScreen, inherit_bindings=False):
    """The walkthrough, played from a recording. Its own keys only: a replay runs nothing by itself,
    except "t", on purpose."""

    BINDINGS = [
        Binding("p", "play_pause", "Play/pause", id="replay.play_pause"),
        Binding("x", "speed", "Speed", id="replay.speed"),
        Binding("j", "jump", "Jump to step", id="replay.jump"),
        Binding("n", "next_failure", "Next failure", id="replay.next_failure"),
        Binding("slash", "search", "Search", id="replay.search"),
        Binding("t", "retry", "Run step again", id="replay.retry"),
        Binding("f", "follow", "Follow", id="replay.follow"),
        Binding("q", "app.quit", "Quit", id="replay.quit"),
    ]

    def __init__(self, steps: Iterable[StepInfo], title: str, player: Player, warning: str) -> None:
        super().__init__(steps, title)
        self.player = player
        self.warning = warning
        self._last_tick = time.monotonic()
        self._search = ""

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(FLUSH_INTERVAL, self._tick)
        self._show_state()
        if self.warning:
            self.notify(self.warning, severity="warning", timeout=10)

    def _tick(self) -> None:
        now = time.monotonic()
        released = self.player.advance(now - self._last_tick)
        self._last_tick = now
        if released:
            self.feed(released)
            if self.player.finished:
                self._show_state()

    def _show_state(self) -> None:
        state = "finished" if self.player.finished else ("playing" if self.player.playing else "paused")
        self.sub_title = (
            f"replay: {state} at {self.player.speed_label}, {self.player.position}/{len(self.player.events)}"
        )

    def _seek(self, position: int) -> None:
        """Redraw from scratch up to position, then go on from there (paused)."""
        before = self.player.seek(position)
        self.redrawing = True  # earlier steps stay skeletons: their output is read when they are shown
        try:
            self.reset_all()
            self.feed(before)
        finally:
            self.redrawing = False
        step = before[-1].step if before else ""
        if step in self._info:  # the step the position is in, selected as a live run would have it
            self.query_one(StepList).index = list(self._info).index(step)
            self._select(step)
        self.player.playing = False
        self._show_state()

    def action_play_pause(self) -> None:
        self.player.playing = not self.player.playing
        self._last_tick = time.monotonic()
        self._show_state()

    def action_speed(self) -> None:
        self.notify(f"Replay speed: {self.player.cycle_speed()}", timeout=2)
        self._show_state()

    def _select(self, step_id: str) -> None:
        # A step passed over by a jump shows only its commands until its output is read, here.
        events = None if self.redrawing else self.player.output_of(step_id)
        if events is not None:
            self.query_one(OutputPane).clear(step_id)
            self.feed(e for e in events if isinstance(e, OUTPUT_KINDS))
        super()._select(step_id)

    def action_jump(self) -> None:
        position = self.player.step_start(self.selected)
        if position is None:
            self.notify(f"The step {self.selected} did not run in this recording.", severity="warning")
            return
        self._seek(position + 1)

    def action_run_step(self) -> None:
        """Enter on a step jumps there, as j does."""
        self.action_jump()

    def action_next_failure(self) -> None:
        position = self.player.next_failure()
        if position is None:
            self.notify("No failure after this point.", timeout=3)
            return
        self._seek(position + 1)
        self.follow_running = True
        event = self.player.events[position]
        self._select(event.step)

    def action_search(self) -> None:
        def found(text: str | None) -> None:
            if not text:
                return
            start = self.player.position if text != self._search else self.player.position + 1
            self._search = text
            position = self.player.search(text, start)
            if position is None:
                self.notify(f"{text!r} does not appear after this point.", timeout=3)
                return
            self._seek(position + 1)
            self._select(self.player.events[position].step)

        self.app.push_screen(SearchScreen(), found)

    def action_retry(self) -> None:
        """Run the selected step again, live, with the recording's parameters."""
        self.player.playing = False
        self.post_message(RunRequested(only=frozenset({self.selected}), force=frozenset({self.selected})))
