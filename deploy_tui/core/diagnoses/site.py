"""Field diagnoses, the site's answers: ALLOWED_HOSTS written wrong (F15), a domain that answers with someone
else's page (F16).
"""

from __future__ import annotations

from deploy_tui.core.diagnoses.base import Rule

RULES: list[Rule] = []
