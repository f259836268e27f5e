"""F1-F4 made real: a real sshd refusing a key, sudo refusing a password, a user sudo does not know, requiretty.

The session box's sshd lets only the box user in (AllowUsers) and never root, so the scenarios that need
another user, or root, log in through an sshd of this file's own on 127.0.0.2: a throwaway user (created
with useradd, removed with userdel -r) and a root key file under a temporary directory, never this
machine's /root/.ssh. Everything is put back in a finally, also when a test fails: the user, the sudoers
drop-in, root's key file; the sshd is stopped by pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import pwd
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy_tui.cli.main import main
from deploy_tui.core.config import ConfigError, Site, make_site
from deploy_tui.core.engine import Engine, RunOutcome
from deploy_tui.core.events import Diagnosis, Event, Notice, StepFinished
from deploy_tui.core.secrets import Secret
from deploy_tui.remote.ssh import SshError, SshSession
from deploy_tui.runner import RunRequest, execute, target_for
from deploy_tui.sandbox import host
from deploy_tui.sandbox import system as osx
from deploy_tui.sandbox.box import BoxInfo
from deploy_tui.sandbox.demo import box_site_values, deploy_toml
from tests.conftest import free_port
from tests.e2e.conftest import SESSION_USER, Deployment, _state_parent, make_deployment

pytestmark = pytest.mark.e2e

ADDRESS = "127.0.0.2"
THROWAWAY = f"{SESSION_USER}acc"  # per slot, like the session user, so parallel runs never share it
SITE_DIR = "~/sites/e2e-access"


# What every scenario reads.


def the_diagnosis(outcome: RunOutcome, events: list[Event], code: str, step: str = "provision") -> Diagnosis:
    """The run failed at step with exactly one diagnosis, code, complete."""
    found = [e for e in events if isinstance(e, Diagnosis)]
    finished = {e.step: e.status for e in events if isinstance(e, StepFinished)}
    assert outcome.status == "failed", finished
    assert finished.get(step) == "failed", finished
    assert len(found) == 1, [e for e in events if isinstance(e, Diagnosis | StepFinished | Notice)]
    (diagnosis,) = found
    assert outcome.diagnoses == [diagnosis]
    assert (diagnosis.step, diagnosis.code) == (step, code), diagnosis
    assert diagnosis.cause.strip()
    assert diagnosis.fix.strip()
    assert diagnosis.evidence
    return diagnosis


def site_on(box: BoxInfo, **values: Any) -> Site:
    """The box's site values with some replaced (another port, user, key; None: left out), checked as
    deploy.toml would be."""
    merged = {**box_site_values(box), "site_dir": SITE_DIR, **values}
    return make_site("staging", {k: v for k, v in merged.items() if v is not None}, "test")


def run_unlocked(request: RunRequest) -> tuple[RunOutcome, list[Event]]:
    """The request's steps as `execute` runs them, but without the deploy lock.

    execute takes the lock before the first step, so a login refused there is diagnosed on the first step
    without the step starting; these scenarios look at the step that met the refusal.
    """
    events: list[Event] = []

    async def go() -> RunOutcome:
        session = SshSession(target_for(request.site), emit=events.append, sudo_password=request.sudo_password)
        try:
            return await Engine(request.steps, request.context(events.append, session=session)).run(
                only=request.only, force=request.force
            )
        finally:
            await session.close()

    return asyncio.run(go()), events


def deployment_run(request: RunRequest) -> tuple[RunOutcome, list[Event]]:
    """A whole run as the command line makes it (deploy lock and all), with every event kept."""
    events: list[Event] = []
    outcome, _ = asyncio.run(execute(request, events.append))
    return outcome, events


def new_key(directory: Path, name: str) -> Path:
    key = directory / name
    osx.new_key(key, f"deploy-tui-e2e-{name}")
    return key


def fingerprint_of(key: Path) -> str:
    """OpenSSH's own word on the key's fingerprint, to check ours against."""
    listed = subprocess.run(["ssh-keygen", "-lf", f"{key}.pub"], capture_output=True, text=True, check=True)
    return listed.stdout.split()[1]


def pub(key: Path) -> str:
    return Path(f"{key}.pub").read_text()


# An sshd that lets the throwaway user and root in, each by a key file of its own here.


@dataclasses.dataclass
class Doorway:
    """This file's sshd: its port, its known_hosts, and where each user's authorized keys go."""

    port: int
    known_hosts: Path
    keys_dir: Path

    def authorize(self, user: str, public_key: str) -> Path:
        """user's authorized_keys, readable by sshd as the user (it reads them with the user's rights)."""
        path = self.keys_dir / user
        osx.write_file(path, public_key, 0o644)
        return path


@pytest.fixture(scope="module")
def doorway(sandbox_box) -> Iterator[Doorway]:
    """Up once the box is (it checks for root and installs openssh-server); stopped by pid at the end."""
    parent = _state_parent()  # world-searchable: sshd reads a user's keys as that user
    try:
        keys_dir = parent / "authorized_keys"
        keys_dir.mkdir(mode=0o755)
        host_key = new_key(parent, "host_key")
        port = free_port(ADDRESS)
        config = parent / "sshd_config"
        # UsePAM yes: this machine's root account is locked ("passwd -S root": L), and without PAM sshd
        # refuses every login to a locked account, key or not; with PAM the key decides, as on a server.
        config.write_text(
            f"ListenAddress {ADDRESS}\nPort {port}\nHostKey {host_key}\nPidFile none\n"
            f"AuthorizedKeysFile {keys_dir}/%u\nPubkeyAuthentication yes\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
            f"AllowUsers {THROWAWAY} root\nUsePAM yes\nStrictModes no\nPrintMotd no\n"
        )
        known_hosts = parent / "known_hosts"
        known_hosts.write_text(f"[{ADDRESS}]:{port} {' '.join(pub(host_key).split()[:2])}\n")
        log = parent / "sshd.log"
        sshd = osx.start_daemon(["/usr/sbin/sshd", "-D", "-f", str(config), "-E", str(log)], log)
        try:
            osx.wait_listening(sshd, ADDRESS, port, log, "the test's sshd")
            yield Doorway(port, known_hosts, keys_dir)
        finally:
            osx.kill_and_wait(sshd.pid)
            sshd.wait(timeout=10)
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@dataclasses.dataclass
class Throwaway:
    name: str
    password: str
    home: Path


@pytest.fixture
def throwaway(sandbox_box, doorway: Doorway) -> Iterator[Throwaway]:
    """A user of this test only, with a password and the box's client key; removed with its home after."""
    _, box = sandbox_box
    if host.user_exists(THROWAWAY):
        pytest.fail(f"user {THROWAWAY} already exists: not ours to reuse; remove it (userdel -r) if a run left it")
    password = secrets.token_urlsafe(18)
    try:
        host.create_user(THROWAWAY)
        host.set_password(THROWAWAY, password)
        doorway.authorize(THROWAWAY, pub(box.client_key))
        yield Throwaway(THROWAWAY, password, Path(pwd.getpwnam(THROWAWAY).pw_dir))
    finally:
        (doorway.keys_dir / THROWAWAY).unlink(missing_ok=True)
        host.remove_user(THROWAWAY)  # its processes by pid, then userdel --remove (it leaves every group too)
    assert not host.user_exists(THROWAWAY)


