"""A step's guide as the walkthrough shows it: the step's own words, then the exact commands it runs."""

from __future__ import annotations

from rich.markup import escape

from deploy_tui.core.commands import command_line
from deploy_tui.core.plan import Context, Step


def guide(step: Step, ctx: Context | None) -> str:
    """The guide text and, when the run's context is known, the exact commands, as Rich markup."""
    lines = [escape(step.guide)]
    commands = step.commands(ctx) if ctx is not None else ()
    if commands:
        lines += [
            "",
            "[b]Runs:[/b]",
            *(f"  [dim]{escape(command_line(c.display, sudo=c.sudo))}[/dim]" for c in commands),
        ]
    return "\n".join(lines)
