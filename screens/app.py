"""The Textual app: holds the run request, runs the engine in a worker, routes its events.

It stays thin: screens render events and ask for runs with messages; the app
narrows its one `RunRequest` (from the command line, the setup screen or a
recording) with `replace()` for each run, and runs the engine as an async worker
on its own loop (the SSH connection lives there). Events go straight to the
walkthrough, which buffers what it draws.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from deploy_tui.core.config import ConfigError, Site
from deploy_tui.core.events import Event, Notice
from deploy_tui.core.secrets import Redactor, Secret
from deploy_tui.core.session import SudoPasswordRefused
from deploy_tui.remote.known_hosts import HostKeyDecision, HostKeyQuestion
from deploy_tui.runner import RunRequest, request_from_recording
from screens.guides import guide
from screens.messages import CancelRequested, RunChosen, RunRequested, SiteChosen
from screens.walkthrough import WalkthroughScreen
from screens.widgets.step_pane import StepInfo

Runner = Callable[..., Awaitable[Any]]


def _freeze_start_up_objects() -> None:
    """Keep what start-up made (modules, classes, the request) out of the collector's full passes.

    They live as long as the process, yet every full collection walks them all again: the first
    one fell inside the walkthrough's first frame and cost it ~20 ms, and later ones pause the UI
    as long. Once per process: freezing again for every app made, as the tests make them, could keep
    an earlier app's garbage for good.
    """
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True


_frozen = False


class DeployApp(App[int]):
    """deploy-tui: a first deployment, step by step."""

    TITLE = "deploy-tui"

    def __init__(
        self,
        *,
        request: RunRequest | None = None,
        config_path: Path = Path("deploy.toml"),
        runner: Runner | None = None,
        recording: Path | None = None,
        runs_dir: Path | None = None,
        autostart: bool = False,
    ) -> None:
        super().__init__()
        _freeze_start_up_objects()
        self.request = request
        self.autostart = autostart
        self.last_outcome: str | None = None
        self.recording = recording
        self.runs_dir = runs_dir
        self.config_path = config_path
        self._runner = runner
        self.last_recording: Path | None = None
        self._accepted_once: set[str] = set()

    def on_mount(self) -> None:
        if self.recording is not None:
            self._replay(self.recording)
        elif self.runs_dir is not None:
            from deploy_tui.recordings.index import list_runs
            from screens.runs import RunsScreen

            self.push_screen(RunsScreen(list_runs(self.runs_dir), self.runs_dir))
        elif self.request is None:
            from screens.setup import SetupScreen

            self.push_screen(SetupScreen(self.config_path))
        else:
            self._walkthrough(self.request)

    def _steps(self, request: RunRequest | None) -> list[StepInfo]:
        """Each step with its guide (and, for a known site, the exact commands it runs there)."""
        # Describing commands touches no connection: no SSH session (nor asyncssh) before a run.
        ctx = request.context() if request is not None else None
        plan = request.steps if request is not None else RunRequest.default_steps()
        return [StepInfo(s.id, s.title, guide(s, ctx), s.results) for s in plan]

    def _walkthrough(self, request: RunRequest) -> None:
        self.request = request
        self.push_screen(WalkthroughScreen(self._steps(request), _title(request.site)))
        if self.autostart:
            self.call_after_refresh(self.post_message, RunRequested())

    def _replay(self, path: Path) -> None:
        from deploy_tui.recordings.player import Player
        from deploy_tui.recordings.reader import RecordingError, RecordingFile

        try:
            recording = RecordingFile(path)
            player = Player.of_file(recording)
        except RecordingError as error:
            self.exit(return_code=2, message=str(error))
            return
        # An older recording without its parameters replays, but cannot run a step again.
        self.request = request_from_recording(player.events)
        title = f"recording {path.name}"
        if self.request is not None:
            title = f"{_title(self.request.site)} ({title})"
        from screens.replay import ReplayScreen

        self.push_screen(ReplayScreen(self._steps(self.request), title, player, recording.warning))

    @on(RunChosen)
    def _run_chosen(self, message: RunChosen) -> None:
        self._replay(message.path)

    @on(SiteChosen)
    def _site_chosen(self, message: SiteChosen) -> None:
        from deploy_tui.core.plan import Options
        from deploy_tui.runner import read_checkout, settle_address

        options = Options()
        try:
            address = settle_address(message.site)
            checkout = read_checkout(message.site, options.checkout)
        except ConfigError as error:
            self.notify(str(error), severity="error", timeout=10)
            return
        self._walkthrough(
            RunRequest(
                site=message.site, address=address, resolvers=message.resolvers, options=options, checkout=checkout
            )
        )

    def feed(self, event: Event) -> None:
        """The run's sink: the walkthrough renders it, even under a modal."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, WalkthroughScreen):
                screen.feed((event,))
                return

    @on(RunRequested)
    def _run_requested(self, message: RunRequested) -> None:
        if self.request is None:
            self.notify("This recording does not say which server it ran against.", severity="warning")
            return
        if any(w.group == "engine" and w.is_running for w in self.workers):
            self.notify("A run is in progress: cancel it (c) first.", severity="warning")
            return
        self.run_plan(self._narrowed(self.request, message))

    @staticmethod
    def _narrowed(base: RunRequest, message: RunRequested) -> RunRequest:
        """The app's request narrowed to what a key asked: a step chosen by hand wins over --only."""
        return replace(
            base,
            only=message.only or base.only,
            skip=base.skip | message.skip,
            force=base.force | message.force,
            dry_run=base.dry_run or message.dry_run,
        )

    @on(CancelRequested)
    def _cancel(self) -> None:
        self.workers.cancel_group(self, "engine")

    @work(exclusive=True, group="engine", exit_on_error=False)
    async def run_plan(self, run: RunRequest) -> None:
        from deploy_tui.runner import execute

        if run.needs_sudo and run.sudo_password is None:
            from screens.modals import SudoPasswordScreen

            typed = await self.push_screen_wait(SudoPasswordScreen(run.site.user or "the user", run.site.host))
            if typed is None:
                self.notify("Run not started: a step needs the sudo password.", severity="warning")
                return
            run = replace(run, sudo_password=Secret(typed))
            self._keep(sudo_password=run.sudo_password)
        outcome, path = await (self._runner or execute)(run, self.feed, on_unknown_host_key=self._ask_host_key)
        # A recording named on the command line is for the first run; later runs get files of their own.
        self._keep(recording=None)
        self.last_recording = path
        self.last_outcome = outcome.status
        if isinstance(outcome.error, SudoPasswordRefused):
            self._keep(sudo_password=None)  # ask again next time

    def _keep(self, **changes: Any) -> None:
        """Remember something for the next runs (the password typed once, a recording used)."""
        if self.request is not None:
            self.request = replace(self.request, **changes)

    async def _ask_host_key(self, question: HostKeyQuestion) -> HostKeyDecision:
        if question.fingerprint in self._accepted_once:
            return HostKeyDecision.ACCEPT_ONCE
        from screens.modals import HostKeyScreen

        decision = await self.push_screen_wait(HostKeyScreen(question))
        if decision is HostKeyDecision.ACCEPT_ONCE:
            self._accepted_once.add(question.fingerprint)
        return decision

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "engine" and event.state is WorkerState.ERROR:
            error = event.worker.error
            masked = Redactor()
            if self.request is not None and self.request.sudo_password:
                masked.add(self.request.sudo_password)
            self.feed(Notice(level="error", text=masked(f"the run stopped: {error}")))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in screen.BINDINGS:
            if isinstance(binding, Binding) and binding.show and not binding.action.startswith("app."):
                yield SystemCommand(
                    binding.description, f"key: {binding.key}", lambda action=binding.action: screen.run_action(action)
                )


def _title(site: Site) -> str:
    return f"{site.name}: {site.domain} on {site.user or ''}@{site.host}"
