"""The sandbox box as a production server: nginx, and systemctl through the box user's sudo.

What the production chapter's steps do over SSH, done here by hand: a gunicorn-like unit written to
/etc/systemd/system, enabled and started through sudo, an nginx site in front of it; then `down`
stops every process by pid and takes back every file, and `down --purge` the default site too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import pwd
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from deploy_tui.core.commands import Shell
from deploy_tui.core.secrets import Secret
from deploy_tui.remote.ssh import SshSession, SshTarget
from deploy_tui.sandbox import production
from deploy_tui.sandbox.box import BoxInfo, Sandbox
from tests.conftest import free_port
from tests.e2e.conftest import MakeSandbox

pytestmark = pytest.mark.e2e

USER = "dtuiprod"
RESOLVERS = ("127.0.63.11",)
AUTHORITY = "127.0.63.29"
DOMAIN = "dtuiprod.test"
UNIT = f"gunicorn-{DOMAIN}"

# A gunicorn stand-in: says who and where it runs, and logs a line as it starts.
APP = """\
import http.server, os, sys
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{os.getpid()} {os.getuid()} {os.getcwd()} {os.environ.get('GREETING')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
print("serving on", sys.argv[1], flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hello).serve_forever()
"""

UNIT_TEXT = """\
[Unit]
Description=gunicorn for {domain}

[Service]
Type=simple
User={user}
WorkingDirectory={site}
EnvironmentFile={site}/.env
ExecStart=/usr/bin/python3 {site}/app.py {port}
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""

SITE_TEXT = """\
server {{
    listen 80;
    server_name {domain};
    location / {{
        proxy_pass http://127.0.0.1:{port};
    }}
}}
"""


def on_box(box: BoxInfo, script: str, sudo: bool = True, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """script run on the box by the plain OpenSSH client as the box user, through sudo by default."""
    argv = box.ssh_argv()
    command = f"sudo -S -k -p '' sh -c {shlex.quote(script)}" if sudo else script
    return subprocess.run(
        [argv[0], "-o", "BatchMode=yes", *argv[1:], command],
        input=(box.sudo_password() + "\n" if sudo else "") + stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(box: BoxInfo, script: str, sudo: bool = True, stdin: str = "") -> str:
    done = on_box(box, script, sudo, stdin)
    assert done.returncode == 0, (script, done.stdout, done.stderr)
    return done.stdout


async def over_ssh_session(box: BoxInfo, script: str) -> None:
    """script run through sudo by deploy-tui's own SshSession, which then closes: as a step runs it."""
    target = SshTarget(box.address, box.ssh_port, box.user, (box.client_key,), box.known_hosts, config=())
    async with SshSession(target, emit=lambda event: None, sudo_password=Secret(box.sudo_password())) as session:
        result = await session.run(Shell(script), sudo=True, timeout=60)
        assert result.ok, (result.stdout_tail, result.stderr_tail)


def app_says(port: int) -> tuple[int, int, str, str]:
    pid, uid, cwd, greeting = httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text.split()
    return int(pid), int(uid), cwd, greeting


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def answers(port: int) -> bool:
    try:
        app_says(port)
    except httpx.TransportError:
        return False
    return True


def write_site(box: BoxInfo, domain: str) -> tuple[Path, int]:
    """The app of domain in the box user's ~/sites, and its unit in /etc/systemd/system (not yet started)."""
    port = free_port("127.0.0.1")
    site = Path(pwd.getpwnam(box.user).pw_dir) / "sites" / domain
    ok(box, f"mkdir -p {site} && cat > {site}/app.py && echo GREETING=hello > {site}/.env", sudo=False, stdin=APP)
    unit_text = UNIT_TEXT.format(domain=domain, user=box.user, site=site, port=port)
    ok(box, f"cat > {production.UNIT_DIR}/gunicorn-{domain}.service", stdin=unit_text)
    return site, port


def test_the_production_box_runs_units_behind_nginx_and_down_takes_all_back(make_sandbox: MakeSandbox) -> None:
    made = make_sandbox(USER, RESOLVERS, AUTHORITY)
    # make_sandbox's purge at the end reads state.json, which remembers production.
    sandbox = Sandbox(dataclasses.replace(made.config, production=True))
    had_default = os.path.lexists(production.DEFAULT_SITE) or not Path("/usr/sbin/nginx").exists()

    plan = "\n".join(sandbox.plan())
    assert "nginx's default site disabled" in plan
    assert "put back by `sandbox down --purge`" in plan
    assert "the nginx package stays installed" in plan
    if not production.systemd_is_init():
        assert f"{production.REPLACEMENT} {production.REPLACEMENT_VERSION}" in plan

    started = time.monotonic()
    box = sandbox.up()
    print(f"up with production: {time.monotonic() - started:.1f} s")
    bin_dir = sandbox.config.state_dir / "production" / "bin"

    # nginx answers for the box with its own 404, the default site is not enabled.
    nothing = httpx.get(f"http://{box.address}/", headers={"Host": "unknown.test"}, timeout=5)
    assert nothing.status_code == 404
    assert nothing.headers["server"].startswith("nginx")
    assert not os.path.lexists(production.DEFAULT_SITE)
    nginx_pid = int(production.NGINX_PID_FILE.read_text())
    assert alive(nginx_pid)

    # The box user's sudo finds the replacement; root's systemctl (plain or through sudo) is systemd's.
    if not production.systemd_is_init():
        found = ok(box, "command -v systemctl; command -v journalctl; systemctl --version").splitlines()
        assert found[:2] == [str(bin_dir / "systemctl"), str(bin_dir / "journalctl")]
        assert "systemctl.py" in "\n".join(found)
        assert ok(box, "command -v systemctl", sudo=False).strip() != str(bin_dir / "systemctl")
        for argv in (["systemctl", "--version"], ["sudo", "systemctl", "--version"]):
            root = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            assert "systemctl.py" not in root.stdout + root.stderr, argv
        assert ok(box, "visudo -c -q -f /etc/sudoers; echo checked") == "checked\n"

    # A gunicorn-like unit, written and started over SSH as the steps will, as the box user.
    site, port = write_site(box, DOMAIN)
    unit_file = production.UNIT_DIR / f"{UNIT}.service"
    started = time.monotonic()
    asyncio.run(over_ssh_session(box, f"systemctl daemon-reload && systemctl enable --now {UNIT}"))
    print(f"daemon-reload and enable --now over SSH: {time.monotonic() - started:.1f} s")
    # The SSH session that started it has ended; the unit runs on, as the box user, where it was told.
    wait_for(lambda: answers(port), f"{UNIT} answers on 127.0.0.1:{port}")
    pid, uid, cwd, greeting = app_says(port)
    assert (uid, cwd, greeting) == (pwd.getpwnam(box.user).pw_uid, str(site), "hello")
    assert ok(box, f"systemctl is-active {UNIT}") == "active\n"
    assert "active (running)" in ok(box, f"systemctl status {UNIT}")
    assert "serving on" in ok(box, f"journalctl -u {UNIT} -n 50")

    # restart: a new process, the old one gone.
    ok(box, f"systemctl restart {UNIT}")
    wait_for(lambda: not alive(pid), f"the old {UNIT} (pid {pid}) stopped")
    wait_for(lambda: answers(port), f"{UNIT} answers again")
    restarted = app_says(port)[0]
    assert restarted != pid

    # stop, then start again, so that down has a unit to stop.
    ok(box, f"systemctl stop {UNIT}")
    wait_for(lambda: not alive(restarted), f"{UNIT} (pid {restarted}) stopped")
    assert on_box(box, f"systemctl is-active {UNIT}").stdout == "inactive\n"
    ok(box, f"systemctl start {UNIT}")
    wait_for(lambda: answers(port), f"{UNIT} answers after start")
    unit_pid = app_says(port)[0]

    # nginx in front of it: the site, nginx -t and reload through sudo.
    available = production.NGINX_DIR / "sites-available" / DOMAIN
    enabled = production.NGINX_DIR / "sites-enabled" / DOMAIN
    site_text = SITE_TEXT.format(domain=DOMAIN, port=port)
    ok(box, f"cat > {available} && ln -sf {available} {enabled}", stdin=site_text)
    ok(box, "nginx -t -q && systemctl reload nginx")

    def proxied() -> bool:
        return httpx.get(f"http://{box.address}/", headers={"Host": DOMAIN}, timeout=5).status_code == 200

    wait_for(proxied, f"nginx proxies {DOMAIN} to the unit")
    assert httpx.get(f"http://{box.address}/", headers={"Host": DOMAIN}, timeout=5).text.split()[0] == str(unit_pid)
    assert int(production.NGINX_PID_FILE.read_text()) == nginx_pid  # reloaded, not restarted

    # Up again keeps what runs and installs nothing.
    reported: list[str] = []
    started = time.monotonic()
    Sandbox(sandbox.config, report=reported.append).up()
    print(f"up again: {time.monotonic() - started:.1f} s")
    assert not [line for line in reported if "install" in line], reported
    assert alive(nginx_pid)
    assert alive(unit_pid)

    # down stops nginx and the unit (checked by pid) and takes back their files, the drop-in and the replacement.
    drop_in = Path(f"/etc/sudoers.d/deploy-tui-sandbox-{box.user}")
    assert drop_in.exists() != production.systemd_is_init()
    reported.clear()
    Sandbox(sandbox.config, report=reported.append).down()
    print("\n".join(reported))
    assert not alive(unit_pid)
    assert not alive(nginx_pid)
    for gone in (unit_file, available, enabled, drop_in, bin_dir, production.CATCH_ALL):
        assert not os.path.lexists(gone), gone
    assert not list(production.UNIT_DIR.glob(f"*.wants/{UNIT}.service"))
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://{box.address}/", timeout=2)
    assert not os.path.lexists(production.DEFAULT_SITE)  # only --purge puts it back

    sandbox.down(purge=True)
    assert os.path.lexists(production.DEFAULT_SITE) == had_default
    assert not production.MACHINE_DIR.exists()
    assert Path("/usr/sbin/nginx").exists()  # the package stays


def test_nginx_stays_up_until_the_last_production_box_goes_down(make_sandbox: MakeSandbox) -> None:
    first = Sandbox(dataclasses.replace(make_sandbox(USER, ("127.0.63.12",), AUTHORITY).config, production=True))
    second = make_sandbox("dtuiprod2", ("127.0.63.13",), "127.0.63.39")
    second = Sandbox(dataclasses.replace(second.config, production=True))
    boxes = first.up(), second.up()
    nginx_pid = int(production.NGINX_PID_FILE.read_text())
    pids = []
    for box, domain in zip(boxes, ("dtuiprod-first.test", "dtuiprod-second.test"), strict=True):
        _, port = write_site(box, domain)
        ok(box, f"systemctl enable --now gunicorn-{domain}")
        wait_for(functools.partial(answers, port), f"{domain} answers")
        pids.append(app_says(port)[0])

    # The first box's down takes its own unit; nginx and the second box's unit run on.
    first.down()
    assert not alive(pids[0])
    assert alive(pids[1])
    assert alive(nginx_pid)
    assert not production.UNIT_DIR.joinpath("gunicorn-dtuiprod-first.test.service").exists()
    assert production.UNIT_DIR.joinpath("gunicorn-dtuiprod-second.test.service").exists()
    assert ok(boxes[1], "systemctl reload nginx && systemctl is-active nginx") == "active\n"
    assert httpx.get(f"http://{boxes[1].address}/", timeout=5).status_code == 404

    # The last one out stops nginx.
    second.down(purge=True)
    assert not alive(pids[1])
    assert not alive(nginx_pid)
    assert not production.CATCH_ALL.exists()