def throwaway_deployment(box: BoxInfo, resolvers: Any, doorway: Doorway, user: Throwaway, **values: Any) -> Deployment:
    site = site_on(box, port=doorway.port, user=user.name, known_hosts=str(doorway.known_hosts), **values)
    return Deployment(site, resolvers, box, user.home)


@contextlib.contextmanager
def sudoers_drop_in(name: str, text: str) -> Iterator[None]:
    """A file in /etc/sudoers.d for the block: checked with visudo before it goes in, removed after."""
    staged = Path(f"/etc/sudoers.d/.{name}.staged")  # a dot: sudo skips it until it is renamed
    final = Path(f"/etc/sudoers.d/{name}")
    assert not final.exists(), f"{final} exists: not ours"
    try:
        osx.write_file(staged, text, 0o440)
        checked = subprocess.run(["visudo", "-cf", str(staged)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        os.replace(staged, final)
        yield
    finally:
        staged.unlink(missing_ok=True)
        final.unlink(missing_ok=True)


# F1: the server refused our keys.


def test_f1_a_key_not_in_authorized_keys_is_named_with_its_fingerprint(sandbox_box, box_resolvers, tmp_path) -> None:
    _, box = sandbox_box
    stranger = new_key(tmp_path, "id_stranger")  # made here, never put on the server
    deployment = make_deployment(box, box_resolvers, "e2e-access")
    request = deployment.request(site=site_on(box, identity_file=str(stranger)), only={"provision"})
    outcome, events = run_unlocked(request)
    d = the_diagnosis(outcome, events, "F1")
    assert isinstance(outcome.error, SshError)
    assert "\n" not in str(outcome.error)
    auth = outcome.error.facts.ssh
    assert auth is not None
    assert (auth.user, auth.identity_files, auth.missing) == (box.user, (str(stranger),), ())
    assert auth.root_accepts is False  # the box's sshd takes no root at all
    assert f"{stranger} ({fingerprint_of(stranger)})" in d.cause
    assert f"ssh-copy-id -i {stranger}.pub -p {box.ssh_port} {box.user}@{box.address}" in d.fix
    assert f"the same keys for root@{box.address}: refused" in d.evidence


def test_f1_through_the_whole_run_the_login_the_deploy_lock_needs_is_diagnosed(
    sandbox_box, box_resolvers, tmp_path
) -> None:
    # As the command line runs it: the deploy lock logs in before any step, and its refusal is diagnosed
    # on the first step that would have run.
    _, box = sandbox_box
    stranger = new_key(tmp_path, "id_stranger")
    deployment = make_deployment(box, box_resolvers, "e2e-access")
    outcome, events = deployment_run(
        deployment.request(site=site_on(box, identity_file=str(stranger)), only={"provision", "source"})
    )
    assert outcome.status == "failed"
    assert isinstance(outcome.error, SshError)
    assert not [e for e in events if isinstance(e, StepFinished)]  # no step started: the login came first
    (diagnosis,) = [e for e in events if isinstance(e, Diagnosis)]
    assert (diagnosis.step, diagnosis.code) == ("provision", "F1")
    assert f"{stranger} ({fingerprint_of(stranger)})" in diagnosis.cause
    assert outcome.diagnoses == [diagnosis]


def test_f1_a_key_that_works_for_root_only_is_the_providers_slip(
    sandbox_box, box_resolvers, doorway: Doorway, throwaway: Throwaway, tmp_path
) -> None:
    _, box = sandbox_box
    key = new_key(tmp_path, "id_provider")
    root_keys = doorway.authorize("root", pub(key))  # as a provider does: the reader's key in root's file only
    try:
        deployment = throwaway_deployment(box, box_resolvers, doorway, throwaway, identity_file=str(key))
        outcome, events = run_unlocked(deployment.request(only={"provision"}))
    finally:
        root_keys.unlink()
    d = the_diagnosis(outcome, events, "F1")
    assert isinstance(outcome.error, SshError)
    assert outcome.error.facts.ssh is not None
    assert outcome.error.facts.ssh.root_accepts is True
    assert f"for root but not for {THROWAWAY}" in d.cause
    assert f"ssh -p {doorway.port} root@{ADDRESS}" in d.fix
    assert f"~{THROWAWAY}/.ssh/authorized_keys" in d.fix
    assert f"the same keys for root@{ADDRESS}: accepted" in d.evidence


def test_f1_an_identity_file_gone_since_the_config_was_read_is_named(sandbox_box, box_resolvers, tmp_path) -> None:
    _, box = sandbox_box
    key = new_key(tmp_path, "id_moved")
    site = site_on(box, identity_file=str(key))  # there when deploy.toml was read
    key.unlink()
    request = make_deployment(box, box_resolvers, "e2e-access").request(site=site, only={"provision"})
    outcome, events = run_unlocked(request)
    d = the_diagnosis(outcome, events, "F1")
    assert str(outcome.error) == f"{box.user}@{box.address}:{box.ssh_port}: the identity file {key} is not there"
    assert f"The identity file {key} is not there" in d.cause
    assert "identity_file" in d.fix
    assert f"identity file {key}: not there" in d.evidence


def test_f1_an_identity_file_that_is_not_there_is_refused_by_the_config_with_exit_2(
    sandbox_box, tmp_path, capsys
) -> None:
    # deploy.toml's identity_file is checked when the config is read: a missing one never reaches a session.
    _, box = sandbox_box
    missing = tmp_path / "id_nowhere"
    with pytest.raises(ConfigError, match=r"identity_file = .*: no such file here"):
        site_on(box, identity_file=str(missing))
    config = tmp_path / "deploy.toml"
    config.write_text(deploy_toml(box, identity_file=str(missing)))
    assert main(["run", "--config", str(config), "--headless", "--only", "provision"]) == 2
    said = capsys.readouterr().err
    assert f"sites.staging.identity_file = '{missing}': no such file here" in said
    assert said.count("\n") == 1


@contextlib.contextmanager
def empty_agent(directory: Path) -> Iterator[Path]:
    """An ssh-agent holding no key, on a socket in directory; stopped by pid after."""
    socket_path = directory / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not socket_path.exists():
            assert agent.poll() is None, f"ssh-agent exited with {agent.returncode}"
            assert time.monotonic() < deadline, "ssh-agent made no socket in 10 s"
            time.sleep(0.05)
        yield socket_path
    finally:
        agent.terminate()
        agent.wait(timeout=10)


def test_f1_with_no_key_to_offer_says_make_one(sandbox_box, box_resolvers, tmp_path, monkeypatch) -> None:
    _, box = sandbox_box
    home = tmp_path / "home"  # no ~/.ssh here: no id_* to fall back on, no ~/.ssh/config
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    with empty_agent(tmp_path) as agent:
        monkeypatch.setenv("SSH_AUTH_SOCK", str(agent))
        request = make_deployment(box, box_resolvers, "e2e-access").request(
            site=site_on(box, identity_file=None), only={"provision"}
        )
        outcome, events = run_unlocked(request)
    d = the_diagnosis(outcome, events, "F1")
    assert isinstance(outcome.error, SshError)
    auth = outcome.error.facts.ssh
    assert auth is not None
    assert (auth.identity_files, auth.agent_keys, auth.default_keys) == ((), 0, ())
    assert "no key to offer" in d.cause
    assert "the ssh agent holds no key" in d.cause
    assert "ssh-keygen -t ed25519" in d.fix
    assert "ssh agent: 0 keys" in d.evidence


# F2: sudo refused the password.


def test_f2_a_wrong_sudo_password_names_the_user(sandbox_box, box_resolvers, tmp_path) -> None:
    _, box = sandbox_box
    wrong = "wrong-" + secrets.token_urlsafe(12)  # a secret all the same: it must show nowhere
    deployment = make_deployment(box, box_resolvers, "e2e-access")
    request = dataclasses.replace(
        deployment.request(recording=tmp_path / "run.jsonl", only={"provision"}, force={"provision"}),
        sudo_password=Secret(wrong),
    )
    outcome, events = deployment_run(request)
    d = the_diagnosis(outcome, events, "F2")
    assert f"given for {box.user}" in d.cause
    assert f"sudo passwd {box.user}" in d.fix
    assert "sudo: 1 incorrect password attempt" in d.evidence
    assert not [e for e in events if wrong in repr(e)]
    assert wrong not in (tmp_path / "run.jsonl").read_text()


# F3 and F4: a user sudo will not serve, through this file's sshd.


def test_f3_a_user_not_in_the_sudo_group(sandbox_box, box_resolvers, doorway, throwaway: Throwaway) -> None:
    _, box = sandbox_box
    deployment = throwaway_deployment(box, box_resolvers, doorway, throwaway)
    request = dataclasses.replace(
        deployment.request(only={"provision"}, force={"provision"}), sudo_password=Secret(throwaway.password)
    )
    outcome, events = deployment_run(request)
    d = the_diagnosis(outcome, events, "F3")
    assert f"{THROWAWAY} is not in the sudoers file." in d.evidence
    assert f"usermod -aG sudo {THROWAWAY}" in d.fix


def test_f4_requiretty_for_the_user(sandbox_box, box_resolvers, doorway, throwaway: Throwaway) -> None:
    _, box = sandbox_box
    host.add_to_sudo_group(THROWAWAY)  # sudo would serve it, but for the terminal (userdel takes it out again)
    deployment = throwaway_deployment(box, box_resolvers, doorway, throwaway)
    request = dataclasses.replace(
        deployment.request(only={"provision"}, force={"provision"}), sudo_password=Secret(throwaway.password)
    )
    with sudoers_drop_in(f"deploy-tui-e2e-{THROWAWAY}", f"Defaults:{THROWAWAY} requiretty\n"):
        outcome, events = deployment_run(request)
    d = the_diagnosis(outcome, events, "F4")
    assert "sudo: sorry, you must have a tty to run sudo" in d.evidence
    assert f"Defaults:{THROWAWAY} !requiretty" in d.fix
