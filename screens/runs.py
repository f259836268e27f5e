"""The list of past runs to replay: site, date, outcome, newest first."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from deploy_tui.recordings.index import RunSummary
from screens.messages import RunChosen


class RunsScreen(Screen[None]):
    """Pick a recording; Enter replays it."""

    DEFAULT_CSS = "RunsScreen DataTable { height: 1fr; } RunsScreen #empty { padding: 1 2; }"
    BINDINGS = [Binding("q", "app.quit", "Quit", id="runs.quit")]

    def __init__(self, runs: list[RunSummary], where: Path) -> None:
        super().__init__()
        self.runs = runs
        self.where = where

    def compose(self) -> ComposeResult:
        yield Header()
        if not self.runs:
            yield Static(f"No recordings in {self.where} yet: every deploy-tui run records one.", id="empty")
        yield DataTable(cursor_type="row", id="runs")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"past runs in {self.where}"
        table = self.query_one(DataTable)
        for label in ("site", "started", "outcome", "took", "recording"):
            table.add_column(label)
        for run in self.runs:
            took = f"{run.duration:.1f}s" if run.duration is not None else "-"
            table.add_row(
                run.site, run.started_at.replace("T", " "), run.status, took, run.path.name, key=str(run.path)
            )
        table.focus()

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.post_message(RunChosen(Path(event.row_key.value)))
