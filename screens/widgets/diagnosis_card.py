"""What went wrong, why, and what to do: shown in a failed step's pane."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from deploy_tui.core.events import Diagnosis


class DiagnosisCard(Static):
    DEFAULT_CSS = """
    DiagnosisCard { border: heavy $error; padding: 0 1; height: auto; display: none; }
    DiagnosisCard.-shown { display: block; }
    """

    def show(self, diagnosis: Diagnosis) -> None:
        evidence = "\n".join(f"  [dim]│[/dim] {escape(line)}" for line in diagnosis.evidence[:8])
        self.update(
            f"[b red]{diagnosis.code}[/]  {escape(diagnosis.cause)}\n"
            f"[b]Fix:[/b] {escape(diagnosis.fix)}" + (f"\n[b]Evidence:[/b]\n{evidence}" if evidence else "")
        )
        self.border_title = "Diagnosis"
        self.add_class("-shown")

    def clear(self) -> None:
        self.remove_class("-shown")
