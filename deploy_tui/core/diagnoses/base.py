"""What every diagnosis rule shares: its signature, and the evidence lines it quotes."""

from __future__ import annotations

import re
from collections.abc import Callable

from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import StepFailed

# A rule reads the failed step's id, the failure, and its message and evidence as one text.
Rule = Callable[[str, StepFailed, str], Diagnosis | None]


def evidence(failure: StepFailed, pattern: str = "", limit: int = 8) -> tuple[str, ...]:
    """The failure's message, then its last evidence lines (those matching pattern, when any do)."""
    lines = failure.evidence
    if pattern:
        matching = tuple(line for line in lines if re.search(pattern, line, re.IGNORECASE))
        lines = matching or lines
    return (str(failure), *lines[-limit:])


def unanswered(failure: StepFailed) -> bool:
    """The smoke test got no HTTP answer from outside (refused, timeout): a network or process problem."""
    outside = failure.facts.outside
    return outside is not None and outside.status is None
