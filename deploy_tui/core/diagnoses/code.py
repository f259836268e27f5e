"""Field diagnoses, the reader's own code or settings stopping Django (F17), and no python3 on a minimal image (F18)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from deploy_tui.core.diagnoses.base import Rule, evidence
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import StepFailed
from deploy_tui.core.hosts import ALLOWED_HOSTS_VARIABLE

RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


@rule
def no_python3(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # What a shell says when there is no python3 at all, as seen here: dash "sh: 1: python3: not found",
    # bash (ssh's shell for a user) "bash: line 1: python3: command not found", and a script's
    # "#!/usr/bin/env python3": "/usr/bin/env: 'python3': No such file or directory" (curly quotes in a UTF-8 locale).
    if not re.search(r"python3(?:\.\d+)?: (?:command )?not found|env: .python3(?:\.\d+)?.: No such file", text):
        return None
    return Diagnosis(
        step=step,
        code="F18",
        cause="The server has no python3: a minimal image (a cloud provider's minimal or a Docker slim image) "
        "ships without Python, and every step after provisioning needs it.",
        fix="Run the provision step, which installs it (sudo apt-get install python3 python3-venv); then retry.",
        evidence=evidence(failure, r"python3"),
    )


# A traceback's frame line: '  File "/home/elspeth/sites/x/src/lists/views.py", line 6' (a SyntaxError's has
# no ", in <function>").
_FRAME = re.compile(r'^\s+File "(?P<path>[^"]+)", line (?P<line>\d+)')
# Frames that are not the reader's: the venv's packages, Python's own library, frozen importlib.
_NOT_THEIRS = re.compile(r"/\.venv/|/(?:site|dist)-packages/|/lib/python\d|^/usr/lib/|^<")
_NO_ALLOWED_HOSTS = "You must set settings.ALLOWED_HOSTS if DEBUG is False"
_SYNTAX = ("SyntaxError", "IndentationError", "TabError")


@dataclass(frozen=True)
class _Traceback:
    """The last traceback in some output: the reader's last frame (if any) and the exception line."""

    frame: tuple[str, ...]  # the reader's frame line, its source line and a caret line, as printed
    start: int  # where that frame is in the output
    path: str  # that frame's file, relative to the site directory when it is inside it
    line: int
    exception: str  # e.g. "SyntaxError: expected ':'"

    @property
    def kind(self) -> str:
        return self.exception.split(":")[0].rsplit(".", 1)[-1]

    @property
    def message(self) -> str:
        return self.exception.partition(":")[2].strip()


def _relative(path: str, site_dir: str) -> str:
    """The path inside the reader's repository: the site directory is where it was cloned."""
    inside = "/" + site_dir.removeprefix("~/").strip("/") + "/" if site_dir else ""
    return path.split(inside, 1)[1] if inside and inside in path else path


def _last_traceback(lines: tuple[str, ...], site_dir: str) -> _Traceback | None:
    frames = [(i, found) for i, line in enumerate(lines) if (found := _FRAME.match(line))]
    if not frames:
        return None
    # The exception line is the first after the last frame that is not indented (the frame's source and caret are).
    last = frames[-1][0]
    after = next((i for i in range(last + 1, len(lines)) if lines[i][:1] not in ("", " ", "\t")), None)
    if after is None:
        return None
    # The reader's last frame; manage.py's only when the error is in it (its other lines are boilerplate).
    theirs = [
        (i, found)
        for i, found in frames
        if not _NOT_THEIRS.search(found["path"]) and (i == last or not found["path"].endswith("manage.py"))
    ]
    if not theirs:
        return _Traceback((), len(lines), "", 0, lines[after])
    chosen, found = theirs[-1]
    end = next((i for i, _ in frames if i > chosen), after)
    return _Traceback(lines[chosen:end], chosen, _relative(found["path"], site_dir), int(found["line"]), lines[after])


