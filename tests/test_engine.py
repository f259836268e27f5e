"""The engine on its own: check, apply, only, skip, force, dry run, cancel and failure, with no server."""

from __future__ import annotations

import asyncio

import pytest

from deploy_tui.core import events as ev
from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.config import make_site
from deploy_tui.core.engine import Engine
from deploy_tui.core.failure import Facts, StepFailed
from deploy_tui.core.plan import Context, Step, needs_sudo
from deploy_tui.core.session import SessionError
from deploy_tui.steps import default_plan
from tests.fakes import Answer, FakeSession

SITE = make_site(
    "staging",
    {"domain": "superlists-staging.test", "host": "127.0.0.2", "user": "elspeth", "repo": "/srv/git/superlists.git"},
    "test",
)


class Recorded(Step):
    """A step whose check and apply each run one command through the session."""

    verifies = False

    def __init__(self, step_id: str, *, done: bool = False, sudo: bool = False) -> None:
        self.id = step_id  # type: ignore[misc]
        self.title = f"step {step_id}"  # type: ignore[misc]
        self.sudo = sudo  # type: ignore[misc]
        self.done = done

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        return (StepCommand(Shell(f"apply {self.id}"), f"apply {self.id}", sudo=self.sudo),)

    async def check(self, ctx: Context) -> bool:
        await ctx.session.run(Shell(f"check {self.id}"), step=self.id)
        return self.done

    async def apply(self, ctx: Context) -> str:
        (command,) = self.commands(ctx)
        result = await ctx.session.run(command.command, step=self.id, sudo=command.sudo)
        if not result.ok:
            raise StepFailed(f"{self.id} failed", result.stderr_tail, Facts(port=8000, port_in_use=True))
        return f"{self.id} applied"


def _run(plan: list[Step], rules: list[tuple[str, Answer]] | None = None, **choices: object):  # type: ignore[no-untyped-def]
    events: list[ev.Event] = []
    session = FakeSession(events.append, rules or [])
    ctx = Context(site=SITE, emit=events.append, address="127.0.0.2", session=session)
    outcome = asyncio.run(Engine(plan, ctx).run(**choices))  # type: ignore[arg-type]
    finished = {e.step: e.status for e in events if isinstance(e, ev.StepFinished)}
    return outcome, finished, session, events


def test_a_done_step_is_checked_and_not_applied_the_rest_are_applied() -> None:
    outcome, finished, session, events = _run([Recorded("a", done=True), Recorded("b")])
    assert outcome.status == "passed"
    assert finished == {"a": "already-done", "b": "passed"}
    assert session.ran == ["check a", "check b", "apply b"]
    assert isinstance(events[0], ev.RunStarted)
    assert isinstance(events[-1], ev.RunFinished)
    assert events[-1].status == "passed"


def test_only_skip_and_force_choose_what_runs() -> None:
    _, finished, session, _ = _run([Recorded("a"), Recorded("b"), Recorded("c")], only={"b", "c"}, skip={"c"})
    assert finished == {"b": "passed", "c": "skipped"}
    assert session.ran == ["check b", "apply b"]
    _, finished, session, _ = _run([Recorded("a", done=True)], force={"a"})
    assert finished == {"a": "passed"}
    assert session.ran == ["apply a"]  # forced: applied without asking whether it is done


def test_a_failure_becomes_a_diagnosis_and_stops_the_run() -> None:
    outcome, finished, _, events = _run(
        [Recorded("a"), Recorded("b")], [("apply a", Answer(1, stderr=("Error: That port is already in use.",)))]
    )
    assert outcome.status == "failed"
    assert finished == {"a": "failed"}
    diagnoses = [e for e in events if isinstance(e, ev.Diagnosis)]
    assert [d.code for d in diagnoses] == ["D9"]
    assert outcome.diagnoses == diagnoses


def test_a_session_error_fails_the_step_with_a_notice_and_is_kept_in_the_outcome() -> None:
    class Unreachable(FakeSession):
        async def run(self, command, **kwargs):  # type: ignore[no-untyped-def]
            raise SessionError("cannot connect to elspeth@127.0.0.2:2222: Connection refused")

    events: list[ev.Event] = []
    ctx = Context(site=SITE, emit=events.append, address="127.0.0.2", session=Unreachable(events.append))
    outcome = asyncio.run(Engine([Recorded("a")], ctx).run())
    assert outcome.status == "failed"
    assert isinstance(outcome.error, SessionError)
    notices = [e for e in events if isinstance(e, ev.Notice)]
    assert [n.text for n in notices] == ["cannot connect to elspeth@127.0.0.2:2222: Connection refused"]


