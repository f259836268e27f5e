"""Step 7a: the site answers, seen from outside (this machine) and from inside (the server itself)."""

from __future__ import annotations

import asyncio
import dataclasses
import re

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.events import ProbeResult
from deploy_tui.core.failure import Facts, Probe
from deploy_tui.remote import probes
from deploy_tui.steps.base import Context, Step, StepFailed, in_site, run, web_port
from deploy_tui.steps.devserver import LOG
from deploy_tui.steps.gunicorn import SOCKET, read_backstage
from deploy_tui.steps.nginx import error_lines, static_paths

# A list that cannot exist: its page makes Django query the database, so an
# unmigrated one shows up here as a 500 ("no such table") rather than in the FTs.
DATABASE_PATH = "/lists/0/"
DEBUG_PATH = "/deploy-tui-no-such-page/"  # a 404 that shows whether DEBUG is off (no URLconf listing)
_STYLESHEET = re.compile(r"""<link[^>]+href=["'](/static/[^"'?#]+\.css)""", re.IGNORECASE)
_DEBUG_PAGE = ("Using the URLconf defined in", "You're seeing this error because you have DEBUG = True")


class SmokeStep(Step):
    id = "smoke"
    title = "Smoke test from outside and inside"
    verifies = True
    looks_only = True  # GETs and reads: run ahead, and kept when nothing before it changes
    results = "probes"
    guide = (
        "Before the browser tests, a quick look from two sides: from outside (this machine, as a "
        "visitor) and from inside (the server asking itself). Outside failing while inside works "
        "points at a firewall or a server bound to 127.0.0.1; both failing means it is not running. "
        "An answer is not enough, it must be your page: a registrar's 'this domain is parked' means the "
        "A record points elsewhere, and a page_marker in deploy.toml makes the check exact. A 400 "
        "'DisallowedHost' with the domain in ALLOWED_HOSTS is usually how it is written: Django compares "
        "the bare host name, so an entry with ':8000', quotes or a trailing dot never matches."
    )

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        s, port = ctx.site, web_port(ctx)
        site_url = f"http://{s.domain}" + (f":{port}" if port != 80 else "")
        shown = (
            StepCommand(Shell(f"GET {site_url}/"), run=False, note=f"from here, {s.domain} pinned to {ctx.address}"),
            StepCommand(probes.inside_command(s.domain, port), "curl on the server"),
            StepCommand(Shell(f"GET {site_url}{DATABASE_PATH}"), run=False, note="reaches the database; 404 expected"),
        )
        if not ctx.layout.production:
            return shown
        return (
            *shown,
            StepCommand(Shell(f"GET {site_url}/static/<the page's stylesheet>"), run=False, note="200, text/css"),
            StepCommand(Shell(f"GET {site_url}{DEBUG_PATH}"), run=False, note="404, and not Django's debug page"),
        )

    async def _production(self, ctx: Context, home: Probe, facts: Facts) -> str:
        """Behind nginx, with DEBUG off, and the static files served: or a StepFailed that says which not."""
        site, port = ctx.site, web_port(ctx)
        if "nginx" not in home.server.lower():
            raise StepFailed(f"{home.url} answers, but not through nginx (Server: {home.server or 'none'})", (), facts)
        sheet = _STYLESHEET.search(home.body)
        if sheet is None:
            raise StepFailed(f"{home.url} links no stylesheet under /static/ to check the static files with", (), facts)
        static = await probes.outside(site.domain, ctx.address, port, sheet[1])
        self._report(ctx, static)
        if static.status != 200 or "text/css" not in static.content_type:
            what = f"HTTP {static.status}" if static.status else static.error
            facts, said = await self._backstage(ctx, static, facts, sheet[1])
            raise StepFailed(f"{static.url}: {what} {static.content_type}, not the stylesheet", said, facts)
        debug = await probes.outside(site.domain, ctx.address, port, DEBUG_PATH)
        self._report(ctx, debug)
        if debug.status != 404 or any(mark in debug.body for mark in _DEBUG_PAGE):
            raise StepFailed(f"{debug.url}: Django's debug page: DEBUG is on in production", (debug.title,), facts)
        return f"; through nginx, {sheet[1]} served as text/css, DEBUG off"

    def _report(self, ctx: Context, probe: Probe) -> None:
        ctx.emit(
            ProbeResult(
                step=self.id,
                url=probe.url,
                vantage=probe.vantage,
                status=probe.status,
                title=probe.title,
                error=probe.error,
                latency=probe.latency,
            )
        )

    async def apply(self, ctx: Context) -> str:
        from deploy_tui.core.diagnoses.site import answered_by_another  # the rules load when a run needs them

        site, port = ctx.site, web_port(ctx)
        curl = self.commands(ctx)[1]
        await asyncio.to_thread(probes.warm)  # httpx loads off the event loop, while other work waits on the server
        # The three probes at once; reported in the order a person reads them.
        async with asyncio.TaskGroup() as probing:
            answering = probing.create_task(probes.outside_answer(site.domain, ctx.address, port))
            asking = probing.create_task(
                probes.inside(ctx.session, self.id, Shell(curl.script), f"http://localhost:{port}/")
            )
            querying = probing.create_task(probes.outside(site.domain, ctx.address, port, DATABASE_PATH))
        (outside, server), inside = answering.result(), asking.result()
        self._report(ctx, outside)
        self._report(ctx, inside)
        # An answer from outside that is not the page the server serves itself is someone else's (F16):
        # its database probe only tested that other server, and is not reported.
        stranger = answered_by_another(outside, inside, site.page_marker)
        database = None
        if outside.ok and not stranger:
            database = querying.result()
            self._report(ctx, database)
        # The dev server's log says what it saw; in production gunicorn logs to its journal (read on failure, sudo).
        log_lines: tuple[str, ...] = ()
        if not ctx.layout.production:
            log = await run(ctx, self, in_site(site, Shell(f"tail -n 30 {LOG} 2>/dev/null || true")), capture=True)
            log_lines = tuple(log.captured.splitlines())
        facts = Facts(
            outside=outside,
            inside=inside,
            database=database,
            port=port,
            domain=site.domain,
            expected=ctx.address,
            allowed_hosts=site.hosts_allowed,
            env=ctx.layout.env,
            marker=site.page_marker,
            user=site.user or "",
            site_dir=site.directory,
        )
        if stranger:
            served = f" (Server: {server})" if server else ""
            raise StepFailed(
                f"{outside.url} from outside answers {outside.title!r}{served}, not this site's page; from inside: "
                f"{inside.status or inside.error} {inside.title!r}",
                log_lines,
                facts,
            )
        if outside.ok and database is not None:
            unmigrated = "no such table" in database.body or any("no such table" in line for line in log_lines)
            if database.status != 500 or not unmigrated:
                # A 500 that says nothing of the database is the site's own view (a reader's list page
                # raising DoesNotExist for list 0): not this probe's business.
                said = f"{outside.url} answers {outside.status} {outside.title!r} from outside and inside"
                if ctx.layout.production:
                    said += await self._production(ctx, outside, facts)
                return said
        failing = database if outside.ok and database else outside
        what = f"HTTP {failing.status}" if failing.status else failing.error
        if ctx.layout.production:
            facts, log_lines = await self._backstage(ctx, failing, facts)
        raise StepFailed(
            f"{failing.url} from outside: {what}; from inside: {inside.status or inside.error}",
            log_lines,
            facts,
        )

    async def _backstage(
        self, ctx: Context, failing: Probe, facts: Facts, sheet: str = ""
    ) -> tuple[Facts, tuple[str, ...]]:
        """Production answered wrong: what gunicorn's unit, its journal and nginx's error log say (with sudo),
        the socket's path when nginx could not reach it, the static paths when a static file failed.

        The facts with it, and the evidence lines: nginx's last lines, then the journal (a traceback last)."""
        backstage = await read_backstage(ctx, self)
        nginx_errors, unread = await error_lines(ctx, self)
        socket_path: tuple[str, ...] = ()
        if failing.status == 502:
            namei = await run(ctx, self, in_site(ctx.site, Shell(f'namei -l "$PWD"/{SOCKET}')), capture=True)
            socket_path = tuple(namei.captured.splitlines())
        root, alias, file, collected = await static_paths(ctx, self, sheet) if sheet else ("", "", "", None)
        backstage = dataclasses.replace(
            backstage,
            nginx_errors=nginx_errors,
            unread=backstage.unread or unread,
            socket_path=socket_path,
            static_root=root,
            static_alias=alias,
            static_file=file or sheet,  # the stylesheet that failed, where it should be when known
            static_collected=collected,
        )
        unread_line = (f"(logs not read: {backstage.unread})",) if backstage.unread else ()
        said = (*unread_line, *nginx_errors[-6:], *backstage.journal)
        return dataclasses.replace(facts, backstage=backstage), said


class ProductionSmokeStep(SmokeStep):
    """The same probes behind nginx; a failure reads nginx's error log and gunicorn's journal, which need sudo."""

    sudo = True
