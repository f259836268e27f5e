"""From a failed step to a diagnosis: what went wrong, why, and what to do, the way the book debugs.

One small rule per known pitfall, tried in order; the first that recognises the
failure names it. Rules read only what the step reported (its message, evidence
lines and facts such as the outside and inside probes), so each can be tested
on its own and proven on the sandbox box with the real situation.

The chapter's own debugging walk (D1-D10, and P3 for a Django older than the
server's Python) lives in `chapter`; the failures readers hit in the field
(F-codes) each live with their kind: reaching the server and sudo, git, pip,
the database, the machine, the site's answers, and last the reader's own code;
production's (R-codes) with setting it up (nginx -t, the unit) and its answers.
A rule that recognises a precise message comes before one that reads a general
shape (a traceback), so the first match is the most specific.
"""

from __future__ import annotations

from deploy_tui.core.diagnoses import (
    access,
    chapter,
    code,
    database,
    git,
    machine,
    pip,
    production,
    production_setup,
    site,
)
from deploy_tui.core.diagnoses.base import Rule
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import StepFailed

# A full disk first: it breaks every other step in a way that would otherwise be misread.
RULES: tuple[Rule, ...] = (
    *machine.RULES,
    *access.RULES,
    *git.RULES,
    *pip.RULES,
    *database.RULES,
    *production_setup.RULES,
    *production.RULES,
    *site.RULES,
    *chapter.RULES,
    *code.RULES,
)


def diagnose(step: str, failure: StepFailed) -> Diagnosis | None:
    text = "\n".join((str(failure), *failure.evidence))
    for check in RULES:
        found = check(step, failure, text)
        if found is not None:
            return found
    return None
