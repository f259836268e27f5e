"""An index beside each recording, so a huge one opens and jumps to any step at once.

The index holds the byte offset where each step starts (each time it ran), where
each failure is, and the run's summary (site, start, outcome) for the list of past
runs. The recorder writes it when a run ends; a recording without one (the run
was killed) or with a stale one gets it rebuilt by one pass over the bytes that
parses only the few lines it needs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from deploy_tui.core.events import Event, EventFormatError, NewerSchemaError, from_json

INDEX_VERSION = 1
_WANTED = (b'"kind":"RunStarted"', b'"kind":"StepStarted"', b'"kind":"Diagnosis"', b'"kind":"RunFinished"')


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
        kind = event.kind
        if kind == "StepStarted":
            self.steps.setdefault(event.step, []).append(offset)
        elif kind == "Diagnosis":
            self.failures.append(offset)
        elif kind == "RunStarted":
            self.site = getattr(event, "site", "")
            self.started_at = getattr(event, "started_at", "")
        elif kind == "RunFinished":
            self.status = getattr(event, "status", "")
            self.duration = getattr(event, "duration", None)

    def save(self, recording: Path) -> None:
        path = index_path(recording)
        try:
            path.write_text(json.dumps(asdict(self)))
            path.chmod(0o600)
        except OSError:
            pass  # an index is a cache: a read-only place just means rebuilding next time


def build_index(recording: Path) -> Index:
    index = Index()
    offset = 0
    with recording.open("rb") as data:
        for line in data:
            if line.endswith(b"\n") and any(marker in line for marker in _WANTED):
                try:
                    index.note(offset, from_json(line.decode("utf-8", errors="replace")))
                except NewerSchemaError:
                    raise
                except EventFormatError:
                    break
            if not line.endswith(b"\n"):
                break  # a cut-off last line is not part of the recording
            offset += len(line)
    index.size = offset
    return index


def load_index(recording: Path) -> Index:
    """The recording's index, rebuilt (and saved) when missing, damaged or out of date."""
    size = recording.stat().st_size
    path = index_path(recording)
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            if data.get("v") == INDEX_VERSION and data.get("size") == size:
                return Index(**data)
        except (ValueError, TypeError):
            pass
    index = build_index(recording)
    if index.size == size:
        index.save(recording)
    return index


def read_span(recording: Path, start: int = 0, end: int | None = None) -> list[Event]:
    """The events between two offsets, e.g. one step's, without reading the rest of the file."""
    events = []
    with recording.open("rb") as data:
        data.seek(start)
        chunk = data.read() if end is None else data.read(max(0, end - start))
    for line in chunk.split(b"\n"):
        if not line.strip():
            continue
        try:
            events.append(from_json(line.decode("utf-8", errors="replace")))
        except NewerSchemaError:
            raise
        except EventFormatError:
            break
    return events


def step_span(recording: Path, index: Index, step: str, run: int = -1) -> list[Event]:
    """One run of one step: from its StepStarted to the next step's (or the end)."""
    offsets = index.steps.get(step)
    if not offsets:
        return []
    start = offsets[run]
    later = [o for values in index.steps.values() for o in values if o > start]
    return read_span(recording, start, min(later) if later else index.size)


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
