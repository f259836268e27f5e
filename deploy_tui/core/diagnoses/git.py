"""Field diagnoses, the site's repository seen from the server: not there, wanting authentication, owned by
someone else, no such branch (F5-F8).
"""

from __future__ import annotations

from deploy_tui.core.diagnoses.base import Rule

RULES: list[Rule] = []
