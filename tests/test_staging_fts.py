"""The FTs against a real `manage.py runserver` on a loopback address, reached through a pinned domain.

This is the book's staging run in miniature: the server is a separate process with
its own database, the browser reaches it as superlists-staging.test, and no DNS or
/etc/hosts entry exists for that name. The same server also shows the visible
failures the site contract promises (DisallowedHost, no such table).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import CHECKOUT, free_port
from tests.procs import stop, wait_until_serving

BOX = "127.0.0.2"
DOMAIN = "superlists-staging.test"
MANAGE = [sys.executable, str(CHECKOUT / "manage.py")]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STAGING_"))}
    env.update(extra)
    return env


@contextmanager
def _runserver(db: Path, *, migrate: bool) -> Iterator[str]:
    """runserver on BOX with DOMAIN allowed, yielding its base URL; stopped by pid."""
    env = _env(DJANGO_DB_PATH=str(db), DJANGO_ALLOWED_HOSTS=DOMAIN)
    if migrate:
        subprocess.run([*MANAGE, "migrate", "--noinput"], env=env, check=True, capture_output=True, timeout=120)
    port = free_port(BOX)
    log_path = db.with_suffix(".log")
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*MANAGE, "runserver", "--noreload", f"{BOX}:{port}"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            url = f"http://{BOX}:{port}"
            wait_until_serving(url, server, host=DOMAIN)
            yield url
        finally:
            stop(server)


def test_functional_tests_pass_against_a_staging_server(tmp_path: Path) -> None:
    db = tmp_path / "staging.sqlite3"
    with _runserver(db, migrate=True) as url:
        port = url.rsplit(":", 1)[1]
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "functional_tests"],
            cwd=CHECKOUT,
            env=_env(
                STAGING_SERVER=f"{DOMAIN}:{port}",
                STAGING_RESOLVE=f"{DOMAIN}:{BOX}",
                FT_ARTIFACTS_DIR=str(tmp_path / "artifacts"),
            ),
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # The items went into the staging server's own database, not the test runner's.
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("select count(*) from lists_item").fetchone()
    assert count >= 4


def test_a_domain_missing_from_allowed_hosts_shows_disallowed_host(tmp_path: Path) -> None:
    with _runserver(tmp_path / "db.sqlite3", migrate=True) as url:
        response = httpx.get(url, headers={"Host": "other.test"}, timeout=10)
    assert response.status_code == 400
    assert "DisallowedHost at /" in response.text


def test_an_unmigrated_database_shows_no_such_table(tmp_path: Path) -> None:
    with _runserver(tmp_path / "empty.sqlite3", migrate=False) as url:
        response = httpx.get(f"{url}/lists/1/", headers={"Host": DOMAIN}, timeout=10)
    assert response.status_code == 500
    assert "no such table: lists_list" in response.text
