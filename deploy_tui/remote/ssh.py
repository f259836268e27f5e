"""One SSH connection per host, reused by every command, with output streamed as events.

Each command runs in its own process group on the host (a small wrapper reports
the group id on the first stderr line), so a cancel or a timeout can stop the
whole command and everything it started, not just close the channel. sudo reads
its password from stdin, never argv. Host keys are checked against an OpenSSH
known_hosts file before anything is sent; an unknown key is put to the caller,
a changed one is refused the way OpenSSH refuses it. When the server refuses our
keys, the error says what we had to offer (files, agent, whether root takes them),
and a refused sudo password carries sudo's own words, for the diagnoses.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import itertools
import os
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import asyncssh

from deploy_tui.core.commands import Command, CommandResult, LineHook, Shell, script_of, sh, stop_group_script
from deploy_tui.core.events import CommandFinished, CommandStarted, Sink
from deploy_tui.core.failure import Facts, SshAuth
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
from deploy_tui.remote.refused_keys import agent_keys, default_keys, offered

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
# Asked only after the server refused our keys, to tell which slip it is: short, so the error comes soon.
_ROOT_PROBE_TIMEOUT = 5.0


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
        self._connecting = asyncio.Lock()
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
        # One connection however many commands ask at once (the engine checks every step together).
        async with self._connecting:
            if self._conn is None:
                await self._connect()

    async def _connect(self) -> None:
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

    def _options(self, **overrides: Any) -> dict[str, Any]:
        """asyncssh's options for this target: what deploy.toml sets; the rest comes from ~/.ssh/config."""
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
        return {**options, **overrides}

    async def _open(self, known_hosts: Any, witness: HostKeyWitness) -> asyncssh.SSHClientConnection:
        target = self.target
        try:
            conn = await asyncssh.connect(
                target.host,
                known_hosts=known_hosts,
                client_factory=lambda: witness,
                connect_timeout=self._connect_timeout,
                **self._options(),
            )
        except asyncssh.HostKeyNotVerifiable:
            raise
        except asyncssh.PermissionDenied:
            auth, port = await self._keys_offered(known_hosts, ask_root=True)
            raise _keys_error(
                f"{target.label}: the server refused our keys (check the user name, the key file, "
                "or that the public key is in the user's authorized_keys)",
                auth,
                port,
            ) from None
        except (OSError, asyncssh.Error) as error:
            # asyncssh reads the identity files before it connects: a missing one is a FileNotFoundError.
            if isinstance(error, FileNotFoundError):
                auth, port = await self._keys_offered(known_hosts, ask_root=False)
                if auth.missing:
                    message = f"{target.label}: the identity file {auth.missing[0]} is not there"
                    raise _keys_error(message, auth, port) from None
            raise SshError(f"cannot connect to {target.label}: {_reason(error)}") from None
        return conn

    async def _keys_offered(self, known_hosts: Any, *, ask_root: bool) -> tuple[SshAuth, int | None]:
        """What we had to offer when no key got us in, and the port: for telling which of the usual slips it is.

        Key files are named and fingerprinted, never read out; the agent is only asked how many keys it holds.
        """
        target = self.target
        user, port = target.user or getpass.getuser(), target.port
        identity_files = tuple(str(p) for p in target.client_keys)
        with contextlib.suppress(OSError, asyncssh.Error, ValueError):
            # The same reading of ~/.ssh/config that connect made, without loading any key (client_keys=None).
            resolved = asyncssh.SSHClientConnectionOptions(host=target.host, **self._options(client_keys=None))
            user, port = resolved.username, resolved.port
            configured = cast("list[str]", resolved.config.get("IdentityFile", []))
            identity_files = identity_files or tuple(configured)
        root_accepts = await self._root_accepts(known_hosts) if ask_root and user != "root" else None
        auth = SshAuth(
            user=user,
            host=target.host,
            identity_files=identity_files,
            missing=tuple(p for p in identity_files if not Path(p).expanduser().is_file()),
            agent_keys=await agent_keys(),
            default_keys=default_keys(),
            root_accepts=root_accepts,
        )
        return auth, port

    async def _root_accepts(self, known_hosts: Any) -> bool | None:
        """Whether the same keys log in as root, with the same host-key trust; None when the server did not say.

        The chapter's usual slip: the provider put the key in root's authorized_keys only.
        """
        try:
            conn = await asyncssh.connect(
                self.target.host,
                known_hosts=known_hosts,
                client_factory=HostKeyWitness,
                connect_timeout=_ROOT_PROBE_TIMEOUT,
                **self._options(username="root"),
            )
        except asyncssh.PermissionDenied:
            return False
        except (OSError, asyncssh.Error):
            return None
        conn.close()
        with contextlib.suppress(Exception):
            await conn.wait_closed()
        return True

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
            user = self._conn.get_extra_info("username") or self.target.user or ""
            raise SudoPasswordRefused(
                f"sudo on {self.target.label} refused the password for {user or 'the user'}: "
                "enter it again (it is the user's login password on the host)",
                tuple(line for line in result.stderr_tail if line.strip())[-6:],  # sudo's own words, redacted
                Facts(user=user),
            )
        return result

    async def put(self, local: Path, remote: str, *, step: str = "", what: str = "") -> None:
        """Copy a file of this machine to the host over SFTP, on the one connection."""
        connection = await self.connection()
        command_id = f"c{next(self._ids)}"
        where = remote if remote.startswith("/") else f"~/{remote}"
        display = f"sftp put {what or local.name} {where}"
        self._emit(CommandStarted(step=step, command_id=command_id, argv_display=display, host=self.label))
        began = time.monotonic()

        def finished(status: int | None, error: str = "") -> None:
            duration = time.monotonic() - began
            self._emit(
                CommandFinished(step=step, command_id=command_id, exit_status=status, duration=duration, error=error)
            )

        try:
            async with connection.start_sftp_client() as sftp:
                parent = remote.rpartition("/")[0]
                if parent:
                    await sftp.makedirs(parent, exist_ok=True)
                await sftp.put(str(local), remote)
        except (OSError, asyncssh.Error) as error:
            finished(None, _reason(error))
            raise SshError(
                f"{self.target.label}: could not copy {what or local.name} to {where}: {_reason(error)}"
            ) from None
        finished(0)

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


def _keys_error(message: str, auth: SshAuth, port: int | None) -> SshError:
    """No key got us in: one line for the operator; the keys we had, as evidence and facts, for the diagnosis."""
    return SshError(message, offered(auth), Facts(user=auth.user, port=port, ssh=auth))


def _reason(error: BaseException) -> str:
    if isinstance(error, asyncssh.Error):
        return error.reason or type(error).__name__
    if isinstance(error, OSError) and error.errno:
        return os.strerror(error.errno)  # asyncio's own text ("Connect call failed") says less
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
