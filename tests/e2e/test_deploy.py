"""A whole deployment into the sandbox box, from nothing, and again: the product's main job."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from deploy_tui.core.events import Diagnosis, StepFinished, TestFinished
from tests.e2e.conftest import make_deployment

pytestmark = pytest.mark.e2e


def _statuses(events) -> dict[str, str]:
    return {e.step: e.status for e in events if isinstance(e, StepFinished)}


def _items(db: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("select id, text from lists_item order by id").fetchall()


def test_a_fresh_deploy_ends_green_and_a_second_run_keeps_everything(sandbox_box, box_resolvers, tmp_path) -> None:
    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, f"fresh-{uuid.uuid4().hex[:6]}")
    assert not deployment.directory.exists()
    try:
        first, events = deployment.run(tmp_path)
        assert first.ok, [e for e in events if isinstance(e, Diagnosis | StepFinished)]
        statuses = _statuses(events)
        for step in ("preflight", "source", "venv", "static", "migrate", "devserver"):
            assert statuses[step] == "passed", statuses
        assert statuses["dns"] == statuses["smoke"] == statuses["fts"] == "passed"
        tests = [e for e in events if isinstance(e, TestFinished)]
        assert len(tests) >= 3
        assert {t.outcome for t in tests} == {"passed"}

        db = deployment.directory / "db.sqlite3"
        items_after_first = _items(db)
        assert len(items_after_first) >= 4  # the FTs' items, in the server's own database
        # The dev server is waited for as the site (its Host), so its log holds no DisallowedHost of the
        # wait's own: that would be a false lead for whoever (or whichever diagnosis) reads it.
        log = (deployment.directory / "runserver.log").read_text()
        assert "Invalid HTTP_HOST" not in log, log[-2000:]

        second, events = deployment.run(tmp_path)
        assert second.ok
        statuses = _statuses(events)
        for step in ("provision", "source", "venv", "static", "migrate", "devserver"):
            assert statuses[step] == "already-done", statuses
        # Everything the first run's visitors wrote is still there, and the second run's too.
        items_after_second = _items(db)
        assert items_after_second[: len(items_after_first)] == items_after_first
        assert len(items_after_second) > len(items_after_first)
    finally:
        deployment.stop_server()


def test_a_no_change_redeploy_only_checks(deployed, tmp_path) -> None:
    # How fast it is lives in benchmarks/ (deploy_vs_ansible.py); here: that it changes nothing.
    outcome, events = deployed.run(tmp_path, skip={"fts"})
    assert outcome.ok
    statuses = _statuses(events)
    assert {statuses[s] for s in ("provision", "source", "venv", "static", "migrate", "devserver")} == {"already-done"}


def test_a_dry_run_lists_commands_and_touches_nothing(sandbox_box, box_resolvers, tmp_path) -> None:
    from deploy_tui.core.events import CommandStarted, PlannedCommand
    from deploy_tui.steps import PLAN

    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, f"dry-{uuid.uuid4().hex[:6]}")
    outcome, events = deployment.run(tmp_path, dry_run=True)
    assert outcome.ok
    planned = [e for e in events if isinstance(e, PlannedCommand)]
    assert {e.step for e in planned} == {step.id for step in PLAN}  # chapter 9's steps, each with commands
    assert any("pip install -r requirements.txt" in e.argv_display for e in planned)
    assert not [e for e in events if isinstance(e, CommandStarted)]
    assert not deployment.directory.exists()


def test_headless_cli_run_exits_0_and_writes_a_recording(deployed, tmp_path) -> None:
    from deploy_tui.recordings.reader import read_recording
    from deploy_tui.sandbox.demo import deploy_toml

    config = tmp_path / "deploy.toml"
    text = deploy_toml(deployed.box, site_dir=deployed.site.directory, app_port=deployed.site.app_port)
    config.write_text(text)
    password = tmp_path / "pw"
    password.write_text(deployed.box.sudo_password() + "\n")
    recording = tmp_path / "run.jsonl"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "deploy_tui",
            "run",
            "--headless",
            "--config",
            str(config),
            "--skip",
            "fts",
            "--sudo-password-file",
            str(password),
            "--recording",
            str(recording),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "✓ run passed" in result.stdout
    assert f"recording: {recording}" in result.stdout
    events = read_recording(recording).events
    assert events[0].kind == "RunStarted"
    assert events[-1].kind == "RunFinished"
    assert deployed.box.sudo_password() not in recording.read_text()


def test_headless_cli_exits_1_when_a_step_fails(deployed, tmp_path) -> None:
    from deploy_tui.sandbox.demo import deploy_toml

    config = tmp_path / "deploy.toml"
    config.write_text(
        deploy_toml(deployed.box, branch="no-such-branch", site_dir=f"~/sites/bad-{uuid.uuid4().hex[:6]}")
    )
    result = subprocess.run(
        [sys.executable, "-m", "deploy_tui", "run", "--headless", "--config", str(config), "--only", "source"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "✗ source failed" in result.stdout
    assert "no-such-branch" in result.stdout


def test_a_new_commit_is_checked_out_and_restarts_the_server_keeping_untracked_files(
    sandbox_box, box_resolvers, tmp_path
) -> None:
    import dataclasses

    _, box = sandbox_box
    name = f"commit-{uuid.uuid4().hex[:6]}"
    deployment = make_deployment(box, box_resolvers, name)
    # A repository of this test's own, so the session's shared one never moves under other tests.
    repo = deployment.home / f"{name}.git"
    git = ["git", "-c", "safe.directory=*", "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    # The box user owns these repositories: root's git wants each side told they are safe.
    upload = "--upload-pack=git -c safe.directory='*' upload-pack"
    subprocess.run([*git, "clone", "-q", upload, "--bare", box.repo_url, str(repo)], check=True, timeout=60)
    subprocess.run(["chown", "-R", f"{box.user}:{box.user}", str(repo)], check=True)
    deployment.site = dataclasses.replace(deployment.site, repo=str(repo))
    try:
        first, _ = deployment.run(tmp_path, skip={"fts"})
        assert first.ok
        pid_before = (deployment.directory / "runserver.pid").read_text().strip()
        keep = deployment.directory / "notes-kept-across-deploys.txt"
        keep.write_text("untracked, never to be deleted\n")
        work = tmp_path / "work"
        subprocess.run([*git, "clone", "-q", upload, str(repo), str(work)], check=True, timeout=60)
        subprocess.run([*git, "-C", str(work), "commit", "-q", "--allow-empty", "-m", "a new release"], check=True)
        subprocess.run(
            [
                *git,
                "-C",
                str(work),
                "push",
                "-q",
                "--receive-pack=git -c safe.directory='*' receive-pack",
                "origin",
                "HEAD:main",
            ],
            check=True,
            timeout=60,
        )
        new_head = subprocess.run(
            [*git, "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()

        second, events = deployment.run(tmp_path, skip={"fts"})
        assert second.ok
        statuses = _statuses(events)
        assert statuses["source"] == "passed"
        assert statuses["venv"] == statuses["migrate"] == "already-done"
        assert statuses["devserver"] == "passed"  # restarted: the code it runs changed
        assert (deployment.directory / "runserver.pid").read_text().strip() != pid_before
        deployed_head = subprocess.run(
            ["git", "-c", "safe.directory=*", "-C", str(deployment.directory), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert deployed_head.stdout.strip() == new_head
        assert keep.read_text() == "untracked, never to be deleted\n"
        assert (deployment.directory / "db.sqlite3").exists()
    finally:
        deployment.stop_server()
