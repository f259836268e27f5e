"""Commands on this machine (the functional tests), with the same events and stop as on the server.

Each command runs through `sh -c` in a session of its own, so a cancel or a
timeout stops the whole group (the test runner, its browser, its driver), not
only the shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
from collections.abc import Callable, Mapping
from pathlib import Path

from deploy_tui.core.commands import Command, CommandResult, LineHook, script_of
from deploy_tui.core.events import CommandStarted, Sink
from deploy_tui.core.secrets import Redactor
from deploy_tui.core.session import SessionError
from deploy_tui.remote.output import CommandOutput, pump

_KILL_GRACE = 2.0


class LocalSession:
    """This machine: run commands with a chosen environment, streaming their output as events."""

    label = "localhost"

    def __init__(self, *, emit: Sink, redactor: Redactor | None = None, env: Mapping[str, str] | None = None) -> None:
        self._emit = emit
        self._redact = redactor or Redactor()
        self._env = dict(os.environ if env is None else env)
        self._ids = itertools.count(1)

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
        """As SshSession.run; `hide` keeps lines it matches for on_line only (machine-readable marks)."""
        if sudo:
            raise SessionError("deploy-tui runs nothing on this machine with sudo")
        command_id = f"l{next(self._ids)}"
        script = script_of(command)
        self._emit(CommandStarted(step=step, command_id=command_id, argv_display=self._redact(script), host=self.label))
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

        finish = output.finish

        try:
            process = await asyncio.create_subprocess_exec(
                "sh",
                "-c",
                script,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._env,
                start_new_session=True,
            )
        except OSError as error:
            finish(None, error=error.strerror or str(error))
            raise SessionError(f"could not start {script!r} here: {error.strerror or error}") from None
        assert process.stdout is not None
        assert process.stderr is not None
        pumps = asyncio.gather(
            pump(process.stdout.read, "stdout", output.deliver, output.update),
            pump(process.stderr.read, "stderr", output.deliver, output.update),
        )
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(pumps)
                status = await process.wait()
        except TimeoutError:
            await _stop(process)
            pumps.cancel()
            return finish(None, timed_out=True, error=f"timed out after {timeout:g} s")
        except asyncio.CancelledError:
            await asyncio.shield(_stop(process))
            pumps.cancel()
            finish(None, cancelled=True)
            raise
        return finish(status)

    async def put(self, local: Path, remote: str, *, step: str = "", what: str = "") -> None:
        raise SessionError("deploy-tui copies files to the server only")

    async def close(self) -> None:
        return None


async def _stop(process: asyncio.subprocess.Process) -> None:
    """TERM the command's group, give it a grace period, then KILL whatever of the group is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), _KILL_GRACE)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()
