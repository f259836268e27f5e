"""Step 1: the site's A record points at the server, across many resolvers."""

from __future__ import annotations

import ipaddress
import shlex

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.events import Notice
from deploy_tui.core.failure import Facts
from deploy_tui.steps.base import Context, Step, StepFailed


class DnsStep(Step):
    id = "dns"
    title = "DNS points at the server"
    verifies = True
    results = "dns"
    guide = (
        "A domain reaches your server through an A record: a line at your DNS provider saying "
        "'this name is at this IPv4 address'. Resolvers all over the world cache such answers for the "
        "record's TTL, so a new or changed record shows up in some places before others: that is "
        "propagation. This step asks many resolvers at once, and the domain's own nameservers, which "
        "say what every resolver will say once its cache expires."
    )

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        resolvers = "".join(f" --resolver {shlex.quote(r.label)}" for r in ctx.resolvers[:3])
        more = " ..." if len(ctx.resolvers) > 3 else ""
        query = f"deploy-tui dns {shlex.quote(ctx.site.domain)} --expect {ctx.address}{resolvers}{more}"
        return (StepCommand(Shell(query), "DNS check", run=False, note="asked from here, in-process"),)

    async def apply(self, ctx: Context) -> str:
        from deploy_tui.remote import dns  # the DNS client loads when a check runs, not with the app

        summary = await dns.check(
            ctx.site.domain,
            [ipaddress.ip_address(ctx.address)],
            ctx.resolvers,
            emit=ctx.emit,
            timeout=ctx.options.dns_timeout,
            step=self.id,
        )
        if summary.propagated:
            return summary.text()
        if ctx.options.allow_unpropagated:
            ctx.emit(
                Notice(
                    step=self.id,
                    level="warning",
                    text=(
                        f"{summary.text()}; going on anyway, reaching {ctx.site.domain} at {ctx.address} directly "
                        "(the browser and the probes pin the name to the address)"
                    ),
                )
            )
            return summary.text() + " (going on with the address pinned)"
        evidence = tuple(
            f"{a.resolver} {a.address}: {a.status} {', '.join(a.records)}".rstrip() for a in summary.lagging
        ) or tuple(f"{a.resolver} {a.address}: {a.status}" for a in summary.answers)
        raise StepFailed(
            summary.text(),
            evidence,
            Facts(
                domain=ctx.site.domain,
                expected=ctx.address,
                expires_within=summary.expires_within(),
                matched=summary.matched,
            ),
        )
