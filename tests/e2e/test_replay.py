"""Recordings of real runs on the sandbox box: replayed into the same screens, exported, secret-free."""

from __future__ import annotations

import asyncio
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.events import StepFinished
from deploy_tui.core.secrets import MASK
from deploy_tui.recordings.asciicast import export_cast
from deploy_tui.recordings.index import index_path
from deploy_tui.recordings.reader import read_recording
from deploy_tui.steps.base import Context, Step, in_site, must
from deploy_tui.steps.devserver import DevServerStep
from deploy_tui.steps.provision import ProvisionStep
from screens.app import DeployApp
from screens.replay import ReplayScreen
from screens.walkthrough import WalkthroughScreen
from screens.widgets.diagnosis_card import DiagnosisCard
from screens.widgets.step_list import StepList

pytestmark = pytest.mark.e2e


def screen_state(screen: WalkthroughScreen) -> dict[str, object]:
    """What an operator sees at the end: each step's status, every table's rows, which cards are up."""
    tables = {
        table.id: sorted(tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count))
        for table in screen.query(DataTable)
    }
    for key in ("table-dns",):  # latencies differ from run to run; what was answered does not
        tables[key] = sorted(row[:3] + row[4:] for row in tables.get(key, []))  # type: ignore[index]
    return {
        "steps": {item.step_id: item.status for item in screen.query_one(StepList).children},  # type: ignore[attr-defined]
        "tables": tables,
        "cards": sorted(card.parent.id for card in screen.query(DiagnosisCard) if card.has_class("-shown")),  # type: ignore[union-attr]
    }


@pytest.fixture(scope="module")
def live_run(deployed, tmp_path_factory) -> tuple[dict[str, object], Path]:
    """A real run through the UI, all steps with the FTs; its final screen state and its recording."""
    tmp = tmp_path_factory.mktemp("live")
    app = DeployApp(request=deployed.request(recording=tmp / "live.jsonl"))

    async def drive() -> dict[str, object]:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("r")
            await app.workers.wait_for_complete()
            await pilot.pause(0.2)
            return screen_state(app.screen)  # type: ignore[arg-type]

    state = asyncio.run(drive())
    assert app.last_recording is not None
    return state, app.last_recording


async def test_a_replay_reaches_the_same_screens_as_the_live_run(live_run) -> None:
    live_state, recording = live_run
    assert live_state["steps"]["fts"] == "passed"  # type: ignore[index]
    app = DeployApp(recording=recording)
    async with app.run_test(size=(120, 40)) as pilot:
        assert isinstance(app.screen, ReplayScreen)
        await pilot.press("x", "x", "x")  # 1x -> 4x -> 16x -> instant
        for _ in range(100):
            if app.screen.player.finished:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        assert screen_state(app.screen) == live_state


async def test_a_step_runs_again_live_from_a_replay(live_run) -> None:
    _, recording = live_run
    app = DeployApp(recording=recording)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("x", "x", "x")
        await pilot.pause(0.3)
        steps = app.screen.query_one(StepList)
        steps.index = steps.index_of("smoke")
        await pilot.pause()
        item = steps.item("smoke")
        item.set_status("pending")
        await pilot.press("t")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert item.status == "passed"
        assert app.last_recording is not None
        assert app.last_recording != recording


def test_the_export_plays_in_asciinema(live_run, tmp_path: Path) -> None:
    _, recording = live_run
    cast = tmp_path / "run.cast"
    result = subprocess.run(
        [sys.executable, "-m", "deploy_tui", "replay", str(recording), "--export", "cast", str(cast)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # asciinema opens /dev/tty even to cat: give it a terminal with script(1), as CI has none.
    played = subprocess.run(
        ["script", "-qec", f"asciinema cat {shlex.quote(str(cast))}", "/dev/null"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert played.returncode == 0, played.stderr
    assert "run passed" in played.stdout
    assert "functional tests passed" in played.stdout


class PrintSecrets(Step):
    """A step that prints the secrets outright: the worst case the redactor must catch."""

    id = "leak"
    title = "print the secrets"

    def __init__(self, password_file: Path) -> None:
        self.password_file = password_file

    async def apply(self, ctx: Context) -> str:
        await must(ctx, self, in_site(ctx.site, Shell("cat .secret_key"), "cat the key"))
        await must(ctx, self, StepCommand(["cat", str(self.password_file)], "cat the password", sudo=True))
        return "printed"


def test_secrets_appear_zero_times_in_recording_index_and_export(deployed, tmp_path: Path) -> None:
    plan = [ProvisionStep(), DevServerStep(), PrintSecrets(deployed.box.sudo_password_file)]
    outcome, events = deployed.run(tmp_path, plan=tuple(plan), force={"provision", "devserver"})
    assert outcome.ok, [e for e in events if isinstance(e, StepFinished)]
    recording = next(tmp_path.glob("run-*.jsonl"))
    key = (deployed.directory / ".secret_key").read_text().strip()
    password = deployed.box.sudo_password()
    cast = tmp_path / "run.cast"
    export_cast(read_recording(recording).events, cast)
    for path in (recording, index_path(recording), cast):
        text = path.read_text()
        assert key not in text, path
        assert password not in text, path
    assert read_recording(recording).events
    assert recording.read_text().count(MASK) >= 2  # both were printed, and masked


def test_a_recording_from_a_newer_deploy_tui_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    path.write_text('{"v":99,"kind":"RunStarted","run_id":"x","site":"s","started_at":"t","step":"","ts":0}\n')
    result = subprocess.run(
        [sys.executable, "-m", "deploy_tui", "replay", str(path), "--export", "cast", str(tmp_path / "o.cast")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "newer deploy-tui" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
