"""The pip and SQLite field diagnoses (F10-F14) proven on the sandbox box: the situation made real, the step run.

The requirements' failures come from repo variants of the book's site, published for the box as a
reader would push them; pip really asks PyPI and really builds. The database's come from a root-owned
file or directory, as a `sudo ... migrate` leaves them. pip killed for memory is the kernel's OOM
killer in a memory cgroup holding the box's sshd. pip outside the venv (F13) is only in
tests/test_diagnoses_pip.py: deploy-tui itself only ever runs .venv/bin/pip.
Everything a test changes is put back when it ends, also when it fails.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy_tui.runner import read_checkout
from deploy_tui.sandbox.host import GIT_TRUST_ALL, publish_repo
from tests.conftest import CHECKOUT
from tests.e2e.conftest import Deployment, make_deployment
from tests.e2e.test_diagnoses import as_box_user, statuses, the_diagnosis
from tests.reader_repos import _git_env

pytestmark = pytest.mark.e2e

# A C extension that includes a header this machine has no package for (checked before the test).
NEEDS_MYSQL = {
    "needs-mysql/pyproject.toml": (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
    ),
    "needs-mysql/setup.py": (
        "from setuptools import Extension, setup\n\n"
        'setup(name="needs-mysql", version="0.1", ext_modules=[Extension("needs_mysql", ["needs_mysql.c"])])\n'
    ),
    "needs-mysql/needs_mysql.c": (
        "#include <Python.h>\n"
        "#include <mysql.h>\n\n"
        'static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "needs_mysql", NULL, -1, NULL};\n\n'
        "PyMODINIT_FUNC PyInit_needs_mysql(void) { return PyModule_Create(&module); }\n"
    ),
}
# Enough for sshd and a shell, too little for pip to start: it is killed while importing itself.
PIP_STARVING_LIMIT = 40 * 1024 * 1024


def _removed(deployment: Deployment) -> None:
    deployment.stop_server()
    shutil.rmtree(deployment.directory, ignore_errors=True)


@pytest.fixture
def fresh(sandbox_box, box_resolvers) -> Iterator[Deployment]:
    """The book's site in a directory of its own on the session box; its directory removed at the end."""
    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, f"pip-{uuid.uuid4().hex[:6]}")
    try:
        yield deployment
    finally:
        _removed(deployment)


@pytest.fixture
def variant(sandbox_box, box_resolvers, monkeypatch) -> Iterator[Callable[..., Deployment]]:
    """A factory: the book's site with some files changed, committed and published for the box, as a deployment."""
    _, box = sandbox_box
    # The bare repos belong to the box user; root here asks them what is pushed (git ls-remote).
    parent = Path(tempfile.mkdtemp(prefix="deploy-tui-pip-"))
    parent.chmod(0o755)  # the box user reaches the bare repos through it
    config = parent / "gitconfig"
    config.write_text("[safe]\n\tdirectory = *\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    made: list[Deployment] = []

    def make(files: dict[str, str]) -> Deployment:
        name = f"pip-{uuid.uuid4().hex[:6]}"
        checkout, bare = parent / name, parent / f"{name}.git"
        checkout.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(CHECKOUT), "archive", "--format=tar", "HEAD"],
            capture_output=True,
            check=True,
            timeout=60,
            env={**os.environ, **GIT_TRUST_ALL},
        )
        subprocess.run(["tar", "-x", "-C", str(checkout)], input=archive.stdout, check=True, timeout=60)
        for path, text in files.items():
            (checkout / path).parent.mkdir(parents=True, exist_ok=True)
            (checkout / path).write_text(text)
        env = _git_env()
        for argv in (["init", "-q", "-b", "main"], ["add", "--all"], ["commit", "-q", "--no-gpg-sign", "-m", name]):
            subprocess.run(["git", *argv], cwd=checkout, env=env, check=True, capture_output=True, timeout=60)
        publish_repo(checkout, bare, box.user)
        base = make_deployment(box, box_resolvers, name)
        deployment = dataclasses.replace(base, site=dataclasses.replace(base.site, repo=str(bare)), checkout=checkout)
        made.append(deployment)
        return deployment

    try:
        yield make
    finally:
        for deployment in made:
            _removed(deployment)
        shutil.rmtree(parent, ignore_errors=True)


# F10: a pin that does not exist, refused by PyPI itself.


