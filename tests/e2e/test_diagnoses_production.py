"""The production diagnoses (R1-R9) made real on a production sandbox box of the file's own.

superlists is deployed once behind nginx and gunicorn (DEBUG off); then one thing at a time is broken
the way a reader breaks it by hand on a real server, a run of deploy-tui meets it and names it, and it
is put back, also when the test fails: the unit stopped or killed, the home closed to nginx, the socket
closed, the collected static files gone, the alias pointing elsewhere, ALLOWED_HOSTS with a port, a
domain too long for nginx's names hash, another site's broken file, a relative ExecStart, the environment
file gone, the SECRET_KEY missing, a view raising with no LOGGING. The box (nginx, the replacement
systemctl, the units) is taken down at the end. Everything the tests run as root here is what the
reader would run with sudo on the server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy_tui.core.engine import RunOutcome
from deploy_tui.core.events import Diagnosis, Event, Notice, StepFinished
from deploy_tui.core.resolvers import Resolver
from deploy_tui.sandbox.box import Sandbox
from deploy_tui.steps import Options
from tests.conftest import CHECKOUT
from tests.e2e.conftest import Deployment, _needs_root, _state_parent, make_deployment, sandbox_config

pytestmark = pytest.mark.e2e

_SLOT = int(os.environ.get("DEPLOY_TUI_E2E_SLOT", "0") or 0)
USER = f"dtuiprd{_SLOT}"
RESOLVER = f"127.0.{70 + _SLOT}.11"
AUTHORITY = f"127.0.{70 + _SLOT}.19"
# A domain of the box's own: the unit, the server block and nginx's error log lines are the machine's, by domain.
DOMAIN = f"superlists-prod{_SLOT}.test"
# 48 characters and more overflow nginx's 64-byte server_names_hash bucket (measured: 47 still fits).
LONG_DOMAIN = "superlists-staging-for-a-reader-of-the-testing-goat.test"
BROKEN_SITE = Path(f"/etc/nginx/sites-enabled/broken-{USER}.test")
# The environment deploy-tui proposes from superlists' settings in production (the site's own env is unset).
PROD_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "{secret_key}",
    "DJANGO_ALLOWED_HOSTS": "{allowed_hosts}",
    "DJANGO_DB_PATH": "{db_path}",
}


@dataclasses.dataclass
class Production:
    """superlists deployed in production on the box, and the root commands that break and mend it."""

    deployment: Deployment
    systemctl_path: str
    tmp: Path

    @property
    def unit(self) -> str:
        return f"gunicorn-{self.deployment.site.domain}"

    @property
    def directory(self) -> Path:
        return self.deployment.directory

    @property
    def socket(self) -> Path:
        return self.directory / "gunicorn.sock"

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.systemctl_path, *args], capture_output=True, text=True, timeout=60, check=False)

    def restart(self) -> None:
        """Restart the unit by hand and wait until gunicorn answers on its socket."""
        self.systemctl("restart", self.unit)
        deadline = time.monotonic() + 15
        while not self.answers():
            assert time.monotonic() < deadline, f"{self.unit} did not answer: {self.systemctl('status', self.unit)}"
            time.sleep(0.1)

    def answers(self) -> bool:
        curl = ["curl", "-s", "-o", "/dev/null", "-m", "2", "--unix-socket", str(self.socket), "http://localhost/"]
        return self.socket.exists() and subprocess.run(curl, check=False).returncode == 0

    def run(self, **changes: Any) -> tuple[RunOutcome, list[Event]]:
        return self.deployment.run(self.tmp, **changes)

    def site(self, **changes: Any) -> Any:
        return dataclasses.replace(self.deployment.site, **changes)

    def deploy_again(self, *steps: str, **changes: Any) -> None:
        """deploy-tui puts back what it owns: the unit, the environment file, the server block."""
        outcome, events = self.run(only=set(steps), **changes)
        assert outcome.ok, problems(events)


def problems(events: list[Event]) -> list[str]:
    """What went wrong, in a few words each: the failed steps, the notices, the diagnoses."""
    said = []
    for e in events:
        if isinstance(e, StepFinished) and e.status == "failed":
            said.append(f"{e.step} failed: {e.summary}")
        elif isinstance(e, Notice):
            said.append(f"{e.step} notice: {e.text}")
        elif isinstance(e, Diagnosis):
            said.append(f"{e.step} {e.code}: {e.cause}")
    return said


def the_diagnosis(outcome: RunOutcome, events: list[Event], step: str, code: str) -> Diagnosis:
    """The run failed at step with exactly one diagnosis, code, with a cause, a fix and evidence."""
    found = [e for e in events if isinstance(e, Diagnosis)]
    assert outcome.status == "failed", problems(events)
    assert len(found) == 1, problems(events)
    (diagnosis,) = found
    assert (diagnosis.step, diagnosis.code) == (step, code), diagnosis
    assert diagnosis.cause.strip()
    assert diagnosis.fix.strip()
    assert diagnosis.evidence
    print(f"\n{code}: {diagnosis.cause}\n  fix: {diagnosis.fix}\n  " + "\n  ".join(diagnosis.evidence))
    return diagnosis


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    """superlists deployed in production on a box of this file's own; the box down and purged at the end."""
    _needs_root()
    with contextlib.ExitStack() as cleanup:
        parent = _state_parent()
        cleanup.callback(shutil.rmtree, parent, ignore_errors=True)
        config = sandbox_config(parent, USER, (RESOLVER,), AUTHORITY)
        config = dataclasses.replace(config, production=True, domains=(DOMAIN,))
        sandbox = Sandbox(config)
        cleanup.callback(sandbox.down, purge=True)
        box = sandbox.up()
        resolvers = tuple(
            Resolver(f"sandbox {i}", r.address, r.port, "loopback") for i, r in enumerate(box.resolvers, 1)
        )
        deployment = make_deployment(box, resolvers, "prod-diag")
        deployment.site = dataclasses.replace(deployment.site, domain=DOMAIN, production=True)
        replaced = config.state_dir / "production" / "bin" / "systemctl"
        made = Production(deployment, str(replaced) if replaced.exists() else "systemctl", tmp_path_factory.mktemp("p"))
        outcome, events = made.run(skip={"fts"})
        assert outcome.ok, problems(events)
        yield made


