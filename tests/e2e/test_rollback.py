"""Rollback on the sandbox box: the previous good release comes back (code, kept venv, server), the data stays,
and a rollback across migrations stops and names them unless told to go on.

The reader's repository (the edition-3 fixture) is published for the box; three releases are made from
it. The rollback runs as an operator runs it, `deploy-tui rollback --headless`, reading the releases from
the recordings of the runs (under a data directory of the test's own).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from deploy_tui.cli.main import main
from deploy_tui.core.events import CodeAt, StepFinished
from deploy_tui.recordings.gate import releases
from deploy_tui.runner import runs_dir
from deploy_tui.sandbox.demo import deploy_toml
from tests.e2e.test_reader_repos import ReaderRepo, reader_repo  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e

BASE = "src/lists/templates/base.html"


def page(deployment, path: str = "/") -> str:  # type: ignore[no-untyped-def]
    site = deployment.site
    answer = httpx.get(
        f"http://127.0.0.2:{site.app_port}{path}", headers={"Host": f"{site.domain}:{site.app_port}"}, timeout=10
    )
    assert answer.status_code == 200, (path, answer.status_code)
    return answer.text


def new_item(deployment, text: str) -> str:  # type: ignore[no-untyped-def]
    """An item in a new list, through the site's own form (CSRF and all); the list's path."""
    site = deployment.site
    base, host = f"http://127.0.0.2:{site.app_port}", {"Host": f"{site.domain}:{site.app_port}"}
    with httpx.Client(headers=host, timeout=10) as client:
        home = client.get(f"{base}/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', home.text)
        assert token, home.text[:500]
        made = client.post(f"{base}/lists/new", data={"item_text": text, "csrfmiddlewaretoken": token[1]})
        assert made.status_code == 302, made.text[:500]
        return made.headers["location"]


def rollback(config: Path, deployment, *more: str) -> int:  # type: ignore[no-untyped-def]
    password = deployment.box.sudo_password_file
    return main(
        [
            *("rollback", "--config", str(config), "--headless", "--sudo-password-file", str(password)),
            *("--checkout", str(deployment.checkout), *more),
        ]
    )


def test_rollback_brings_back_the_release_keeps_the_data_and_minds_the_migrations(
    reader_repo,  # noqa: F811 - the fixture, imported above
    box_resolvers,
    tmp_path,
    monkeypatch,
    capsys,
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    repo: ReaderRepo = reader_repo("edition3")
    deployment = repo.deployment(box_resolvers)
    site = deployment.site
    config = tmp_path / "deploy.toml"
    config.write_text(
        deploy_toml(deployment.box, site.domain, repo=site.repo, site_dir=site.directory, app_port=site.app_port)
    )
    run = {"skip": {"fts", "dns"}, "recording": None}
    try:
        outcome, events = deployment.run(tmp_path, **run)
        assert outcome.ok
        first = releases(runs_dir(), "staging")[0].commit
        (release,) = [e for e in events if isinstance(e, CodeAt)]  # what the recording keeps of the release
        assert (release.commit, len(release.requirements), len(release.env)) == (first, 16, 16)
        where = new_item(deployment, "Buy peacock feathers")

        # Release B: a new page and new requirements (a venv of its own).
        text = (repo.checkout / BASE).read_text().replace("</body>", "<p>release B</p></body>")
        requirements = (repo.checkout / "requirements.txt").read_text() + "# B\n"
        repo.commit("Release B", **{BASE: text, "requirements.txt": requirements})
        repo.publish()
        outcome, events = deployment.run(tmp_path, **run)
        assert outcome.ok
        assert "release B" in page(deployment)
        venvs = sorted(p.name for p in (deployment.directory / ".venvs").iterdir())
        assert len(venvs) == 2  # A's and B's, both kept

        # Back to A: its page, its venv (nothing installed), the item still there.
        assert rollback(config, deployment) == 0
        said = capsys.readouterr().out
        assert f"back to {first[:10]}" in said
        assert "✓ run passed" in said
        assert "release B" not in page(deployment)
        assert "Buy peacock feathers" in page(deployment, where)
        link = (deployment.directory / ".venv").readlink()
        assert link.name in venvs
        assert "migrate" not in re.findall(r"^▶ (\w+):", said, re.MULTILINE)  # the database is never migrated

        # Release C adds a migration; going back across it stops, naming it, until told to go on.
        migration = (
            "from django.db import migrations\n\n\n"
            "class Migration(migrations.Migration):\n"
            '    dependencies = [("lists", "0001_initial")]\n'
            "    operations = []\n"
        )
        repo.commit("Release C", **{"src/lists/migrations/0002_release_c.py": migration})
        repo.publish()
        outcome, events = deployment.run(tmp_path, **run)
        assert outcome.ok, [e for e in events if isinstance(e, StepFinished)]
        assert rollback(config, deployment) == 1
        said = capsys.readouterr().out
        assert "K1" in said
        assert "added since: src/lists/migrations/0002_release_c.py" in said
        assert "Buy peacock feathers" in page(deployment, where)  # still C, still serving
        assert rollback(config, deployment, "--allow-migration-mismatch") == 0
        said = capsys.readouterr().out
        assert "going on with 1 migration(s) that differ" in said
        assert "Buy peacock feathers" in page(deployment, where)

        # Nothing to go back to names the releases there are.
        assert rollback(config, deployment, "--to", "abcdef0") == 2
        assert "not a good release of staging" in capsys.readouterr().err
    finally:
        deployment.stop_server()
