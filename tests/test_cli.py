"""The `deploy-tui` command line, run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from deploy_tui import __version__
from tests.conftest import free_port
from tests.procs import stop, wait_until_serving

DEPLOY_TUI = [sys.executable, "-m", "deploy_tui"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DEPLOY_TUI, *args], capture_output=True, text=True, timeout=60)


def test_version() -> None:
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"deploy-tui {__version__}"


def test_help_lists_the_commands() -> None:
    result = _run("--help")
    assert result.returncode == 0
    assert "serve" in result.stdout


def test_bad_address_is_one_line_naming_the_value() -> None:
    result = _run("serve", "example.com:80")
    assert result.returncode == 2
    assert "'example.com:80': the address must be an IP" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_runs_the_site_locally(tmp_path: Path) -> None:
    port = free_port("127.0.0.2")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_DB_PATH"] = str(tmp_path / "db.sqlite3")
    server = subprocess.Popen(
        [*DEPLOY_TUI, "serve", f"127.0.0.2:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # 127.0.0.2 is not in debug's localhost set; the Host header is.
        response = wait_until_serving(f"http://127.0.0.2:{port}/", server, host="localhost")
        assert response.status_code == 200
        assert "<title>To-Do lists</title>" in response.text
        # serve migrated the database it was given before starting.
        assert (tmp_path / "db.sqlite3").stat().st_size > 0
    finally:
        stop(server)


def _alias_config(tmp_path: Path, address: str = "") -> Path:
    """A site whose host is an ~/.ssh/config alias this machine cannot resolve (under .test: no query leaves)."""
    config = tmp_path / "deploy.toml"
    extra = f'address = "{address}"\n' if address else ""
    config.write_text(
        "[sites.staging]\n"
        'domain = "superlists-staging.test"\n'
        'host = "staging-box.test"\n'
        'user = "elspeth"\n'
        'repo = "https://example.test/superlists.git"\n' + extra
    )
    return config


def test_a_dry_run_with_an_alias_host_and_no_address_is_one_line_naming_the_field(tmp_path: Path) -> None:
    result = _run("run", "--config", str(_alias_config(tmp_path)), "--dry-run")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "sites.staging.address is not set" in lines[0]
    assert "'staging-box.test' does not resolve" in lines[0]


def test_a_dry_run_with_an_alias_host_and_an_address_shows_every_command_and_connects_nowhere(tmp_path: Path) -> None:
    result = _run("run", "--config", str(_alias_config(tmp_path, "127.0.0.2")), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "deploy-tui dns superlists-staging.test --expect 127.0.0.2" in result.stdout
    assert "would run $ sudo DEBIAN_FRONTEND=noninteractive apt-get" in result.stdout
    assert ".venv/bin/pip install -r requirements.txt" in result.stdout
    assert "[elspeth@staging-box.test]" in result.stdout
    assert "run passed" in result.stdout
