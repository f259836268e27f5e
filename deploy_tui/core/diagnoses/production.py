"""Running in production, the site's answers (R1-R4, R9): nginx in front of gunicorn under systemd, DEBUG off.

The site is up, but nginx answers 502 because gunicorn is down or its socket out of reach (R1, R2),
the stylesheet 404s (R3), Django answers only "Bad Request (400)" (R4), or a "Server Error (500)"
leaves nothing in any log (R9). Setting it up (`nginx -t`, the unit, its environment: R5-R8) is in
`production_setup`, which uses the readers of the gathered evidence here. What the rules
read is what the steps gathered on the server when they failed (`Facts.backstage`): whether the
unit runs, its journal, nginx's error log for the domain, the socket's path, the static paths.
"""

from __future__ import annotations

import re

from deploy_tui.core.diagnoses.base import Rule
from deploy_tui.core.diagnoses.site import malformed_hosts
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import Backstage, StepFailed
from deploy_tui.core.hosts import env_hosts, host_allows

RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


# nginx 1.22, error.log: '... [crit] 9#9: *1 connect() to unix:/home/u/sites/d/gunicorn.sock failed
# (13: Permission denied) while connecting to upstream, client: ..., server: d, request: "GET / HTTP/1.1", ...'
# ([crit] for 2 and 13, [error] for 111: Connection refused).
_CONNECT = re.compile(r"connect\(\) to unix:(?P<socket>[^ ]+) failed \((?P<errno>\d+): (?P<why>[^)]*)\)")
# gunicorn's access line: ' - - [26/Nov/2026:15:17:20 +0000] "GET / HTTP/1.0" 500 145 "-" "curl/7.88.1"'
_ACCESS = re.compile(r'"[A-Z]+ \S+ HTTP/[\d.]+" (?P<status>\d{3}) ')
_TRACEBACK = re.compile(r"^Traceback \(most recent call last\)|^Internal Server Error: ")
_LOGGING = (
    "LOGGING = {",
    '    "version": 1,',
    '    "disable_existing_loggers": False,',
    '    "handlers": {"console": {"class": "logging.StreamHandler"}},',
    '    "loggers": {"django": {"handlers": ["console"], "level": "INFO"}},',
    "}",
)


def _status(failure: StepFailed) -> int | None:
    """The home page's answer from outside (through nginx, on port 80)."""
    outside = failure.facts.outside
    return outside.status if outside is not None else None


def _connect(backstage: Backstage) -> re.Match[str] | None:
    """nginx's last failed connect() to gunicorn's socket: the one smoke's own request caused."""
    return next((found for line in reversed(backstage.nginx_errors) if (found := _CONNECT.search(line))), None)


def unit_state(backstage: Backstage) -> str:
    return f"systemctl is-active {backstage.unit}: {backstage.state}" if backstage.state else ""


def journal_tail(backstage: Backstage, pattern: str = "", limit: int = 8) -> tuple[str, ...]:
    lines = backstage.journal
    matching = tuple(line for line in lines if re.search(pattern, line)) if pattern else ()
    return (matching or lines)[-limit:]


def unread_note(backstage: Backstage) -> str:
    return f" (the logs were not read: {backstage.unread})" if backstage.unread else ""


# -- 502 Bad Gateway ----------------------------------------------------------------------------------


def _closed(namei: tuple[str, ...]) -> tuple[str, str] | None:
    """("directory", path) of the first directory nginx's user cannot pass, or ("socket", path) of a socket it
    cannot write, from `namei -l`: 'f: /home/u/sites/d/gunicorn.sock', then 'drwx------ u u u' per component."""
    path = ""
    for line in namei:
        parts = line.split()
        if len(parts) < 4 or len(parts[0]) != 10:
            continue
        mode, name = parts[0], " ".join(parts[3:])
        path = "/" if name == "/" else f"{path.rstrip('/')}/{name}"
        if mode[0] == "d" and mode[9] not in "xt":
            return "directory", path
        if mode[0] == "s" and mode[8] != "w":
            return "socket", path
    return None


