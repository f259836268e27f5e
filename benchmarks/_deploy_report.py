"""deploy_vs_ansible.py's report: the README section, with medians, ratios, phases and what they say."""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import os
import platform
import statistics
import subprocess
from pathlib import Path

from _deploy_modes import (
    AHEAD,
    COLUMNS,
    INSTALLERS,
    KIND_LABELS,
    KINDS,
    PIP_PART,
    REST,
    TOOL_LABELS,
    UNAVAILABLE,
    Mode,
    Phase,
    Results,
    Sample,
)

from deploy_tui.sandbox.production import systemd_is_init


def med(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def phase_medians(samples: list[Sample], phases_of: tuple[Phase, ...]) -> dict[str, float]:
    """Median seconds of each phase (and of the rest of the wall time) over samples of one tool and kind."""
    per_sample: list[dict[str, float]] = []
    for sample in samples:
        phases = {
            phase.name: sum(sample.parts.get(part, 0.0) for part in phase.parts(sample.tool)) for phase in phases_of
        }
        phases[REST] = sample.seconds - sum(sample.parts.values())
        per_sample.append(phases)
    return {name: med([phases[name] for phases in per_sample]) for name in [p.name for p in phases_of] + [REST]}


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


def method_text(results: Results) -> str:
    """How the figures were made: the box, what each tool runs, the rounds and the checks."""
    per = results.rounds
    rounds = (
        " Times are wall clock of each tool's whole process (interpreter start-up and exit included; deploy-tui as"
        " an operator runs it, `deploy-tui run --headless` with its sudo password from a file, its step times read"
        " from the recording it writes, its modules compiled as an installed package has them). One warm-up round,"
        f" then {per} round{'s' if per != 1 else ''} (of {results.rounds_asked} asked), the tools in turn with"
        " the order rotating each round:"
    )
    if not results.mode.production:
        return (
            "one sandbox box (a real sshd on 127.0.0.2, user `dtuibench`, key login, sudo with a password),"
            " every tool deploying superlists into it, each into its own site directory and dev-server port."
            " deploy-tui runs its plan with `dns` and `fts` skipped (so it still runs its smoke step, three HTTP probes"
            " the others do not make, and collectstatic, since superlists sets STATIC_ROOT), once with its default"
            ' installer (pip) and once with the site\'s `installer = "uv"`. Ansible runs'
            " `benchmarks/ansible/deploy.yml` (apt, git, venv, pip, migrate, dev server with a pid file restarted when"
            " its stamp changed, wait for HTTP 200; SSH pipelining on, facts off, its shared connection closed after"
            " each run); pyinfra runs `benchmarks/pyinfra/deploy.py`, the same operations (its own `apt.packages`,"
            " `git.repo`, `pip.virtualenv`, `pip.packages`, `server.shell`, and two written for the dev server;"
            f" paramiko SSH, `--yes`, so facts are read as each operation runs).{rounds}"
            " a first deploy of each (site directory removed and its server stopped before, the caches warm so all"
            " install the same cached Django wheel), then a no-change redeploy of each. Every run was checked: success,"
            " HTTP 200 from the site, a new server on a first deploy, the same server (pid) and nothing changed on a"
            " redeploy (pyinfra counts an operation that ran a command as changed, so its `pip install -r`, migrate and"
            " wait, which always run as in the playbook, are let through)."
        )
    systemctl = (
        "systemd is PID 1 here: its own systemctl"
        if systemd_is_init()
        else "systemd is not PID 1 here (a container): `systemctl` for the box user's sudo is the sandbox's"
        " docker-systemctl-replacement, which both tools drive alike"
    )
    domains = ", ".join(f"`{results.mode.domains[tool]}`" for tool in results.tools)
    return (
        "one sandbox box brought up as a production server (`sandbox up --production`: a real sshd on 127.0.0.2,"
        " user `dtuibench`, key login, sudo with a password; Debian's nginx on port 80 with a 404 catch-all;"
        f" {systemctl}),"
        " every tool deploying superlists into it with DEBUG off, each into its own site directory with its own"
        f" domain ({domains}), so its own unit `gunicorn-<domain>` and nginx server block (nginx picks it by the"
        " Host header). deploy-tui runs its production plan (`production = true`) with `dns` and `fts` skipped, so it"
        " still runs its smoke step: five HTTP probes through nginx (the page from outside and from inside, the"
        " database, the stylesheet, a 404 that is not the debug page) where the playbook waits for one 200; once with"
        ' its default installer (pip) and once with the site\'s `installer = "uv"`. Ansible runs'
        " `benchmarks/ansible/production.yml`, the same deployment: apt (with nginx), git, o+x on the directories"
        " nginx traverses, venv, pip, the SECRET_KEY made once on the server and read back (`slurp`), the"
        " environment file (0600: DEBUG off, the key, ALLOWED_HOSTS, the database path), collectstatic and migrate"
        " (run every time, changed only when their output says so), the unit from a template (daemon-reload only"
        " when it changed; enabled, and restarted only when the code, the requirements, the environment or the unit"
        " changed, else just `started`), the server block from a template checked by `nginx -t` (`validate`, the"
        " block inside a minimal nginx.conf) and linked into sites-enabled, nginx reloaded by a handler (flushed"
        " before the wait), then wait until nginx answers 200 for the domain; `ansible.builtin.systemd_service`"
        " through the same systemctl, SSH pipelining on, facts off, its shared connection closed after each run."
        " pyinfra is left out of this part (its chapter-9 deploy has no production counterpart yet)."
        f"{rounds}"
        " a first deploy of each (its gunicorn stopped, then checked gone by pid; its unit, server block and site"
        " directory removed; the caches warm so all install the same cached wheels), then a no-change redeploy of"
        " each. Every run was checked: success; through nginx on 127.0.0.2:80 with the tool's domain as Host, the"
        " page (200, `Server: nginx`), its stylesheet (200, text/css) and a missing page (404, not Django's debug"
        " page); the unit's MainPID a live gunicorn of that site, a new one after a first deploy and the same pid"
        " after a redeploy, which also had to change nothing (deploy-tui's steps all already done, no Ansible task"
        " changed and so no handler run)."
    )


def report(results: Results, peer_versions: str, machine_text: str) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode, tools = results.mode, results.tools
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
    lines = [
        f"### {mode.heading} (`benchmarks/deploy_vs_ansible.py{' ' + mode.flag if mode.flag else ''}`)",
        "",
        f"- Date: {now}",
        f"- Machine: {machine_text}; {peer_versions}",
        f"- Load: {load_text}.",
        f"- Method: {method_text(results)}{refused} The box is this machine, over loopback: no network latency.",
        "",
        "| measurement | tool | median s | min s | max s | runs |",
        "|---|---|---:|---:|---:|---:|",
    ]
    medians: dict[tuple[str, str], float] = {}
    for kind in KINDS:
        for tool in mode.tools:
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
            for peer in mode.peers:
                label = f"{KIND_LABELS[kind]}: {TOOL_LABELS[peer]} / {TOOL_LABELS[column]}"
                target = mode.targets.get((column, kind, peer))
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
        " time is the command's start-up (Python, its imports, reading deploy.toml and the checkout) and its exit.",
        "",
        "Where the time goes (median seconds per phase; deploy-tui's step durations, Ansible's task times"
        + (", pyinfra's operation times" if "pyinfra" in tools else "")
        + ", each with the facts it read; a column per tool and kind). deploy-tui checks all its steps at once"
        " when the run starts, over its one connection, so a step already done shows only what is left of its"
        " check when its turn comes, often nothing: the checks overlap the preflight and one another. Where a"
        " step has work to do, migrations run beside static files (collectstatic), each timed from its own start,"
        " so on a first deploy the two overlap and the rest of deploy-tui's wall time can come out negative.",
        "",
        "| phase | " + " | ".join(f"{kind}: {TOOL_LABELS[tool]}" for kind in KINDS for tool in tools) + " |",
        "|---|" + "---:|" * (len(KINDS) * len(tools)),
    ]
    phases = {(tool, kind): phase_medians(results.of(tool, kind), mode.phases) for tool in tools for kind in KINDS}
    for name in [phase.name for phase in mode.phases] + [REST]:
        cells = " | ".join(s(phases[tool, kind][name]) for kind in KINDS for tool in tools)
        lines.append(f"| {name} | {cells} |")
    totals = " | ".join(f"**{s(medians[tool, kind])}**" for kind in KINDS for tool in tools)
    lines.append(f"| total (median wall time) | {totals} |")
    lines += ["", *slowest_parts(results), *analysis(mode, medians, phases, met, results.refused), ""]
    lines += [
        f"Rerun: `.venv/bin/python benchmarks/deploy_vs_ansible.py{' ' + mode.flag if mode.flag else ''}"
        " --write-readme` (as root; about 10 minutes with the default 5 rounds), or everything:"
        " `.venv/bin/python benchmarks/run_all.py`.",
        "",
    ]
    return "\n".join(lines)


