"""deploy_tui.project.env: the env table proposed from what the settings read."""

from __future__ import annotations

from pathlib import Path

from deploy_tui.project import propose_env, read_project
from tests.test_project import CHECKOUT, MANAGE_PY, SECOND_EDITION, THIRD_EDITION, make


def test_third_edition_proposal(tmp_path: Path) -> None:
    proposal = propose_env(read_project(make(tmp_path, THIRD_EDITION)))
    assert list(proposal.env.items()) == [
        ("DJANGO_DEBUG_FALSE", "1"),
        ("DJANGO_SECRET_KEY", "{secret_key}"),
        ("DJANGO_ALLOWED_HOST", "{domain}"),
        ("DJANGO_DB_PATH", "{db_path}"),
    ]
    assert proposal.left_out == ()
    assert any("collectstatic" in n for n in proposal.notes)


def test_this_repository_keeps_debug_on_for_runserver() -> None:
    proposal = propose_env(read_project(CHECKOUT))
    assert proposal.env == {
        "DJANGO_DEBUG": "1",
        "DJANGO_SECRET_KEY": "{secret_key}",
        "DJANGO_ALLOWED_HOSTS": "{domain}",
        "DJANGO_DB_PATH": "{db_path}",
    }
    assert [(x.name, "default works" in x.reason) for x in proposal.left_out] == [("DJANGO_STATIC_ROOT", True)]
    assert any("runserver serves /static/ only with DEBUG on" in n for n in proposal.notes)


def test_second_edition_chapter_9_has_nothing_to_set(tmp_path: Path) -> None:
    proposal = propose_env(read_project(make(tmp_path, SECOND_EDITION)))
    assert proposal.env == {}
    assert proposal.left_out == ()
    assert any("hard-coded (superlists-staging.ottg.eu, localhost)" in n for n in proposal.notes)


def _proposal_for(tmp_path: Path, settings: str, **extra: str) -> tuple[dict[str, str], dict[str, str]]:
    make(tmp_path, {"manage.py": MANAGE_PY, "superlists/settings.py": settings, **extra})
    proposal = propose_env(read_project(tmp_path))
    return proposal.env, {x.name: x.reason for x in proposal.left_out}


def test_second_edition_chapter_10_without_whitenoise_leaves_debug_on(tmp_path: Path) -> None:
    env, left_out = _proposal_for(
        tmp_path,
        """
import os
if 'DJANGO_DEBUG_FALSE' in os.environ:
    DEBUG = False
    SECRET_KEY = os.environ['DJANGO_SECRET_KEY']
    ALLOWED_HOSTS = [os.environ['SITENAME']]
else:
    DEBUG = True
    SECRET_KEY = 'insecure-key-for-dev'
    ALLOWED_HOSTS = []
""",
    )
    assert env == {"DJANGO_SECRET_KEY": "{secret_key}", "SITENAME": "{domain}"}
    assert "DEBUG stays on" in left_out["DJANGO_DEBUG_FALSE"]


def test_debug_value_follows_the_comparison(tmp_path: Path) -> None:
    env, _ = _proposal_for(
        tmp_path,
        'import os\nDEBUG = os.environ.get("DJANGO_DEBUG", "False") == "True"\n'
        "MIDDLEWARE = ['whitenoise.middleware.WhiteNoiseMiddleware']\n",
    )
    assert env == {"DJANGO_DEBUG": "False"}  # whitenoise serves static files, so DEBUG goes off


def test_unknown_names_are_left_out_with_why(tmp_path: Path) -> None:
    env, left_out = _proposal_for(
        tmp_path,
        """
import os
SECRET_KEY = os.environ["APP_SECRET_KEY"]
SENTRY_DSN = os.environ["SENTRY_DSN"]
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
if "CI" in os.environ:
    pass
DATABASES = {"default": {"NAME": os.environ.get("SQLITE_PATH", "db.sqlite3")}}
DATABASE_URL = os.environ.get("DATABASE_URL")
ALLOWED_HOSTS = os.environ.get("WEB_HOSTS", "").split(",")
TEMPLATE_DEBUG = os.environ.get("TEMPLATE_DEBUG")
""",
    )
    assert env == {"APP_SECRET_KEY": "{secret_key}", "SQLITE_PATH": "{db_path}", "WEB_HOSTS": "{domain}"}
    assert "set it by hand" in left_out["SENTRY_DSN"]
    assert left_out["EMAIL_HOST"] == "not understood"
    assert "a flag" in left_out["CI"]
    assert "SQLite" in left_out["DATABASE_URL"]
    assert "DEBUG-like" in left_out["TEMPLATE_DEBUG"]


def test_debug_switch_not_understood_falls_back_to_its_name(tmp_path: Path) -> None:
    env, left_out = _proposal_for(
        tmp_path, 'import os\nDEBUG = os.environ.get("DJANGO_DEBUG") == "yes" or os.environ.get("CI")\n'
    )
    assert env == {"DJANGO_DEBUG": "1"}
    assert "CI" in left_out
