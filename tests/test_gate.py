"""Live only after staging, on its own: the config's default, the recordings' verdict, the engine's order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from deploy_tui.core import events as ev
from deploy_tui.core.config import ConfigError, from_dict
from deploy_tui.core.engine import Engine
from deploy_tui.core.plan import Context, Options
from deploy_tui.recordings.gate import verdict
from deploy_tui.recordings.recorder import Recorder
from deploy_tui.steps.gate import GateStep
from tests.fakes import Answer, FakeSession

STAGING = {"domain": "superlists-staging.test", "host": "127.0.0.2", "user": "elspeth", "repo": "/srv/git/x.git"}
COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER = "fedcba9876543210fedcba9876543210fedcba98"


def test_live_is_gated_by_staging_unless_it_says_otherwise() -> None:
    config = from_dict({"sites": {"staging": STAGING, "live": {"domain": "superlists.test"}}}, "deploy.toml", {})
    assert (config.site("staging").gate, config.site("live").gate) == ("", "staging")
    ungated = {"sites": {"staging": STAGING, "live": {"domain": "superlists.test", "gate": ""}}}
    assert from_dict(ungated, "deploy.toml", {}).site("live").gate == ""
    with pytest.raises(ConfigError, match=r"sites.live.gate = 'qa': there is no \[sites.qa\]"):
        from_dict({"sites": {"staging": STAGING, "live": {"domain": "a.test", "gate": "qa"}}}, "deploy.toml", {})


def record(runs: Path, name: str, site: str, commit: str, fts: str, stopped: str = "") -> Path:
    path = runs / f"{site}-{name}.jsonl"
    with Recorder(path) as recorder:
        recorder(ev.RunStarted(run_id=name, site=site, started_at=name, params="{}"))
        recorder(ev.StepStarted(step="source", title="source"))
        recorder(ev.Output(step="source", command_id="c1", stream="stdout", lines=("x" * 100,)))
        recorder(ev.CodeAt(step="source", commit=commit))
        recorder(ev.StepFinished(step="source", status="passed", duration=0.1))
        if stopped:
            recorder(ev.StepFinished(step=stopped, status="failed", duration=0.1))
        if fts:
            recorder(ev.StepFinished(step="fts", status=fts, duration=1.0))
        recorder(ev.RunFinished(status="passed" if fts == "passed" else "failed", duration=2.0))
    return path


def test_the_newest_run_that_deployed_the_commit_decides(tmp_path: Path) -> None:
    assert verdict(tmp_path, "staging", COMMIT).said == f"no run of staging has deployed {COMMIT[:10]} yet"
    record(tmp_path, "20261126T100000", "staging", COMMIT, "failed")
    said = verdict(tmp_path, "staging", COMMIT)
    assert not said.passed
    assert said.said == f"staging's last run of {COMMIT[:10]} (20261126T100000): its functional tests failed"
    record(tmp_path, "20261126T110000", "staging", COMMIT, "passed")
    assert verdict(tmp_path, "staging", COMMIT).passed
    record(tmp_path, "20261126T120000", "staging", COMMIT, "", stopped="smoke")
    said = verdict(tmp_path, "staging", COMMIT)  # the newest run of it stopped before the FTs: not proven now
    assert not said.passed
    assert said.said.endswith("it stopped at smoke, before the functional tests")
    record(tmp_path, "20261126T130000", "staging", OTHER, "passed")
    record(tmp_path, "20261126T140000", "staging-eu", COMMIT, "passed")  # another site whose name starts alike
    assert not verdict(tmp_path, "staging", COMMIT).passed
    assert "its newest run deployed" in verdict(tmp_path, "staging", "1111111111").said


def _gated_run(tmp_path: Path, head: str, reason: str = "") -> tuple[list[ev.Event], list[str], bool]:
    from deploy_tui.core.config import make_site

    events: list[ev.Event] = []
    site = make_site("live", {**STAGING, "domain": "superlists.test", "gate": "staging"}, "test")
    session = FakeSession(events.append)
    local = FakeSession(events.append, [("git ls-remote", Answer(0, stdout=(f"{head}\trefs/heads/main",)))])
    ctx = Context(
        site=site,
        emit=events.append,
        address="127.0.0.2",
        session=session,
        local=local,
        runs_dir=tmp_path,
        options=Options(override_gate=reason),
    )
    entered = []

    @contextlib.asynccontextmanager
    async def guard() -> AsyncIterator[None]:
        entered.append(True)  # the deploy lock: the first thing that touches the server
        yield

    asyncio.run(Engine([GateStep()], ctx).run(guard=guard))
    return events, session.ran, bool(entered)


def test_a_refused_gate_touches_nothing_on_the_server_and_says_why(tmp_path: Path) -> None:
    record(tmp_path, "20261126T100000", "staging", COMMIT, "failed")
    events, ran, entered = _gated_run(tmp_path, COMMIT)
    assert not entered
    assert ran == []
    (diagnosis,) = [e for e in events if isinstance(e, ev.Diagnosis)]
    assert diagnosis.code == "G1"
    assert "its functional tests failed" in diagnosis.cause
    assert "--override-gate REASON" in diagnosis.fix
    assert [e.status for e in events if isinstance(e, ev.RunFinished)] == ["failed"]


def test_a_passed_commit_goes_through_and_an_override_is_recorded_with_its_reason(tmp_path: Path) -> None:
    record(tmp_path, "20261126T100000", "staging", COMMIT, "passed")
    events, _, entered = _gated_run(tmp_path, COMMIT)
    assert entered
    assert [e.status for e in events if isinstance(e, ev.StepFinished)] == ["passed"]
    events, _, entered = _gated_run(tmp_path, OTHER, reason="hotfix for the login page, tested by hand")
    assert entered
    (notice,) = [e for e in events if isinstance(e, ev.Notice)]
    assert notice.level == "warning"
    assert "hotfix for the login page, tested by hand" in notice.text
    assert f"no run of staging has deployed {OTHER[:10]} yet" in notice.text


def test_releases_are_the_passed_runs_one_per_commit_newest_first(tmp_path: Path) -> None:
    from deploy_tui.recordings.gate import releases

    record(tmp_path, "20261126T100000", "staging", COMMIT, "passed")
    record(tmp_path, "20261126T110000", "staging", OTHER, "failed")  # a failed run is no release
    record(tmp_path, "20261126T120000", "staging", OTHER, "passed")
    record(tmp_path, "20261126T130000", "staging", COMMIT, "passed")
    assert [(r.commit, r.started) for r in releases(tmp_path, "staging")] == [
        (COMMIT, "20261126T130000"),
        (OTHER, "20261126T120000"),
    ]


def test_a_rollback_plan_brings_code_venv_and_server_back_and_never_migrates() -> None:
    from deploy_tui.core.plan import SiteLayout
    from deploy_tui.steps import rollback_plan

    chapter9 = [s.id for s in rollback_plan(SiteLayout(collectstatic=True))]
    assert chapter9 == ["rollback", "source", "venv", "static", "devserver", "smoke"]
    production = [s.id for s in rollback_plan(SiteLayout(production=True))]
    assert production == ["rollback", "source", "venv", "static", "gunicorn", "nginx", "smoke"]
