"""Field diagnoses, SQLite that the server's user cannot write (F14)."""

from __future__ import annotations

import re
import shlex

from deploy_tui.core.diagnoses.base import Rule, evidence
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import Facts, StepFailed

RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


# The settings' variable for the SQLite file, by the names deploy-tui proposes {db_path} for.
_DB_VARIABLE = re.compile(r"(?:DB|DATABASE|SQLITE)_(?:PATH|FILE)")


def _database_path(facts: Facts) -> tuple[str, str]:
    """(the database file, the variable that names it) as the site's env gives them, or ("", "") when it does not."""
    for name, value in facts.env:
        if value == "{db_path}" and facts.site_dir:
            return f"{facts.site_dir}/db.sqlite3", name  # where the steps put it: beside the code
        if _DB_VARIABLE.search(name) and value.startswith(("/", "~/")) and "{" not in value:
            return value, name
    return "", ""


def _shell_path(path: str) -> str:
    """A path as one shell word, ~/ left for the shell to expand."""
    if path.startswith("~/"):
        return "~/" + shlex.quote(path[2:])
    return shlex.quote(path)


@rule
def sqlite_not_writable(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # Django 5.2, migrate on a db.sqlite3 root owns (or in a directory it cannot write the journal in):
    # "django.db.utils.OperationalError: attempt to write a readonly database", ending with
    # "django.db.migrations.exceptions.MigrationSchemaMissing: Unable to create the django_migrations
    # table (attempt to write a readonly database)". A directory it cannot create the file in, or that is
    # not there: "django.db.utils.OperationalError: unable to open database file".
    readonly = "attempt to write a readonly database" in text
    if not readonly and "unable to open database file" not in text:
        return None
    facts = failure.facts
    user = facts.user or "the user the site runs as"
    owner = shlex.quote(facts.user) if facts.user else "USER"
    path, variable = _database_path(facts)
    where = f" ({path})" if path else ""
    directory = path.rpartition("/")[0] if path else ""
    if readonly:
        cause = (
            f"SQLite cannot write the database{where}: the file, or the directory it is in, belongs to another "
            f"user than {user}, who runs manage.py and the server. SQLite writes a journal file beside the "
            "database, so both must be writable. The usual cause: a sudo ... manage.py migrate, which made "
            "them root's."
        )
        if path:
            chown = f"sudo chown {owner}: {_shell_path(directory)} {_shell_path(path)}"
        else:
            chown = f"sudo chown {owner}: DIR DIR/db.sqlite3 (db.sqlite3 beside manage.py, unless the settings say)"
        fix = f"Give them back: {chown}; then retry. Run manage.py as {user}, never with sudo."
    else:
        cause = (
            f"SQLite cannot open or create the database file{where}: its directory does not exist, or {user} "
            "cannot write in it (SQLite creates the file, and its journal, there)."
        )
        if path:
            named = f"{variable} = {path}"
            fix = (
                f"Make the directory {user}'s: sudo mkdir -p {_shell_path(directory)} && sudo chown {owner}: "
                f'{_shell_path(directory)}; or set {variable} = "{{db_path}}" in deploy.toml\'s env (the site '
                f"directory), instead of {named}. Then retry."
            )
        else:
            fix = (
                f"Point the settings' database path at a directory {user} owns (deploy.toml's env, e.g. "
                'DJANGO_DB_PATH = "{db_path}", the site directory), or make its directory theirs: '
                f"sudo chown {owner}: DIR. Then retry."
            )
    return Diagnosis(
        step=step,
        code="F14",
        cause=cause,
        fix=fix,
        evidence=evidence(failure, r"readonly database|unable to open database|OperationalError"),
    )
