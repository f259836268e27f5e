"""The sandbox box: a fake server on loopback, for the demo and the end-to-end tests.

A real OpenSSH sshd on ADDRESS:PORT with its own host key, a non-root user with a password-asking
sudo who logs in by a generated key, a bare git repo of this checkout, dnsmasq resolvers playing
public DNS (some stale) in front of a dnsmasq authoritative nameserver for the domains' zones, and
DROP rules playing a closed firewall. Everything lives in one state dir; state.json remembers what
we started (by pid) and created, so `down` removes exactly that.

state.json is {"box": BoxInfo, "created_user": bool, "added_to_sudo": bool, "domains": [...],
"stale_address": str, "closed_ports": [int], "production": bool}; a pid of 0 means "not running".
With production (sandbox.production), the box also runs nginx and a systemctl for its user's sudo.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import pwd
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from deploy_tui.sandbox import dns, host
from deploy_tui.sandbox import system as osx
from deploy_tui.sandbox.config import (
    MODES,
    BoxInfo,
    ResolverInfo,
    SandboxConfig,
    check_port,
    default_state_dir,
    sshd_config_text,
)
from deploy_tui.sandbox.production import Production
from deploy_tui.sandbox.system import SandboxError

__all__ = [
    "MODES",
    "BoxInfo",
    "ResolverInfo",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "default_state_dir",
]

PACKAGES = ("openssh-server", "openssh-client", "dnsmasq-base", "sudo", "git", "iptables")
SSHD = "/usr/sbin/sshd"


class Sandbox:
    """Builds, reports on and removes the box described by a SandboxConfig."""

    def __init__(self, config: SandboxConfig, report: Callable[[str], None] | None = None) -> None:
        self.config = config
        self._report = report or (lambda line: None)
        d = config.state_dir
        self._state_file = d / "state.json"
        self._host_key = d / "ssh_host_ed25519_key"
        self._sshd_config = d / "sshd_config"
        self._sshd_log = d / "sshd.log"
        self._authorized_keys = d / "authorized_keys"
        self._bare_repo = d / "git" / "superlists.git"
        self._dns_dir = d / "dns"

    # -- what it does -------------------------------------------------------------------------

    def plan(self) -> list[str]:
        """What `up` will create, in words, before it does (needs root, as `up` does)."""
        osx.require_root("sandbox up")
        c = self.config
        user = "exists: it gets" if host.user_exists(c.user) else "new, with a home,"
        resolvers = ", ".join(f"{resolver}:{c.dns_port}" for resolver in c.resolvers)
        lines = [
            f"state dir {c.state_dir} (keys, configs, logs, state.json)",
            f"user {c.user} ({user} in group sudo, a random password in {c.state_dir}/sudo_password)",
            f"sshd on {c.address}:{c.ssh_port} with its own host key, logins by key only",
            f"a bare git repo {self._bare_repo} of {c.checkout} HEAD as branch main",
            f"a dnsmasq authority on {c.authority}:{c.dns_port} as {dns.ns_name(c.domains)} for zones "
            f"{', '.join(dns.zones(c.domains))}: {', '.join(c.domains)} at {c.address}",
            f"dnsmasq resolvers on {resolvers} forwarding those zones to the authority",
        ]
        missing = osx.missing_packages(PACKAGES)
        if missing:
            lines.insert(0, f"Debian packages {' '.join(missing)} (apt-get install)")
        if self._wants_production(self._load() or {}):
            lines += self._production().plan()
        return lines

    def up(self) -> BoxInfo:
        """Build the box, or repair it: running parts are kept, dead or changed ones restarted."""
        osx.require_root("sandbox up")
        c = self.config
        missing = osx.missing_packages(PACKAGES)
        if missing:
            self._report(f"installing {' '.join(missing)}")
            osx.install_packages(missing)
        c.state_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        with self._locked():
            state = self._load() or {}
            state = self._adopt(state)
            self._save(state)
            self._check_ports_free(BoxInfo.from_json(state["box"]))
            self._ensure_user(state)
            box = self._ensure_keys(state)
            box = self._ensure_sshd(state, box, restart=False)
            self._report(f"publishing {c.checkout} HEAD to {self._bare_repo}")
            host.publish_repo(c.checkout, self._bare_repo, c.user)
            box = self._ensure_dns(state, box, box.authority, "authoritative")
            for resolver in box.resolvers:
                box = self._ensure_dns(state, box, resolver, resolver.mode)
            for port in state["closed_ports"]:
                host.firewall_close(c.address, port)
            if self._wants_production(state):
                # Remembered first, so a failed up is undone by down like the rest.
                state["production"] = True
                self._save(state)
                self._production().up()
            return box

    def status(self) -> BoxInfo | None:
        """The box as it runs now (dead processes show pid 0), or None if nothing of it runs."""
        state = self._load()
        if state is None:
            return None
        box = BoxInfo.from_json(state["box"])
        sshd = box.sshd_pid if osx.is_ours(box.sshd_pid, "sshd", self._sshd_marker()) else 0
        authority, *resolvers = (
            dataclasses.replace(r, pid=r.pid if osx.is_ours(r.pid, "dnsmasq", self._dns_marker(r)) else 0)
            for r in (box.authority, *box.resolvers)
        )
        if not sshd and not any(r.pid for r in (authority, *resolvers)):
            return None
        return dataclasses.replace(box, sshd_pid=sshd, resolvers=tuple(resolvers), authority=authority)

    def down(self, purge: bool = False) -> None:
        """Stop what we started (by pid), remove our firewall rules; purge also removes the user
        (if we created it) and the state dir."""
        osx.require_root("sandbox down")
        if not self._state_file.exists():
            return
        with self._locked():
            state, box = self._running_state(same_config=False)
            if osx.stop(box.sshd_pid, "sshd", self._sshd_marker()):
                self._report(f"stopped sshd (pid {box.sshd_pid})")
            for r in (*box.resolvers, box.authority):
                if osx.stop(r.pid, "dnsmasq", self._dns_marker(r)):
                    self._report(f"stopped dnsmasq on {r.address}:{r.port} (pid {r.pid})")
            if state.get("production"):
                self._production(box).down(purge)
            self._stop_deployments(box.user)
            for port in state["closed_ports"]:
                host.firewall_open(box.address, port)
                self._report(f"removed the DROP rule for {box.address}:{port}")
            state["closed_ports"] = []
            resolvers = tuple(dataclasses.replace(r, pid=0) for r in box.resolvers)
            authority = dataclasses.replace(box.authority, pid=0)
            self._save(state, dataclasses.replace(box, sshd_pid=0, resolvers=resolvers, authority=authority))
            if not purge:
                return
            if state["created_user"]:
                host.remove_user(box.user)
                self._report(f"removed user {box.user} and its home")
            elif state["added_to_sudo"]:
                host.remove_from_sudo_group(box.user)
            shutil.rmtree(self.config.state_dir)
            self._report(f"removed {self.config.state_dir}")

    def _wants_production(self, state: dict[str, Any]) -> bool:
        """Asked for now, or up already: the production part stays until down."""
        return self.config.production or bool(state.get("production"))

    def _production(self, box: BoxInfo | None = None) -> Production:
        """The production part of this box (of the saved box, for down)."""
        user, address = (box.user, box.address) if box else (self.config.user, self.config.address)
        return Production(self.config.state_dir, user, address, self._report)

    def _stop_deployments(self, user: str) -> None:
        """Stop what deployments into the box left running (dev servers): the box user's processes under ~/sites."""
        if not host.user_exists(user):
            return
        entry = pwd.getpwnam(user)
        if entry.pw_uid == 0:
            return
        sites = Path(entry.pw_dir) / "sites"
        for pid in osx.pids_of_uid(entry.pw_uid):
            try:
                cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue  # gone already, or not ours to look at
            if cwd == sites or sites in cwd.parents:
                osx.kill_and_wait(pid)
                self._report(f"stopped {command.strip()[:80]} (pid {pid}, user {user}, in {cwd})")

    def set_resolver_mode(self, address: str, mode: str) -> None:
        """Make one resolver answer the box address (current), a stale one, or NXDOMAIN."""
        osx.require_root("changing a sandbox resolver")
        if mode not in MODES:
            raise SandboxError(f"resolver mode {mode!r} is unknown: use one of {', '.join(MODES)}")
        with self._locked():
            state, box = self._running_state()
            for resolver in box.resolvers:
                if resolver.address == address:
                    self._ensure_dns(state, box, resolver, mode)
                    return
            known = ", ".join(r.address for r in box.resolvers)
            raise SandboxError(f"no sandbox resolver at {address}: the resolvers are {known}")

    def close_port(self, port: int) -> None:
        """Firewall: TCP to ADDRESS:port from "outside" is dropped (times out) until open_port."""
        self._firewall(port, close=True)

    def open_port(self, port: int) -> None:
        self._firewall(port, close=False)

    def regenerate_host_key(self) -> None:
        """A new sshd host key and a restarted sshd; known_hosts keeps the old key on purpose."""
        osx.require_root("regenerating the sandbox host key")
        with self._locked():
            state, box = self._running_state()
            osx.new_key(self._host_key, "deploy-tui-sandbox-host")
            self._ensure_sshd(state, box, restart=True)

    # -- pieces ---------------------------------------------------------------------------------

    def _adopt(self, state: dict[str, Any]) -> dict[str, Any]:
        """The state to build on: the old one if it describes the same box, else a fresh one."""
        c = self.config
        if not state:
            state = {
                "box": self._box(self._load_fingerprint(), 0, {}).to_json(),
                "created_user": False,
                "added_to_sudo": False,
                "closed_ports": [],
            }
        old = BoxInfo.from_json(state["box"])
        if not self._describes(old):
            described = f"{old.user}@{old.address}:{old.ssh_port}"
            if self.status() is not None or state["closed_ports"]:
                raise SandboxError(
                    f"the sandbox in {c.state_dir} is up as {described}: run `deploy-tui sandbox down "
                    f"--state-dir {c.state_dir}` first, or use another --state-dir"
                )
            if old.user != c.user and state["created_user"]:
                raise SandboxError(
                    f"the sandbox in {c.state_dir} created user {old.user}: run `deploy-tui sandbox down "
                    f"--purge --state-dir {c.state_dir}` first, or use another --state-dir"
                )
            if old.user != c.user:
                state = {**state, "created_user": False, "added_to_sudo": False}
            modes = {r.address: r.mode for r in old.resolvers}
            state = {**state, "box": self._box(old.host_key_fingerprint, 0, modes).to_json()}
        # The box's processes were started from the old domains; the new ones take effect as
        # _ensure_dns restarts them (it stops by pid file, not by arguments).
        box = {**state["box"], "ns_name": dns.ns_name(c.domains)}
        return {**state, "box": box, "domains": list(c.domains), "stale_address": c.stale_address}

    def _describes(self, box: BoxInfo) -> bool:
        """Whether box is the one this config asks for (the same address, ports, user, DNS servers)."""
        c = self.config
        wanted = (
            c.address,
            c.ssh_port,
            c.user,
            tuple(ResolverInfo(r, c.dns_port, "", 0) for r in (c.authority, *c.resolvers)),
        )
        blank = tuple(dataclasses.replace(r, mode="", pid=0) for r in (box.authority, *box.resolvers))
        return wanted == (box.address, box.ssh_port, box.user, blank)

    def _box(self, fingerprint: str, sshd_pid: int, modes: dict[str, str]) -> BoxInfo:
        c = self.config
        return BoxInfo(
            address=c.address,
            ssh_port=c.ssh_port,
            user=c.user,
            client_key=c.state_dir / "client_key",
            known_hosts=c.state_dir / "known_hosts",
            sudo_password_file=c.state_dir / "sudo_password",
            repo_url=str(self._bare_repo),
            host_key_fingerprint=fingerprint,
            sshd_pid=sshd_pid,
            resolvers=tuple(ResolverInfo(r, c.dns_port, modes.get(r, "current"), 0) for r in c.resolvers),
            authority=ResolverInfo(c.authority, c.dns_port, "authoritative", 0),
            ns_name=dns.ns_name(c.domains),
        )

    def _check_ports_free(self, box: BoxInfo) -> None:
        """Before changing anything: the ports of every part not yet running are free."""
        if not osx.is_ours(box.sshd_pid, "sshd", self._sshd_marker()):
            self._check_free(box.address, box.ssh_port, "the sandbox's sshd", "--ssh-port")
        for r in (box.authority, *box.resolvers):
            if not osx.is_ours(r.pid, "dnsmasq", self._dns_marker(r)):
                self._check_dns_free(r)

    def _check_free(self, address: str, port: int, needed_for: str, other: str) -> None:
        protocols = ["tcp"] if needed_for.endswith("sshd") else ["udp", "tcp"]
        fix = f"choose another with {other}, or stop what listens there"
        osx.check_free(address, port, protocols, needed_for, fix)

    def _ensure_user(self, state: dict[str, Any]) -> None:
        c = self.config
        if not host.user_exists(c.user):
            self._report(f"creating user {c.user}")
            host.create_user(c.user)
            state["created_user"] = True
            self._save(state)
        host.check_not_root(c.user)
        if not host.in_sudo_group(c.user):
            host.add_to_sudo_group(c.user)
            state["added_to_sudo"] = True
            self._save(state)
        password_file = c.state_dir / "sudo_password"
        if not password_file.exists():
            osx.write_file(password_file, secrets.token_urlsafe(18) + "\n", 0o600)
        os.chmod(password_file, 0o600)
        host.set_password(c.user, password_file.read_text().strip())

    def _ensure_keys(self, state: dict[str, Any]) -> BoxInfo:
        c = self.config
        box = BoxInfo.from_json(state["box"])
        if not box.client_key.exists():
            osx.new_key(box.client_key, "deploy-tui-sandbox-client")
        os.chmod(box.client_key, 0o600)
        client_pub = box.client_key.with_name("client_key.pub").read_text()
        osx.write_file(self._authorized_keys, client_pub, 0o644)
        if not self._host_key.exists():
            osx.new_key(self._host_key, "deploy-tui-sandbox-host")
        host_pub = self._host_key.with_name(self._host_key.name + ".pub").read_text().split()
        where = c.address if c.ssh_port == 22 else f"[{c.address}]:{c.ssh_port}"
        osx.write_file(box.known_hosts, f"{where} {host_pub[0]} {host_pub[1]}\n", 0o644)
        return box

    def _ensure_sshd(self, state: dict[str, Any], box: BoxInfo, restart: bool) -> BoxInfo:
        c = self.config
        text = sshd_config_text(c, self._host_key, self._authorized_keys)
        old_text = self._sshd_config.read_text() if self._sshd_config.exists() else ""
        running = osx.is_ours(box.sshd_pid, "sshd", self._sshd_marker())
        box = dataclasses.replace(box, host_key_fingerprint=self._load_fingerprint())
        if running and not restart and text == old_text:
            return self._save(state, box)
        osx.stop(box.sshd_pid, "sshd", self._sshd_marker())
        osx.write_file(self._sshd_config, text, 0o644)
        self._check_free(c.address, c.ssh_port, "the sandbox's sshd", "--ssh-port")
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        argv = [SSHD, "-D", "-f", str(self._sshd_config), "-E", str(self._sshd_log)]
        process = osx.start_daemon(argv, self._sshd_log)
        box = self._save(state, dataclasses.replace(box, sshd_pid=process.pid))
        osx.wait_listening(process, c.address, c.ssh_port, self._sshd_log, "sshd")
        self._report(f"sshd listens on {c.address}:{c.ssh_port} (pid {process.pid})")
        return box

    def _ensure_dns(self, state: dict[str, Any], box: BoxInfo, server: ResolverInfo, mode: str) -> BoxInfo:
        """Keep server (the authority or a resolver) running in mode: started if dead or changed."""
        argv = self._dnsmasq_argv(state, server, mode)
        if osx.is_ours(server.pid, "dnsmasq", " ".join(argv)):
            return box
        osx.stop(server.pid, "dnsmasq", self._dns_marker(server))
        self._check_dns_free(server)
        log = dns.log_file(self._dns_dir, server.address)
        process = osx.start_daemon(argv, log)
        updated = dataclasses.replace(server, mode=mode, pid=process.pid)
        if mode == "authoritative":
            box = dataclasses.replace(box, authority=updated)
        else:
            resolvers = tuple(updated if r.address == server.address else r for r in box.resolvers)
            box = dataclasses.replace(box, resolvers=resolvers)
        box = self._save(state, box)
        osx.wait_listening(process, server.address, server.port, log, "dnsmasq")
        self._report(f"dnsmasq answers {mode} on {server.address}:{server.port} (pid {process.pid})")
        return box

    def _check_dns_free(self, server: ResolverInfo) -> None:
        what = "the sandbox's authority" if server.mode == "authoritative" else "a sandbox resolver"
        self._check_free(server.address, server.port, what, "other DNS addresses")

    def _dnsmasq_argv(self, state: dict[str, Any], server: ResolverInfo, mode: str) -> list[str]:
        self._dns_dir.mkdir(mode=0o755, exist_ok=True)
        box, domains = state["box"], state["domains"]
        box_address = str(box["address"])
        if mode == "authoritative":
            return dns.authority_argv(self._dns_dir, server.address, server.port, domains, box_address)
        answer = {"current": box_address, "stale": str(state["stale_address"]), "nxdomain": ""}[mode]
        authority = (str(box["authority"]["address"]), int(box["authority"]["port"]))
        return dns.resolver_argv(self._dns_dir, server.address, server.port, mode, domains, answer, authority)

    def _firewall(self, port: int, close: bool) -> None:
        osx.require_root("changing the sandbox firewall")
        check_port("port", port)
        with self._locked():
            state, box = self._running_state()
            ports = [p for p in state["closed_ports"] if p != port]
            if close:
                host.firewall_close(box.address, port)
                ports.append(port)
            else:
                host.firewall_open(box.address, port)
            state["closed_ports"] = ports
            self._save(state, box)

    # -- state ----------------------------------------------------------------------------------

    def _sshd_marker(self) -> str:
        return f"-f {self._sshd_config}"

    def _dns_marker(self, server: ResolverInfo) -> str:
        return f"--pid-file={dns.pid_file(self._dns_dir, server.address)}"

    def _load_fingerprint(self) -> str:
        public = self._host_key.with_name(self._host_key.name + ".pub")
        return osx.fingerprint(public.read_text()) if public.exists() else ""

    def _running_state(self, same_config: bool = True) -> tuple[dict[str, Any], BoxInfo]:
        """The saved state and box; SandboxError if there is none (or, when same_config, if it is
        another box than this config describes)."""
        state = self._load()
        d = self.config.state_dir
        if state is None:
            raise SandboxError(f"no sandbox in {d}: run `deploy-tui sandbox up --state-dir {d}` first")
        box = BoxInfo.from_json(state["box"])
        if same_config and not self._describes(box):
            raise SandboxError(
                f"the sandbox in {d} is {box.user}@{box.address}:{box.ssh_port}, not the one configured "
                f"here ({self.config.user}@{self.config.address}:{self.config.ssh_port}): use its config"
            )
        return state, box

    def _load(self) -> dict[str, Any] | None:
        try:
            state: dict[str, Any] = json.loads(self._state_file.read_text())
            BoxInfo.from_json(state["box"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SandboxError(
                f"{self._state_file} is unreadable ({error}): stop its processes by hand and remove it"
            ) from None
        return state

    def _save(self, state: dict[str, Any], box: BoxInfo | None = None) -> BoxInfo:
        if box is not None:
            state["box"] = box.to_json()
        osx.write_file(self._state_file, json.dumps(state, indent=2) + "\n", 0o644)
        return BoxInfo.from_json(state["box"])

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One sandbox command at a time per state dir."""
        with (self.config.state_dir / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
