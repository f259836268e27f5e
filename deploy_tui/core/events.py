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
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

from deploy_tui.core.shown import shown

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
class CodeAt(Event):
    """The release the site is at after the source step: what a gate and a rollback read.

    A run that passed with it is a release: this commit, these requirements, this environment,
    the run's time and its recording.
    """

    commit: str  # the full hash
    requirements: str = ""  # the first 16 hex digits of the requirements file's SHA-256
    env: str = ""  # the same of the site's environment as written (never a secret's value)


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
    """The event one line holds; EventFormatError naming what is wrong (a field's type too) when it holds none."""
    try:
        data = json.loads(line, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise EventFormatError(f"not JSON: {error.msg}") from None
    except EventFormatError:
        raise
    except (ValueError, RecursionError):
        raise EventFormatError("not JSON a recording holds (a number too long, or nested too deeply)") from None
    if not isinstance(data, dict):
        raise EventFormatError("not a JSON object")
    version = data.pop("v", None)
    if not isinstance(version, int) or isinstance(version, bool):
        raise EventFormatError("no schema version")
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(version)
    kind = data.pop("kind", "")
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise EventFormatError("unknown event kind")
    fields = _fields(cls)
    unknown = sorted(data.keys() - fields.keys())
    if unknown:
        raise EventFormatError(f"{cls.kind}: unknown field {shown(unknown[0], 40)}")
    missing = sorted(name for name, (_, required) in fields.items() if required and name not in data)
    if missing:
        raise EventFormatError(f"{cls.kind}.{missing[0]} is missing")
    for name, value in data.items():
        hint = fields[name][0]
        checked = _as(hint, value)
        if checked is _WRONG:
            raise EventFormatError(f"{cls.kind}.{name} must be {_describe(hint)}, not {_json_type(value)}")
        data[name] = checked
    return cls(**data)


class NewerSchemaError(EventFormatError):
    def __init__(self, version: int) -> None:
        super().__init__(
            f"written by a newer deploy-tui (event schema {shown(version, 12)}, this one reads {SCHEMA_VERSION}): "
            "upgrade deploy-tui to read it"
        )
        self.version = version


def _no_constant(name: str) -> Any:
    # NaN and Infinity: Python's json reads them, but no event holds one and no other JSON reader would.
    raise EventFormatError(f"not JSON: {name} is not a number")


# Checking a field's JSON value against its annotation: what a recording may hold is exactly what an event may.

_WRONG = object()
_FIELDS: dict[type[Event], dict[str, tuple[Any, bool]]] = {}


def _fields(cls: type[Event]) -> dict[str, tuple[Any, bool]]:
    """Each field's resolved annotation, and whether the event needs it (it has no default)."""
    if cls not in _FIELDS:
        hints = get_type_hints(cls)
        _FIELDS[cls] = {
            f.name: (
                hints[f.name],
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in dataclasses.fields(cls)
        }
    return _FIELDS[cls]


def _as(hint: Any, value: Any) -> Any:
    """value as the field holds it (a JSON list as a tuple), or _WRONG when the annotation does not allow it."""
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        for arm in get_args(hint):
            checked = _as(arm, value)
            if checked is not _WRONG:
                return checked
        return _WRONG
    if origin is Literal:
        return value if any(value == v and type(value) is type(v) for v in get_args(hint)) else _WRONG
    if origin is tuple:
        if not isinstance(value, list | tuple):
            return _WRONG
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            items = [_as(args[0], item) for item in value]
        elif len(args) == len(value):
            items = [_as(arg, item) for arg, item in zip(args, value, strict=True)]
        else:
            return _WRONG
        return _WRONG if any(item is _WRONG for item in items) else tuple(items)
    supertype = getattr(hint, "__supertype__", None)  # a NewType over str, int...
    if supertype is not None:
        return _as(supertype, value)
    if hint is type(None):
        return value if value is None else _WRONG
    if hint is bool:
        return value if isinstance(value, bool) else _WRONG
    if hint is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _WRONG
    if hint is float:
        # JSON writes 3.0 as 3.0, but a hand-made or older line may say 3.
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else _WRONG
    if hint is str:
        return value if isinstance(value, str) and _is_text(value) else _WRONG
    return _WRONG  # an annotation this reader does not know: refuse rather than guess


def _is_text(value: str) -> bool:
    """False for a string JSON holds but UTF-8 cannot: an unpaired surrogate ("\\ud800"), never written by a run."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _describe(hint: Any) -> str:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(arm) for arm in get_args(hint))
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(v) for v in get_args(hint))
    if origin is tuple:
        plural = {str: "strings", int: "whole numbers", float: "numbers"}
        return "a list of " + plural.get(get_args(hint)[0], "values") if get_args(hint) else "a list"
    if getattr(hint, "__supertype__", None) is not None:
        return _describe(hint.__supertype__)
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", type(None): "null"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _json_type(value: Any) -> str:
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string", list: "a list"}
    if value is None:
        return "null"
    if isinstance(value, str) and not _is_text(value):
        return "a string with an unpaired surrogate (\\ud800-\\udfff), which is not text"
    return names.get(type(value), "an object")


def fanout(*sinks: Sink) -> Sink:
    """One sink that hands each event to every sink, in order."""

    def emit(event: Event) -> None:
        for sink in sinks:
            sink(event)

    return emit
