"""The one loop that runs a plan: check, apply, diagnose, and say so in events.

Each step is checked first and reported "already done" when it is; otherwise it
is applied. A failure becomes a diagnosis and, by default, stops the run. Steps
can be skipped, run alone, or forced to apply again (retry); a dry run lists the
commands each step would run and touches nothing. Cancelling the task that runs
the engine cancels the step in flight (and its remote command) and ends the run
as cancelled. The engine knows nothing of who is listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deploy_tui.core.events import (
    Diagnosis,
    Notice,
    PlannedCommand,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
)
from deploy_tui.core.failure import StepFailed
from deploy_tui.core.plan import AlreadyDone, Context, Step
from deploy_tui.core.session import SessionError
from deploy_tui.core.statuses import RunStatus, StepStatus

Guard = Callable[[], contextlib.AbstractAsyncContextManager[object]]


def run_params(ctx: Context) -> str:
    """What a replay needs to run a step again: the site and the resolvers (no secrets live in either)."""
    return json.dumps(
        {
            "site": dataclasses.asdict(ctx.site),
            "address": ctx.address,
            "checkout": str(ctx.options.checkout),
            "resolvers": [dataclasses.asdict(r) for r in ctx.resolvers],
        }
    )


@dataclass
class RunOutcome:
    status: RunStatus
    steps: dict[str, StepStatus] = field(default_factory=dict)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    error: SessionError | None = None  # what stopped a step that could not run its commands at all
    crashed: bool = False  # a step raised what no step should (a bug): the run stopped there

    @property
    def ok(self) -> bool:
        return self.status == "passed"


@dataclass
class Ahead:
    """What runs ahead of each step's turn: the checks, and the looks of steps that only look."""

    checks: dict[str, asyncio.Future[bool]] = field(default_factory=dict)
    looks: dict[str, asyncio.Future[str]] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)  # looks stopped early: a check before them found work to do
    # Steps whose work started beside the step before them (runs_beside), its status and summary to come.
    beside: dict[str, asyncio.Future[tuple[StepStatus, str]]] = field(default_factory=dict)
    beside_of: dict[str, tuple[str, float]] = field(default_factory=dict)  # the step it ran beside, and since when
    beside_steps: dict[str, Step] = field(default_factory=dict)

    def stop_if_stale(self, step: str, check: asyncio.Future[bool]) -> None:
        """A check that ended without saying "done": its step will change things (or the run stops there),
        so the look after it would be thrown away: stopped now, before it asks the server anything more."""
        if check.cancelled() or check.exception() is not None or not check.result():
            self.stopped.add(step)
            self.looks[step].cancel()


