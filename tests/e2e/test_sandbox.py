"""The sandbox box itself: each capability proven with the real programs, as a client would use them."""

from __future__ import annotations

import dataclasses
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from deploy_tui.sandbox.box import BoxInfo, ResolverInfo, Sandbox, SandboxConfig, SandboxError
from tests.conftest import free_port
from tests.e2e.conftest import MakeSandbox
from tests.procs import stop

Box = tuple[Sandbox, BoxInfo]
DEPLOY_TUI = [sys.executable, "-m", "deploy_tui"]
# The firewall test's server listens everywhere, as a careless deployment would.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104


def ssh(box: BoxInfo, command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """command run on the box by the plain OpenSSH client, never prompting."""
    argv = box.ssh_argv()
    return subprocess.run(
        [argv[0], "-o", "BatchMode=yes", *argv[1:], command],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ask(server: ResolverInfo, name: str, rdtype: str = "A", recurse: bool = True) -> dns.message.Message:
    """One UDP query; recurse=False clears RD, as a checker asking an authority directly does."""
    query = dns.message.make_query(name, rdtype)
    if not recurse:
        query.flags &= ~dns.flags.RD
    return dns.query.udp(query, server.address, port=server.port, timeout=3)


def answers(response: dns.message.Message) -> list[str]:
    return [item.address for rrset in response.answer for item in rrset]


def nameservers(response: dns.message.Message) -> list[str]:
    return [item.target.to_text() for rrset in response.answer for item in rrset]


def gone(pid: int) -> bool:
    """No process runs as pid (a zombie waiting for its parent does not count as running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def drop_rules() -> str:
    return subprocess.run(["iptables", "-S", "INPUT"], capture_output=True, text=True, check=True).stdout


@contextmanager
def listener(port: int) -> Iterator[None]:
    """A TCP server on 0.0.0.0:port in its own process, stopped by pid whatever happens."""
    code = (
        "import socket, sys\n"
        "s = socket.create_server((sys.argv[2], int(sys.argv[1])))\n"
        "print('ready', flush=True)\n"
        "while True: s.accept()[0].close()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(port), ALL_INTERFACES],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"ready\n"
        yield
    finally:
        stop(process)


def connects(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1.5):
            return True
    except TimeoutError:
        return False


# -- configuration (no root needed) ----------------------------------------------------------------


def test_a_non_loopback_address_is_refused() -> None:
    with pytest.raises(SandboxError) as refused:
        SandboxConfig(address="10.0.0.1")
    assert str(refused.value) == "address 10.0.0.1 is not a loopback address: use one in 127.0.0.0/8"


def test_the_cli_refuses_a_non_loopback_address_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [*DEPLOY_TUI, "sandbox", "up", "--state-dir", str(tmp_path), "--address", "10.0.0.1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == ("deploy-tui: address 10.0.0.1 is not a loopback address: use one in 127.0.0.0/8\n")
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(not Path("/usr/bin/setpriv").exists(), reason="needs util-linux's setpriv")
@pytest.mark.parametrize("action", ["up", "down"])
def test_without_root_the_cli_says_it_needs_root(action: str, tmp_path: Path) -> None:
    # The venv's python may sit under /root; the sandbox's CLI path needs only the standard library.
    checkout = Path(__file__).resolve().parents[2]
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    result = subprocess.run(
        [*nobody, "/usr/bin/python3", "-m", "deploy_tui", "sandbox", action, "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        cwd="/",
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith(f"deploy-tui: sandbox {action} needs root (")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ssh_port", 0, "ssh port 0 is out of range"),
        ("ssh_port", 70000, "ssh port 70000 is out of range"),
        ("user", "root", "user 'root' cannot be the box user"),
        ("user", "Elspeth", "user 'Elspeth' cannot be the box user"),
        ("resolvers", ("127.0.53.1", "8.8.8.8"), "resolver address 8.8.8.8 is not a loopback address"),
        ("authority", "8.8.8.8", "authority address 8.8.8.8 is not a loopback address"),
        ("authority", "127.0.53.2", "authority 127.0.53.2 is also the box or a resolver address"),
        ("authority", "127.0.0.2", "authority 127.0.0.2 is also the box or a resolver address"),
        ("domains", (), "no domains: give one or more"),
        ("domains", ("not a domain",), "domain 'not a domain' is not a domain name"),
    ],
)
def test_bad_config_names_the_value(field: str, value: object, message: str) -> None:
    with pytest.raises(SandboxError, match=message):
        SandboxConfig(**{field: value})  # type: ignore[arg-type]


def test_box_info_round_trips_through_json(tmp_path: Path) -> None:
    box = BoxInfo(
        address="127.0.0.2",
        ssh_port=2222,
        user="elspeth",
        client_key=tmp_path / "client_key",
        known_hosts=tmp_path / "known_hosts",
        sudo_password_file=tmp_path / "sudo_password",
        repo_url=str(tmp_path / "git/superlists.git"),
        host_key_fingerprint="SHA256:abc",
        sshd_pid=12,
        resolvers=(ResolverInfo("127.0.53.1", 53, "stale", 13),),
        authority=ResolverInfo("127.0.53.53", 53, "authoritative", 14),
        ns_name="ns1.sandbox-dns.test",
    )
    assert BoxInfo.from_json(json.loads(json.dumps(box.to_json()))) == box


# -- the session's box -------------------------------------------------------------------------------


def test_up_again_keeps_what_runs(sandbox_box: Box) -> None:
    sandbox, _ = sandbox_box
    before = sandbox.status()
    assert before is not None
    assert sandbox.up() == before
    assert sandbox.status() == before


def test_the_plain_ssh_client_logs_in_by_key(sandbox_box: Box) -> None:
    _, box = sandbox_box
    result = ssh(box, "id -un")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == box.user


def test_sudo_asks_for_the_password_and_takes_it(sandbox_box: Box) -> None:
    _, box = sandbox_box
    needs = ssh(box, "sudo -n true")
    assert needs.returncode != 0
    assert "password is required" in needs.stderr
    right = ssh(box, "sudo -S -k -p '' id -un", stdin=box.sudo_password() + "\n")
    assert right.returncode == 0, right.stderr
    assert right.stdout.strip() == "root"
    wrong = ssh(box, "sudo -S -k -p '' id -un", stdin="not-the-password\n")
    assert wrong.returncode != 0
    assert "incorrect password" in wrong.stderr


def test_the_secrets_are_only_for_root(sandbox_box: Box) -> None:
    _, box = sandbox_box
    assert box.sudo_password_file.stat().st_mode & 0o777 == 0o600
    assert box.client_key.stat().st_mode & 0o777 == 0o600
    assert box.sudo_password() not in json.dumps(box.to_json())


def test_the_box_user_clones_the_published_repo(sandbox_box: Box) -> None:
    _, box = sandbox_box
    published = subprocess.run(
        ["git", "-c", "safe.directory=*", "--git-dir", box.repo_url, "rev-parse", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    url = shlex.quote(box.repo_url)
    clone = (
        f'd=$(mktemp -d) && git clone -q {url} "$d/superlists" && git -C "$d/superlists" rev-parse HEAD '
        '&& test -f "$d/superlists/manage.py"; status=$?; rm -rf "$d"; exit $status'
    )
    result = ssh(box, clone)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == published


def test_each_resolver_answers_by_its_mode(sandbox_box: Box) -> None:
    sandbox, box = sandbox_box
    current, stale, nxdomain = box.resolvers
    for resolver in box.resolvers:
        # Current resolvers forward the zone to the authority: its answers, its TTL, its NXDOMAIN.
        response = ask(resolver, "superlists-staging.test")
        assert answers(response) == [box.address]
        assert 0 < response.answer[0].ttl <= 300
        assert nameservers(ask(resolver, "test", "NS")) == [f"{box.ns_name}."]
        assert answers(ask(resolver, box.ns_name)) == [box.authority.address]
        assert ask(resolver, "nope.test").rcode() == dns.rcode.NXDOMAIN
    try:
        sandbox.set_resolver_mode(stale.address, "stale")
        sandbox.set_resolver_mode(nxdomain.address, "nxdomain")
        assert answers(ask(current, "superlists.test")) == [box.address]
        assert answers(ask(stale, "superlists.test")) == ["127.0.0.99"]
        assert ask(nxdomain, "superlists.test").rcode() == dns.rcode.NXDOMAIN
        assert ask(current, "example.com").rcode() == dns.rcode.REFUSED
        # The rest of the zone still comes from the authority, as from a resolver with an old record.
        for resolver in (stale, nxdomain):
            assert nameservers(ask(resolver, "test", "NS")) == [f"{box.ns_name}."]
            assert answers(ask(resolver, box.ns_name)) == [box.authority.address]
        # The modes persist: another Sandbox on the same state dir (another process) sees them.
        seen = Sandbox(sandbox.config).status()
        assert seen is not None
        modes = {r.address: r.mode for r in seen.resolvers}
        assert modes == {current.address: "current", stale.address: "stale", nxdomain.address: "nxdomain"}
    finally:
        for resolver in box.resolvers:
            sandbox.set_resolver_mode(resolver.address, "current")
    assert answers(ask(nxdomain, "superlists.test")) == [box.address]


def test_the_authority_answers_for_the_zone_like_a_real_nameserver(sandbox_box: Box) -> None:
    sandbox, box = sandbox_box
    authority = box.authority
    assert (authority.address, authority.mode) == ("127.0.53.19", "authoritative")
    assert box.ns_name == "ns1.sandbox-dns.test"
    zone = ask(authority, "test", "NS", recurse=False)
    assert zone.flags & dns.flags.AA
    assert nameservers(zone) == [f"{box.ns_name}."]
    # (dnsmasq sets AA on its A answers only when it listens on an interface's own address.)
    for domain in sandbox.config.domains:
        response = ask(authority, domain, recurse=False)
        assert answers(response) == [box.address]
        assert response.answer[0].ttl == 300
    assert answers(ask(authority, box.ns_name, recurse=False)) == [authority.address]
    assert ask(authority, "nope.test", recurse=False).rcode() == dns.rcode.NXDOMAIN
    assert ask(authority, "example.com", recurse=False).rcode() == dns.rcode.REFUSED


def test_a_closed_port_times_out_outside_and_answers_inside(sandbox_box: Box) -> None:
    sandbox, box = sandbox_box
    port = free_port(ALL_INTERFACES)
    rule = f"-A INPUT -d {box.address}/32 -p tcp -m tcp --dport {port} -j DROP"
    with listener(port):
        assert connects(box.address, port)
        try:
            sandbox.close_port(port)
            assert rule in drop_rules()
            assert not connects(box.address, port)
            assert connects("127.0.0.1", port)
        finally:
            sandbox.open_port(port)
        assert rule not in drop_rules()
        assert connects(box.address, port)


def test_status_on_the_command_line_prints_the_ssh_command(sandbox_box: Box) -> None:
    sandbox, box = sandbox_box
    result = subprocess.run(
        [*DEPLOY_TUI, "sandbox", "status", "--state-dir", str(sandbox.config.state_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert shlex.join(box.ssh_argv()) in result.stdout
    assert str(box.sudo_password_file) in result.stdout
    assert box.sudo_password() not in result.stdout
    authority = box.authority
    row = f"authority    {authority.address}:{authority.port} {box.ns_name}, pid {authority.pid}\n"
    assert row in result.stdout


def test_another_box_in_the_same_state_dir_is_refused(sandbox_box: Box) -> None:
    sandbox, box = sandbox_box
    other = Sandbox(dataclasses.replace(sandbox.config, ssh_port=box.ssh_port + 1))
    with pytest.raises(SandboxError, match=f"is up as {box.user}@{box.address}:{box.ssh_port}: run"):
        other.up()
    with pytest.raises(SandboxError, match="not the one configured here"):
        other.close_port(8000)
    assert sandbox.status() == Sandbox(sandbox.config).status()


# -- boxes of their own --------------------------------------------------------------------------------


def test_down_stops_everything_and_removes_its_rules(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox("dtuitest2", ("127.0.53.14", "127.0.53.15", "127.0.53.16"), "127.0.53.29")
    box = sandbox.up()
    port = free_port(box.address)
    sandbox.close_port(port)
    sandbox.down()
    pids = [box.sshd_pid, box.authority.pid, *(r.pid for r in box.resolvers)]
    assert all(pids), pids
    assert all(gone(pid) for pid in pids), pids
    assert f"--dport {port} " not in drop_rules()
    assert sandbox.status() is None
    sandbox.down()  # nothing running: still fine
    sandbox.down(purge=True)
    assert not sandbox.config.state_dir.exists()
    assert subprocess.run(["id", "dtuitest2"], capture_output=True, check=False).returncode != 0


def test_down_stops_what_deployments_left_running_and_says_so(make_sandbox: MakeSandbox) -> None:
    said: list[str] = []
    sandbox = make_sandbox("dtuitest2", ("127.0.53.14", "127.0.53.15", "127.0.53.16"), "127.0.53.29")
    sandbox.up()
    sandbox._report = said.append  # type: ignore[method-assign]
    home = Path(pwd.getpwnam("dtuitest2").pw_dir)
    site = home / "sites" / "left-running"
    site.mkdir(parents=True)
    shutil.chown(site, "dtuitest2", "dtuitest2")
    # A stand-in for a dev server a deployment started, and one of the user's own that is not a deployment.
    server = subprocess.Popen(["runuser", "-u", "dtuitest2", "--", "sleep", "300"], cwd=site)
    other = subprocess.Popen(["runuser", "-u", "dtuitest2", "--", "sleep", "301"], cwd=home)
    try:
        deadline = time.monotonic() + 10
        while not _children_of_user("dtuitest2", "sleep 300") and time.monotonic() < deadline:
            time.sleep(0.05)
        (deployed,) = _children_of_user("dtuitest2", "sleep 300")
        sandbox.down()
        assert gone(deployed)
        assert any(f"pid {deployed}" in line and "left-running" in line for line in said), said
        assert _children_of_user("dtuitest2", "sleep 301")  # not under ~/sites: left alone
    finally:
        for process in (server, other):
            process.kill()
            process.wait(timeout=10)
        sandbox.down(purge=True)


def _children_of_user(user: str, command: str) -> list[int]:
    uid = pwd.getpwnam(user).pw_uid
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (
                    entry.stat().st_uid == uid
                    and (entry / "cmdline").read_bytes().replace(b"\0", b" ").strip() == command.encode()
                ):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_up_restarts_a_dead_authority_and_only_it(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox("dtuitest2", ("127.0.53.14", "127.0.53.15", "127.0.53.16"), "127.0.53.29")
    box = sandbox.up()
    os.kill(box.authority.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not gone(box.authority.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    dead = sandbox.status()
    assert dead is not None
    assert dead.authority.pid == 0
    result = subprocess.run(
        [*DEPLOY_TUI, "sandbox", "status", "--state-dir", str(sandbox.config.state_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"authority    {box.authority.address}:53 {box.ns_name}, NOT RUNNING" in result.stdout
    again = sandbox.up()
    assert again.authority.pid not in (0, box.authority.pid)
    assert (again.sshd_pid, again.resolvers) == (box.sshd_pid, box.resolvers)
    assert nameservers(ask(box.resolvers[0], "test", "NS")) == [f"{box.ns_name}."]


def test_a_new_host_key_is_refused_by_the_saved_one(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox("dtuitest2", ("127.0.53.14", "127.0.53.15", "127.0.53.16"), "127.0.53.29")
    box = sandbox.up()
    known_hosts = box.known_hosts.read_text()
    sandbox.regenerate_host_key()
    after = sandbox.status()
    assert after is not None
    assert after.host_key_fingerprint != box.host_key_fingerprint
    assert box.known_hosts.read_text() == known_hosts
    refused = ssh(box, "true")
    assert refused.returncode == 255
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in refused.stderr


def test_down_undoes_a_failed_up(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    sandbox = make_sandbox("dtuitest3", ("127.0.53.17",), "127.0.53.39")
    broken = Sandbox(dataclasses.replace(sandbox.config, checkout=tmp_path))
    with pytest.raises(SandboxError, match=f"{tmp_path} is not a git checkout with a commit"):
        broken.up()
    half = broken.status()
    assert half is not None  # sshd came up before the repo was published
    broken.down(purge=True)
    assert gone(half.sshd_pid)
    assert not broken.config.state_dir.exists()
    assert subprocess.run(["id", "dtuitest3"], capture_output=True, check=False).returncode != 0


def test_a_taken_port_is_named_and_left_alone(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox("dtuitest3", ("127.0.53.17",), "127.0.53.39")
    port = sandbox.config.ssh_port
    with socket.create_server((sandbox.config.address, port)) as taken:
        with pytest.raises(SandboxError) as refused:
            sandbox.up()
        assert f"{sandbox.config.address}:{port} (TCP) is not free" in str(refused.value)
        assert "\n" not in str(refused.value)
        assert taken.getsockname() == (sandbox.config.address, port)
    # The check comes before anything is changed on the machine.
    assert subprocess.run(["id", "dtuitest3"], capture_output=True, check=False).returncode != 0


def test_the_sandbox_engine_does_not_import_textual() -> None:
    code = "import sys, deploy_tui.sandbox.box; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60, check=False).returncode == 0
