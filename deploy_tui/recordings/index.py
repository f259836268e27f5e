"""An index beside each recording, so a huge one opens and jumps to any step at once.

The index holds the byte offset where each step starts (each time it ran), where
each failure is, and the run's summary (site, start, outcome) for the list of past
runs. The recorder writes it when a run ends; a recording without one (the run
was killed) or with a stale one gets it rebuilt by one pass over the bytes that
parses only the few lines it needs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from deploy_tui.core.events import Diagnosis, Event, EventFormatError, RunFinished, RunStarted, StepStarted
from deploy_tui.recordings.jsonl import DamagedLine, scan

INDEX_VERSION = 1


def index_path(recording: Path) -> Path:
    return recording.with_name(recording.name + ".idx")


@dataclass
class Index:
    size: int = 0  # bytes of the recording this index describes
    steps: dict[str, list[int]] = field(default_factory=dict)  # step id -> offsets of its StepStarted
    failures: list[int] = field(default_factory=list)  # offsets of Diagnosis events
    site: str = ""
    started_at: str = ""
    status: str = ""  # "" while the run has not finished (or was killed)
    duration: float | None = None
    v: int = INDEX_VERSION

    def note(self, offset: int, event: Event) -> None:
        """Take in one event that starts at offset (the recorder calls this as it writes)."""
        if isinstance(event, StepStarted):
            self.steps.setdefault(event.step, []).append(offset)
        elif isinstance(event, Diagnosis):
            self.failures.append(offset)
        elif isinstance(event, RunStarted):
            self.site, self.started_at = event.site, event.started_at
        elif isinstance(event, RunFinished):
            self.status, self.duration = event.status, event.duration

    def save(self, recording: Path) -> None:
        path = index_path(recording)
        try:
            path.write_text(json.dumps(asdict(self)))
            path.chmod(0o600)
        except OSError:
            pass  # an index is a cache: a read-only place just means rebuilding next time


def build_index(recording: Path) -> Index:
    """One pass over the recording (its output lines passed over unparsed), up to any damage."""
    index = Index()
    try:
        for offset, event in scan(recording, skip_output=True):
            index.note(offset, event)
        index.size = recording.stat().st_size
    except DamagedLine as damage:
        index.size = damage.offset  # a cut-off last line is not part of the recording
    return index


def load_index(recording: Path) -> Index:
    """The recording's index, rebuilt (and saved) when missing, damaged or out of date."""
    size = recording.stat().st_size
    path = index_path(recording)
    if path.is_file():
        try:
            saved = _checked(json.loads(path.read_text()))
            if saved is not None and saved.size == size:
                return saved
        except (OSError, ValueError):
            pass
    index = build_index(recording)
    if index.size == size:
        index.save(recording)
    return index


def _checked(data: object) -> Index | None:
    """A saved index, when it is one of this version with every field of its type; a cache is never trusted."""
    if not isinstance(data, dict) or data.get("v") != INDEX_VERSION:
        return None
    steps, failures = data.get("steps"), data.get("failures")
    well_formed = (
        isinstance(data.get("size"), int)
        and isinstance(steps, dict)
        and all(isinstance(k, str) and isinstance(v, list) and all(type(o) is int for o in v) for k, v in steps.items())
        and isinstance(failures, list)
        and all(type(o) is int for o in failures)
        and all(isinstance(data.get(k), str) for k in ("site", "started_at", "status"))
        and (data.get("duration") is None or isinstance(data.get("duration"), int | float))
        and set(data) == {f.name for f in fields(Index)}
    )
    return Index(**data) if well_formed else None


@dataclass(frozen=True)
class RunSummary:
    path: Path
    site: str
    started_at: str
    status: str  # "passed", "failed", "cancelled", or "unfinished"
    duration: float | None


def list_runs(directory: Path) -> list[RunSummary]:
    """Past runs, newest first, from their indexes."""
    runs = []
    for path in directory.glob("*.jsonl"):
        try:
            index = load_index(path)
        except (OSError, EventFormatError):
            continue
        runs.append(RunSummary(path, index.site, index.started_at, index.status or "unfinished", index.duration))
    return sorted(runs, key=lambda r: r.started_at, reverse=True)
