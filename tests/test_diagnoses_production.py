"""The production diagnoses (R1-R9), fed the real texts, and what they decline.

Captured on this machine (Debian 12): nginx 1.22.1 (`nginx -t` and a private nginx in front of a
gunicorn on a unix socket), gunicorn 27.0.1 with Django 5.2.19 (superlists' settings, and the 3rd
edition's for KeyError), docker-systemctl-replacement 1.7.1097; the paths moved to the box user's
site directory. systemd's own words (it is not PID 1 here) are from systemd 252 and the pages that
quote it, and are marked so. tests/e2e/test_diagnoses_production.py makes each situation real on a
production sandbox box.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from deploy_tui.core.config import make_site
from deploy_tui.core.diagnoses import diagnose
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import Backstage, Facts, Probe, StepFailed
from deploy_tui.core.plan import Context, SiteLayout
from deploy_tui.core.session import SessionError
from deploy_tui.steps.gunicorn import GunicornStep, journal_lines, read_backstage
from tests.fakes import Answer, FakeSession

DOMAIN = "superlists-prod.test"
SITE = "/home/dtuiprd6/sites/prod-diag"
SOCKET = f"{SITE}/gunicorn.sock"
UNIT = f"gunicorn-{DOMAIN}"
ENV = (("DJANGO_DEBUG", "0"), ("DJANGO_SECRET_KEY", "{secret_key}"), ("DJANGO_ALLOWED_HOSTS", "{domain}"))
NGINX = "2026/11/26 15:17:02 [crit] 22204#22204: *1 "
UPSTREAM = (
    f', client: 127.0.0.1, server: {DOMAIN}, request: "GET / HTTP/1.1", upstream: "http://unix:{SOCKET}:/", '
    f'host: "{DOMAIN}"'
)
# nginx's error.log for the three ways it cannot reach gunicorn's socket.
NO_SOCKET = f"{NGINX}connect() to unix:{SOCKET} failed (2: No such file or directory) while connecting to upstream"
REFUSED = f"{NGINX}connect() to unix:{SOCKET} failed (111: Connection refused) while connecting to upstream".replace(
    "[crit]", "[error]"
)
DENIED = f"{NGINX}connect() to unix:{SOCKET} failed (13: Permission denied) while connecting to upstream"
# namei -l of the socket, the home made 0700 (as Debian 12's adduser makes it), then the socket made 0600.
NAMEI_HOME_CLOSED = (
    f"f: {SOCKET}",
    "drwxr-xr-x root     root     /",
    "drwxr-xr-x root     root     home",
    "drwx------ dtuiprd6 dtuiprd6 dtuiprd6",
    "drwxr-xr-x dtuiprd6 dtuiprd6 sites",
    "drwxr-xr-x dtuiprd6 dtuiprd6 prod-diag",
    "srwxrwxrwx dtuiprd6 dtuiprd6 gunicorn.sock",
)
NAMEI_SOCKET_CLOSED = (
    *NAMEI_HOME_CLOSED[:3],
    "drwx--x--x dtuiprd6 dtuiprd6 dtuiprd6",
    *NAMEI_HOME_CLOSED[4:6],
    "srw------- dtuiprd6 dtuiprd6 gunicorn.sock",
)
GUNICORN_UP = (
    "[2026-11-26 15:17:18 +0000] [23405] [INFO] Starting gunicorn 27.0.1",
    f"[2026-11-26 15:17:18 +0000] [23405] [INFO] Listening at: unix:{SOCKET} (23405)",
    "[2026-11-26 15:17:18 +0000] [23405] [INFO] Using worker: sync",
    "[2026-11-26 15:17:18 +0000] [23407] [INFO] Booting worker with pid: 23407",
    "[2026-11-26 15:17:18 +0000] [23405] [INFO] Control socket listening at /home/dtuiprd6/.gunicorn/gunicorn.ctl",
)
# DEBUG off, a view raising, no LOGGING: the journal has the request and nothing else.
SERVED_500 = (*GUNICORN_UP, ' - - [26/Nov/2026:15:17:20 +0000] "GET / HTTP/1.0" 500 145 "-" "python-httpx/0.28.1"')
# The same with the console LOGGING R9 proposes: the traceback is there (then F17 names the line).
LOGGED_500 = (
    *GUNICORN_UP,
    "Internal Server Error: /",
    "Traceback (most recent call last):",
    f'  File "{SITE}/.venv/lib/python3.11/site-packages/django/core/handlers/exception.py", line 55, in inner',
    "    response = get_response(request)",
    "               ^^^^^^^^^^^^^^^^^^^^^",
    f'  File "{SITE}/superlists/lists/views.py", line 13, in home_page',
    '    raise ValueError("the home page is broken")',
    "ValueError: the home page is broken",
    ' - - [26/Nov/2026:15:17:32 +0000] "GET / HTTP/1.0" 500 145 "-" "python-httpx/0.28.1"',
)
SERVED_400 = (*GUNICORN_UP, ' - - [26/Nov/2026:15:17:07 +0000] "GET / HTTP/1.0" 400 143 "-" "python-httpx/0.28.1"')
LOGGED_400 = (
    *GUNICORN_UP,
    f"Invalid HTTP_HOST header: '{DOMAIN}'. You may need to add '{DOMAIN}' to ALLOWED_HOSTS.",
    *SERVED_400[-1:],
)
# The worker importing superlists' settings with no DJANGO_SECRET_KEY (DEBUG off), the journal's tail.
IMPROPERLY = (
    '  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed',
    f'  File "{SITE}/superlists/settings.py", line 41, in <module>',
    '    raise ImproperlyConfigured("DJANGO_SECRET_KEY is empty: set it to a long random string when DJANGO_DEBUG=0")',
    "django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is empty: set it to a long random string when "
    "DJANGO_DEBUG=0",
    "DJANGO_SECRET_KEY is empty: set it to a long random string when DJANGO_DEBUG=0",
    "[2026-11-26 15:16:54 +0000] [21403] [INFO] Worker exiting (pid: 21403)",
    "[2026-11-26 15:16:54 +0000] [21374] [ERROR] Worker (pid:21403) exited with code 3.",
    "[2026-11-26 15:16:54 +0000] [21374] [ERROR] Shutting down: Master",
    "[2026-11-26 15:16:54 +0000] [21374] [ERROR] Reason: Worker failed to boot.",
)
# The same with the book's settings (SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]).
KEY_ERROR = (
    '  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed',
    f'  File "{SITE}/src/superlists/settings.py", line 16, in <module>',
    '    SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]',
    "                 ~~~~~~~~~~^^^^^^^^^^^^^^^^^^^^^",
    '  File "<frozen os>", line 679, in __getitem__',
    "KeyError: 'DJANGO_SECRET_KEY'",
    "'DJANGO_SECRET_KEY'",
    "[2026-11-26 15:16:56 +0000] [21756] [INFO] Worker exiting (pid: 21756)",
    "[2026-11-26 15:16:57 +0000] [21755] [ERROR] Worker (pid:21756) exited with code 3.",
    "[2026-11-26 15:16:57 +0000] [21755] [ERROR] Shutting down: Master",
    "[2026-11-26 15:16:57 +0000] [21755] [ERROR] Reason: Worker failed to boot.",
)
# docker-systemctl-replacement 1.7.1097, `systemctl restart` of a unit with ExecStart=gunicorn ... (stderr).
REPLACEMENT_RELATIVE = (
    f"ERROR:systemctl:  {UNIT}.service: Service Executable path is not absolute.",
    f"ERROR:systemctl: {UNIT}.service: Exec is not an absolute path:  ExecStart=gunicorn --bind unix:{SOCKET} "
    "superlists.wsgi:application",
    f"ERROR:systemctl: {UNIT}.service: Exec command does not exist: (ExecStart) gunicorn",
    "ERROR:systemctl: !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    "ERROR:systemctl: The SystemD ExecXY commands must always be absolute paths by definition.",
    "ERROR:systemctl: Oops, 1 executable paths were not found in the current environment. Refusing.",
    "ERROR:systemctl: !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    "WARNING:systemctl:simple start not active",
)
# Its journal for the unit after that start (it tried the relative name all the same).
REPLACEMENT_JOURNAL = (
    "ERROR:systemctl:('gunicorn' '--bind' 'unix:/home/dtuiprd6/sites/prod-diag/gunicorn.sock' '--access-logfile' '-' "
    "'--error-logfile' '-' '--capture-output' 'superlists.wsgi:application') >> [Errno 2] No such file or directory: "
    "'gunicorn'",
)
# `systemctl start` with the EnvironmentFile gone (stderr; `restart` says the same and leaves gunicorn running).
REPLACEMENT_NO_ENV_FILE = (
    f"ERROR:systemctl: {UNIT}.service: Failed to load environment files: {SITE}/.deploy-tui.env",
)
# systemd 252's journal for the unit (not captured here: systemd is not PID 1 on this machine).
SYSTEMD_RELATIVE = (
    f"/etc/systemd/system/{UNIT}.service:9: Neither a valid executable name nor an absolute path: .venv/bin/gunicorn",
    f"{UNIT}.service: Unit configuration has fatal error, unit will not be started.",
)
SYSTEMD_NO_ENV_FILE = (
    f"Nov 26 15:40:01 box systemd[1]: {UNIT}.service: Failed to load environment files: No such file or directory",
    f"Nov 26 15:40:01 box systemd[1]: {UNIT}.service: Failed to run 'start' task: No such file or directory",
    f"Nov 26 15:40:01 box systemd[1]: {UNIT}.service: Failed with result 'resources'.",
)
# nginx -t, as nginx 1.22.1 printed it here (2>&1).
HASH = (
    "2026/11/26 15:15:13 [emerg] 15737#15737: could not build server_names_hash, you should increase "
    "server_names_hash_bucket_size: 64",
    "nginx: configuration file /etc/nginx/nginx.conf test failed",
)
UNKNOWN_DIRECTIVE = (
    '2026/11/26 15:15:17 [emerg] 16119#16119: unknown directive "servr_name" in /etc/nginx/sites-enabled/broken.test:3',
    "nginx: configuration file /etc/nginx/nginx.conf test failed",
)
ALIAS_WITH_A_SPACE = (
    f'2026/11/26 15:15:17 [emerg] 16122#16122: invalid number of arguments in "alias" directive in '
    f"/etc/nginx/sites-enabled/{DOMAIN}:8",
    "nginx: configuration file /etc/nginx/nginx.conf test failed",
)
NGINX_T_FAILED = "nginx -t refused the configuration: the previous one is back, and nginx was not reloaded"


def page(status: int, title: str, path: str = "/") -> Probe:
    body = f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1><p></p></body></html>"
    return Probe(f"http://{DOMAIN}{path}", "outside", status, title, "", body, 0.01, "nginx/1.22.1", "text/html")


def smoke(outside: Probe, backstage: Backstage, env: tuple[tuple[str, str], ...] = ENV) -> StepFailed:
    """A production smoke failure as the step raises it: nginx's last lines, then the journal."""
    inside = Probe("http://localhost:80/", "inside", outside.status, outside.title, "", outside.body, 0.01)
    facts = Facts(
        domain=DOMAIN,
        outside=outside,
        inside=inside,
        port=80,
        expected="127.0.0.2",
        allowed_hosts=(DOMAIN,),
        env=env,
        user="dtuiprd6",
        site_dir="~/sites/prod-diag",
        backstage=backstage,
    )
    message = f"{outside.url} from outside: HTTP {outside.status}; from inside: {inside.status}"
    return StepFailed(message, (*backstage.nginx_errors[-6:], *backstage.journal), facts)


