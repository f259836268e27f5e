"""Benchmark: deploy-tui against the same deployment written as an Ansible playbook and a pyinfra deploy (issue 16).

Every tool deploys superlists into the SAME sandbox box (a real sshd on 127.0.0.2, its own
user `dtuibench`, resolvers 127.0.53.41-43 and authority 127.0.53.49, so it never collides
with the tests' boxes or the default one), each into its own site directory and onto its
own dev-server port, so they never fight. Four columns, measured in one run:

  deploy-tui (pip)  its plan as today, with the dns and fts steps skipped (this measures the
                    deployment, not DNS or a browser);
  deploy-tui (uv)   the same with the site's `installer = "uv"`, when the installed deploy-tui
                    accepts that setting (a deploy.toml with it is loaded first; a ConfigError
                    naming the key means this build has none, and the column is reported as
                    not available in this build instead of failing the run);
  Ansible           benchmarks/ansible/deploy.yml;
  pyinfra           benchmarks/pyinfra/deploy.py (inventory.py beside it).

The playbook and the pyinfra deploy do what deploy-tui's plan does (apt, git, venv, pip,
migrate, the dev server as a background process with a pid file, restarted when what it
runs from changed, then wait until it answers). Each run is timed from the start of its
process to its end (`ansible-playbook`, `pyinfra`, or a child Python running deploy-tui's
`runner.execute`), so every tool pays its interpreter start-up. Measured, the tools in turn
run by run (the order rotating each round, so each tool goes first as often as the others):

  (1) a first deploy: the site directory (and its dev server) removed before each run;
      pip's (and uv's) cache is warm from a warm-up round, so all install the same cached wheel;
  (2) a no-change redeploy right after: nothing may change, nor the server restart.

Every run is checked: it must succeed, the site must answer 200 afterwards, a first deploy
must start a server and a redeploy must keep the same one (and change nothing: deploy-tui's
steps already done, no Ansible task changed, no pyinfra operation ran commands but the three
that always do, pip install -r, migrate and the wait). Medians, min/max and the ratios
Ansible / deploy-tui and pyinfra / deploy-tui for each deploy-tui column are reported,
against the targets (first deploy with uv >= 5x Ansible and ahead of pyinfra, with pip
>= 2x Ansible; no-change redeploy >= 10x Ansible and ahead of pyinfra), with where each
tool spends its time (deploy-tui's StepFinished durations, Ansible's per-task times from
benchmarks/ansible/callback_plugins/task_times.py, pyinfra's per-operation times from
benchmarks/pyinfra/op_times.py). At the end every dev server is stopped by its pid file,
Ansible's shared SSH connection is closed, and the box is taken down with --purge (also
on error). ansible-core and pyinfra are installed from PyPI into benchmarks/.ansible-venv
and benchmarks/.pyinfra-venv the first time. Needs root, as `deploy-tui sandbox up` does:

    .venv/bin/python benchmarks/deploy_vs_ansible.py [--runs 5] [--budget 1500] [--write-readme]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import http.client
import importlib.metadata
import json
import os
import platform
import pwd
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from readme_section import replace_section  # benchmarks/ is the script's own folder

from deploy_tui.sandbox.box import BoxInfo, Sandbox, SandboxConfig, SandboxError
from deploy_tui.sandbox.demo import box_site_values, deploy_toml

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
README = HERE / "README.md"
ANSIBLE_DIR = HERE / "ansible"
PLAYBOOK = ANSIBLE_DIR / "deploy.yml"
INVENTORY_TEMPLATE = ANSIBLE_DIR / "inventory.yml.template"
ANSIBLE_CFG = ANSIBLE_DIR / "ansible.cfg"
ANSIBLE_VENV = HERE / ".ansible-venv"
ANSIBLE_CORE = "ansible-core>=2.17"
PYINFRA_DIR = HERE / "pyinfra"
PYINFRA_DEPLOY = PYINFRA_DIR / "deploy.py"
PYINFRA_INVENTORY = PYINFRA_DIR / "inventory.py"
PYINFRA_VENV = HERE / ".pyinfra-venv"
PYINFRA = "pyinfra>=3.10"  # 3.10's git.repo leaves an up-to-date checkout alone (no pull, no change)
START_MARKER = "<!-- deploy-vs-ansible:start -->"
END_MARKER = "<!-- deploy-vs-ansible:end -->"

USER = "dtuibench"
BOX_ADDRESS = "127.0.0.2"
RESOLVERS = ("127.0.53.41", "127.0.53.42", "127.0.53.43")
AUTHORITY = "127.0.53.49"
DOMAIN = "superlists-staging.test"
SKIP = ("dns", "fts")
COLUMNS = ("deploy-tui", "deploy-tui-uv")  # deploy-tui's own columns: its default installer (pip), and uv
PEERS = ("ansible", "pyinfra")
TOOLS = (*COLUMNS, *PEERS)
TOOL_LABELS = {
    "deploy-tui": "deploy-tui (pip)",
    "deploy-tui-uv": "deploy-tui (uv)",
    "ansible": "Ansible",
    "pyinfra": "pyinfra",
}
# Each tool's site directory on the box, under ~/sites.
SITE_DIRS = {
    "deploy-tui": "dtui-bench",
    "deploy-tui-uv": "dtui-uv-bench",
    "ansible": "ansible-bench",
    "pyinfra": "pyinfra-bench",
}
INSTALLERS = {"deploy-tui-uv": "uv"}  # the site's `installer` for a deploy-tui column; none: its default
UNAVAILABLE = "not available in this build"
KINDS = ("first", "redeploy")
KIND_LABELS = {"first": "first deploy", "redeploy": "no-change redeploy"}
AHEAD = 1.0  # a target of "ahead of": peer / deploy-tui above 1, strictly
# peer / deploy-tui, at least (AHEAD: above), of the medians; in the order the report says them.
TARGETS: dict[tuple[str, str, str], float] = {
    ("deploy-tui", "first", "ansible"): 2.0,
    ("deploy-tui-uv", "first", "ansible"): 5.0,
    ("deploy-tui-uv", "first", "pyinfra"): AHEAD,
    ("deploy-tui", "redeploy", "ansible"): 10.0,
    ("deploy-tui", "redeploy", "pyinfra"): AHEAD,
    ("deploy-tui-uv", "redeploy", "ansible"): 10.0,
    ("deploy-tui-uv", "redeploy", "pyinfra"): AHEAD,
}
RUN_TIMEOUT = 600.0  # one deploy, any tool
PID = "runserver.pid"

START_TASK = "Dev server on 0.0.0.0 (stopped and started again)"  # the task and operation that (re)start it
# pyinfra operations that run their command every time, so pyinfra counts them as changed even when
# nothing changed: `pip install -r` and migrate (the playbook asks pip's and migrate's output instead), the wait.
PYINFRA_ALWAYS_RUN = ("Requirements (pip)", "Database migrations", "Wait until it answers")
# The part of deploy-tui's venv step spent in its `pip install` command (`uv pip install` too; the rest stays "venv").
PIP_PART = "venv: pip install"


@dataclass(frozen=True)
class Phase:
    """A phase of the deployment, and what each tool calls it: its steps, tasks or operations."""

    name: str
    dtui: tuple[str, ...]
    ansible: tuple[str, ...]
    pyinfra: tuple[str, ...]

    def parts(self, tool: str) -> tuple[str, ...]:
        return self.ansible if tool == "ansible" else self.pyinfra if tool == "pyinfra" else self.dtui


# deploy-tui's steps that do work (dns and fts are skipped), and the playbook's tasks and pyinfra's
# operations that do the same; "start-up and the rest" is the wall time no step, task or operation
# accounts for (interpreter start-up, imports, connecting, and the run's own bookkeeping).
PHASES = (
    Phase("packages (apt)", ("provision",), ("Server packages (apt)",), ("Server packages (apt)",)),
    Phase("code (git)", ("source",), ("Code on the server (git)",), ("Code on the server (git)",)),
    Phase("virtualenv (python3 -m venv)", ("venv",), ("Virtualenv",), ("Virtualenv",)),
    Phase("requirements (pip / uv pip install)", (PIP_PART,), ("Requirements (pip)",), ("Requirements (pip)",)),
    Phase("migrations", ("migrate",), ("Database migrations",), ("Database migrations",)),
    Phase(
        "dev server (check, start, wait)",
        ("devserver",),
        (
            "What the dev server runs from (requirements)",
            "What the dev server runs from (stamp)",
            "Is the dev server running",
            START_TASK,
            "Wait until it answers",
        ),
        ("What the dev server runs from (stamp)", START_TASK, "Wait until it answers"),
    ),
    Phase("smoke (3 HTTP probes)", ("smoke",), (), ()),
)
REST = "start-up and the rest"
WORK_STEPS = tuple(step for phase in PHASES for step in phase.dtui)
CHANGING_STEPS = ("source", "venv", "migrate", "devserver")


class BenchmarkError(RuntimeError):
    """A run that failed or did not do what it should: the figures would mean nothing."""


# The deploy-tui child process: one run of the engine, its results as JSON.


def dtui_child(spec_path: Path) -> int:
    """Run deploy-tui's plan as the spec says; write status, step times and problems to spec["result"]."""
    from deploy_tui.core.config import make_site
    from deploy_tui.core.events import CommandFinished, CommandStarted, Diagnosis, Event, RunFinished, StepFinished
    from deploy_tui.core.resolvers import Resolver
    from deploy_tui.core.secrets import Secret
    from deploy_tui.runner import RunRequest, execute, read_checkout, settle_address
    from deploy_tui.steps import Options

    spec = json.loads(spec_path.read_text())
    site = make_site("bench", spec["site"], "benchmark site")
    resolvers = tuple(
        Resolver(f"sandbox {i}", address, port, "loopback") for i, (address, port) in enumerate(spec["resolvers"], 1)
    )
    password = Path(spec["password_file"]).read_text().strip()
    events: list[Event] = []
    # As `deploy-tui run` does it: the checkout read and the address settled when the run is assembled.
    request = RunRequest(
        site=site,
        address=settle_address(site),
        resolvers=resolvers,
        options=Options(checkout=CHECKOUT),
        sudo_password=Secret(password),
        skip=frozenset(SKIP),
        recording=Path(spec["recording"]),
        checkout=read_checkout(site, CHECKOUT),
    )
    outcome, _ = asyncio.run(execute(request, events.append))
    finished = [e for e in events if isinstance(e, StepFinished)]
    steps = {e.step: {"status": e.status, "seconds": e.duration} for e in finished}
    # Split the venv step: its pip install command apart from the rest (the check, python3 -m venv).
    pip_ids = {e.command_id for e in events if isinstance(e, CommandStarted) and "pip install" in e.argv_display}
    pip = sum(e.duration for e in events if isinstance(e, CommandFinished) and e.command_id in pip_ids)
    if "venv" in steps:
        steps["venv"]["seconds"] -= pip
        steps[PIP_PART] = {"status": steps["venv"]["status"], "seconds": pip}
    result = {
        "status": outcome.status,
        "steps": steps,
        "run_seconds": next((e.duration for e in events if isinstance(e, RunFinished)), None),
        "problems": [f"{e.step}: {e.status}: {e.summary}" for e in finished if e.status == "failed"]
        + [f"{e.code} {e.cause} -- {e.fix} {' | '.join(e.evidence[-5:])}" for e in events if isinstance(e, Diagnosis)],
    }
    Path(spec["result"]).write_text(json.dumps(result))
    return 0 if outcome.ok else 1


