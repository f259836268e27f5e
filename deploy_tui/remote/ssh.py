"""One SSH connection per host, reused by every command, with output streamed as events.

Each command runs in its own process group on the host (a small wrapper reports
the group id on the first stderr line), so a cancel or a timeout can stop the
whole command and everything it started, not just close the channel. sudo reads
its password from stdin, never argv. Host keys are checked against an OpenSSH
known_hosts file before anything is sent; an unknown key is put to the caller,
a changed one is refused the way OpenSSH refuses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from deploy_tui.core.commands import Command, CommandResult, LineHook, Shell, script_of, sh, stop_group_script
from deploy_tui.core.events import CommandStarted, Sink
from deploy_tui.core.secrets import Redactor, Secret
from deploy_tui.core.session import SessionError, SudoPasswordRefused
from deploy_tui.remote.known_hosts import (
    HostKeyDecision,
    HostKeyPrompt,
    HostKeyQuestion,
    changed_warning,
    read_known_hosts,
    save_host_key,
    unknown_refusal,
)
from deploy_tui.remote.output import CommandOutput, pump

__all__ = [
    "HostKeyDecision",
    "HostKeyPrompt",
    "HostKeyQuestion",
    "Shell",
    "SshError",
    "SshSession",
    "SshTarget",
    "SudoPasswordRefused",
    "sh",
]

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts").expanduser()
_PGID_MARK = "\x1edeploy-tui-pgid "
_SUDO_REFUSED = re.compile(r"incorrect password attempt|Sorry, try again|no password was provided")
_KILL_GRACE = 2.0
_PGID_WAIT = 10.0


class SshError(SessionError):
    """A problem reaching or using the host; the message is one line, meant for the operator."""


class HostKeyChanged(SshError):
    pass


class HostKeyRejected(SshError):
    pass


@dataclass(frozen=True)
class SshTarget:
    """Where to connect. host may be an ~/.ssh/config alias; unset fields come from that config."""

    host: str
    port: int | None = None
    user: str | None = None
    client_keys: tuple[Path, ...] = ()  # empty: the agent, ~/.ssh/config and ~/.ssh/id_* as OpenSSH would
    known_hosts: Path = DEFAULT_KNOWN_HOSTS
    config: tuple[Path, ...] | None = None  # None: ~/.ssh/config

    @property
    def label(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{user}{self.host}{port}"


class HostKeyWitness(asyncssh.SSHClient):
    """Remembers the key a server presented when it was not among the trusted ones."""

    def __init__(self) -> None:
        self.presented: asyncssh.SSHKey | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.presented = key
        return False


def _wrap(script: str, sudo: bool) -> str:
    """The remote command line: a new session and process group, its id reported first on stderr.

    With sudo, sudo is outermost so the group is root's and holds the whole command
    tree; `-k` makes sudo always read the password, so the password line is never
    left over for the command, whose stdin is /dev/null.
    """
    inner = f'exec </dev/null; printf "{_PGID_MARK}%s\\n" "$$" >&2; exec sh -c "$1"'
    argv = ["setsid", "-w", "sh", "-c", inner, "deploy-tui", script]
    if sudo:
        argv = ["sudo", "-S", "-k", "-p", "", "--", *argv]
    return shlex.join(argv)


class SshSession:
    """One host: connect once, then run commands that stream their output as events."""

    def __init__(
        self,
        target: SshTarget,
        *,
        emit: Sink,
        redactor: Redactor | None = None,
        on_unknown_host_key: HostKeyPrompt | None = None,
        sudo_password: Secret | None = None,
        connect_timeout: float = 15.0,
    ) -> None:
        self.target = target
        self._emit = emit
        self._redact = redactor or Redactor()
        self._ask = on_unknown_host_key
        self._sudo_password = sudo_password
        if sudo_password:
            self._redact.add(sudo_password)
        self._connect_timeout = connect_timeout
        self._conn: asyncssh.SSHClientConnection | None = None
        self._ids = itertools.count(1)

    @property
    def label(self) -> str:
        return self.target.label

    # Connecting.

    async def __aenter__(self) -> SshSession:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        if self._conn is not None:
            return
        seen: dict[str, Any] = {}

        def trusted(host: str, addr: str, port: int | None) -> tuple[list[Any], list[Any], list[Any]]:
            label = f"[{host}]:{port}" if port else host
            try:
                known = read_known_hosts(self.target.known_hosts)
            except OSError as error:
                raise SshError(f"cannot read known_hosts file {self.target.known_hosts}: {error.strerror}") from None
            except ValueError:
                # Never the parser's own text: it quotes the offending line, and this may be any file at all.
                raise SshError(
                    f"known_hosts file {self.target.known_hosts} is not in OpenSSH's known_hosts format: "
                    "point known_hosts at one (ssh-keyscan writes one)"
                ) from None
            keys, cas, revoked, *_ = known.match(host, addr, port)
            seen.update(label=label, keys=keys)
            return list(keys), list(cas), list(revoked)

        witness = HostKeyWitness()
        try:
            self._conn = await self._open(trusted, witness)
            return
        except asyncssh.HostKeyNotVerifiable:
            pass
        key = witness.presented
        if key is None:
            raise SshError(f"{self.target.label}: the host key could not be verified")
        label, fingerprint = seen["label"], key.get_fingerprint("sha256")
        if seen["keys"]:
            raise HostKeyChanged(changed_warning(label, key, self.target.known_hosts))
        question = HostKeyQuestion(label, key.get_algorithm(), fingerprint, self.target.known_hosts)
        decision = await self._ask(question) if self._ask else HostKeyDecision.REJECT
        if decision is HostKeyDecision.REJECT:
            raise HostKeyRejected(unknown_refusal(label, key, self.target.known_hosts))
        if decision is HostKeyDecision.ACCEPT_AND_SAVE:
            save_host_key(self.target.known_hosts, label, key)
        # Pinned to the very key the operator accepted: a swap between the two connections fails.
        self._conn = await self._open(lambda h, a, p: ([key], [], []), HostKeyWitness())

    async def connection(self) -> asyncssh.SSHClientConnection:
        """The one connection, opened if it is not yet (for what holds a channel open, like the deploy lock)."""
        await self.connect()
        assert self._conn is not None
        return self._conn

    async def _open(self, known_hosts: Any, witness: HostKeyWitness) -> asyncssh.SSHClientConnection:
        target = self.target
        options: dict[str, Any] = {}
        if target.port:
            options["port"] = target.port
        if target.user:
            options["username"] = target.user
        if target.client_keys:
            options["client_keys"] = [str(p) for p in target.client_keys]
        if target.config is not None:
            options["config"] = [str(p) for p in target.config]
        try:
            conn = await asyncssh.connect(
                target.host,
                known_hosts=known_hosts,
                client_factory=lambda: witness,
                connect_timeout=self._connect_timeout,
                **options,
            )
        except asyncssh.HostKeyNotVerifiable:
            raise
        except asyncssh.PermissionDenied:
            raise SshError(
                f"{target.label}: the server refused our keys (check the user name, the key file, "
                "or that the public key is in the user's authorized_keys)"
            ) from None
        except (OSError, asyncssh.Error) as error:
            raise SshError(f"cannot connect to {target.label}: {_reason(error)}") from None
        return conn

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            with contextlib.suppress(Exception):
                await self._conn.wait_closed()
            self._conn = None

    # Running commands.

    async def run(
        self,
        command: Command,
        *,
        step: str = "",
        sudo: bool = False,
        timeout: float | None = None,
        capture: bool = False,
        on_line: LineHook | None = None,
        secret_output: bool = False,
        hide: Callable[[str], bool] | None = None,
    ) -> CommandResult:
        """Run a command, streaming its output as events; raise SshError only when it could not run.

        A timeout or a cancel stops the command's whole process group on the host.
        on_line sees each finished line (stream, text) after redaction, for progress parsing.
        secret_output: stdout is a secret being fetched (a key): captured as it is, never an event.
        """
        if self._conn is None:
            await self.connect()
        assert self._conn is not None
        if sudo and not self._sudo_password:
            raise SshError(f"{self.target.label}: this step needs sudo, and no sudo password was given")
        command_id = f"c{next(self._ids)}"
        script = script_of(command)
        display = self._redact(script)
        self._emit(
            CommandStarted(step=step, command_id=command_id, argv_display=display, host=self.target.label, sudo=sudo)
        )
        output = CommandOutput(
            self._emit,
            self._redact,
            step,
            command_id,
            capture=capture,
            secret=secret_output,
            on_line=on_line,
            hide=hide,
        )
        pgid: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def deliver(stream: str, lines: list[str]) -> None:
            # The wrapper's first stderr line is the group id the stop needs, not output.
            if stream == "stderr" and lines and not pgid.done() and lines[0].startswith(_PGID_MARK):
                pgid.set_result(int(lines.pop(0)[len(_PGID_MARK) :]))
            output.deliver(stream, lines)

        finish = output.finish

        try:
            process = await self._conn.create_process(_wrap(script, sudo), encoding=None)
        except (OSError, asyncssh.Error) as error:
            finish(None, error=_reason(error))
            raise SshError(f"{self.target.label}: could not start {display!r}: {_reason(error)}") from None
        try:
            if sudo and self._sudo_password:
                process.stdin.write(self._sudo_password.reveal().encode() + b"\n")
            process.stdin.write_eof()
            pumps = asyncio.gather(
                pump(process.stdout.read, "stdout", deliver, output.update),
                pump(process.stderr.read, "stderr", deliver, output.update),
            )
            try:
                async with asyncio.timeout(timeout):
                    # Shielded: on a timeout or cancel the pumps must keep reading, since
                    # the group id the stop needs may still be on its way.
                    await asyncio.shield(pumps)
                    completed = await process.wait()
            except TimeoutError:
                await self._stop_group(pgid, pumps, sudo)
                process.close()
                return finish(None, timed_out=True, error=f"timed out after {timeout:g} s")
            except asyncio.CancelledError:
                await asyncio.shield(self._stop_group(pgid, pumps, sudo))
                process.close()
                finish(None, cancelled=True)
                raise
        except (OSError, asyncssh.Error) as error:
            finish(None, error=_reason(error))
            raise SshError(f"{self.target.label}: lost the connection during {display!r}: {_reason(error)}") from None
        result = finish(completed.exit_status)
        refused = any(_SUDO_REFUSED.search(line) for line in result.stderr_tail)
        if sudo and result.exit_status == 1 and refused:
            raise SudoPasswordRefused(
                f"sudo on {self.target.label} refused the password for {self.target.user or 'the user'}: "
                "enter it again (it is the user's login password on the host)"
            )
        return result

    async def _stop_group(self, pgid_known: asyncio.Future[int], pumps: asyncio.Future[Any], sudo: bool) -> None:
        """TERM the command's process group, then KILL what is left after a grace period."""
        try:
            # sudo may still be checking the password; the group exists only after that.
            await asyncio.wait([pgid_known, pumps], timeout=_PGID_WAIT, return_when=asyncio.FIRST_COMPLETED)
            if not pgid_known.done():
                return  # it ended, or never got far enough to have a group
            pgid = pgid_known.result()
            await self._kill_group(pgid, sudo)
        finally:
            pumps.cancel()

    async def _kill_group(self, pgid: int, sudo: bool) -> None:
        script = stop_group_script(pgid, _KILL_GRACE) + "; exit 0"
        assert self._conn is not None
        with contextlib.suppress(OSError, asyncssh.Error):
            if sudo and self._sudo_password:
                # The group runs as root: only root may signal it.
                sudo_kill = shlex.join(["sudo", "-S", "-k", "-p", "", "--", "sh", "-c", script])
                await self._conn.run(sudo_kill, input=self._sudo_password.reveal() + "\n", timeout=15)
            else:
                await self._conn.run(script, stdin=asyncssh.DEVNULL, timeout=15)


def _reason(error: BaseException) -> str:
    if isinstance(error, asyncssh.Error):
        return error.reason or type(error).__name__
    if isinstance(error, OSError) and error.errno:
        return os.strerror(error.errno)  # asyncio's own text ("Connect call failed") says less
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
