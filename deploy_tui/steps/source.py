"""Step 3: the site's code, cloned into the site directory or brought up to the chosen branch or commit.

Only tracked files change: the database and anything else untracked stays.
"""

from __future__ import annotations

import re
import shlex

from deploy_tui.core.commands import Shell, StepCommand, sh
from deploy_tui.core.events import CodeAt
from deploy_tui.core.failure import Facts
from deploy_tui.steps.base import (
    Context,
    Step,
    StepFailed,
    env_digest,
    in_site,
    must,
    requirements_digest,
    run,
    site_dir,
)

_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")

# git never waits for an answer nobody is there to give: a repository that wants a password, or an ssh
# host key the server has never seen, fails at once with git's own words instead of hanging until the
# time limit. The preflight asks the same way from here.
NO_PROMPT = 'GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND="${GIT_SSH_COMMAND:-ssh} -o BatchMode=yes"'


def _git(template: str, /, **values: str) -> str:
    """A git command line that reaches the remote, values quoted, never prompting."""
    return f"{NO_PROMPT} {sh(template, **values).script}"


class SourceStep(Step):
    id = "source"
    title = "Code on the server (git)"
    guide = (
        "The code comes from your git repository, not from your laptop: the server clones it into "
        "~/sites/<domain>, and on every later deploy fetches and checks out the chosen branch. Files "
        "git does not track, such as the SQLite database, are never touched. The server is a new "
        "git user: it needs the exact URL (git ls-remote URL, run on the server, is the test), a key "
        "or token of its own for a private repository, the git host's key in its known_hosts, and "
        "a branch you have pushed. git never prompts here, so each of those fails at once and says why."
    )

    def _target(self, ctx: Context) -> str:
        branch = ctx.site.branch
        return branch if _COMMIT.match(branch) else f"origin/{branch}"

    def _facts(self, ctx: Context) -> Facts:
        return Facts(repo=ctx.site.repo, branch=ctx.site.branch)

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        s = ctx.site
        where = site_dir(s)
        clone = _git("git clone --progress -- {repo} ", repo=s.repo) + where
        return (
            StepCommand(
                Shell(f"test -d {where}/.git || {{ mkdir -p {where} && {clone}; }}"),
                what=f"git clone {s.repo}",
                timeout=600,
                note="first time only",
            ),
            in_site(
                s,
                Shell(
                    " && ".join(
                        (
                            sh("git remote set-url origin {repo}", repo=s.repo).script,
                            _git("git fetch --prune --progress origin"),
                            sh("git checkout --force -B {b} {target}", b=s.branch, target=self._target(ctx)).script,
                        )
                    )
                ),
                f"git checkout {s.branch}",
                timeout=600,
            ),
        )

    def _ls_remote(self, ctx: Context, ref: str = "") -> StepCommand:
        """Ask the remote for one branch's commit, or (no ref) for every branch it has."""
        repo = ctx.site.repo
        script = (
            _git("git ls-remote -- {repo} {ref}", repo=repo, ref=ref)
            if ref
            else _git("git ls-remote --heads -- {repo}", repo=repo)
        )
        return StepCommand(Shell(script), f"git ls-remote {repo}", timeout=120)

    async def _wanted_commit(self, ctx: Context) -> str:
        """The commit the branch is at on the remote; a branch that is not there fails, naming those that are."""
        s = ctx.site
        if _COMMIT.match(s.branch):
            return s.branch
        remote = await must(
            ctx, self, self._ls_remote(ctx, f"refs/heads/{s.branch}"), capture=True, facts=self._facts(ctx)
        )
        if not remote.captured.strip():
            raise await self._no_such_branch(ctx, remote.stderr_tail)
        return remote.captured.split()[0]

    async def _no_such_branch(self, ctx: Context, said: tuple[str, ...]) -> StepFailed:
        """The branch is not on the remote: the evidence is what git said, then the branches that are there."""
        s = ctx.site
        branches = await run(ctx, self, self._ls_remote(ctx), capture=True)
        heads = tuple(line for line in branches.captured.splitlines() if "refs/heads/" in line)
        facts = Facts(repo=s.repo, branch=s.branch, user=s.user or "", site_dir=s.directory)
        return StepFailed(f"branch {s.branch!r} is not in {s.repo}", (*said[-4:], *heads[:20]), facts)

    async def check(self, ctx: Context) -> bool:
        state = await run(
            ctx,
            self,
            in_site(
                ctx.site,
                Shell(
                    "git rev-parse HEAD && git config --get remote.origin.url && "
                    f"git status --porcelain --untracked-files=no | wc -l && echo {requirements_digest(ctx)}"
                ),
            ),
            capture=True,
        )
        if not state.ok:
            return False
        head, origin, changed, requirements = ([*state.captured.splitlines(), "", "", "", ""])[:4]
        wanted = await self._wanted_commit(ctx)
        done = origin == ctx.site.repo and head.startswith(wanted) and changed.strip() == "0"
        if done:
            ctx.emit(CodeAt(step=self.id, commit=head.strip(), requirements=requirements.strip(), env=env_digest(ctx)))
        return done

    async def apply(self, ctx: Context) -> str:
        clone, checkout = self.commands(ctx)
        await must(ctx, self, clone, facts=self._facts(ctx))
        try:
            await must(ctx, self, checkout, facts=self._facts(ctx))
        except StepFailed as failed:
            # git says "'origin/x' is not a commit", not which branches there are: the remote says that.
            branch = ctx.site.branch
            if not _COMMIT.match(branch):
                found = await run(ctx, self, self._ls_remote(ctx, f"refs/heads/{branch}"), capture=True)
                if found.ok and not found.captured.strip():
                    raise await self._no_such_branch(ctx, failed.evidence) from failed
            raise
        head = await must(ctx, self, in_site(ctx.site, Shell("git log -1 --format='%H %s'"), "git log"), capture=True)
        await self._confirm(ctx)
        commit, _, subject = head.captured.strip().partition(" ")
        requirements = await run(ctx, self, in_site(ctx.site, Shell(f"echo {requirements_digest(ctx)}")), capture=True)
        ctx.emit(CodeAt(step=self.id, commit=commit, requirements=requirements.captured.strip(), env=env_digest(ctx)))
        return f"{ctx.site.directory} at {commit[:7]} {subject}"

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
