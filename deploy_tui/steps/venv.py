"""Step 4: a virtualenv in the site directory with the site's requirements installed in it."""

from __future__ import annotations

import shlex

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.diagnoses.pip import telling
from deploy_tui.core.events import Progress
from deploy_tui.steps.base import Context, Step, StepFailed, in_site, must, run

STAMP = ".venv/.deploy-tui-requirements.sha256"


class VenvStep(Step):
    id = "venv"
    title = "Virtualenv and requirements (pip)"
    guide = (
        "A virtualenv keeps the site's Python packages apart from the system's, so the server runs "
        "exactly the versions in requirements.txt (Django pinned) and an apt upgrade cannot break "
        "them. The venv lives in the site directory as .venv, and manage.py is always run with "
        ".venv/bin/python. If pip fails, the reason is above its closing notes: most often a pinned version "
        "that does not exist, a package compiled on the server that needs build-essential and a -dev "
        "package (or a binary wheel instead), or a small server running out of memory (add swap). And "
        "always .venv/bin/pip: the system's pip refuses, with 'externally-managed-environment'."
    )

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        site, requirements = ctx.site, shlex.quote(ctx.layout.requirements)
        return (
            # pip, not python: a venv made without python3-venv (D10) has a python and no pip; made again here.
            in_site(
                site, Shell("test -x .venv/bin/pip || python3 -m venv .venv"), "python3 -m venv .venv", timeout=300
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
        # Why pip failed is said early (a build's "fatal error: mysql.h"), then buried under its log and
        # notes: the lines the diagnoses read are kept here, since a failure keeps only the last ones.
        reasons: list[str] = []

        def progress(stream: str, line: str) -> None:
            nonlocal collected
            if line.startswith(("Collecting ", "Requirement already satisfied")):
                collected += 1
                ctx.emit(Progress(step=self.id, done=collected, total=None, unit="packages", label="pip"))
            elif telling(line) and len(reasons) < 20:
                reasons.append(line)

        await must(ctx, self, create)
        try:
            await must(ctx, self, install, on_line=progress)
        except StepFailed as failed:
            buried = tuple(line for line in reasons if line not in failed.evidence)
            raise StepFailed(str(failed), (*buried, *failed.evidence), failed.facts) from None
        return f"requirements installed ({collected} packages)"
