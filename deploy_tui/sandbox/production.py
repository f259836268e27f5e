"""The sandbox box as a production server: nginx, and a systemctl the box user's sudo can run.

The book's next chapter puts the site behind nginx and gunicorn under systemd. Here systemd is
not PID 1 (a container), so `systemctl start` cannot work for real; the daemonless
docker-systemctl-replacement (one Python script reading the real unit files) stands in for it,
first in sudo's secure_path for the box user only, so root's and everyone else's systemctl stay
what they were. Where systemd is PID 1, its own systemctl is used and nothing is installed.

nginx, its unit files and /etc/nginx are the machine's, not one box's: every box that asked for
production is an owner (a file in MACHINE_DIR/owners); `down` removes that box's units and
sites, and the last owner out also stops nginx. The nginx package stays installed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from deploy_tui.sandbox import system as osx
from deploy_tui.sandbox.system import SandboxError

REPLACEMENT = "docker-systemctl-replacement"
REPLACEMENT_VERSION = "1.7.1097"
# The wheel pip downloads is checked against this before anything of it runs as root.
REPLACEMENT_SHA256 = "a73781b1fda952817174f33b2a4624403ae79e879ab0449b92e4eeda70ca8edb"
# In the wheel: the python3 script, and its journalctl, which runs `systemctl3.py log` beside itself.
REPLACEMENT_SCRIPTS = {"systemctl2/systemctl3.py": "systemctl", "systemctl2/journalctl3.py": "journalctl"}

MACHINE_DIR = Path("/var/lib/deploy-tui/sandbox-production")
NGINX_DIR = Path("/etc/nginx")
DEFAULT_SITE = NGINX_DIR / "sites-enabled" / "default"
CATCH_ALL = NGINX_DIR / "conf.d" / "deploy-tui-sandbox.conf"
NGINX_PID_FILE = Path("/run/nginx.pid")
UNIT_DIR = Path("/etc/systemd/system")
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
SECURE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The replacement keeps its state beside what systemd would: {RUN}, {RUN}/systemd and {LOG}/journal.
REPLACEMENT_LEFTOVERS = ("/run/{unit}.status", "/run/systemd/{unit}.lock", "/run/systemd/notify.{unit}")
REPLACEMENT_LOG = "/var/log/journal/{unit}.log"
_USER_LINE = re.compile(r"^\s*User\s*=\s*(\S+)\s*$", re.MULTILINE)

# The box's own catch-all: without any server nginx listens nowhere. It listens on *:80 like the
# book's `listen 80;` sites do: a catch-all on the box address alone would take every request
# to that address away from them (nginx picks the most specific listen first, then the name).
CATCH_ALL_TEXT = """\
# Written by deploy-tui sandbox up --production; removed by the last sandbox down.
# A request for a name no enabled site serves gets a 404 from nginx.
server {
    listen 80 default_server;
    server_name _;
    return 404;
}
"""


def systemd_is_init() -> bool:
    """Whether systemd runs this machine, the way sd_booted(3) tells: /run/systemd/system exists."""
    return Path("/run/systemd/system").is_dir()


class Production:
    """The production part of one box: what `up` adds and `down` removes for it."""

    def __init__(self, state_dir: Path, user: str, address: str, report: Callable[[str], None]) -> None:
        self.user = user
        self.address = address
        self._report = report
        self.dir = state_dir / "production"
        self.bin = self.dir / "bin"
        self.sudoers = Path(f"/etc/sudoers.d/deploy-tui-sandbox-{user}")
        self._owner = MACHINE_DIR / "owners" / user
        self._aside = MACHINE_DIR / "default-site"
        self._replaced = not systemd_is_init()

    @property
    def systemctl(self) -> str:
        """The systemctl root runs for the box: the replacement, or systemd's own."""
        return str(self.bin / "systemctl") if self._replaced else "systemctl"

    def plan(self) -> list[str]:
        lines = []
        if osx.missing_packages(["nginx"]):
            lines.append(
                f"Debian's nginx (apt-get install, with a {POLICY_RC_D} that exits 101 for the time of "
                "the install so it does not start with the default site)"
            )
        lines.append(
            f"nginx's default site disabled: {DEFAULT_SITE} moved to {self._aside} (put back by `sandbox down --purge`)"
        )
        if self._replaced:
            lines.append(
                f"systemctl and journalctl for {self.user}'s sudo: {REPLACEMENT} {REPLACEMENT_VERSION} "
                f"from PyPI in {self.bin}, first in sudo's secure_path for {self.user} only "
                f"({self.sudoers}); root's systemctl is untouched"
            )
        else:
            lines.append("systemd is PID 1: its own systemctl and journalctl, nothing installed")
        lines += [
            f"nginx started by that systemctl with no site enabled, a catch-all {CATCH_ALL} answering 404 on *:80",
            f"sandbox down stops the gunicorn-*.test units running as {self.user} and removes their unit files and "
            f"*.test sites, the replacement and the sudoers drop-in; the last box down stops nginx; the nginx "
            "package stays installed",
        ]
        return lines

    def up(self) -> None:
        """nginx installed and running with our catch-all only, systemctl reachable through sudo."""
        install_nginx(self._report)
        self.dir.mkdir(mode=0o755, exist_ok=True)
        with _machine_lock():
            osx.write_file(self._owner, f"{self.dir}\n", 0o644)
            if self._replaced:
                self._install_replacement()
                self._install_sudoers()
            self._disable_default_site()
            self._start_nginx()

    def down(self, purge: bool) -> None:
        """Remove this box's units and sites, the replacement and the drop-in; nginx goes with the
        last owner, and on purge the default site comes back once no box needs it away."""
        if not MACHINE_DIR.exists() and not self.dir.exists():
            return
        with _machine_lock():
            last = not self._other_owners()
            usable = not self._replaced or (self.bin / "systemctl").exists()
            for unit in _sandbox_units(None if last else self.user):
                self._remove_unit(unit, usable)
            if usable:
                self._run(["daemon-reload"], check=False)
            if last:
                self._stop_nginx(usable)
            elif usable and self._nginx_active():
                self._run(["reload", "nginx"])
            if last:
                CATCH_ALL.unlink(missing_ok=True)
            if self._replaced:
                self.sudoers.unlink(missing_ok=True)
                self._report(f"removed the replacement systemctl in {self.bin} and {self.sudoers}")
            shutil.rmtree(self.dir, ignore_errors=True)
            self._owner.unlink(missing_ok=True)
            if last and purge:
                self._restore_default_site()
                shutil.rmtree(MACHINE_DIR, ignore_errors=True)

    # -- pieces ---------------------------------------------------------------------------------

    def _install_replacement(self) -> None:
        if all((self.bin / name).exists() for name in REPLACEMENT_SCRIPTS.values()):
            return
        self._report(f"installing {REPLACEMENT} {REPLACEMENT_VERSION} from PyPI into {self.bin}")
        with tempfile.TemporaryDirectory(dir=self.dir) as download:
            argv = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
            argv += ["--dest", download, f"{REPLACEMENT}=={REPLACEMENT_VERSION}"]
            done = osx.run(argv, timeout=300, check=False)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
                raise SandboxError(
                    f"pip download {REPLACEMENT}=={REPLACEMENT_VERSION} with {sys.executable} failed: {last}: "
                    "run deploy-tui from a Python that has pip (its venv, or Debian's python3-pip)"
                )
            wheels = list(Path(download).glob("*.whl"))
            if len(wheels) != 1 or hashlib.sha256(wheels[0].read_bytes()).hexdigest() != REPLACEMENT_SHA256:
                raise SandboxError(
                    f"pip download of {REPLACEMENT}=={REPLACEMENT_VERSION} did not give the wheel of SHA-256 "
                    f"{REPLACEMENT_SHA256}: look at what your package index serves"
                )
            self.bin.mkdir(mode=0o755, exist_ok=True)
            with zipfile.ZipFile(wheels[0]) as wheel:
                for member, name in REPLACEMENT_SCRIPTS.items():
                    script = Path(member).name
                    osx.write_file(self.bin / script, wheel.read(member).decode(), 0o755)
                    # journalctl3.py looks for systemctl3.py beside its own path.
                    with contextlib.suppress(FileNotFoundError):
                        (self.bin / name).unlink()
                    (self.bin / name).symlink_to(script)

    def _install_sudoers(self) -> None:
        text = (
            "# Written by deploy-tui sandbox up --production; removed by sandbox down.\n"
            f"# {self.user}'s sudo finds the sandbox's systemctl and journalctl first.\n"
            f'Defaults:{self.user} secure_path="{self.bin}:{SECURE_PATH}"\n'
        )
        if self.sudoers.exists() and self.sudoers.read_text() == text:
            return
        candidate = self.dir / "sudoers"
        osx.write_file(candidate, text, 0o440)
        osx.run(["visudo", "-c", "-q", "-f", str(candidate)])
        # A name with a dot in it is skipped by sudo's @includedir, so write_file's temporary is inert.
        osx.write_file(self.sudoers, text, 0o440)

    def _disable_default_site(self) -> None:
        if not os.path.lexists(DEFAULT_SITE):
            return
        MACHINE_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        if os.path.lexists(self._aside):
            # The package put it back (a reinstall): the one kept aside is the one to restore.
            DEFAULT_SITE.unlink()
        else:
            os.rename(DEFAULT_SITE, self._aside)
        self._report(f"disabled nginx's default site (kept in {self._aside})")

    def _restore_default_site(self) -> None:
        if os.path.lexists(self._aside) and not os.path.lexists(DEFAULT_SITE):
            os.rename(self._aside, DEFAULT_SITE)
            self._report(f"put nginx's default site back in {DEFAULT_SITE}")

    def _start_nginx(self) -> None:
        written = CATCH_ALL.exists() and CATCH_ALL.read_text() == CATCH_ALL_TEXT
        osx.write_file(CATCH_ALL, CATCH_ALL_TEXT, 0o644)
        test = osx.run(["nginx", "-t", "-q"], check=False)
        if test.returncode != 0:
            raise SandboxError(f"nginx -t refuses /etc/nginx: {test.stderr.strip()}: fix or remove that site")
        if self._nginx_active():
            if not written:
                self._run(["reload", "nginx"])
            return
        osx.check_free("0.0.0.0", 80, ["tcp"], "nginx", "stop what listens on port 80 first")  # noqa: S104
        self._run(["start", "nginx"])
        _wait_answering(self.address, 80)
        self._report(f"nginx answers on {self.address}:80 (pid {_nginx_pid()})")

    def _stop_nginx(self, usable: bool) -> None:
        """Stop nginx through systemctl, then check by its pid that it is gone."""
        pid = _nginx_pid()
        if usable:
            self._run(["stop", "nginx"], check=False)
        if osx.stop(pid, "nginx", "master process"):
            self._report(f"nginx (pid {pid}) outlived systemctl stop: killed it")
        elif pid:
            self._report(f"stopped nginx (pid {pid})")
        if self._replaced:
            _remove_leftovers("nginx.service")

    def _nginx_active(self) -> bool:
        return self._run(["is-active", "--quiet", "nginx"], check=False).returncode == 0

    def _remove_unit(self, unit: Path, usable: bool) -> None:
        """Stop the unit and check its process is gone (by pid), then remove it and its site."""
        pid = 0
        if usable:
            shown = self._run(["show", "--property=MainPID", unit.name], check=False).stdout.strip()
            pid = int(shown.partition("=")[2]) if shown.partition("=")[2].isdigit() else 0
            self._run(["stop", unit.name], check=False)
            self._run(["disable", unit.name], check=False)
        if osx.alive(pid):
            osx.kill_and_wait(pid)
        for wants in UNIT_DIR.glob(f"*.wants/{unit.name}"):
            wants.unlink(missing_ok=True)
        unit.unlink(missing_ok=True)
        if self._replaced:
            _remove_leftovers(unit.name)
        domain = unit.name.removeprefix("gunicorn-").removesuffix(".service")
        for site in (NGINX_DIR / "sites-enabled" / domain, NGINX_DIR / "sites-available" / domain):
            site.unlink(missing_ok=True)
        self._report(f"stopped and removed {unit.name}{f' (pid {pid})' if pid else ''} and nginx site {domain}")

    def _other_owners(self) -> list[Path]:
        """The other boxes with production up: owners whose production dir still exists."""
        owners = MACHINE_DIR / "owners"
        found = []
        for owner in owners.glob("*") if owners.is_dir() else ():
            if owner == self._owner:
                continue
            if Path(owner.read_text().strip()).is_dir():
                found.append(owner)
            else:
                owner.unlink(missing_ok=True)  # a box whose state dir went away without `down`
        return found

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        return osx.run([self.systemctl, *args], check=check, timeout=120)


