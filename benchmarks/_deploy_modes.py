"""What deploy_vs_ansible.py measures: chapter 9's dev server or production, each a Mode with its phases
(what each tool calls them), its checks and its targets; and the samples and results a run collects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ANSIBLE_DIR = Path(__file__).resolve().parent / "ansible"

COLUMNS = ("deploy-tui", "deploy-tui-uv")  # deploy-tui's own columns: its default installer (pip), and uv
TOOL_LABELS = {
    "deploy-tui": "deploy-tui (pip)",
    "deploy-tui-uv": "deploy-tui (uv)",
    "ansible": "Ansible",
    "pyinfra": "pyinfra",
}
INSTALLERS = {"deploy-tui-uv": "uv"}  # the site's `installer` for a deploy-tui column; none: its default
UNAVAILABLE = "not available in this build"
KINDS = ("first", "redeploy")
KIND_LABELS = {"first": "first deploy", "redeploy": "no-change redeploy"}
AHEAD = 1.0  # a target of "ahead of": peer / deploy-tui above 1, strictly
# The part of deploy-tui's venv step spent in its `pip install` command (`uv pip install` too; the rest stays "venv").
PIP_PART = "venv: pip install"
REST = "start-up and the rest"


@dataclass(frozen=True)
class Phase:
    """A phase of the deployment, and what each tool calls it: its steps, tasks or operations."""

    name: str
    dtui: tuple[str, ...]
    ansible: tuple[str, ...]
    pyinfra: tuple[str, ...] = ()

    def parts(self, tool: str) -> tuple[str, ...]:
        return self.ansible if tool == "ansible" else self.pyinfra if tool == "pyinfra" else self.dtui


@dataclass(frozen=True)
class Mode:
    """What is deployed and measured: chapter 9's dev server, or production (gunicorn and nginx)."""

    name: str
    heading: str  # the README section's
    markers: tuple[str, str]  # the README section's
    production: bool  # the box as a production server, the sites with `production = true`
    peers: tuple[str, ...]
    playbook: Path
    site_dirs: dict[str, str]  # each tool's site directory on the box, under ~/sites
    domains: dict[str, str]  # each tool's domain (production: nginx picks the server block by it)
    # deploy-tui's steps that do work (dns and fts are skipped), and the playbook's tasks and pyinfra's
    # operations that do the same; "start-up and the rest" is the wall time no step, task or operation
    # accounts for (interpreter start-up, imports, connecting, and the run's own bookkeeping).
    phases: tuple[Phase, ...]
    changing_steps: tuple[str, ...]  # deploy-tui's steps that must run on a first deploy and be done on a redeploy
    start_task: str  # the task (and pyinfra operation) that (re)starts the server: changed on a first deploy
    # peer / deploy-tui, at least (AHEAD: above), of the medians; in the order the report says them.
    targets: dict[tuple[str, str, str], float] = field(default_factory=dict)
    # pyinfra operations that run their command every time, so pyinfra counts them as changed even when nothing did.
    always_run: tuple[str, ...] = ()
    flag: str = ""  # the command-line flag that picks the mode
    handlers: tuple[str, ...] = ()  # the playbook's handlers: they run only when notified, so may report no time

    @property
    def tools(self) -> tuple[str, ...]:
        return (*COLUMNS, *self.peers)

    @property
    def work_steps(self) -> tuple[str, ...]:
        return tuple(step for phase in self.phases for step in phase.dtui)


