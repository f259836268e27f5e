"""Step 7a: the site answers, seen from outside (this machine) and from inside (the server itself)."""

from __future__ import annotations

from deploy_tui import probes
from deploy_tui.events import ProbeResult
from deploy_tui.steps.base import Context, Step, StepFailed, in_site, run
from deploy_tui.steps.devserver import LOG
from deploy_tui.steps.dns import expected_address

# A list that cannot exist: its page makes Django query the database, so an
# unmigrated one shows up here as a 500 ("no such table") rather than in the FTs.
DATABASE_PATH = "/lists/0/"


class SmokeStep(Step):
    id = "smoke"
    title = "Smoke test from outside and inside"
    verifies = True

    def commands(self, ctx: Context) -> list[str]:
        s = ctx.site
        return [
            f"GET http://{s.domain}:{s.app_port}/ from here (pinned to {s.address or s.host})",
            f"curl -H 'Host: {s.domain}:{s.app_port}' http://localhost:{s.app_port}/   (on the server)",
            f"GET http://{s.domain}:{s.app_port}{DATABASE_PATH} (reaches the database; 404 expected)",
        ]

    def _report(self, ctx: Context, probe: probes.Probe) -> None:
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
        site = ctx.site
        address = expected_address(ctx)
        outside = await probes.outside(site.domain, address, site.app_port)
        self._report(ctx, outside)
        inside = await probes.inside(ctx.ssh, self.id, site.domain, site.app_port)
        self._report(ctx, inside)
        database = None
        if outside.ok:
            database = await probes.outside(site.domain, address, site.app_port, DATABASE_PATH)
            self._report(ctx, database)
            if database.status != 500:
                return f"{outside.url} answers {outside.status} {outside.title!r} from outside and inside"
        log = await run(ctx, self, in_site(site, f"tail -n 30 {LOG} 2>/dev/null || true"), capture=True)
        failing = database if outside.ok and database else outside
        what = f"HTTP {failing.status}" if failing.status else failing.error
        raise StepFailed(
            f"{failing.url} from outside: {what}; from inside: {inside.status or inside.error}",
            tuple(log.captured.splitlines()),
            outside=outside,
            inside=inside,
            database=database,
            port=site.app_port,
            domain=site.domain,
        )
