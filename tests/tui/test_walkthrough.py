"""The walkthrough driven by keys, fed a scripted run: statuses, panes, modals, palette."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Log

from deploy_tui.core.secrets import Secret
from deploy_tui.remote.ssh import HostKeyDecision, HostKeyQuestion
from screens.app import DeployApp
from screens.modals import HostKeyScreen, SudoPasswordScreen
from screens.walkthrough import WalkthroughScreen
from screens.widgets.diagnosis_card import DiagnosisCard
from screens.widgets.step_list import StepList
from tests.tui.scripted import RESOLVERS, SITE, ScriptedRunner, failing_run, request

PASSWORD = Secret("pw-123456")


def make_app(runner: ScriptedRunner, password: Secret | None = PASSWORD) -> DeployApp:
    return DeployApp(request=request(password), runner=runner)


async def test_run_all_shows_each_steps_status_and_the_failures_diagnosis() -> None:
    runner = ScriptedRunner(failing_run())
    app = make_app(runner)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        steps = app.screen.query_one(StepList)
        statuses = {item.step_id: item.status for item in steps.children}  # type: ignore[attr-defined]
        assert statuses == {
            "preflight": "passed",
            "dns": "passed",
            "provision": "already-done",
            "source": "already-done",
            "venv": "already-done",
            "static": "already-done",
            "migrate": "already-done",
            "devserver": "passed",
            "smoke": "failed",
            "fts": "pending",
        }
        screen = app.screen
        assert isinstance(screen, WalkthroughScreen)
        assert screen.selected == "smoke"  # the failure is brought into view
        card = screen.query_one("#pane-smoke").query_one(DiagnosisCard)
        assert card.has_class("-shown")
        assert "D4" in str(card.render())
        probes = screen.query_one("#table-smoke", DataTable)
        assert probes.row_count == 2


async def test_selecting_a_step_shows_its_output_with_stderr_marked() -> None:
    app = make_app(ScriptedRunner(failing_run()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        steps = app.screen.query_one(StepList)
        steps.focus()
        steps.index = steps.index_of("devserver")
        await pilot.pause(0.2)
        log = app.screen.query_one(Log)
        text = "\n".join(str(line) for line in log.lines)
        assert "$ runserver 127.0.0.1:8000" in text
        assert "Starting development server" in text
        assert "! Watching for file changes" in text


async def test_the_dns_table_fills_in_resolver_by_resolver() -> None:
    app = make_app(ScriptedRunner(failing_run()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        table = app.screen.query_one("#table-dns", DataTable)
        assert table.row_count == 2
        statuses = {str(table.get_row_at(i)[0]) for i in range(2)}
        assert statuses == {"match", "stale"}


async def test_retry_runs_the_selected_step_forced_and_skip_goes_on_without_it() -> None:
    runner = ScriptedRunner(failing_run())
    app = make_app(runner)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.press("t")  # the selected step is the failed smoke step
        await app.workers.wait_for_complete()
        assert runner.requests[-1].only == frozenset({"smoke"})
        assert runner.requests[-1].force == frozenset({"smoke"})
        await pilot.press("s")
        await app.workers.wait_for_complete()
        assert runner.requests[-1].skip == frozenset({"smoke"})
        assert runner.requests[-1].only == frozenset({"smoke", "fts"})
        await pilot.press("d")
        await app.workers.wait_for_complete()
        assert runner.requests[-1].dry_run


async def test_the_sudo_password_is_asked_in_a_masked_modal_and_handed_to_the_run() -> None:
    runner = ScriptedRunner(failing_run())
    app = make_app(runner, password=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, SudoPasswordScreen)
        field = app.screen.query_one(Input)
        assert field.password
        await pilot.press(*"s3cret-pw")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        assert runner.requests[-1].sudo_password.reveal() == "s3cret-pw"
        assert "s3cret-pw" not in repr(runner.requests[-1])


async def test_cancelling_the_sudo_modal_starts_nothing() -> None:
    runner = ScriptedRunner(failing_run())
    app = make_app(runner, password=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        assert runner.requests == []


@pytest.mark.parametrize(
    ("button", "decision"),
    [
        ("#once", HostKeyDecision.ACCEPT_ONCE),
        ("#save", HostKeyDecision.ACCEPT_AND_SAVE),
        ("#reject", HostKeyDecision.REJECT),
    ],
)
async def test_the_host_key_modal_shows_the_fingerprint_and_returns_the_choice(button, decision) -> None:
    answers: list[HostKeyDecision] = []

    class AskingRunner(ScriptedRunner):
        async def __call__(self, request, sink, on_unknown_host_key=None):  # type: ignore[no-untyped-def]
            question = HostKeyQuestion("[127.0.0.2]:2222", "ssh-ed25519", "SHA256:abcdef", SITE_KNOWN_HOSTS)
            answers.append(await on_unknown_host_key(question))
            return await super().__call__(request, sink)

    app = make_app(AskingRunner([]))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, HostKeyScreen)
        shown = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "SHA256:abcdef" in shown
        assert "[127.0.0.2]:2222" in shown
        await pilot.click(button)
        await app.workers.wait_for_complete()
    assert answers == [decision]


SITE_KNOWN_HOSTS = Path("/root/.ssh/known_hosts")


async def test_every_walkthrough_key_is_in_the_footer_and_the_palette() -> None:
    app = make_app(ScriptedRunner([]))
    async with app.run_test(size=(120, 40)):
        screen = app.screen
        commands = {c.title for c in app.get_system_commands(screen)}
        for binding in WalkthroughScreen.BINDINGS:
            assert binding.id  # remappable
            if not binding.action.startswith("app."):
                assert binding.description in commands
        footer_keys = {b.binding.key for b in screen.active_bindings.values() if b.binding.show}
        assert {"r", "space", "t", "s", "c", "d", "f", "q"} <= footer_keys


async def test_a_cancelled_fts_step_leaves_no_test_shown_as_running() -> None:
    from deploy_tui.core import events as ev

    script = [
        ev.StepStarted(step="fts", title="fts"),
        ev.TestStarted(step="fts", name="functional_tests/test_x.py::T::test_a"),
        ev.TestFinished(step="fts", name="functional_tests/test_x.py::T::test_a", outcome="passed", duration=1.0),
        ev.TestStarted(step="fts", name="functional_tests/test_x.py::T::test_b"),
        ev.StepFinished(step="fts", status="cancelled", duration=2.0),
    ]
    app = make_app(ScriptedRunner(script))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        board = app.screen.query_one("#table-fts", DataTable)
        assert [str(board.get_row_at(i)[1]) for i in range(board.row_count)] == ["passed", "cancelled"]


async def test_autostart_runs_the_plan_without_a_key() -> None:
    runner = ScriptedRunner(failing_run())
    app = DeployApp(request=request(PASSWORD), runner=runner, autostart=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert len(runner.requests) == 1
        assert app.last_outcome == "failed"


def _from_the_command_line(tmp_path: Path, *flags: str) -> DeployApp:
    """The walkthrough as `deploy-tui run --config ... FLAGS` on a terminal builds it, with a scripted runner."""
    from deploy_tui.cli.main import build_parser
    from deploy_tui.cli.run import _run_request
    from deploy_tui.core.config import load

    config = tmp_path / "deploy.toml"
    config.write_text(
        "[sites.staging]\n"
        f'domain = "{SITE.domain}"\nhost = "{SITE.host}"\nport = 2222\nuser = "elspeth"\nrepo = "{SITE.repo}"\n'
    )
    password = tmp_path / "password"
    password.write_text("pw-from-the-file\n")
    args = build_parser().parse_args(["run", "--config", str(config), "--sudo-password-file", str(password), *flags])
    request = _run_request(args, load(config).site("staging"), RESOLVERS, args.sudo_password_file, ask_password=False)
    return DeployApp(request=request, runner=ScriptedRunner(failing_run()))


async def test_only_from_the_command_line_runs_that_step_and_asks_no_password(tmp_path: Path) -> None:
    app = _from_the_command_line(tmp_path, "--only", "dns")
    runner = app._runner
    assert isinstance(runner, ScriptedRunner)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert not isinstance(app.screen, SudoPasswordScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        (run,) = runner.requests
        assert run.only == {"dns"}
        assert run.sudo_password is None  # dns needs no sudo: the file was not even read
        statuses = {item.step_id: item.status for item in app.screen.query_one(StepList).children}  # type: ignore[attr-defined]
        assert statuses["dns"] == "passed"
        assert {s for s, status in statuses.items() if status != "pending"} == {"dns"}


async def test_a_password_file_on_the_command_line_reaches_the_tui_run_without_a_modal(tmp_path: Path) -> None:
    app = _from_the_command_line(tmp_path, "--only", "provision", "--skip", "dns")
    runner = app._runner
    assert isinstance(runner, ScriptedRunner)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert not isinstance(app.screen, SudoPasswordScreen)
        await app.workers.wait_for_complete()
        (run,) = runner.requests
        assert run.only == {"provision"}
        assert run.skip == {"dns"}
        assert run.sudo_password is not None
        assert run.sudo_password.reveal() == "pw-from-the-file"


async def test_a_rollback_and_a_gated_production_plan_show_their_own_steps() -> None:
    from dataclasses import replace

    from deploy_tui.core.plan import SiteLayout
    from deploy_tui.steps import default_plan, rollback_plan

    for plan, first, wanted in (
        (rollback_plan(SiteLayout(collectstatic=True)), "Back to an earlier release", "Dev server on 0.0.0.0"),
        (default_plan(SiteLayout(production=True), gated=True), "Passed on staging first", "Gunicorn under systemd"),
    ):
        app = DeployApp(request=replace(request(PASSWORD), plan=tuple(plan)), runner=ScriptedRunner([]))
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            titles = [item.title for item in app.screen.query_one(StepList).children]  # type: ignore[attr-defined]
            assert titles[0] == first
            assert wanted in titles
            assert "Database migrations" not in titles or first != "Back to an earlier release"


async def test_the_walkthrough_is_drawn_once_the_app_lets_repaints_go_and_not_before() -> None:
    """Its first drawing is the one that reaches the terminal: none is made while the app still mounts."""
    drawn: list[bool] = []  # for each rendered update of the walkthrough: were repaints held then?

    class Watched(DeployApp):
        def _display(self, screen, renderable) -> None:  # type: ignore[no-untyped-def]
            if isinstance(screen, WalkthroughScreen) and renderable is not None:
                drawn.append(bool(self._batch_count))
            super()._display(screen, renderable)

    app = Watched(request=request(PASSWORD), runner=ScriptedRunner([]))
    async with app.run_test(size=(120, 40)) as pilot:
        assert isinstance(app.screen, WalkthroughScreen)  # there as soon as the app is ready, as before
        await pilot.pause()
    assert drawn
    assert not any(drawn)


async def test_a_steps_status_shows_in_its_item_and_a_failed_step_is_marked() -> None:
    app = make_app(ScriptedRunner([]))
    async with app.run_test(size=(120, 40)) as pilot:
        item = app.screen.query_one(StepList).item("dns")
        item.set_status("failed", 2.5)
        await pilot.pause()
        assert item.has_class("-failed")
        assert str(item.render()).splitlines()[1].strip() == "failed 2.5s"
        assert item.size.height == 2  # the status line is laid out, not cut
        item.set_status("pending")
        await pilot.pause()
        assert not item.has_class("-failed")
        assert item.size.height == 1
