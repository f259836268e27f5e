"""A step's own view: its guide, progress bar, results table and diagnosis card."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, ProgressBar, Static

from deploy_tui.events import Diagnosis, DnsAnswer, ProbeResult, Progress, TestFinished, TestStarted
from screens.widgets.diagnosis_card import DiagnosisCard
from screens.widgets.tables import DnsTable, FtBoard, ProbeTable

TABLES = {"dns": DnsTable, "smoke": ProbeTable, "fts": FtBoard}


class StepPane(VerticalScroll):
    """Everything about one step except its raw output."""

    DEFAULT_CSS = """
    StepPane { height: 1fr; padding: 0 1; }
    StepPane .guide { margin-bottom: 1; }
    StepPane ProgressBar { display: none; }
    StepPane ProgressBar.-shown { display: block; }
    StepPane DataTable { height: auto; max-height: 14; }
    StepPane .test-detail { color: $text-muted; }
    """

    def __init__(self, step_id: str, guide: str) -> None:
        super().__init__(id=f"pane-{step_id}")
        self.step_id = step_id
        self._guide = guide

    def compose(self) -> ComposeResult:
        yield DiagnosisCard()
        yield ProgressBar(total=None, show_eta=False, id=f"progress-{self.step_id}")
        table = TABLES.get(self.step_id)
        if table is not None:
            yield table(id=f"table-{self.step_id}")
        if self.step_id == "fts":
            yield Static("", classes="test-detail")
        yield Static(self._guide, classes="guide")

    def progress(self, event: Progress) -> None:
        bar = self.query_one(ProgressBar)
        bar.add_class("-shown")
        bar.update(total=event.total, progress=event.done)

    def diagnose(self, diagnosis: Diagnosis) -> None:
        self.query_one(DiagnosisCard).show(diagnosis)

    def reset(self) -> None:
        self.query_one(DiagnosisCard).clear()
        self.query_one(ProgressBar).remove_class("-shown")
        for table in self.query(DataTable):
            table.clear()

    def dns(self, answer: DnsAnswer) -> None:
        self.query_one(DnsTable).add_answer(answer)

    def probe(self, probe: ProbeResult) -> None:
        self.query_one(ProbeTable).add_probe(probe)

    def finished(self, status: str) -> None:
        if self.step_id == "fts":
            self.query_one(FtBoard).settle("cancelled" if status == "cancelled" else "error")

    def test(self, event: TestStarted | TestFinished) -> None:
        board = self.query_one(FtBoard)
        board.start(event) if isinstance(event, TestStarted) else board.finish(event)

    @on(DataTable.RowHighlighted)
    def _show_test(self, event: DataTable.RowHighlighted) -> None:
        if self.step_id != "fts" or event.row_key.value is None:
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