def slowest_parts(results: Results) -> list[str]:
    """Each peer's slowest tasks (operations) on a no-change redeploy, with their first-deploy times."""
    lines = []
    for peer in results.mode.peers:
        if peer not in results.tools:
            continue
        per_kind = {}
        for kind in KINDS:
            samples = results.of(peer, kind)
            names = {name for sample in samples for name in sample.parts}
            per_kind[kind] = {name: med([sample.parts.get(name, 0.0) for sample in samples]) for name in names}
        slowest = sorted(per_kind["redeploy"].items(), key=lambda item: -item[1])[:6]
        parts = ", ".join(f"{name} {s(value)} ({s(per_kind['first'].get(name, 0.0))})" for name, value in slowest)
        what = "tasks" if peer == "ansible" else "operations"
        lines += [
            f"{TOOL_LABELS[peer]}'s slowest {what} on a no-change redeploy, median s (first deploy in brackets):"
            f" {parts}.",
            "",
        ]
    if results.systemctl_call is not None:
        lines += [
            f"One call of the box user's sudo `systemctl` (`is-active nginx`, as root, median of 5) took"
            f" {s(results.systemctl_call)} s: both tools pay that for each of theirs (Ansible's `systemd_service`"
            " makes two or three per task, `show` and `is-enabled` before any action; deploy-tui one `is-active` in"
            " each of its gunicorn and nginx checks, and its daemon-reload, enable, restart, reload and `show` when"
            " it applies them).",
            "",
        ]
    return lines


