"""What the screens ask of the app: small messages, the only way a screen starts or stops a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from deploy_tui.core.config import Site
    from deploy_tui.core.resolvers import Resolver


@dataclass
class RunRequested(Message):
    """Run the plan, or part of it."""

    only: frozenset[str] = field(default_factory=frozenset)
    force: frozenset[str] = field(default_factory=frozenset)
    skip: frozenset[str] = field(default_factory=frozenset)
    dry_run: bool = False


class CancelRequested(Message):
    """Stop the run in flight, and its remote command."""


class SiteChosen(Message):
    """The setup screen's site, ready to walk through."""

    def __init__(self, site: Site, resolvers: tuple[Resolver, ...] = ()) -> None:
        super().__init__()
        self.site = site
        self.resolvers = resolvers


class RunChosen(Message):
    """A past run picked for replay."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
