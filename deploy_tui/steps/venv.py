"""Step 4: a virtualenv in the site directory with the site's requirements installed in it."""

from __future__ import annotations

import shlex

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.events import Progress
from deploy_tui.steps.base import Context, Step, in_site, must, run

STAMP = ".venv/.deploy-tui-requirements.sha256"


class VenvStep(Step):
    id = "venv"
    title = "Virtualenv and requirements (pip)"
    guide = (
        "A virtualenv keeps the site's Python packages apart from the system's, so the server runs "
        "exactly the versions in requirements.txt (Django pinned) and an apt upgrade cannot break "
        "them. The venv lives in the site directory as .venv, and manage.py is always run with "
        ".venv/bin/python."
    )

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        site, requirements = ctx.site, shlex.quote(ctx.layout.requirements)
        return (
            in_site(
                site, Shell("test -x .venv/bin/python || python3 -m venv .venv"), "python3 -m venv .venv", timeout=300
            ),
            in_site(
                site,
                Shell(
                    f"rm -f {STAMP} && .venv/bin/pip install -r {requirements} --disable-pip-version-check && "
                    f"sha256sum {requirements} > {STAMP}"
                ),
                f"pip install -r {ctx.layout.requirements}",
                timeout=1800,
            ),
        )

    async def check(self, ctx: Context) -> bool:
        requirements = shlex.quote(ctx.layout.requirements)
        installed = in_site(
            ctx.site, Shell(f".venv/bin/python -c 'import django' && sha256sum {requirements} | cmp -s - {STAMP}")
        )
        return (await run(ctx, self, installed)).ok

    async def apply(self, ctx: Context) -> str:
        create, install = self.commands(ctx)
        collected = 0

        def progress(stream: str, line: str) -> None:
            nonlocal collected
            if line.startswith(("Collecting ", "Requirement already satisfied")):
                collected += 1
                ctx.emit(Progress(step=self.id, done=collected, total=None, unit="packages", label="pip"))

        await must(ctx, self, create)
        await must(ctx, self, install, on_line=progress)
        return f"requirements installed ({collected} packages)"
