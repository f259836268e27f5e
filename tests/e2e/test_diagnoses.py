"""Each diagnosis proven on the sandbox box: the situation made real, the step run, the right D-code named.

The scenarios share the session's deployment and put back what they break (the dev server, a resolver,
a firewall rule, a held lock) before they end, also when they fail. Processes they start are stopped
by pid. D10 (no python3-venv) is only in tests/test_diagnose_rules.py: making it real would mean
removing a system package from the machine the tests run on.
"""

from __future__ import annotations

import dataclasses
import pwd
import select
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from deploy_tui.core.engine import RunOutcome
from deploy_tui.core.events import Diagnosis, Event, Notice, StepFinished
from deploy_tui.steps import Options
from tests.conftest import CHECKOUT
from tests.e2e.conftest import DOMAIN, Deployment, make_deployment
from tests.procs import stop, wait_until_serving

pytestmark = pytest.mark.e2e

# D9's squatter listens everywhere, as an old hand-started server would.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104


def statuses(events: list[Event]) -> dict[str, str]:
    return {e.step: e.status for e in events if isinstance(e, StepFinished)}


def the_diagnosis(outcome: RunOutcome, events: list[Event], step: str, code: str) -> Diagnosis:
    """The run failed at step with exactly one diagnosis, code, with a cause, a fix and evidence."""
    found = [e for e in events if isinstance(e, Diagnosis)]
    assert outcome.status == "failed", statuses(events)
    assert statuses(events)[step] == "failed", statuses(events)
    assert len(found) == 1, [e for e in events if isinstance(e, Diagnosis | StepFinished | Notice)]
    (diagnosis,) = found
    assert outcome.diagnoses == [diagnosis]
    assert (diagnosis.step, diagnosis.code) == (step, code), diagnosis
    assert diagnosis.cause.strip()
    assert diagnosis.fix.strip()
    assert diagnosis.evidence
    assert all(line.strip() for line in diagnosis.evidence[:1])
    return diagnosis


def serve_again(deployment: Deployment, tmp_path: Path) -> None:
    """The shared deployment's dev server back up, as the devserver step starts it."""
    outcome, events = deployment.run(tmp_path, only={"devserver"})
    assert outcome.ok, [e for e in events if isinstance(e, Diagnosis | StepFinished | Notice)]
    assert statuses(events)["devserver"] == "passed"


@contextmanager
def server_stopped(deployment: Deployment, tmp_path: Path) -> Iterator[None]:
    """The managed dev server stopped for the block, and started again after it (also on failure)."""
    deployment.stop_server()
    try:
        yield
    finally:
        serve_again(deployment, tmp_path)


def as_box_user(deployment: Deployment) -> dict[str, Any]:
    """Popen keywords that run a command as the box user, in the site directory, with a plain environment."""
    account = pwd.getpwnam(deployment.box.user)
    return {
        "user": account.pw_uid,
        "group": account.pw_gid,
        "extra_groups": [],
        "cwd": deployment.directory,
        "env": {
            "HOME": account.pw_dir,
            "USER": account.pw_name,
            "LOGNAME": account.pw_name,
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        },
    }


def start(argv: list[str], **popen: Any) -> subprocess.Popen[bytes]:
    """A process in a session of its own (tests.procs.stop ends it and its children by pid)."""
    return subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen
    )


# D1: DNS not propagated everywhere.


def test_d1_a_stale_resolver_stops_the_dns_step_unless_told_to_go_on(sandbox_box, deployed, tmp_path) -> None:
    sandbox, box = sandbox_box
    stale = box.resolvers[1].address
    sandbox.set_resolver_mode(stale, "stale")
    try:
        outcome, events = deployed.run(tmp_path, only={"dns"})
        d = the_diagnosis(outcome, events, "dns", "D1")
        assert DOMAIN in d.cause
        assert "127.0.0.2" in d.cause
        assert "expire within" in d.cause  # the stale answer's TTL
        assert f"{DOMAIN} -> 127.0.0.2" in d.fix
        assert "--allow-unpropagated" in d.fix
        assert any(stale in line for line in d.evidence)

        options = Options(allow_unpropagated=True, checkout=CHECKOUT)
        outcome, events = deployed.run(tmp_path, only={"dns"}, options=options)
        assert outcome.ok
        assert statuses(events) == {"dns": "passed"}
        assert not [e for e in events if isinstance(e, Diagnosis)]
        warnings = [e for e in events if isinstance(e, Notice) and e.level == "warning"]
        assert len(warnings) == 1
        assert "going on anyway" in warnings[0].text
        assert "2 of 3 resolvers" in warnings[0].text
    finally:
        sandbox.set_resolver_mode(stale, "current")