# deploy-tui's own first step (the checkout read and checked, the server's Python and the like): no peer has one.
PREFLIGHT = Phase("preflight (deploy-tui only)", ("preflight",), ())
DEV_START = "Dev server on 0.0.0.0 (stopped and started again)"
DEVSERVER = Mode(
    name="devserver",
    heading="deploy-tui vs Ansible and pyinfra",
    markers=("<!-- deploy-vs-ansible:start -->", "<!-- deploy-vs-ansible:end -->"),
    production=False,
    peers=("ansible", "pyinfra"),
    playbook=ANSIBLE_DIR / "deploy.yml",
    site_dirs={
        "deploy-tui": "dtui-bench",
        "deploy-tui-uv": "dtui-uv-bench",
        "ansible": "ansible-bench",
        "pyinfra": "pyinfra-bench",
    },
    domains=dict.fromkeys(("deploy-tui", "deploy-tui-uv", "ansible", "pyinfra"), "superlists-staging.test"),
    phases=(
        PREFLIGHT,
        Phase("packages (apt)", ("provision",), ("Server packages (apt)",), ("Server packages (apt)",)),
        Phase("code (git)", ("source",), ("Code on the server (git)",), ("Code on the server (git)",)),
        Phase("virtualenv (python3 -m venv)", ("venv",), ("Virtualenv",), ("Virtualenv",)),
        Phase("requirements (pip / uv pip install)", (PIP_PART,), ("Requirements (pip)",), ("Requirements (pip)",)),
        # superlists sets STATIC_ROOT, so deploy-tui collects its static files even for the dev server; the others not.
        Phase("static files (collectstatic)", ("static",), ()),
        Phase("migrations", ("migrate",), ("Database migrations",), ("Database migrations",)),
        Phase(
            "dev server (check, start, wait)",
            ("devserver",),
            (
                "What the dev server runs from (requirements)",
                "What the dev server runs from (stamp)",
                "Is the dev server running",
                DEV_START,
                "Wait until it answers",
            ),
            ("What the dev server runs from (stamp)", DEV_START, "Wait until it answers"),
        ),
        Phase("smoke (3 HTTP probes)", ("smoke",), ()),
    ),
    changing_steps=("source", "venv", "migrate", "devserver"),
    start_task=DEV_START,
    targets={
        ("deploy-tui", "first", "ansible"): 2.0,
        ("deploy-tui-uv", "first", "ansible"): 5.0,
        ("deploy-tui-uv", "first", "pyinfra"): AHEAD,
        ("deploy-tui", "redeploy", "ansible"): 10.0,
        ("deploy-tui", "redeploy", "pyinfra"): AHEAD,
        ("deploy-tui-uv", "redeploy", "ansible"): 10.0,
        ("deploy-tui-uv", "redeploy", "pyinfra"): AHEAD,
    },
    # `pip install -r` and migrate (the playbook asks pip's and migrate's output instead), and the wait.
    always_run=("Requirements (pip)", "Database migrations", "Wait until it answers"),
)
GUNICORN_START = "Gunicorn (enabled; restarted when what it runs from changed)"
PRODUCTION = Mode(
    name="production",
    heading="deploy-tui vs Ansible, production (gunicorn under systemd, nginx)",
    markers=("<!-- deploy-vs-ansible-production:start -->", "<!-- deploy-vs-ansible-production:end -->"),
    production=True,
    peers=("ansible",),
    playbook=ANSIBLE_DIR / "production.yml",
    site_dirs={"deploy-tui": "dtui-prod", "deploy-tui-uv": "dtui-uv-prod", "ansible": "ansible-prod"},
    domains={"deploy-tui": "bench-dtui.test", "deploy-tui-uv": "bench-dtui-uv.test", "ansible": "bench-ansible.test"},
    phases=(
        PREFLIGHT,
        Phase("packages (apt, with nginx)", ("provision",), ("Server packages (apt)",)),
        Phase("code (git)", ("source",), ("Code on the server (git)",)),
        Phase("virtualenv (python3 -m venv)", ("venv",), ("Virtualenv",)),
        Phase("requirements (pip / uv pip install)", (PIP_PART,), ("Requirements (pip)",)),
        Phase("static files (collectstatic)", ("static",), ("Static files (collectstatic)",)),
        Phase("migrations", ("migrate",), ("Database migrations",)),
        Phase(
            "gunicorn (secret key, env file, unit, daemon-reload, restart)",
            ("gunicorn",),
            (
                "Secret key (made once on the server)",
                "Secret key (read)",
                "Environment file (0600)",
                "Directories nginx must traverse (o+x)",
                "Gunicorn unit (template)",
                "systemd reads the unit (daemon-reload)",
                GUNICORN_START,
            ),
        ),
        Phase(
            "nginx (server block, nginx -t, reload)",
            ("nginx",),
            ("nginx site (template, checked by nginx -t)", "nginx site enabled", "Reload nginx"),
        ),
        Phase(
            "answers through nginx (smoke: 5 probes; Ansible: wait for 200)",
            ("smoke",),
            ("Wait until nginx answers 200",),
        ),
    ),
    changing_steps=("source", "venv", "static", "migrate", "gunicorn", "nginx"),
    start_task=GUNICORN_START,
    flag="--production",
    handlers=("Reload nginx",),
)


@dataclass
class Sample:
    tool: str
    kind: str
    seconds: float  # wall time of the tool's whole process
    inner: float | None  # deploy-tui: the engine's own run time (RunFinished); Ansible and pyinfra: None
    parts: dict[str, float]  # step, task or operation -> seconds
    load: float  # 1-minute load average as the run started
    round: int = -1  # the measured round it belongs to (-1: warm-up)
    pids: tuple[int | None, int | None] = (None, None)  # the server's pid before and after the run


@dataclass
class Results:
    mode: Mode
    tools: tuple[str, ...]  # the columns measured
    refused: dict[str, str] = field(default_factory=dict)  # deploy-tui columns this build cannot run, and why
    samples: list[Sample] = field(default_factory=list)
    rounds_asked: int = 0
    rounds: int = 0
    elapsed: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0
    systemctl_call: float | None = None  # production: one call of the box user's sudo `systemctl`, seconds

    def of(self, tool: str, kind: str) -> list[Sample]:
        return [s for s in self.samples if s.tool == tool and s.kind == kind]
