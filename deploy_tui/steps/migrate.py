"""Step: the database schema, made current with Django's migrations."""

from __future__ import annotations

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.failure import Facts
from deploy_tui.core.plan import AlreadyDone
from deploy_tui.steps.base import Context, Step, in_site, keep_secret_key, manage, must, run

NOTHING_TO_APPLY = "No migrations to apply."  # what Django's migrate says when the schema is current


class MigrateStep(Step):
    id = "migrate"
    title = "Database migrations"
    # migrate says when it had nothing to apply: after an earlier step changed something, running it costs
    # what `migrate --check` would (Django's start-up), so it is run instead of checking first.
    apply_tells_done = True
    # collectstatic reads the code and writes files; migrate reads the code and writes the database: neither
    # needs the other, so on a deploy that runs both (a first one, new code) they run at once.
    runs_beside = frozenset({"static"})
    check_first = True  # `migrate --check` starts Django: the check a no-change redeploy waits on longest
    guide = (
        "Django builds the database tables from the migrations in the code. A fresh server has an "
        "empty database: without this step the first page that touches it fails with 'no such table'. "
        "Running it again is harmless: only new migrations are applied. It runs with the site's "
        "environment, so it migrates the database the server will use. Run it as the user the server "
        "runs as, never with sudo: SQLite writes a journal beside the database, so the file and its "
        "directory must both be that user's, or the site fails with 'attempt to write a readonly database'."
    )

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        return (in_site(ctx.site, Shell(manage(ctx, "migrate --noinput")), "manage.py migrate", timeout=600),)

    async def check(self, ctx: Context) -> bool:
        await keep_secret_key(ctx, self, create=False)
        # Only whether a migration is unapplied: Django's system checks (some 30 ms of the ~200) are for
        # the apply, which still runs them. (Both options came in Django 3.x; an older one fails the check,
        # and the migrate it leads to says "No migrations to apply".)
        checking = manage(ctx, "migrate --check --skip-checks --noinput")
        return (await run(ctx, self, in_site(ctx.site, Shell(checking)))).ok

    async def apply(self, ctx: Context) -> str:
        (migrate,) = self.commands(ctx)
        await keep_secret_key(ctx, self, create=True)
        # The env names the database file, for a diagnosis that says which file to give back.
        said: list[str] = []
        await must(
            ctx, self, migrate, facts=Facts(env=ctx.layout.env), on_line=lambda stream, line: said.append(line.strip())
        )
        if NOTHING_TO_APPLY in said:
            raise AlreadyDone("no migrations to apply")
        applied = sum(1 for line in said if line.startswith("Applying ") and line.endswith(" OK"))
        return f"database migrated ({applied} migration{'s' if applied != 1 else ''} applied)"
