"""Field diagnoses, installing the requirements: a pin that does not exist, a build without its compiler or
headers, pip killed for memory, pip outside the venv (F10-F13).

The texts in the comments are pip 23.0 (Debian 12's ensurepip), setuptools and gcc 12 as they print them.
"""

from __future__ import annotations

import re
import shlex

from deploy_tui.core.diagnoses.base import Rule, evidence
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import StepFailed

RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


# dash: "Killed"; bash: "bash: line 1:  7209 Killed   .venv/bin/pip install -r requirements.txt".
_KILLED = re.compile(r"^\s*Killed\s*$|^\S+: (?:line \d+: )?\s*\d+ Killed\s")
# The lines these rules read. A build's log and pip's closing notes can push them out of the few last
# lines a failure keeps, so the venv step keeps every line that matches, wherever it came.
_TELLING = re.compile(
    r"externally[- ]managed"
    r"|^ERROR: (?:Could not find a version|No matching distribution|Ignored the following versions)"
    r"|fatal error: |error: command '|No such file or directory: '|unable to execute '"
    r"|\b(?:gcc|cc|g\+\+|pkg-config|mysql_config|pg_config)(?:-\d+)?: not found"
    r"|pg_config executable not found|MYSQLCLIENT_CFLAGS"
)


def telling(line: str) -> bool:
    """Whether a line of pip's output is one these rules read (the venv step keeps those for the diagnosis)."""
    return bool(_TELLING.search(line.strip()) or _KILLED.search(line))


def _requirements(failure: StepFailed) -> str:
    """The requirements file the step installed, as its message names it ("pip install -r FILE: ...")."""
    named = re.search(r"pip install -r (\S+?):? ", str(failure))
    return named[1] if named else "requirements.txt"


