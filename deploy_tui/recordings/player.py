"""Playing a recording back: a clock that releases events at 1x, 4x, 16x or all at once.

Long quiet stretches (apt waiting for a mirror, a slow pip download) are shortened
to a couple of seconds, as asciinema's idle limit does, so a replay shows what
happened rather than the waiting. The player knows nothing of who renders it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from deploy_tui.core.events import Diagnosis, Event, Output, OutputUpdate, StepFinished, StepStarted

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


@dataclass
class Player:
    events: list[Event]
    speed_index: int = 0
    playing: bool = True
    position: int = 0  # how many events have been released
    clock: float = 0.0
    times: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.times = replay_times(self.events)

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

    def advance(self, elapsed: float) -> list[Event]:
        """The events due after `elapsed` more seconds of wall time."""
        if not self.playing or self.finished:
            return []
        if self.speed is None:
            due = len(self.events)
        else:
            self.clock += elapsed * self.speed
            due = self.position
            while due < len(self.events) and self.times[due] <= self.clock:
                due += 1
        released = self.events[self.position : due]
        self.position = due
        return released

    def seek(self, position: int) -> list[Event]:
        """Go to just before event `position`; returns every event before it, for a redraw from scratch."""
        self.position = max(0, min(position, len(self.events)))
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
        """The first event at or after start whose output holds text (case-insensitive)."""
        needle = text.lower()
        for i in range(start, len(self.events)):
            event = self.events[i]
            if isinstance(event, Output) and any(needle in line.lower() for line in event.lines):
                return i
            if isinstance(event, OutputUpdate) and needle in event.text.lower():
                return i
        return None
