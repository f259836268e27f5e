"""SVG snapshots of each screen in the states worth pinning, at fixed terminal sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy_tui.core.secrets import Secret
from screens.app import DeployApp
from tests.tui.scripted import ScriptedRunner, failing_run, request


def _walkthrough(script=None) -> DeployApp:  # type: ignore[no-untyped-def]
    return DeployApp(
        request=request(Secret("pw-123456")),
        runner=ScriptedRunner(script or []),
    )


async def _run_all(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("r")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    pilot.app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_walkthrough_before_any_run(snap_compare, size) -> None:
    assert snap_compare(_walkthrough(), terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_walkthrough_failed_smoke_with_its_d4_diagnosis_card(snap_compare, size) -> None:
    assert snap_compare(_walkthrough(failing_run()), terminal_size=size, run_before=_run_all)


def test_walkthrough_dns_table_after_a_run(snap_compare) -> None:
    async def show_dns(pilot) -> None:  # type: ignore[no-untyped-def]
        await _run_all(pilot)
        pilot.app.screen.query_one("#steps").index = 1
        await pilot.pause()

    assert snap_compare(_walkthrough(failing_run()), terminal_size=(120, 36), run_before=show_dns)


def test_walkthrough_preflight_checks_after_a_run(snap_compare) -> None:
    async def show_preflight(pilot) -> None:  # type: ignore[no-untyped-def]
        await _run_all(pilot)
        pilot.app.screen.query_one("#steps").index = 0
        await pilot.pause()

    assert snap_compare(_walkthrough(failing_run()), terminal_size=(120, 36), run_before=show_preflight)


def test_sudo_password_modal(snap_compare) -> None:
    app = DeployApp(request=request(), runner=ScriptedRunner([]))

    async def ask(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("r")
        await pilot.pause()
        await pilot.press(*"typed")

    assert snap_compare(app, terminal_size=(100, 30), run_before=ask)


def test_setup_screen_loaded_from_deploy_toml_with_an_inline_error(snap_compare, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the screen names the file: keep its path the same every run
    config = Path("deploy.toml")
    config.write_text(
        '[sites.staging]\ndomain = "superlists-staging.test"\nhost = "127.0.0.2"\nport = 2222\n'
        'user = "elspeth"\nrepo = "/srv/git/superlists.git"\nbranch = "main"\n'
    )
    app = DeployApp(config_path=config)

    async def break_port(pilot) -> None:  # type: ignore[no-untyped-def]
        field = pilot.app.screen.query_one("#field-port")
        field.value = "99999"
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 40), run_before=break_port)
