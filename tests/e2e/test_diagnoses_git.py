"""The repository and the disk as the server sees them, made real on the sandbox box: F5-F9.

Each scenario deploys into a fresh site directory of its own and runs only the source step (and the
venv step for the full disk), so the real git, ssh and Python say what they say on a server. What a
scenario changes (a private HTTP server, the box user's known_hosts and git config, a tmpfs mounted
on the site directory, a root-owned repository) is put back or removed before it ends, also when it
fails; processes it starts are stopped by pid.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy_tui.core.resolvers import Resolver
from deploy_tui.sandbox.box import BoxInfo, Sandbox
from deploy_tui.sandbox.host import publish_repo
from deploy_tui.sandbox.system import fingerprint
from tests.conftest import CHECKOUT, free_port
from tests.e2e.conftest import Deployment, make_deployment
from tests.e2e.test_diagnoses import the_diagnosis
from tests.procs import stop, wait_until_serving

pytestmark = pytest.mark.e2e

# Answers every request 401 with a Basic challenge, as a private repository over https does to a
# client without credentials.
PRIVATE_HTTP = """\
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Private(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="private"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass

HTTPServer((sys.argv[1], int(sys.argv[2])), Private).serve_forever()
"""


@pytest.fixture
def fresh(sandbox_box: tuple[Sandbox, BoxInfo], box_resolvers: tuple[Resolver, ...]) -> Iterator[Deployment]:
    """A deployment in its own directory, removed at the end."""
    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, f"git-{uuid.uuid4().hex[:6]}")
    assert not deployment.directory.exists()
    try:
        yield deployment
    finally:
        shutil.rmtree(deployment.directory, ignore_errors=True)


def with_site(deployment: Deployment, **changes: Any) -> Deployment:
    """The deployment with other site values, past config.py's checks as the tests need (a repo of theirs)."""
    return dataclasses.replace(deployment, site=dataclasses.replace(deployment.site, **changes))


def as_user(user: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """argv run as user, from their home, with a plain environment."""
    account = pwd.getpwnam(user)
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        user=account.pw_uid,
        group=account.pw_gid,
        extra_groups=[],
        cwd=account.pw_dir,
        env={"HOME": account.pw_dir, "USER": user, "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )


@contextlib.contextmanager
def kept(path: Path) -> Iterator[Path]:
    """path as it was before the block: its content put back, or removed (with its directory) if not there."""
    before = path.read_bytes() if path.exists() else None
    directory_was_there = path.parent.exists()
    try:
        yield path
    finally:
        if not directory_was_there:
            shutil.rmtree(path.parent, ignore_errors=True)
        elif before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(before)


# F5: nothing at that path.


def test_f5_a_repository_path_that_does_not_exist(fresh: Deployment, tmp_path: Path) -> None:
    nowhere = f"/srv/git/superlsts-{uuid.uuid4().hex[:6]}.git"  # a typo, and a path no one made
    outcome, events = with_site(fresh, repo=nowhere).run(tmp_path, only={"source"})
    d = the_diagnosis(outcome, events, "source", "F5")
    assert nowhere in d.cause
    assert "mistyped" in d.cause
    assert f"git ls-remote {nowhere}" in d.fix
    assert "deploy.toml" in d.fix
    assert any(f"fatal: repository '{nowhere}' does not exist" in line for line in d.evidence)


# F6: a repository that wants a login; an ssh host the server has never seen, then a key it does not have.


def test_f6_a_private_repository_over_http_fails_at_once_without_a_prompt(fresh: Deployment, tmp_path: Path) -> None:
    port = free_port("127.0.0.1")
    server = subprocess.Popen(
        [sys.executable, "-c", PRIVATE_HTTP, "127.0.0.1", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/", server, host=f"127.0.0.1:{port}")
        private = f"http://127.0.0.1:{port}/private.git"
        outcome, events = with_site(fresh, repo=private).run(tmp_path, only={"source"})
    finally:
        stop(server)
    d = the_diagnosis(outcome, events, "source", "F6")
    assert f"{private} is private" in d.cause
    assert "deploy key" in d.fix
    assert "fine-grained personal access token" in d.fix
    assert "git@127.0.0.1:private.git" in d.fix
    # GIT_TERMINAL_PROMPT=0 reached git: it said so instead of waiting for a username.
    assert any(
        f"could not read Username for 'http://127.0.0.1:{port}': terminal prompts disabled" in line
        for line in d.evidence
    )


def test_f6_an_ssh_host_the_server_has_never_seen_then_no_key_it_accepts(
    sandbox_box: tuple[Sandbox, BoxInfo], fresh: Deployment, tmp_path: Path
) -> None:
    _, box = sandbox_box
    # The box's own repository, over ssh to the box itself: the box user has never connected there.
    over_ssh = f"ssh://{box.user}@{box.address}:{box.ssh_port}{box.repo_url}"
    deployment = with_site(fresh, repo=over_ssh)
    known_hosts = Path(pwd.getpwnam(box.user).pw_dir) / ".ssh" / "known_hosts"
    assert not known_hosts.exists() or f"[{box.address}]:{box.ssh_port}" not in known_hosts.read_text()

    outcome, events = deployment.run(tmp_path, only={"source"})
    d = the_diagnosis(outcome, events, "source", "F6")
    assert f"never connected to {box.address}" in d.cause
    assert f"ssh-keyscan -p {box.ssh_port} {box.address} | ssh-keygen -lf -" in d.fix
    assert f"ssh-keyscan -p {box.ssh_port} {box.address} >> ~/.ssh/known_hosts" in d.fix
    assert any("Host key verification failed." in line for line in d.evidence)

    # The fix, as the diagnosis gives it: the key scanned, its fingerprint checked, then trusted.
    with kept(known_hosts):
        scanned = as_user(box.user, ["ssh-keyscan", "-p", str(box.ssh_port), box.address])
        keys = [line for line in scanned.stdout.splitlines() if line and not line.startswith("#")]
        assert keys, scanned.stderr
        assert {fingerprint(" ".join(key.split()[1:])) for key in keys} == {box.host_key_fingerprint}
        trusted = as_user(
            box.user, ["sh", "-c", 'mkdir -p -m 700 ~/.ssh && printf "%s\\n" "$@" >> ~/.ssh/known_hosts', "-", *keys]
        )
        assert trusted.returncode == 0, trusted.stderr
        outcome, events = deployment.run(tmp_path, only={"source"})
    d = the_diagnosis(outcome, events, "source", "F6")
    assert f"{box.address} refused every ssh key {box.user} has" in d.cause
    assert "read-only deploy key" in d.fix
    assert any("Permission denied (publickey)." in line for line in d.evidence)


# F7: a repository another user owns.


@pytest.fixture
def roots_repo() -> Iterator[Path]:
    """A bare repo of this checkout owned by root, readable by all, in a 0755 directory of its own."""
    parent = Path(tempfile.mkdtemp(prefix="deploy-tui-roots-"))
    try:
        parent.chmod(0o755)
        bare = parent / "superlists.git"
        publish_repo(CHECKOUT, bare, "root")
        yield bare
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_f7_a_repository_owned_by_root_is_refused_until_trusted(
    fresh: Deployment, roots_repo: Path, tmp_path: Path
) -> None:
    deployment = with_site(fresh, repo=str(roots_repo))
    outcome, events = deployment.run(tmp_path, only={"source"})
    d = the_diagnosis(outcome, events, "source", "F7")
    assert f"git refuses to work in {roots_repo}" in d.cause
    assert "CVE-2022-24765" in d.cause
    assert f"sudo chown -R {fresh.box.user}: {roots_repo}" in d.fix
    trust = f"git config --global --add safe.directory {roots_repo}"
    assert d.fix.endswith(trust)
    assert any("detected dubious ownership" in line for line in d.evidence)

    # The fix's second way, as the box user: the same clone then works.
    with kept(Path(pwd.getpwnam(fresh.box.user).pw_dir) / ".gitconfig"):
        trusted = as_user(fresh.box.user, trust.split())
        assert trusted.returncode == 0, trusted.stderr
        outcome, events = deployment.run(tmp_path, only={"source"})
    assert outcome.ok, [e for e in events if e.kind in ("Diagnosis", "StepFinished")]


# F8: no such branch, on a first clone and on a later deploy.


def test_f8_a_branch_that_is_not_on_the_remote_on_the_first_clone_and_after(fresh: Deployment, tmp_path: Path) -> None:
    deployment = with_site(fresh, branch="no-such-branch")
    outcome, events = deployment.run(tmp_path, only={"source"})
    first = the_diagnosis(outcome, events, "source", "F8")
    said = "fatal: 'origin/no-such-branch' is not a commit and a branch 'no-such-branch' cannot be created from it"
    assert any(said in line for line in first.evidence)
    assert (deployment.directory / ".git").is_dir()  # cloned on main: the next deploy asks the remote first
    outcome, events = deployment.run(tmp_path, only={"source"})
    again = the_diagnosis(outcome, events, "source", "F8")
    for d in (first, again):
        assert f"The branch no-such-branch is not in {fresh.site.repo}" in d.cause
        assert "It has main." in d.cause
        assert "git push -u origin no-such-branch" in d.fix
        assert "(main)" in d.fix
        assert any(line.endswith("\trefs/heads/main") for line in d.evidence)


# F9: a full disk.


@contextlib.contextmanager
def tmpfs(directory: Path, user: str, size: str, inodes: int | None = None) -> Iterator[Path]:
    """A small tmpfs at directory (made by user if need be), owned by user; unmounted after, also on failure."""
    account = pwd.getpwnam(user)
    made = as_user(user, ["mkdir", "-p", str(directory)])
    assert made.returncode == 0, made.stderr
    options = f"size={size},mode=0755,uid={account.pw_uid},gid={account.pw_gid}"
    options += f",nr_inodes={inodes}" if inodes else ""
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "deploy-tui-full", str(directory)], check=True, timeout=30)
    try:
        yield directory
    finally:
        if subprocess.run(["umount", str(directory)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "--lazy", str(directory)], check=True, timeout=30)
        assert not os.path.ismount(directory)


def fill(directory: Path, user: str) -> None:
    """A log file that takes every free byte of directory's disk, as a runaway log does."""
    log = directory / "runserver.log"
    # Unbuffered: nothing is left to write (and fail) when the file closes.
    with log.open("wb", buffering=0) as filling, contextlib.suppress(OSError):  # ENOSPC is the point
        while True:
            filling.write(b"\0" * 65536)
    account = pwd.getpwnam(user)
    os.chown(log, account.pw_uid, account.pw_gid)
    assert os.statvfs(directory).f_bavail == 0, "the tmpfs did not fill"


def test_f9_a_full_disk_stops_the_clone_and_the_virtualenv(fresh: Deployment, tmp_path: Path) -> None:
    # The site directory is a tmpfs with no file to spare: git clone needs an empty directory, so the disk
    # is full of nothing but the site directory itself (inodes, which df -i shows). Its parent, where the
    # deploy lock lives, keeps room (see the next test for a full parent).
    with tmpfs(fresh.directory, fresh.box.user, "1m", inodes=2):
        outcome, events = fresh.run(tmp_path, only={"source"})
        d = the_diagnosis(outcome, events, "source", "F9")
        assert "The disk is full on the server: the source step could not write" in d.cause
        assert "df -h" in d.fix
        assert "df -i" in d.fix
        assert "sudo apt-get clean" in d.fix
        assert "rm -rf ~/.cache/pip" in d.fix
        assert "sudo journalctl --vacuum-size=100M" in d.fix
        assert "bigger disk" in d.fix
        assert any("fatal: cannot copy" in line and "No space left on device" in line for line in d.evidence)

        outcome, events = fresh.run(tmp_path, only={"venv"})
        d = the_diagnosis(outcome, events, "venv", "F9")
        assert "the venv step could not write" in d.cause
        assert any("Error: [Errno 28] No space left on device" in line for line in d.evidence)


def test_f9_a_full_disk_under_the_site_directory_and_its_lock(fresh: Deployment, tmp_path: Path) -> None:
    # The whole disk full, as on a real server: the site directory and the lock beside it are on it.
    deployment = with_site(fresh, site_dir=f"{fresh.site.directory}/site")
    with tmpfs(fresh.directory, fresh.box.user, "1m"):
        fill(fresh.directory, fresh.box.user)
        outcome, events = deployment.run(tmp_path, only={"source"})
    assert outcome.error is None, outcome.error
    d = the_diagnosis(outcome, events, "source", "F9")
    assert any("No space left on device" in line for line in d.evidence)