def unit(**changes: Any) -> Backstage:
    values: dict[str, Any] = {
        "unit": UNIT,
        "state": "active",
        "exec_start": f"{SITE}/.venv/bin/gunicorn --bind unix:{SOCKET} superlists.wsgi:application",
        "environment_file": f"{SITE}/.deploy-tui.env",
        **changes,
    }
    return Backstage(**values)


def the(step: str, failure: StepFailed, code: str) -> Diagnosis:
    found = diagnose(step, failure)
    assert found is not None, failure
    assert found.code == code, found
    assert found.cause
    assert found.fix
    assert found.evidence
    return found


# R1, R2: 502 Bad Gateway.


def test_r1_no_socket_gunicorn_stopped() -> None:
    stopped = unit(state="inactive", nginx_errors=(NO_SOCKET + UPSTREAM,), journal=GUNICORN_UP)
    d = the("smoke", smoke(page(502, "502 Bad Gateway"), stopped), "R1")
    assert f"there is no socket at {SOCKET}" in d.cause
    assert f"{UNIT} is not running (inactive)" in d.cause
    assert f"sudo systemctl restart {UNIT}" in d.fix
    assert f"sudo journalctl -u {UNIT} -n 40" in d.fix
    assert any("(2: No such file or directory)" in line for line in d.evidence)
    assert f"systemctl is-active {UNIT}: inactive" in d.evidence


