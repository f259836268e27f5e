"""Step 3: the site's code, cloned into the site directory or brought up to the chosen branch or commit.

Only tracked files change: the database and anything else untracked stays.
"""

from __future__ import annotations

import re
import shlex

from deploy_tui.shell import Shell
from deploy_tui.steps.base import Context, Step, StepFailed, in_site, must, run, site_dir

_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


class SourceStep(Step):
    id = "source"
    title = "Code on the server (git)"

    def _target(self, ctx: Context) -> str:
        branch = ctx.site.branch
        return branch if _COMMIT.match(branch) else f"origin/{branch}"

    def commands(self, ctx: Context) -> list[str]:
        s = ctx.site
        q = shlex.quote
        return [
            f"git clone -- {q(s.repo)} {site_dir(s)}   (first time)",
            f"cd {site_dir(s)} && git fetch --prune origin && git checkout --force -B {q(s.branch)} "
            f"{q(self._target(ctx))}   (later)",
        ]

    async def _wanted_commit(self, ctx: Context) -> str:
        s = ctx.site
        if _COMMIT.match(s.branch):
            return s.branch
        remote = await must(
            ctx,
            self,
            ["git", "ls-remote", "--", s.repo, f"refs/heads/{s.branch}"],
            f"git ls-remote {s.repo}",
            capture=True,
            timeout=120,
        )
        if not remote.captured.strip():
            raise StepFailed(
                f"branch {s.branch!r} is not in {s.repo}", remote.stderr_tail, repo=s.repo, branch=s.branch
            )
        return remote.captured.split()[0]

    async def check(self, ctx: Context) -> bool:
        state = await run(
            ctx,
            self,
            in_site(
                ctx.site,
                (
                    "git rev-parse HEAD && git config --get remote.origin.url && "
                    "git status --porcelain --untracked-files=no | wc -l"
                ),
            ),
            capture=True,
        )
        if not state.ok:
            return False
        head, origin, changed = ([*state.captured.splitlines(), "", "", ""])[:3]
        wanted = await self._wanted_commit(ctx)
        ctx.facts["commit"] = wanted
        return origin == ctx.site.repo and head.startswith(wanted) and changed.strip() == "0"

    async def apply(self, ctx: Context) -> str:
        s = ctx.site
        q = shlex.quote
        exists = await run(ctx, self, Shell(f"test -d {site_dir(s)}/.git"))
        if not exists.ok:
            await must(
                ctx,
                self,
                Shell(f"mkdir -p {site_dir(s)} && git clone --progress -- {q(s.repo)} {site_dir(s)}"),
                f"git clone {s.repo}",
                timeout=600,
            )
        await must(
            ctx,
            self,
            in_site(
                s,
                (
                    f"git remote set-url origin {q(s.repo)} && git fetch --prune --progress origin && "
                    f"git checkout --force -B {q(s.branch)} {q(self._target(ctx))}"
                ),
            ),
            f"git checkout {s.branch}",
            timeout=600,
        )
        head = await must(ctx, self, in_site(s, "git log -1 --format='%h %s'"), "git log", capture=True)
        return f"{s.directory} at {head.captured.strip()}"