# D2, D3, D4: what outside and inside see of the dev server.


def test_d2_no_server_is_refused_outside_and_inside(deployed, tmp_path) -> None:
    with server_stopped(deployed, tmp_path):
        outcome, events = deployed.run(tmp_path, only={"smoke"})
        d = the_diagnosis(outcome, events, "smoke", "D2")
        assert str(deployed.site.app_port) in d.cause
        assert "not running" in d.cause
        assert "devserver" in d.fix
        assert "runserver.log" in d.fix
        assert any(line.startswith("outside:") and line.endswith("refused") for line in d.evidence)
        assert any(line.startswith("inside:") and line.endswith("refused") for line in d.evidence)


def test_d3_a_closed_firewall_times_out_outside_while_inside_answers(sandbox_box, deployed, tmp_path) -> None:
    sandbox, _ = sandbox_box
    port = deployed.site.app_port
    sandbox.close_port(port)
    try:
        outcome, events = deployed.run(tmp_path, only={"smoke"})
        d = the_diagnosis(outcome, events, "smoke", "D3")
        assert "firewall" in d.cause
        assert "the server itself answers" in d.cause
        assert f"ufw allow {port}/tcp" in d.fix
        assert any(line.startswith("outside:") and line.endswith("timeout") for line in d.evidence)
        assert any(line.startswith("inside:") and line.endswith("200") for line in d.evidence)
    finally:
        sandbox.open_port(port)


def test_d4_a_server_on_127_0_0_1_answers_only_inside(deployed, tmp_path) -> None:
    port = deployed.site.app_port
    with server_stopped(deployed, tmp_path):
        env = as_box_user(deployed)
        env["env"]["DJANGO_ALLOWED_HOSTS"] = DOMAIN
        server = start(
            [".venv/bin/python", "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            start_new_session=True,
            **env,
        )
        try:
            wait_until_serving(f"http://127.0.0.1:{port}/", server, host=f"{DOMAIN}:{port}")
            outcome, events = deployed.run(tmp_path, only={"smoke"})
            d = the_diagnosis(outcome, events, "smoke", "D4")
            assert "127.0.0.1" in d.cause
            assert "refuses" in d.cause
            assert f"runserver 0.0.0.0:{port}" in d.fix
            assert any(line.startswith("outside:") and line.endswith("refused") for line in d.evidence)
            assert any(line.startswith("inside:") and line.endswith("200") for line in d.evidence)
        finally:
            stop(server)


# D5: the domain is not in ALLOWED_HOSTS.


def test_d5_a_server_that_does_not_allow_the_domain(deployed, tmp_path) -> None:
    elsewhere = dataclasses.replace(deployed.site, allowed_hosts=("other.test",))
    try:
        outcome, events = deployed.run(tmp_path, only={"devserver", "smoke"}, site=elsewhere)
        assert statuses(events)["devserver"] == "passed"  # restarted: its settings changed
        d = the_diagnosis(outcome, events, "smoke", "D5")
        assert DOMAIN in d.cause
        assert "ALLOWED_HOSTS" in d.cause
        assert "DJANGO_ALLOWED_HOSTS" in d.fix
        assert "restart" in d.fix
        assert any("Invalid HTTP_HOST" in line for line in d.evidence)
    finally:
        serve_again(deployed, tmp_path)  # the stamp differs again, so it restarts with the domain allowed


# D6, D7: fresh deployments of their own, half done on purpose.


@pytest.fixture
def fresh(sandbox_box, box_resolvers) -> Iterator[Deployment]:
    """A deployment in its own directory; its server stopped and its directory removed at the end."""
    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, f"diagnose-{uuid.uuid4().hex[:6]}")
    assert not deployment.directory.exists()
    try:
        yield deployment
    finally:
        deployment.stop_server()
        shutil.rmtree(deployment.directory, ignore_errors=True)


def test_d6_a_venv_without_django_cannot_run_manage_py(fresh, tmp_path) -> None:
    outcome, events = fresh.run(tmp_path, only={"source"})
    assert outcome.ok, statuses(events)
    # A virtualenv, but nothing installed in it (not even pip): requirements never went in.
    made = subprocess.run(
        ["python3", "-m", "venv", "--without-pip", ".venv"], capture_output=True, timeout=60, **as_box_user(fresh)
    )
    assert made.returncode == 0, made.stderr
    outcome, events = fresh.run(tmp_path, only={"migrate"})
    d = the_diagnosis(outcome, events, "migrate", "D6")
    assert "Django is not installed" in d.cause
    assert "pip install -r requirements.txt" in d.fix
    assert any("No module named 'django'" in line for line in d.evidence)


