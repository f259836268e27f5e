"""What we had to offer a server that refused our keys: for telling which of the usual slips it is (F1).

Key files are named and fingerprinted, never read out; the agent is only asked how many keys it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import asyncssh

from deploy_tui.core.failure import SshAuth

_AGENT_WAIT = 3.0


async def agent_keys() -> int | None:
    """How many keys the ssh agent holds; None when there is none to ask, or it did not answer."""
    if not os.environ.get("SSH_AUTH_SOCK"):
        return None
    try:
        async with asyncio.timeout(_AGENT_WAIT), await asyncssh.connect_agent() as agent:
            keys = await agent.get_keys()
    except (OSError, asyncssh.Error):
        return None
    return len(keys)


def default_keys() -> tuple[str, ...]:
    """The ~/.ssh/id_* private keys here: what ssh offers when no identity file is given."""
    ssh_dir = Path("~/.ssh").expanduser()
    found = sorted(p for p in ssh_dir.glob("id_*") if p.is_file() and not p.name.endswith(".pub"))
    return tuple(f"~/.ssh/{p.name}" for p in found)


def fingerprint(key_file: str) -> str:
    """The key's SHA256 fingerprint, from its .pub beside it or from the key itself if it is not encrypted."""
    private = Path(key_file).expanduser()
    with contextlib.suppress(OSError, asyncssh.KeyImportError):
        return str(asyncssh.read_public_key(f"{private}.pub").get_fingerprint("sha256"))
    with contextlib.suppress(OSError, asyncssh.KeyImportError):
        return str(asyncssh.read_private_key(private).get_fingerprint("sha256"))
    return "fingerprint unknown (no .pub beside it, and no key this opens without a passphrase)"


def offered(auth: SshAuth) -> tuple[str, ...]:
    """The keys we had, one line each, as evidence: files named and fingerprinted, the agent counted."""
    lines = [
        f"identity file {path}: " + ("not there" if path in auth.missing else fingerprint(path))
        for path in auth.identity_files
    ]
    if not auth.identity_files:
        lines.append("identity file: none given (deploy.toml's identity_file, ~/.ssh/config's IdentityFile)")
        lines += [f"default key {path}: {fingerprint(path)}" for path in auth.default_keys]
        lines += [] if auth.default_keys else ["default keys: no ~/.ssh/id_* here"]
    lines.append("ssh agent: " + ("none to ask" if auth.agent_keys is None else f"{auth.agent_keys} keys"))
    if auth.root_accepts is not None:
        lines.append(f"the same keys for root@{auth.host}: {'accepted' if auth.root_accepts else 'refused'}")
    return tuple(lines)
