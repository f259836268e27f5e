"""The setup screen: loads deploy.toml, checks fields as they are typed, saves what load() reads back."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from deploy_tui.core.config import load
from screens.app import DeployApp
from screens.walkthrough import WalkthroughScreen

TOML = (
    '[sites.staging]\ndomain = "superlists-staging.test"\nhost = "127.0.0.2"\nport = 2222\nuser = "elspeth"\n'
    'repo = "/srv/git/superlists.git"\nbranch = "main"\napp_port = 8001\n\n[dns]\nresolvers = ["127.0.53.1"]\n'
)


async def test_edit_save_and_walk_through(tmp_path: Path) -> None:
    config = tmp_path / "deploy.toml"
    config.write_text(TOML)
    app = DeployApp(config_path=config)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = app.screen
        assert screen.query_one("#field-domain", Input).value == "superlists-staging.test"
        screen.query_one("#field-branch", Input).value = "release-1"
        screen.query_one("#field-user", Input).value = "Not A User"
        await pilot.pause()
        error = screen.query_one("#error-user", Static)
        assert "Unix user name" in str(error.render())
        await pilot.press("ctrl+s")  # refused: nothing written while a field is wrong
        assert config.read_text() == TOML
        screen.query_one("#field-user", Input).value = "deployer"
        await pilot.pause()
        assert str(screen.query_one("#error-user", Static).render()) == ""
        await pilot.press("ctrl+s")
        saved = load(config).site("staging")
        assert (saved.user, saved.branch, saved.app_port, saved.port) == ("deployer", "release-1", 8001, 2222)
        assert load(config).resolvers is not None
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert isinstance(app.screen, WalkthroughScreen)
        assert app.request.site is not None
        assert app.request.site.user == "deployer"


async def test_the_live_site_is_a_switch_away(tmp_path: Path) -> None:
    config = tmp_path / "deploy.toml"
    config.write_text(TOML + '\n[sites.live]\ndomain = "superlists.test"\n')
    app = DeployApp(config_path=config)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.click("#live")
        await pilot.pause()
        assert app.screen.query_one("#field-domain", Input).value == "superlists.test"


async def test_opened_in_a_checkout_it_fills_repo_and_branch_and_shows_the_project(tmp_path: Path, monkeypatch) -> None:
    import subprocess

    from tests.reader_repos import _git_env, make_reader_repo

    repo = make_reader_repo("edition3", tmp_path / "superlists", branch="trunk")
    origin = "https://example.test/reader/superlists.git"  # never fetched: only read back by git
    subprocess.run(["git", "remote", "add", "origin", origin], cwd=repo, env=_git_env(), check=True, timeout=30)
    monkeypatch.chdir(repo)
    app = DeployApp(config_path=repo / "deploy.toml")  # no deploy.toml yet
    async with app.run_test(size=(120, 44)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#field-repo", Input).value == origin
        assert screen.query_one("#field-branch", Input).value == "trunk"
        summary = str(screen.query_one("#project", Static).render())
        assert "src/manage.py" in summary
        assert "5.2.19" in summary
        assert "python src/manage.py test src/functional_tests" in summary
