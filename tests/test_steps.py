"""Steps on their own, against a fake session: the site's environment, commands as values, the clone confirmed."""

from __future__ import annotations

import asyncio
import shlex
import subprocess

import pytest

from deploy_tui.core import events as ev
from deploy_tui.core.config import ConfigError, from_dict, make_site
from deploy_tui.core.failure import StepFailed
from deploy_tui.core.plan import Context, SiteLayout
from deploy_tui.steps.base import manage, site_env
from deploy_tui.steps.source import SourceStep
from tests.fakes import Answer, FakeSession

SITE = make_site(
    "staging",
    {"domain": "superlists-staging.test", "host": "127.0.0.2", "repo": "/srv/git/superlists.git"},
    "test",
)
ENV = (
    ("DJANGO_DEBUG_FALSE", "1"),
    ("DJANGO_SECRET_KEY", "{secret_key}"),
    ("DJANGO_ALLOWED_HOST", "{domain}"),
    ("DJANGO_DB_PATH", "{db_path}"),
    ("GREETING", 'it\'s a "quoted" $HOME; rm -rf /'),
)


def _ctx(layout: SiteLayout, rules: list[tuple[str, Answer]] | None = None) -> tuple[Context, list[ev.Event]]:
    events: list[ev.Event] = []
    return (
        Context(
            site=SITE,
            emit=events.append,
            address="127.0.0.2",
            session=FakeSession(events.append, rules or []),
            layout=layout,
        ),
        events,
    )


def test_the_site_env_is_quoted_and_its_placeholders_filled_on_the_server() -> None:
    ctx, _ = _ctx(SiteLayout(manage_py="src/manage.py", env=ENV))
    env = site_env(ctx)
    # What a shell makes of it: literal values arrive as written, never run.
    shown = subprocess.run(
        ["sh", "-c", f"cd /tmp && {env} env"], capture_output=True, text=True, check=True, timeout=10
    ).stdout.splitlines()
    assert "DJANGO_ALLOWED_HOST=superlists-staging.test" in shown
    assert "DJANGO_DB_PATH=/tmp/db.sqlite3" in shown
    assert 'GREETING=it\'s a "quoted" $HOME; rm -rf /' in shown
    # The key is read from its file by the remote shell: its value is never in the command line.
    assert 'DJANGO_SECRET_KEY="$(cat .secret_key 2>/dev/null)"' in env
    assert manage(ctx, "migrate --noinput").endswith(".venv/bin/python src/manage.py migrate --noinput")


def test_env_tables_are_checked_at_load() -> None:
    site = {"domain": "a.test", "host": "127.0.0.2", "repo": "/srv/git/a.git"}
    config = from_dict({"sites": {"staging": {**site, "env": {"X": "{domain}", "N": 1}}}}, "deploy.toml", {})
    assert config.site("staging").env == (("X", "{domain}"), ("N", "1"))
    with pytest.raises(ConfigError, match=r"unknown placeholder \{domian\}"):
        from_dict({"sites": {"staging": {**site, "env": {"X": "{domian}"}}}}, "deploy.toml", {})
    with pytest.raises(ConfigError, match="not an environment variable name"):
        from_dict({"sites": {"staging": {**site, "env": {"MY-VAR": "1"}}}}, "deploy.toml", {})
    with pytest.raises(ConfigError, match=r"deploy.toml: tests.browser = 'safari'"):
        from_dict({"sites": {"staging": site}, "tests": {"browser": "safari"}}, "deploy.toml", {})
    with pytest.raises(ConfigError, match=r"sites.staging.app_dir = '../elsewhere'"):
        from_dict({"sites": {"staging": {**site, "app_dir": "../elsewhere"}}}, "deploy.toml", {})


def test_a_clone_without_what_the_checkout_showed_is_a_clear_failure() -> None:
    ctx, _ = _ctx(SiteLayout(manage_py="src/manage.py"), [("test -f", Answer(1)), ("ls -1", Answer(0, ("README.md",)))])
    with pytest.raises(StepFailed, match=r"has no src/manage\.py or requirements\.txt") as failed:
        asyncio.run(SourceStep()._confirm(ctx))
    assert failed.value.evidence == ("README.md",)


def test_commands_as_values_are_what_the_dry_run_shows() -> None:
    ctx, _ = _ctx(SiteLayout(manage_py="src/manage.py", requirements="reqs/base.txt", env=ENV))
    from deploy_tui.steps import default_plan

    shown = {step.id: [c.display for c in step.commands(ctx)] for step in default_plan(ctx.layout)}
    assert any("pip install -r reqs/base.txt" in line for line in shown["venv"])
    assert any("src/manage.py migrate --noinput" in line for line in shown["migrate"])
    assert "static" not in shown  # no STATIC_ROOT in this layout
    assert all(shlex.split(line) for lines in shown.values() for line in lines if "$(" not in line)