def test_r1_a_socket_left_by_a_killed_gunicorn_refuses() -> None:
    killed = unit(state="failed", nginx_errors=(NO_SOCKET + UPSTREAM, REFUSED + UPSTREAM))
    d = the("smoke", smoke(page(502, "502 Bad Gateway"), killed), "R1")
    assert "nothing listens on it (Connection refused)" in d.cause
    assert "killed with -9" in d.cause
    assert any("(111: Connection refused)" in line for line in d.evidence)  # the last line, smoke's own request


def test_r1_when_gunicorn_runs_on_another_socket() -> None:
    elsewhere = unit(state="active", nginx_errors=(NO_SOCKET + UPSTREAM,))
    d = the("smoke", smoke(page(502, "502 Bad Gateway"), elsewhere), "R1")
    assert "not on the socket nginx passes to" in d.cause
    assert "same socket path" in d.fix


def test_r1_without_the_logs_says_they_were_not_read() -> None:
    unread = Backstage(unit=UNIT, unread="this step needs sudo, and no sudo password was given")
    d = the("smoke", smoke(page(502, "502 Bad Gateway"), unread), "R1")
    assert "not read" in d.cause
    assert "no sudo password" in d.cause


def test_r2_the_home_closed_to_nginx() -> None:
    closed = unit(nginx_errors=(DENIED + UPSTREAM,), socket_path=NAMEI_HOME_CLOSED)
    d = the("smoke", smoke(page(502, "502 Bad Gateway"), closed), "R2")
    assert "cannot pass through /home/dtuiprd6" in d.cause
    assert "www-data" in d.cause
    assert "chmod o+x /home/dtuiprd6" in d.fix
    assert "drwx------ dtuiprd6 dtuiprd6 dtuiprd6" in d.evidence


