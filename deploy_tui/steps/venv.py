"""Step 4: a virtualenv in the site directory with the site's requirements installed in it."""

from __future__ import annotations

from deploy_tui.events import Progress
from deploy_tui.steps.base import Context, Step, in_site, must, run

STAMP = ".venv/.deploy-tui-requirements.sha256"


class VenvStep(Step):
    id = "venv"
    title = "Virtualenv and requirements (pip)"

    def commands(self, ctx: Context) -> list[str]:
        return [
            "python3 -m venv .venv",
            ".venv/bin/pip install -r requirements.txt",
        ]

    async def check(self, ctx: Context) -> bool:
        result = await run(
            ctx,
            self,
            in_site(
                ctx.site,
                (f".venv/bin/python -c 'import django' && sha256sum requirements.txt | cmp -s - {STAMP}"),
            ),
        )
        return result.ok

    async def apply(self, ctx: Context) -> str:
        collected = 0

        def progress(stream: str, line: str) -> None:
            nonlocal collected
            if line.startswith("Collecting ") or line.startswith("Requirement already satisfied"):
                collected += 1
                ctx.emit(Progress(step=self.id, done=collected, total=None, unit="packages", label="pip"))

        await must(
            ctx,
            self,
            in_site(ctx.site, "test -x .venv/bin/python || python3 -m venv .venv"),
            "python3 -m venv .venv",
            timeout=300,
        )
        await must(
            ctx,
            self,
            in_site(
                ctx.site,
                (
                    f"rm -f {STAMP} && .venv/bin/pip install --disable-pip-version-check -r requirements.txt && "
                    f"sha256sum requirements.txt > {STAMP}"
                ),
            ),
            "pip install -r requirements.txt",
            timeout=1800,
            on_line=progress,
        )
        return f"requirements installed ({collected} packages)"
