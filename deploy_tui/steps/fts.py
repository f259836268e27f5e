"""Step 7b: the site's functional tests, run from this machine in headless Chromium against the server."""

from __future__ import annotations

import json
import shlex
import sys

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.events import Output, TestFinished, TestStarted
from deploy_tui.fts_plugin import MARK
from deploy_tui.steps.base import Context, Step, StepFailed, run


class FunctionalTestsStep(Step):
    id = "fts"
    title = "Functional tests against the server"
    verifies = True
    results = "tests"
    guide = (
        "The functional tests drive a real browser through the site like a user would, against the "
        "server itself (STAGING_SERVER), with the domain pinned to the server's address so they can "
        "run before DNS has caught up. When they pass, the deployment works."
    )

    def _env(self, ctx: Context) -> dict[str, str]:
        s = ctx.site
        env = {"STAGING_SERVER": f"{s.domain}:{s.app_port}", "STAGING_RESOLVE": f"{s.domain}:{ctx.address}"}
        if ctx.artifacts is not None:
            env["FT_ARTIFACTS_DIR"] = str(ctx.artifacts)
        return env

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self._env(ctx).items())
        argv = [sys.executable, "-m", "pytest", "-p", "deploy_tui.fts_plugin", "-q", "--no-header"]
        argv += ["-p", "no:cacheprovider", "functional_tests"]
        return (
            StepCommand(
                Shell(f"{env} {shlex.join(argv)}"),
                "functional tests",
                cwd=shlex.quote(str(ctx.options.checkout)),
                here=True,
            ),
        )

    async def apply(self, ctx: Context) -> str:
        checkout = ctx.options.checkout
        if not (checkout / "functional_tests").is_dir():
            raise StepFailed(f"no functional_tests/ in {checkout}: run deploy-tui from the site's checkout", ())
        (tests,) = self.commands(ctx)
        results: list[TestFinished] = []

        def on_line(stream: str, line: str) -> None:
            # pytest's progress dots share the line with the plugin's marks.
            before, mark, data = line.partition(MARK)
            if not mark:
                return
            if before.strip() and not _progress_only(before):
                ctx.emit(Output(step=self.id, command_id="fts", stream=stream, lines=(before,)))
            event = self._test_event(json.loads(data))
            if isinstance(event, TestFinished):
                results.append(event)
            ctx.emit(event)

        result = await run(ctx, self, tests, on_line=on_line, hide=lambda line: MARK in line or _progress_only(line))
        failed = [r for r in results if r.outcome in ("failed", "error")]
        passed = sum(r.outcome == "passed" for r in results)
        if result.ok and results and not failed:
            return f"{passed} functional tests passed against http://{ctx.site.domain}:{ctx.site.app_port}"
        evidence = tuple(f"{r.name}: {r.outcome}: {(r.traceback.strip().splitlines() or [''])[-1]}" for r in failed)
        evidence = evidence or result.stdout_tail[-10:] + result.stderr_tail[-10:]
        raise StepFailed(
            f"{len(failed)} of {len(results)} functional tests failed (pytest exit {result.exit_status})", evidence
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
    return bool(stripped) and (not stripped.strip(".FEsxX") or (stripped.startswith("[") and stripped.endswith("%]")))