def install_nginx(report: Callable[[str], None]) -> None:
    """Debian's nginx, when missing, without its postinst starting it with the default site."""
    if not osx.missing_packages(["nginx"]):
        return
    report(f"installing nginx (with a {POLICY_RC_D} that exits 101 until it is installed)")
    saved = POLICY_RC_D.with_name("policy-rc.d.deploy-tui-saved")
    if POLICY_RC_D.exists() and not saved.exists():
        os.rename(POLICY_RC_D, saved)
    try:
        osx.write_file(
            POLICY_RC_D, "#!/bin/sh\n# deploy-tui sandbox: no service starts while it installs nginx\nexit 101\n", 0o755
        )
        osx.install_packages(["nginx"])
    finally:
        if saved.exists():
            os.replace(saved, POLICY_RC_D)
        else:
            POLICY_RC_D.unlink(missing_ok=True)


def _sandbox_units(user: str | None) -> list[Path]:
    """The gunicorn-*.test unit files; with a user, only those whose User= is that user."""
    units = sorted(UNIT_DIR.glob("gunicorn-*.test.service"))
    if user is None:
        return units
    return [unit for unit in units if user in _USER_LINE.findall(unit.read_text(errors="replace"))]


def _remove_leftovers(unit: str) -> None:
    for pattern in (*REPLACEMENT_LEFTOVERS, REPLACEMENT_LOG):
        Path(pattern.format(unit=unit)).unlink(missing_ok=True)


def _nginx_pid() -> int:
    try:
        text = NGINX_PID_FILE.read_text().strip()
    except OSError:
        return 0
    return int(text) if text.isdigit() else 0


def _wait_answering(address: str, port: int) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SandboxError(
                    f"nginx does not answer on {address}:{port} after 15 s: look at /var/log/nginx/error.log"
                ) from None
            time.sleep(0.05)


@contextlib.contextmanager
def _machine_lock() -> Iterator[None]:
    """One box at a time changes nginx and the units: they are the machine's."""
    (MACHINE_DIR / "owners").mkdir(mode=0o755, parents=True, exist_ok=True)
    with (MACHINE_DIR / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
