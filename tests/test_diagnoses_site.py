"""The field diagnoses of the site's answers and the reader's code (F15-F18), fed the real texts, and what they decline.

The texts are what Django 5.2.19 and Python 3.11.2 (Debian 12's /usr/bin/python3, the box's) printed
on this machine, the paths moved to a box user's site directory; tests/e2e/test_diagnoses_site.py
makes each situation real on the sandbox box.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from deploy_tui.core import events as ev
from deploy_tui.core.config import ConfigError, Site, from_dict
from deploy_tui.core.diagnoses import diagnose
from deploy_tui.core.diagnoses.site import answered_by_another
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import Facts, Probe, StepFailed
from deploy_tui.core.hosts import host_problem
from deploy_tui.core.plan import Context, Options, SiteLayout
from deploy_tui.project import read_project
from deploy_tui.remote.lock import lock_script
from deploy_tui.steps import default_plan
from deploy_tui.steps.preflight import PreflightStep
from tests.conftest import CHECKOUT
from tests.fakes import Answer, FakeSession

DOMAIN = "superlists-staging.test"
PORT = 8123
SITE = "/home/elspeth/sites/staging"
DJANGO = f"{SITE}/.venv/lib/python3.11/site-packages/django"
STAGING = {"domain": DOMAIN, "host": "127.0.0.2", "repo": "/srv/git/superlists.git"}


def failed(message: str = "it failed", evidence: tuple[str, ...] = (), **facts: Any) -> StepFailed:
    return StepFailed(message, evidence, Facts(**facts))


def probe(
    vantage: str, status: int | None = None, error: str = "", body: str = "", title: str = "", path: str = "/"
) -> Probe:
    host = DOMAIN if vantage == "outside" else "localhost"
    return Probe(f"http://{host}:{PORT}{path}", vantage, status, title, error, body, 0.01 if status else None)


def smoke_failure(outside: Probe, inside: Probe, log: tuple[str, ...] = (), **facts: Any) -> StepFailed:
    what = f"HTTP {outside.status}" if outside.status else outside.error
    return failed(
        f"{outside.url} from outside: {what}; from inside: {inside.status or inside.error}",
        log,
        outside=outside,
        inside=inside,
        port=PORT,
        domain=DOMAIN,
        expected="127.0.0.2",
        allowed_hosts=(DOMAIN,),
        site_dir="~/sites/staging",
        **facts,
    )


def assert_complete(diagnosis: Diagnosis | None, code: str, step: str) -> Diagnosis:
    assert diagnosis is not None, f"expected {code}, got no diagnosis"
    assert diagnosis.code == code, (diagnosis.code, diagnosis.cause)
    assert diagnosis.step == step
    assert diagnosis.cause.strip()
    assert diagnosis.fix.strip()
    assert diagnosis.evidence
    return diagnosis


def superlists_env(hosts: str) -> tuple[tuple[str, str], ...]:
    return (
        ("DJANGO_DEBUG", "1"),
        ("DJANGO_SECRET_KEY", "{secret_key}"),
        ("DJANGO_ALLOWED_HOSTS", hosts),
        ("DJANGO_DB_PATH", "{db_path}"),
    )


# F15: ALLOWED_HOSTS written so that it never matches.

# The dev server's log (DEBUG on) when DJANGO_ALLOWED_HOSTS is 'superlists-staging.test:8123'.
DISALLOWED_LOG = (
    "Invalid HTTP_HOST header: 'superlists-staging.test:8123'. You may need to add 'superlists-staging.test' to "
    "ALLOWED_HOSTS.",
    "Traceback (most recent call last):",
    f'  File "{DJANGO}/core/handlers/exception.py", line 55, in inner',
    "    response = get_response(request)",
    "               ^^^^^^^^^^^^^^^^^^^^^",
    f'  File "{DJANGO}/middleware/common.py", line 48, in process_request',
    "    host = request.get_host()",
    "           ^^^^^^^^^^^^^^^^^^",
    f'  File "{DJANGO}/http/request.py", line 203, in get_host',
    "    raise DisallowedHost(msg)",
    "django.core.exceptions.DisallowedHost: Invalid HTTP_HOST header: 'superlists-staging.test:8123'. You may need "
    "to add 'superlists-staging.test' to ALLOWED_HOSTS.",
    '[26/Nov/2026 14:28:02] "GET / HTTP/1.1" 400 63484',
)
# What the page says, escaped as Django's debug page has it.
DISALLOWED_BODY = (
    "<title>DisallowedHost\n          at /</title> Invalid HTTP_HOST header: &#x27;superlists-staging.test:8123&#x27;. "
    "You may need to add &#x27;superlists-staging.test&#x27; to ALLOWED_HOSTS."
)
# With DEBUG off: no word of why, in the page or the log.
BAD_REQUEST_BODY = '<!doctype html>\n<html lang="en">\n<head>\n  <title>Bad Request (400)</title>\n</head>\n'
BAD_REQUEST_LOG = ('[26/Nov/2026 14:28:04] "GET / HTTP/1.1" 400 143',)


def test_f15_a_port_in_the_env_value_is_named_with_why_it_never_matches() -> None:
    failure = smoke_failure(
        probe("outside", 400, body=DISALLOWED_BODY),
        probe("inside", 400, body=DISALLOWED_BODY),
        DISALLOWED_LOG,
        env=superlists_env(f"{{domain}}:{PORT}"),
    )
    d = assert_complete(diagnose("smoke", failure), "F15", "smoke")
    assert f"'{DOMAIN}:{PORT}'" in d.cause
    assert "DJANGO_ALLOWED_HOSTS" in d.cause
    assert "without its port" in d.cause
    assert 'DJANGO_ALLOWED_HOSTS = "{domain}"' in d.fix
    assert (
        d.evidence[0]
        == f"DJANGO_ALLOWED_HOSTS: '{DOMAIN}:{PORT}' has a port: Django compares the request's host without its port"
    )
    assert any("Invalid HTTP_HOST" in line for line in d.evidence)


def test_f15_with_debug_off_the_400_alone_is_enough() -> None:
    failure = smoke_failure(
        probe("outside", 400, body=BAD_REQUEST_BODY, title="Bad Request (400)"),
        probe("inside", 400, body=BAD_REQUEST_BODY, title="Bad Request (400)"),
        BAD_REQUEST_LOG,
        env=superlists_env(f"{DOMAIN}."),
    )
    d = assert_complete(diagnose("smoke", failure), "F15", "smoke")
    assert "trailing dot" in d.cause
    assert 'DJANGO_ALLOWED_HOSTS = "{domain}"' in d.fix


@pytest.mark.parametrize(
    ("value", "why", "fixed"),
    [
        ('["superlists-staging.test"]', "Python list", '"{domain}"'),
        ('["superlists-staging.test", "www.superlists-staging.test"]', "Python list", "www.superlists-staging.test"),
        ('"superlists-staging.test"', "quotes", '"{domain}"'),
        ("http://superlists-staging.test/", "URL", '"{domain}"'),
        ("localhost,{domain}:8000", "port", '"{domain}"'),
    ],
)
def test_f15_lists_quotes_urls_and_ports_written_into_the_env(value: str, why: str, fixed: str) -> None:
    failure = smoke_failure(
        probe("outside", 400, body=BAD_REQUEST_BODY), probe("inside", 400), BAD_REQUEST_LOG, env=superlists_env(value)
    )
    d = assert_complete(diagnose("smoke", failure), "F15", "smoke")
    assert why in d.cause
    assert fixed in d.fix


def test_f15_from_deploy_toml_s_own_allowed_hosts_as_a_recording_has_it() -> None:
    failure = smoke_failure(
        probe("outside", 400, body=BAD_REQUEST_BODY),
        probe("inside", 400),
        BAD_REQUEST_LOG,
        env=superlists_env("{allowed_hosts}"),
    )
    failure.facts = dataclasses.replace(failure.facts, allowed_hosts=(f"{DOMAIN}:8000",))
    d = assert_complete(diagnose("smoke", failure), "F15", "smoke")
    assert "deploy.toml's allowed_hosts" in d.cause
    assert f'allowed_hosts = ["{DOMAIN}"]' in d.fix


def test_d5_still_names_a_plain_disallowed_host_with_well_formed_hosts() -> None:
    for hosts in ("{domain}", "other.test", "localhost,.other.test"):
        failure = smoke_failure(
            probe("outside", 400, body=DISALLOWED_BODY), probe("inside", 400), DISALLOWED_LOG, env=superlists_env(hosts)
        )
        assert_complete(diagnose("smoke", failure), "D5", "smoke")


def test_f15_declines_what_is_not_a_refused_host() -> None:
    env = superlists_env(f"{{domain}}:{PORT}")
    nothing = smoke_failure(
        probe("outside", error="refused"), probe("inside", error="refused"), DISALLOWED_LOG, env=env
    )
    assert_complete(diagnose("smoke", nothing), "D2", "smoke")  # an old log line, a server that is not there
    answered = smoke_failure(probe("outside", 502, body="Bad Gateway"), probe("inside", 502), env=env)
    assert diagnose("smoke", answered) is None


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("a.test:8000", "has a port"),
        ("a.test.", "ends in a dot"),
        ("'a.test'", "quotes"),
        ('["a.test"]', "Python list"),
        ("https://a.test", "URL"),
        ("a.test,b.test", "several names"),
        ("[::1]:8000", "has a port"),
    ],
)
def test_host_problem_knows_what_django_never_matches(entry: str, problem: str) -> None:
    found = host_problem(entry)
    assert found is not None
    assert problem in found.why


@pytest.mark.parametrize("entry", ["a.test", "A.Test", ".a.test", "*", "[::1]", "127.0.0.1", "localhost"])
def test_host_problem_leaves_what_django_can_match(entry: str) -> None:
    assert host_problem(entry) is None


# F16: the domain answers, with someone else's page.

PARKED = "<html><head><title>This domain is parked</title></head><body>Buy this domain!</body></html>"
HOME = "<title>To-Do lists</title><h1>Start a new To-Do list</h1>"


def parked_failure(marker: str = "", inside_body: str = HOME) -> StepFailed:
    inside_title = "To-Do lists" if "To-Do lists" in inside_body else "Welcome"
    return smoke_failure(
        probe("outside", 200, body=PARKED, title="This domain is parked"),
        probe("inside", 200, body=inside_body, title=inside_title),
        marker=marker,
    )


def test_f16_a_parking_page_outside_while_the_server_serves_the_site() -> None:
    d = assert_complete(diagnose("smoke", parked_failure()), "F16", "smoke")
    assert "'This domain is parked'" in d.cause
    assert "'To-Do lists'" in d.cause
    assert f"127.0.0.2:{PORT}" in d.cause
    assert "A record" in d.fix
    assert f"sport = :{PORT}" in d.fix
    assert d.evidence[0] == f"outside: http://{DOMAIN}:{PORT}/ -> 200 'This domain is parked'"


def test_f16_the_marker_missing_outside_is_named() -> None:
    d = assert_complete(diagnose("smoke", parked_failure(marker="Start a new To-Do list")), "F16", "smoke")
    assert "without the page_marker 'Start a new To-Do list'" in d.cause


def test_f16_a_marker_the_server_s_own_page_lacks_says_so() -> None:
    d = assert_complete(
        diagnose("smoke", parked_failure("Start a new To-Do list", "<title>Welcome</title>")), "F16", "smoke"
    )
    assert "nor on the server itself" in d.cause
    assert "page_marker" in d.fix


def test_answered_by_another_reads_titles_and_the_marker_as_a_browser_shows_it() -> None:
    site = probe(
        "outside", 200, body="<title>Bob&#x27;s lists</title><h1>Start  a new\nTo-Do list</h1>", title="Bob's lists"
    )
    same = probe("inside", 200, body=site.body, title="Bob's lists")
    assert not answered_by_another(site, same, "")
    assert not answered_by_another(site, same, "Bob's lists")
    assert not answered_by_another(site, same, "Start a new To-Do list")
    assert answered_by_another(site, same, "Your To-Do list")
    untitled = probe("outside", 200, body="<p>hi</p>")
    assert not answered_by_another(untitled, probe("inside", 200, body="<p>hello</p>"), "")  # nothing to compare
    assert not answered_by_another(probe("outside", 404, title="x"), same, "")  # not an answer to compare


# F17: the reader's code or settings stop Django.
MIGRATE_SYNTAX_ERROR = (
    "    res = instance.__dict__[self.name] = self.func(instance)",
    "                                         ^^^^^^^^^^^^^^^^^^^",
    f'  File "{DJANGO}/urls/resolvers.py", line 711, in urlconf_module',
    "    return import_module(self.urlconf_name)",
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    '  File "/usr/lib/python3.11/importlib/__init__.py", line 126, in import_module',
    "    return _bootstrap._gcd_import(name[level:], package, level)",
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    '  File "<frozen importlib._bootstrap>", line 1206, in _gcd_import',
    '  File "<frozen importlib._bootstrap>", line 1178, in _find_and_load',
    '  File "<frozen importlib._bootstrap>", line 1149, in _find_and_load_unlocked',
    '  File "<frozen importlib._bootstrap>", line 690, in _load_unlocked',
    '  File "<frozen importlib._bootstrap_external>", line 940, in exec_module',
    '  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed',
    f'  File "{SITE}/src/superlists/urls.py", line 2, in <module>',
    "    from lists import views",
    f'  File "{SITE}/src/lists/views.py", line 6',
    "    def home_page(request)",
    "                          ^",
    "SyntaxError: expected ':'",
)
SETTINGS_KEY_ERROR = (
    f'  File "{DJANGO}/conf/__init__.py", line 68, in _setup',
    "    self._wrapped = Settings(settings_module)",
    "                    ^^^^^^^^^^^^^^^^^^^^^^^^^",
    f'  File "{DJANGO}/conf/__init__.py", line 166, in __init__',
    "    mod = importlib.import_module(self.SETTINGS_MODULE)",
    "          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    '  File "/usr/lib/python3.11/importlib/__init__.py", line 126, in import_module',
    "    return _bootstrap._gcd_import(name[level:], package, level)",
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    '  File "<frozen importlib._bootstrap>", line 1206, in _gcd_import',
    '  File "<frozen importlib._bootstrap>", line 1178, in _find_and_load',
    '  File "<frozen importlib._bootstrap>", line 1149, in _find_and_load_unlocked',
    '  File "<frozen importlib._bootstrap>", line 690, in _load_unlocked',
    '  File "<frozen importlib._bootstrap_external>", line 940, in exec_module',
    '  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed',
    f'  File "{SITE}/src/superlists/settings.py", line 16, in <module>',
    '    SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]',
    "                 ~~~~~~~~~~^^^^^^^^^^^^^^^^^^^^^",
    '  File "<frozen os>", line 679, in __getitem__',
    "KeyError: 'DJANGO_SECRET_KEY'",
)
VIEWS_MODULE_NOT_FOUND = (
    f'  File "{DJANGO}/utils/functional.py", line 47, in __get__',
    "    res = instance.__dict__[self.name] = self.func(instance)",
    "                                         ^^^^^^^^^^^^^^^^^^^",
    f'  File "{DJANGO}/urls/resolvers.py", line 711, in urlconf_module',
    "    return import_module(self.urlconf_name)",
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    '  File "/usr/lib/python3.11/importlib/__init__.py", line 126, in import_module',
    "    return _bootstrap._gcd_import(name[level:], package, level)",
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    '  File "<frozen importlib._bootstrap>", line 1206, in _gcd_import',
    '  File "<frozen importlib._bootstrap>", line 1178, in _find_and_load',
    '  File "<frozen importlib._bootstrap>", line 1149, in _find_and_load_unlocked',
    '  File "<frozen importlib._bootstrap>", line 690, in _load_unlocked',
    '  File "<frozen importlib._bootstrap_external>", line 940, in exec_module',
    '  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed',
    f'  File "{SITE}/src/superlists/urls.py", line 2, in <module>',
    "    from lists import views",
    f'  File "{SITE}/src/lists/views.py", line 1, in <module>',
    "    import requests_oauthlib",
    "ModuleNotFoundError: No module named 'requests_oauthlib'",
)
SETTINGS_IMPROPERLY_CONFIGURED = (
    f'  File "{DJANGO}/conf/__init__.py", line 81, in __getattr__',
    "    self._setup(name)",
    f'  File "{DJANGO}/conf/__init__.py", line 68, in _setup',
    "    self._wrapped = Settings(settings_module)",
    "                    ^^^^^^^^^^^^^^^^^^^^^^^^^",
    f'  File "{DJANGO}/conf/__init__.py", line 166, in __init__',
    "    mod = importlib.import_module(self.SETTINGS_MODULE)",
    "          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    '  File "/usr/lib/python3.11/importlib/__init__.py", line 126, in import_module',
    "    return _bootstrap._gcd_import(name[level:], package, level)",
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    '  File "<frozen importlib._bootstrap>", line 1206, in _gcd_import',
    '  File "<frozen importlib._bootstrap>", line 1178, in _find_and_load',
    '  File "<frozen importlib._bootstrap>", line 1149, in _find_and_load_unlocked',
    '  File "<frozen importlib._bootstrap>", line 690, in _load_unlocked',
    '  File "<frozen importlib._bootstrap_external>", line 940, in exec_module',
    '  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed',
    f'  File "{SITE}/superlists/settings.py", line 41, in <module>',
    '    raise ImproperlyConfigured("DJANGO_SECRET_KEY is empty: set it to a long random string when DJANGO_DEBUG=0")',
    "django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is empty: set it to a long random string when "
    "DJANGO_DEBUG=0",
)


RUNSERVER_NO_HOSTS = ("CommandError: You must set settings.ALLOWED_HOSTS if DEBUG is False.",)
# A package in INSTALLED_APPS that is not in requirements.txt: no frame of the reader's below manage.py.
INSTALLED_APP_MISSING = (
    f'  File "{SITE}/manage.py", line 19, in main',
    "    execute_from_command_line(sys.argv)",
    f'  File "{DJANGO}/apps/config.py", line 193, in create',
    "    import_module(entry)",
    '  File "/usr/lib/python3.11/importlib/__init__.py", line 126, in import_module',
    "    return _bootstrap._gcd_import(name[level:], package, level)",
    '  File "<frozen importlib._bootstrap>", line 1140, in _find_and_load_unlocked',
    "ModuleNotFoundError: No module named 'debug_toolbar'",
)


def migrate_failure(lines: tuple[str, ...]) -> StepFailed:
    return failed("manage.py migrate: exit status 1", lines, site_dir="~/sites/staging", user="elspeth")


def test_f17_a_syntax_error_names_the_file_the_line_and_the_caret() -> None:
    d = assert_complete(diagnose("migrate", migrate_failure(MIGRATE_SYNTAX_ERROR)), "F17", "migrate")
    assert "src/lists/views.py, line 6" in d.cause
    assert SITE not in d.cause  # the path in the repository, not on the server
    assert "expected ':'" in d.cause
    assert "fix src/lists/views.py, line 6, in your repository" in d.fix.lower()
    assert "commit, push, and deploy again" in d.fix
    assert d.evidence[0] == "manage.py migrate: exit status 1"
    assert d.evidence[-4:] == MIGRATE_SYNTAX_ERROR[-4:]  # the frame, its line, the caret, the exception


def test_f17_a_variable_the_settings_read_and_the_env_does_not_set() -> None:
    d = assert_complete(diagnose("migrate", migrate_failure(SETTINGS_KEY_ERROR)), "F17", "migrate")
    assert "DJANGO_SECRET_KEY" in d.cause
    assert "src/superlists/settings.py, line 16" in d.cause
    assert '[sites.NAME.env] DJANGO_SECRET_KEY = "..."' in d.fix
    assert "KeyError: 'DJANGO_SECRET_KEY'" in d.evidence


def test_f17_improperly_configured_settings() -> None:
    d = assert_complete(diagnose("devserver", migrate_failure(SETTINGS_IMPROPERLY_CONFIGURED)), "F17", "devserver")
    assert "superlists/settings.py, line 41" in d.cause
    assert "DJANGO_SECRET_KEY is empty" in d.cause
    assert "deploy.toml" in d.fix


def test_f17_a_module_not_installed_points_at_requirements() -> None:
    d = assert_complete(diagnose("migrate", migrate_failure(VIEWS_MODULE_NOT_FOUND)), "F17", "migrate")
    assert "src/lists/views.py, line 1 imports requests_oauthlib" in d.cause
    assert "requirements.txt" in d.fix
    assert "git status" in d.fix


def test_f17_an_installed_app_that_is_not_installed_has_no_line_of_theirs_to_name() -> None:
    d = assert_complete(diagnose("migrate", migrate_failure(INSTALLED_APP_MISSING)), "F17", "migrate")
    assert "as your settings name it (INSTALLED_APPS?), debug_toolbar" in d.cause
    assert "manage.py" not in d.cause


def test_f17_runserver_refusing_an_empty_allowed_hosts_names_the_variable() -> None:
    failure = failed(
        "runserver exited (its log is ~/sites/staging/runserver.log)",
        RUNSERVER_NO_HOSTS,
        port=PORT,
        env=superlists_env(""),
        site_dir="~/sites/staging",
    )
    d = assert_complete(diagnose("devserver", failure), "F17", "devserver")
    assert "DJANGO_ALLOWED_HOSTS is empty" in d.cause
    assert 'DJANGO_ALLOWED_HOSTS = "{domain}"' in d.fix
    assert d.evidence == ("runserver exited (its log is ~/sites/staging/runserver.log)", *RUNSERVER_NO_HOSTS)


def test_f17_declines_tracebacks_that_are_not_the_reader_s() -> None:
    # DisallowedHost's traceback in the log: D5's, however it is read.
    plain = smoke_failure(probe("outside", 400, body=DISALLOWED_BODY), probe("inside", 400), DISALLOWED_LOG)
    assert_complete(diagnose("smoke", plain), "D5", "smoke")
    # A traceback all in Django's code, with no settings error in it: nothing of theirs to name.
    all_django = (*DISALLOWED_LOG[1:-2], "django.template.exceptions.TemplateDoesNotExist: list.html")
    assert diagnose("smoke", failed("http://x/lists/0/: HTTP 500", all_django)) is None
    # The FTs' own failures are reported test by test.
    assert diagnose("fts", migrate_failure(MIGRATE_SYNTAX_ERROR)) is None
    # An exception line with no traceback (the chapter's D9 test keeps this unclaimed).
    bare = failed("runserver exited", ("django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is empty",))
    assert diagnose("devserver", bare) is None


def test_more_precise_rules_still_win_over_f17() -> None:
    no_django = (*SETTINGS_KEY_ERROR[:-1], "ModuleNotFoundError: No module named 'django'")
    assert_complete(diagnose("migrate", migrate_failure(no_django)), "D6", "migrate")
    old_django = (
        *SETTINGS_KEY_ERROR[:3],
        "ImportError: cannot import name 'Iterator' from 'collections' (/usr/lib/python3.11/collections/__init__.py)",
    )
    assert_complete(diagnose("migrate", migrate_failure(old_django)), "P3", "migrate")


# F18: no python3 at all.


@pytest.mark.parametrize(
    "line",
    [
        "sh: 1: python3: not found",  # dash, /bin/sh
        "bash: line 1: python3: command not found",  # the box user's login shell over ssh
        "/usr/bin/env: 'python3': No such file or directory",  # a #!/usr/bin/env python3 script, C locale
        "/usr/bin/env: \u2018python3\u2019: No such file or directory",  # the same in a UTF-8 locale
    ],
)
@pytest.mark.parametrize("step", ["venv", "devserver", "migrate"])
def test_f18_no_python3_on_a_minimal_image(line: str, step: str) -> None:
    d = assert_complete(diagnose(step, failed("python3 -m venv .venv: exit status 127", (line,))), "F18", step)
    assert "minimal image" in d.cause
    assert "sudo apt-get install python3 python3-venv" in d.fix
    assert "provision" in d.fix
    assert line in d.evidence


def test_d10_keeps_the_missing_venv_module() -> None:
    ensurepip = ("The virtual environment was not created successfully because ensurepip is not", "available.")
    assert_complete(diagnose("venv", failed("python3 -m venv .venv: exit status 1", ensurepip)), "D10", "venv")


def test_nothing_before_provision_needs_python3_but_the_preflight_s_question() -> None:
    plan = default_plan(SiteLayout(collectstatic=True))
    ids = [step.id for step in plan]
    before = plan[: ids.index("provision")]
    ctx = Context(site=site_of(), emit=lambda event: None, address="127.0.0.2", options=Options(checkout=CHECKOUT))
    asks = [
        command.script
        for step in before
        for command in step.commands(ctx)
        if command.run and not command.here and "python3" in command.script
    ]
    assert asks == ["python3 --version"]


def pushed(events: list[ev.Event]) -> FakeSession:
    """This machine's git: the commit checked out is the one pushed."""
    return FakeSession(
        events.append,
        [("rev-parse", Answer(stdout=("abc123",))), ("ls-remote", Answer(stdout=("abc123\trefs/heads/main",)))],
    )


