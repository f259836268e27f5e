"""Field diagnoses, the machine itself: a full disk (F9)."""

from __future__ import annotations

import re

from deploy_tui.core.diagnoses.base import Rule, evidence
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import StepFailed

RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


# What each tool says when a write finds the disk full (captured on a full tmpfs; git 2.39, Python 3.11):
#   git clone, nothing fits:  "error: copy-fd: write returned: No space left on device",
#                             "fatal: cannot copy '/usr/share/git-core/templates/description' to '.../.git/description':
#                              No space left on device"
#   git clone, the pack does not fit:  "fatal: write error: No space left on device",
#                                      "fatal: fetch-pack: invalid index-pack output"
#   python3 -m venv:          "Error: [Errno 28] No space left on device"
#   pip install:              "ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device"
#   SQLite (manage.py migrate, the site): "django.db.utils.OperationalError: database or disk is full"
_NO_SPACE = re.compile(r"No space left on device|\[Errno 28\]|database or disk is full")
# When the pack fits and the files do not, git names neither the error nor the disk, only the files:
#   "error: unable to write file lists/views.py" ... "fatal: unable to checkout working tree",
#   "warning: Clone succeeded, but checkout failed."
# (A directory it may not write says "unable to create file ...: Permission denied" instead.)
_UNWRITTEN_FILES = re.compile(r"error: unable to write file ")
_CHECKOUT_FAILED = re.compile(r"unable to checkout working tree|Clone succeeded, but checkout failed")


@rule
def disk_full(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    said = _NO_SPACE.search(text)
    if not said and not (_UNWRITTEN_FILES.search(text) and _CHECKOUT_FAILED.search(text)):
        return None
    where = "this machine" if step == "fts" else "the server"  # the functional tests run here, the rest there
    why = (
        f"The disk is full on {where}: the {step} step could not write (No space left on device)."
        if said
        else f"git fetched the repository but could not write the files it checked out, and does not say "
        f"why; on {where} that is almost always a full disk."
    )
    return Diagnosis(
        step=step,
        code="F9",
        cause=f"{why} Every later step would fail the same way, in ways that look like other problems, until "
        "there is room again.",
        fix=f"See what is full on {where}: df -h (and df -i: a disk can run out of inodes before bytes), and "
        "du -sh ~/* ~/.cache/* | sort -h for what takes the room. Make room with sudo apt-get clean (downloaded "
        "packages), rm -rf ~/.cache/pip (pip's download cache), sudo journalctl --vacuum-size=100M (old system "
        "logs), and site directories you no longer deploy; or give the server a bigger disk. Then run this step "
        "again.",
        evidence=evidence(failure, r"No space left|Errno 28|disk is full|unable to write|checkout"),
    )