def test_a_bug_in_a_step_ends_the_run_as_a_masked_notice_even_when_told_to_keep_going() -> None:
    from deploy_tui.core.secrets import Secret

    class Broken(Recorded):
        async def apply(self, ctx: Context) -> str:
            raise ValueError("could not parse 'hunter2-the-password'")

    events: list[ev.Event] = []
    ctx = Context(site=SITE, emit=events.append, address="127.0.0.2", session=FakeSession(events.append, []))
    ctx.redactor.add(Secret("hunter2-the-password"))
    outcome = asyncio.run(Engine([Broken("a"), Recorded("b")], ctx).run(keep_going=True))
    assert outcome.status == "failed"
    assert outcome.crashed
    assert {e.step: e.status for e in events if isinstance(e, ev.StepFinished)} == {"a": "failed"}
    (notice,) = [e for e in events if isinstance(e, ev.Notice)]
    assert notice.text.startswith("deploy-tui failed inside this step (ValueError: could not parse '********')")
    assert "hunter2" not in repr(events)
    assert isinstance(events[-1], ev.RunFinished)


def test_a_dry_run_lists_the_very_commands_apply_runs_and_runs_nothing() -> None:
    plan = default_plan()
    _, finished, session, events = _run(list(plan), dry_run=True)
    assert session.ran == []
    assert set(finished.values()) == {"planned"}
    planned = [e for e in events if isinstance(e, ev.PlannedCommand)]
    ctx = Context(site=SITE, emit=lambda e: None, address="127.0.0.2")
    expected = [(s.id, c.display) for s in plan for c in s.commands(ctx)]
    assert [(e.step, e.argv_display) for e in planned] == expected
    assert any(e.sudo for e in planned if e.step == "provision")
    assert all("127.0.0.2" in e.argv_display for e in planned if e.step == "dns")


def _cancel_once_it_runs(plan: list[Step], ctx: Context, session: FakeSession, script: str) -> None:
    """Run the plan, and cancel the run once the session has started `script`."""

    async def scenario() -> None:
        task = asyncio.create_task(Engine(plan, ctx).run())
        while script not in session.ran:
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_cancel_stops_the_command_in_flight_and_ends_the_run_cancelled() -> None:
    events: list[ev.Event] = []
    session = FakeSession(events.append, [("apply b", Answer(hang=True))])
    ctx = Context(site=SITE, emit=events.append, address="127.0.0.2", session=session)
    _cancel_once_it_runs([Recorded("a"), Recorded("b"), Recorded("c")], ctx, session, "apply b")
    assert session.cancelled == ["apply b"]
    finished = {e.step: e.status for e in events if isinstance(e, ev.StepFinished)}
    assert finished == {"a": "passed", "b": "cancelled"}
    assert isinstance(events[-1], ev.RunFinished)
    assert events[-1].status == "cancelled"


def test_needs_sudo_follows_the_steps_that_will_run() -> None:
    plan = default_plan()
    assert needs_sudo(plan)
    assert not needs_sudo(plan, only={"dns"})
    assert not needs_sudo(plan, skip={"provision"})
    assert not needs_sudo(plan, dry_run=True)
    assert needs_sudo(plan, only={"provision", "dns"})


def test_a_guard_wraps_the_steps_and_a_refused_guard_runs_nothing() -> None:
    import contextlib

    entered: list[str] = []

    @contextlib.asynccontextmanager
    async def held():  # type: ignore[no-untyped-def]
        entered.append("in")
        yield
        entered.append("out")

    @contextlib.asynccontextmanager
    async def refused():  # type: ignore[no-untyped-def]
        raise SessionError("staging is being deployed by elspeth@laptop (pid 7, run abc): wait, or --lock-wait")
        yield  # pragma: no cover

    outcome, finished, _, _ = _run([Recorded("a")], guard=held)
    assert outcome.ok
    assert entered == ["in", "out"]
    outcome, finished, session, events = _run([Recorded("a")], guard=refused)
    assert outcome.status == "failed"
    assert finished == {}
    assert session.ran == []
    assert next(e.text for e in events if isinstance(e, ev.Notice)).startswith("staging is being deployed by")
    assert isinstance(events[-1], ev.RunFinished)
    assert events[-1].status == "failed"
    _, finished, _, _ = _run([Recorded("a")], guard=refused, dry_run=True)  # a dry run takes no lock
    assert finished == {"a": "planned"}