def test_the_preflight_takes_a_missing_python3_as_provision_s_to_install() -> None:
    events: list[ev.Event] = []
    missing = Answer(127, stderr=("bash: line 1: python3: command not found",))
    ctx = Context(
        site=site_of(),
        emit=events.append,
        address="127.0.0.2",
        session=FakeSession(events.append, [("python3", missing)]),
        local=pushed(events),
        options=Options(checkout=CHECKOUT),
        layout=SiteLayout(env=superlists_env("{domain}")),
        project=read_project(CHECKOUT),
    )
    asyncio.run(PreflightStep().apply(ctx))
    checks = {e.item: e for e in events if isinstance(e, ev.CheckResult)}
    assert checks["server Python"].verdict == "warning"
    assert "provision installs it" in checks["server Python"].found
    assert "Django" not in checks  # nothing to check a pin against yet


def test_the_deploy_lock_runs_in_a_shell_without_python3(tmp_path: Path) -> None:
    # The lock's own commands, and nothing else, on the PATH: a python3 in the script would be "not found".
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mkdir", "dirname", "flock", "cat"):
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    script = lock_script(str(tmp_path / "site.deploy-lock"), '{"run": "t"}', 0)
    done = subprocess.run(
        ["/bin/sh", "-c", script],
        env={"PATH": str(bin_dir)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "deploy-tui-lock: acquired"
    assert "not found" not in done.stderr


# The preflight's look at the env values ALLOWED_HOSTS is read from.


def preflight_hosts(hosts: str) -> tuple[ev.CheckResult, list[Diagnosis]]:
    """The preflight's ALLOWED_HOSTS verdict, and its F15 diagnoses, for superlists given DJANGO_ALLOWED_HOSTS."""
    events: list[ev.Event] = []
    ctx = Context(
        site=site_of(),
        emit=events.append,
        address="127.0.0.2",
        session=FakeSession(events.append, [("python3", Answer(stdout=("Python 3.11.2",)))]),
        local=pushed(events),
        options=Options(checkout=CHECKOUT),
        layout=SiteLayout(env=superlists_env(hosts)),
        project=read_project(CHECKOUT),
    )
    with contextlib.suppress(StepFailed):  # a problem stops the run; the verdict is what is asked
        asyncio.run(PreflightStep().apply(ctx))
    check = next(e for e in events if isinstance(e, ev.CheckResult) and e.item == "ALLOWED_HOSTS")
    return check, [e for e in events if isinstance(e, Diagnosis) and e.code == "F15"]


def test_the_preflight_refuses_an_env_value_that_never_matches_the_domain() -> None:
    check, (f15,) = preflight_hosts("{domain}:8000")
    assert check.verdict == "problem"
    assert "never matches" in check.found
    assert "without its port" in f15.cause
    assert f'[sites.staging.env] DJANGO_ALLOWED_HOSTS = "{DOMAIN}"' in f15.fix


def test_the_preflight_warns_of_a_malformed_entry_beside_a_good_one() -> None:
    check, (f15,) = preflight_hosts("{domain},www.{domain}.")
    assert check.verdict == "warning"
    assert "ends in a dot" in f15.cause
    assert f"another entry allows {DOMAIN}" in f15.cause


def test_the_preflight_passes_well_written_hosts() -> None:
    check, found = preflight_hosts("{domain},localhost")
    assert check.verdict == "ok"
    assert found == []


# deploy.toml: page_marker, and allowed_hosts as Django will match them.


def site_of(**values: Any) -> Site:
    return from_dict({"sites": {"staging": {**STAGING, **values}}}, "deploy.toml", {}).site("staging")


def test_page_marker_is_kept_and_inherited_by_the_other_sites() -> None:
    config = from_dict(
        {"sites": {"staging": {**STAGING, "page_marker": "To-Do lists"}, "live": {"domain": "superlists.test"}}},
        "deploy.toml",
        {},
    )
    assert config.site("staging").page_marker == "To-Do lists"
    assert config.site("live").page_marker == "To-Do lists"
    assert site_of().page_marker == ""


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (" To-Do lists", "spaces at its ends"),
        ("x" * 201, "at most 200"),
        (42, "must be a string"),
        ("To-Do\nlists", "one line"),
        ("To-Do \x1b[2J", "control or invisible character"),
    ],
)
def test_a_bad_page_marker_is_one_line_naming_it(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        site_of(page_marker=value)
    assert "sites.staging.page_marker" in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (f"{DOMAIN}:8000", "has a port"),
        (f"{DOMAIN}.", "ends in a dot"),
    ],
)
def test_allowed_hosts_with_a_port_or_a_trailing_dot_is_refused_with_the_fix(entry: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        site_of(allowed_hosts=[entry])
    text = str(error.value)
    assert text.startswith("deploy.toml: sites.staging.allowed_hosts: ")
    assert message in text
    assert f"write '{DOMAIN}' (a bare host name: no port, no trailing dot)" in text
    assert "\n" not in text
