"""Step 2: the packages the site needs on the server, installed with apt as the sudo user."""

from __future__ import annotations

import re
import shlex

from deploy_tui.events import Progress
from deploy_tui.shell import Shell
from deploy_tui.steps.base import Context, Step, must, run

PACKAGES = ("python3", "python3-venv", "git", "curl")
_COUNTS = re.compile(r"(\d+) upgraded, (\d+) newly installed")


class ProvisionStep(Step):
    id = "provision"
    title = "Server packages (apt)"
    sudo = True

    def _apt(self, ctx: Context, *args: str) -> str:
        lock = f"DPkg::Lock::Timeout={ctx.options.apt_lock_timeout}"
        return "DEBIAN_FRONTEND=noninteractive " + shlex.join(["apt-get", "-o", lock, *args])

    def commands(self, ctx: Context) -> list[str]:
        return [
            f"sudo {self._apt(ctx, 'update', '-q')}",
            f"sudo {self._apt(ctx, 'install', '-y', '-q', *PACKAGES)}",
        ]

    async def check(self, ctx: Context) -> bool:
        query = Shell(shlex.join(["dpkg-query", "-W", "-f=${db:Status-Status}\\n", *PACKAGES]))
        result = await run(ctx, self, query, capture=True)
        return result.ok and result.captured.split() == ["installed"] * len(PACKAGES)

    async def apply(self, ctx: Context) -> str:
        await must(ctx, self, Shell(self._apt(ctx, "update", "-q")), "apt-get update", sudo=True)
        total = 0
        done = 0

        def progress(stream: str, line: str) -> None:
            nonlocal total, done
            if match := _COUNTS.search(line):
                total = int(match[1]) + int(match[2])
            elif line.startswith(("Unpacking ", "Setting up ")) and total:
                done += 1
                ctx.emit(Progress(step=self.id, done=done, total=total * 2, unit="actions", label="apt"))

        install = Shell(self._apt(ctx, "install", "-y", "-q", *PACKAGES))
        await must(ctx, self, install, "apt-get install", sudo=True, on_line=progress)
        return f"{', '.join(PACKAGES)} installed"
