"""What went wrong, why, and what to do: shown in a failed step's pane.

A step may say several things at once (the preflight finds every problem of the
project in one pass): the card lists each, in the order they were found.
"""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from deploy_tui.core.events import Diagnosis


class DiagnosisCard(Static):
    DEFAULT_CSS = """
    DiagnosisCard { border: heavy $error; padding: 0 1; height: auto; display: none; }
    DiagnosisCard.-shown { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._shown: list[Diagnosis] = []

    def show(self, diagnosis: Diagnosis) -> None:
        self._shown.append(diagnosis)
        self.update("\n\n".join(_card(d) for d in self._shown))
        self.border_title = "Diagnosis" if len(self._shown) == 1 else f"Diagnoses ({len(self._shown)})"
        self.add_class("-shown")

    def clear(self) -> None:
        self._shown.clear()
        self.remove_class("-shown")


def _card(diagnosis: Diagnosis) -> str:
    evidence = "\n".join(f"  [dim]│[/dim] {escape(line)}" for line in diagnosis.evidence[:8])
    return f"[b red]{diagnosis.code}[/]  {escape(diagnosis.cause)}\n[b]Fix:[/b] {escape(diagnosis.fix)}" + (
        f"\n[b]Evidence:[/b]\n{evidence}" if evidence else ""
    )
