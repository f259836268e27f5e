"""The list of steps with their status icon, duration and summary."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import ListItem, ListView

from deploy_tui.core.statuses import label, mark


class StepItem(ListItem):
    """One step: icon, title, and once it ran, its status and duration.

    The item draws its own text rather than holding a Static: one widget per step, not two, is
    that much less for the walkthrough's first frame to compose, style and lay out.
    """

    DEFAULT_CSS = """
    StepItem { height: auto; padding: 0 1; }
    StepItem.-failed { color: $error; }
    StepItem.-failed.-highlight { color: $text; }
    """

    def __init__(self, step_id: str, title: str) -> None:
        super().__init__(id=f"step-{step_id}")
        self.step_id = step_id
        self.title = title
        self.status = "pending"
        self.duration: float | None = None

    def render(self) -> Text:
        return self._render_text()

    def _render_text(self) -> Text:
        shown = mark(self.status)
        text = Text.assemble((f"{shown.glyph} ", shown.style), self.title)
        if self.status not in ("pending", "running"):
            when = f" {self.duration:.1f}s" if self.duration is not None else ""
            text.append(f"\n  {label(self.status)}{when}", style="dim")
        elif self.status == "running":
            text.append("\n  running…", style="dim")
        return text

    def set_status(self, status: str, duration: float | None = None) -> None:
        self.status, self.duration = status, duration
        self.set_class(status == "failed", "-failed")
        self.refresh(layout=True)  # the text may gain or lose its second line


class StepList(ListView):
    """Steps in plan order; selecting one shows its output and its own pane."""

    def item(self, step_id: str) -> StepItem:
        return self.query_one(f"#step-{step_id}", StepItem)

    def index_of(self, step_id: str) -> int:
        return next(i for i, item in enumerate(self.children) if isinstance(item, StepItem) and item.step_id == step_id)
