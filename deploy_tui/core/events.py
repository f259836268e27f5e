"""The one vocabulary of events that flows from the engine to the UI, the recorder and the replay.

Events are small frozen dataclasses. Each has a `kind` (its class name), the id of
the step it belongs to ("" for the run itself) and a monotonic timestamp. Fields
hold only JSON-friendly values (str, int, float, bool, None and tuples of those),
so every event round-trips through one JSON object per line. Text in an event has
already been through the run's redactor: secrets never reach an event.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, get_type_hints

SCHEMA_VERSION = 1

_KINDS: dict[str, type[Event]] = {}


class EventFormatError(ValueError):
    """A line that is not an event this version of deploy-tui can read."""


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "Event"
    step: str = ""
    ts: float = field(default_factory=time.monotonic)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.kind = cls.__name__
        _KINDS[cls.kind] = cls

    def __rich_repr__(self) -> Any:
        # Textual's devtools choke on huge reprs (textual#4060): show sizes, not payloads.
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple) and len(value) > 3:
                yield f.name, f"<{len(value)} items>"
            elif isinstance(value, str) and len(value) > 200:
                yield f.name, value[:200] + "…"
            else:
                yield f.name, value


Sink = Callable[[Event], None]


# The run and its steps.


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    run_id: str
    site: str
    started_at: str  # ISO 8601 wall-clock time, for people; ts orders events
    schema: int = SCHEMA_VERSION
    params: str = ""  # the site and resolvers as JSON (no secrets), so a replay can run a step again


@dataclass(frozen=True, kw_only=True)
class StepStarted(Event):
    title: str


@dataclass(frozen=True, kw_only=True)
class StepFinished(Event):
    status: str  # "passed", "failed", "skipped", "already-done", "cancelled", "planned"
    duration: float
    summary: str = ""


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    status: str  # "passed", "failed", "cancelled"
    duration: float


@dataclass(frozen=True, kw_only=True)
class Notice(Event):
    """Something the operator should read that is not a command's output."""

    level: str  # "info", "warning", "error"
    text: str


# Commands on a host.


@dataclass(frozen=True, kw_only=True)
class CommandStarted(Event):
    command_id: str
    argv_display: str
    host: str
    sudo: bool = False


@dataclass(frozen=True, kw_only=True)
class PlannedCommand(Event):
    """A command a step would run: what a dry run shows instead of running it."""

    argv_display: str
    host: str
    sudo: bool = False


@dataclass(frozen=True, kw_only=True)
class Output(Event):
    """Finished lines from one stream of a command, in order; batched, so a flood stays cheap."""

    command_id: str
    stream: str  # "stdout" or "stderr"
    lines: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class OutputUpdate(Event):
    """The stream's unfinished line as it now shows (a progress bar redrawn with carriage returns)."""

    command_id: str
    stream: str
    text: str


@dataclass(frozen=True, kw_only=True)
class Progress(Event):
    done: float
    total: float | None
    unit: str = ""
    label: str = ""


@dataclass(frozen=True, kw_only=True)
class CommandFinished(Event):
    command_id: str
    exit_status: int | None  # None when it never finished (timed out, cancelled, connection lost)
    duration: float
    timed_out: bool = False
    cancelled: bool = False
    error: str = ""


# What steps find out.


@dataclass(frozen=True, kw_only=True)
class DnsAnswer(Event):
    domain: str
    resolver: str  # a name, like "Cloudflare"
    address: str  # ip[:port]
    location: str
    status: str  # "match", "stale", "nxdomain", "servfail", "refused", "timeout", "no-answer"
    records: tuple[str, ...]
    ttl: int | None
    latency: float | None
    rdtype: str = "A"


@dataclass(frozen=True, kw_only=True)
class ProbeResult(Event):
    url: str
    vantage: str  # "outside" or "inside"
    status: int | None
    title: str
    error: str
    latency: float | None = None


@dataclass(frozen=True, kw_only=True)
class CheckResult(Event):
    """One thing the preflight looked at in the reader's project: what it found, and its verdict."""

    item: str  # "Django", "requirements", "ALLOWED_HOSTS", ...
    found: str
    verdict: str  # "ok", "warning", "problem"


@dataclass(frozen=True, kw_only=True)
class TestStarted(Event):
    __test__: ClassVar[bool] = False  # a functional test's start, not a test for pytest to collect
    name: str


@dataclass(frozen=True, kw_only=True)
class TestFinished(Event):
    __test__: ClassVar[bool] = False
    name: str
    outcome: str  # "passed", "failed", "error", "skipped"
    duration: float
    traceback: str = ""
    screenshot: str = ""


@dataclass(frozen=True, kw_only=True)
class Diagnosis(Event):
    code: str  # "D1".."D9", ...
    cause: str
    fix: str
    evidence: tuple[str, ...] = ()


# JSON, one object per line.


def to_json(event: Event) -> str:
    data: dict[str, Any] = {"v": SCHEMA_VERSION, "kind": event.kind}
    data.update((f.name, getattr(event, f.name)) for f in dataclasses.fields(event))
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def from_json(line: str) -> Event:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise EventFormatError(f"not JSON: {error.msg}") from None
    if not isinstance(data, dict):
        raise EventFormatError("not a JSON object")
    version = data.pop("v", None)
    if not isinstance(version, int):
        raise EventFormatError("no schema version")
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(version)
    cls = _KINDS.get(str(data.pop("kind", "")))
    if cls is None:
        raise EventFormatError("unknown event kind")
    hints = _tuple_fields(cls)
    for name in hints & data.keys():
        if isinstance(data[name], list):
            data[name] = tuple(data[name])
    try:
        return cls(**data)
    except TypeError as error:
        raise EventFormatError(f"{cls.kind}: {error}") from None


class NewerSchemaError(EventFormatError):
    def __init__(self, version: int) -> None:
        super().__init__(
            f"written by a newer deploy-tui (event schema {version}, this one reads {SCHEMA_VERSION}): "
            "upgrade deploy-tui to read it"
        )
        self.version = version


_TUPLE_FIELDS: dict[type[Event], frozenset[str]] = {}


def _tuple_fields(cls: type[Event]) -> frozenset[str]:
    if cls not in _TUPLE_FIELDS:
        hints = get_type_hints(cls)
        _TUPLE_FIELDS[cls] = frozenset(
            f.name for f in dataclasses.fields(cls) if str(hints[f.name]).startswith("tuple")
        )
    return _TUPLE_FIELDS[cls]


def fanout(*sinks: Sink) -> Sink:
    """One sink that hands each event to every sink, in order."""

    def emit(event: Event) -> None:
        for sink in sinks:
            sink(event)

    return emit
