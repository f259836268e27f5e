"""Each diagnosis rule on its own, fed what a step reports: the real texts, and unrelated ones it must ignore.

The texts are what the tools really print (captured on Debian 12: apt 2.6, Python 3.11, Django 5.2,
curl); the end-to-end scenarios in tests/e2e/test_diagnoses.py make the situations real.
"""

from __future__ import annotations

from typing import Any

import pytest

from deploy_tui.core.diagnoses import RULES, diagnose
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import Facts, Probe, StepFailed
from deploy_tui.remote import probes
from tests.conftest import free_port

DOMAIN = "superlists-staging.test"
PORT = 8123


def failed(message: str = "it failed", evidence: tuple[str, ...] = (), **facts: Any) -> StepFailed:
    return StepFailed(message, evidence, Facts(**facts))


def probe(vantage: str, status: int | None = None, error: str = "", body: str = "", path: str = "/") -> Probe:
    host = DOMAIN if vantage == "outside" else "localhost"
    return Probe(f"http://{host}:{PORT}{path}", vantage, status, "", error, body, 0.01 if status else None)


def smoke_failure(
    outside: Probe, inside: Probe, database: Probe | None = None, log: tuple[str, ...] = ()
) -> StepFailed:
    failing = database or outside
    what = f"HTTP {failing.status}" if failing.status else failing.error
    return failed(
        f"{failing.url} from outside: {what}; from inside: {inside.status or inside.error}",
        log,
        outside=outside,
        inside=inside,
        database=database,
        port=PORT,
        domain=DOMAIN,
    )


def assert_complete(diagnosis: Diagnosis | None, code: str, step: str) -> Diagnosis:
    assert diagnosis is not None, f"expected {code}, got no diagnosis"
    assert diagnosis.code == code, (diagnosis.code, diagnosis.cause)
    assert diagnosis.step == step
    assert diagnosis.cause.strip()
    assert diagnosis.fix.strip()
    assert diagnosis.evidence
    assert all(isinstance(line, str) for line in diagnosis.evidence)
    return diagnosis


def test_every_rule_declines_an_unrelated_failure() -> None:
    # (A git prompt was the example once; F6 knows it now.) A failure no rule has a word for:
    unrelated = failed("frobnicate: exit status 3", ("error: the frobnicator is out of order",))
    for step in ("dns", "provision", "source", "venv", "migrate", "devserver", "smoke", "fts"):
        for check in RULES:
            text = "\n".join((str(unrelated), *unrelated.evidence))
            assert check(step, unrelated, text) is None, (check.__name__, step)


# D1: DNS not pointing at the server yet.


def test_d1_names_the_domain_the_address_and_the_wait() -> None:
    failure = failed(
        f"2 of 3 resolvers return 127.0.0.2 for {DOMAIN}; 1 of 1 authoritative nameservers do: not yet",
        ("sandbox 2 127.0.53.12: stale 203.0.113.99",),
        domain=DOMAIN,
        expected="127.0.0.2",
        expires_within=287,
        matched=2,
    )
    d = assert_complete(diagnose("dns", failure), "D1", "dns")
    assert DOMAIN in d.cause
    assert "127.0.0.2" in d.cause
    assert "287 s" in d.cause
    assert f"{DOMAIN} -> 127.0.0.2" in d.fix
    assert "--allow-unpropagated" in d.fix
    assert any("stale" in line for line in d.evidence)


def test_d1_only_for_the_dns_step_and_only_for_a_propagation_check() -> None:
    lagging = failed("2 of 3 resolvers return 127.0.0.2", ("x: stale",), domain=DOMAIN, expected="127.0.0.2")
    assert diagnose("smoke", lagging) is None
    not_a_propagation_check = failed("the DNS client broke", (), domain=DOMAIN)
    assert diagnose("dns", not_a_propagation_check) is None


# D2, D3, D4: the outside and inside probes together.


def test_d2_refused_outside_and_inside_means_no_server() -> None:
    failure = smoke_failure(probe("outside", error="refused"), probe("inside", error="refused"))
    d = assert_complete(diagnose("smoke", failure), "D2", "smoke")
    assert str(PORT) in d.cause
    assert "not running" in d.cause
    assert "devserver" in d.fix
    assert any(line.startswith("outside:") and "refused" in line for line in d.evidence)
    assert any(line.startswith("inside:") and "refused" in line for line in d.evidence)