def test_r2_the_socket_closed_to_nginx() -> None:
    closed = unit(nginx_errors=(DENIED + UPSTREAM,), socket_path=NAMEI_SOCKET_CLOSED)
    d = the("smoke", smoke(page(502, "502 Bad Gateway"), closed), "R2")
    assert "socket is not writable by others" in d.cause
    assert f"sudo systemctl restart {UNIT}" in d.fix


# R3: the stylesheet 404s.


def static_failure(backstage: Backstage, status: int = 404) -> StepFailed:
    home = page(200, "To-Do lists")
    failure = smoke(home, backstage)
    url = f"http://{DOMAIN}/static/lists/base.css"
    return StepFailed(f"{url}: HTTP {status} text/html, not the stylesheet", failure.evidence, failure.facts)


OPEN_FAILED = (
    f'2026/11/26 15:17:10 [error] 22204#22204: *5 open() "{SITE}/static/lists/base.css" failed (2: No such file or '
    f'directory), client: 127.0.0.1, server: {DOMAIN}, request: "GET /static/lists/base.css HTTP/1.1", '
    f'host: "{DOMAIN}"'
)


def test_r3_collectstatic_not_run() -> None:
    backstage = unit(
        nginx_errors=(OPEN_FAILED,),
        static_root=f"{SITE}/static",
        static_alias=f"{SITE}/static",
        static_file=f"{SITE}/static/lists/base.css",
        static_collected=False,
    )
    d = the("smoke", static_failure(backstage), "R3")
    assert "collectstatic" in d.cause
    assert f"{SITE}/static/lists/base.css is not there" in d.cause
    assert "manage.py collectstatic --noinput" in d.fix
    assert "--force static" in d.fix
    assert OPEN_FAILED in d.evidence


def test_r3_the_alias_points_elsewhere() -> None:
    backstage = unit(
        nginx_errors=(OPEN_FAILED.replace(f"{SITE}/static/", f"{SITE}/staticfiles/"),),
        static_root=f"{SITE}/static",
        static_alias=f"{SITE}/staticfiles",
        static_file=f"{SITE}/static/lists/base.css",
        static_collected=True,
    )
    d = the("smoke", static_failure(backstage), "R3")
    assert f"alias is {SITE}/staticfiles" in d.cause
    assert f"STATIC_ROOT is {SITE}/static" in d.cause
    assert f"alias {SITE}/static/;" in d.fix


# R4: 400 with DEBUG off.


def test_r4_a_port_in_allowed_hosts_with_debug_off() -> None:
    env = (*ENV[:2], ("DJANGO_ALLOWED_HOSTS", "{domain}:80"))
    d = the("smoke", smoke(page(400, "Bad Request (400)"), unit(journal=SERVED_400), env), "R4")
    assert f"'{DOMAIN}:80'" in d.cause
    assert "has a port" in d.cause
    assert "says no more than 'Bad Request (400)'" in d.cause
    assert '[sites.NAME.env] DJANGO_ALLOWED_HOSTS = "{domain}"' in d.fix
    assert "restarts gunicorn" in d.fix
    assert any('" 400 143 ' in line for line in d.evidence)


