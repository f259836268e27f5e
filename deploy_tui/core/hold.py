"""Events of steps checked ahead of their turn, held back until the run reaches each step.

The engine checks every step at once over the one connection, then reports them in
plan order as before. A check's commands stream events as they run; the hold keeps
each such step's events aside and lets them through when the engine says the step's
turn has come, so the walkthrough, the printer and the recording see every step's
events between its StepStarted and its StepFinished, as in a run that checks one
step at a time.

A step that only looks (the smoke test) can run ahead too; when a step before it
changes something, its look is stale and what it said is discarded, never shown:
the step runs again in its turn.
"""

from __future__ import annotations

from collections.abc import Iterable

from deploy_tui.core.events import Event, Sink


class Hold:
    """A sink that passes events on, except those of held steps, which wait for their release."""

    def __init__(self, downstream: Sink) -> None:
        self._downstream = downstream
        self._held: dict[str, list[Event]] = {}

    def __call__(self, event: Event) -> None:
        waiting = self._held.get(event.step) if event.step else None
        if waiting is None:
            self._downstream(event)
        else:
            waiting.append(event)

    def hold(self, steps: Iterable[str]) -> None:
        for step in steps:
            self._held.setdefault(step, [])

    def turn(self, started: Event) -> None:
        """A step's turn (its StepStarted): what it said while held follows it out, and from now on at once."""
        self._downstream(started)
        for event in self._held.pop(started.step, []):
            self._downstream(event)

    def discard(self, step: str) -> None:
        """A step's look run ahead was overtaken (a step before it changed things): what it said goes unseen."""
        if step in self._held:
            self._held[step] = []

    def drop(self) -> None:
        """The run ended before these steps' turn: their checks (read-only) are not reported."""
        self._held.clear()