# Setting up: ansible-core and pyinfra, what deploy-tui accepts, ports, the site targets.


def ensure_tool(venv: Path, requirement: str, program: str) -> Path:
    """program from its own venv under benchmarks/, installed there from PyPI when missing."""
    path = venv / "bin" / program
    if not path.exists():
        print(f"installing {requirement} into {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, requirement], check=True, timeout=900)
    return path


def tool_version(program: Path) -> str:
    """The first line of `program --version`, as "name version" (ansible-core 2.19.14, pyinfra 3.10.0)."""
    out = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=120, check=True)
    first = (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else f"{program.name} (unknown)"
    # "ansible-playbook [core 2.19.14]" and "pyinfra: v3.10.0"
    return first.replace("ansible-playbook [core ", "ansible-core ").rstrip("]").replace(": v", " ")


def installers_refused(box: BoxInfo, work: Path) -> dict[str, str]:
    """The deploy-tui columns whose `installer` this build refuses, each with why (the ConfigError's words).

    A deploy.toml with the setting is loaded as `deploy-tui run` would: a build without it says
    "unknown key" naming it; any other refusal is a real problem with the benchmark's site.
    """
    from deploy_tui.core.config import ConfigError, load

    refused: dict[str, str] = {}
    for column, installer in INSTALLERS.items():
        path = work / f"{column}.deploy.toml"
        path.write_text(deploy_toml(box, DOMAIN, installer=installer))
        try:
            load(path)
        except ConfigError as error:
            if "installer" not in str(error):
                raise BenchmarkError(f"a deploy.toml with installer = {installer!r} is refused: {error}") from None
            # "<path>: sites.staging.installer: unknown key; the keys are ...": the key and what is wrong with it.
            refused[column] = str(error).split(": ", 1)[-1].split(";", 1)[0]
            print(f"{TOOL_LABELS[column]}: {UNAVAILABLE}: {error}", file=sys.stderr)
    return refused


def free_ports(host: str, count: int) -> list[int]:
    """count distinct TCP ports nothing listens on at host right now (the kernel picks them)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def load1() -> float:
    return os.getloadavg()[0]


def private_file(path: Path, data: object) -> Path:
    """data as JSON in a new mode-0600 file (it may hold a password or name the file that does)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
    return path


@dataclass(frozen=True)
class Target:
    """Where one tool deploys on the box: its site directory and dev-server port."""

    tool: str
    site_dir: str  # as the tool is told it
    directory: Path  # the same, on this machine (the box is this machine)
    app_port: int


@dataclass
class Sample:
    tool: str
    kind: str
    seconds: float  # wall time of the tool's whole process
    inner: float | None  # deploy-tui: the engine's own run time (RunFinished); Ansible and pyinfra: None
    parts: dict[str, float]  # step, task or operation -> seconds
    load: float  # 1-minute load average as the run started
    round: int = -1  # the measured round it belongs to (-1: warm-up)


@dataclass
class Results:
    tools: tuple[str, ...] = TOOLS  # the columns measured
    refused: dict[str, str] = field(default_factory=dict)  # deploy-tui columns this build cannot run, and why
    samples: list[Sample] = field(default_factory=list)
    rounds_asked: int = 0
    rounds: int = 0
    elapsed: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0

    def of(self, tool: str, kind: str) -> list[Sample]:
        return [s for s in self.samples if s.tool == tool and s.kind == kind]


class Bench:
    """Runs each tool against the box, checks what each run did, and cleans up after them."""

    def __init__(self, work: Path, box: BoxInfo, ansible_playbook: Path, pyinfra: Path) -> None:
        self.work = work
        self.box = box
        self.ansible_playbook = ansible_playbook
        self.pyinfra = pyinfra
        home = Path(pwd.getpwnam(box.user).pw_dir)
        ports = free_ports("0.0.0.0", len(TOOLS))  # noqa: S104 - the dev servers bind all interfaces
        self.targets: dict[str, Target] = {}
        for tool, port in zip(TOOLS, ports, strict=True):
            directory = home / "sites" / SITE_DIRS[tool]
            # deploy-tui is given the site directory as a deploy.toml says it; the others absolute.
            site_dir = f"~/sites/{SITE_DIRS[tool]}" if tool in COLUMNS else str(directory)
            self.targets[tool] = Target(tool, site_dir, directory, port)
        self.runs = 0
        self.cp_dir = work / "ansible-cp"
        self.cp_dir.mkdir(mode=0o700)
        self.extra_vars = private_file(work / "become.json", {"ansible_become_password": box.sudo_password()})
        self.inventory = work / "inventory.yml"
        ansible = self.targets["ansible"]
        self.inventory.write_text(
            string.Template(INVENTORY_TEMPLATE.read_text()).substitute(
                address=box.address,
                ssh_port=box.ssh_port,
                user=box.user,
                client_key=box.client_key,
                known_hosts=box.known_hosts,
                repo_url=box.repo_url,
                site_dir=ansible.site_dir,
                app_port=ansible.app_port,
                domain=DOMAIN,
            )
        )
        # What benchmarks/pyinfra/inventory.py reads: the box and the site; the sudo password stays in its file.
        target = self.targets["pyinfra"]
        self.pyinfra_box = private_file(
            work / "pyinfra-box.json",
            {
                "address": box.address,
                "ssh_port": box.ssh_port,
                "user": box.user,
                "client_key": str(box.client_key),
                "known_hosts": str(box.known_hosts),
                "sudo_password_file": str(box.sudo_password_file),
                "repo_url": box.repo_url,
                "branch": "main",
                "site_dir": target.site_dir,
                "app_port": target.app_port,
                "domain": DOMAIN,
            },
        )

    # -- one run -----------------------------------------------------------------------------

    def run(self, tool: str, kind: str) -> Sample:
        target = self.targets[tool]
        if kind == "first":
            self.reset(target)
        before = self.server_pid(target)
        load = load1()
        self.runs += 1
        runner = {"ansible": self._ansible, "pyinfra": self._pyinfra}.get(tool, self._dtui)
        sample = runner(target, kind, load)
        self.check_answers(target)
        after = self.server_pid(target)
        if after is None:
            raise BenchmarkError(f"{tool} {KIND_LABELS[kind]}: no live dev server in {target.directory / PID}")
        if kind == "redeploy" and after != before:
            raise BenchmarkError(f"{tool} no-change redeploy restarted the dev server (pid {before} -> {after})")
        return sample

    def _dtui(self, target: Target, kind: str, load: float) -> Sample:
        box = self.box
        n = self.runs
        result_path = self.work / f"dtui-{n}.json"
        installer = {"installer": INSTALLERS[target.tool]} if target.tool in INSTALLERS else {}
        spec = {
            "site": {
                **box_site_values(box, DOMAIN),
                "site_dir": target.site_dir,
                "app_port": target.app_port,
                **installer,
            },
            "resolvers": [[r.address, r.port] for r in box.resolvers],
            "password_file": str(box.sudo_password_file),
            "recording": str(self.work / f"dtui-{n}.jsonl"),
            "artifacts": str(self.work / "ft-artifacts"),
            "result": str(result_path),
        }
        spec_path = self.work / f"dtui-{n}.spec.json"
        spec_path.write_text(json.dumps(spec))
        argv = [sys.executable, str(Path(__file__).resolve()), "--dtui-child", str(spec_path)]
        started = time.perf_counter()
        process = subprocess.run(
            argv, capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=self.work, stdin=subprocess.DEVNULL
        )
        seconds = time.perf_counter() - started
        label = TOOL_LABELS[target.tool]
        if not result_path.exists():
            raise BenchmarkError(
                f"{label} run {n} wrote no result (exit {process.returncode}): {process.stderr[-2000:]}"
            )
        result = json.loads(result_path.read_text())
        if process.returncode or result["status"] != "passed":
            raise BenchmarkError(f"{label} run {n} {result['status']}: {'; '.join(result['problems'])[-2000:]}")
        statuses = {step: info["status"] for step, info in result["steps"].items()}
        wanted = "already-done" if kind == "redeploy" else "passed"
        wrong = {step: statuses.get(step) for step in CHANGING_STEPS if statuses.get(step) != wanted}
        if wrong:
            raise BenchmarkError(f"{label} {KIND_LABELS[kind]}: steps should be {wanted}, got {wrong}")
        parts = {step: info["seconds"] for step, info in result["steps"].items() if step in WORK_STEPS}
        return Sample(target.tool, kind, seconds, result["run_seconds"], parts, load)

    def _ansible(self, target: Target, kind: str, load: float) -> Sample:
        home = self.work / "ansible-home"
        env = {
            "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
            "ANSIBLE_HOME": str(home),
            "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.cp_dir),
            "ANSIBLE_NOCOLOR": "1",
        }
        argv = [str(self.ansible_playbook), "-i", str(self.inventory), "-e", f"@{self.extra_vars}", str(PLAYBOOK)]
        try:
            seconds, parts, statuses = self._peer("ansible", argv, env, self.work)
        finally:
            self.close_ssh_masters()
        if kind == "redeploy":
            changed = [task for task, status in statuses.items() if status == "changed"]
            if changed:
                raise BenchmarkError(f"Ansible no-change redeploy changed {changed}")
        elif statuses.get(START_TASK) != "changed":
            raise BenchmarkError(f"Ansible first deploy did not start the dev server: {statuses}")
        return Sample("ansible", kind, seconds, None, parts, load)

    def _pyinfra(self, target: Target, kind: str, load: float) -> Sample:
        # --yes: no confirmation, so no diff beforehand either; facts are read as each operation executes.
        argv = [str(self.pyinfra), "--yes", str(PYINFRA_INVENTORY), str(PYINFRA_DEPLOY)]
        env = {"DTUI_BENCH_PYINFRA_BOX": str(self.pyinfra_box)}
        # The deploy imports its own modules (devserver_ops, op_times) from the folder pyinfra runs in.
        seconds, parts, statuses = self._peer("pyinfra", argv, env, PYINFRA_DIR)
        unseen = [op for phase in PHASES for op in phase.pyinfra if op not in statuses]
        if unseen:
            raise BenchmarkError(f"pyinfra reported no time for {unseen} (benchmarks/pyinfra/op_times.py)")
        if kind == "redeploy":
            changed = [op for op, status in statuses.items() if status == "changed" and op not in PYINFRA_ALWAYS_RUN]
            if changed:
                raise BenchmarkError(f"pyinfra no-change redeploy changed {changed}")
        elif statuses.get(START_TASK) != "changed":
            raise BenchmarkError(f"pyinfra first deploy did not start the dev server: {statuses}")
        return Sample("pyinfra", kind, seconds, None, parts, load)

    def _peer(
        self, tool: str, argv: list[str], env: dict[str, str], cwd: Path
    ) -> tuple[float, dict[str, float], dict[str, str]]:
        """Run a peer's command, timed; its per-task (per-operation) seconds and statuses, from its JSON lines."""
        n = self.runs
        times = self.work / f"{tool}-{n}.times.jsonl"
        log = self.work / f"{tool}-{n}.log"
        # pyinfra puts an activated virtualenv's packages on its own sys.path: none is lent to it.
        environ = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
        with log.open("w") as out:
            started = time.perf_counter()
            process = subprocess.run(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=RUN_TIMEOUT,
                env={**environ, **env, "DTUI_BENCH_TASK_TIMES": str(times)},
                cwd=cwd,
                stdin=subprocess.DEVNULL,
            )
            seconds = time.perf_counter() - started
        if process.returncode:
            tail = "\n".join(log.read_text().splitlines()[-25:])
            raise BenchmarkError(f"{Path(argv[0]).name} run {n} exited {process.returncode}:\n{tail}")
        parts: dict[str, float] = {}
        statuses: dict[str, str] = {}
        for line in times.read_text().splitlines():
            record = json.loads(line)
            parts[record["task"]] = parts.get(record["task"], 0.0) + record["seconds"]
            statuses[record["task"]] = record["status"]
        return seconds, parts, statuses

    # -- checks and cleaning up ------------------------------------------------------------------

    def check_answers(self, target: Target) -> None:
        """The site answers 200 on the box address (loopback) with its domain as Host."""
        connection = http.client.HTTPConnection(self.box.address, target.app_port, timeout=10)
        try:
            connection.request("GET", "/", headers={"Host": f"{DOMAIN}:{target.app_port}"})
            status = connection.getresponse().status
        except OSError as error:
            raise BenchmarkError(f"{target.tool}'s site does not answer on port {target.app_port}: {error}") from None
        finally:
            connection.close()
        if status != 200:
            raise BenchmarkError(f"{target.tool}'s site answers HTTP {status} on port {target.app_port}")

    @staticmethod
    def server_pid(target: Target) -> int | None:
        """The pid in the site's pid file, if it names a live runserver."""
        pid_file = target.directory / PID
        try:
            text = pid_file.read_text().strip()
        except OSError:
            return None
        if not text.isdigit():
            return None
        pid = int(text)
        return pid if _is_runserver(pid) else None

    def stop_server(self, target: Target) -> bool:
        """Stop the site's dev server by its pid file (its own session: one signal to its group)."""
        pid = self.server_pid(target)
        if pid is None:
            return False
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _is_runserver(pid):
                time.sleep(0.05)
            if not _is_runserver(pid):
                return True
        raise BenchmarkError(f"the dev server {pid} of {target.tool} would not stop")

    def reset(self, target: Target) -> None:
        """Before a first deploy: no dev server and no site directory."""
        self.stop_server(target)
        if target.directory.exists():
            shutil.rmtree(target.directory)

    def close_ssh_masters(self) -> None:
        """Close Ansible's shared SSH connections (ControlPersist), so the next run logs in afresh."""
        for sock in list(self.cp_dir.iterdir()):
            subprocess.run(
                ["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "box"],
                capture_output=True,
                timeout=15,
                stdin=subprocess.DEVNULL,
            )

    def cleanup(self) -> None:
        for target in self.targets.values():
            with contextlib.suppress(BenchmarkError):
                if self.stop_server(target):
                    print(f"stopped {target.tool}'s dev server", file=sys.stderr)
        self.close_ssh_masters()


def _is_runserver(pid: int) -> bool:
    """A live (not zombie) process whose command line runs runserver."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return False
    return state != "Z" and b"runserver" in cmdline


# Measuring.


def measure(bench: Bench, tools: tuple[str, ...], rounds: int, budget: float) -> Results:
    results = Results(tools=tools, rounds_asked=rounds, load_before=load1())
    print("warm-up round (not counted): pip's and uv's caches, the page cache, Python's bytecode", file=sys.stderr)
    for tool in tools:
        for kind in KINDS:
            sample = bench.run(tool, kind)
            print(f"  warm-up {TOOL_LABELS[tool]} {KIND_LABELS[kind]}: {sample.seconds:.2f} s", file=sys.stderr)
    started = time.perf_counter()
    for index in range(rounds):
        if index and time.perf_counter() - started > budget:
            print(f"time budget of {budget:.0f} s spent after {index} of {rounds} rounds", file=sys.stderr)
            break
        shift = index % len(tools)
        order = tools[shift:] + tools[:shift]  # rotate which tool goes first
        for kind in KINDS:
            for tool in order:
                sample = bench.run(tool, kind)
                sample.round = index
                results.samples.append(sample)
                print(
                    f"  round {index + 1}/{rounds} {TOOL_LABELS[tool]} {KIND_LABELS[kind]}: {sample.seconds:.2f} s"
                    f" (load {sample.load:.2f})",
                    file=sys.stderr,
                )
        results.rounds = index + 1
    results.elapsed = time.perf_counter() - started
    results.load_after = load1()
    return results


@contextlib.contextmanager
def sandbox_box() -> Iterator[tuple[BoxInfo, Path]]:
    """This benchmark's own box, up; stopped and purged at the end, also on error. Yields (box, work dir)."""
    with contextlib.ExitStack() as cleanup:
        parent = Path(tempfile.mkdtemp(prefix="deploy-vs-ansible-"))
        parent.chmod(0o755)  # the box user must traverse it to read the box's bare repo
        cleanup.callback(shutil.rmtree, parent, ignore_errors=True)
        work = parent / "work"
        work.mkdir(mode=0o700)  # root only: the files with (or naming) the sudo password, logs
        config = SandboxConfig(
            state_dir=parent / "sandbox",
            user=USER,
            ssh_port=free_ports(BOX_ADDRESS, 1)[0],
            resolvers=RESOLVERS,
            authority=AUTHORITY,
        )
        sandbox = Sandbox(config, report=lambda line: print(f"  sandbox: {line}", file=sys.stderr))
        cleanup.callback(sandbox.down, purge=True)
        print(f"sandbox up: {USER}@{BOX_ADDRESS}:{config.ssh_port}, state in {config.state_dir}", file=sys.stderr)
        yield sandbox.up(), work


# The report.


def med(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def phase_medians(samples: list[Sample]) -> dict[str, float]:
    """Median seconds of each phase (and of the rest of the wall time) over samples of one tool and kind."""
    per_sample: list[dict[str, float]] = []
    for sample in samples:
        phases = {phase.name: sum(sample.parts.get(part, 0.0) for part in phase.parts(sample.tool)) for phase in PHASES}
        phases[REST] = sample.seconds - sum(sample.parts.values())
        per_sample.append(phases)
    return {name: med([phases[name] for phases in per_sample]) for name in [p.name for p in PHASES] + [REST]}


def round_ratios(results: Results, kind: str, column: str, peer: str) -> list[float]:
    """peer / column within each round: the tools ran back to back, so under much the same load."""
    ratios = []
    for index in range(results.rounds):
        times = {x.tool: x.seconds for x in results.samples if x.kind == kind and x.round == index}
        if column in times and peer in times:
            ratios.append(times[peer] / times[column])
    return ratios


def meets(ratio: float, target: float) -> bool:
    return ratio > target if target == AHEAD else ratio >= target


def target_text(target: float) -> str:
    return "ahead, > 1x" if target == AHEAD else f">= {target:g}x"


def machine() -> str:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 0
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = " ".join(line.split(":", 1)[1].split())
                break
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True, timeout=10).stderr.strip().split(",")[0]
    debian = ""
    with contextlib.suppress(OSError):
        debian = f"Debian {Path('/etc/debian_version').read_text().strip()}, "
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("deploy-tui", "asyncssh") if _has_dist(name)
    )
    cpu = f"nproc {cpus}{f' ({model})' if model else ''}"
    return (
        f"{cpu}, {debian}{platform.machine()}, Python {platform.python_version()}"
        f" (the box's /usr/bin/python3 {_box_python()}), {ssh}, {versions}"
    )


def _has_dist(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _box_python() -> str:
    out = subprocess.run(["/usr/bin/python3", "--version"], capture_output=True, text=True, timeout=10)
    return out.stdout.strip().removeprefix("Python ")


def s(seconds: float) -> str:
    return f"{seconds:.2f}"


def report(results: Results, peer_versions: str, machine_text: str) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    tools = results.tools
    loads = [sample.load for sample in results.samples]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    noisy = max(loads) >= 0.5 * cpus
    load_text = (
        f"1-minute load average {results.load_before:.2f} before, {min(loads):.2f}-{max(loads):.2f}"
        f" (median {med(loads):.2f}) as runs started, {results.load_after:.2f} after"
    )
    if noisy:
        load_text += (
            f": other work on the machine (other engineers' test suites and benchmarks) shared the {cpus} cores,"
            " so the absolute figures are noisy; the tools take turns, so all saw much the same load, and the"
            " medians and ratios are what to read (Ansible, with more processes per task, slows down more under load)"
        )
    refused = "".join(
        f' {TOOL_LABELS[column]}: {UNAVAILABLE} (a deploy.toml with `installer = "{INSTALLERS[column]}"` is'
        f" refused: {reason})."
        for column, reason in results.refused.items()
    )
    per = results.rounds
    lines = [
        "### deploy-tui vs Ansible and pyinfra (`benchmarks/deploy_vs_ansible.py`)",
        "",
        f"- Date: {now}",
        f"- Machine: {machine_text}; {peer_versions}",
        f"- Load: {load_text}.",
        "- Method: one sandbox box (a real sshd on 127.0.0.2, user `dtuibench`, key login, sudo with a password),"
        " every tool deploying superlists into it, each into its own site directory and dev-server port."
        " deploy-tui runs its plan with `dns` and `fts` skipped (so it still runs its smoke step, three HTTP probes"
        " the others do not make), once with its default installer (pip) and once with the site's"
        ' `installer = "uv"`. Ansible runs `benchmarks/ansible/deploy.yml` (apt, git, venv, pip, migrate, dev server'
        " with a pid file restarted when its stamp changed, wait for HTTP 200; SSH pipelining on, facts off, its"
        " shared connection closed after each run); pyinfra runs `benchmarks/pyinfra/deploy.py`, the same operations"
        " (its own `apt.packages`, `git.repo`, `pip.virtualenv`, `pip.packages`, `server.shell`, and two written for"
        " the dev server; paramiko SSH, `--yes`, so facts are read as each operation runs)."
        " Times are wall clock of each tool's whole process (interpreter start-up included). One warm-up round,"
        f" then {per} round{'s' if per != 1 else ''} (of {results.rounds_asked} asked), the tools in turn with"
        " the order rotating each round:"
        " a first deploy of each (site directory removed and its server stopped before, the caches warm so all"
        " install the same cached Django wheel), then a no-change redeploy of each. Every run was checked: success,"
        " HTTP 200 from the site, a new server on a first deploy, the same server (pid) and nothing changed on a"
        " redeploy (pyinfra counts an operation that ran a command as changed, so its `pip install -r`, migrate and"
        " wait, which always run as in the playbook, are let through)."
        f"{refused} The box is this machine, over loopback: no network latency.",
        "",
        "| measurement | tool | median s | min s | max s | runs |",
        "|---|---|---:|---:|---:|---:|",
    ]
    medians: dict[tuple[str, str], float] = {}
    for kind in KINDS:
        for tool in TOOLS:
            values = [sample.seconds for sample in results.of(tool, kind)]
            if tool not in tools:
                lines.append(f"| {KIND_LABELS[kind]} | {TOOL_LABELS[tool]} | {UNAVAILABLE} | | | 0 |")
                continue
            medians[tool, kind] = med(values)
            lines.append(
                f"| {KIND_LABELS[kind]} | {TOOL_LABELS[tool]} | {s(med(values))} | {s(min(values))}"
                f" | {s(max(values))} | {len(values)} |"
            )
    lines += [
        "",
        "| ratio (how many times faster deploy-tui is) | of the medians | per round: median (min-max) | target"
        " (of the medians) |",
        "|---|---:|---:|---|",
    ]
    met: dict[tuple[str, str, str], bool] = {}
    for kind in KINDS:
        for column in COLUMNS:
            for peer in PEERS:
                label = f"{KIND_LABELS[kind]}: {TOOL_LABELS[peer]} / {TOOL_LABELS[column]}"
                target = TARGETS.get((column, kind, peer))
                if column not in tools:
                    wanted = f"{target_text(target)}: {UNAVAILABLE}" if target else ""
                    lines.append(f"| {label} | {UNAVAILABLE} | | {wanted} |")
                    continue
                ratio = medians[peer, kind] / medians[column, kind]
                paired = round_ratios(results, kind, column, peer)
                verdict = "(no target)"
                if target is not None:
                    met[column, kind, peer] = meets(ratio, target)
                    verdict = f"{target_text(target)}: **{'met' if met[column, kind, peer] else 'NOT met'}**"
                lines.append(
                    f"| {label} | {ratio:.2f}x | {med(paired):.2f}x ({min(paired):.2f}-{max(paired):.2f}x)"
                    f" | {verdict} |"
                )
    measured_columns = [column for column in COLUMNS if column in tools]
    inner = {(c, kind): med([x.inner or 0.0 for x in results.of(c, kind)]) for c in measured_columns for kind in KINDS}
    engine = "; ".join(
        f"{TOOL_LABELS[c]} {s(inner[c, 'first'])} s on a first deploy and {s(inner[c, 'redeploy'])} s on a redeploy"
        for c in measured_columns
    )
    lines += [
        "",
        f"deploy-tui's engine itself (its RunFinished duration) took a median of: {engine}; the rest of its wall"
        " time is the child Python's start-up and imports.",
        "",
        "Where the time goes (median seconds per phase; deploy-tui's step durations, Ansible's task times,"
        " pyinfra's operation times, each with the facts it read; a column per tool and kind):",
        "",
        "| phase | " + " | ".join(f"{kind}: {TOOL_LABELS[tool]}" for kind in KINDS for tool in tools) + " |",
        "|---|" + "---:|" * (len(KINDS) * len(tools)),
    ]
    phases = {(tool, kind): phase_medians(results.of(tool, kind)) for tool in tools for kind in KINDS}
    for name in [phase.name for phase in PHASES] + [REST]:
        cells = " | ".join(s(phases[tool, kind][name]) for kind in KINDS for tool in tools)
        lines.append(f"| {name} | {cells} |")
    totals = " | ".join(f"**{s(medians[tool, kind])}**" for kind in KINDS for tool in tools)
    lines.append(f"| total (median wall time) | {totals} |")
    lines += ["", *analysis(medians, phases, met, results.refused), ""]
    lines += [
        "Rerun: `.venv/bin/python benchmarks/deploy_vs_ansible.py --write-readme` (as root; about 10 minutes"
        " with the default 5 rounds), or everything: `.venv/bin/python benchmarks/run_all.py`.",
        "",
    ]
    return "\n".join(lines)


def analysis(
    medians: dict[tuple[str, str], float],
    phases: dict[tuple[str, str], dict[str, float]],
    met: dict[tuple[str, str, str], bool],
    refused: dict[str, str],
) -> list[str]:
    """What the profile says, for each target: why it is met or where it is missed."""
    lines = []
    for (column, kind, peer), target in TARGETS.items():
        label = f"{KIND_LABELS[kind].capitalize()}, {TOOL_LABELS[column]} against {TOOL_LABELS[peer]}"
        if column in refused:
            lines.append(f"- {label} ({target_text(target)}): {UNAVAILABLE}, so not measured.")
            continue
        dtui, theirs_total = medians[column, kind], medians[peer, kind]
        mine, theirs = phases[column, kind], phases[peer, kind]
        ratio = theirs_total / dtui
        extra = sorted(((theirs[n] - mine[n], n) for n in mine), reverse=True)
        biggest = ", ".join(f"{name} (+{s(gap)} s)" for gap, name in extra[:3] if gap > 0) or "no one phase"
        if met[column, kind, peer]:
            lines.append(
                f"- {label}: target met ({ratio:.2f}x, {target_text(target)}). {TOOL_LABELS[peer]}'s extra time"
                f" is mostly in {biggest}."
            )
            continue
        needed = theirs_total / target
        text = (
            f"- {label}: target NOT met ({ratio:.2f}x, not {target_text(target)}): deploy-tui would have to"
            f" finish in {'under ' if target == AHEAD else ''}{s(needed)} s, and takes {s(dtui)} s."
        )
        behind = sorted(((mine[n] - theirs[n], n) for n in mine), reverse=True)
        losing = ", ".join(f"{name} (+{s(gap)} s)" for gap, name in behind[:3] if gap > 0)
        if losing:
            text += f" Where deploy-tui spends more than {TOOL_LABELS[peer]}: {losing}."
        shared = [phase.name for phase in PHASES if "venv" in phase.dtui or PIP_PART in phase.dtui]
        mine_shared = sum(mine[name] for name in shared)
        if kind == "first" and mine_shared > needed:
            text += (
                " The profile shows why it is out of reach: creating the virtualenv (which runs ensurepip) and"
                " installing the same cached Django wheel are the same work for every tool, and those two phases"
                f" alone take deploy-tui {s(mine_shared)} s ({' + '.join(s(mine[name]) for name in shared)};"
                f" {TOOL_LABELS[peer]} {' + '.join(s(theirs[name]) for name in shared)}), more than the {s(needed)} s"
                " the whole deploy would have to fit in: orchestration cannot win back time spent in the commands"
                f" themselves. Even with no time at all outside them, deploy-tui would be at most"
                f" {theirs_total / mine_shared:.2f}x faster."
            )
        else:
            slowest = max(((mine[n], n) for n in mine if n != REST), default=(0.0, ""))
            text += (
                f" deploy-tui's own largest phase is {slowest[1]} ({s(slowest[0])} s) and its start-up and the"
                f" rest take {s(mine[REST])} s."
            )
        lines.append(text)
    return lines


def write_readme(section: str) -> None:
    replace_section(START_MARKER, END_MARKER, section, "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="measured rounds: runs of each tool and kind (default 5)")
    parser.add_argument(
        "--budget", type=float, default=1500.0, help="start no new round after this many seconds (default 1500)"
    )
    parser.add_argument("--write-readme", action="store_true", help=f"replace the section in {README.name}")
    parser.add_argument("--dtui-child", metavar="SPEC_JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dtui_child:
        return dtui_child(Path(args.dtui_child))
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if os.geteuid() != 0:
        print("deploy_vs_ansible: needs root (the sandbox box starts sshd and creates a user)", file=sys.stderr)
        return 2
    # A TERM (a timeout, a Ctrl-C'd parent) unwinds like an error: servers stopped, the box purged.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        ansible_playbook = ensure_tool(ANSIBLE_VENV, ANSIBLE_CORE, "ansible-playbook")
        pyinfra = ensure_tool(PYINFRA_VENV, PYINFRA, "pyinfra")
        peer_versions = f"{tool_version(ansible_playbook)}, {tool_version(pyinfra)}"
        with sandbox_box() as (box, work):
            refused = installers_refused(box, work)
            tools = tuple(tool for tool in TOOLS if tool not in refused)
            bench = Bench(work, box, ansible_playbook, pyinfra)
            try:
                results = measure(bench, tools, args.runs, args.budget)
            finally:
                bench.cleanup()
            results.refused = refused
        machine_text = machine()
    except (BenchmarkError, SandboxError, subprocess.SubprocessError) as error:
        print(f"deploy_vs_ansible: FAILED: {error}", file=sys.stderr)
        return 1
    section = report(results, peer_versions, machine_text)
    print(section)
    if args.write_readme:
        write_readme(section)
        print(f"wrote {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
