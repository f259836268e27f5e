"""Production on the sandbox box: gunicorn under systemd, nginx on port 80, DEBUG off, the FTs green
through nginx; a no-change redeploy keeps the same gunicorn; live only after staging.

The box is a production box of its own (nginx, and a systemctl for its user's sudo where systemd is
not PID 1: see deploy_tui/sandbox/production.py), taken down at the end. Runs are recorded under a
data directory of the test's own, which is where the gate reads them.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from deploy_tui.core.events import Diagnosis, Event, Notice, StepFinished
from deploy_tui.core.resolvers import Resolver
from deploy_tui.sandbox.box import BoxInfo, Sandbox
from deploy_tui.sandbox.host import trust_for_root
from tests.conftest import CHECKOUT
from tests.e2e.conftest import MakeSandbox, make_deployment

pytestmark = pytest.mark.e2e

_SLOT = int(os.environ.get("DEPLOY_TUI_E2E_SLOT", "0") or 0)
USER = f"dtuiprd{_SLOT}"
RESOLVER = f"127.0.{70 + _SLOT}.11"
AUTHORITY = f"127.0.{70 + _SLOT}.19"


def statuses(events: list[Event]) -> dict[str, str]:
    return {e.step: e.status for e in events if isinstance(e, StepFinished)}


def problems(events: list[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, Diagnosis | Notice) or (isinstance(e, StepFinished) and e.summary)]


@pytest.fixture
def production_box(make_sandbox: MakeSandbox) -> BoxInfo:
    made = make_sandbox(USER, (RESOLVER,), AUTHORITY)  # taken down (and purged) by make_sandbox, production too
    return Sandbox(dataclasses.replace(made.config, production=True)).up()


def gunicorn_pids(user: str) -> set[str]:
    found = subprocess.run(["pgrep", "-u", user, "-f", "bin/gunicorn"], capture_output=True, text=True)
    return set(found.stdout.split())


def test_production_behind_nginx_then_live_only_after_staging(
    production_box: BoxInfo, tmp_path: Path, monkeypatch
) -> None:
    box = production_box
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # where runs are recorded, and the gate reads
    # The gate asks the box's repo what live would deploy, from here, as root: trusted as the demo trusts it.
    for name, value in trust_for_root(tmp_path, Path(box.repo_url)).items():
        monkeypatch.setenv(name, value)
    resolvers = tuple(Resolver(f"sandbox {i}", r.address, r.port, "loopback") for i, r in enumerate(box.resolvers, 1))
    staging = make_deployment(box, resolvers, "prod-staging")
    staging = dataclasses.replace(staging, site=dataclasses.replace(staging.site, production=True))

    outcome, events = staging.run(tmp_path, recording=None)
    assert outcome.ok, problems(events)
    assert {s: statuses(events)[s] for s in ("gunicorn", "nginx", "smoke", "fts")} == dict.fromkeys(
        ("gunicorn", "nginx", "smoke", "fts"), "passed"
    )
    assert "devserver" not in statuses(events)
    smoke = next(e.summary for e in events if isinstance(e, StepFinished) and e.step == "smoke")
    assert "through nginx" in smoke
    assert "served as text/css" in smoke
    assert "DEBUG off" in smoke
    env_file = staging.directory / ".deploy-tui.env"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    assert "DJANGO_DEBUG=0" in env_file.read_text()
    before = gunicorn_pids(box.user)
    assert before

    # Nothing changed: nothing touched, the same gunicorn.
    outcome, events = staging.run(tmp_path, skip={"fts"})
    assert outcome.ok, problems(events)
    assert statuses(events)["gunicorn"] == "already-done"
    assert statuses(events)["nginx"] == "already-done"
    assert gunicorn_pids(box.user) == before

    # Live, gated by staging: the commit staging's FTs passed goes through the gate.
    live_site = dataclasses.replace(
        staging.site, name="live", site_dir="~/sites/prod-live", gate="staging", production=True
    )
    live = dataclasses.replace(staging, site=live_site)
    outcome, events = live.run(tmp_path, only={"gate", "source"}, recording=None)
    assert outcome.ok, problems(events)
    assert "functional tests passed on" in next(
        e.summary for e in events if isinstance(e, StepFinished) and e.step == "gate"
    )

    # A commit staging never ran: refused here, before anything touches the server (no clone made).
    older = subprocess.run(
        ["git", "-C", str(CHECKOUT), "rev-parse", "HEAD~1"], capture_output=True, text=True, check=True
    ).stdout.strip()
    elsewhere = dataclasses.replace(live_site, site_dir="~/sites/prod-live-older", branch=older)
    outcome, events = dataclasses.replace(live, site=elsewhere).run(tmp_path, only={"gate", "source"}, recording=None)
    assert outcome.status == "failed"
    assert statuses(events) == {"gate": "failed"}
    (diagnosis,) = [e for e in events if isinstance(e, Diagnosis)]
    assert diagnosis.code == "G1"
    assert f"no run of staging has deployed {older[:10]} yet" in diagnosis.cause
    assert not (staging.home / "sites" / "prod-live-older").exists()
    assert not (staging.home / "sites" / "prod-live-older.deploy-lock").exists()

    # Overridden, with the reason recorded: it goes on.
    from deploy_tui.steps import Options

    options = Options(checkout=CHECKOUT, override_gate="rollback of a bad release, tested by hand")
    outcome, events = dataclasses.replace(live, site=elsewhere).run(
        tmp_path, only={"gate", "source"}, options=options, recording=None
    )
    assert outcome.ok, problems(events)
    assert any(isinstance(e, Notice) and "rollback of a bad release, tested by hand" in e.text for e in events)

    # Once staging's FTs pass on that commit, live takes it without an override.
    staged = dataclasses.replace(staging, site=dataclasses.replace(staging.site, branch=older))
    outcome, events = staged.run(tmp_path, skip={"dns"}, recording=None)
    assert outcome.ok, problems(events)
    assert statuses(events)["fts"] == "passed"
    outcome, events = dataclasses.replace(live, site=elsewhere).run(tmp_path, only={"gate"}, recording=None)
    assert outcome.ok, problems(events)
    assert f"functional tests passed on {older[:10]}" in next(
        e.summary for e in events if isinstance(e, StepFinished) and e.step == "gate"
    )
