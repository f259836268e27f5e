"""What a sandbox box is: its configuration (validated on creation) and how to reach it.

Plain data, shared by the sandbox engine, the CLI and the tests; BoxInfo round-trips through JSON.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy_tui.sandbox.system import SandboxError

MODES = ("current", "stale", "nxdomain")
CHECKOUT = Path(__file__).resolve().parents[2]
_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*$")


def default_state_dir() -> Path:
    return Path(os.environ.get("DEPLOY_TUI_SANDBOX_DIR", "/var/lib/deploy-tui/sandbox"))


def _loopback(what: str, value: str) -> None:
    try:
        loopback = ipaddress.IPv4Address(value) in ipaddress.IPv4Network("127.0.0.0/8")
    except ValueError:
        loopback = False
    if not loopback:
        raise SandboxError(f"{what} {value} is not a loopback address: use one in 127.0.0.0/8")


def check_port(what: str, value: int) -> None:
    if not 1 <= value <= 65535:
        raise SandboxError(f"{what} {value} is out of range: use a port from 1 to 65535")


@dataclass(frozen=True)
class SandboxConfig:
    """What box to build; validated on creation (SandboxError names the value and the fix)."""

    state_dir: Path = field(default_factory=default_state_dir)
    address: str = "127.0.0.2"
    ssh_port: int = 2222
    user: str = "elspeth"
    resolvers: tuple[str, ...] = ("127.0.53.1", "127.0.53.2", "127.0.53.3")
    dns_port: int = 53
    domains: tuple[str, ...] = ("superlists-staging.test", "superlists.test")
    checkout: Path = CHECKOUT
    stale_address: str = "127.0.0.99"
    authority: str = "127.0.53.53"
    # nginx, and a systemctl for the box user's sudo: the book's production chapter (sandbox.production).
    production: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "state_dir", Path(self.state_dir).absolute())
        object.__setattr__(self, "checkout", Path(self.checkout).absolute())
        _loopback("address", self.address)
        _loopback("stale address", self.stale_address)
        for resolver in self.resolvers:
            _loopback("resolver address", resolver)
        if not self.resolvers or len(set(self.resolvers)) != len(self.resolvers):
            raise SandboxError(f"resolvers {', '.join(self.resolvers)}: give one or more distinct addresses")
        _loopback("authority address", self.authority)
        if self.authority in (*self.resolvers, self.address):
            raise SandboxError(
                f"authority {self.authority} is also the box or a resolver address: give it its own address"
            )
        check_port("ssh port", self.ssh_port)
        check_port("dns port", self.dns_port)
        if not _USER_RE.match(self.user) or self.user == "root":
            raise SandboxError(
                f"user {self.user!r} cannot be the box user: use a non-root name like elspeth "
                "(lower case letters, digits, _ and -)"
            )
        if not self.domains:
            raise SandboxError("no domains: give one or more, like superlists.test")
        for domain in self.domains:
            if not _DOMAIN_RE.match(domain):
                raise SandboxError(f"domain {domain!r} is not a domain name: use one like superlists.test")


@dataclass(frozen=True)
class ResolverInfo:
    """One dnsmasq playing a public resolver (mode current, stale or nxdomain) or the domains'
    authoritative nameserver (mode authoritative)."""

    address: str
    port: int
    mode: str
    pid: int


@dataclass(frozen=True)
class BoxInfo:
    """How to reach the box: what `status` prints and what tests and the demo connect with."""

    address: str
    ssh_port: int
    user: str
    client_key: Path
    known_hosts: Path
    sudo_password_file: Path
    repo_url: str
    host_key_fingerprint: str
    sshd_pid: int
    resolvers: tuple[ResolverInfo, ...]
    authority: ResolverInfo
    ns_name: str

    def ssh_argv(self) -> list[str]:
        """The plain OpenSSH command line that logs in as the box user."""
        return [
            "ssh",
            "-i",
            str(self.client_key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-p",
            str(self.ssh_port),
            f"{self.user}@{self.address}",
        ]

    def sudo_password(self) -> str:
        return self.sudo_password_file.read_text().strip()

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("client_key", "known_hosts", "sudo_password_file"):
            data[key] = str(data[key])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BoxInfo:
        paths = {key: Path(data[key]) for key in ("client_key", "known_hosts", "sudo_password_file")}
        resolvers = tuple(ResolverInfo(**resolver) for resolver in data["resolvers"])
        # A state.json from before the authority existed: no authority ran, so none is described.
        authority = ResolverInfo(**data.get("authority", {"address": "", "port": 0, "mode": "", "pid": 0}))
        extra = {"resolvers": resolvers, "authority": authority, "ns_name": data.get("ns_name", "")}
        return cls(**{**data, **paths, **extra})


def sshd_config_text(c: SandboxConfig, host_key: Path, authorized_keys: Path) -> str:
    """The box's sshd_config: key logins for one user only, on one address and port."""
    return f"""\
# Written by deploy-tui sandbox up; rewritten on each up.
ListenAddress {c.address}
Port {c.ssh_port}
HostKey {host_key}
PidFile {c.state_dir}/sshd.pid
AuthorizedKeysFile {authorized_keys}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers {c.user}
UsePAM no
# The state dir may sit under /tmp (world-writable), which StrictModes refuses; the keys file is
# root-owned 0644 in a root-owned 0755 dir, which is what StrictModes would have checked.
StrictModes no
MaxSessions 64
MaxStartups 64:30:128
X11Forwarding no
PrintMotd no
Subsystem sftp /usr/lib/openssh/sftp-server
"""
