"""Step 5: the database schema, made current with Django's migrations."""

from __future__ import annotations

from deploy_tui.steps.base import Context, Step, in_site, must, run

MIGRATE = ".venv/bin/python manage.py migrate --noinput"


class MigrateStep(Step):
    id = "migrate"
    title = "Database migrations"

    def commands(self, ctx: Context) -> list[str]:
        return [MIGRATE]

    async def check(self, ctx: Context) -> bool:
        return (await run(ctx, self, in_site(ctx.site, MIGRATE.replace("--noinput", "--check --noinput")))).ok

    async def apply(self, ctx: Context) -> str:
        await must(ctx, self, in_site(ctx.site, MIGRATE), "manage.py migrate", timeout=600)
        return "database migrated"
