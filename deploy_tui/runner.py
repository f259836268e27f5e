"""Putting a run together: one request, its sessions, its recording, and the engine.

A `RunRequest` is the whole of what a run was asked to do, frozen: the command
line builds it, the TUI narrows it with `replace()` for each run it starts (one
step, a retry, a dry run), and `execute` runs it. An unknown host key is asked about
through `on_unknown_host_key` (the command line's terminal question, the TUI's modal),
and rejected when there is none to ask.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from deploy_tui.core.config import ConfigError, Site, TestsConfig
from deploy_tui.core.engine import Engine, RunOutcome
from deploy_tui.core.events import Event, Sink, fanout
from deploy_tui.core.hold import Hold
from deploy_tui.core.plan import Context, Options, SiteLayout, Step, TestRun, needs_sudo
from deploy_tui.core.resolvers import DEFAULT_RESOLVERS, Resolver
from deploy_tui.core.secrets import Redactor, Secret
from deploy_tui.core.session import NoSession, Session
from deploy_tui.recordings.recorder import Recorder
from deploy_tui.remote.known_hosts import HostKeyPrompt
from deploy_tui.steps import default_plan

if TYPE_CHECKING:
    from deploy_tui.project import Project
    from deploy_tui.remote.ssh import SshTarget

# The FTs run here with the server's settings, never with this machine's own.
_SITE_ENV_PREFIXES = ("DJANGO_", "STAGING_", "TEST_SERVER", "FT_ARTIFACTS_DIR")


def runs_dir() -> Path:
    """Where every run's recording goes: the user's data directory."""
    import platformdirs

    return Path(platformdirs.user_data_dir("deploy-tui")) / "runs"


def recording_path(site: str, run_id: str, when: datetime | None = None) -> Path:
    """One file per run: the time to the millisecond and the run's id (the recorder creates it exclusively)."""
    now = when or datetime.now(UTC)
    return runs_dir() / f"{site}-{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z-{run_id}.jsonl"


def settle_address(site: Site, where: str = "") -> str:
    """The IPv4 the domain must resolve to: configured, or the ssh host's own address, looked up once here."""
    if site.address:
        return site.address
    try:
        return socket.gethostbyname(site.host)
    except (OSError, UnicodeError):
        field_name = f"{where or 'sites.' + site.name}.address"
        raise ConfigError(
            f"{field_name} is not set and host {site.host!r} does not resolve here: set {field_name} to the IPv4 "
            f"address {site.domain} should point at"
        ) from None


@dataclass(frozen=True)
class Checkout:
    """The reader's project as this run deploys it: read from the checkout, with deploy.toml's overrides."""

    layout: SiteLayout
    tests: TestRun
    project: Project | None


def read_checkout(site: Site, checkout: Path, tests: TestsConfig | None = None) -> Checkout:
    """Read the checkout (as text, never importing it) into what the steps need; a bad override is one line."""
    from deploy_tui.project import propose_env, read_project

    tests = tests or TestsConfig()
    try:
        project = read_project(checkout, app_dir=site.app_dir or None, requirements=site.requirements or None)
    except (ValueError, OSError) as error:
        raise ConfigError(f"sites.{site.name}: {error}") from None
    if site.env:
        env = site.env
    else:
        proposed = dict(propose_env(project, production=site.production).env)
        if project.allowed_hosts.comma_split:
            # A comma-separated list: every host the site answers to, not only the domain.
            proposed = {k: "{allowed_hosts}" if v == "{domain}" else v for k, v in proposed.items()}
        env = tuple(proposed.items())
    layout = SiteLayout(
        manage_py=project.manage_py or "manage.py",
        requirements=project.requirements or "requirements.txt",
        env=env,
        collectstatic=project.static_root is not None,
        production=site.production,
        wsgi=_wsgi(project.settings_module),
    )
    return Checkout(layout, _test_run(project, checkout, tests), project)


def _wsgi(settings_module: str | None) -> str:
    """gunicorn's APP for the project: the wsgi module beside the settings (startproject's layout)."""
    if not settings_module or "." not in settings_module:
        return ""
    return f"{settings_module.rsplit('.', 1)[0]}.wsgi:application"


def _test_run(project: Project, checkout: Path, config: TestsConfig) -> TestRun:
    """How the FTs run here: the project's command with the chosen Python, in the chosen browser."""
    venv = checkout / ".venv" / "bin" / "python"
    if config.python:
        python, why = config.python, "[tests] python's"
    elif venv.is_file():
        python, why = str(venv), "the checkout's .venv"
    else:
        python, why = sys.executable, "deploy-tui's own"
    fts = project.fts
    command = config.command or (fts.command if fts else "")
    if not command:
        return TestRun(python=python, python_why=why)
    words = shlex.split(command)
    if words and words[0] in ("python", "python3"):
        words[0] = python
    runner = "pytest" if "pytest" in words else (fts.runner if fts else "django")
    written_for = fts.browser if fts else "unknown"
    browser = config.browser or (written_for if written_for in ("firefox", "chromium") else "")
    # Firefox-written FTs run in Chromium when asked, or when this machine has no Firefox to give them.
    no_firefox = not (shutil.which("geckodriver") and any(shutil.which(f) for f in ("firefox", "firefox-esr")))
    as_chromium = written_for == "firefox" and (config.browser == "chromium" or (not config.browser and no_firefox))
    return TestRun(
        command=shlex.join(words),
        python=python,
        python_why=why,
        runner=runner,
        browser="chromium" if as_chromium else browser,
        firefox_as_chromium=as_chromium,
    )


