"""Step 2: the packages the site needs on the server, installed with apt as the sudo user."""

from __future__ import annotations

import re
import shlex

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.events import Progress
from deploy_tui.steps.base import Context, Step, must, run

PACKAGES = ("python3", "python3-venv", "git", "curl")
PRODUCTION_PACKAGES = (*PACKAGES, "nginx")


def packages(ctx: Context) -> tuple[str, ...]:
    return PRODUCTION_PACKAGES if ctx.layout.production else PACKAGES


_COUNTS = re.compile(r"(\d+) upgraded, (\d+) newly installed")


class ProvisionStep(Step):
    id = "provision"
    title = "Server packages (apt)"
    sudo = True
    guide = (
        "The server needs Python, its venv module (a separate package on Debian and Ubuntu) and git. "
        "apt installs them, as root, so this step runs with sudo: you log in as an ordinary user and "
        "become root only for what needs it. Packages already there are left alone. "
        "This is where a fresh server tends to bite: your key may work for root but not yet for your user, "
        "sudo wants your user's own login password (not root's, not your key's passphrase), and a user the "
        "provider made may not be in the sudo group until root adds it with usermod -aG sudo."
    )

    def _apt(self, ctx: Context, *args: str) -> StepCommand:
        lock = f"DPkg::Lock::Timeout={ctx.options.apt_lock_timeout}"
        script = "DEBIAN_FRONTEND=noninteractive " + shlex.join(["apt-get", "-o", lock, *args])
        return StepCommand(Shell(script), what=f"apt-get {args[0]}", sudo=True)

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        return (self._apt(ctx, "update", "-q"), self._apt(ctx, "install", "-y", "-q", *packages(ctx)))

    async def check(self, ctx: Context) -> bool:
        wanted = packages(ctx)
        query = StepCommand(["dpkg-query", "-W", "-f=${db:Status-Status}\\n", *wanted])
        result = await run(ctx, self, query, capture=True)
        return result.ok and result.captured.split() == ["installed"] * len(wanted)

    async def apply(self, ctx: Context) -> str:
        update, install = self.commands(ctx)
        await must(ctx, self, update)
        total = 0
        done = 0

        def progress(stream: str, line: str) -> None:
            nonlocal total, done
            if match := _COUNTS.search(line):
                total = int(match[1]) + int(match[2])
            elif line.startswith(("Unpacking ", "Setting up ")) and total:
                done += 1
                ctx.emit(Progress(step=self.id, done=done, total=total * 2, unit="actions", label="apt"))

        await must(ctx, self, install, on_line=progress)
        return f"{', '.join(packages(ctx))} installed"
