"""What the screens ask of the app: small messages, the only way a screen starts or stops a run."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message


@dataclass
class RunRequested(Message):
    """Run the plan, or part of it."""

    only: frozenset[str] = field(default_factory=frozenset)
    force: frozenset[str] = field(default_factory=frozenset)
    skip: frozenset[str] = field(default_factory=frozenset)
    dry_run: bool = False


class CancelRequested(Message):
    """Stop the run in flight, and its remote command."""
