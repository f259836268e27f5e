"""A rollback's first step: what going back from the server's commit to an earlier release would undo.

A rollback is a deployment of an earlier good release's commit with the steps that bring its
code back (source, its kept venv, static, the server restarted) and never `migrate`: the
database is not deleted or rewritten. So before anything changes, the two commits' migrations
are compared on the server: when they differ, the old code would run against a schema it does
not know, and the rollback stops naming the migrations, unless told to go on.
"""

from __future__ import annotations

import shlex

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import Facts
from deploy_tui.steps.base import Context, Step, StepFailed, in_site, must
from deploy_tui.steps.source import NO_PROMPT

# Every migration module of every app, wherever the apps live in the repository.
_MIGRATIONS = "':(glob)**/migrations/[0-9]*.py'"


class RollbackStep(Step):
    id = "rollback"
    title = "Back to an earlier release"
    verifies = True
    guide = (
        "A rollback puts back the code of an earlier good release: its commit, its venv (kept from then, "
        "so nothing is installed), its static files, and restarts the server. It never runs migrate: "
        "the database stays as it is, data and all. So first it compares the two commits' migrations: "
        "if the newer code added some, the old code would meet tables or columns it does not know, and "
        "the rollback stops and names them (--allow-migration-mismatch goes on anyway; rolling the "
        "database back is yours to decide, with manage.py migrate APP NUMBER, and it can lose data)."
    )

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        target = shlex.quote(ctx.site.branch)
        return (
            in_site(
                ctx.site,
                Shell(
                    f"{NO_PROMPT} git fetch --quiet origin && git rev-parse HEAD && "
                    f"git diff --name-status {target} HEAD -- {_MIGRATIONS}"
                ),
                "the migrations between the release and what runs now",
                timeout=300,
            ),
        )

    async def apply(self, ctx: Context) -> str:
        (compare,) = self.commands(ctx)
        found = await must(ctx, self, compare, capture=True, facts=Facts(repo=ctx.site.repo, branch=ctx.site.branch))
        head, *changes = [line for line in found.captured.splitlines() if line.strip()] or [""]
        target = ctx.site.branch
        if head.startswith(target) or target.startswith(head):
            return f"{target[:10]} is what runs now: nothing to go back from"
        if not changes:
            return f"from {head[:10]} back to {target[:10]}: the same migrations, the database fits both"
        # "A  lists/migrations/0003_x.py": added since the release (what the old code does not know).
        listed = tuple(
            f"{'added since' if c.startswith('A') else 'changed or removed since'}: {c.split()[-1]}" for c in changes
        )
        if ctx.options.allow_migration_mismatch:
            return f"from {head[:10]} back to {target[:10]}, going on with {len(changes)} migration(s) that differ"
        ctx.emit(
            Diagnosis(
                step=self.id,
                code="K1",
                cause=f"The release {target[:10]} and what runs now ({head[:10]}) differ in {len(changes)} "
                "migration(s): the database has been migrated past what the old code knows, and a rollback "
                "never rewrites the database.",
                fix="Go back anyway with --allow-migration-mismatch (the old code meets the newer tables; fine "
                "when they only add), or first migrate the database back yourself (manage.py migrate APP "
                "NUMBER: it can drop data), or deploy a fix forward instead.",
                evidence=listed,
            )
        )
        raise StepFailed(
            f"{len(changes)} migration(s) differ between {head[:10]} and {target[:10]}", listed, Facts(diagnosed=True)
        )
