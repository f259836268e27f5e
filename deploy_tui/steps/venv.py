"""Step 4: a virtualenv in the site directory with the site's requirements installed in it."""

from __future__ import annotations

import dataclasses
import re
import shlex

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.events import Progress
from deploy_tui.steps import uv
from deploy_tui.steps.base import Context, Step, StepFailed, in_site, must, run

STAMP = ".venv/.deploy-tui-requirements.sha256"  # written by either installer, read by both
KEPT = 4  # venvs kept for earlier requirements: a rollback to one of their releases installs nothing


def _kept_venv(ctx: Context, make: str) -> str:
    """A venv per requirements file's hash, in .venvs/, with .venv the link to the one in use.

    `make` makes the venv at "$v" when it is not there. An earlier release's venv stays, so going back
    to it (a rollback) is a switch of the link; the oldest beyond KEPT go. Chapter 9's single .venv
    directory, from before, is replaced once.
    """
    requirements = shlex.quote(ctx.layout.requirements)
    return (
        f'h=$(sha256sum < {requirements} | cut -c1-16) && v=.venvs/"$h" && '
        "if [ -d .venv ] && [ ! -L .venv ]; then rm -rf .venv; fi && "
        f'mkdir -p .venvs && {{ {make}; }} && ln -sfn "$v" .venv && touch "$v" && '
        f"{{ ls -1dt .venvs/*/ | tail -n +{KEPT + 2} | xargs -r rm -rf; }}"
    )


_UV_COUNT = re.compile(r"Resolved (\d+) packages? in ")


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
        "always .venv/bin/pip: the system's pip refuses, with 'externally-managed-environment'. "
        'With installer = "uv" in deploy.toml, uv, a fast installer written in Rust, makes the same venv '
        "and installs the same requirements in a fraction of the time: deploy-tui fetches its binary here "
        "(pip download, once), copies it over SSH to ~/.local/share/deploy-tui/bin/uv on the server, "
        "checked by its SHA-256, then runs uv venv and uv pip install. Either installer takes over from the other."
    )

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        if ctx.site.installer == "uv":
            return self._uv_commands(ctx)
        site, requirements = ctx.site, shlex.quote(ctx.layout.requirements)
        return (
            # pip, not python: a venv made without python3-venv (D10), or by uv, has a python and no pip.
            in_site(
                site,
                Shell(_kept_venv(ctx, 'test -x "$v"/bin/pip || python3 -m venv "$v"')),
                "python3 -m venv (one per requirements, kept)",
                timeout=300,
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

    def _uv_commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        """The same venv and the same stamp through uv, so either installer takes over from the other."""
        site, requirements = ctx.site, shlex.quote(ctx.layout.requirements)
        return (
            uv.platform_command(),
            dataclasses.replace(
                uv.fetch_command("<the server's platform>", uv.cache_dir("<platform>")),
                run=False,
                note="here, once per uv version and platform; cached",
            ),
            StepCommand(
                Shell(f"sftp put uv.gz ~/{uv.REMOTE_DIR}/uv.gz"), run=False, note="only when the server has not got it"
            ),
            dataclasses.replace(uv.install_command("<its sha256>"), note="only when copied"),
            in_site(
                site,
                Shell(_kept_venv(ctx, f'test -x "$v"/bin/python || {uv.ENV} {uv.UV} venv --python python3 "$v"')),
                "uv venv (one per requirements, kept)",
                timeout=300,
            ),
            in_site(
                site,
                Shell(
                    f"rm -f {STAMP} && {uv.ENV} {uv.UV} pip install --python .venv/bin/python -r {requirements} && "
                    f"sha256sum {requirements} > {STAMP}"
                ),
                f"uv pip install -r {ctx.layout.requirements}",
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
        from deploy_tui.core.diagnoses.pip import telling  # the rules load when a run needs them

        uv_said = ""
        if ctx.site.installer == "uv":
            uv_said = await uv.bring_uv(ctx, self) + "; "
        create, install = self.commands(ctx)[-2:]
        collected = 0
        # Why pip failed is said early (a build's "fatal error: mysql.h"), then buried under its log and
        # notes: the lines the diagnoses read are kept here, since a failure keeps only the last ones.
        reasons: list[str] = []

        def progress(stream: str, line: str) -> None:
            nonlocal collected
            if line.startswith(("Collecting ", "Requirement already satisfied")):
                collected += 1
                ctx.emit(Progress(step=self.id, done=collected, total=None, unit="packages", label="pip"))
            elif found := _UV_COUNT.match(line):
                collected = int(found[1])  # uv says it once: "Resolved 3 packages in 1ms"
            elif telling(line) and len(reasons) < 20:
                reasons.append(line)

        await must(ctx, self, create)
        try:
            await must(ctx, self, install, on_line=progress)
        except StepFailed as failed:
            buried = tuple(line for line in reasons if line not in failed.evidence)
            raise StepFailed(str(failed), (*buried, *failed.evidence), failed.facts) from None
        return f"{uv_said}requirements installed ({collected} packages)"