def test_d3_timeout_outside_means_a_firewall() -> None:
    failure = smoke_failure(probe("outside", error="timeout"), probe("inside", status=200))
    d = assert_complete(diagnose("smoke", failure), "D3", "smoke")
    assert "firewall" in d.cause
    assert "the server itself answers" in d.cause
    assert f"{PORT}/tcp" in d.fix
    assert any("timeout" in line for line in d.evidence)


def test_d3_without_an_inside_answer_does_not_claim_one() -> None:
    failure = smoke_failure(probe("outside", error="timeout"), probe("inside", error="refused"))
    d = assert_complete(diagnose("smoke", failure), "D3", "smoke")
    assert "itself answers" not in d.cause


def test_d4_refused_outside_but_answering_inside_means_localhost_only() -> None:
    failure = smoke_failure(probe("outside", error="refused"), probe("inside", status=200))
    d = assert_complete(diagnose("smoke", failure), "D4", "smoke")
    assert "127.0.0.1" in d.cause
    assert f"0.0.0.0:{PORT}" in d.fix


async def test_the_outside_probe_calls_a_refused_connection_refused() -> None:
    # D2 and D4 rest on this: nothing listening must read "refused", not "unreachable: ...".
    seen = await probes.outside(DOMAIN, "127.0.0.1", free_port("127.0.0.1"), timeout=2)
    assert (seen.status, seen.error) == (None, "refused")


def test_probe_rules_need_both_probes_and_no_outside_answer() -> None:
    only_outside = failed("x", (), outside=probe("outside", error="refused"), port=PORT)
    assert diagnose("smoke", only_outside) is None
    answered = smoke_failure(probe("outside", status=502, body="Bad Gateway"), probe("inside", status=502))
    assert diagnose("smoke", answered) is None
    unreachable = smoke_failure(probe("outside", error="unreachable: no route"), probe("inside", error="refused"))
    assert diagnose("smoke", unreachable) is None


# D5: DisallowedHost.

DISALLOWED_BODY = (
    "<title>DisallowedHost at /</title> Invalid HTTP_HOST header: 'superlists-staging.test:8123'. "
    "You may need to add 'superlists-staging.test' to ALLOWED_HOSTS."
)


def test_d5_disallowed_host_page_from_outside() -> None:
    failure = smoke_failure(
        probe("outside", status=400, body=DISALLOWED_BODY),
        probe("inside", status=400, body=DISALLOWED_BODY),
        log=(
            "Invalid HTTP_HOST header: 'superlists-staging.test:8123'. You may need to add "
            "'superlists-staging.test' to ALLOWED_HOSTS.",
            '[25/Nov/2026 18:00:00] "GET / HTTP/1.1" 400 59443',
        ),
    )
    d = assert_complete(diagnose("smoke", failure), "D5", "smoke")
    assert DOMAIN in d.cause
    assert "ALLOWED_HOSTS" in d.cause
    assert "DJANGO_ALLOWED_HOSTS" in d.fix
    assert "restart" in d.fix
    assert any("Invalid HTTP_HOST" in line for line in d.evidence)


def test_d5_not_from_an_old_log_line_when_nothing_answers() -> None:
    old_log = ("Invalid HTTP_HOST header: 'superlists-staging.test:8123'.",)
    failure = smoke_failure(probe("outside", error="refused"), probe("inside", error="refused"), log=old_log)
    assert_complete(diagnose("smoke", failure), "D2", "smoke")


def test_d5_not_for_a_plain_400() -> None:
    failure = smoke_failure(probe("outside", status=400, body="Bad Request"), probe("inside", status=400))
    assert diagnose("smoke", failure) is None


# D6: Django missing from the Python that ran manage.py.

MANAGE_PY_WITHOUT_DJANGO = (
    "Traceback (most recent call last):",
    '  File "/home/elspeth/sites/staging/manage.py", line 16, in <module>',
    "    main()",
    '  File "/home/elspeth/sites/staging/manage.py", line 10, in main',
    "    from django.core.management import execute_from_command_line",
    "ModuleNotFoundError: No module named 'django'",
)


