"""Running in production, setting it up (R5-R8): `nginx -t` refusing the configuration (R5, R6), the unit
that will not start (R7), a variable the settings need that the environment file lacks (R8).

Read from what the gunicorn and nginx steps gathered on the server when they failed (`Facts.backstage`).
"""

from __future__ import annotations

import re

from deploy_tui.core.diagnoses.base import Rule, evidence
from deploy_tui.core.diagnoses.production import unit_state, unread_note
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import StepFailed

RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


# nginx -t: '2026/11/26 15:15:17 [emerg] 16119#16119: unknown directive "servr_name" in /etc/nginx/sites-enabled/x:3'
# (or 'nginx: [emerg] ...' before the error log is open).
_EMERG = re.compile(r"\[emerg\] (?:\d+#\d+: )?(?P<what>.+?)(?: in (?P<file>/\S+?):(?P<line>\d+))?$")
_HASH = re.compile(r"could not build (?P<hash>\w+), you should increase (?P<setting>\w+): (?P<size>\d+)")
# What systemd says of a relative ExecStart= (252: "Neither a valid executable name nor an absolute path: ...",
# before 239: "Executable path is not absolute"), and the sandbox's docker-systemctl-replacement 1.7 on
# restart: "Exec is not an absolute path:  ExecStart=..." and "Service Executable path is not absolute."
_RELATIVE = re.compile(
    r"Executable path is not absolute|Exec is not an absolute path|Neither a valid executable name nor an absolute path"
)


# systemd: "Failed to load environment files: No such file or directory" (then "Failed with result 'resources'");
# the replacement, on start: "ERROR:systemctl: gunicorn-x.service: Failed to load environment files: /home/...env".
_NO_ENV_FILE = re.compile(r"Failed to load environment files")
# systemd: "Failed to locate executable ...", "status=203/EXEC"; the replacement: "Exec command does not exist".
_NO_EXECUTABLE = re.compile(r"Failed to locate executable|status=203/EXEC|Exec command does not exist")
# gunicorn's worker, importing the settings: "KeyError: 'DJANGO_SECRET_KEY'", or the settings' own refusal,
# e.g. "django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is empty: set it ...".
_BIND = re.compile(r"--bind[= ]unix:(/\S+)/[^/\s]+\.sock\b")  # the site directory, where the socket is
_KEY_ERROR = re.compile(r"^KeyError: '(?P<name>[A-Z][A-Z0-9_]*)'$")
_IMPROPERLY = re.compile(r"^(?:[\w.]+\.)?ImproperlyConfigured: (?P<message>.*)$")
_VARIABLE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


# -- nginx -t ---------------------------------------------------------------------------------------