def analysis(
    mode: Mode,
    medians: dict[tuple[str, str], float],
    phases: dict[tuple[str, str], dict[str, float]],
    met: dict[tuple[str, str, str], bool],
    refused: dict[str, str],
) -> list[str]:
    """What the profile says, for each target: why it is met or where it is missed; with no targets
    (production), where each tool spends more than the other."""
    lines = []
    compared: dict[tuple[str, str, str], float | None] = {**mode.targets} or {
        (column, kind, peer): None for kind in KINDS for column in COLUMNS for peer in mode.peers
    }
    for (column, kind, peer), target in compared.items():
        label = f"{KIND_LABELS[kind].capitalize()}, {TOOL_LABELS[column]} against {TOOL_LABELS[peer]}"
        if column in refused:
            wanted = f" ({target_text(target)})" if target is not None else ""
            lines.append(f"- {label}{wanted}: {UNAVAILABLE}, so not measured.")
            continue
        dtui, theirs_total = medians[column, kind], medians[peer, kind]
        mine, theirs = phases[column, kind], phases[peer, kind]
        ratio = theirs_total / dtui
        extra = sorted(((theirs[n] - mine[n], n) for n in mine), reverse=True)
        biggest = ", ".join(f"{name} (+{s(gap)} s)" for gap, name in extra[:3] if gap > 0) or "no one phase"
        behind = sorted(((mine[n] - theirs[n], n) for n in mine), reverse=True)
        losing = ", ".join(f"{name} (+{s(gap)} s)" for gap, name in behind[:3] if gap > 0)
        if target is None:
            lines.append(
                f"- {label}: {ratio:.2f}x ({s(theirs_total)} s against {s(dtui)} s). {TOOL_LABELS[peer]}'s extra"
                f" time is mostly in {biggest}" + (f"; deploy-tui spends more in {losing}." if losing else ".")
            )
            continue
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
        if losing:
            text += f" Where deploy-tui spends more than {TOOL_LABELS[peer]}: {losing}."
        shared = [phase.name for phase in mode.phases if "venv" in phase.dtui or PIP_PART in phase.dtui]
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
