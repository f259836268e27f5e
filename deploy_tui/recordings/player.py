"""Playing a recording back: a clock that releases events at 1x, 4x, 16x or all at once.

Long quiet stretches (apt waiting for a mirror, a slow pip download) are shortened
to a couple of seconds, as asciinema's idle limit does, so a replay shows what
happened rather than the waiting. A player opened on a `RecordingFile` starts from
the run's skeleton and reads a step's output only when the replay reaches that
step, jumps to it, searches it, or shows it. The player knows nothing of who
renders it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from deploy_tui.core.events import Diagnosis, Event, Output, OutputUpdate, StepFinished, StepStarted
from deploy_tui.recordings.reader import RecordingFile

SPEEDS: tuple[float | None, ...] = (1.0, 4.0, 16.0, None)  # None: everything at once
IDLE_LIMIT = 2.0


def replay_times(events: Sequence[Event], idle_limit: float = IDLE_LIMIT) -> list[float]:
    """Each event's time from the start of the replay, with long gaps cut to idle_limit."""
    times: list[float] = []
    clock = 0.0
    for before, event in zip((None, *events), events, strict=False):
        if before is not None:
            clock += min(max(0.0, event.ts - before.ts), idle_limit)
        times.append(clock)
    return times


def _through(whole: Sequence[Event], skeleton: Sequence[Event], count: int) -> int:
    """How many events of `whole` come up to and including the count-th of `skeleton`, a subsequence of it."""
    matched = 0
    for i, event in enumerate(whole):
        if matched < count and event == skeleton[matched]:
            matched += 1
            if matched == count:
                return i + 1
    return len(whole) if count else 0


class Player:
    """The replay's position and clock over a list of events, some of whose spans may not be read yet."""

    def __init__(
        self,
        events: list[Event],
        span_of: list[int] | None = None,
        read_span: Callable[[int], list[Event]] | None = None,
    ) -> None:
        self.events = events
        # Which span each event is in, and the spans read whole so far (all of them, for a list in memory).
        self._span_of = span_of if span_of is not None else [0] * len(events)
        self._read_span = read_span
        self._loaded: set[int] = set() if read_span is not None else set(self._span_of)
        self.speed_index = 0
        self.playing = True
        self.position = 0  # how many events have been released
        self.clock = 0.0
        self.times = replay_times(events)

    @classmethod
    def of_file(cls, recording: RecordingFile) -> Player:
        events, span_of = recording.skeleton()
        return cls(events, span_of, recording.read)

    @property
    def speed(self) -> float | None:
        return SPEEDS[self.speed_index]

    @property
    def speed_label(self) -> str:
        return "instant" if self.speed is None else f"{self.speed:g}x"

    @property
    def finished(self) -> bool:
        return self.position >= len(self.events)

    def cycle_speed(self) -> str:
        self.speed_index = (self.speed_index + 1) % len(SPEEDS)
        return self.speed_label

    # Reading spans when they are wanted.

    def _load(self, span: int) -> None:
        """Put the whole of one span in place of its skeleton events."""
        if span in self._loaded or self._read_span is None:
            return
        self._loaded.add(span)
        indices = [i for i, s in enumerate(self._span_of) if s == span]
        if not indices:
            return
        first, last = indices[0], indices[-1] + 1
        skeleton, whole = self.events[first:last], self._read_span(span)
        self.events[first:last] = whole
        self._span_of[first:last] = [span] * len(whole)
        if last <= self.position:
            self.position += len(whole) - len(skeleton)
        elif first < self.position:  # the span was partly released: released stays what it was
            self.position = first + _through(whole, skeleton, self.position - first)
        self.times = replay_times(self.events)
        self.clock = self.times[self.position - 1] if self.position else 0.0

    def _load_between(self, start: int, end: int) -> None:
        while True:
            pending = next((s for s in self._span_of[start:end] if s not in self._loaded), None)
            if pending is None:
                return
            self._load(pending)

    def output_of(self, step: str) -> list[Event] | None:
        """A step's events already released, read whole if they were not; None when nothing new was read."""
        wanted = {s for i, s in enumerate(self._span_of[: self.position]) if self.events[i].step == step}
        if wanted <= self._loaded:
            return None
        for span in sorted(wanted):
            self._load(span)
        return [e for i, e in enumerate(self.events[: self.position]) if self._span_of[i] in wanted]

    # Playing.

    def _due(self) -> int:
        due = self.position
        while due < len(self.events) and self.times[due] <= self.clock:
            due += 1
        return due

    def advance(self, elapsed: float) -> list[Event]:
        """The events due after `elapsed` more seconds of wall time."""
        if not self.playing or self.finished:
            return []
        if self.speed is None:
            self._load_between(self.position, len(self.events))
            due = len(self.events)
        else:
            self.clock += elapsed * self.speed
            due = self._due()
            while any(s not in self._loaded for s in self._span_of[self.position : due]):
                self._load_between(self.position, due)
                due = self._due()
        released = self.events[self.position : due]
        self.position = due
        return released

    def seek(self, position: int) -> list[Event]:
        """Go to just before event `position`; returns every event before it, for a redraw from scratch.

        The span the new position is in is read whole; earlier ones stay skeletons until shown.
        """
        self.position = max(0, min(position, len(self.events)))
        if self.position:
            self._load(self._span_of[self.position - 1])
        self.clock = self.times[self.position - 1] if self.position else 0.0
        return self.events[: self.position]

    def step_start(self, step: str) -> int | None:
        return next((i for i, e in enumerate(self.events) if isinstance(e, StepStarted) and e.step == step), None)

    def next_failure(self) -> int | None:
        """The next diagnosis or failed step after the current position."""
        for i in range(self.position, len(self.events)):
            event = self.events[i]
            if isinstance(event, Diagnosis) or (isinstance(event, StepFinished) and event.status == "failed"):
                return i
        return None

    def search(self, text: str, start: int) -> int | None:
        """The first event at or after start whose output holds text (case-insensitive), reading spans as it goes."""
        needle = text.lower()
        i = start
        while i < len(self.events):
            if self._span_of[i] not in self._loaded:
                self._load(self._span_of[i])
                continue
            event = self.events[i]
            if isinstance(event, Output) and any(needle in line.lower() for line in event.lines):
                return i
            if isinstance(event, OutputUpdate) and needle in event.text.lower():
                return i
            i += 1
        return None