def _cause_and_fix(tb: _Traceback) -> tuple[str, str]:
    """Why Django stopped, and what to change, by the kind of exception."""
    where = f"{tb.path}, line {tb.line}" if tb.frame else "while Django loaded your settings"
    in_repo = f"fix {tb.path}, line {tb.line}, in your repository" if tb.frame else "fix it in your repository"
    if tb.kind in _SYNTAX:
        return f"Python cannot read {where}: {tb.message} (the caret marks where it stopped)", in_repo
    if tb.kind == "KeyError" and re.fullmatch(r"'[A-Z][A-Z0-9_]*'", tb.message):
        name = tb.message.strip("'")
        return (
            f"your settings read the environment variable {name} ({where}), and the site's environment does not set it",
            f'Set it in deploy.toml ([sites.NAME.env] {name} = "..."), or {in_repo} to read it with '
            "os.environ.get and a default",
        )
    if tb.kind == "ModuleNotFoundError":
        module = tb.message.removeprefix("No module named ").strip("'")
        importer = f"{where} imports" if tb.frame else "Django imports, as your settings name it (INSTALLED_APPS?),"
        return (
            f"{importer} {module}, which is neither installed in the server's virtualenv nor a module of "
            "your repository",
            f"Add {module.split('.')[0]}'s package to requirements.txt (pip freeze shows its name and version), "
            "or commit the module if it is yours (git status shows it untracked)",
        )
    if tb.kind == "ImproperlyConfigured":
        return (
            f"your settings refuse to load ({where}): {tb.message}",
            f"Give the site's environment what it asks for (deploy.toml's [sites.NAME.env]), or {in_repo}",
        )
    return f"{where} raised {tb.exception}", in_repo


@rule
def reader_code_stops_django(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # Real texts (Django 5.2, Python 3.11) in tests/test_diagnoses_site.py: a SyntaxError in lists/views.py at
    # manage.py migrate, KeyError: 'DJANGO_SECRET_KEY' and ImproperlyConfigured from settings.py, a
    # ModuleNotFoundError for a package not in requirements.txt, and runserver's own refusal without a traceback:
    # "CommandError: You must set settings.ALLOWED_HOSTS if DEBUG is False."
    if step == "fts":
        return None  # the FTs' tracebacks are the tests' own failures, reported test by test
    facts, lines = failure.facts, failure.evidence
    if _NO_ALLOWED_HOSTS in text:
        empty = [name for name, value in facts.env if ALLOWED_HOSTS_VARIABLE.search(name) and not value.strip()]
        named = f" ({', '.join(empty)} is empty)" if empty else ""
        variable = empty[0] if empty else "the variable your settings read ALLOWED_HOSTS from"
        return Diagnosis(
            step=step,
            code="F17",
            cause=f"Django will not start with DEBUG off and ALLOWED_HOSTS empty{named}: runserver stops at once "
            "rather than refuse every request.",
            fix=f'Set {variable} in deploy.toml ([sites.NAME.env] {variable} = "{{domain}}"), or turn DEBUG on '
            "while you try things; then deploy again.",
            evidence=evidence(failure, r"ALLOWED_HOSTS|Error"),
        )
    tb = _last_traceback(lines, facts.site_dir)
    if tb is None or (not tb.frame and tb.kind not in ("ImproperlyConfigured", "ModuleNotFoundError", "KeyError")):
        return None  # a traceback all in Django's code with no settings error in it (D5's DisallowedHost) is not this
    cause, fix = _cause_and_fix(tb)
    return Diagnosis(
        step=step,
        code="F17",
        cause=f"Your code stops Django: {cause}.",
        fix=f"{fix[0].upper()}{fix[1:]}; commit, push, and deploy again (the server runs what is pushed).",
        evidence=(str(failure), *_last_lines(lines, tb)),
    )


def _last_lines(lines: tuple[str, ...], tb: _Traceback, least: int = 8, most: int = 16) -> tuple[str, ...]:
    """The output's last lines, reaching back to the reader's frame when it is near the end, else with it first."""
    if len(lines) - tb.start <= most:
        return lines[max(0, min(tb.start, len(lines) - least)) :]
    return (*tb.frame, *lines[-least:])
