"""What git says of the checkout: where it is pushed and which branch it is on (read-only git commands)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GitOrigin:
    url: str  # "" when there is no origin
    branch: str  # "" when detached or not a git checkout


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def git_origin(root: Path) -> GitOrigin:
    """`git remote get-url origin` and the current branch, for filling in a site's repo and branch."""
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    return GitOrigin(_git(root, "remote", "get-url", "origin"), "" if branch == "HEAD" else branch)
