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
process to its end (`ansible-playbook`, `pyinfra`, or `deploy-tui run --headless`, with its
sudo password from a file, read back from the recording it writes), so every tool pays its
interpreter start-up and its exit, with Python's bytecode caches in place as an installed tool
has them (deploy-tui's own modules compiled first). Measured, the tools in turn
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
and benchmarks/.pyinfra-venv the first time.

With --production the same is measured for the next chapter's deployment, in its own README
section: the box comes up as a production server (`sandbox up --production`: nginx on port
80, and where systemd is not PID 1 the docker-systemctl-replacement as the box user's sudo
`systemctl`), deploy-tui deploys with `production = true` (gunicorn under systemd on a unix
socket, the 0600 environment file with DEBUG off, an nginx server block, nginx -t, reload)
and Ansible runs benchmarks/ansible/production.yml, the same deployment (templates in
benchmarks/ansible/templates/). Each tool has its own domain (bench-dtui.test, ...), since
nginx picks the server block by the Host header; the checks ask 127.0.0.2:80 with it: the
page through nginx, its stylesheet, a 404 without the debug page, and the unit's MainPID
the same gunicorn after a no-change redeploy (benchmarks/_servers.py). A separate mode, not
a part of every run: it needs the machine's port 80 and nginx, which the chapter-9 figures
(and their history) never did, and each mode stays a bounded ~10-minute run. pyinfra is
not in it. What each mode deploys and measures is in _deploy_modes.py, how a server is found,
checked and stopped in _servers.py, the report in _deploy_report.py. Needs root, as
`deploy-tui sandbox up` does:

    .venv/bin/python benchmarks/deploy_vs_ansible.py [--production] [--runs 5] [--budget 1500] [--write-readme]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# benchmarks/ is the script's own folder: its helper modules import as top-level ones.
from _deploy_modes import (
    ANSIBLE_DIR,
    COLUMNS,
    DEVSERVER,
    INSTALLERS,
    KIND_LABELS,
    KINDS,
    PIP_PART,
    PRODUCTION,
    TOOL_LABELS,
    UNAVAILABLE,
    Mode,
    Results,
    Sample,
)
from _deploy_report import machine, report
from _servers import BenchmarkError, DevServers, GunicornServers, Target
from readme_section import replace_section

from deploy_tui.sandbox.box import BoxInfo, Sandbox, SandboxConfig, SandboxError
from deploy_tui.sandbox.demo import deploy_toml
from deploy_tui.sandbox.production import Production

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
README = HERE / "README.md"
INVENTORY_TEMPLATE = ANSIBLE_DIR / "inventory.yml.template"
ANSIBLE_CFG = ANSIBLE_DIR / "ansible.cfg"
ANSIBLE_VENV = HERE / ".ansible-venv"
ANSIBLE_CORE = "ansible-core>=2.17"
PYINFRA_DIR = HERE / "pyinfra"
PYINFRA_DEPLOY = PYINFRA_DIR / "deploy.py"
PYINFRA_INVENTORY = PYINFRA_DIR / "inventory.py"
PYINFRA_VENV = HERE / ".pyinfra-venv"
PYINFRA = "pyinfra>=3.10"  # 3.10's git.repo leaves an up-to-date checkout alone (no pull, no change)

USER = "dtuibench"
BOX_ADDRESS = "127.0.0.2"
RESOLVERS = ("127.0.53.41", "127.0.53.42", "127.0.53.43")
AUTHORITY = "127.0.53.49"
SKIP = ("dns", "fts")
RUN_TIMEOUT = 600.0  # one deploy, any tool


# What deploy-tui's recording says of a run: status, step times (the venv step's pip part apart), problems.


def read_recording(path: Path) -> dict[str, Any]:
    """The run's result as the benchmark reads it, from the recording `deploy-tui run` wrote."""
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    finished = [e for e in events if e.get("kind") == "StepFinished"]
    steps: dict[str, dict[str, Any]] = {e["step"]: {"status": e["status"], "seconds": e["duration"]} for e in finished}
    # Split the venv step: its pip install command apart from the rest (the check, python3 -m venv).
    started = [e for e in events if e.get("kind") == "CommandStarted"]
    pip_ids = {e["command_id"] for e in started if "pip install" in e["argv_display"]}
    pip = sum(e["duration"] for e in events if e.get("kind") == "CommandFinished" and e["command_id"] in pip_ids)
    if "venv" in steps:
        steps["venv"]["seconds"] -= pip
        steps[PIP_PART] = {"status": steps["venv"]["status"], "seconds": pip}
    run = next((e for e in events if e.get("kind") == "RunFinished"), None)
    return {
        "status": run["status"] if run else "unfinished",
        "steps": steps,
        "run_seconds": run["duration"] if run else None,
        "problems": [f"{e['step']}: {e['status']}: {e.get('summary', '')}" for e in finished if e["status"] == "failed"]
        + [
            f"{e['code']} {e['cause']} -- {e['fix']} {' | '.join(e['evidence'][-5:])}"
            for e in events
            if e.get("kind") == "Diagnosis"
        ],
    }


def child_env() -> dict[str, str]:
    """Every tool's environment: this one, but free to use and write Python's bytecode caches, as an
    installed tool runs (pip compiles what it installs; a shell that says PYTHONDONTWRITEBYTECODE would
    make deploy-tui, installed editable here, compile its ~100 modules from source on every start)."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def compile_deploy_tui() -> None:
    """deploy-tui's own modules compiled once, as `pip install` leaves a non-editable install."""
    folders = [str(CHECKOUT / "deploy_tui"), str(CHECKOUT / "screens")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True, env=child_env(), timeout=300)


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


def installers_refused(box: BoxInfo, work: Path, mode: Mode) -> dict[str, str]:
    """The deploy-tui columns whose `installer` this build refuses, each with why (the ConfigError's words).

    A deploy.toml with the setting is loaded as `deploy-tui run` would: a build without it says
    "unknown key" naming it; any other refusal is a real problem with the benchmark's site.
    """
    from deploy_tui.core.config import ConfigError, load

    refused: dict[str, str] = {}
    for column, installer in INSTALLERS.items():
        path = work / f"{column}.deploy.toml"
        production = {"production": True} if mode.production else {}
        path.write_text(deploy_toml(box, mode.domains[column], installer=installer, **production))
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


class Bench:
    """Runs each tool against the box, checks what each run did, and cleans up after them."""

    def __init__(
        self, mode: Mode, work: Path, box: BoxInfo, ansible_playbook: Path, pyinfra: Path | None, systemctl: str
    ) -> None:
        self.mode = mode
        self.work = work
        self.box = box
        self.ansible_playbook = ansible_playbook
        self.pyinfra = pyinfra
        self.servers = GunicornServers(box.address, systemctl) if mode.production else DevServers(box.address)
        home = Path(pwd.getpwnam(box.user).pw_dir)
        ports = free_ports("0.0.0.0", len(mode.tools))  # noqa: S104 - the dev servers bind all interfaces
        self.targets: dict[str, Target] = {}
        for tool, port in zip(mode.tools, ports, strict=True):
            directory = home / "sites" / mode.site_dirs[tool]
            # deploy-tui is given the site directory as a deploy.toml says it; the others absolute.
            site_dir = f"~/sites/{mode.site_dirs[tool]}" if tool in COLUMNS else str(directory)
            self.targets[tool] = Target(tool, site_dir, directory, port, mode.domains[tool])
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
                domain=ansible.domain,
            )
        )
        if "pyinfra" not in self.targets:
            return
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
                "domain": target.domain,
            },
        )

    # -- one run -----------------------------------------------------------------------------

    def run(self, tool: str, kind: str) -> Sample:
        target = self.targets[tool]
        if kind == "first":
            self.servers.reset(target)
        before = self.servers.pid(target)
        load = load1()
        self.runs += 1
        runner = {"ansible": self._ansible, "pyinfra": self._pyinfra}.get(tool, self._dtui)
        sample = runner(target, kind, load)
        self.servers.check(target)
        after = self.servers.pid(target)
        what = self.servers.what
        if after is None:
            raise BenchmarkError(f"{tool} {KIND_LABELS[kind]}: no live {what} for {target.directory}")
        if kind == "redeploy" and after != before:
            raise BenchmarkError(f"{tool} no-change redeploy restarted the {what} (pid {before} -> {after})")
        sample.pids = (before, after)
        return sample

    def _dtui(self, target: Target, kind: str, load: float) -> Sample:
        """`deploy-tui run --headless` as an operator runs it, its results read from the recording it writes."""
        box = self.box
        n = self.runs
        installer = {"installer": INSTALLERS[target.tool]} if target.tool in INSTALLERS else {}
        production = {"production": True} if self.mode.production else {}
        config = self.work / f"dtui-{n}.deploy.toml"
        site = {"site_dir": target.site_dir, "app_port": target.app_port, **installer, **production}
        config.write_text(deploy_toml(box, target.domain, **site))
        recording = self.work / f"dtui-{n}.jsonl"
        argv = [
            str(Path(sys.executable).with_name("deploy-tui")),
            *("run", "--config", str(config), "--headless", "--checkout", str(CHECKOUT)),
            *("--sudo-password-file", str(box.sudo_password_file), "--recording", str(recording)),
            *(arg for step in SKIP for arg in ("--skip", step)),
        ]
        started = time.perf_counter()
        process = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            cwd=self.work,
            stdin=subprocess.DEVNULL,
            env=child_env(),
        )
        seconds = time.perf_counter() - started
        label = TOOL_LABELS[target.tool]
        if not recording.exists():
            raise BenchmarkError(
                f"{label} run {n} wrote no recording (exit {process.returncode}): {process.stderr[-2000:]}"
            )
        result = read_recording(recording)
        if process.returncode or result["status"] != "passed":
            raise BenchmarkError(f"{label} run {n} {result['status']}: {'; '.join(result['problems'])[-2000:]}")
        statuses = {step: info["status"] for step, info in result["steps"].items()}
        wanted = "already-done" if kind == "redeploy" else "passed"
        wrong = {step: statuses.get(step) for step in self.mode.changing_steps if statuses.get(step) != wanted}
        if wrong:
            raise BenchmarkError(f"{label} {KIND_LABELS[kind]}: steps should be {wanted}, got {wrong}")
        parts = {step: info["seconds"] for step, info in result["steps"].items() if step in self.mode.work_steps}
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
        argv = [
            str(self.ansible_playbook),
            "-i",
            str(self.inventory),
            "-e",
            f"@{self.extra_vars}",
            str(self.mode.playbook),
        ]
        try:
            seconds, parts, statuses = self._peer("ansible", argv, env, self.work)
        finally:
            self.close_ssh_masters()
        handlers = self.mode.handlers
        if kind == "redeploy":
            ran = [task for task, status in statuses.items() if status == "changed" or task in handlers]
            if ran:
                raise BenchmarkError(f"Ansible no-change redeploy changed (or ran the handlers) {ran}")
        elif statuses.get(self.mode.start_task) != "changed":
            raise BenchmarkError(f"Ansible first deploy did not start the {self.servers.what}: {statuses}")
        unseen = [t for phase in self.mode.phases for t in phase.ansible if t not in statuses and t not in handlers]
        if unseen:
            raise BenchmarkError(f"Ansible reported no time for {unseen} (benchmarks/ansible/callback_plugins)")
        return Sample("ansible", kind, seconds, None, parts, load)

    def _pyinfra(self, target: Target, kind: str, load: float) -> Sample:
        assert self.pyinfra is not None  # only the modes with pyinfra among their peers get here
        # --yes: no confirmation, so no diff beforehand either; facts are read as each operation executes.
        argv = [str(self.pyinfra), "--yes", str(PYINFRA_INVENTORY), str(PYINFRA_DEPLOY)]
        env = {"DTUI_BENCH_PYINFRA_BOX": str(self.pyinfra_box)}
        # The deploy imports its own modules (devserver_ops, op_times) from the folder pyinfra runs in.
        seconds, parts, statuses = self._peer("pyinfra", argv, env, PYINFRA_DIR)
        unseen = [op for phase in self.mode.phases for op in phase.pyinfra if op not in statuses]
        if unseen:
            raise BenchmarkError(f"pyinfra reported no time for {unseen} (benchmarks/pyinfra/op_times.py)")
        if kind == "redeploy":
            changed = [op for op, status in statuses.items() if status == "changed" and op not in self.mode.always_run]
            if changed:
                raise BenchmarkError(f"pyinfra no-change redeploy changed {changed}")
        elif statuses.get(self.mode.start_task) != "changed":
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
        environ = {key: value for key, value in child_env().items() if key != "VIRTUAL_ENV"}
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
                if self.servers.stop(target):
                    print(f"stopped {target.tool}'s {self.servers.what}", file=sys.stderr)
        self.close_ssh_masters()


