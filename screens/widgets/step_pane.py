"""A step's own view: its guide, progress bar, results table and diagnosis card."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from deploy_tui.core.events import CheckResult, Diagnosis, DnsAnswer, ProbeResult, Progress, TestFinished, TestStarted
from deploy_tui.core.plan import Results
from screens.widgets.tables import ChecksTable, DnsTable, FtBoard, ProbeTable

if TYPE_CHECKING:
    from textual.widgets import ProgressBar

    from screens.widgets.diagnosis_card import DiagnosisCard

TABLES = {"checks": ChecksTable, "dns": DnsTable, "probes": ProbeTable, "tests": FtBoard}


@dataclass(frozen=True)
class StepInfo:
    """What the walkthrough shows of a step before it runs."""

    id: str
    title: str
    guide: str  # Rich markup
    results: Results  # the results view its pane shows


class StepPane(VerticalScroll):
    """Everything about one step except its raw output."""

    DEFAULT_CSS = """
    StepPane { height: 1fr; padding: 0 1; }
    StepPane .guide { margin-bottom: 1; }
    StepPane DataTable { height: auto; max-height: 14; }
    StepPane .test-detail { color: $text-muted; }
    """

    def __init__(self, info: StepInfo) -> None:
        super().__init__(id=f"pane-{info.id}")
        self.step_id = info.id
        self.results = info.results
        self._guide = info.guide
        # Made on first use: eight panes of progress bars and cards nobody sees yet would cost the
        # first frame a good part of its time.
        self._bar: ProgressBar | None = None
        self._card: DiagnosisCard | None = None
        # A pane is mounted when first needed; what reaches it before that waits here.
        self._waiting: list[tuple[Callable[..., None], tuple[object, ...]]] = []
        self._ready = False

    class Ready(Message):
        """The pane is mounted and can show things; the screen may now switch to it."""

        def __init__(self, step_id: str) -> None:
            super().__init__()
            self.step_id = step_id

    def on_mount(self) -> None:
        self.call_after_refresh(self._drain)

    def _drain(self) -> None:
        self._ready = True
        waiting, self._waiting = self._waiting, []
        for method, args in waiting:
            method(*args)
        self.post_message(self.Ready(self.step_id))

    def _later(self, method: Callable[..., None], *args: object) -> bool:
        """True when the call must wait for the pane to be mounted (and was queued)."""
        if self._ready:
            return False
        self._waiting.append((method, args))
        return True

    def compose(self) -> ComposeResult:
        table = TABLES.get(self.results)
        if table is not None:
            yield table(id=f"table-{self.step_id}")
        if self.results == "tests":
            yield Static("", classes="test-detail")
        yield Static(self._guide, classes="guide")

    def progress(self, event: Progress) -> None:
        if self._later(self.progress, event):
            return
        if self._bar is None:
            from textual.widgets import ProgressBar  # its module too waits for the first progress

            self._bar = ProgressBar(total=event.total, show_eta=False, id=f"progress-{self.step_id}")
            self.mount(self._bar, before=0)
        self._bar.update(total=event.total, progress=event.done)

    def diagnose(self, diagnosis: Diagnosis) -> None:
        if self._later(self.diagnose, diagnosis):
            return
        if self._card is None:
            from screens.widgets.diagnosis_card import DiagnosisCard

            self._card = DiagnosisCard()
            self.mount(self._card, before=0)
        self._card.show(diagnosis)

    @property
    def card(self) -> DiagnosisCard | None:
        return self._card

    def reset(self) -> None:
        if self._later(self.reset):
            return
        for widget in (self._card, self._bar):
            if widget is not None:
                widget.remove()
        self._card = self._bar = None
        for table in self.query(DataTable):
            table.clear()

    def dns(self, answer: DnsAnswer) -> None:
        if self._later(self.dns, answer):
            return
        self.query_one(DnsTable).add_answer(answer)

    def check(self, check: CheckResult) -> None:
        if self._later(self.check, check):
            return
        self.query_one(ChecksTable).add_check(check)

    def probe(self, probe: ProbeResult) -> None:
        if self._later(self.probe, probe):
            return
        self.query_one(ProbeTable).add_probe(probe)

    def finished(self, status: str) -> None:
        if self._later(self.finished, status):
            return
        if self.results == "tests":
            self.query_one(FtBoard).settle("cancelled" if status == "cancelled" else "error")

    def test(self, event: TestStarted | TestFinished) -> None:
        if self._later(self.test, event):
            return
        board = self.query_one(FtBoard)
        board.start(event) if isinstance(event, TestStarted) else board.finish(event)

    @on(DataTable.RowHighlighted)
    def _show_test(self, event: DataTable.RowHighlighted) -> None:
        if self.results != "tests" or event.row_key.value is None:
            return
        detail = self.query_one(FtBoard).details.get(str(event.row_key.value))
        text = ""
        if detail is not None:
            text = f"[b]{escape(detail.name)}[/b]: {detail.outcome} in {detail.duration:.1f}s"
            if detail.screenshot:
                text += f"\nscreenshot: {escape(detail.screenshot)}"
            if detail.traceback:
                text += "\n" + escape("\n".join(detail.traceback.strip().splitlines()[-12:]))
        self.query_one(".test-detail", Static).update(text)
