"""The walkthrough: the plan's steps, the selected step's own pane, and its live output.

The screen renders events and nothing else: a live run, a replay and a test feed it
the same way, through `feed`. Output is buffered and flushed about 20 times a second.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Header, ListView

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
    OutputUpdate,
    PlannedCommand,
    ProbeResult,
    Progress,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    TestFinished,
    TestStarted,
)
from screens.messages import CancelRequested, RunRequested
from screens.widgets.output_pane import OutputPane
from screens.widgets.step_list import StepItem, StepList
from screens.widgets.step_pane import StepInfo, StepPane

FLUSH_INTERVAL = 1 / 20


class WalkthroughScreen(Screen[None]):
    """Steps on the left; the selected step's pane and output on the right."""

    CSS_PATH = Path(__file__).with_name("walkthrough.tcss")
    BINDINGS = [
        Binding("r", "run_all", "Run all", id="walkthrough.run_all"),
        Binding("space", "run_step", "Step", id="walkthrough.run_step"),
        Binding("t", "retry", "Retry", id="walkthrough.retry"),
        Binding("s", "skip", "Skip", id="walkthrough.skip"),
        Binding("c", "cancel", "Cancel", id="walkthrough.cancel"),
        Binding("d", "dry_run", "Dry run", id="walkthrough.dry_run"),
        Binding("f", "follow", "Follow", id="walkthrough.follow"),
        Binding("q", "app.quit", "Quit", id="walkthrough.quit"),
    ]

    def __init__(self, steps: Iterable[StepInfo], title: str) -> None:
        super().__init__()
        self.steps = list(steps)
        self.sub_title = title
        self.follow_running = True
        self.running = False
        # A replay redrawing after a jump: the selection stays put, and panes are built only when shown.
        self.redrawing = False
        self._info = {step.id: step for step in self.steps}
        first = self.steps[0].id
        # Only the first step's pane is built for the first frame; the others when first needed.
        self._panes: dict[str, StepPane] = {first: StepPane(self._info[first])}
        self._wanted = first

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield StepList(*(StepItem(step.id, step.title) for step in self.steps), id="steps")
            with Vertical(id="right"):
                with ContentSwitcher(id="context", initial=f"pane-{self.steps[0].id}"):
                    yield self._panes[self.steps[0].id]
                yield OutputPane(id="output")
        yield Footer(compact=True, show_command_palette=False)

    def _compositor_refresh(self) -> None:
        # Textual holds every repaint while the app mounts (App.batch_update), yet it still draws a
        # screen pushed from App.on_mount, as this one is, and throws the drawing away: ~16 ms of the
        # first frame spent on a frame nobody sees. Skipped while held; the refresh asks for the one
        # drawing that shows, as soon as they are let go. (Pushing the screen after the app's mount
        # instead would save as much, but the app would then say it is ready before its screen is.)
        if getattr(self.app, "_batch_count", 0):
            self.refresh()
            return
        super()._compositor_refresh()

    def on_mount(self) -> None:
        self.query_one("#steps").border_title = "Steps"
        self.query_one("#output").border_title = "Output"
        self._select(self.steps[0].id)
        self.set_interval(FLUSH_INTERVAL, self._flush)

    # Selection.

    @property
    def selected(self) -> str:
        return self.query_one(OutputPane).shown

    def _select(self, step_id: str) -> None:
        switcher = self.query_one(ContentSwitcher)
        self._wanted = step_id
        if self._pane(step_id).is_mounted:
            switcher.current = f"pane-{step_id}"
        switcher.border_title = self._info[step_id].title
        self.query_one(OutputPane).show(step_id)

    @on(ListView.Highlighted, "#steps")
    def _highlighted(self, event: ListView.Highlighted) -> None:
        if isinstance(event.item, StepItem) and event.item.step_id != self.selected:
            self._select(event.item.step_id)

    @on(ListView.Selected, "#steps")
    def _selected(self) -> None:
        """Enter on a step runs it, as space does."""
        self.action_run_step()

    def on_key(self, event: object) -> None:
        # Moving through the list by hand stops the selection from jumping to the running step.
        key = getattr(event, "key", "")
        if key in ("up", "down", "home", "end", "pageup", "pagedown"):
            self.follow_running = False

    # Events in.

    def feed(self, events: Iterable[Event]) -> None:
        output = self.query_one(OutputPane)
        steps = self.query_one(StepList)
        for event in events:
            step = event.step
            if isinstance(event, Output):
                prefix = "! " if event.stream == "stderr" else ""
                output.add(step, [prefix + line for line in event.lines] if prefix else list(event.lines))
            elif isinstance(event, OutputUpdate):
                output.update_line(step, event.text)
            elif isinstance(event, CommandStarted):
                output.add(step, [command_line(event.argv_display, sudo=event.sudo, host=event.host)])
            elif isinstance(event, CommandFinished) and (event.exit_status != 0 or event.error):
                output.add(step, [f"→ {event.error or f'exit status {event.exit_status}'} after {event.duration:.1f}s"])
            elif isinstance(event, PlannedCommand):
                output.add(step, ["would run " + command_line(event.argv_display, sudo=event.sudo, host=event.host)])
            elif isinstance(event, StepStarted):
                if step in self._panes:  # a pane not built yet has nothing to clear
                    self._panes[step].reset()
                steps.item(step).set_status("running")
                if self.follow_running and not self.redrawing:
                    steps.index = list(self._info).index(step)
                    self._select(step)
            elif isinstance(event, StepFinished):
                steps.item(step).set_status(event.status, event.duration)
                if step in self._panes:  # only a pane that shows tests still running cares
                    self._panes[step].finished(event.status)
                if event.summary:
                    output.add(step, [f"── {event.status}: {event.summary}"])
            elif isinstance(event, Progress):
                self._pane(step).progress(event)
            elif isinstance(event, DnsAnswer):
                self._pane(step).dns(event)
            elif isinstance(event, ProbeResult):
                self._pane(step).probe(event)
            elif isinstance(event, CheckResult):
                self._pane(step).check(event)
            elif isinstance(event, TestStarted | TestFinished):
                self._pane(step).test(event)
            elif isinstance(event, Diagnosis):
                self._pane(step).diagnose(event)
                if self.follow_running and not self.redrawing:
                    self._select(step)
            elif isinstance(event, Notice):
                output.add(step or self.selected, [f"{event.level}: {event.text}"])
                if event.level == "error":
                    self.notify(event.text, severity="error", timeout=8)
            elif isinstance(event, RunStarted):
                self.running = True
                self.follow_running = True
            elif isinstance(event, RunFinished):
                self.running = False
                message = f"Run {event.status} in {event.duration:.1f}s"
                if event.status == "passed":
                    self.notify(message)
                else:
                    self.notify(message, severity="warning")

    def reset_all(self) -> None:
        """Back to the state before any event: for a replay that jumps back."""
        for item in self.query(StepItem):
            item.set_status("pending")
        for pane in self._panes.values():
            pane.reset()
        self.query_one(OutputPane).clear_all()

    def _pane(self, step: str) -> StepPane:
        pane = self._panes.get(step)
        if pane is None:
            pane = self._panes[step] = StepPane(self._info[step])
            pane.display = False
            self.query_one(ContentSwitcher).mount(pane)
        return pane

    @on(StepPane.Ready)
    def _pane_ready(self, message: StepPane.Ready) -> None:
        if message.step_id == self._wanted:
            self.query_one(ContentSwitcher).current = f"pane-{message.step_id}"

    def _flush(self) -> None:
        self.query_one(OutputPane).flush()

    # Actions: each asks the app, which owns the engine.

    def action_run_all(self) -> None:
        self.post_message(RunRequested())

    def action_run_step(self) -> None:
        self.post_message(RunRequested(only=frozenset({self.selected})))

    def action_retry(self) -> None:
        self.post_message(RunRequested(only=frozenset({self.selected}), force=frozenset({self.selected})))

    def action_skip(self) -> None:
        # Skip the selected step and go on with the rest of the plan from the next one.
        ids = list(self._info)
        rest = frozenset(ids[ids.index(self.selected) :])
        self.post_message(RunRequested(only=rest, skip=frozenset({self.selected})))

    def action_cancel(self) -> None:
        self.post_message(CancelRequested())

    def action_dry_run(self) -> None:
        self.post_message(RunRequested(dry_run=True))

    def action_follow(self) -> None:
        following = self.query_one(OutputPane).toggle_follow()
        self.notify("Output follows new lines" if following else "Output stays where you scrolled", timeout=2)
