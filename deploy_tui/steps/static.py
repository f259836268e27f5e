"""Step: the site's static files gathered into STATIC_ROOT, for a server with DEBUG off (whitenoise, nginx)."""

from __future__ import annotations

import shlex

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.steps.base import Context, Step, in_site, keep_secret_key, manage, must, run

STAMP = ".deploy-tui-static.stamp"


def _stamp(ctx: Context) -> str:
    """What the collected files came from: the commit and the requirements (an app's own files may change)."""
    requirements = shlex.quote(ctx.layout.requirements)
    return f'printf \'%s %s\\n\' "$(git rev-parse HEAD)" "$(sha256sum < {requirements} | cut -c1-16)"'


class StaticStep(Step):
    id = "static"
    title = "Static files (collectstatic)"
    guide = (
        "With DEBUG on, Django's dev server serves each app's static files itself; with DEBUG off "
        "it serves none, and the page loses its CSS. The settings name STATIC_ROOT, so collectstatic "
        "gathers every app's files there, where whitenoise (or nginx, later) serves them. It runs "
        "again when the code or the requirements change."
    )

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        script = f"rm -f {STAMP} && {manage(ctx, 'collectstatic --noinput')} && {_stamp(ctx)} > {STAMP}"
        return (in_site(ctx.site, Shell(script), "manage.py collectstatic", timeout=600),)

    async def check(self, ctx: Context) -> bool:
        return (await run(ctx, self, in_site(ctx.site, Shell(f"{_stamp(ctx)} | cmp -s - {STAMP}")))).ok

    async def apply(self, ctx: Context) -> str:
        (collect,) = self.commands(ctx)
        await keep_secret_key(ctx, self, create=True)
        result = await must(ctx, self, collect, capture=True)
        counted = next((line for line in reversed(result.stdout_tail) if "static file" in line), "")
        return counted.strip() or "static files collected"
