"""Step 5: the database schema, made current with Django's migrations."""

from __future__ import annotations

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.steps.base import Context, Step, in_site, must, run

MIGRATE = ".venv/bin/python manage.py migrate --noinput"


class MigrateStep(Step):
    id = "migrate"
    title = "Database migrations"
    guide = (
        "Django builds the database tables from the migrations in the code. A fresh server has an "
        "empty database: without this step the first page that touches it fails with 'no such table'. "
        "Running it again is harmless: only new migrations are applied."
    )

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        return (in_site(ctx.site, Shell(MIGRATE), "manage.py migrate", timeout=600),)

    async def check(self, ctx: Context) -> bool:
        pending = in_site(ctx.site, Shell(MIGRATE.replace("--noinput", "--check --noinput")))
        return (await run(ctx, self, pending)).ok

    async def apply(self, ctx: Context) -> str:
        (migrate,) = self.commands(ctx)
        await must(ctx, self, migrate)
        return "database migrated"
