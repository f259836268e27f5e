"""Field diagnoses, the reader's own code or settings stopping Django (F17), and no python3 on a minimal image (F18)."""

from __future__ import annotations

from deploy_tui.core.diagnoses.base import Rule

RULES: list[Rule] = []