@pytest.fixture
def healthy(prod: Production) -> Iterator[Production]:
    """Each scenario starts from a site that answers, and leaves it answering (smoke passes), also on failure."""
    yield prod
    outcome, events = prod.run(only={"smoke"})
    assert outcome.ok, problems(events)


# R1: 502, gunicorn down.


def test_r1_the_unit_stopped(healthy: Production) -> None:
    try:
        healthy.systemctl("stop", healthy.unit)
        d = the_diagnosis(*healthy.run(only={"smoke"}), "smoke", "R1")
        assert f"there is no socket at {healthy.socket}" in d.cause
        assert f"{healthy.unit} is not running" in d.cause
        assert any("(2: No such file or directory)" in line for line in d.evidence)
    finally:
        healthy.deploy_again("gunicorn")  # its check sees the unit is not active, and starts it


def test_r1_gunicorn_killed_leaves_its_socket(healthy: Production) -> None:
    try:
        pids = subprocess.run(["pgrep", "-u", USER, "-f", "bin/gunicorn"], capture_output=True, text=True).stdout
        for pid in map(int, pids.split()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # the kernel's OOM killer, or a kill -9 by hand
        time.sleep(0.3)
        assert healthy.socket.exists()
        d = the_diagnosis(*healthy.run(only={"smoke"}), "smoke", "R1")
        assert "nothing listens on it (Connection refused)" in d.cause
        assert any("(111: Connection refused)" in line for line in d.evidence)
    finally:
        healthy.restart()


# R2: 502, the socket out of nginx's reach.


def test_r2_the_home_closed_to_nginx(healthy: Production) -> None:
    home = healthy.deployment.home
    mode = home.stat().st_mode & 0o7777
    try:
        home.chmod(0o700)  # what Debian 12's adduser makes
        d = the_diagnosis(*healthy.run(only={"smoke"}), "smoke", "R2")
        assert f"cannot pass through {home}" in d.cause
        assert f"chmod o+x {home}" in d.fix
        assert any("(13: Permission denied)" in line for line in d.evidence)
    finally:
        home.chmod(mode)


def test_r2_the_socket_closed_to_nginx(healthy: Production) -> None:
    try:
        healthy.socket.chmod(0o600)
        d = the_diagnosis(*healthy.run(only={"smoke"}), "smoke", "R2")
        assert "socket is not writable by others" in d.cause
        assert any(line.startswith("srw-------") for line in d.evidence)
    finally:
        healthy.restart()  # gunicorn makes its socket anew


# R3: the stylesheet 404s.


def test_r3_the_collected_static_files_gone(healthy: Production) -> None:
    static = healthy.directory / "static"
    aside = healthy.directory / "static.aside"
    try:
        static.rename(aside)
        d = the_diagnosis(*healthy.run(only={"smoke"}), "smoke", "R3")
        assert "collectstatic" in d.cause
        assert f"STATIC_ROOT: {static}" in d.evidence
        assert any('open() "' in line and "(2: No such file or directory)" in line for line in d.evidence)
    finally:
        if aside.exists():
            shutil.rmtree(static, ignore_errors=True)
            aside.rename(static)


def test_r3_the_alias_pointing_elsewhere(healthy: Production) -> None:
    block = Path(f"/etc/nginx/sites-available/{healthy.deployment.site.domain}")
    text = block.read_text()
    try:
        block.write_text(
            text.replace(f"alias {healthy.directory}/static/;", f"alias {healthy.directory}/staticfiles/;")
        )
        assert healthy.systemctl("reload", "nginx").returncode == 0
        d = the_diagnosis(*healthy.run(only={"smoke"}), "smoke", "R3")
        assert f"alias is {healthy.directory}/staticfiles" in d.cause
        assert f"alias {healthy.directory}/static/;" in d.fix
    finally:
        healthy.deploy_again("nginx")  # the block differs from what it writes: written again, nginx reloaded
        assert block.read_text() == text


# R4: 400 with DEBUG off.


def test_r4_allowed_hosts_with_a_port_and_debug_off(healthy: Production) -> None:
    with_port = healthy.site(env=tuple({**PROD_ENV, "DJANGO_ALLOWED_HOSTS": "{domain}:80"}.items()))
    try:
        outcome, events = healthy.run(only={"gunicorn", "smoke"}, site=with_port)
        d = the_diagnosis(outcome, events, "smoke", "R4")
        assert f"'{healthy.deployment.site.domain}:80'" in d.cause
        assert "says no more than 'Bad Request (400)'" in d.cause
        assert any('" 400 ' in line for line in d.evidence)  # gunicorn's access line: all the journal has
    finally:
        healthy.deploy_again("gunicorn")


# R5, R6: nginx -t.


def test_r5_a_long_domain(healthy: Production) -> None:
    long = healthy.site(domain=LONG_DOMAIN)
    try:
        d = the_diagnosis(*healthy.run(only={"nginx"}, site=long), "nginx", "R5")
        assert f"{LONG_DOMAIN} has {len(LONG_DOMAIN)} characters" in d.cause
        assert "server_names_hash_bucket_size 128;" in d.fix
    finally:
        for made in (Path("/etc/nginx/sites-enabled") / LONG_DOMAIN, Path("/etc/nginx/sites-available") / LONG_DOMAIN):
            assert not made.exists()  # the step took its new block back
            made.unlink(missing_ok=True)


def test_r6_another_sites_broken_file(healthy: Production) -> None:
    try:
        BROKEN_SITE.write_text(f"server {{\n    listen 80;\n    servr_name broken-{USER}.test;\n}}\n")
        outcome, events = healthy.run(only={"nginx"}, force={"nginx"})
        d = the_diagnosis(outcome, events, "nginx", "R6")
        assert f'{BROKEN_SITE}, line 3: unknown directive "servr_name"' in d.cause
        assert "another file than this site's" in d.cause
    finally:
        BROKEN_SITE.unlink(missing_ok=True)


# R7: the unit will not start.


def test_r7_a_relative_exec_start(healthy: Production) -> None:
    unit = Path(f"/etc/systemd/system/{healthy.unit}.service")
    text = unit.read_text()
    try:
        unit.write_text(text.replace(f"ExecStart={healthy.directory}/.venv/bin/gunicorn", "ExecStart=gunicorn"))
        healthy.systemctl("daemon-reload")
        # A unit edited while it runs runs on until its next start (a reboot): stop it, and start it again.
        healthy.systemctl("stop", healthy.unit)
        by_hand = healthy.systemctl("start", healthy.unit)
        assert by_hand.returncode != 0
        print(f"\nsystemctl start, by hand: {by_hand.stderr}")
        d = the_diagnosis(*healthy.run(only={"smoke"}), "smoke", "R7")
        assert "ExecStart= is not an absolute path (gunicorn)" in d.cause
        assert any(line.startswith("ExecStart=gunicorn ") for line in d.evidence)
    finally:
        healthy.deploy_again("gunicorn")  # rewrites the unit it wrote, and restarts it
        assert unit.read_text() == text


def test_r7_the_environment_file_gone(healthy: Production) -> None:
    env_file = healthy.directory / ".deploy-tui.env"
    aside = healthy.directory / ".deploy-tui.env.aside"
    try:
        # As at the next boot: stopped, the file gone, started. (Without its environment file the replacement
        # refuses to stop or restart the unit at all: gunicorn would run on.)
        healthy.systemctl("stop", healthy.unit)
        env_file.rename(aside)
        by_hand = healthy.systemctl("start", healthy.unit)
        assert by_hand.returncode != 0
        print(f"\nsystemctl start, by hand: {by_hand.stderr}")
        d = the_diagnosis(*healthy.run(only={"smoke"}), "smoke", "R7")
        assert f"EnvironmentFile {env_file} is not there" in d.cause
        assert f"EnvironmentFile={env_file} (missing)" in d.evidence
    finally:
        if aside.exists():
            aside.rename(env_file)
        healthy.restart()


# R8: a variable the settings need.


def test_r8_the_secret_key_line_removed_from_the_environment_file(healthy: Production) -> None:
    env_file = healthy.directory / ".deploy-tui.env"
    text = env_file.read_text()
    try:
        env_file.write_text("".join(line for line in text.splitlines(True) if "SECRET_KEY" not in line))
        healthy.systemctl("restart", healthy.unit)
        time.sleep(1.5)  # the worker fails to boot, and gunicorn's master gives up
        d = the_diagnosis(*healthy.run(only={"smoke"}), "smoke", "R8")
        assert "environment variable DJANGO_SECRET_KEY" in d.cause
        assert "though deploy-tui writes it there" in d.cause
        assert any("ImproperlyConfigured: DJANGO_SECRET_KEY is empty" in line for line in d.evidence)
    finally:
        env_file.write_text(text)
        healthy.restart()


def test_r8_the_secret_key_not_in_deploy_toml(healthy: Production) -> None:
    env = tuple((k, v) for k, v in PROD_ENV.items() if k != "DJANGO_SECRET_KEY")
    options = Options(checkout=CHECKOUT, start_timeout=3.0)
    try:
        outcome, events = healthy.run(only={"gunicorn"}, site=healthy.site(env=env), options=options)
        d = the_diagnosis(outcome, events, "gunicorn", "R8")
        assert '[sites.NAME.env] DJANGO_SECRET_KEY = "{secret_key}"' in d.fix
    finally:
        healthy.deploy_again("gunicorn")


# R9: a 500 and nothing in any log.


def test_r9_a_view_raising_with_no_logging(healthy: Production) -> None:
    views = healthy.directory / "superlists" / "lists" / "views.py"
    text = views.read_text()
    raising = "def home_page(request: HttpRequest) -> HttpResponse:\n"
    assert raising in text
    try:
        views.write_text(text.replace(raising, raising + '    raise ValueError("the home page is broken")\n', 1))
        healthy.restart()
        d = the_diagnosis(*healthy.run(only={"smoke"}), "smoke", "R9")
        assert "no LOGGING" in d.cause
        assert '"loggers": {"django": {"handlers": ["console"], "level": "INFO"}}' in d.fix
        assert any('" 500 ' in line for line in d.evidence)
    finally:
        views.write_text(text)
        healthy.restart()
