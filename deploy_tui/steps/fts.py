"""Step: the site's own functional tests, run from this machine against the server, each shown on the board.

They run the project's own way (its command, its Python), with STAGING_SERVER and
TEST_SERVER naming the server, so either edition's FTs find it. The FT shim goes
first on their PYTHONPATH: it reports each test as it starts and ends, and, when
asked, runs Firefox-written FTs unchanged in headless Chromium with the domain
pinned to the server's address. Nothing in the reader's files changes.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.events import Output, TestFinished, TestStarted
from deploy_tui.steps.base import Context, Step, StepFailed, run, web_port

MARK = "\x1edeploy-tui-test "  # the shim's per-test report lines start with it
SHIM = Path(__file__).resolve().parent.parent / "fts_shim"


class FunctionalTestsStep(Step):
    id = "fts"
    title = "Functional tests against the server"
    verifies = True
    results = "tests"
    guide = (
        "The functional tests drive a real browser through the site like a user would, against the "
        "server itself (STAGING_SERVER and TEST_SERVER name it), with the domain pinned to the server's "
        "address so they can run before DNS has caught up. They are your own tests, run your own way; "
        "Firefox-written ones can run unchanged in headless Chromium. When they pass, the deployment works."
    )

    def _env(self, ctx: Context) -> dict[str, str]:
        s, tests = ctx.site, ctx.tests
        port = web_port(ctx)
        server = s.domain if port == 80 else f"{s.domain}:{port}"
        pin = f"{s.domain}:{ctx.address}"
        env = {
            "STAGING_SERVER": server,
            "TEST_SERVER": server,
            "STAGING_RESOLVE": pin,  # this repo's own FTs pin the name themselves
            "DEPLOY_TUI_RESOLVE": pin,
            "DEPLOY_TUI_TEST_MARKS": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, (str(SHIM), os.environ.get("PYTHONPATH", "")))),
        }
        # The reader's checkout is theirs: running their tests leaves no bytecode or pytest cache in it.
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        if tests.runner == "pytest":
            env["PYTEST_PLUGINS"] = "deploy_tui_pytest"
            addopts = (os.environ.get("PYTEST_ADDOPTS", ""), "-p no:cacheprovider")
            env["PYTEST_ADDOPTS"] = " ".join(filter(None, addopts))
        if tests.firefox_as_chromium:
            env["DEPLOY_TUI_BROWSER"] = "chromium"
        elif tests.browser == "firefox":
            env["MOZ_HEADLESS"] = "1"
        if ctx.artifacts is not None:
            env["FT_ARTIFACTS_DIR"] = str(ctx.artifacts)
        return env

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        if not ctx.tests.command:
            return ()
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self._env(ctx).items())
        return (
            StepCommand(
                Shell(f"{env} {ctx.tests.command}"),
                "functional tests",
                cwd=shlex.quote(str(ctx.options.checkout)),
                here=True,
                note=f"with {ctx.tests.python_why} Python",
            ),
        )

    async def apply(self, ctx: Context) -> str:
        commands = self.commands(ctx)
        if not commands:
            raise StepFailed(
                f"no functional tests found in {ctx.options.checkout}: run deploy-tui from the site's checkout, "
                "or set [tests] command in deploy.toml",
                (),
            )
        (tests,) = commands
        results: list[TestFinished] = []

        def on_line(stream: str, line: str) -> None:
            # Progress dots (pytest's, unittest's) can share the line with a mark.
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
            port = web_port(ctx)
            return f"{passed} functional tests passed against http://{ctx.site.domain}" + (
                f":{port}" if port != 80 else ""
            )
        evidence = tuple(f"{r.name}: {r.outcome}: {(r.traceback.strip().splitlines() or [''])[-1]}" for r in failed)
        evidence = evidence or result.stdout_tail[-10:] + result.stderr_tail[-10:]
        raise StepFailed(
            f"{len(failed)} of {len(results)} functional tests failed (exit status {result.exit_status})", evidence
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
    """Per-test progress marks (".", "F", "[100%]"): the board already says it better."""
    stripped = text.strip()
    return bool(stripped) and (not stripped.strip(".FEsxX") or (stripped.startswith("[") and stripped.endswith("%]")))
