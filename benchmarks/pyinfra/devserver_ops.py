"""The dev server as pyinfra operations: what it runs from, and (re)starting it when that changed.

pyinfra has no operation for "a background process with a pid file", so these are written
the pyinfra way: an operation is a generator that reads facts and yields only the commands
that are needed, so a run that finds nothing to do yields none and reports no change.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from io import StringIO

from pyinfra import host
from pyinfra.api import FactBase, StringCommand, operation
from pyinfra.facts.files import Sha256File
from pyinfra.facts.git import GitLocalCommit
from pyinfra.operations import files

PID, LOG, STAMP = "runserver.pid", "runserver.log", "runserver.stamp"
# Exit 0 when the pid file names a live runserver (the playbook's "Is the dev server running").
ALIVE = (
    f'test -s {PID} && pid=$(cat {PID}) && kill -0 "$pid" 2>/dev/null && grep -q runserver /proc/"$pid"/cmdline'
    " 2>/dev/null"
)


class DevServerRunning(FactBase[bool]):
    """Whether the pid file in site_dir names a live runserver."""

    def command(self, site_dir: str) -> str:  # type: ignore[override]
        return f"cd {shlex.quote(site_dir)} 2>/dev/null && if {ALIVE}; then echo yes; else echo no; fi"

    def process(self, output: list[str]) -> bool:  # type: ignore[override]
        return bool(output) and output[0].strip() == "yes"


@operation()
def runs_from(site_dir: str, allowed_hosts: str, app_port: int) -> Iterator[StringCommand]:
    """The stamp of what the server runs from (commit, requirements, allowed hosts, port), written when it differs."""
    commit = host.get_fact(GitLocalCommit, repo=site_dir)
    requirements = host.get_fact(Sha256File, path=f"{site_dir}/requirements.txt")
    content = f"{commit} {requirements} {allowed_hosts} {app_port}\n"
    yield from files.put._inner(src=StringIO(content), dest=f"{site_dir}/{STAMP}", mode="644")


@operation()
def dev_server(
    site_dir: str, allowed_hosts: str, app_port: int, restart: Callable[[], bool]
) -> Iterator[StringCommand]:
    """Django's dev server on 0.0.0.0 in a session of its own, its pid in runserver.pid.

    Started when none runs; stopped and started again when restart() says what it runs from changed.
    """
    if host.get_fact(DevServerRunning, site_dir=site_dir) and not restart():
        host.noop("the dev server runs, from what is deployed")
        return
    yield StringCommand(
        f"cd {shlex.quote(site_dir)} &&"
        f" if {ALIVE}; then"
        '   kill -s TERM -- -"$pid" 2>/dev/null || kill "$pid";'
        '   i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done;'
        '   kill -s KILL "$pid" 2>/dev/null;'
        " fi;"
        f" rm -f {PID};"
        f" DJANGO_ALLOWED_HOSTS={shlex.quote(allowed_hosts)} setsid .venv/bin/python manage.py runserver"
        f" --noreload 0.0.0.0:{int(app_port)} > {LOG} 2>&1 < /dev/null &"
        f" echo $! > {PID}"
    )