def test_r4_another_host_in_allowed_hosts() -> None:
    env = (*ENV[:2], ("DJANGO_ALLOWED_HOSTS", "superlists.test"))
    d = the("smoke", smoke(page(400, "Bad Request (400)"), unit(journal=LOGGED_400), env), "R4")
    assert f"ALLOWED_HOSTS holds 'superlists.test' (from DJANGO_ALLOWED_HOSTS), not {DOMAIN}" in d.cause
    assert "says no more" not in d.cause  # with a console LOGGING, Django did say it
    assert any("Invalid HTTP_HOST" in line for line in d.evidence)


# R5, R6: nginx -t.


def test_r5_a_long_domain_needs_a_bigger_server_names_hash_bucket() -> None:
    long = "superlists-staging-for-a-reader-who-likes-long-names.test"
    failure = StepFailed(NGINX_T_FAILED, HASH, Facts(domain=long))
    d = the("nginx", failure, "R5")
    assert f"{long} has {len(long)} characters" in d.cause
    assert "server_names_hash_bucket_size 128;" in d.fix
    assert "/etc/nginx/nginx.conf" in d.fix
    assert HASH[0] in d.evidence


def test_r6_another_sites_broken_file_stops_the_reload() -> None:
    d = the("nginx", StepFailed(NGINX_T_FAILED, UNKNOWN_DIRECTIVE, Facts(domain=DOMAIN)), "R6")
    assert '/etc/nginx/sites-enabled/broken.test, line 3: unknown directive "servr_name"' in d.cause
    assert "another file than this site's" in d.cause
    assert "sudo nano /etc/nginx/sites-enabled/broken.test" in d.fix


def test_r6_our_own_block_broken_by_a_path() -> None:
    d = the("nginx", StepFailed(NGINX_T_FAILED, ALIAS_WITH_A_SPACE, Facts(domain=DOMAIN)), "R6")
    assert f"the server block deploy-tui wrote for {DOMAIN}" in d.cause
    assert 'invalid number of arguments in "alias" directive' in d.cause
    assert "a space or a semicolon" in d.fix


# R7: the unit will not start.


def test_r7_a_relative_exec_start_in_the_unit_file_smoke_sees_it() -> None:
    exec_start = f"gunicorn --bind unix:{SOCKET} --access-logfile - superlists.wsgi:application"
    relative = unit(state="failed", exec_start=exec_start, journal=REPLACEMENT_JOURNAL)
    d = the("smoke", smoke(page(502, "502 Bad Gateway"), relative), "R7")
    assert "ExecStart= is not an absolute path (gunicorn)" in d.cause
    assert f"ExecStart={SITE}/.venv/bin/gunicorn ..." in d.fix
    assert "daemon-reload" in d.fix
    assert f"ExecStart={exec_start}" in d.evidence
    assert REPLACEMENT_JOURNAL[0] in d.evidence


def test_r7_a_unit_edited_while_it_runs_is_not_the_failure() -> None:
    # Edited, daemon-reloaded, not yet restarted: the old gunicorn runs on, and a 400 is still R4.
    edited = unit(state="active", exec_start="gunicorn --bind unix:gunicorn.sock x:app", journal=SERVED_400)
    env = (*ENV[:2], ("DJANGO_ALLOWED_HOSTS", "{domain}:80"))
    the("smoke", smoke(page(400, "Bad Request (400)"), edited, env), "R4")


@pytest.mark.parametrize("said", [REPLACEMENT_RELATIVE, SYSTEMD_RELATIVE], ids=["replacement", "systemd"])
def test_r7_a_relative_exec_start_in_systemctls_words(said: tuple[str, ...]) -> None:
    backstage = unit(state="failed", exec_start="")
    failure = StepFailed(f"systemctl restart {UNIT}: exit status 1", said, Facts(domain=DOMAIN, backstage=backstage))
    d = the("gunicorn", failure, "R7")
    assert "not an absolute path" in d.cause
    assert any("absolute" in line for line in d.evidence)


