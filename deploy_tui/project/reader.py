"""The reader's repository as deploy-tui sees it: read as text and parsed with `ast`, never imported or run.

`read_project(root)` finds manage.py (root, then src/, then one level down), the requirements file
and its Django pin, the settings module manage.py names, what the settings read from the
environment, how ALLOWED_HOSTS, DEBUG and STATIC_ROOT are set, and the functional tests.

Safety: files over 1 MB are skipped, paths that resolve outside the root (symlinks) are not read,
nothing from the repository is imported or executed. A file that does not parse as Python 3 (a
Python-2-era settings.py) is parsed again with its offending lines blanked, and failing that
searched with regular expressions; each such fallback leaves a note.

The work is done beside it: files (the repository on disk), source (lenient parsing, environment
reads), settings (and manage.py), requirements and fts; the dataclasses live in model and are
re-exported here.
"""

from __future__ import annotations

from pathlib import Path

from deploy_tui.project.files import MAX_BYTES, Repo
from deploy_tui.project.fts import find_fts
from deploy_tui.project.model import (
    AllowedHosts,
    Browser,
    DebugSwitch,
    EnvKind,
    EnvRead,
    FunctionalTests,
    HostsKind,
    Project,
    Runner,
    SourceLine,
)
from deploy_tui.project.requirements import (
    Requirements,
    django_pin,
    find_requirements,
    normalize_name,
    read_requirements,
)
from deploy_tui.project.settings import (
    Settings,
    allowed_hosts,
    find_app_dir,
    find_settings_file,
    read_settings,
    settings_module,
)

__all__ = [
    "MAX_BYTES",
    "AllowedHosts",
    "Browser",
    "DebugSwitch",
    "EnvKind",
    "EnvRead",
    "FunctionalTests",
    "HostsKind",
    "Project",
    "Runner",
    "SourceLine",
    "normalize_name",
    "read_project",
]


def read_project(root: Path, *, app_dir: str | None = None, requirements: str | None = None) -> Project:
    """What deploy-tui needs to know about the Django repository at root, read without running it.

    app_dir and requirements override the search (paths relative to root; ValueError if they
    leave it). Anything missing or odd is a note, not an exception.
    """
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    notes: list[str] = []
    repo = Repo(root, notes)

    app, manage_py = find_app_dir(repo, app_dir, notes)

    req_file = find_requirements(repo, app, requirements, notes)
    reqs = read_requirements(repo, req_file, notes) if req_file else Requirements()
    pin = django_pin(reqs, notes) if req_file else None

    manage_text = repo.read(manage_py) if manage_py else None
    module = settings_module(manage_text) if manage_text else None
    if manage_text is not None and module is None:
        notes.append(f"{manage_py} sets no DJANGO_SETTINGS_MODULE")
    settings_file = find_settings_file(repo, app, module, notes) if (manage_py or module) else None

    facts = read_settings(repo, app, settings_file, module, notes) if settings_file else Settings()
    if facts.secret_literal and not facts.secret_from_env:
        where = facts.secret_literal
        notes.append(f"SECRET_KEY is hard-coded ({where.file} line {where.line}): the server would use the repo's key")
    if facts.debug_literal_true and facts.debug is None:
        where = facts.debug_literal_true
        notes.append(f"DEBUG = True is hard-coded ({where.file} line {where.line}) and no variable turns it off")
    if "whitenoise" in reqs.names and not facts.whitenoise and settings_file:
        notes.append("whitenoise is in the requirements but the settings do not use it")
    if settings_file and "django" in reqs.names and not facts.hosts:
        notes.append("the settings never set ALLOWED_HOSTS: only localhost is allowed, and only with DEBUG on")

    fts = find_fts(repo, app, manage_py, notes)

    return Project(
        root=repo.root,
        app_dir=app,
        manage_py=manage_py,
        requirements=req_file,
        requirement_names=frozenset(reqs.names),
        django_pin=pin,
        settings_module=module,
        settings_file=settings_file,
        env_reads=tuple(facts.env_reads),
        allowed_hosts=allowed_hosts(facts),
        static_root=facts.static_root,
        uses_whitenoise=facts.whitenoise,
        debug=facts.debug,
        fts=fts,
        notes=tuple(dict.fromkeys(notes)),
        requirement_files=tuple(reqs.files),
        settings_files=tuple(facts.files),
    )
