"""Runs side by side: one deploy of a site at a time (the deploy lock), servers never orphaned, one file per run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from deploy_tui.core.events import Notice, StepFinished, StepStarted
from deploy_tui.runner import execute
from tests.e2e.conftest import make_deployment

pytestmark = pytest.mark.e2e


def _statuses(events) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {e.step: e.status for e in events if isinstance(e, StepFinished)}


def test_two_deploys_at_once_one_stops_naming_the_holder_and_the_site_ends_healthy(
    sandbox_box, box_resolvers, tmp_path
) -> None:
    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, f"twice-{uuid.uuid4().hex[:6]}")

    async def both() -> list[tuple[object, list]]:  # type: ignore[type-arg]
        runs = []
        for name in ("first", "second"):
            events: list = []  # type: ignore[type-arg]
            request = deployment.request(recording=tmp_path / f"{name}.jsonl", skip={"fts"})
            runs.append((execute(request, events.append), events))
        outcomes = await asyncio.gather(*(run for run, _ in runs))
        return [(outcome, events) for (outcome, _), (_, events) in zip(outcomes, runs, strict=True)]

    try:
        results = asyncio.run(both())
        passed = [events for outcome, events in results if outcome.ok]  # type: ignore[attr-defined]
        stopped = [events for outcome, events in results if not outcome.ok]  # type: ignore[attr-defined]
        assert len(passed) == 1
        assert len(stopped) == 1
        (refusal,) = [e.text for e in stopped[0] if isinstance(e, Notice) and e.level == "error"]
        assert f"{deployment.site.name} is being deployed by " in refusal
        assert "--lock-wait" in refusal
        assert _statuses(stopped[0]) == {}  # it touched nothing
        # The site is healthy, and the next deploy passes and finds it done.
        again, events = deployment.run(tmp_path, skip={"fts"})
        assert again.ok
        assert _statuses(events)["devserver"] == "already-done"
    finally:
        deployment.stop_server()


def test_a_second_deploy_waits_for_the_lock_when_asked(sandbox_box, box_resolvers, tmp_path) -> None:
    from dataclasses import replace

    from deploy_tui.core.plan import Options
    from tests.conftest import CHECKOUT

    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, f"wait-{uuid.uuid4().hex[:6]}")

    async def both() -> list:  # type: ignore[type-arg]
        first = deployment.request(recording=tmp_path / "a.jsonl", skip={"fts"})
        second = replace(
            deployment.request(recording=tmp_path / "b.jsonl", skip={"fts"}),
            options=Options(checkout=CHECKOUT, lock_wait=300),
        )
        holder = asyncio.create_task(execute(first, seen[0].append))
        # The first run holds the lock once it has started a step; only then does the second ask for it.
        while not any(isinstance(e, StepStarted) for e in seen[0]) and not holder.done():
            await asyncio.sleep(0.05)
        waiter = await execute(second, seen[1].append)
        return [await holder, waiter]

    seen: tuple[list, list] = ([], [])  # type: ignore[type-arg]
    try:
        results = asyncio.run(both())
        for (outcome, _), events in zip(results, seen, strict=True):
            said = [(e.step, e.status, e.summary) for e in events if isinstance(e, StepFinished)]
            said += [e.text for e in events if isinstance(e, Notice)]
            assert outcome.ok, said
    finally:
        deployment.stop_server()


def test_a_lost_pid_file_never_orphans_the_server(deployed, tmp_path) -> None:
    pid_file = deployed.directory / "runserver.pid"
    pid = int(pid_file.read_text())
    pid_file.unlink()
    outcome, events = deployed.run(tmp_path, skip={"fts"}, force={"devserver"})
    assert outcome.ok, [e for e in events if isinstance(e, StepFinished)]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the old server was found by its port, and stopped
    assert int(pid_file.read_text()) != pid


def test_a_listener_that_is_not_ours_is_left_alone_and_named(deployed, tmp_path) -> None:
    deployed.stop_server()
    stranger = subprocess.Popen(
        ["python3", "-m", "http.server", "--bind", "0.0.0.0", str(deployed.site.app_port)],  # noqa: S104 - as runserver binds
        cwd="/",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import time

        time.sleep(1)
        outcome, events = deployed.run(tmp_path, only={"devserver"}, force={"devserver"})
        assert not outcome.ok
        assert stranger.poll() is None  # still running: not ours to stop
        assert any(e.kind == "Diagnosis" and e.code == "D9" for e in events)
    finally:
        stranger.send_signal(signal.SIGTERM)
        stranger.wait(timeout=10)
    outcome, _ = deployed.run(tmp_path, skip={"fts"})
    assert outcome.ok


def test_runs_in_the_same_second_get_files_of_their_own(deployed, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    async def three() -> list:  # type: ignore[type-arg]
        requests = [deployed.request(only={"dns"}) for _ in range(3)]
        return list(await asyncio.gather(*(execute(r, lambda e: None) for r in requests)))

    paths = [path for _, path in asyncio.run(three())]
    assert len(set(paths)) == 3
    assert all(Path(p).read_text().count('"kind":"RunStarted"') == 1 for p in paths)