@pytest.mark.parametrize("step", ["migrate", "devserver"])
def test_d6_no_module_named_django(step: str) -> None:
    failure = failed("manage.py migrate: exit status 1", MANAGE_PY_WITHOUT_DJANGO)
    d = assert_complete(diagnose(step, failure), "D6", step)
    assert "Django is not installed" in d.cause
    assert "virtualenv" in d.cause
    assert "pip install -r requirements.txt" in d.fix
    assert ".venv/bin/python" in d.fix
    assert any("No module named 'django'" in line for line in d.evidence)


def test_d6_also_for_python_dash_m() -> None:
    failure = failed("python3 -m django --version: exit status 1", ("/usr/bin/python3: No module named django",))
    assert_complete(diagnose("migrate", failure), "D6", "migrate")


@pytest.mark.parametrize(
    "line",
    [
        "ModuleNotFoundError: No module named 'django_extensions'",
        "ModuleNotFoundError: No module named 'django.contrib.postgres.search'",
        "/usr/bin/python3: No module named django_extensions",
        "ModuleNotFoundError: No module named 'djangorestframework'",
    ],
)
def test_d6_not_for_another_module(line: str) -> None:
    assert diagnose("migrate", failed("manage.py migrate: exit status 1", (line,))) is None


# D7: the database has no tables.

NO_SUCH_TABLE_PAGE = (
    "<title>OperationalError at /lists/0/</title> no such table: lists_list "
    "Request Method: GET Request URL: http://superlists-staging.test:8123/lists/0/"
)


def test_d7_from_the_database_probe() -> None:
    failure = smoke_failure(
        probe("outside", status=200, body="<title>To-Do lists</title>"),
        probe("inside", status=200),
        database=probe("outside", status=500, body=NO_SUCH_TABLE_PAGE, path="/lists/0/"),
        log=('"GET /lists/0/ HTTP/1.1" 500 145623',),
    )
    d = assert_complete(diagnose("smoke", failure), "D7", "smoke")
    assert "lists_list" in d.cause
    assert "migrations" in d.cause
    assert "migrate" in d.fix
    assert "DJANGO_DB_PATH" in d.fix


def test_d7_from_a_step_s_own_output() -> None:
    failure = failed(
        "manage.py createsuperuser: exit status 1",
        ("django.db.utils.OperationalError: no such table: auth_user",),
    )
    d = assert_complete(diagnose("migrate", failure), "D7", "migrate")
    assert "auth_user" in d.cause


def test_d7_not_from_an_old_log_line_when_nothing_answers() -> None:
    old_log = ("django.db.utils.OperationalError: no such table: lists_list",)
    failure = smoke_failure(probe("outside", error="timeout"), probe("inside", status=200), log=old_log)
    assert_complete(diagnose("smoke", failure), "D3", "smoke")


def test_d7_not_for_another_500() -> None:
    failure = smoke_failure(
        probe("outside", status=200),
        probe("inside", status=200),
        database=probe("outside", status=500, body="<title>TemplateDoesNotExist</title>", path="/lists/0/"),
    )
    assert diagnose("smoke", failure) is None


# D8: another apt or dpkg holds the lock.

FRONTEND_LOCK = (
    "Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 9893 "
    "(unattended-upgr)...",
    "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?",
)
LISTS_LOCK = (
    "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 10424 (apt-get)",
    "E: Unable to lock directory /var/lib/apt/lists/",
)
DPKG_LOCK = ("dpkg: error: dpkg frontend lock was locked by another process with pid 4242",)


def test_d8_frontend_lock_names_the_holder() -> None:
    failure = failed("apt-get install: exit status 100", ("Reading package lists...", *FRONTEND_LOCK))
    d = assert_complete(diagnose("provision", failure), "D8", "provision")
    assert "process 9893, unattended-upgr" in d.cause
    assert "retry" in d.fix
    assert "never delete the lock" in d.fix
    assert all("lock" in line for line in d.evidence[1:])


@pytest.mark.parametrize("lines", [LISTS_LOCK, DPKG_LOCK])
def test_d8_lists_and_dpkg_locks(lines: tuple[str, ...]) -> None:
    d = assert_complete(diagnose("provision", failed("apt-get update: exit status 100", lines)), "D8", "provision")
    assert "package lock" in d.cause


