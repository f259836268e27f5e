"""The chapter's own debugging walk: DNS, the dev server seen from outside and inside, the venv, the
database, apt's lock, the port, python3-venv (D1-D10), and a Django older than the server's Python (P3)."""

from __future__ import annotations

import re

from deploy_tui.core.diagnoses.base import Rule, evidence, unanswered
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import StepFailed

RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


@rule
def dns_not_pointing(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    if step != "dns" or not failure.facts.expected:
        return None  # not a propagation check (e.g. no address to expect): the message says what to set
    domain, expected = failure.facts.domain or "the domain", failure.facts.expected
    expires = failure.facts.expires_within
    wait = f" The stale answers should expire within {expires} s." if expires else ""
    return Diagnosis(
        step=step,
        code="D1",
        cause=f"DNS for {domain} does not point at {expected} everywhere yet: the A record is missing, "
        f"wrong, or not yet propagated to every resolver.{wait}",
        fix=f"At your DNS provider, set an A record {domain} -> {expected}; then wait for propagation "
        f"(deploy-tui dns {domain} --expect {expected} --watch), or go on now with the address pinned "
        "(--allow-unpropagated).",
        evidence=evidence(failure),
    )


@rule
def dpkg_lock(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # apt: "Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 9893 (apt-get)...",
    # "... is another process using it?"; dpkg: "... lock was locked by another process with pid N".
    # Not "Could not open lock file ... (13: Permission denied)" / "are you root?": that is no sudo.
    if not re.search(r"Could not get lock|is another process using it|locked by another process", text):
        return None
    holder = re.search(r"held by process (\d+) \(([^)]*)\)", text)
    who = f" (process {holder[1]}, {holder[2]})" if holder else ""
    return Diagnosis(
        step=step,
        code="D8",
        cause=f"Another apt or dpkg run holds the package lock{who}; on a fresh server that is usually "
        "unattended-upgrades installing security updates.",
        fix="Wait for it to finish (ps aux | grep -E 'apt|dpkg'), then retry this step; never delete the lock files.",
        evidence=evidence(failure, r"lock|held by"),
    )


@rule
def no_venv(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # "ModuleNotFoundError: No module named 'django'", or "python3: No module named django" (-m);
    # not another module whose name starts with django (django_extensions, 'django.contrib.x').
    if not re.search(r"No module named (?:'django'|django(?![\w.]))", text):
        return None
    return Diagnosis(
        step=step,
        code="D6",
        cause="Django is not installed in the Python that ran manage.py: the virtualenv is missing, or "
        "the requirements were not installed into it.",
        fix="In the site directory: python3 -m venv .venv && .venv/bin/pip install -r requirements.txt, "
        "and run manage.py with .venv/bin/python (re-run the venv step).",
        evidence=evidence(failure, r"No module named|Error"),
    )


@rule
def port_in_use(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    if not (failure.facts.port_in_use or "That port is already in use" in text):
        return None
    port = failure.facts.port or 8000
    return Diagnosis(
        step=step,
        code="D9",
        cause=f"Something else is already listening on port {port} on the server, so runserver cannot bind it.",
        fix=f"Find it with sudo ss -ltnp 'sport = :{port}' and stop it (an old runserver started by hand?), "
        "or choose another app_port; then retry.",
        evidence=evidence(failure),
    )


@rule
def not_migrated(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    if unanswered(failure):
        return None  # an old "no such table" in the server's log says nothing about a server that is not there
    database = failure.facts.database
    body = database.body if database else ""
    if "no such table" not in text and "no such table" not in body:
        return None
    table = re.search(r"no such table: (\w+)", text + body)
    return Diagnosis(
        step=step,
        code="D7",
        cause=f"The database has no tables yet{f' ({table[1]})' if table else ''}: the migrations were not applied "
        "to the database this server uses.",
        fix="Run .venv/bin/python manage.py migrate --noinput in the site directory (the migrate step), "
        "with the same DJANGO_DB_PATH as the server.",
        evidence=evidence(failure, r"no such table|OperationalError"),
    )


@rule
def disallowed_host(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    if unanswered(failure):
        return None  # an old "Invalid HTTP_HOST" in the server's log says nothing about a server that is not there
    outside = failure.facts.outside
    body = outside.body if outside else ""
    if "DisallowedHost" not in body and "Invalid HTTP_HOST" not in text:
        return None
    domain = failure.facts.domain or "the domain"
    return Diagnosis(
        step=step,
        code="D5",
        cause=f"Django refuses requests for {domain}: it is not in ALLOWED_HOSTS (DisallowedHost at /).",
        fix=f"Add {domain} to ALLOWED_HOSTS (this site reads DJANGO_ALLOWED_HOSTS; deploy.toml: allowed_hosts) "
        "and restart the dev server.",
        evidence=evidence(failure, r"Invalid HTTP_HOST|DisallowedHost|ALLOWED_HOSTS"),
    )


@rule
def unreachable_from_outside(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    outside, inside = failure.facts.outside, failure.facts.inside
    if outside is None or inside is None or outside.status is not None:
        return None
    port = failure.facts.port or 8000
    probes = (
        f"outside: {outside.url} -> {outside.error}",
        f"inside: {inside.url} -> {inside.status or inside.error}",
    )
    if outside.error == "timeout":
        return Diagnosis(
            step=step,
            code="D3",
            cause=f"Connections to port {port} time out from outside: a firewall drops them before they reach "
            "the server" + (" (the server itself answers)" if inside.status else "") + ".",
            fix=f"Open TCP port {port}: sudo ufw allow {port}/tcp on the server, or the cloud provider's "
            "firewall / security group.",
            evidence=(*probes, *evidence(failure)[1:]),
        )
    if outside.error == "refused" and inside.status is not None:
        return Diagnosis(
            step=step,
            code="D4",
            cause="The server answers on localhost but refuses connections from outside: runserver is bound "
            "to 127.0.0.1, which only the server itself can reach.",
            fix=f"Start it on all interfaces: manage.py runserver 0.0.0.0:{port} (the devserver step does).",
            evidence=(*probes, *evidence(failure)[1:]),
        )
    if outside.error == "refused":
        return Diagnosis(
            step=step,
            code="D2",
            cause=f"Nothing listens on port {port}: connections are refused from outside and inside, so the dev "
            "server is not running (it stopped, crashed or was never started).",
            fix="Start it with the devserver step, and read its log (runserver.log in the site directory) "
            "if it will not stay up.",
            evidence=(*probes, *evidence(failure)[1:]),
        )
    return None


@rule
def no_python_venv_module(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    if not re.search(r"ensurepip is not\s+available|No module named venv", text):
        return None
    return Diagnosis(
        step=step,
        code="D10",
        cause="The server's Python cannot create a virtualenv: Debian and Ubuntu ship venv as a separate package.",
        fix="sudo apt install python3-venv (the provision step), then retry.",
        evidence=evidence(failure, r"ensurepip|venv|not found"),
    )


@rule
def django_too_old_for_python(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # Django 1.11 (and older) on Python 3.10+, at the first manage.py command:
    # "ImportError: cannot import name 'Iterator' from 'collections' (/usr/lib/python3.11/collections/__init__.py)"
    found = re.search(r"cannot import name '(\w+)' from 'collections'", text)
    if not found:
        return None
    return Diagnosis(
        step=step,
        code="P3",
        cause=f"The Django your requirements pin is older than the server's Python: it imports {found[1]} from "
        "collections, which Python 3.10 moved to collections.abc. Django 1.11 supports Python up to 3.7.",
        fix="Pin a Django that supports the server's Python (Django 4.2 LTS or 5.2 LTS, following the release "
        "notes in between), or deploy to a server with the Python your Django supports; the preflight step "
        "(Your project) checks this before anything is installed.",
        evidence=evidence(failure, r"collections|ImportError"),
    )
