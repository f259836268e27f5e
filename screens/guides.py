"""A short guide for each step, the way the book explains it to someone deploying for the first time."""

from __future__ import annotations

GUIDES: dict[str, str] = {
    "dns": (
        "A domain reaches your server through an A record: a line at your DNS provider saying "
        "'this name is at this IPv4 address'. Resolvers all over the world cache such answers for the "
        "record's TTL, so a new or changed record shows up in some places before others: that is "
        "propagation. This step asks many resolvers at once, and the domain's own nameservers, which "
        "say what every resolver will say once its cache expires."
    ),
    "provision": (
        "The server needs Python, its venv module (a separate package on Debian and Ubuntu) and git. "
        "apt installs them, as root, so this step runs with sudo: you log in as an ordinary user and "
        "become root only for what needs it. Packages already there are left alone."
    ),
    "source": (
        "The code comes from your git repository, not from your laptop: the server clones it into "
        "~/sites/<domain>, and on every later deploy fetches and checks out the chosen branch. Files "
        "git does not track, such as the SQLite database, are never touched."
    ),
    "venv": (
        "A virtualenv keeps the site's Python packages apart from the system's, so the server runs "
        "exactly the versions in requirements.txt (Django pinned) and an apt upgrade cannot break "
        "them. The venv lives in the site directory as .venv, and manage.py is always run with "
        ".venv/bin/python."
    ),
    "migrate": (
        "Django builds the database tables from the migrations in the code. A fresh server has an "
        "empty database: without this step the first page that touches it fails with 'no such table'. "
        "Running it again is harmless: only new migrations are applied."
    ),
    "devserver": (
        "For a first deployment the book uses Django's own dev server. It must listen on 0.0.0.0, "
        "every interface, not 127.0.0.1: a server bound to 127.0.0.1 answers the server itself and "
        "refuses everyone else. deploy-tui keeps it running in the background, with its pid and log "
        "in the site directory, and restarts it when the code changes. ALLOWED_HOSTS must name the "
        "domain, or Django answers 'DisallowedHost'."
    ),
    "smoke": (
        "Before the browser tests, a quick look from two sides: from outside (this machine, as a "
        "visitor) and from inside (the server asking itself). Outside failing while inside works "
        "points at a firewall or a server bound to 127.0.0.1; both failing means it is not running."
    ),
    "fts": (
        "The functional tests drive a real browser through the site like a user would, against the "
        "server itself (STAGING_SERVER), with the domain pinned to the server's address so they can "
        "run before DNS has caught up. When they pass, the deployment works."
    ),
}


def guide(step: str, commands: list[str]) -> str:
    """The guide text and the exact commands the step runs, as Rich markup."""
    from rich.markup import escape

    lines = [escape(GUIDES.get(step, ""))]
    if commands:
        lines += ["", "[b]Runs:[/b]", *(f"  [dim]$[/dim] {escape(c)}" for c in commands)]
    return "\n".join(lines)
