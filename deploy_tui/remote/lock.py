"""One deployment of a site at a time: a lock on the server, held for the whole run, that names its holder.

Like Kamal's deploy lock, but held by the kernel rather than by a file's existence:
a shell on the server opens the lock file and takes `flock` on it, then waits on
its stdin. Closing that stdin (the run ended) or losing the connection (the run
was killed) ends the shell, and the kernel lets go of the lock, so a crashed run
never leaves a stale lock behind. The holder's description (who, where, which
run, since when; no secrets) sits beside it for a second run to name.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import shlex
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from deploy_tui.core.session import SessionError

if TYPE_CHECKING:
    from deploy_tui.remote.ssh import SshSession

_ACQUIRED = "deploy-tui-lock: acquired"
_BUSY = "deploy-tui-lock: busy"


class LockBusy(SessionError):
    """Another run holds the site's deploy lock; the message names it and the way to wait."""


def holder(site: str, run_id: str) -> dict[str, object]:
    """Who this run is, for a second run to name."""
    return {
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "run": run_id,
        "site": site,
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def lock_script(lock_word: str, holder_text: str, wait: float) -> str:
    """Take the lock (waiting up to `wait` seconds), say so, describe the holder, and hold it until stdin closes."""
    info = f"{lock_word}.json"
    flock = f"flock -w {wait:g} 9" if wait > 0 else "flock -n 9"
    # The description is best effort: on a full disk the lock is still taken, and the run goes on to say why.
    return (
        f'mkdir -p "$(dirname {lock_word})" && exec 9>>{lock_word} && '
        f"if {flock}; then {{ printf '%s\\n' {shlex.quote(holder_text)} > {info}; }} 2>/dev/null; "
        f"echo {shlex.quote(_ACQUIRED)} && cat >/dev/null; "
        f"else echo {shlex.quote(_BUSY)}; cat {info} 2>/dev/null; exit 3; fi"
    )


def describe(holder_json: str) -> str:
    try:
        data = json.loads(holder_json)
        return (
            f"{data.get('user', '?')}@{data.get('host', '?')} (pid {data.get('pid', '?')}, run {data.get('run', '?')}, "
            f"since {data.get('since', '?')})"
        )
    except (ValueError, AttributeError):
        return "another run (its description could not be read)"


@contextlib.asynccontextmanager
async def deploy_lock(
    session: SshSession, lock_word: str, site: str, run_id: str, wait: float = 0.0
) -> AsyncIterator[None]:
    """Hold the site's deploy lock for the body; LockBusy when another run holds it (after `wait` seconds)."""
    import asyncssh

    connection = await session.connection()
    script = lock_script(lock_word, json.dumps(holder(site, run_id)), wait)
    try:
        process = await connection.create_process(script)
        first = await asyncio.wait_for(process.stdout.readline(), timeout=wait + 30)
    except (OSError, asyncssh.Error, TimeoutError) as error:
        raise SessionError(f"{session.label}: could not take the deploy lock {lock_word}: {error}") from None
    if first.strip() not in (_ACQUIRED, _BUSY):
        # The lock file could not be made (a full disk, a site directory not ours): say what the shell said.
        said = tuple(line for line in (await process.stderr.read()).splitlines() if line.strip())
        process.close()
        why = said[-1] if said else "the lock's shell ended without a word"
        raise SessionError(f"{session.label}: could not take the deploy lock {lock_word}: {why}", said)
    if first.strip() == _BUSY:
        rest = (await process.stdout.read()).strip()
        process.close()
        waited = f" after waiting {wait:g} s" if wait > 0 else ""
        raise LockBusy(
            f"{site} is being deployed by {describe(rest)}{waited}: wait for that run to end, or pass "
            "--lock-wait SECONDS to wait for it"
        )
    try:
        yield
    finally:
        # Closing stdin ends the holding shell; the kernel then lets go of the lock.
        with contextlib.suppress(OSError, asyncssh.Error):
            process.stdin.write_eof()
            await asyncio.wait_for(process.wait(), timeout=10)
        process.close()
