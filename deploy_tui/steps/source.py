"""Step 3: the site's code, cloned into the site directory or brought up to the chosen branch or commit.

Only tracked files change: the database and anything else untracked stays.
"""

from __future__ import annotations

import re
import shlex

from deploy_tui.core.commands import Shell, StepCommand, sh
from deploy_tui.core.failure import Facts
from deploy_tui.steps.base import Context, Step, StepFailed, in_site, must, run, site_dir

_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


class SourceStep(Step):
    id = "source"
    title = "Code on the server (git)"
    guide = (
        "The code comes from your git repository, not from your laptop: the server clones it into "
        "~/sites/<domain>, and on every later deploy fetches and checks out the chosen branch. Files "
        "git does not track, such as the SQLite database, are never touched."
    )

    def _target(self, ctx: Context) -> str:
        branch = ctx.site.branch
        return branch if _COMMIT.match(branch) else f"origin/{branch}"

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        s = ctx.site
        where = site_dir(s)
        clone = sh("git clone --progress -- {repo} ", repo=s.repo).script + where
        return (
            StepCommand(
                Shell(f"test -d {where}/.git || {{ mkdir -p {where} && {clone}; }}"),
                what=f"git clone {s.repo}",
                timeout=600,
                note="first time only",
            ),
            in_site(
                s,
                sh(
                    "git remote set-url origin {repo} && git fetch --prune --progress origin && "
                    "git checkout --force -B {branch} {target}",
                    repo=s.repo,
                    branch=s.branch,
                    target=self._target(ctx),
                ),
                f"git checkout {s.branch}",
                timeout=600,
            ),
        )

    async def _wanted_commit(self, ctx: Context) -> str:
        s = ctx.site
        if _COMMIT.match(s.branch):
            return s.branch
        remote = await must(
            ctx,
            self,
            StepCommand(
                ["git", "ls-remote", "--", s.repo, f"refs/heads/{s.branch}"], f"git ls-remote {s.repo}", timeout=120
            ),
            capture=True,
        )
        if not remote.captured.strip():
            raise StepFailed(
                f"branch {s.branch!r} is not in {s.repo}", remote.stderr_tail, Facts(repo=s.repo, branch=s.branch)
            )
        return remote.captured.split()[0]

    async def check(self, ctx: Context) -> bool:
        state = await run(
            ctx,
            self,
            in_site(
                ctx.site,
                Shell(
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
        return origin == ctx.site.repo and head.startswith(wanted) and changed.strip() == "0"

    async def apply(self, ctx: Context) -> str:
        clone, checkout = self.commands(ctx)
        await must(ctx, self, clone)
        await must(ctx, self, checkout)
        head = await must(ctx, self, in_site(ctx.site, Shell("git log -1 --format='%h %s'"), "git log"), capture=True)
        await self._confirm(ctx)
        return f"{ctx.site.directory} at {head.captured.strip()}"

    async def _confirm(self, ctx: Context) -> None:
        """What the checkout showed is what the server got: manage.py and the requirements where they were."""
        layout = ctx.layout
        wanted = (layout.manage_py, layout.requirements)
        script = " && ".join(f"test -f {shlex.quote(path)}" for path in wanted)
        if (await run(ctx, self, in_site(ctx.site, Shell(script)))).ok:
            return
        listing = await run(ctx, self, in_site(ctx.site, Shell("ls -1")), capture=True)
        raise StepFailed(
            f"the clone of {ctx.site.repo} ({ctx.site.branch}) has no {' or '.join(wanted)}, which the checkout "
            f"{ctx.options.checkout} has: run deploy-tui from a checkout of the repository it deploys, "
            "and push what you want deployed",
            tuple(listing.captured.splitlines()[:20]),
            Facts(repo=ctx.site.repo, branch=ctx.site.branch),
        )