def test_r7_the_environment_file_missing_in_the_replacements_words() -> None:
    backstage = unit(state="failed")
    failure = StepFailed(
        f"systemctl restart {UNIT}: exit status 1", REPLACEMENT_NO_ENV_FILE, Facts(domain=DOMAIN, backstage=backstage)
    )
    d = the("gunicorn", failure, "R7")
    assert "EnvironmentFile" in d.cause
    assert REPLACEMENT_NO_ENV_FILE[0] in d.evidence


def test_r7_the_environment_file_missing() -> None:
    missing = unit(state="failed", environment_file_missing=True, journal=journal_lines("\n".join(SYSTEMD_NO_ENV_FILE)))
    d = the("smoke", smoke(page(502, "502 Bad Gateway"), missing), "R7")
    assert f"EnvironmentFile {SITE}/.deploy-tui.env is not there" in d.cause
    assert "Deploy again" in d.fix
    assert f"EnvironmentFile={SITE}/.deploy-tui.env (missing)" in d.evidence


def test_journal_lines_lose_systemds_prefix() -> None:
    assert journal_lines(SYSTEMD_NO_ENV_FILE[0])[0].startswith(f"{UNIT}.service: Failed to load environment files")
    assert journal_lines(REPLACEMENT_RELATIVE[0]) == REPLACEMENT_RELATIVE[:1]  # the replacement's: as they are


# R8: a variable the settings need.


@pytest.mark.parametrize("journal", [KEY_ERROR, IMPROPERLY], ids=["KeyError", "ImproperlyConfigured"])
def test_r8_a_variable_the_settings_read_is_not_in_the_environment(journal: tuple[str, ...]) -> None:
    env = (("DJANGO_DEBUG", "0"), ("DJANGO_ALLOWED_HOSTS", "{domain}"))
    d = the("smoke", smoke(page(502, "502 Bad Gateway"), unit(state="failed", journal=journal), env), "R8")
    assert "environment variable DJANGO_SECRET_KEY" in d.cause
    assert "Worker failed to boot" in d.cause
    assert '[sites.NAME.env] DJANGO_SECRET_KEY = "{secret_key}"' in d.fix
    assert any("Reason: Worker failed to boot." in line for line in d.evidence)
    assert any("settings.py" in line for line in d.evidence)


def test_r8_when_deploy_toml_has_it_the_file_on_the_server_lost_it() -> None:
    failure = StepFailed(
        f"gunicorn did not answer on ~/sites/prod-diag/gunicorn.sock ({UNIT})",
        KEY_ERROR,
        Facts(domain=DOMAIN, env=ENV, backstage=unit(state="failed", journal=KEY_ERROR)),
    )
    d = the("gunicorn", failure, "R8")
    assert "though deploy-tui writes it there" in d.cause
    assert "rewrites the environment file" in d.fix


# R9: a 500 and nothing in any log.


def test_r9_a_server_error_with_no_logging_shows_the_settings_to_add() -> None:
    d = the("smoke", smoke(page(500, "Server Error (500)"), unit(journal=SERVED_500)), "R9")
    assert "no LOGGING" in d.cause
    assert "LOGGING = {" in d.fix
    assert '"handlers": {"console": {"class": "logging.StreamHandler"}}' in d.fix
    assert '"loggers": {"django": {"handlers": ["console"], "level": "INFO"}}' in d.fix
    assert any('" 500 145 ' in line for line in d.evidence)


def test_r9_declines_when_the_traceback_is_logged_f17_names_the_line() -> None:
    d = the("smoke", smoke(page(500, "Server Error (500)"), unit(journal=LOGGED_500)), "F17")
    assert "superlists/lists/views.py, line 13" in d.cause


def test_r9_declines_when_the_logs_were_not_read() -> None:
    unread = Backstage(unit=UNIT, unread="no sudo password was given")
    assert diagnose("smoke", smoke(page(500, "Server Error (500)"), unread)) is None


def test_an_older_runs_traceback_in_the_journal_is_not_read_as_todays() -> None:
    # journalctl -n 100 reaches back past the last start: a boot that failed an hour ago, then today's 500.
    earlier = ("[2026-11-26 14:16:54 +0000] [21374] [INFO] Starting gunicorn 27.0.1", *IMPROPERLY)
    journal = journal_lines("\n".join((*earlier, *SERVED_500)))
    assert journal == SERVED_500
    d = the("smoke", smoke(page(500, "Server Error (500)"), unit(journal=journal)), "R9")
    assert "no LOGGING" in d.cause


# What they decline.


