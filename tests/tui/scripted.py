"""A scripted run for TUI tests that need no server: fixed events, fixed durations, no clock in sight."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from deploy_tui.core import events as ev
from deploy_tui.core.config import make_site
from deploy_tui.core.engine import RunOutcome
from deploy_tui.core.resolvers import Resolver
from deploy_tui.core.secrets import Secret
from deploy_tui.runner import RunRequest
from deploy_tui.steps import STEP_IDS, Options

SITE = make_site(
    "staging",
    {
        "domain": "superlists-staging.test",
        "host": "127.0.0.2",
        "port": 2222,
        "user": "elspeth",
        "repo": "/srv/git/superlists.git",
    },
    "test",
)
RESOLVERS = (Resolver("Cloudflare", "127.0.53.1", 53, "Global"), Resolver("Quad9", "127.0.53.2", 53, "Switzerland"))
OPTIONS = Options(checkout=Path("/work/checkout"))


def request(password: Secret | None = None, **changes: Any) -> RunRequest:
    """The walkthrough's request for the scripted site."""
    return RunRequest(
        site=SITE, address="127.0.0.2", resolvers=RESOLVERS, options=OPTIONS, sudo_password=password, **changes
    )


def failing_run() -> list[ev.Event]:
    """DNS fine, packages already there, then the dev server is unreachable from outside (D4)."""
    t = iter(range(1000))

    def at(event: ev.Event) -> ev.Event:
        return replace(event, ts=float(next(t)))

    out: list[ev.Event] = [ev.RunStarted(run_id="r1", site="staging", started_at="2026-11-25T18:00:00+00:00")]
    out += [
        ev.StepStarted(step="preflight", title="Your project"),
        ev.CheckResult(step="preflight", item="manage.py", found="manage.py", verdict="ok"),
        ev.CheckResult(step="preflight", item="Django", found="==5.2.19 (Django 5.2 LTS supports 3.11)", verdict="ok"),
        ev.CheckResult(step="preflight", item="code pushed", found="HEAD 0123456789 is on main", verdict="ok"),
        ev.CheckResult(step="preflight", item="uncommitted changes", found="2 files changed", verdict="warning"),
        ev.StepFinished(step="preflight", status="passed", duration=0.3, summary="your project can be deployed"),
    ]
    out += [
        ev.StepStarted(step="dns", title="DNS points at the server"),
        ev.DnsAnswer(
            step="dns",
            domain=SITE.domain,
            resolver="Cloudflare",
            address="127.0.53.1",
            location="Global",
            status="match",
            records=("127.0.0.2",),
            ttl=300,
            latency=0.004,
        ),
        ev.DnsAnswer(
            step="dns",
            domain=SITE.domain,
            resolver="Quad9",
            address="127.0.53.2",
            location="Switzerland",
            status="stale",
            records=("127.0.0.99",),
            ttl=120,
            latency=0.02,
        ),
        ev.StepFinished(step="dns", status="passed", duration=0.1, summary="1 of 2 resolvers (going on, pinned)"),
    ]
    for step in ("provision", "source", "venv", "static", "migrate"):
        out += [
            ev.StepStarted(step=step, title=step),
            ev.StepFinished(step=step, status="already-done", duration=0.1, summary="already done"),
        ]
    out += [
        ev.StepStarted(step="devserver", title="devserver"),
        ev.CommandStarted(step="devserver", command_id="c1", argv_display="runserver 127.0.0.1:8000", host="box"),
        ev.Output(step="devserver", command_id="c1", stream="stdout", lines=("Starting development server",)),
        ev.Output(step="devserver", command_id="c1", stream="stderr", lines=("Watching for file changes",)),
        ev.CommandFinished(step="devserver", command_id="c1", exit_status=0, duration=0.3),
        ev.StepFinished(step="devserver", status="passed", duration=0.4, summary="listening"),
        ev.StepStarted(step="smoke", title="smoke"),
        ev.ProbeResult(
            step="smoke",
            url="http://superlists-staging.test:8000/",
            vantage="outside",
            status=None,
            title="",
            error="refused",
        ),
        ev.ProbeResult(
            step="smoke", url="http://localhost:8000/", vantage="inside", status=200, title="To-Do lists", error=""
        ),
        ev.Diagnosis(
            step="smoke",
            code="D4",
            cause="The server answers on localhost but refuses connections from outside: runserver is "
            "bound to 127.0.0.1.",
            fix="Start it on all interfaces: manage.py runserver 0.0.0.0:8000.",
            evidence=("outside: refused", "inside: 200"),
        ),
        ev.StepFinished(step="smoke", status="failed", duration=0.2, summary="refused from outside"),
        ev.RunFinished(status="failed", duration=1.5),
    ]
    return [at(e) for e in out]


class ScriptedRunner:
    """Stands in for deploy_tui.runner.execute: emits a fixed event list, remembers what it was given."""

    def __init__(self, script: list[ev.Event]) -> None:
        self.script = script
        self.requests: list[Any] = []

    async def __call__(self, request: Any, sink: Any, on_unknown_host_key: Any = None) -> tuple[RunOutcome, Path]:
        self.requests.append(request)
        for event in self.script:
            if (not request.only or event.step in request.only or not event.step) and event.step not in request.skip:
                sink(event)
        failed = any(isinstance(e, ev.StepFinished) and e.status == "failed" for e in self.script)
        return RunOutcome("failed" if failed else "passed"), Path("/tmp/scripted.jsonl")  # noqa: S108


ALL_STEPS = STEP_IDS