def test_f10_a_django_pin_that_does_not_exist(variant, tmp_path) -> None:
    deployment = variant({"requirements.txt": "django==9.9.9\n"})
    outcome, events = deployment.run(tmp_path, only={"source", "venv"})
    assert statuses(events)["source"] == "passed"
    d = the_diagnosis(outcome, events, "venv", "F10")
    assert "django==9.9.9" in d.cause
    assert ", 5.2." in d.cause  # the newest releases pip listed for this Python
    assert "django==5.2." in d.fix
    assert "pip index versions django" in d.fix
    assert any("No matching distribution found for django==9.9.9" in line for line in d.evidence)


# F11: a build that needs a header the server lacks.


def _mysql_h_is_missing() -> None:
    """Skip unless this machine (the box) has a C compiler and no mysql.h where a plain build looks."""
    if shutil.which("gcc") is None:
        pytest.skip("no gcc here: the build would fail for want of a compiler, not of mysql.h")
    preprocessed = subprocess.run(
        ["gcc", "-E", "-x", "c", "-o", os.devnull, "-"],
        input="#include <mysql.h>\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    if preprocessed.returncode == 0:
        pytest.skip("mysql.h is installed on this machine (default-libmysqlclient-dev?): the build would succeed")
    assert "mysql.h: No such file or directory" in preprocessed.stderr, preprocessed.stderr


def test_f11_a_c_extension_that_needs_a_missing_header(variant, tmp_path) -> None:
    _mysql_h_is_missing()
    deployment = variant({**NEEDS_MYSQL, "requirements.txt": "./needs-mysql\n"})
    outcome, events = deployment.run(tmp_path, only={"source", "venv"})
    d = the_diagnosis(outcome, events, "venv", "F11")
    assert "needs-mysql" in d.cause
    assert "mysql.h" in d.cause
    assert "python3, python3-venv, git and curl" in d.cause
    assert "sudo apt install default-libmysqlclient-dev pkg-config," in d.fix
    assert any("fatal error: mysql.h: No such file or directory" in line for line in d.evidence)


# F12: pip killed by the kernel for memory.


def _memory_cgroup_of(pid: int) -> tuple[Path, str]:
    """(the memory cgroup directory pid is in, the file that caps it): cgroup v1's memory controller, or v2."""
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return Path("/sys/fs/cgroup/memory") / path.lstrip("/"), "memory.limit_in_bytes"
    for line in lines:
        if line.startswith("0::"):
            return Path("/sys/fs/cgroup") / line[3:].lstrip("/"), "memory.max"
    raise OSError(f"no memory cgroup in /proc/{pid}/cgroup")


def oom_kills(cgroup: Path) -> int:
    """How many processes the kernel's OOM killer has ended in cgroup (v1's memory.oom_control, v2's memory.events)."""
    for name in ("memory.oom_control", "memory.events"):
        if (cgroup / name).exists():
            counts = dict(line.split() for line in (cgroup / name).read_text().splitlines())
            return int(counts.get("oom_kill", 0))
    return 0


@contextlib.contextmanager
def memory_capped(pid: int, limit: int) -> Iterator[Path]:
    """pid (the box's sshd) and whatever it starts from now on in a memory cgroup of limit bytes; put back after.

    Skips the test, naming why, when this machine does not let us make one (no memory controller,
    a read-only /sys/fs/cgroup, cgroup v2 refusing a child of a cgroup that holds processes).
    """
    try:
        home, cap = _memory_cgroup_of(pid)
        capped = home / f"deploy-tui-e2e-{uuid.uuid4().hex[:6]}"
        capped.mkdir()
    except OSError as error:
        pytest.skip(f"cannot make a memory cgroup here for the OOM killer: {error}")
    try:
        try:
            (capped / cap).write_text(str(limit))
            (capped / "cgroup.procs").write_text(str(pid))
        except OSError as error:
            pytest.skip(f"cannot cap sshd's memory with a cgroup here ({capped / cap}): {error}")
        yield capped
    finally:
        # sshd back home first, then whatever it started that is still there (a closing session), then the cgroup.
        with contextlib.suppress(ProcessLookupError):
            (home / "cgroup.procs").write_text(str(pid))
        for _ in range(100):
            left = (capped / "cgroup.procs").read_text().split()
            for stray in left:
                with contextlib.suppress(OSError):
                    (home / "cgroup.procs").write_text(stray)
            try:
                capped.rmdir()
                break
            except OSError:
                time.sleep(0.1)  # a process still on its way out
        assert not capped.exists(), f"could not remove the cgroup {capped}"


def test_f12_pip_killed_by_the_oom_killer(sandbox_box, fresh, tmp_path) -> None:
    _, box = sandbox_box
    outcome, events = fresh.run(tmp_path, only={"source"})
    assert outcome.ok, statuses(events)
    # The venv made beforehand, uncapped, where the venv step keeps the one for these requirements
    # (.venvs/<hash>, .venv its link): what the kernel kills under the cap is then pip itself.
    make = 'h=$(sha256sum < requirements.txt | cut -c1-16) && python3 -m venv .venvs/"$h" && ln -sfn .venvs/"$h" .venv'
    made = subprocess.run(["sh", "-c", make], capture_output=True, timeout=120, **as_box_user(fresh))
    assert made.returncode == 0, made.stderr
    with memory_capped(box.sshd_pid, PIP_STARVING_LIMIT) as capped:
        outcome, events = fresh.run(tmp_path, only={"venv"})
        assert oom_kills(capped) >= 1  # the kernel's OOM killer did it, not a timeout or a stop of ours
    d = the_diagnosis(outcome, events, "venv", "F12")
    assert "out of memory" in d.cause
    assert "exit status 137" in d.evidence[0]
    assert "Killed" in d.evidence
    assert "sudo mkswap /swapfile && sudo swapon /swapfile" in d.fix
    assert "--no-cache-dir" in d.fix


def test_f13_is_not_made_real() -> None:
    pytest.skip(
        "F13 (externally-managed-environment) is not made real: deploy-tui runs pip only as .venv/bin/pip, "
        "which PEP 668 never refuses; tests/test_diagnoses_pip.py feeds the rule Debian 12's real text"
    )


# F14: a database the server's user cannot write.


@pytest.fixture(scope="module")
def migratable(sandbox_box, box_resolvers, tmp_path_factory) -> Iterator[Deployment]:
    """The book's site with its code and venv in place and no database yet: the migrate step still to run."""
    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, f"pip-db-{uuid.uuid4().hex[:6]}")
    try:
        outcome, events = deployment.run(tmp_path_factory.mktemp("migratable"), only={"source", "venv"})
        assert outcome.ok, statuses(events)
        yield deployment
    finally:
        _removed(deployment)