def test_a_half_made_venv_is_made_again_after_d6(fresh, tmp_path) -> None:
    # What a venv made before python3-venv was installed looks like: a python, and no pip.
    outcome, events = fresh.run(tmp_path, only={"source"})
    assert outcome.ok, statuses(events)
    made = subprocess.run(
        ["python3", "-m", "venv", "--without-pip", ".venv"], capture_output=True, timeout=60, **as_box_user(fresh)
    )
    assert made.returncode == 0, made.stderr
    outcome, events = fresh.run(tmp_path, only={"venv"})
    assert outcome.ok, [e for e in events if isinstance(e, Diagnosis | StepFinished | Notice)]
    assert (fresh.directory / ".venv" / "bin" / "pip").exists()


def test_d7_an_unmigrated_database_fails_the_smoke_test(fresh, tmp_path) -> None:
    outcome, events = fresh.run(tmp_path, only={"source", "venv", "devserver", "smoke"})
    assert {s: statuses(events)[s] for s in ("source", "venv", "devserver")} == dict.fromkeys(
        ("source", "venv", "devserver"), "passed"
    )
    d = the_diagnosis(outcome, events, "smoke", "D7")
    assert "lists_list" in d.cause
    assert "migrations" in d.cause
    assert "manage.py migrate" in d.fix


# D8: another apt holds the lock.


@contextmanager
def lock_held(path: str) -> Iterator[subprocess.Popen[str]]:
    """path locked the way apt and dpkg lock (fcntl, not flock) by a process of ours, until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o640)\n"
            "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n",
            path,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None
        ready, _, _ = select.select([holder.stdout], [], [], 30)
        assert ready, f"{path} stayed locked by someone else for 30 s"
        assert holder.stdout.readline().strip() == "locked", f"could not lock {path}"
        yield holder
    finally:
        stop(holder)  # type: ignore[arg-type]
        holder.stdout.close()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "lock",
    [
        "/var/lib/dpkg/lock-frontend",  # what an upgrade holds: apt-get update passes, install waits, then fails
        "/var/lib/apt/lists/lock",  # what a package-list refresh holds: apt-get update fails at once
    ],
)
def test_d8_apt_waits_for_a_held_lock_then_gives_up(deployed, tmp_path, lock: str) -> None:
    options = Options(apt_lock_timeout=2, checkout=CHECKOUT)
    with lock_held(lock) as holder:
        name = Path(f"/proc/{holder.pid}/comm").read_text().strip()  # as apt names it: "python" or "python3"
        outcome, events = deployed.run(tmp_path, only={"provision"}, force={"provision"}, options=options)
    d = the_diagnosis(outcome, events, "provision", "D8")
    assert "never delete the lock files" in d.fix
    assert any(lock in line for line in d.evidence)
    # apt names the holder ("Could not get lock ... It is held by process N (name)") only sometimes: seen in
    # CI printing just "Unable to acquire the dpkg frontend lock (...)". When it does, the cause passes it on.
    if any("held by process" in line for line in d.evidence):
        assert f"(process {holder.pid}, {name})" in d.cause


# D9: the port is taken.


def test_d9_another_listener_on_the_port_stops_the_dev_server(deployed, tmp_path) -> None:
    port = deployed.site.app_port
    with server_stopped(deployed, tmp_path):
        squatter = start(
            [sys.executable, "-m", "http.server", str(port), "--bind", ALL_INTERFACES],
            cwd=tmp_path,
            start_new_session=True,
        )
        try:
            wait_until_serving(f"http://127.0.0.1:{port}/", squatter, host="localhost")
            outcome, events = deployed.run(tmp_path, only={"devserver"}, force={"devserver"})
            d = the_diagnosis(outcome, events, "devserver", "D9")
            assert f"port {port}" in d.cause
            assert f"sport = :{port}" in d.fix
            assert any("Address already in use" in line for line in d.evidence)
        finally:
            stop(squatter)


def test_the_shared_deployment_is_serving_after_the_scenarios(deployed, tmp_path) -> None:
    outcome, events = deployed.run(tmp_path, only={"devserver", "smoke"})
    assert outcome.ok, [e for e in events if isinstance(e, Diagnosis | StepFinished)]
    assert statuses(events) == {"devserver": "already-done", "smoke": "passed"}