# Checks run ahead, all at once, reported in their turn.


class Paused(FakeSession):
    """A fake session whose commands each take a moment, counting how many are in flight at once."""

    in_flight = 0
    most_at_once = 0

    async def run(self, command, **kwargs):  # type: ignore[no-untyped-def]
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            return await super().run(command, **kwargs)
        finally:
            self.in_flight -= 1


def _run_held(plan: list[Step], rules: list[tuple[str, Answer]] | None = None, **choices: object):  # type: ignore[no-untyped-def]
    from deploy_tui.core.hold import Hold

    events: list[ev.Event] = []
    hold = Hold(events.append)
    session = Paused(hold, rules or [])
    ctx = Context(site=SITE, emit=hold, address="127.0.0.2", session=session, hold=hold)
    outcome = asyncio.run(Engine(plan, ctx).run(**choices))  # type: ignore[arg-type]
    return outcome, events, session


def _in_turn(events: list[ev.Event]) -> None:
    """Every event of a step comes between its StepStarted and its StepFinished, as without checks ahead."""
    current = ""
    for event in events:
        if isinstance(event, ev.StepStarted):
            assert current == "", f"{event.step} started inside {current}"
            current = event.step
        elif isinstance(event, ev.StepFinished):
            assert event.step == current
            current = ""
        elif event.step:
            assert event.step == current, f"{event.kind} of {event.step} outside its turn (in {current!r})"


def test_a_no_change_redeploy_checks_every_step_at_once_and_reports_them_in_order() -> None:
    plan: list[Step] = [Recorded("a", done=True), Recorded("b", done=True), Recorded("c", done=True)]
    outcome, events, session = _run_held(plan)
    assert outcome.status == "passed"
    assert session.ran == ["check a", "check b", "check c"]
    assert session.most_at_once == 3  # all three checks were in flight together
    finished = [(e.step, e.status) for e in events if isinstance(e, ev.StepFinished)]
    assert finished == [("a", "already-done"), ("b", "already-done"), ("c", "already-done")]
    _in_turn(events)
    started = [e.argv_display for e in events if isinstance(e, ev.CommandStarted)]
    assert started == ["check a", "check b", "check c"]


class Shared(Recorded):
    """Done while the shared state says so; applying it changes the state for the steps after it."""

    def __init__(self, step_id: str, state: dict[str, bool], *, changes: str = "") -> None:
        super().__init__(step_id)
        self.state, self.changes = state, changes

    async def check(self, ctx: Context) -> bool:
        await super().check(ctx)
        return self.state.get(self.id, False)

    async def apply(self, ctx: Context) -> str:
        summary = await super().apply(ctx)
        self.state[self.id] = True
        if self.changes:
            self.state[self.changes] = False  # e.g. new code makes the installed requirements stale
        return summary


def test_a_check_run_ahead_is_not_trusted_once_an_earlier_step_changed_something() -> None:
    state = {"venv": True, "devserver": True}  # the venv and the server were done before the new code came
    plan: list[Step] = [
        Shared("source", state, changes="venv"),
        Shared("venv", state, changes="devserver"),
        Shared("devserver", state),
    ]
    outcome, events, session = _run_held(plan)
    assert outcome.status == "passed"
    finished = {e.step: e.status for e in events if isinstance(e, ev.StepFinished)}
    assert finished == {"source": "passed", "venv": "passed", "devserver": "passed"}
    # Each later step was checked twice: ahead (said done, out of date) and again in its turn.
    assert session.ran.count("check venv") == 2
    assert session.ran.count("check devserver") == 2
    assert "apply venv" in session.ran
    assert "apply devserver" in session.ran
    _in_turn(events)


def test_checks_run_ahead_end_with_the_run_and_say_nothing_for_steps_never_reached() -> None:
    plan: list[Step] = [Recorded("a"), Recorded("b", done=True), Recorded("c", done=True)]
    outcome, events, session = _run_held(
        plan, [("apply a", Answer(1, stderr=("boom",))), ("check c", Answer(0, hang=True))]
    )
    assert outcome.status == "failed"
    assert session.cancelled == ["check c"]  # the hanging check ahead was stopped when the run ended
    assert {e.step for e in events if e.step} == {"a"}  # b's and c's checks never reached the sinks
    _in_turn(events)


