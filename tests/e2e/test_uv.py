"""uv as the installer on the sandbox box: brought from here once, the venv made by it, and pip taking over."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from deploy_tui.core.events import CommandStarted, Diagnosis, Event, Notice, StepFinished
from deploy_tui.steps import uv
from tests.e2e.conftest import Deployment, make_deployment

pytestmark = pytest.mark.e2e


def statuses(events: list[Event]) -> dict[str, str]:
    return {e.step: e.status for e in events if isinstance(e, StepFinished)}


def summary(events: list[Event], step: str) -> str:
    return next(e.summary for e in events if isinstance(e, StepFinished) and e.step == step)


@pytest.fixture
def fresh(sandbox_box, box_resolvers) -> Iterator[Deployment]:
    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, f"uv-{uuid.uuid4().hex[:6]}")
    try:
        yield deployment
    finally:
        deployment.stop_server()
        shutil.rmtree(deployment.directory, ignore_errors=True)


def test_uv_brought_once_makes_the_venv_and_pip_takes_over_without_a_rebuild(fresh, tmp_path) -> None:
    site = dataclasses.replace(fresh.site, installer="uv")
    remote_uv = fresh.home / uv.REMOTE_DIR / "uv"
    remote_uv.unlink(missing_ok=True)  # the first deploy brings it
    run = {"only": {"source", "venv", "migrate", "devserver", "smoke"}}

    outcome, events = fresh.run(tmp_path, site=site, **run)
    assert outcome.ok, [e for e in events if isinstance(e, Diagnosis | StepFinished | Notice)]
    assert summary(events, "venv").startswith(f"uv {uv.UV_VERSION} copied to the server; requirements installed")
    cached = (uv.cache_dir("manylinux_2_17_x86_64") / "uv.sha256").read_text().strip()
    assert hashlib.sha256(remote_uv.read_bytes()).hexdigest() == cached
    assert remote_uv.stat().st_uid == fresh.directory.stat().st_uid  # the user's own, not root's
    version = subprocess.run([str(remote_uv), "--version"], capture_output=True, text=True, timeout=30)
    assert version.stdout.startswith(f"uv {uv.UV_VERSION}")
    assert "uv" in (fresh.directory / ".venv" / "pyvenv.cfg").read_text()  # made by uv
    assert not (fresh.directory / ".venv" / "bin" / "pip").exists()
    assert statuses(events)["smoke"] == "passed"

    # Nothing changed: done, and nothing copied or installed.
    outcome, events = fresh.run(tmp_path, site=site, **run)
    assert outcome.ok
    assert statuses(events)["venv"] == "already-done"
    assert not [e for e in events if isinstance(e, CommandStarted) and "sftp put" in e.argv_display]

    # pip again: the venv uv made is the same venv, nothing to redo while the requirements are the same.
    outcome, events = fresh.run(tmp_path, **run)
    assert outcome.ok
    assert statuses(events)["venv"] == "already-done"

    # Changed requirements under pip: pip is added to uv's venv and installs them; no rebuild of the rest.
    outcome, events = fresh.run(tmp_path, only={"venv"}, force={"venv"})
    assert outcome.ok, [e for e in events if isinstance(e, Diagnosis | StepFinished | Notice)]
    assert (fresh.directory / ".venv" / "bin" / "pip").exists()
    assert summary(events, "venv").startswith("requirements installed")

    # And back to uv on another site of the same user: uv is there already, so it is not copied again.
    other = dataclasses.replace(site, site_dir=f"{site.directory}-again")
    try:
        outcome, events = fresh.run(tmp_path, site=other, only={"source", "venv"})
        assert outcome.ok
        assert summary(events, "venv").startswith(f"uv {uv.UV_VERSION} already on the server")
    finally:
        shutil.rmtree(fresh.home / other.directory.removeprefix("~/"), ignore_errors=True)
