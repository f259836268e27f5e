"""Checks run ahead, all at once, on the sandbox box: one thing changed at a time, the right steps run again.

The engine checks every step at the start of a run over the one SSH connection and trusts those
answers only until a step of the run changes something. Each scenario changes one thing (the code,
the requirements, the site's environment, the server stopped) and the statuses must be those the
one-step-at-a-time engine gave, with each step's events inside its own turn. The smoke test
looks ahead too: kept when nothing changed, thrown away unseen and taken again when something did
(the server stopped: its look saw "refused", and the step must say the server's answer after it).
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from deploy_tui.core.events import Event, ProbeResult, StepFinished, StepStarted
from tests.e2e.test_reader_repos import ReaderRepo, reader_repo  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e

CHECKED = ("provision", "source", "venv", "static", "migrate", "devserver")


def statuses(events: list[Event]) -> dict[str, str]:
    return {e.step: e.status for e in events if isinstance(e, StepFinished) and e.step in CHECKED}


def in_turn(events: list[Event]) -> None:
    """Each step's events inside its turn; the smoke test's three probes said once, though it may have
    looked ahead of its turn too (a look that something changed under is thrown away unseen)."""
    probes = [e for e in events if isinstance(e, ProbeResult)]
    # (this reader's list view answers a list that does not exist with a 500 of its own, not a 404)
    assert [(p.vantage, p.status) for p in probes][:2] == [("outside", 200), ("inside", 200)], probes
    assert [p.vantage for p in probes] == ["outside", "inside", "outside"], probes
    assert next(e.status for e in events if isinstance(e, StepFinished) and e.step == "smoke") == "passed"
    current = ""
    for event in events:
        if isinstance(event, StepStarted):
            assert current == "", f"{event.step} started inside {current}"
            current = event.step
        elif isinstance(event, StepFinished):
            assert event.step == current, (event, current)
            current = ""
        elif event.step:
            assert event.step == current, f"{event.kind} of {event.step} outside its turn (in {current!r})"


def test_one_change_at_a_time_runs_again_exactly_what_it_touches(reader_repo, box_resolvers, tmp_path) -> None:  # noqa: F811
    repo: ReaderRepo = reader_repo("edition3")
    deployment = repo.deployment(box_resolvers)
    run = {"skip": {"fts", "dns"}}
    try:
        outcome, events = deployment.run(tmp_path, **run)
        assert outcome.ok, statuses(events)
        in_turn(events)
        steps = set(statuses(events))

        # Nothing changed: every step already done, found by checks that ran at once.
        outcome, events = deployment.run(tmp_path, **run)
        assert outcome.ok
        assert statuses(events) == dict.fromkeys(steps, "already-done")
        in_turn(events)

        # The code: a new commit; the server restarts on it, the venv and the database stay.
        page = repo.checkout / "src" / "lists" / "templates" / "base.html"
        repo.commit("A new heading", **{str(page.relative_to(repo.checkout)): page.read_text() + "\n<!-- v2 -->\n"})
        repo.publish()
        outcome, events = deployment.run(tmp_path, **run)
        assert outcome.ok
        changed = statuses(events)
        assert (changed["source"], changed["venv"], changed["migrate"], changed["devserver"]) == (
            "passed",
            "already-done",
            "already-done",
            "passed",
        )
        in_turn(events)

        # The requirements: pip runs again, and the server restarts on them.
        requirements = repo.checkout / "requirements.txt"
        repo.commit("Note the pins", **{"requirements.txt": requirements.read_text() + "# pinned for the server\n"})
        repo.publish()
        outcome, events = deployment.run(tmp_path, **run)
        assert outcome.ok
        changed = statuses(events)
        assert (changed["source"], changed["venv"], changed["migrate"], changed["devserver"]) == (
            "passed",
            "passed",
            "already-done",
            "passed",
        )
        in_turn(events)

        # The site's environment: only the server restarts.
        site = dataclasses.replace(deployment.site, allowed_hosts=(deployment.site.domain, "other.test"))
        outcome, events = deployment.run(tmp_path, site=site, **run)
        assert outcome.ok
        changed = statuses(events)
        assert changed["devserver"] == "passed"
        assert {s for s, status in changed.items() if status != "already-done"} == {"devserver"}
        in_turn(events)

        # The server stopped: started again, nothing else.
        deployment.stop_server()
        outcome, events = deployment.run(tmp_path, site=site, **run)
        assert outcome.ok
        assert {s for s, status in statuses(events).items() if status != "already-done"} == {"devserver"}
        summary = next(e.summary for e in events if isinstance(e, StepFinished) and e.step == "devserver")
        assert re.search(r"pid \d+", summary)
        in_turn(events)
    finally:
        deployment.stop_server()
