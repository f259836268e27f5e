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
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from deploy_tui.events import CommandFinished, CommandStarted, Output, OutputUpdate, Sink
from deploy_tui.known_hosts import (
    HostKeyDecision,
    HostKeyPrompt,
    HostKeyQuestion,
    changed_warning,
    read_known_hosts,
    save_host_key,
    unknown_refusal,
)
from deploy_tui.lines import LineSplitter
from deploy_tui.secret import Redactor, Secret
from deploy_tui.shell import Command, CommandResult, LineHook, Shell, sh

__all__ = ["HostKeyDecision", "HostKeyPrompt", "HostKeyQuestion", "Shell", "SshError", "SshSession", "SshTarget", "sh"]

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts").expanduser()
_PGID_MARK = "\x1edeploy-tui-pgid "
_SUDO_REFUSED = re.compile(r"incorrect password attempt|Sorry, try again|no password was provided")
_TAIL_LINES = 200
_CAPTURE_LIMIT = 4 * 1024 * 1024
_KILL_GRACE = 2.0
_PGID_WAIT = 10.0


class SshError(Exception):
    """A problem reaching or using the host; the message is one line, meant for the operator."""


class HostKeyChanged(SshError):
    pass


class HostKeyRejected(SshError):
    pass


class SudoPasswordRefused(SshError):
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


@dataclass
class _Streams:
    """What one running command has produced so far."""

    pgid: asyncio.Future[int]
    tails: dict[str, deque[str]] = field(
        default_factory=lambda: {"stdout": deque(maxlen=_TAIL_LINES), "stderr": deque(maxlen=_TAIL_LINES)}
    )
    captured: list[str] | None = None
    captured_size: int = 0
    on_line: LineHook | None = None
    secret: bool = False


class HostKeyWitness(asyncssh.SSHClient):
    """Remembers the key a server presented when it was not among the trusted ones."""

    def __init__(self) -> None:
        self.presented: asyncssh.SSHKey | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.presented = key
        return False


def _display(command: Command) -> str:
    return command.script if isinstance(command, Shell) else shlex.join(command)


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
            except (OSError, ValueError) as error:
                raise SshError(f"cannot read known_hosts file {self.target.known_hosts}: {error}") from None
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
        display = self._redact(("sudo " if sudo else "") + _display(command))
        script = command.script if isinstance(command, Shell) else shlex.join(command)
        self._emit(
            CommandStarted(step=step, command_id=command_id, argv_display=display, host=self.target.label, sudo=sudo)
        )
        started = time.monotonic()
        streams = _Streams(
            asyncio.get_running_loop().create_future(),
            captured=[] if capture or secret_output else None,
            on_line=on_line,
            secret=secret_output,
        )

        def finish(exit_status: int | None, **flags: Any) -> CommandResult:
            duration = time.monotonic() - started
            self._emit(
                CommandFinished(step=step, command_id=command_id, exit_status=exit_status, duration=duration, **flags)
            )
            return CommandResult(
                command_id,
                exit_status,
                duration,
                tuple(streams.tails["stdout"]),
                tuple(streams.tails["stderr"]),
                "\n".join(streams.captured or ()),
                timed_out=flags.get("timed_out", False),
                cancelled=flags.get("cancelled", False),
            )

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
                self._pump(process.stdout, "stdout", step, command_id, streams),
                self._pump(process.stderr, "stderr", step, command_id, streams),
            )
            try:
                async with asyncio.timeout(timeout):
                    # Shielded: on a timeout or cancel the pumps must keep reading, since
                    # the group id the stop needs may still be on its way.
                    await asyncio.shield(pumps)
                    completed = await process.wait()
            except TimeoutError:
                await self._stop_group(streams, pumps, sudo)
                process.close()
                return finish(None, timed_out=True, error=f"timed out after {timeout:g} s")
            except asyncio.CancelledError:
                await asyncio.shield(self._stop_group(streams, pumps, sudo))
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

    async def _pump(
        self, reader: asyncssh.SSHReader[bytes], stream: str, step: str, command_id: str, streams: _Streams
    ) -> None:
        splitter = LineSplitter()
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            split = splitter.feed(chunk)
            self._deliver(split.lines, stream, step, command_id, streams)
            # A read that finds data waiting does not suspend: without this a flood would
            # keep the loop (and a UI sharing it) busy until the command ends.
            await asyncio.sleep(0)
            if split.update is not None:
                self._emit(
                    OutputUpdate(step=step, command_id=command_id, stream=stream, text=self._redact(split.update))
                )
        self._deliver(splitter.close(), stream, step, command_id, streams)

    def _deliver(self, lines: list[str], stream: str, step: str, command_id: str, streams: _Streams) -> None:
        if stream == "stderr" and lines and not streams.pgid.done() and lines[0].startswith(_PGID_MARK):
            streams.pgid.set_result(int(lines.pop(0)[len(_PGID_MARK) :]))
        if not lines:
            return
        if streams.secret and stream == "stdout":
            if streams.captured is not None:
                streams.captured.extend(lines)
            return
        redacted = tuple(self._redact.lines(lines))
        streams.tails[stream].extend(redacted[-_TAIL_LINES:])
        if stream == "stdout" and streams.captured is not None and streams.captured_size < _CAPTURE_LIMIT:
            streams.captured.extend(redacted)
            streams.captured_size += sum(len(line) + 1 for line in redacted)
        self._emit(Output(step=step, command_id=command_id, stream=stream, lines=redacted))
        if streams.on_line is not None:
            for line in redacted:
                streams.on_line(stream, line)

    async def _stop_group(self, streams: _Streams, pumps: asyncio.Future[Any], sudo: bool) -> None:
        """TERM the command's process group, then KILL what is left after a grace period."""
        try:
            # sudo may still be checking the password; the group exists only after that.
            await asyncio.wait([streams.pgid, pumps], timeout=_PGID_WAIT, return_when=asyncio.FIRST_COMPLETED)
            if not streams.pgid.done():
                return  # it ended, or never got far enough to have a group
            pgid = streams.pgid.result()
            await self._kill_group(pgid, sudo)
        finally:
            pumps.cancel()

    async def _kill_group(self, pgid: int, sudo: bool) -> None:
        # `kill -s SIG -- -PGID` is the spelling both dash and bash accept for a group.
        script = (
            f"kill -s TERM -- -{pgid} 2>/dev/null; i=0; "
            f"while kill -s 0 -- -{pgid} 2>/dev/null && [ $i -lt {int(_KILL_GRACE * 10)} ]; "
            "do sleep 0.1; i=$((i+1)); done; "
            f"kill -s KILL -- -{pgid} 2>/dev/null; exit 0"
        )
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