def test_f14_a_database_root_made_cannot_be_written(migratable, tmp_path) -> None:
    database = migratable.directory / "db.sqlite3"
    assert not database.exists()
    database.touch()  # root's, empty: as a `sudo ... manage.py migrate` that failed early leaves it
    os.chown(database, 0, 0)
    database.chmod(0o644)
    try:
        outcome, events = migratable.run(tmp_path, only={"migrate"})
        d = the_diagnosis(outcome, events, "migrate", "F14")
        directory, user = migratable.site.directory, migratable.box.user
        assert f"({directory}/db.sqlite3)" in d.cause
        assert "journal" in d.cause
        assert f"sudo chown {user}: {directory} {directory}/db.sqlite3" in d.fix
        assert any("attempt to write a readonly database" in line for line in d.evidence)
        # The fix, done: the box user's file, and migrate goes through.
        account = pwd.getpwnam(user)
        os.chown(database, account.pw_uid, account.pw_gid)
        outcome, events = migratable.run(tmp_path, only={"migrate"})
        assert outcome.ok, statuses(events)
    finally:
        database.unlink(missing_ok=True)


def test_f14_a_database_path_in_a_directory_root_owns(migratable, tmp_path) -> None:
    elsewhere = Path(tempfile.mkdtemp(prefix="deploy-tui-rootdb-"))
    try:
        elsewhere.chmod(0o755)  # root's: the box user can look in, not write
        path = f"{elsewhere}/db.sqlite3"
        proposed = read_checkout(migratable.site, CHECKOUT).layout.env
        assert "DJANGO_DB_PATH" in dict(proposed)
        env = tuple((name, path if name == "DJANGO_DB_PATH" else value) for name, value in proposed)
        site = dataclasses.replace(migratable.site, env=env)
        outcome, events = migratable.run(tmp_path, only={"migrate"}, site=site)
        d = the_diagnosis(outcome, events, "migrate", "F14")
        assert f"({path})" in d.cause
        assert f"sudo mkdir -p {elsewhere} && sudo chown {migratable.box.user}: {elsewhere}" in d.fix
        assert "DJANGO_DB_PATH" in d.fix
        assert any("unable to open database file" in line for line in d.evidence)
        assert not Path(path).exists()
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)