# Measuring.


def measure(bench: Bench, tools: tuple[str, ...], rounds: int, budget: float) -> Results:
    results = Results(mode=bench.mode, tools=tools, rounds_asked=rounds, load_before=load1())
    print("warm-up round (not counted): pip's and uv's caches, the page cache, Python's bytecode", file=sys.stderr)
    for tool in tools:
        for kind in KINDS:
            sample = bench.run(tool, kind)
            print(
                f"  warm-up {TOOL_LABELS[tool]} {KIND_LABELS[kind]}: {sample.seconds:.2f} s{pids(bench, sample)}",
                file=sys.stderr,
            )
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
                    f" (load {sample.load:.2f}){pids(bench, sample)}",
                    file=sys.stderr,
                )
        results.rounds = index + 1
    results.elapsed = time.perf_counter() - started
    results.load_after = load1()
    if isinstance(bench.servers, GunicornServers):
        results.systemctl_call = bench.servers.call_seconds()
    return results


def pids(bench: Bench, sample: Sample) -> str:
    before, after = sample.pids
    return f"; {bench.servers.what} pid {before or '-'} -> {after}"


@contextlib.contextmanager
def sandbox_box(production: bool) -> Iterator[tuple[BoxInfo, Path, str]]:
    """This benchmark's own box, up (as a production server with production); stopped and purged at the
    end, also on error. Yields (box, work dir, the systemctl the box user's sudo runs)."""
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
            checkout=CHECKOUT,  # superlists as this checkout's HEAD, whichever deploy_tui is imported
            production=production,
        )
        report = lambda line: print(f"  sandbox: {line}", file=sys.stderr)  # noqa: E731
        sandbox = Sandbox(config, report=report)
        cleanup.callback(sandbox.down, purge=True)
        print(f"sandbox up: {USER}@{BOX_ADDRESS}:{config.ssh_port}, state in {config.state_dir}", file=sys.stderr)
        box = sandbox.up()
        yield box, work, Production(config.state_dir, box.user, box.address, report).systemctl


