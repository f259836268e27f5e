"""Field diagnoses, the machine itself: a full disk (F9)."""

from __future__ import annotations

from deploy_tui.core.diagnoses.base import Rule

RULES: list[Rule] = []