@dataclass(frozen=True)
class RunRequest:
    """One run, whole: where, what of the plan, and with which secrets (never shown)."""

    site: Site
    address: str
    resolvers: tuple[Resolver, ...] = ()
    options: Options = field(default_factory=Options)
    sudo_password: Secret | None = None
    only: frozenset[str] = frozenset()
    skip: frozenset[str] = frozenset()
    force: frozenset[str] = frozenset()
    dry_run: bool = False
    recording: Path | None = None  # None: a new file under runs_dir()
    plan: tuple[Step, ...] = ()  # (): the whole deployment
    checkout: Checkout | None = None  # None: nothing was read (a describing request); a run reads the checkout

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.plan or tuple(
            default_plan(self.checkout.layout if self.checkout else None, gated=bool(self.site.gate))
        )

    @staticmethod
    def default_steps() -> tuple[Step, ...]:
        return tuple(default_plan())

    @property
    def needs_sudo(self) -> bool:
        return needs_sudo(self.steps, self.only, self.skip, self.dry_run)

    def context(
        self,
        emit: Sink = lambda event: None,
        *,
        session: Session | None = None,
        local: Session | None = None,
        artifacts: Path | None = None,
        redactor: Redactor | None = None,
        hold: Hold | None = None,
    ) -> Context:
        """The steps' context for this request; with no sessions given, one that only describes."""
        return Context(
            site=self.site,
            emit=emit,
            address=self.address,
            session=session or NoSession(),
            local=local or NoSession(),
            resolvers=self.resolvers or DEFAULT_RESOLVERS,
            options=self.options,
            artifacts=artifacts,
            redactor=redactor or Redactor(),
            layout=self.checkout.layout if self.checkout else SiteLayout(),
            tests=self.checkout.tests if self.checkout else TestRun(),
            project=self.checkout.project if self.checkout else None,
            hold=hold,
        )


def request_from_recording(events: Sequence[Event]) -> RunRequest | None:
    """The request a recorded run was made with, to run one of its steps again; None when it does not say."""
    from deploy_tui.recordings.params import params_of

    params = params_of(events)
    if params is None:
        return None
    try:
        address = params.address or settle_address(params.site, "recording: site")
        checkout = read_checkout(params.site, params.checkout) if params.checkout else None
    except ConfigError:
        return None
    options = Options(checkout=params.checkout) if params.checkout else Options()
    return RunRequest(site=params.site, address=address, resolvers=params.resolvers, options=options, checkout=checkout)


def target_for(site: Site) -> SshTarget:
    from deploy_tui.remote.ssh import SshTarget

    return SshTarget(
        site.host,
        site.port,
        site.user,
        client_keys=(Path(site.identity_file),) if site.identity_file else (),
        known_hosts=Path(site.known_hosts) if site.known_hosts else SshTarget(site.host).known_hosts,
    )


async def execute(
    request: RunRequest, sink: Sink, on_unknown_host_key: HostKeyPrompt | None = None
) -> tuple[RunOutcome, Path]:
    """Run the request with events going to sink and to a new recording; returns the outcome and its path."""
    from deploy_tui.remote.local import LocalSession
    from deploy_tui.remote.ssh import SshSession

    run_id = uuid.uuid4().hex[:12]
    path = request.recording or recording_path(request.site.name, run_id)
    redactor = Redactor()
    with Recorder(path) as recorder:
        # Through a hold: the engine checks every step at once and reports each in its turn.
        emit = hold = Hold(fanout(recorder, sink))
        session = SshSession(
            target_for(request.site),
            emit=emit,
            redactor=redactor,
            on_unknown_host_key=on_unknown_host_key,
            sudo_password=request.sudo_password,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SITE_ENV_PREFIXES)}
        ctx = request.context(
            emit,
            session=session,
            local=LocalSession(emit=emit, redactor=redactor, env=env),
            artifacts=path.with_suffix("") / "ft-artifacts",
            redactor=redactor,
            hold=hold,
        )
        ctx.runs_dir = runs_dir()
        from deploy_tui.remote.lock import deploy_lock
        from deploy_tui.steps.base import site_dir

        site = request.site
        try:
            outcome = await Engine(request.steps, ctx).run(
                only=request.only,
                skip=request.skip,
                force=request.force,
                dry_run=request.dry_run,
                run_id=run_id,
                # One run per site at a time: beside the site directory, so a first clone still finds it empty.
                guard=lambda: deploy_lock(
                    session, f"{site_dir(site)}.deploy-lock", site.name, run_id, request.options.lock_wait
                ),
            )
        finally:
            await session.close()
    return outcome, path
