"""Repos the way readers of the Testing Goat book bring them to deploy-tui, made fresh for each test.

`edition2/` is shaped like the book's 2nd edition at its deployment chapter (Django 1.11, Selenium 3,
`STAGING_SERVER`, settings hard-coded for development); `edition3/` like the 3rd edition's (Django 5.2,
a `src/` layout, settings from `DJANGO_*` variables, whitenoise, `TEST_SERVER`), and it really runs.
Both FT suites drive `webdriver.Firefox()`, as the readers' own do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent
EDITIONS = ("edition2", "edition3")
AUTHOR = {"name": "Reader", "email": "reader@example.test"}


def _git_env() -> dict[str, str]:
    """The caller's environment without any GIT_* or user/system git config: a reader's plain commit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME=AUTHOR["name"],
        GIT_AUTHOR_EMAIL=AUTHOR["email"],
        GIT_COMMITTER_NAME=AUTHOR["name"],
        GIT_COMMITTER_EMAIL=AUTHOR["email"],
    )
    return env


def make_reader_repo(edition: str, dest: Path, *, branch: str = "main") -> Path:
    """Copy the fixture tree for edition ("edition2" or "edition3") into dest, `git init -b branch`, commit everything
    (author/committer set via env: name "Reader", email reader@example.test), return dest."""
    if edition not in EDITIONS:
        raise ValueError(f"unknown edition {edition!r}: choose one of {', '.join(EDITIONS)}")
    dest = Path(dest)
    shutil.copytree(
        FIXTURES / edition,
        dest,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.py[co]", "db.sqlite3"),
    )
    env = _git_env()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=dest, env=env, check=True, capture_output=True, timeout=60)

    git("init", "-q", "-b", branch)
    git("add", "--all")
    git("commit", "-q", "--no-gpg-sign", "-m", f"Superlists as a reader of the book's {edition} has it")
    return dest