@rule
def externally_managed(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # PEP 668, pip 23 on Debian 12's own Python:
    # "error: externally-managed-environment", then "This environment is externally managed" (after a cross) and
    # "╰─> To install Python packages system-wide, try apt install python3-xyz, ..."
    if not re.search(r"externally-managed-environment|environment is externally managed", text):
        return None
    return Diagnosis(
        step=step,
        code="F13",
        cause="pip ran with the server's own Python, not the virtualenv's: Debian 12 and Ubuntu 23.04 and later "
        "mark the system Python as managed by apt (PEP 668), and pip refuses to install into it.",
        fix="Install into the site's virtualenv: .venv/bin/pip install -r requirements.txt (or .venv/bin/python "
        "-m pip), from the site directory, after python3 -m venv .venv (the venv step does both). Never "
        "--break-system-packages: it mixes your packages into the ones apt manages.",
        evidence=evidence(failure, r"externally|managed|venv"),
    )


@rule
def pip_killed(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # The kernel's OOM killer ends pip with SIGKILL and pip prints nothing more; sh says "Killed" and
    # exits 137 (a process that is itself the command reports -9). dmesg: "Out of memory: Killed process
    # 7209 (pip)" or, in a memory cgroup, "Memory cgroup out of memory: Killed process ...".
    if step != "venv" and "pip" not in str(failure):
        return None
    killed = any(_KILLED.search(line) for line in failure.evidence)
    if not killed and not re.search(r"exit status (?:137|-9)\b", str(failure)):
        return None
    return Diagnosis(
        step=step,
        code="F12",
        cause="pip was killed by the kernel: the server ran out of memory while installing the requirements "
        "(a small server with no swap; sudo dmesg | grep -i 'killed process' shows it).",
        fix="Give the server swap, then retry: sudo fallocate -l 1G /swapfile && sudo chmod 600 /swapfile && "
        "sudo mkswap /swapfile && sudo swapon /swapfile (and add '/swapfile none swap sw 0 0' to /etc/fstab "
        "to keep it); or install with less memory: .venv/bin/pip install --no-cache-dir -r "
        f"{_requirements(failure)}; or a server with more memory.",
        evidence=evidence(failure, r"Killed|pip|exit status"),
    )


def _shortened(line: str, keep: int = 240) -> str:
    """A line of pip's cut to its start and end: Django's list of versions alone is 4,000 characters."""
    return line if len(line) <= keep else f"{line[: keep // 2]} ... {line[-keep // 2 :]}"


def _newest(versions: list[str], shown: int = 4) -> str:
    """The last few of pip's list (oldest first), for a cause that must stay one readable sentence."""
    newest = ", ".join(versions[-shown:])
    return f"..., {newest}" if len(versions) > shown else newest


@rule
def pin_not_found(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # ERROR: Ignored the following versions that require a different python version: 6.0 Requires-Python >=3.12; ...
    # ERROR: Could not find a version that satisfies the requirement django==9.9.9 (from versions: 1.1.3, ..., 5.2.19)
    # ERROR: No matching distribution found for django==9.9.9
    # A name the index does not know at all: "(from versions: none)".
    found = re.search(r"satisfies the requirement (\S+) \(from versions: ([^)]*)\)", text)
    if not found:
        found = re.search(r"No matching distribution found for (\S+)()", text)
    if not found:
        return None
    requirement, listed = found[1], found[2].strip()
    name = re.split(r"[\s<>=!~;\[(@]", requirement, maxsplit=1)[0]
    pinned = re.search(r"===?\s*([\w.+!*-]+)", requirement)
    versions = [v.strip() for v in listed.split(",") if v.strip() and v.strip() != "none"]
    finals = [v for v in versions if re.fullmatch(r"\d+(?:\.\d+)*", v)]
    # Versions that exist, but not for the server's Python: the pin may be one of them.
    ignored = dict(re.findall(r"([\w.+!-]+) Requires-Python ([^;\n]+)", text))
    requirements = _requirements(failure)
    lookup = f"pip index versions {shlex.quote(name)}"
    if pinned and pinned[1] in ignored:
        needs = ignored[pinned[1]].strip()
        newest = f" (the newest for it: {finals[-1]})" if finals else ""
        cause = (
            f"{name} {pinned[1]} exists, but it needs Python {needs} and the server's Python is older, so pip "
            f"found no {requirement} it could install."
        )
        fix = (
            f"Pin a version of {name} that supports the server's Python in {requirements}{newest}; "
            f"{lookup} on the server lists them. Or deploy to a server with Python {needs}."
        )
    elif listed == "none":
        cause = (
            f"pip found no package {name} at all on the index (from versions: none), so {requirement} cannot "
            "be installed: the name is misspelt, or it is a private package this server cannot see."
        )
        fix = (
            f"Check the spelling of {name} in {requirements} against pypi.org (pip freeze on your own machine "
            "shows the names that work); then commit, push and retry."
        )
    else:
        listing = f" (its newest: {_newest(versions)})" if versions else ""
        newest = f", like {name}=={finals[-1]}" if finals else ""
        cause = f"No release of {name} matches {requirement}{listing}: the pin names a version that does not exist."
        fix = (
            f"Pin a version that exists in {requirements}{newest} ({lookup} lists them), and check the "
            f"spelling of the name and the version; then commit, push and retry."
        )
    return Diagnosis(
        step=step,
        code="F10",
        cause=cause,
        fix=fix,
        evidence=tuple(
            _shortened(line)
            for line in evidence(failure, r"Could not find a version|No matching distribution|Requires-Python")
        ),
    )


# What a build from source could not find, and the Debian/Ubuntu package that provides it (dpkg -S).
HEADERS: dict[str, tuple[str, ...]] = {
    "Python.h": ("python3-dev",),
    "mysql.h": ("default-libmysqlclient-dev", "pkg-config"),  # mysqlclient finds it through pkg-config
    "libpq-fe.h": ("libpq-dev",),
    "pg_config.h": ("libpq-dev",),
    "ffi.h": ("libffi-dev",),
    "openssl/ssl.h": ("libssl-dev",),
    "openssl/opensslv.h": ("libssl-dev",),
    "zlib.h": ("zlib1g-dev",),
    "jpeglib.h": ("libjpeg-dev",),
    "libxml/xmlversion.h": ("libxml2-dev",),
    "libxslt/xsltconfig.h": ("libxslt1-dev",),
    "sqlite3.h": ("libsqlite3-dev",),
    "yaml.h": ("libyaml-dev",),
    "lber.h": ("libldap-dev",),
    "ldap.h": ("libldap-dev",),
    "sasl/sasl.h": ("libsasl2-dev",),
}
# Programs a build runs, found missing: (what the output says, its packages, what to say of it).
_TOOLS = (
    # setuptools: "error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory"; newer ones:
    # "error: [Errno 2] No such file or directory: 'x86_64-linux-gnu-gcc'"; older: "unable to execute 'gcc'";
    # a shell: "gcc: not found".
    (
        r"error: command '[^']*\b(?:gcc|cc|g\+\+|c\+\+)(?:-\d+)?' failed: No such file or directory"
        r"|No such file or directory: '[^']*\b(?:gcc|cc|g\+\+|c\+\+)(?:-\d+)?'"
        r"|unable to execute '[^']*\b(?:gcc|cc|g\+\+)(?:-\d+)?'"
        r"|\b(?:gcc|cc|g\+\+)(?:-\d+)?: not found",
        ("build-essential",),
        "a C compiler (gcc)",
    ),
    # psycopg2 from source: "Error: pg_config executable not found."
    (r"pg_config executable not found|pg_config: not found", ("libpq-dev",), "PostgreSQL's client library (pg_config)"),
    # mysqlclient 2.2: "Exception: Can not find valid pkg-config name. / Specify MYSQLCLIENT_CFLAGS and
    # MYSQLCLIENT_LDFLAGS env vars manually"; older ones: "OSError: mysql_config not found".
    (
        r"MYSQLCLIENT_CFLAGS|mysql_config:? not found",
        ("default-libmysqlclient-dev", "pkg-config"),
        "MySQL's client library",
    ),
    (r"\bpkg-config: not found", ("pkg-config",), "pkg-config"),
)
# Packages that also come as a prebuilt wheel under another name: no compiler needed on the server.
_BINARY = {"psycopg2": "psycopg2-binary", "psycopg": "psycopg[binary]"}


@rule
def build_needs_system_packages(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # gcc, building a C extension: "needs_mysql.c:2:10: fatal error: mysql.h: No such file or directory",
    # then "error: command '/usr/bin/x86_64-linux-gnu-gcc' failed with exit code 1" and pip's
    # "ERROR: Failed building wheel for needs-mysql" / "Failed to build needs-mysql".
    missing: list[str] = []  # what the build lacked, as the cause names it
    packages: list[str] = []
    unknown: list[str] = []  # headers of no package we know
    for pattern, provide, what in _TOOLS:
        if re.search(pattern, text):
            missing.append(what)
            packages.extend(provide)
    for header in dict.fromkeys(re.findall(r"fatal error: ([\w./+-]+\.h): No such file or directory", text)):
        known = HEADERS.get(header) or HEADERS.get(header.rsplit("/", 1)[-1])
        missing.append(f"the header {header}" + (f" ({known[0]})" if known else ""))
        if known:
            packages.extend(known)
        else:
            unknown.append(header)
    if not missing:
        return None
    built = re.search(
        r"Failed (?:building wheel for|to build) ([\w.-]+)|Running setup\.py install for ([\w.-]+)"
        r"|Building wheel for ([\w.-]+)",
        text,
    )
    # A build that fails at its metadata (psycopg2, mysqlclient) is named only by what pip was collecting.
    collected = re.findall(r"^Collecting ([\w.-]+)", text, re.MULTILINE)
    project = next((name for name in built.groups() if name), "") if built else (collected or [""])[-1]
    subject = f"The requirement {project}" if project else "A requirement"
    steps = [f"sudo apt install {' '.join(dict.fromkeys(packages))}"] if packages else []
    steps += [f"apt-file search {shlex.quote(header)} names the -dev package that has {header}" for header in unknown]
    binary = _BINARY.get(project.lower())
    instead = (
        f"; or require {binary} instead, which comes prebuilt"
        if binary
        else "; or pin a version that has a wheel for the server's Python and machine (no build needed)"
    )
    return Diagnosis(
        step=step,
        code="F11",
        cause=f"{subject} is built from source on the server, and the build needs {', '.join(missing)}, "
        "which the server does not have. deploy-tui's provision step installs only python3, python3-venv, git "
        "and curl.",
        fix=f"On the server: {'; '.join(steps)}{'; install it' if unknown else ''}, then retry the venv step{instead}.",
        evidence=evidence(failure, r"fatal error|error: command|No such file|not found|MYSQLCLIENT|Failed"),
    )
