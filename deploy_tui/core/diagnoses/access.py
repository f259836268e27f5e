"""Field diagnoses, reaching the server and becoming root: SSH keys refused (F1), sudo's password, sudoers and
terminal (F2-F4).
"""

from __future__ import annotations

from deploy_tui.core.diagnoses.base import Rule

RULES: list[Rule] = []