@rule
def server_names_hash(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # nginx 1.22 with the book's "listen 80; server_name <domain>;" beside another server on port 80, for a
    # domain of 48 characters and more: "[emerg] ... could not build server_names_hash, you should increase
    # server_names_hash_bucket_size: 64". The bucket is the CPU's cache line (64 bytes here).
    found = _HASH.search(text)
    if step != "nginx" or found is None:
        return None
    domain = failure.facts.domain
    size = int(found["size"])
    longer = f" {domain} has {len(domain)} characters, and" if domain else ""
    return Diagnosis(
        step=step,
        code="R5",
        cause=f"nginx -t refuses the configuration: it could not build its {found['hash']}.{longer} nginx's "
        f"default bucket of {size} bytes (the CPU's cache line) holds only names of up to about {size - 17} "
        "characters. The previous configuration is back and nginx was not reloaded.",
        fix=f"In /etc/nginx/nginx.conf, in the http {{ }} block, set {found['setting']} {size * 2}; (Debian ships "
        f"it commented out: # {found['setting']} 64;), check with sudo nginx -t, then deploy again.",
        evidence=evidence(failure, r"emerg|test failed"),
    )


@rule
def nginx_config_broken(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # nginx 1.22, as captured: 'unknown directive "servr_name" in /etc/nginx/sites-enabled/broken.test:3',
    # 'directive "server_name" is not terminated by ";" in ...:4', 'unexpected end of file, expecting "}" in
    # ...:5', 'invalid number of arguments in "alias" directive in ...:5' (a path with a space), 'too long path
    # in the unix domain socket in upstream "unix:/home/...sock" in ...:5' (over 107 bytes).
    if step != "nginx":
        return None
    found = next((m for line in failure.evidence if (m := _EMERG.search(line))), None)
    if found is None:
        return None
    domain = failure.facts.domain or "the domain"
    where = f"{found['file']}, line {found['line']}" if found["file"] else "the configuration"
    ours = bool(found["file"]) and found["file"].rsplit("/", 1)[-1] == failure.facts.domain
    if found["file"] and not ours:
        cause = (
            f"nginx -t refuses the configuration because of another file than this site's: {where}: "
            f"{found['what']}. nginx -t checks every site nginx has, so one broken file stops every reload, "
            f"{domain}'s too. The previous configuration is back and nginx was not reloaded."
        )
        fix = (
            f"Fix {found['file']} (sudo nano {found['file']}), or disable that site by removing its link in "
            "/etc/nginx/sites-enabled/; check with sudo nginx -t, then deploy again."
        )
    else:
        cause = (
            f"nginx -t refuses the server block deploy-tui wrote for {domain}: {where}: {found['what']}. The "
            "previous configuration is back and nginx was not reloaded."
        )
        fix = (
            "The block is made of the domain, the site directory and STATIC_ROOT: a space or a semicolon in a "
            "path breaks it, and a socket path over 107 bytes is too long for a unix socket. Choose a plainer, "
            "shorter site_dir or STATIC_ROOT, check with sudo nginx -t, and deploy again."
        )
    return Diagnosis(step=step, code="R6", cause=cause, fix=fix, evidence=evidence(failure, r"emerg|test failed"))


# -- the unit ---------------------------------------------------------------------------------------


def _executable(exec_start: str) -> str:
    """ExecStart='s program, without systemd's prefixes (-, @, :, +, !)."""
    words = exec_start.split()
    return words[0].lstrip("-@:+!") if words else ""


@rule
def unit_will_not_start(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    backstage = failure.facts.backstage
    if backstage is None:
        return None
    unit = backstage.unit
    program = _executable(backstage.exec_start)
    relative = bool(program) and not program.startswith("/")
    stopped = backstage.state != "active"  # a unit edited since it started runs on, until its next start
    if stopped and (relative or _RELATIVE.search(text)):
        cause = (
            f"systemd will not start {unit}: its ExecStart= is not an absolute path "
            f"({program or 'the command'}). systemd runs no shell and has no venv on its PATH: it needs the "
            "program's full path."
        )
        bound = _BIND.search(backstage.exec_start)
        full = (
            f"{bound[1]}/.venv/bin/{program.rsplit('/', 1)[-1]}" if bound else "/the/site/directory/.venv/bin/gunicorn"
        )
        fix = (
            f"Write the full path in /etc/systemd/system/{unit}.service, ExecStart={full} ... (or deploy again: "
            "deploy-tui rewrites the unit it wrote, `--force gunicorn` if it says already done), then sudo "
            f"systemctl daemon-reload && sudo systemctl restart {unit}."
        )
    elif backstage.environment_file_missing or _NO_ENV_FILE.search(text):
        file = backstage.environment_file or "its EnvironmentFile"
        # systemd refuses to start the unit; the sandbox's replacement starts it without the environment.
        runs = " (this server's systemctl started it anyway, without the site's environment)" if not stopped else ""
        cause = (
            f"systemd will not start {unit}: its EnvironmentFile {file} is not there, and systemd refuses to "
            f"start a unit whose environment file is missing (unless the path starts with -){runs}."
        )
        fix = (
            "Deploy again: the gunicorn step writes the file (0600) from deploy.toml's env and restarts gunicorn; "
            f"or put the file back by hand and sudo systemctl restart {unit}."
        )
    elif stopped and _NO_EXECUTABLE.search(text):
        cause = (
            f"systemd cannot start {unit}: the program its ExecStart= names ({program or 'gunicorn'}) does not "
            "exist on the server: gunicorn is not installed in the site's virtualenv."
        )
        fix = (
            "Add gunicorn to requirements.txt (pip freeze | grep gunicorn), commit, push and deploy again: "
            "the venv step installs it."
        )
    else:
        return None
    lines = (
        *((f"ExecStart={backstage.exec_start}",) if backstage.exec_start else ()),
        *((f"EnvironmentFile={backstage.environment_file} (missing)",) if backstage.environment_file_missing else ()),
        *((unit_state(backstage),) if backstage.state else ()),
    )
    return Diagnosis(
        step=step,
        code="R7",
        cause=cause + unread_note(backstage),
        fix=fix,
        evidence=(
            str(failure),
            *lines,
            *[line for line in failure.evidence if re.search(r"ERROR|absolute|Failed|environment", line)][-6:],
        ),
    )


def _missing_variable(lines: tuple[str, ...]) -> tuple[str, str] | None:
    """(variable, the exception line) of the settings' last refusal to load for want of a variable."""
    for line in reversed(lines):
        if found := _KEY_ERROR.match(line):
            return found["name"], line
        if (found := _IMPROPERLY.match(line)) and (name := _VARIABLE.search(found["message"])):
            return name[0], line
    return None


@rule
def variable_not_in_environment(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # gunicorn 27 (Django 5.2), in the unit's journal: the worker's traceback ending in the book's settings'
    # "KeyError: 'DJANGO_SECRET_KEY'" (SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]), or in superlists'
    # "django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is empty: ...", then
    # "[ERROR] Worker (pid:21403) exited with code 3.", "[ERROR] Reason: Worker failed to boot."
    backstage = failure.facts.backstage
    if backstage is None or step not in ("gunicorn", "smoke"):
        return None
    missing = _missing_variable(backstage.journal)
    if missing is None:
        return None
    name, line = missing
    facts = failure.facts
    written = any(key == name for key, _ in facts.env)
    if written:
        cause = (
            f"gunicorn's workers cannot load your settings: they read the environment variable {name}, and the "
            f"environment file systemd gives {backstage.unit} lacks it, though deploy-tui writes it there (from "
            "deploy.toml's env, or the one proposed from your settings): the file was edited by hand, or left by "
            "an older deploy."
        )
        fix = "Deploy again: the gunicorn step rewrites the environment file from deploy.toml and restarts gunicorn."
    else:
        value = "{secret_key}" if "SECRET_KEY" in name else "..."
        cause = (
            f"gunicorn's workers cannot load your settings: they read the environment variable {name}, and the "
            f"site's environment does not set it, so {backstage.unit} never starts a worker (Worker failed to boot)."
        )
        fix = (
            f'Add it to deploy.toml, [sites.NAME.env] {name} = "{value}"'
            + (" (made once on the server, never shown)" if value == "{secret_key}" else "")
            + ", and deploy again: the gunicorn step writes it into the environment file and restarts gunicorn."
        )
    return Diagnosis(
        step=step,
        code="R8",
        cause=cause,
        fix=fix,
        evidence=(str(failure), *_around(backstage.journal, name, line)),
    )


def _around(journal: tuple[str, ...], name: str, exception: str) -> tuple[str, ...]:
    """The journal's lines that name the variable (the settings' line and its frame), the exception, and
    gunicorn's last words ("Reason: Worker failed to boot.")."""
    picked: list[str] = []
    for i, line in enumerate(journal):
        if name in line and i and journal[i - 1].lstrip().startswith("File ") and journal[i - 1] not in picked:
            picked.append(journal[i - 1])
        if (name in line or line == exception or "Reason:" in line) and line not in picked:
            picked.append(line)
    return tuple(picked[-8:])