def test_chapter_9_failures_are_not_production_ones() -> None:
    # The dev server's 400 with the port in ALLOWED_HOSTS is still F15, its refusal D2: no backstage.
    outside = Probe(f"http://{DOMAIN}:8123/", "outside", 400, "DisallowedHost at /", "", "DisallowedHost", 0.01)
    facts = Facts(domain=DOMAIN, outside=outside, env=(("DJANGO_ALLOWED_HOSTS", "{domain}:8123"),), port=8123)
    found = diagnose("smoke", StepFailed("HTTP 400", (), facts))
    assert found is not None
    assert found.code == "F15"
    refused = Probe(f"http://{DOMAIN}:8123/", "outside", None, "", "refused", "", None)
    inside = Probe("http://localhost:8123/", "inside", None, "", "refused", "", None)
    found = diagnose("smoke", StepFailed("refused", (), Facts(outside=refused, inside=inside, port=8123)))
    assert found is not None
    assert found.code == "D2"


def test_unrelated_failures_are_declined() -> None:
    for code_rule_failure in (
        ("nginx", StepFailed("ask Django for STATIC_ROOT: exit status 1", ("boom",), Facts(domain=DOMAIN))),
        ("gunicorn", StepFailed("the unit: exit status 1", ("Permission denied",), Facts(domain=DOMAIN))),
        ("smoke", smoke(page(200, "To-Do lists"), unit())),  # no 4xx/5xx, no static file: nothing to say
        ("smoke", smoke(page(403, "403 Forbidden"), unit())),
    ):
        step, failure = code_rule_failure
        found = diagnose(step, failure)
        assert found is None or not found.code.startswith("R"), found


def test_a_debug_page_in_production_is_not_r4_or_r9() -> None:
    failure = smoke(page(200, "To-Do lists"), unit())
    debug = StepFailed(f"http://{DOMAIN}/deploy-tui-no-such-page/: Django's debug page: DEBUG is on in production")
    assert diagnose("smoke", StepFailed(str(debug), (), failure.facts)) is None


# The gathering: what the steps read on the server, and a run without the sudo password.

LAYOUT = SiteLayout(env=ENV, production=True, wsgi="superlists.wsgi:application")
PROD = make_site("live", {"domain": DOMAIN, "host": "127.0.0.2", "user": "dtuiprd6", "repo": "/srv/x.git"}, "x")


def test_the_backstage_is_read_with_sudo_and_the_unit_file_without() -> None:
    session = FakeSession(
        lambda e: None,
        [
            ("systemctl is-active", Answer(3, ("failed",))),
            ("journalctl -u", Answer(0, (SYSTEMD_NO_ENV_FILE[0],))),
            (
                "grep -E '^(ExecStart|EnvironmentFile)='",
                Answer(0, (f"ExecStart={SITE}/.venv/bin/gunicorn", f"EnvironmentFile={SITE}/.deploy-tui.env")),
            ),
            ("test -e", Answer(1)),
        ],
    )
    ctx = Context(site=PROD, emit=lambda e: None, address="127.0.0.2", session=session, layout=LAYOUT)
    found = asyncio.run(read_backstage(ctx, GunicornStep()))
    assert found.state == "failed"
    assert found.environment_file_missing
    assert found.exec_start == f"{SITE}/.venv/bin/gunicorn"
    assert found.journal == (f"{UNIT}.service: Failed to load environment files: No such file or directory",)
    assert session.sudo_runs == [f"systemctl is-active {UNIT}", f"journalctl -u {UNIT} -n 100 --no-pager"]


class NoSudo(FakeSession):
    """A session with no sudo password, as for `deploy-tui run --only smoke`."""

    async def run(self, command: Any, **kwargs: Any) -> Any:
        if kwargs.get("sudo"):
            raise SessionError("fake@box: this step needs sudo, and no sudo password was given")
        return await super().run(command, **kwargs)


def test_without_the_sudo_password_the_logs_are_unread_not_a_failure() -> None:
    session = NoSudo(lambda e: None, [("grep -E", Answer(0, (f"ExecStart={SITE}/.venv/bin/gunicorn",)))])
    ctx = Context(site=PROD, emit=lambda e: None, address="127.0.0.2", session=session, layout=LAYOUT)
    found = asyncio.run(read_backstage(ctx, GunicornStep()))
    assert found.state == ""
    assert found.journal == ()
    assert "no sudo password" in found.unread
    assert found.exec_start == f"{SITE}/.venv/bin/gunicorn"  # the unit file is anyone's to read


