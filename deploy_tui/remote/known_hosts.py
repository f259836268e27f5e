"""Host keys the OpenSSH way: a known_hosts file, the question for a key never seen, the refusal of a changed one."""

from __future__ import annotations

import enum
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncssh


class HostKeyDecision(enum.Enum):
    REJECT = "reject"
    ACCEPT_ONCE = "accept-once"
    ACCEPT_AND_SAVE = "accept-and-save"


@dataclass(frozen=True)
class HostKeyQuestion:
    """What the operator is asked about a host key nobody has seen before."""

    host: str  # as known_hosts names it: "host" or "[host]:port"
    key_type: str
    fingerprint: str  # "SHA256:..."
    known_hosts: Path


HostKeyPrompt = Callable[[HostKeyQuestion], Awaitable[HostKeyDecision]]


def read_known_hosts(path: Path) -> asyncssh.SSHKnownHosts:
    """The file's entries (none when it does not exist yet); ValueError or OSError when unreadable."""
    import asyncssh

    return asyncssh.import_known_hosts(path.read_text() if path.exists() else "")


def save_host_key(path: Path, label: str, key: asyncssh.SSHKey) -> None:
    """Append the key as OpenSSH writes it: `[host]:port type base64`."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_type, key_data = key.export_public_key("openssh").decode().split()[:2]
    with path.open("a") as file:
        file.write(f"{label} {key_type} {key_data}\n")


def changed_warning(label: str, key: asyncssh.SSHKey, known_hosts: Path) -> str:
    return (
        f"REMOTE HOST IDENTIFICATION HAS CHANGED for {label}: it now offers {key.get_algorithm()} "
        f"key {key.get_fingerprint('sha256')}, not the one in {known_hosts}. Someone could be "
        f"eavesdropping (man-in-the-middle), or the host was rebuilt; if you trust the change, "
        f"run: ssh-keygen -R {shlex.quote(label)} -f {shlex.quote(str(known_hosts))}"
    )


def unknown_refusal(label: str, key: asyncssh.SSHKey, known_hosts: Path) -> str:
    return (
        f"{label} offers an unknown {key.get_algorithm()} host key {key.get_fingerprint('sha256')}; it was not "
        f"accepted, so nothing was run (add it to {known_hosts} once you have checked it)"
    )
