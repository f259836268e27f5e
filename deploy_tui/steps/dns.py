"""Step 1: the site's A record points at the server, across many resolvers."""

from __future__ import annotations

import ipaddress
import socket

from deploy_tui.events import Notice
from deploy_tui.steps.base import Context, Step, StepFailed


class DnsStep(Step):
    id = "dns"
    title = "DNS points at the server"
    verifies = True

    def commands(self, ctx: Context) -> list[str]:
        resolvers = " ".join(f"--resolver {r.label}" for r in ctx.resolvers[:3])
        more = " ..." if len(ctx.resolvers) > 3 else ""
        return [f"deploy-tui dns {ctx.site.domain} --expect {expected_address(ctx)} {resolvers}{more}"]

    async def apply(self, ctx: Context) -> str:
        from deploy_tui import dns  # the DNS client loads when a check runs, not with the app

        expected = expected_address(ctx)
        summary = await dns.check(
            ctx.site.domain,
            [ipaddress.ip_address(expected)],
            ctx.resolvers,
            emit=ctx.emit,
            timeout=ctx.options.dns_timeout,
            step=self.id,
        )
        ctx.facts["dns"] = summary
        if summary.propagated:
            return summary.text()
        if ctx.options.allow_unpropagated:
            ctx.emit(
                Notice(
                    step=self.id,
                    level="warning",
                    text=(
                        f"{summary.text()}; going on anyway, reaching {ctx.site.domain} at {expected} directly "
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
            domain=ctx.site.domain,
            expected=expected,
            expires_within=summary.expires_within(),
            matched=summary.matched,
        )


def expected_address(ctx: Context) -> str:
    """The IPv4 the domain should point at: configured, or the ssh host's own address."""
    site = ctx.site
    if site.address:
        return site.address
    try:
        return socket.gethostbyname(site.host)
    except OSError:
        raise StepFailed(
            f"cannot tell which address {site.domain} should point at: {site.host} does not resolve here",
            (),
            domain=site.domain,
            fix_field="address",
        ) from None