def test_d8_not_when_apt_runs_without_root() -> None:
    # What apt prints when it is not run with sudo: a permission problem, not a busy lock.
    not_root = (
        "E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)",
        "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?",
        "E: Could not open lock file /var/lib/apt/lists/lock - open (13: Permission denied)",
        "E: Unable to lock directory /var/lib/apt/lists/",
    )
    assert diagnose("provision", failed("apt-get install: exit status 100", not_root)) is None


def test_d8_not_for_a_missing_package() -> None:
    failure = failed("apt-get install: exit status 100", ("E: Unable to locate package python3-venvv",))
    assert diagnose("provision", failure) is None


# D9: the port is taken.


def test_d9_port_in_use_from_the_devserver_facts() -> None:
    failure = failed(
        f"port {PORT} is already in use on the server",
        ("OSError: [Errno 98] Address already in use", f'LISTEN 0 5 0.0.0.0:{PORT} 0.0.0.0:* users:(("python3",))'),
        port=PORT,
        port_in_use=True,
    )
    d = assert_complete(diagnose("devserver", failure), "D9", "devserver")
    assert str(PORT) in d.cause
    assert f"sport = :{PORT}" in d.fix
    assert any("Address already in use" in line for line in d.evidence)


def test_d9_from_runserver_s_own_message() -> None:
    failure = failed("runserver exited (its log is ~/sites/x/runserver.log)", ("Error: That port is already in use.",))
    assert_complete(diagnose("devserver", failure), "D9", "devserver")


def test_d9_not_for_a_server_that_exited_otherwise() -> None:
    failure = failed(
        "runserver exited (its log is ~/sites/x/runserver.log)",
        ("django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is empty",),
        port=PORT,
    )
    assert diagnose("devserver", failure) is None


# D10: no python3-venv (not made real: it would mean removing a system package from the test machine).

DEBIAN_ENSUREPIP = (
    "The virtual environment was not created successfully because ensurepip is not",
    "available.  On Debian/Ubuntu systems, you need to install the python3-venv",
    "package using the following command.",
    "",
    "    apt install python3.11-venv",
    "",
    "You may need to use sudo with that command.  After installing the python3-venv",
    "package, recreate your virtual environment.",
)


def test_d10_debian_s_ensurepip_message_across_its_line_break() -> None:
    failure = failed("python3 -m venv .venv: exit status 1", DEBIAN_ENSUREPIP)
    d = assert_complete(diagnose("venv", failure), "D10", "venv")
    assert "separate package" in d.cause
    assert "apt install python3-venv" in d.fix
    assert any("ensurepip" in line for line in d.evidence)


def test_no_python3_at_all_is_f18_not_d10() -> None:
    failure = failed("python3 -m venv .venv: exit status 127", ("sh: 1: python3: not found",))
    assert_complete(diagnose("venv", failure), "F18", "venv")  # a minimal image: provision installs it


def test_d10_not_for_a_failing_pip_install() -> None:
    failure = failed(
        "pip install -r requirements.txt: exit status 1",
        ("ERROR: Could not find a version that satisfies the requirement Django==9.9 (from versions: none)",),
    )
    d = diagnose("venv", failure)
    assert d is not None
    assert d.code == "F10"  # a pin that does not exist, not a missing python3-venv


def test_an_old_django_on_a_new_python_names_both_and_the_ways_out() -> None:
    text = (
        '  File "/home/elspeth/sites/x/.venv/lib/python3.11/site-packages/django/db/models/sql/query.py", line 11',
        "    from collections import Counter, Iterator, Mapping, OrderedDict",
        "ImportError: cannot import name 'Iterator' from 'collections' (/usr/lib/python3.11/collections/__init__.py)",
    )
    d = diagnose("migrate", failed("manage.py migrate: exit status 1", text))
    assert d is not None
    assert d.code == "P3"
    assert "Iterator" in d.cause
    assert "5.2 LTS" in d.fix
    assert any("ImportError" in line for line in d.evidence)
    assert diagnose("migrate", failed("x", ("ImportError: cannot import name 'abc' from 'mymodule'",))) is None
