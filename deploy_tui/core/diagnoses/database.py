"""Field diagnoses, SQLite that the server's user cannot write (F14)."""

from __future__ import annotations

from deploy_tui.core.diagnoses.base import Rule

RULES: list[Rule] = []
