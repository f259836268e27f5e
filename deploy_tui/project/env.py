"""The [sites.NAME.env] table deploy-tui proposes, from what the settings read.

Values are placeholders that deploy-tui fills in on the server:

    {domain}      the site's domain
    {secret_key}  a key made on the server and kept there (0600), never shown
    {db_path}     the SQLite file, outside the checkout so a redeploy keeps the data

How each variable the settings read is understood, first rule that fits:

1. The DEBUG switch (Project.debug): deploy-tui runs Django's dev server, as chapter 9 does, and
   runserver serves /static/ only with DEBUG on. So DEBUG stays ON unless the settings use
   whitenoise, which serves collected static files itself; then DEBUG goes OFF (the 3rd edition:
   DJANGO_DEBUG_FALSE=1), and collectstatic must run before the server starts. The value is the one
   the settings compare against ("1"/"0", "True"/"False"...); a switch that is on or off by being
   unset is left out of the table, with the reason.
2. A variable ALLOWED_HOSTS is built from -> {domain} (comma-separated lists get just the domain).
3. By name: *SECRET_KEY* -> {secret_key}; *ALLOWED_HOST(S)*, SITENAME, *DOMAIN* -> {domain};
   *DB_PATH*, *DATABASE_PATH*, *SQLITE_PATH*, *DB_FILE*, *DATABASE_FILE* -> {db_path}.
4. Anything else is left out and listed with why: names it does not understand, flags (only their
   presence matters), DATABASE_URL (deploy-tui sets up a SQLite file, not a URL), STATIC_ROOT
   variables (collectstatic's default beside manage.py works), a second DEBUG-like variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deploy_tui.project.model import Project

DOMAIN = "{domain}"
KEY_PLACEHOLDER = "{secret_key}"
DB_PATH = "{db_path}"

_KEY = re.compile(r"SECRET_KEY")
_HOST = re.compile(r"ALLOWED_HOSTS?|SITENAME|SITE_NAME|DOMAIN")
_DB = re.compile(r"(?:DB|DATABASE|SQLITE)_(?:PATH|FILE)")


@dataclass(frozen=True)
class LeftOut:
    name: str
    reason: str


@dataclass(frozen=True)
class EnvProposal:
    env: dict[str, str]  # variable -> value or placeholder, in the order the settings first read them
    left_out: tuple[LeftOut, ...]  # variables the settings read that the table does not set, and why
    notes: tuple[str, ...] = ()


def _debug_value(project: Project, notes: list[str], production: bool = False) -> tuple[str | None, str]:
    """(value or None for unset, why) for the DEBUG switch."""
    switch = project.debug
    assert switch is not None
    name = switch.env.upper()
    if switch.understood:
        on, off = switch.on_value, switch.off_value
    elif "FALSE" in name or "PROD" in name:
        on, off = None, "1"
    else:
        on, off = "1", "0"
    if production:
        notes.append(f"{switch.env} turns DEBUG off: in production nginx serves /static/ from STATIC_ROOT")
        return off, "left unset: that turns DEBUG off, as production wants"
    if project.uses_whitenoise:
        notes.append(
            f"{switch.env} turns DEBUG off: whitenoise serves /static/ from STATIC_ROOT, "
            "so collectstatic must run before the server starts"
        )
        return off, "left unset: that turns DEBUG off, and whitenoise serves /static/"
    notes.append(
        f"{switch.env} keeps DEBUG on: runserver serves /static/ only with DEBUG on and the settings have no "
        "whitenoise; fine for a staging site on the dev server, not for a live one"
    )
    return on, "left unset so DEBUG stays on: runserver serves /static/ only with DEBUG on"


def propose_env(project: Project, production: bool = False) -> EnvProposal:
    """The env table for a site of this project; see the module docstring for the rules.

    production: the site runs under gunicorn behind nginx, so DEBUG goes off whatever serves /static/.
    """
    env: dict[str, str] = {}
    left_out: list[LeftOut] = []
    notes: list[str] = []
    for name in project.env_names:
        upper = name.upper()
        kind = project.env_kind(name)
        value: str | None = None
        why = ""
        if name == project.debug_env:
            value, why = _debug_value(project, notes, production)
        elif name in project.allowed_hosts.env_names:
            value = DOMAIN
        elif _KEY.search(upper):
            value = KEY_PLACEHOLDER
        elif _HOST.search(upper):
            value = DOMAIN
        elif _DB.search(upper):
            value = DB_PATH
        elif kind == "flag":
            why = "a flag: only whether it is set matters, and deploy-tui does not know what it switches"
        elif "DATABASE_URL" in upper or upper.endswith("DB_URL"):
            why = "a database URL: deploy-tui sets up a SQLite file; set it by hand for another database"
        elif "STATIC_ROOT" in upper:
            why = "where collectstatic gathers files: " + (
                "the settings' default works" if kind == "optional" else "required, set it by hand"
            )
        elif "DEBUG" in upper:
            why = f"a second DEBUG-like variable (the switch is {project.debug_env or 'not found'})"
        else:
            why = "not understood" + (" (the settings require it: set it by hand)" if kind == "required" else "")
        if value is None:
            left_out.append(LeftOut(name, why))
        else:
            env[name] = value
    if project.allowed_hosts.kind == "literal" and project.allowed_hosts.values:
        notes.append(
            f"ALLOWED_HOSTS is hard-coded ({', '.join(project.allowed_hosts.values)}): add the site's domain to it"
        )
    elif project.allowed_hosts.kind == "literal":
        notes.append("ALLOWED_HOSTS is hard-coded empty: add the site's domain to it")
    return EnvProposal(env=env, left_out=tuple(left_out), notes=tuple(notes))
