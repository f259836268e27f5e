"""What a site's recorded runs made of its commits: the gate (live only after staging) and the releases.

Every run is recorded; the source step records the commit the site is at (CodeAt) and the
fts step how the functional tests ended. The newest run of the gating site that deployed
the commit decides: its FTs passed, or they did not (and where that run stopped), or no run
deployed it at all. A site's releases, for a rollback, are its passed runs, one per commit.
Only the lines of those kinds are parsed; output lines are skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

_WANTED = ('"kind":"RunStarted"', '"kind":"CodeAt"', '"kind":"StepFinished"', '"kind":"RunFinished"')


@dataclass(frozen=True)
class RunSummary:
    path: Path
    site: str
    started: str
    commit: str
    fts: str  # the fts step's status: "passed", "failed", "skipped", ... or "" when it never ran
    stopped_at: str  # the first step that did not pass, or ""
    status: str = ""  # the run's: "passed", "failed", "cancelled", or "" when it never finished


@dataclass(frozen=True)
class GateVerdict:
    passed: bool
    said: str  # one line: what the gating site's recordings say of the commit
    run: RunSummary | None = None


def summary(path: Path) -> RunSummary | None:
    """The run's site, start, commit and FT result; None for a file that is not a readable recording."""
    site = started = commit = fts = stopped = status = ""
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if not any(kind in line for kind in _WANTED):
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                kind = event.get("kind")
                if kind == "RunStarted":
                    site, started = str(event.get("site", "")), str(event.get("started_at", ""))
                elif kind == "CodeAt":
                    commit = str(event.get("commit", ""))
                elif kind == "StepFinished":
                    if event.get("step") == "fts":
                        fts = str(event.get("status", ""))
                    elif event.get("status") not in ("passed", "already-done", "skipped") and not stopped:
                        stopped = str(event.get("step", ""))
                elif kind == "RunFinished":
                    status = str(event.get("status", ""))
    except OSError:
        return None
    return RunSummary(path, site, started, commit, fts, stopped, status) if site else None


def runs(where: Path, site: str) -> list[RunSummary]:
    """The site's recorded runs that reached the code (a commit recorded), newest first."""
    found = (summary(path) for path in sorted(where.glob(f"{site}-*.jsonl"), reverse=True))
    return [run for run in found if run is not None and run.site == site and run.commit]


def releases(where: Path, site: str) -> list[RunSummary]:
    """The site's good releases: runs that passed, newest first, one per commit (its newest run)."""
    seen: set[str] = set()
    good = []
    for run in runs(where, site):
        if run.status == "passed" and run.commit not in seen:
            seen.add(run.commit)
            good.append(run)
    return good


def verdict(runs: Path, site: str, commit: str) -> GateVerdict:
    """Whether the newest run of `site` that deployed `commit` passed its functional tests."""
    newest_other: RunSummary | None = None
    # File names begin with the site and the start time to the millisecond: newest first by name.
    for path in sorted(runs.glob(f"{site}-*.jsonl"), reverse=True):
        run = summary(path)
        if run is None or run.site != site or not run.commit:
            continue
        if not commit.startswith(run.commit) and not run.commit.startswith(commit):
            newest_other = newest_other or run
            continue
        when = run.started or path.name
        if run.fts == "passed":
            return GateVerdict(True, f"{site}'s functional tests passed on {commit[:10]} ({when})", run)
        if run.fts:
            how = f"its functional tests {run.fts}"
        elif run.stopped_at:
            how = f"it stopped at {run.stopped_at}, before the functional tests"
        else:
            how = "its functional tests did not run"
        return GateVerdict(False, f"{site}'s last run of {commit[:10]} ({when}): {how}", run)
    also = f"; its newest run deployed {newest_other.commit[:10]} ({newest_other.started})" if newest_other else ""
    return GateVerdict(False, f"no run of {site} has deployed {commit[:10]} yet{also}")
