"""Step 7a: the site answers, seen from outside (this machine) and from inside (the server itself)."""

from __future__ import annotations

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.events import ProbeResult
from deploy_tui.core.failure import Facts, Probe
from deploy_tui.remote import probes
from deploy_tui.steps.base import Context, Step, StepFailed, in_site, run
from deploy_tui.steps.devserver import LOG

# A list that cannot exist: its page makes Django query the database, so an
# unmigrated one shows up here as a 500 ("no such table") rather than in the FTs.
DATABASE_PATH = "/lists/0/"


class SmokeStep(Step):
    id = "smoke"
    title = "Smoke test from outside and inside"
    verifies = True
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
        s = ctx.site
        site_url = f"http://{s.domain}:{s.app_port}"
        return (
            StepCommand(Shell(f"GET {site_url}/"), run=False, note=f"from here, {s.domain} pinned to {ctx.address}"),
            StepCommand(probes.inside_command(s.domain, s.app_port), "curl on the server"),
            StepCommand(Shell(f"GET {site_url}{DATABASE_PATH}"), run=False, note="reaches the database; 404 expected"),
        )

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

        site = ctx.site
        _, curl, _ = self.commands(ctx)
        outside, server = await probes.outside_answer(site.domain, ctx.address, site.app_port)
        self._report(ctx, outside)
        inside = await probes.inside(ctx.session, self.id, Shell(curl.script), f"http://localhost:{site.app_port}/")
        self._report(ctx, inside)
        # An answer from outside that is not the page the server serves itself is someone else's (F16):
        # its database probe would only test that other server.
        stranger = answered_by_another(outside, inside, site.page_marker)
        database = None
        if outside.ok and not stranger:
            database = await probes.outside(site.domain, ctx.address, site.app_port, DATABASE_PATH)
            self._report(ctx, database)
        log = await run(ctx, self, in_site(site, Shell(f"tail -n 30 {LOG} 2>/dev/null || true")), capture=True)
        facts = Facts(
            outside=outside,
            inside=inside,
            database=database,
            port=site.app_port,
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
                tuple(log.captured.splitlines()),
                facts,
            )
        if outside.ok and database is not None:
            unmigrated = "no such table" in database.body or "no such table" in log.captured
            if database.status != 500 or not unmigrated:
                # A 500 that says nothing of the database is the site's own view (a reader's list page
                # raising DoesNotExist for list 0): not this probe's business.
                return f"{outside.url} answers {outside.status} {outside.title!r} from outside and inside"
        failing = database if outside.ok and database else outside
        what = f"HTTP {failing.status}" if failing.status else failing.error
        raise StepFailed(
            f"{failing.url} from outside: {what}; from inside: {inside.status or inside.error}",
            tuple(log.captured.splitlines()),
            facts,
        )
