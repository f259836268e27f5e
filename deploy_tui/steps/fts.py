"""Step 7b: the site's functional tests, run from this machine in headless Chromium against the server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time

from deploy_tui.events import CommandFinished, CommandStarted, Output, TestFinished, TestStarted
from deploy_tui.fts_plugin import MARK
from deploy_tui.steps.base import Context, Step, StepFailed
from deploy_tui.steps.dns import expected_address


class FunctionalTestsStep(Step):
    id = "fts"
    title = "Functional tests against the server"
    verifies = True

    def _env(self, ctx: Context) -> dict[str, str]:
        s = ctx.site
        return {
            "STAGING_SERVER": f"{s.domain}:{s.app_port}",
            "STAGING_RESOLVE": f"{s.domain}:{expected_address(ctx)}",
        }

    def _argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "deploy_tui.fts_plugin",
            "-q",
            "--no-header",
            "-p",
            "no:cacheprovider",
            "functional_tests",
        ]

    def commands(self, ctx: Context) -> list[str]:
        env = " ".join(f"{k}={v}" for k, v in self._env(ctx).items())
        return [f"{env} python -m pytest functional_tests   (here, in {ctx.options.checkout})"]

    async def apply(self, ctx: Context) -> str:
        checkout = ctx.options.checkout
        if not (checkout / "functional_tests").is_dir():
            raise StepFailed(f"no functional_tests/ in {checkout}: run deploy-tui from the site's checkout", ())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STAGING_"))}
        env.update(self._env(ctx))
        if ctx.options.artifacts:
            env["FT_ARTIFACTS_DIR"] = str(ctx.options.artifacts)
        argv = self._argv()
        command_id = "fts"
        ctx.emit(
            CommandStarted(step=self.id, command_id=command_id, argv_display=self.commands(ctx)[0], host="localhost")
        )
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=checkout,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        results: list[TestFinished] = []
        try:
            assert process.stdout is not None
            async for raw in process.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                # pytest's progress dots share the line with the plugin's marks.
                before, mark, data = line.partition(MARK)
                if before.strip() and not _progress_only(before):
                    ctx.emit(Output(step=self.id, command_id=command_id, stream="stdout", lines=(before,)))
                if mark:
                    event = self._test_event(json.loads(data))
                    if isinstance(event, TestFinished):
                        results.append(event)
                    ctx.emit(event)
            status = await process.wait()
        except asyncio.CancelledError:
            _stop(process)
            await process.wait()
            ctx.emit(
                CommandFinished(
                    step=self.id,
                    command_id=command_id,
                    exit_status=None,
                    duration=time.monotonic() - started,
                    cancelled=True,
                )
            )
            raise
        ctx.emit(
            CommandFinished(
                step=self.id, command_id=command_id, exit_status=status, duration=time.monotonic() - started
            )
        )
        failed = [r for r in results if r.outcome in ("failed", "error")]
        passed = sum(r.outcome == "passed" for r in results)
        if status == 0 and results and not failed:
            return f"{passed} functional tests passed against http://{ctx.site.domain}:{ctx.site.app_port}"
        evidence = tuple(f"{r.name}: {r.outcome}: {(r.traceback.strip().splitlines() or [''])[-1]}" for r in failed)
        raise StepFailed(
            f"{len(failed)} of {len(results)} functional tests failed (pytest exit {status})",
            evidence,
            failures=[r.traceback for r in failed],
        )

    def _test_event(self, data: dict[str, object]) -> TestStarted | TestFinished:
        if data["event"] == "start":
            return TestStarted(step=self.id, name=str(data["name"]))
        return TestFinished(
            step=self.id,
            name=str(data["name"]),
            outcome=str(data["outcome"]),
            duration=float(str(data["duration"])),
            traceback=str(data.get("traceback", "")),
            screenshot=str(data.get("screenshot", "")),
        )


def _progress_only(text: str) -> bool:
    """pytest's per-test progress marks (".", "F", "[100%]"): the events already say it better."""
    stripped = text.strip()
    return not stripped.strip(".FEsxX") or (stripped.startswith("[") and stripped.endswith("%]"))


def _stop(process: asyncio.subprocess.Process) -> None:
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