# The smoke step in production, its probes answered here: what it reads on the server when nginx answers wrong.


def run_smoke(
    monkeypatch: pytest.MonkeyPatch, session: FakeSession, home: Probe, static: Probe | None = None
) -> StepFailed:
    from deploy_tui.remote import probes
    from deploy_tui.steps.smoke import SmokeStep

    async def outside_answer(
        domain: str, address: str, port: int, path: str = "/", timeout: float = 5.0
    ) -> tuple[Probe, str]:
        return (static if static is not None and path.startswith("/static/") else home), home.server

    async def outside(domain: str, address: str, port: int, path: str = "/", timeout: float = 5.0) -> Probe:
        probe, _ = await outside_answer(domain, address, port, path)
        return probe

    async def inside(session: Any, step: str, command: Any, url: str) -> Probe:
        return Probe(url, "inside", home.status, home.title, "", home.body, 0.01)

    monkeypatch.setattr(probes, "outside_answer", outside_answer)
    monkeypatch.setattr(probes, "outside", outside)
    monkeypatch.setattr(probes, "inside", inside)
    ctx = Context(site=PROD, emit=lambda e: None, address="127.0.0.2", session=session, layout=LAYOUT)
    with pytest.raises(StepFailed) as failed:
        asyncio.run(SmokeStep().apply(ctx))
    return failed.value


def test_smoke_reads_the_unit_the_journal_nginxs_log_and_the_socket_path_on_a_502(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session = FakeSession(
        lambda e: None,
        [
            ("systemctl is-active", Answer(3, ("inactive",))),
            ("journalctl -u", Answer(0, GUNICORN_UP)),
            ("/var/log/nginx/error.log", Answer(0, (NO_SOCKET + UPSTREAM,))),
            ("grep -E '^(ExecStart|EnvironmentFile)='", Answer(0, (f"ExecStart={SITE}/.venv/bin/gunicorn",))),
            ("namei -l", Answer(1, NAMEI_HOME_CLOSED[:-1])),
        ],
    )
    failure = run_smoke(monkeypatch, session, page(502, "502 Bad Gateway"))
    backstage = failure.facts.backstage
    assert backstage is not None
    assert (backstage.state, backstage.journal, backstage.socket_path) == (
        "inactive",
        GUNICORN_UP,
        NAMEI_HOME_CLOSED[:-1],
    )
    assert session.sudo_runs == [
        f"systemctl is-active {UNIT}",
        f"journalctl -u {UNIT} -n 100 --no-pager",
        f"grep -F -- 'server: {DOMAIN},' /var/log/nginx/error.log | tail -n 20",
    ]
    assert the("smoke", failure, "R1").code == "R1"


def test_smoke_without_the_sudo_password_still_fails_with_what_it_could_read(monkeypatch: pytest.MonkeyPatch) -> None:
    session = NoSudo(lambda e: None, [("grep -E", Answer(0, (f"ExecStart={SITE}/.venv/bin/gunicorn",)))])
    failure = run_smoke(monkeypatch, session, page(502, "502 Bad Gateway"))
    assert failure.evidence[0].startswith("(logs not read: ")
    assert "not read" in the("smoke", failure, "R1").cause


def test_smoke_asks_django_and_nginx_where_the_static_files_are_on_a_static_404(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = page(200, "To-Do lists")
    home = Probe(
        home.url,
        "outside",
        200,
        home.title,
        "",
        home.body.replace("</head>", '<link href="/static/lists/base.css" rel="stylesheet"></head>'),
        0.01,
        "nginx/1.22.1",
        "text/html",
    )
    static = page(404, "404 Not Found", "/static/lists/base.css")
    session = FakeSession(
        lambda e: None,
        [
            ("/var/log/nginx/error.log", Answer(0, (OPEN_FAILED,))),
            ("settings.STATIC_ROOT", Answer(0, (f"{SITE}/static",))),
            ("alias", Answer(0, (f"{SITE}/static/",))),
            ("test -f", Answer(1)),
        ],
    )
    failure = run_smoke(monkeypatch, session, home, static)
    backstage = failure.facts.backstage
    assert backstage is not None
    assert (backstage.static_root, backstage.static_alias) == (f"{SITE}/static", f"{SITE}/static")
    assert (backstage.static_file, backstage.static_collected) == (f"{SITE}/static/lists/base.css", False)
    assert "collectstatic" in the("smoke", failure, "R3").cause
