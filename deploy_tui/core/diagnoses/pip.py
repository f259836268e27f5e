"""Field diagnoses, installing the requirements: a pin that does not exist, a build without its compiler or
headers, pip killed for memory, pip outside the venv (F10-F13).
"""

from __future__ import annotations

from deploy_tui.core.diagnoses.base import Rule

RULES: list[Rule] = []
