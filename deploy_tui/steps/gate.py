"""Live only after staging: a gated site deploys only a commit whose FTs passed on its gating site.

Run first, on this machine, before the deploy lock or anything else touches the server: the
commit the site would deploy is asked of the repository (git ls-remote, never prompting), and
the gating site's recordings say whether its functional tests passed on that commit. A refusal
names the gating site's last result for it; `--override-gate REASON` goes on, and the reason is
recorded with the run.
"""

from __future__ import annotations

import re
import shlex

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.events import Diagnosis, Notice
from deploy_tui.core.failure import Facts
from deploy_tui.steps.base import Context, Step, StepFailed, must
from deploy_tui.steps.source import NO_PROMPT

_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


class GateStep(Step):
    id = "gate"
    title = "Passed on staging first"
    verifies = True
    before_lock = True
    guide = (
        "The book deploys to staging, runs the functional tests against it, and only then does the same "
        "to live. deploy-tui keeps that order: a site with a gate (live's is staging) deploys only a commit "
        "whose functional tests passed on the gating site, as that site's recorded runs say. It is checked "
        "here, before anything touches the server. --override-gate REASON goes on anyway, and the reason "
        "is recorded with the run."
    )

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        site = ctx.site
        ask = f"{NO_PROMPT} git ls-remote -- {shlex.quote(site.repo)} {shlex.quote(f'refs/heads/{site.branch}')}"
        return (
            StepCommand(Shell(ask), f"what {site.name} would deploy", here=True, timeout=60),
            StepCommand(
                Shell(f"read the recordings of {site.gate}'s runs"),
                run=False,
                note="its newest run of that commit: did its functional tests pass?",
            ),
        )

    async def _commit(self, ctx: Context) -> str:
        if _COMMIT.match(ctx.site.branch):
            return ctx.site.branch
        ask, _ = self.commands(ctx)
        found = await must(ctx, self, ask, capture=True, facts=Facts(repo=ctx.site.repo, branch=ctx.site.branch))
        words = found.captured.split()
        if not words:
            raise StepFailed(
                f"branch {ctx.site.branch!r} is not in {ctx.site.repo}: nothing to deploy",
                found.stderr_tail,
                Facts(repo=ctx.site.repo, branch=ctx.site.branch),
            )
        return words[0]

    async def apply(self, ctx: Context) -> str:
        from deploy_tui.recordings.gate import verdict

        site, gate = ctx.site, ctx.site.gate
        commit = await self._commit(ctx)
        if ctx.runs_dir is None:
            raise StepFailed(f"no recordings to read: cannot tell whether {commit[:10]} passed on {gate}")
        said = verdict(ctx.runs_dir, gate, commit)
        if said.passed:
            return said.said
        reason = ctx.options.override_gate
        if reason:
            ctx.emit(
                Notice(step=self.id, level="warning", text=f"gate overridden for {commit[:10]}: {reason} ({said.said})")
            )
            return f"overridden: {reason}"
        recording = (f"its recording: {said.run.path}",) if said.run else ()
        ctx.emit(
            Diagnosis(
                step=self.id,
                code="G1",
                cause=f"{site.name} would deploy {commit[:10]}, and {said.said}. Live gets only what "
                f"{gate} has proven.",
                fix=f"Deploy it to {gate} first (deploy-tui run --site {gate}) and let its functional tests pass; "
                "or, knowing why, go on with --override-gate REASON (the reason is recorded).",
                evidence=(said.said, *recording),
            )
        )
        raise StepFailed(
            f"{commit[:10]} has not passed the functional tests on {gate}", (said.said,), Facts(diagnosed=True)
        )
