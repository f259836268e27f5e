"""What a deployment leaves running on the benchmark's box, and how deploy_vs_ansible.py checks and stops it.

Chapter 9's deployment leaves a dev server (a pid file in the site directory, its own port);
production leaves gunicorn under a systemd unit, behind nginx on port 80 (the site chosen by
the Host header). Either way the benchmark finds the server's pid, checks that the site
answers as it should, and stops the server by its pid before a first deploy and at the end.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PID = "runserver.pid"  # chapter 9's dev server, in the site directory
UNIT_DIR = Path("/etc/systemd/system")
NGINX_DIR = Path("/etc/nginx")
_STYLESHEET = re.compile(r"""<link[^>]+href=["'](/static/[^"'?#]+\.css)""", re.IGNORECASE)
_DEBUG_PAGE = "Using the URLconf defined in"  # Django's 404 with DEBUG on lists the URLconf


class BenchmarkError(RuntimeError):
    """A run that failed or did not do what it should: the figures would mean nothing."""


@dataclass(frozen=True)
class Target:
    """Where one tool deploys on the box: its site directory, domain and dev-server port."""

    tool: str
    site_dir: str  # as the tool is told it
    directory: Path  # the same, on this machine (the box is this machine)
    app_port: int  # chapter 9's dev server; production answers on nginx's port 80
    domain: str


def get(address: str, port: int, host: str, path: str) -> tuple[int, dict[str, str], str]:
    """One HTTP GET to address:port with this Host: status, headers (lower-case names), body."""
    connection = http.client.HTTPConnection(address, port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


def _alive(pid: int, marker: bytes) -> bool:
    """A live (not zombie) process whose command line has marker in it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return False
    return state != "Z" and marker in cmdline


def _stop(pid: int, marker: bytes, group: bool, what: str) -> None:
    """TERM, then KILL, to pid (its process group with group), until it is gone; else BenchmarkError."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _alive(pid, marker):
            time.sleep(0.05)
        if not _alive(pid, marker):
            return
    raise BenchmarkError(f"{what} {pid} would not stop")


class DevServers:
    """Chapter 9: runserver in its own session, its pid in the site directory, on the site's own port."""

    what = "dev server"

    def __init__(self, address: str) -> None:
        self.address = address

    def pid(self, target: Target) -> int | None:
        """The pid in the site's pid file, if it names a live runserver."""
        try:
            text = (target.directory / PID).read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() and _alive(int(text), b"runserver") else None

    def check(self, target: Target) -> None:
        """The site answers 200 on the box address (loopback) with its domain as Host."""
        try:
            status, _, _ = get(self.address, target.app_port, f"{target.domain}:{target.app_port}", "/")
        except OSError as error:
            raise BenchmarkError(f"{target.tool}'s site does not answer on port {target.app_port}: {error}") from None
        if status != 200:
            raise BenchmarkError(f"{target.tool}'s site answers HTTP {status} on port {target.app_port}")

    def stop(self, target: Target) -> bool:
        """Stop the site's dev server by its pid file (its own session: one signal to its group)."""
        pid = self.pid(target)
        if pid is None:
            return False
        _stop(pid, b"runserver", group=True, what=f"the dev server of {target.tool}")
        return True

    def reset(self, target: Target) -> None:
        """Before a first deploy: no dev server and no site directory."""
        self.stop(target)
        if target.directory.exists():
            shutil.rmtree(target.directory)


class GunicornServers:
    """Production: gunicorn under the unit gunicorn-<domain>, behind nginx on port 80.

    systemctl is the one the box user's sudo runs (the sandbox's docker-systemctl-replacement
    where systemd is not PID 1), so the benchmark sees the units as the tools made them.
    """

    what = "gunicorn"

    def __init__(self, address: str, systemctl: str) -> None:
        self.address = address
        self.systemctl = systemctl

    @staticmethod
    def unit(target: Target) -> str:
        return f"gunicorn-{target.domain}.service"

    def _systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.systemctl, *args], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
        )

    def _marker(self, target: Target) -> bytes:
        return f"{target.directory}/.venv/bin/gunicorn".encode()

    def pid(self, target: Target) -> int | None:
        """The unit's MainPID, if it is a live gunicorn of this site (the replacement has no `show --value`)."""
        if not (UNIT_DIR / self.unit(target)).exists():
            return None
        shown = self._systemctl("show", "--property=MainPID", self.unit(target)).stdout
        found = re.search(r"^MainPID=(\d+)\s*$", shown, re.MULTILINE)
        pid = int(found[1]) if found else 0
        return pid if pid and _alive(pid, self._marker(target)) else None

    def check(self, target: Target) -> None:
        """Through nginx on port 80 with the site's Host: the page (200), its stylesheet (text/css), DEBUG off;
        and the unit's EnvironmentFile private (0600 or stricter) with DEBUG off in it."""
        where = f"{target.tool}'s site ({target.domain} on {self.address}:80)"
        self._check_env_file(target)
        try:
            status, headers, body = get(self.address, 80, target.domain, "/")
            if status != 200 or "nginx" not in headers.get("server", ""):
                raise BenchmarkError(f"{where} answers HTTP {status}, Server: {headers.get('server', 'none')}")
            sheet = _STYLESHEET.search(body)
            if sheet is None:
                raise BenchmarkError(f"{where}: its page links no stylesheet under /static/")
            status, headers, _ = get(self.address, 80, target.domain, sheet[1])
            if status != 200 or "text/css" not in headers.get("content-type", ""):
                raise BenchmarkError(f"{where}: {sheet[1]} answers HTTP {status} {headers.get('content-type', '')}")
            status, _, body = get(self.address, 80, target.domain, "/deploy-bench-no-such-page/")
            if status != 404 or _DEBUG_PAGE in body:
                raise BenchmarkError(f"{where}: a missing page answers HTTP {status}, or Django's debug page")
        except OSError as error:
            raise BenchmarkError(f"{where} does not answer: {error}") from None

    def _check_env_file(self, target: Target) -> None:
        unit = UNIT_DIR / self.unit(target)
        try:
            found = re.search(r"^EnvironmentFile=-?(\S+)\s*$", unit.read_text(), re.MULTILINE)
            if found is None:
                raise BenchmarkError(f"{target.tool}'s unit {unit} has no EnvironmentFile")
            env = Path(found[1])
            mode = env.stat().st_mode & 0o777
            text = env.read_text()
        except OSError as error:
            raise BenchmarkError(f"{target.tool}'s unit or its environment file: {error}") from None
        if mode & 0o077:
            raise BenchmarkError(f"{target.tool}'s environment file {env} is mode {mode:04o}, not 0600")
        if not re.search(r"^DJANGO_DEBUG=0$", text, re.MULTILINE):
            raise BenchmarkError(f"{target.tool}'s environment file {env} does not turn DEBUG off")

    def call_seconds(self, calls: int = 5) -> float:
        """The median wall time of one `systemctl is-active nginx`: what each call of this systemctl costs."""
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            self._systemctl("is-active", "--quiet", "nginx")
            times.append(time.perf_counter() - started)
        return sorted(times)[len(times) // 2]

    def stop(self, target: Target) -> bool:
        """systemctl stop, then by its pid: the main process gone (its workers go with it)."""
        pid = self.pid(target)
        if (UNIT_DIR / self.unit(target)).exists():
            self._systemctl("stop", self.unit(target))
        if pid is None:
            return False
        _stop(pid, self._marker(target), group=False, what=f"gunicorn of {target.tool}")
        return True

    def reset(self, target: Target) -> None:
        """Before a first deploy: no gunicorn, no unit, no nginx site, no site directory."""
        self.stop(target)
        unit = self.unit(target)
        if (UNIT_DIR / unit).exists():
            self._systemctl("disable", unit)
        for path in (*UNIT_DIR.glob(f"*.wants/{unit}"), UNIT_DIR / unit):
            path.unlink(missing_ok=True)
        for path in (NGINX_DIR / "sites-enabled" / target.domain, NGINX_DIR / "sites-available" / target.domain):
            path.unlink(missing_ok=True)
        self._systemctl("daemon-reload")  # the replacement says nothing useful here (stderr noise): not checked
        if target.directory.exists():
            shutil.rmtree(target.directory)