def write_readme(mode: Mode, section: str) -> None:
    replace_section(*mode.markers, section, "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="measured rounds: runs of each tool and kind (default 5)")
    parser.add_argument(
        "--budget", type=float, default=1500.0, help="start no new round after this many seconds (default 1500)"
    )
    parser.add_argument(
        "--production",
        action="store_true",
        help="production instead of chapter 9's dev server: the box as a production server, gunicorn and nginx"
        " (deploy-tui and Ansible; its own README section)",
    )
    parser.add_argument("--write-readme", action="store_true", help=f"replace the section in {README.name}")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if os.geteuid() != 0:
        print("deploy_vs_ansible: needs root (the sandbox box starts sshd and creates a user)", file=sys.stderr)
        return 2
    # A TERM (a timeout, a Ctrl-C'd parent) unwinds like an error: servers stopped, the box purged.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    mode = PRODUCTION if args.production else DEVSERVER
    try:
        ansible_playbook = ensure_tool(ANSIBLE_VENV, ANSIBLE_CORE, "ansible-playbook")
        pyinfra = ensure_tool(PYINFRA_VENV, PYINFRA, "pyinfra") if "pyinfra" in mode.peers else None
        peer_versions = ", ".join(tool_version(program) for program in (ansible_playbook, pyinfra) if program)
        compile_deploy_tui()
        with sandbox_box(mode.production) as (box, work, systemctl):
            refused = installers_refused(box, work, mode)
            tools = tuple(tool for tool in mode.tools if tool not in refused)
            bench = Bench(mode, work, box, ansible_playbook, pyinfra, systemctl)
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
        write_readme(mode, section)
        print(f"wrote {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
