"""The walkthrough driving real deployments into the sandbox box: keys in, statuses out."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from textual import events
from textual.widgets import DataTable, Log

from deploy_tui.core.engine import RunOutcome
from deploy_tui.core.secrets import Secret
from deploy_tui.remote.ssh import SshSession
from deploy_tui.runner import target_for
from screens.app import DeployApp
from screens.modals import SudoPasswordScreen
from screens.widgets.step_list import StepList
from tests.e2e.conftest import make_deployment

pytestmark = pytest.mark.e2e


async def test_a_whole_deployment_through_the_ui(sandbox_box, box_resolvers, tmp_path: Path) -> None:
    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, f"tui-{uuid.uuid4().hex[:6]}")
    app = DeployApp(request=replace(deployment.request(recording=tmp_path / "run.jsonl"), sudo_password=None))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("r")
            await pilot.pause()
            assert isinstance(app.screen, SudoPasswordScreen)
            await pilot.press(*box.sudo_password(), "enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            statuses = {i.step_id: i.status for i in app.screen.query_one(StepList).children}  # type: ignore[attr-defined]
            assert statuses == {
                "preflight": "passed",
                "dns": "passed",
                "provision": "already-done",
                "source": "passed",
                "venv": "passed",
                "static": "passed",
                "migrate": "passed",
                "devserver": "passed",
                "smoke": "passed",
                "fts": "passed",
            }
            board = app.screen.query_one("#table-fts", DataTable)
            assert board.row_count >= 3
            assert {str(board.get_row_at(i)[1]) for i in range(board.row_count)} == {"passed"}
            assert app.last_recording is not None
            assert box.sudo_password() not in app.last_recording.read_text()
    finally:
        deployment.stop_server()


# A million lines in bursts of 10,000 over about two seconds: `seq 1000000` alone is over in a
# quarter of a second here, too soon to press a key in the middle of it.
FLOOD = [
    "python3",
    "-c",
    "import sys, time\n"
    "for burst in range(100):\n"
    "    sys.stdout.write(''.join(f'{burst * 10000 + i + 1}\\n' for i in range(10000)))\n"
    "    sys.stdout.flush()\n"
    "    time.sleep(0.02)\n",
]


async def test_a_million_line_flood_leaves_the_app_taking_keys(sandbox_box, box_resolvers) -> None:
    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, "flood")
    flooding = asyncio.Event()
    finished = asyncio.Event()

    async def flood(request, sink, on_unknown_host_key=None):  # type: ignore[no-untyped-def]
        async with SshSession(target_for(deployment.site), emit=sink) as session:
            flooding.set()
            result = await session.run(FLOOD, step="venv")
        finished.set()
        assert result.ok
        return RunOutcome("passed"), Path("/dev/null")

    app = DeployApp(request=replace(deployment.request(), sudo_password=Secret("unused")), runner=flood)
    async with app.run_test(size=(120, 40)) as pilot:
        steps = app.screen.query_one(StepList)
        steps.focus()
        await pilot.press(*["down"] * steps.index_of("venv"))  # to the venv step, where the flood lands
        await pilot.press("r")
        await flooding.wait()
        moves = 0
        while not finished.is_set() and moves < 6:
            # Keys go in as a terminal sends them, without the Pilot's wait for an idle app:
            # a flooded app is never idle, which is the point.
            before = steps.index
            app.post_message(events.Key("down" if moves % 2 == 0 else "up", None))
            for _ in range(100):
                await asyncio.sleep(0.01)
                if steps.index != before or finished.is_set():
                    break
            if finished.is_set():
                break
            assert steps.index != before, "a key sent during the flood was not handled within a second"
            moves += 1
        assert moves > 0, "the flood ended before a key could be pressed during it"
        await app.workers.wait_for_complete()
        steps.index = steps.index_of("venv")
        await pilot.pause(0.3)
        log = app.screen.query_one(Log)
        assert log.line_count <= 10_000
        assert str(log.lines[-1]).strip() == "1000000"