class Engine:
    def __init__(self, plan: Sequence[Step], ctx: Context) -> None:
        self.plan = list(plan)
        self.ctx = ctx
        self._changed = False  # a step of this run has applied: checks run ahead may be out of date

    def step(self, step_id: str) -> Step:
        for step in self.plan:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    async def run(
        self,
        *,
        only: Collection[str] = (),
        skip: Collection[str] = (),
        force: Collection[str] = (),
        dry_run: bool = False,
        keep_going: bool = False,
        run_id: str = "",
        guard: Guard | None = None,
    ) -> RunOutcome:
        """Run the plan; `guard` (entered once the run has started, e.g. the deploy lock) wraps the steps."""
        emit = self.ctx.emit
        started = time.monotonic()
        emit(
            RunStarted(
                run_id=run_id or uuid.uuid4().hex[:12],
                site=self.ctx.site.name,
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                params=run_params(self.ctx),
            )
        )
        outcome = RunOutcome("passed")
        self._changed = False
        try:
            # A gate runs here before the lock: a refusal touches nothing on the server.
            before = [step for step in self.plan if step.before_lock]
            await self._steps(outcome, before, only, skip, force, dry_run, keep_going)
            if outcome.status != "failed" or keep_going:
                async with guard() if guard is not None and not dry_run else contextlib.nullcontext():
                    rest = [step for step in self.plan if not step.before_lock]
                    await self._steps(outcome, rest, only, skip, force, dry_run, keep_going)
        except SessionError as error:  # the guard could not be entered (no login, another run holds the lock)
            outcome.status, outcome.error = "failed", error
            emit(Notice(level="error", text=self.ctx.redactor(str(error))))
            # A refused login or a full disk has a cause and a fix like a failed step: shown on the first step.
            first = next((step for step in self.plan if not only or step.id in only), None)
            if first is not None:
                self._diagnose(first, StepFailed(str(error), error.evidence, error.facts), outcome)
        except asyncio.CancelledError:
            outcome.status = "cancelled"
            emit(RunFinished(status="cancelled", duration=time.monotonic() - started))
            raise
        emit(RunFinished(status=outcome.status, duration=time.monotonic() - started))
        return outcome

    async def _steps(
        self,
        outcome: RunOutcome,
        plan: Sequence[Step],
        only: Collection[str],
        skip: Collection[str],
        force: Collection[str],
        dry_run: bool,
        keep_going: bool,
    ) -> None:
        ahead = Ahead() if dry_run else self._run_ahead(plan, only, skip, force)
        chosen = [step for step in plan if not only or step.id in only]
        try:
            for index, step in enumerate(chosen):
                if step.id in outcome.steps:
                    continue  # reported already: it worked beside the step before, which failed
                following = chosen[index + 1] if index + 1 < len(chosen) else None
                beside = None
                if following is not None and step.id in following.runs_beside and following.id not in skip:
                    beside = functools.partial(self._start_beside, following, ahead, force, step.id)
                status = await self._one(
                    step,
                    outcome,
                    skip=step.id in skip,
                    force=step.id in force,
                    dry_run=dry_run,
                    check=ahead.checks.get(step.id),
                    look=ahead.looks.get(step.id),
                    look_stopped=step.id in ahead.stopped,
                    beside=beside,
                    early=ahead.beside.get(step.id),
                    early_of=ahead.beside_of.get(step.id),
                )
                outcome.steps[step.id] = status
                if status == "failed":
                    outcome.status = "failed"
                    if following is not None and following.id in ahead.beside:
                        # It has been doing its work beside this one: let it end and say what it did.
                        outcome.steps[following.id] = await self._one(
                            following,
                            outcome,
                            skip=False,
                            force=False,
                            dry_run=False,
                            early=ahead.beside[following.id],
                            early_of=ahead.beside_of[following.id],
                        )
                    if not keep_going or outcome.crashed:
                        break
        finally:
            pending: list[asyncio.Future[Any]] = [*ahead.checks.values(), *ahead.looks.values(), *ahead.beside.values()]
            for future in pending:
                future.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            self._unreported_beside(ahead, outcome)
            if self.ctx.hold is not None:
                self.ctx.hold.drop()

    def _unreported_beside(self, ahead: Ahead, outcome: RunOutcome) -> None:
        """A step that began beside the one before it, when the run ended there (cancelled): it did start,
        so what it did is said (its result if it had one, else cancelled), not dropped with the checks."""
        hold = self.ctx.hold
        for step_id, step in ahead.beside_steps.items():
            if step_id in outcome.steps or hold is None:
                continue
            work = ahead.beside[step_id]
            status: StepStatus
            if not work.done() or work.cancelled():
                status, summary = "cancelled", "stopped with the run"
            elif (error := work.exception()) is not None:
                status, summary = "failed", self.ctx.redactor(str(error))
            else:
                status, summary = work.result()
            hold.turn(StepStarted(step=step_id, title=step.title))
            took = time.monotonic() - ahead.beside_of[step_id][1]
            self.ctx.emit(StepFinished(step=step_id, status=status, duration=took, summary=summary))
            outcome.steps[step_id] = status

    def _start_beside(self, step: Step, ahead: Ahead, force: Collection[str], before: str) -> None:
        """The step before this one has begun its work, which this one does not need: this one's starts now,
        its events held for its turn (a failure, or a bug, is reported then, as in its own turn)."""
        hold = self.ctx.hold
        if hold is None or step.id in ahead.beside:
            return
        hold.hold([step.id])
        work = self._work(step, force=step.id in force, check=ahead.checks.get(step.id), look=None)
        ahead.beside[step.id] = asyncio.ensure_future(work)
        ahead.beside_of[step.id] = (before, time.monotonic())
        ahead.beside_steps[step.id] = step

    def _run_ahead(
        self, plan: Sequence[Step], only: Collection[str], skip: Collection[str], force: Collection[str]
    ) -> Ahead:
        """Every step that will be checked, checked now and at once (over the one connection); and a step
        that only looks (the smoke test), looked now too, for a run in which nothing turns out to change.

        Only when the events can be held back for each step's turn. A result is used only while
        no step of this run has changed anything (see `_one`); the checks and the looks only read.
        """
        hold = self.ctx.hold
        if hold is None:
            return Ahead()
        chosen = [s for s in plan if (not only or s.id in only) and s.id not in skip]
        checked = [s for s in chosen if s.id not in force and not s.verifies]
        ahead = Ahead()
        for step in sorted(checked, key=lambda s: not s.check_first):  # stable: the plan's order otherwise
            ahead.checks[step.id] = asyncio.ensure_future(step.check(self.ctx))
        before: list[asyncio.Future[bool]] = []
        for step in chosen:
            if step.looks_only and step.verifies:
                if any(s.id in force for s in chosen[: chosen.index(step)]):
                    break  # a forced step applies: the looks after it would be stale
                ahead.looks[step.id] = asyncio.ensure_future(step.apply(self.ctx))
                for check in before:  # a step found with work to do will change things: stop looking
                    check.add_done_callback(functools.partial(ahead.stop_if_stale, step.id))
            elif step.id in ahead.checks:
                before.append(ahead.checks[step.id])
        hold.hold([*ahead.checks, *ahead.looks])
        return ahead

    async def _one(
        self,
        step: Step,
        outcome: RunOutcome,
        *,
        skip: bool,
        force: bool,
        dry_run: bool,
        check: asyncio.Future[bool] | None = None,
        look: asyncio.Future[str] | None = None,
        look_stopped: bool = False,
        beside: Callable[[], None] | None = None,
        early: asyncio.Future[tuple[StepStatus, str]] | None = None,
        early_of: tuple[str, float] | None = None,
    ) -> StepStatus:
        emit, ctx = self.ctx.emit, self.ctx
        if look is not None and (self._changed or look_stopped):
            # Overtaken: what it saw is not what is there now. Let it end, say none of it, look again.
            look.cancel()
            await asyncio.gather(look, return_exceptions=True)
            if ctx.hold is not None:
                ctx.hold.discard(step.id)
            look = None
        started = StepStarted(step=step.id, title=step.title)
        if ctx.hold is not None:
            ctx.hold.turn(started)  # then what its check, run ahead, has said so far
        else:
            emit(started)
        # A step that worked beside the one before it: its time is its work's, from when that began.
        began = early_of[1] if early is not None and early_of is not None else time.monotonic()

        def finish(status: StepStatus, summary: str = "") -> StepStatus:
            if early is not None and early_of is not None:
                summary = f"{summary} (worked beside {early_of[0]})"
            emit(StepFinished(step=step.id, status=status, duration=time.monotonic() - began, summary=summary))
            return status

        if skip:
            return finish("skipped", "skipped by the operator")
        if dry_run:
            for command in step.commands(ctx):
                host = "localhost" if command.here or not command.run else ctx.session.label
                emit(PlannedCommand(step=step.id, argv_display=command.display, host=host, sudo=command.sudo))
            return finish("planned")
        try:
            if early is not None:
                status, summary = await early
            else:
                status, summary = await self._work(step, force=force, check=check, look=look, beside=beside)
        except asyncio.CancelledError:
            finish("cancelled")
            raise
        except StepFailed as failure:
            if not failure.facts.diagnosed:
                self._diagnose(step, failure, outcome)
            return finish("failed", ctx.redactor(str(failure)))
        except SessionError as error:
            outcome.error = error
            text = ctx.redactor(str(error))  # an error's text is shown like output: secrets masked
            emit(Notice(step=step.id, level="error", text=text))
            # Not reaching the server, or sudo refusing, has causes and fixes like any failed step.
            self._diagnose(step, StepFailed(str(error), error.evidence, error.facts), outcome)
            return finish("failed", text)
        except Exception as error:
            # A bug in a step ends the run as a failure the recording keeps, its text masked, not as a crash.
            text = ctx.redactor(f"deploy-tui failed inside this step ({type(error).__name__}: {error})")
            emit(Notice(step=step.id, level="error", text=f"{text}; please report it with this run's recording"))
            outcome.crashed = True
            return finish("failed", text)
        return finish(status, summary)

    async def _work(
        self,
        step: Step,
        *,
        force: bool,
        check: asyncio.Future[bool] | None,
        look: asyncio.Future[str] | None,
        beside: Callable[[], None] | None = None,
    ) -> tuple[StepStatus, str]:
        """Check the step (or take its check run ahead), apply it unless done: its status and summary.

        beside: called as the step starts applying, to start the next step's work alongside."""
        changed = self._changed
        try:
            if not step.verifies and not force and await self._done(step, check):
                return "already-done", "already done"
            if not step.verifies:
                self._changed = True
            if beside is not None and self.ctx.hold is not None:
                beside()
            return "passed", await (look if look is not None else step.apply(self.ctx))
        except AlreadyDone as done:
            self._changed = changed  # it found nothing to do, and did nothing
            return ("passed" if force else "already-done"), str(done) or "already done"

    async def _done(self, step: Step, ahead: asyncio.Future[bool] | None) -> bool:
        """Whether the step is already done: its check run ahead, unless an earlier step has changed things since.

        A step whose apply tells by itself is then applied without a second check (False here)."""
        if ahead is not None and not self._changed:
            return await ahead
        if ahead is not None:
            await asyncio.gather(ahead, return_exceptions=True)  # stale now; its output was shown, so let it end
        if step.apply_tells_done:
            return False
        return await step.check(self.ctx)

    def _diagnose(self, step: Step, failure: StepFailed, outcome: RunOutcome) -> None:
        # Imported at the first failure: two dozen rules and their patterns are not needed to start.
        from deploy_tui.core.diagnoses import diagnose

        diagnosis = diagnose(step.id, failure)
        if diagnosis is None:
            return
        r = self.ctx.redactor
        diagnosis = dataclasses.replace(
            diagnosis, cause=r(diagnosis.cause), fix=r(diagnosis.fix), evidence=tuple(map(r, diagnosis.evidence))
        )
        outcome.diagnoses.append(diagnosis)
        self.ctx.emit(diagnosis)
