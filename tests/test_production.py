"""Production on its own (no server): the plan, the unit, the server block, the environment file."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from deploy_tui.core import events as ev
from deploy_tui.core.config import ConfigError, make_site
from deploy_tui.core.engine import Engine
from deploy_tui.core.plan import Context, SiteLayout
from deploy_tui.steps import default_plan
from deploy_tui.steps.gunicorn import ENV_FILE, env_file_script, unit_text
from deploy_tui.steps.nginx import site_text
from tests.fakes import FakeSession

VALUES = {"domain": "superlists.test", "host": "127.0.0.2", "user": "elspeth", "repo": "/srv/git/x.git"}
SITE = make_site("live", {**VALUES, "production": True}, "sites.live")
LAYOUT = SiteLayout(
    manage_py="src/manage.py",
    env=(("DJANGO_DEBUG_FALSE", "1"), ("DJANGO_SECRET_KEY", "{secret_key}"), ("DJANGO_DB_PATH", "{db_path}")),
    production=True,
    wsgi="superlists.wsgi:application",
)


def test_production_is_true_or_false_in_one_line() -> None:
    assert SITE.production is True
    assert make_site("staging", VALUES, "sites.staging").production is False
    with pytest.raises(ConfigError, match=r"^sites.live.production = 'yes': must be true or false"):
        make_site("live", {**VALUES, "production": "yes"}, "sites.live")


def test_the_production_plan_has_gunicorn_and_nginx_where_the_dev_server_was() -> None:
    ids = [step.id for step in default_plan(LAYOUT)]
    assert ids == [
        "preflight", "dns", "provision", "source", "venv", "static", "migrate", "gunicorn", "nginx", "smoke", "fts",
    ]  # fmt: skip
    no_static = replace(LAYOUT, collectstatic=False)
    assert "static" in [step.id for step in default_plan(no_static)]  # nginx serves what collectstatic gathers
    assert "devserver" in [step.id for step in default_plan(replace(LAYOUT, production=False, collectstatic=True))]


def test_the_unit_runs_the_venvs_gunicorn_as_the_user_on_a_socket_with_the_environment_file() -> None:
    ctx = Context(site=SITE, emit=lambda e: None, address="127.0.0.2", layout=LAYOUT)
    unit = unit_text(ctx, "/home/elspeth/sites/superlists.test", "elspeth")
    assert "User=elspeth\n" in unit
    assert "WorkingDirectory=/home/elspeth/sites/superlists.test/src\n" in unit
    assert f"EnvironmentFile=/home/elspeth/sites/superlists.test/{ENV_FILE}\n" in unit
    assert (
        "ExecStart=/home/elspeth/sites/superlists.test/.venv/bin/gunicorn "
        "--bind unix:/home/elspeth/sites/superlists.test/gunicorn.sock"
    ) in unit
    assert unit.rstrip().endswith("WantedBy=multi-user.target")
    assert "superlists.wsgi:application" in unit
    assert "Restart=on-failure" in unit


def test_the_environment_file_is_written_0600_and_the_key_never_in_its_command() -> None:
    ctx = Context(site=SITE, emit=lambda e: None, address="127.0.0.2", layout=LAYOUT)
    script = env_file_script(ctx)
    assert script.startswith("umask 077 && ")
    assert '"$(cat .secret_key 2>/dev/null)"' in script  # read by the server's shell, from its 0600 file
    assert "DJANGO_DEBUG_FALSE" in script
    assert '"$PWD"/db.sqlite3' in script


def test_the_server_block_passes_to_the_socket_and_serves_static_itself() -> None:
    ctx = Context(site=SITE, emit=lambda e: None, address="127.0.0.2", layout=LAYOUT)
    text = site_text(ctx, "/home/elspeth/sites/superlists.test", "/home/elspeth/sites/superlists.test/src/static")
    assert "listen 80;" in text
    assert "server_name superlists.test;" in text
    assert "alias /home/elspeth/sites/superlists.test/src/static/;" in text
    assert "proxy_pass http://unix:/home/elspeth/sites/superlists.test/gunicorn.sock;" in text
    assert "proxy_set_header Host $host;" in text


def test_a_dry_run_of_production_shows_the_unit_nginx_t_and_the_probes_and_runs_nothing() -> None:
    events: list[ev.Event] = []
    session = FakeSession(events.append)
    ctx = Context(site=SITE, emit=events.append, address="127.0.0.2", session=session, layout=LAYOUT)
    asyncio.run(Engine(default_plan(LAYOUT), ctx).run(dry_run=True))
    assert session.ran == []
    planned = "\n".join(e.argv_display for e in events if isinstance(e, ev.PlannedCommand))
    assert "/etc/systemd/system/gunicorn-superlists.test.service" in planned
    assert "nginx -t" in planned
    assert "systemctl restart gunicorn-superlists.test" in planned
    assert "apt-get -o DPkg::Lock::Timeout=60 install -y -q python3 python3-venv git curl nginx" in planned
    assert "GET http://superlists.test/static/" in planned
    assert "manage.py runserver" not in planned  # only the stop of chapter 9's, by its pid file