def test_forced_skipped_and_verifying_steps_are_not_checked_ahead() -> None:
    verifying = Recorded("v", done=True)
    verifying.verifies = True  # type: ignore[misc]
    plan: list[Step] = [Recorded("a", done=True), Recorded("b", done=True), Recorded("c", done=True), verifying]
    _, events, session = _run_held(plan, skip={"b"}, force={"c"})
    assert session.ran == ["check a", "apply c", "apply v"]
    assert session.most_at_once == 1
    _in_turn(events)


class Looking(Recorded):
    """A verifying step that only looks: its apply runs one command and says what it saw."""

    verifies = True
    looks_only = True

    async def apply(self, ctx: Context) -> str:
        result = await ctx.session.run(Shell(f"look {self.id}"), step=self.id)
        if not result.ok:
            raise StepFailed(f"{self.id} saw a failure", result.stderr_tail)
        return f"{self.id} looked"


def test_a_step_that_only_looks_runs_ahead_and_is_kept_when_nothing_changed() -> None:
    plan: list[Step] = [Recorded("a", done=True), Recorded("b", done=True), Looking("smoke")]
    outcome, events, session = _run_held(plan)
    assert outcome.status == "passed"
    assert sorted(session.ran) == ["check a", "check b", "look smoke"]  # once, ahead, with the checks
    assert session.most_at_once == 3
    finished = [(e.step, e.status, e.summary) for e in events if isinstance(e, ev.StepFinished)]
    assert finished[-1] == ("smoke", "passed", "smoke looked")
    _in_turn(events)


def test_a_look_ahead_is_thrown_away_unseen_when_an_earlier_step_has_work_to_do() -> None:
    # b has work to do: the look taken before b's work is stale; it is stopped, never shown, and taken again.
    plan: list[Step] = [Recorded("a", done=True), Recorded("b"), Looking("smoke")]
    outcome, events, session = _run_held(plan, [("look smoke", Answer(1, stderr=("down before b",)))])
    assert outcome.status == "failed"  # the rule still says down: the second look fails, in its own turn
    smoke = [e for e in events if e.step == "smoke"]
    looks = [e for e in smoke if isinstance(e, ev.CommandStarted)]
    assert len(looks) <= 1  # the look taken ahead said nothing; only the one in smoke's turn is shown
    assert [e.argv_display for e in looks] == ["look smoke"]
    assert session.ran.index("apply b") < len(session.ran) - 1
    assert session.ran[-1] == "look smoke"  # looked again after b's work
    _in_turn(events)


def test_a_look_ahead_that_saw_a_failure_with_nothing_changed_fails_its_step_with_a_diagnosis() -> None:
    plan: list[Step] = [Recorded("a", done=True), Looking("smoke")]
    outcome, events, session = _run_held(plan, [("look smoke", Answer(1, stderr=("refused",)))])
    assert outcome.status == "failed"
    assert session.ran.count("look smoke") == 1
    finished = {e.step: e.status for e in events if isinstance(e, ev.StepFinished)}
    assert finished == {"a": "already-done", "smoke": "failed"}
    _in_turn(events)


def test_no_look_ahead_after_a_forced_step() -> None:
    plan: list[Step] = [Recorded("a", done=True), Looking("smoke")]
    _, events, session = _run_held(plan, force={"a"})
    assert session.ran == ["apply a", "look smoke"]
    _in_turn(events)


class Telling(Recorded):
    """A step whose apply tells when it found nothing to do, like `manage.py migrate`."""

    apply_tells_done = True

    def __init__(self, step_id: str, *, nothing: bool) -> None:
        super().__init__(step_id)
        self.nothing = nothing

    async def apply(self, ctx: Context) -> str:
        from deploy_tui.core.plan import AlreadyDone

        summary = await super().apply(ctx)
        if self.nothing:
            raise AlreadyDone("nothing to apply")
        return summary