@rule
def socket_not_reachable(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # nginx 1.22: "connect() to unix:/.../gunicorn.sock failed (13: Permission denied) while connecting to
    # upstream": www-data cannot pass a directory above the socket (a home made 0700 or 0750), or the socket
    # is not writable by others (gunicorn makes it 0777 unless told otherwise).
    backstage = failure.facts.backstage
    connect = _connect(backstage) if backstage is not None else None
    if backstage is None or connect is None or connect["errno"] != "13" or _status(failure) != 502:
        return None
    socket = connect["socket"]
    closed = _closed(backstage.socket_path)
    if closed is not None and closed[0] == "directory":
        cause = (
            f"nginx answers 502 Bad Gateway: its user (www-data) may not reach gunicorn's socket {socket}, because "
            f"it cannot pass through {closed[1]} (no x for others). A home made 0700 or 0750 (Debian 12's and "
            "Ubuntu's default now) does this."
        )
        fix = (
            f"Let others pass through it, without reading it: chmod o+x {closed[1]} (deploy-tui's gunicorn step "
            "does this for the site's directories when it runs: deploy-tui run --force gunicorn)."
        )
    elif closed is not None:
        cause = (
            f"nginx answers 502 Bad Gateway: its user (www-data) may not connect to gunicorn's socket {socket}: "
            "the socket is not writable by others (connecting to a unix socket needs write permission)."
        )
        fix = (
            f"Restart gunicorn, which makes its socket anew (sudo systemctl restart {backstage.unit}); if it comes "
            "back closed, a --umask in the unit or a chmod after it is to blame."
        )
    else:
        cause = (
            f"nginx answers 502 Bad Gateway: its user (www-data) may not reach gunicorn's socket {socket} "
            "(Permission denied): a directory above it without x for others, or the socket not writable."
        )
        fix = f"Look at each directory's mode with namei -l {socket}; chmod o+x the one that lacks it."
    return Diagnosis(
        step=step,
        code="R2",
        cause=cause,
        fix=fix,
        evidence=(str(failure), connect[0], *backstage.socket_path),
    )


@rule
def gunicorn_not_answering(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # nginx 1.22: "connect() to unix:... failed (2: No such file or directory)" (no socket: gunicorn stopped, or
    # never started), "(111: Connection refused)" (the socket file left behind by a gunicorn killed with -9).
    backstage = failure.facts.backstage
    if backstage is None or not (_status(failure) in (502, 504) or step == "gunicorn"):
        return None
    unit, state = backstage.unit, backstage.state or "unknown (not read)"
    connect = _connect(backstage)
    errno = connect["errno"] if connect else ""
    restart = f"sudo systemctl restart {unit}"
    journal = f"sudo journalctl -u {unit} -n 40"
    if step == "gunicorn":
        cause = (
            f"gunicorn ({unit}) did not answer on its socket: systemctl says {state}. Its journal's last lines "
            "(below) say what it did."
        )
    elif errno == "111":
        cause = (
            f"nginx answers 502 Bad Gateway: gunicorn's socket {connect['socket'] if connect else ''} is there, but "
            f"nothing listens on it (Connection refused): gunicorn died without removing it (killed with -9, or by "
            f"the kernel for memory), and systemd did not start it again ({unit}: {state})."
        )
    elif errno == "2" and backstage.state == "active":
        cause = (
            f"nginx answers 502 Bad Gateway: {unit} runs, but not on the socket nginx passes to "
            f"({connect['socket'] if connect else ''} does not exist): the unit's --bind and the server block's "
            "proxy_pass name different paths."
        )
    else:
        socket = f" there is no socket at {connect['socket']}:" if errno == "2" and connect else ""
        cause = f"nginx answers 502 Bad Gateway: it cannot reach gunicorn:{socket} {unit} is not running ({state})."
    fix = (
        f"Start it again: {restart} (deploying again does it too), and read why it stopped: {journal}. "
        "systemd's Restart=on-failure brings it back after a crash, but not after a systemctl stop."
    )
    if errno == "2" and backstage.state == "active":
        fix = "Deploy again: deploy-tui writes the unit and the server block with the same socket path."
    return Diagnosis(
        step=step,
        code="R1",
        cause=cause + unread_note(backstage),
        fix=fix,
        evidence=(
            str(failure),
            *((connect[0],) if connect else ()),
            *((unit_state(backstage),) if backstage.state else ()),
            *journal_tail(backstage, limit=6),
        ),
    )


# -- the site's answers ---------------------------------------------------------------------------------


@rule
def static_not_served(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # nginx 1.22, for a stylesheet not collected: 'open() "/home/u/sites/d/static/lists/base.css" failed
    # (2: No such file or directory), client: ..., server: d, request: "GET /static/lists/base.css HTTP/1.1"'.
    backstage = failure.facts.backstage
    if backstage is None or not backstage.static_file:
        return None
    root, alias, file = backstage.static_root, backstage.static_alias, backstage.static_file
    opened = [line for line in backstage.nginx_errors if 'open() "' in line][-1:]  # smoke's own request
    if root and alias and alias.rstrip("/") != root.rstrip("/"):
        cause = (
            f"nginx does not serve the static files from where collectstatic put them: the server block's "
            f"/static/ alias is {alias}, and Django's STATIC_ROOT is {root}."
        )
        fix = (
            f"Make the alias STATIC_ROOT (location /static/ {{ alias {root}/; }}, with the trailing slash) in "
            f"/etc/nginx/sites-available/{failure.facts.domain}: deploying again rewrites the block deploy-tui "
            "wrote; then sudo nginx -t && sudo systemctl reload nginx."
        )
    elif backstage.static_collected is False or not root:
        where = f" ({file} is not there)" if root else ""
        cause = (
            f"nginx serves /static/ from STATIC_ROOT, and the page's stylesheet is not in it{where}: "
            "collectstatic has not run since STATIC_ROOT was emptied or moved (or never ran)."
        )
        fix = (
            "Run .venv/bin/python manage.py collectstatic --noinput in the site directory, with the site's "
            "environment (the static step does: deploy-tui run --force static)."
        )
    elif any("(13: Permission denied)" in line for line in opened):
        cause = (
            f"nginx may not read the collected static files under {root}: its user (www-data) cannot pass a "
            "directory above them."
        )
        fix = f"chmod o+x each directory down to {root} (namei -l {file} shows which lacks it)."
    else:
        return None
    return Diagnosis(
        step=step,
        code="R3",
        cause=cause,
        fix=fix,
        evidence=(
            str(failure),
            *((f"STATIC_ROOT: {root}",) if root else ()),
            *((f"alias: {alias}",) if alias else ()),
            *opened,
        ),
    )


@rule
def bad_request_with_debug_off(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # Django 5.2, DEBUG off, behind nginx: the page is "<title>Bad Request (400)</title>" and nothing more, and
    # gunicorn's journal has only its access line '"GET / HTTP/1.0" 400 143' (Django's default logging prints
    # DisallowedHost only when DEBUG is on). With a console LOGGING it says "Invalid HTTP_HOST header: ...".
    facts = failure.facts
    backstage = facts.backstage
    if backstage is None or _status(failure) != 400:
        return None
    domain = facts.domain or "the domain"
    said = any("Invalid HTTP_HOST" in line for line in backstage.journal)
    silent = "" if said else " With DEBUG off, Django says no more than 'Bad Request (400)', and logs nothing of it."
    malformed = malformed_hosts(facts)
    given = env_hosts(facts.env, facts.domain, facts.allowed_hosts)
    if malformed:
        where, problem = malformed[0]
        written = "deploy.toml's allowed_hosts" if where == "allowed_hosts" else f"the site's {where}"
        cause = (
            f"Django refuses {domain} (nginx passes the request's Host on): ALLOWED_HOSTS comes from {written}, "
            f"{problem.entry!r}, which {problem.why}, so it never matches.{silent}"
        )
        value = "{domain}" if problem.fixed == facts.domain else problem.fixed
        setting = f'[sites.NAME.env] {where} = "{value}"'
        if where == "allowed_hosts":
            setting = f'allowed_hosts = ["{problem.fixed}"]'
    elif given and not any(host_allows(entry, facts.domain) for _, entry in given):
        names = ", ".join(repr(entry) for _, entry in given)
        cause = f"Django refuses {domain}: ALLOWED_HOSTS holds {names} (from {given[0][0]}), not {domain}.{silent}"
        setting = f'[sites.NAME.env] {given[0][0]} = "{{domain}}"'
    else:
        cause = (
            f"Django refuses the requests nginx passes on for {domain}: with DEBUG off a 400 is almost always "
            f"ALLOWED_HOSTS not matching the Host header.{silent}"
        )
        setting = "the variable your settings read ALLOWED_HOSTS from, set to the bare domain"
    return Diagnosis(
        step=step,
        code="R4",
        cause=cause,
        fix=f"In deploy.toml, {setting} (bare host names: no port, no quotes), and deploy again: the gunicorn step "
        "rewrites the environment file and restarts gunicorn. To see Django's reasons in the journal, give your "
        "settings a console LOGGING (R9 shows it).",
        evidence=(
            str(failure),
            *(f"{name}: {p.entry!r} {p.why}" for name, p in malformed),
            *journal_tail(backstage, r"Invalid HTTP_HOST| 400 ", limit=4),
        ),
    )


@rule
def server_error_with_no_log(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # Django 5.2, DEBUG off, a view raising: "<title>Server Error (500)</title>", and in gunicorn's journal
    # only '"GET / HTTP/1.0" 500 145 "-" ...': no traceback, because Django's default logging sends errors to
    # the console only when DEBUG is on (and by email to ADMINS when it is off). With the LOGGING below, the
    # journal shows "Internal Server Error: /" and the traceback: then F17 reads it.
    backstage = failure.facts.backstage
    if backstage is None or _status(failure) != 500 or backstage.unread:
        return None
    if any(_TRACEBACK.search(line) for line in backstage.journal):
        return None  # the traceback is there: the reader's code (F17) names its line
    served = [line for line in backstage.journal if (found := _ACCESS.search(line)) and found["status"] == "500"]
    return Diagnosis(
        step=step,
        code="R9",
        cause="The site answers Server Error (500), and nothing says why: with DEBUG off Django shows no "
        "traceback, and your settings have no LOGGING that sends its errors to the console, so gunicorn's "
        f"journal ({backstage.unit}) holds only the request"
        + ("" if served else " (not even that)")
        + ". It is your code or settings failing.",
        fix="Add to settings.py, commit, push and deploy again; then the journal (sudo journalctl -u "
        f"{backstage.unit} -n 40) has the traceback:\n" + "\n".join(f"        {line}" for line in _LOGGING),
        evidence=(str(failure), *(served[-3:] or journal_tail(backstage, limit=4))),
    )
