"""The Textual app: holds the site and the sudo password, runs the engine in a worker, routes its events.

It stays thin: screens render events and ask for runs with messages; the engine
runs as an async worker on the app's own loop (the SSH connection lives there),
and its events go straight to the walkthrough, which buffers what it draws.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from deploy_tui.config import Site
from deploy_tui.dns_resolvers import Resolver
from deploy_tui.events import Event, Notice
from deploy_tui.known_hosts import HostKeyDecision, HostKeyQuestion
from deploy_tui.secret import Secret
from deploy_tui.steps import Context, Options, default_plan
from screens.guides import guide
from screens.messages import CancelRequested, RunChosen, RunRequested, SiteChosen
from screens.walkthrough import WalkthroughScreen

Runner = Callable[..., Awaitable[Any]]

if TYPE_CHECKING:
    from deploy_tui.ssh import SshSession


class DeployApp(App[int]):
    """deploy-tui: a first deployment, step by step."""

    TITLE = "deploy-tui"

    def __init__(
        self,
        *,
        site: Site | None,
        resolvers: tuple[Resolver, ...] | None = None,
        options: Options | None = None,
        config_path: Path = Path("deploy.toml"),
        sudo_password: Secret | None = None,
        runner: Runner | None = None,
        recording: Path | None = None,
        runs_dir: Path | None = None,
        autostart: bool = False,
    ) -> None:
        super().__init__()
        self.autostart = autostart
        self.last_outcome: str | None = None
        self.recording = recording
        self.runs_dir = runs_dir
        self.site = site
        self.resolvers = resolvers
        self.options = options or Options()
        self.config_path = config_path
        self.sudo_password = sudo_password
        self._runner = runner
        self.last_recording: Path | None = None
        self._accepted_once: set[str] = set()

    def on_mount(self) -> None:
        if self.recording is not None:
            self._replay(self.recording)
        elif self.runs_dir is not None:
            from deploy_tui.record_index import list_runs
            from screens.runs import RunsScreen

            self.push_screen(RunsScreen(list_runs(self.runs_dir), self.runs_dir))
        elif self.site is None:
            from screens.setup import SetupScreen

            self.push_screen(SetupScreen(self.config_path))
        else:
            self._walkthrough(self.site)

    def _steps(self, site: Site) -> list[tuple[str, str, str]]:
        """Each step's id, title and guide (with the exact commands it runs for this site)."""
        # Listing commands touches no connection: no SSH session (nor asyncssh) before a run.
        ctx = Context(
            site=site,
            emit=lambda e: None,
            ssh=cast("SshSession", None),
            resolvers=self.resolvers or (),
            options=self.options,
        )
        return [(s.id, s.title, guide(s.id, s.commands(ctx))) for s in default_plan()]

    def _walkthrough(self, site: Site) -> None:
        self.site = site
        self.push_screen(WalkthroughScreen(self._steps(site), _title(site)))
        if self.autostart:
            self.call_after_refresh(self.post_message, RunRequested())

    def _replay(self, path: Path) -> None:
        from deploy_tui.record import RecordingError, read_recording
        from deploy_tui.replay_params import params_of

        try:
            recording = read_recording(path)
        except RecordingError as error:
            self.exit(return_code=2, message=str(error))
            return
        self.site, resolvers = params_of(recording.events)
        self.resolvers = resolvers or self.resolvers
        if self.site is not None:
            steps, title = self._steps(self.site), f"{_title(self.site)} (recording {path.name})"
        else:  # an older recording without its parameters: it replays, but cannot run a step again
            steps = [(s.id, s.title, guide(s.id, [])) for s in default_plan()]
            title = f"recording {path.name}"
        from screens.replay import ReplayScreen

        self.push_screen(ReplayScreen(steps, title, recording.events, recording.warning))

    @on(RunChosen)
    def _run_chosen(self, message: RunChosen) -> None:
        self._replay(message.path)

    @on(SiteChosen)
    def _site_chosen(self, message: SiteChosen) -> None:
        self._walkthrough(message.site)

    def feed(self, event: Event) -> None:
        """The run's sink: the walkthrough renders it, even under a modal."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, WalkthroughScreen):
                screen.feed((event,))
                return

    @on(RunRequested)
    def _run_requested(self, message: RunRequested) -> None:
        if self.site is None:
            self.notify("This recording does not say which server it ran against.", severity="warning")
            return
        if any(w.group == "engine" and w.is_running for w in self.workers):
            self.notify("A run is in progress: cancel it (c) first.", severity="warning")
            return
        self.run_plan(message)

    @on(CancelRequested)
    def _cancel(self) -> None:
        self.workers.cancel_group(self, "engine")

    @work(exclusive=True, group="engine", exit_on_error=False)
    async def run_plan(self, request: RunRequested) -> None:
        from deploy_tui.runner import RunRequest, execute

        assert self.site is not None
        needs_sudo = not request.dry_run and (not request.only or "provision" in request.only)
        if needs_sudo and self.sudo_password is None:
            from screens.modals import SudoPasswordScreen

            typed = await self.push_screen_wait(SudoPasswordScreen(self.site.user or "the user", self.site.host))
            if typed is None:
                self.notify("Run not started: the provision step needs the sudo password.", severity="warning")
                return
            self.sudo_password = Secret(typed)
        run = RunRequest(
            site=self.site,
            resolvers=self.resolvers,
            options=self.options,
            sudo_password=self.sudo_password,
            only=request.only,
            skip=request.skip,
            force=request.force,
            dry_run=request.dry_run,
        )
        outcome, path = await (self._runner or execute)(run, self.feed, on_unknown_host_key=self._ask_host_key)
        self.last_recording = path
        self.last_outcome = outcome.status

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
            self.feed(Notice(level="error", text=f"the run stopped: {error}"))
            if "refused the password" in str(error):
                self.sudo_password = None  # ask again next time

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in screen.BINDINGS:
            if isinstance(binding, Binding) and binding.show and not binding.action.startswith("app."):
                yield SystemCommand(
                    binding.description, f"key: {binding.key}", lambda action=binding.action: screen.run_action(action)
                )


def _title(site: Site) -> str:
    return f"{site.name}: {site.domain} on {site.user or ''}@{site.host}"