def test_after_an_earlier_change_a_step_that_tells_is_applied_without_a_second_check() -> None:
    plan: list[Step] = [Recorded("source"), Telling("migrate", nothing=True), Telling("other", nothing=False)]
    outcome, events, session = _run_held(plan)
    assert outcome.status == "passed"
    finished = {e.step: (e.status, e.summary) for e in events if isinstance(e, ev.StepFinished)}
    assert finished["migrate"] == ("already-done", "nothing to apply")
    assert finished["other"] == ("passed", "other applied")
    # Checked once, ahead; in its turn applied straight away, which told what the check would have.
    assert session.ran.count("check migrate") == 1
    assert session.ran.count("apply migrate") == 1
    _in_turn(events)


def test_a_step_that_tells_is_kept_already_done_by_its_check_ahead_when_nothing_changed() -> None:
    plan: list[Step] = [Recorded("source", done=True), Telling("migrate", nothing=True)]
    plan[1].done = True  # type: ignore[attr-defined]
    outcome, events, session = _run_held(plan)
    assert outcome.status == "passed"
    assert "apply migrate" not in session.ran  # the read-only check said so: nothing run that could change a thing
    _in_turn(events)


def test_a_forced_step_that_finds_nothing_to_do_counts_as_run() -> None:
    _, finished, session, _ = _run([Telling("migrate", nothing=True)], force={"migrate"})
    assert finished == {"migrate": "passed"}
    assert session.ran == ["apply migrate"]


class Beside(Recorded):
    """A step that needs none of the work of the step named before it: the two may work at once."""

    runs_beside = frozenset({"static"})


def test_a_step_that_needs_none_of_its_predecessors_work_runs_beside_it_and_is_reported_after_it() -> None:
    plan: list[Step] = [Recorded("source", done=True), Recorded("static"), Beside("migrate"), Recorded("server")]
    outcome, events, session = _run_held(plan)
    assert outcome.status == "passed"
    finished = [(e.step, e.status) for e in events if isinstance(e, ev.StepFinished)]
    assert finished == [("source", "already-done"), ("static", "passed"), ("migrate", "passed"), ("server", "passed")]
    summary = next(e.summary for e in events if isinstance(e, ev.StepFinished) and e.step == "migrate")
    assert summary == "migrate applied (worked beside static)"  # its time is its own work's, said so
    # migrate's work started as static's did, before static's had ended; server waited for both.
    assert session.ran.index("check migrate") < session.ran.index("apply static") < session.ran.index("apply migrate")
    assert session.ran.index("apply migrate") < session.ran.index("check server", 4)
    _in_turn(events)


def test_when_the_step_before_fails_the_step_beside_it_says_what_it_did_and_the_run_stops() -> None:
    plan: list[Step] = [Recorded("static"), Beside("migrate"), Recorded("server")]
    outcome, events, session = _run_held(plan, [("apply static", Answer(1, stderr=("disk full",)))])
    assert outcome.status == "failed"
    finished = [(e.step, e.status) for e in events if isinstance(e, ev.StepFinished)]
    assert finished == [("static", "failed"), ("migrate", "passed")]  # it did run: the recording says so
    assert "apply server" not in session.ran
    _in_turn(events)


def test_a_step_runs_beside_only_the_steps_it_names_and_only_when_one_applies() -> None:
    # The step before is done: nothing to work beside; migrate is checked and applied in its own turn.
    plan: list[Step] = [Recorded("static", done=True), Beside("migrate")]
    _, events, session = _run_held(plan)
    assert session.ran == ["check static", "check migrate", "apply migrate"]
    _in_turn(events)
    # Not named: venv's work is needed, so nothing runs beside it.
    plan = [Recorded("venv"), Beside("migrate")]
    _, events, session = _run_held(plan)
    assert session.ran.index("apply venv") < session.ran.index("apply migrate")
    assert session.ran[-1] == "apply migrate"
    _in_turn(events)


def test_cancelled_while_a_step_works_beside_the_one_before_both_say_so() -> None:
    from deploy_tui.core.hold import Hold

    events: list[ev.Event] = []
    hold = Hold(events.append)
    session = Paused(hold, [("apply static", Answer(0, hang=True)), ("apply migrate", Answer(0, hang=True))])
    ctx = Context(site=SITE, emit=hold, address="127.0.0.2", session=session, hold=hold)
    _cancel_once_it_runs([Recorded("static"), Beside("migrate"), Recorded("server")], ctx, session, "apply migrate")
    finished = [(e.step, e.status) for e in events if isinstance(e, ev.StepFinished)]
    assert finished == [("static", "cancelled"), ("migrate", "cancelled")]  # migrate began: it is not dropped
    _in_turn(events)
