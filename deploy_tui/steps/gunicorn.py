"""Production, step 1: the site under gunicorn, started on boot and kept running by systemd.

The next chapter's setup: gunicorn from the site's venv, bound to a unix socket in the
site directory, run by a systemd unit as the deploying user, with the site's environment
(DEBUG off, the SECRET_KEY) in a 0600 file systemd reads. The unit is rewritten only when
its text changes, and gunicorn restarted only when what it runs from changed (the code, the
requirements, the environment, the unit), so a redeploy that changed nothing keeps the same
process. The chapter 9 dev server, if it still runs, is stopped first.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from math import ceil

from deploy_tui.core.commands import CommandResult, Shell, StepCommand, stop_group_script
from deploy_tui.core.failure import Backstage, Facts
from deploy_tui.core.session import SessionError
from deploy_tui.steps.base import Context, Step, StepFailed, env_digest, filled, in_site, keep_secret_key, must, run
from deploy_tui.steps.devserver import PID as DEVSERVER_PID

ENV_FILE = ".deploy-tui.env"  # the site's environment for systemd: 0600, in the site directory, untracked
SOCKET = "gunicorn.sock"
STAMP = ".deploy-tui-gunicorn.stamp"
JOURNAL_LINES = 100  # a worker's traceback at boot is about 70 lines
# systemd's journalctl starts each line with "Nov 26 15:40:00 host gunicorn[1234]: "; the replacement's has none.
_JOURNAL_PREFIX = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [^\s:\[]+(?:\[\d+\])?: ")


def unit_name(ctx: Context) -> str:
    return f"gunicorn-{ctx.site.domain}"


def unit_path(ctx: Context) -> str:
    return f"/etc/systemd/system/{unit_name(ctx)}.service"


def app_dir(ctx: Context) -> str:
    """Where manage.py is, relative to the repository: gunicorn's working directory."""
    return posixpath.dirname(ctx.layout.manage_py)


def unit_text(ctx: Context, where: str, user: str) -> str:
    """The systemd unit, for the site directory's absolute path on the server and the user it runs as."""
    work = posixpath.join(where, app_dir(ctx)) if app_dir(ctx) else where
    wsgi = ctx.layout.wsgi or "wsgi:application"
    return (
        "[Unit]\n"
        f"Description=Gunicorn for {ctx.site.domain} (written by deploy-tui)\n"
        "After=network.target\n"
        "\n"
        "[Service]\n"
        f"User={user}\n"
        f"WorkingDirectory={work}\n"
        f"EnvironmentFile={where}/{ENV_FILE}\n"
        f"ExecStart={where}/.venv/bin/gunicorn --bind unix:{where}/{SOCKET} --access-logfile - "
        f"--error-logfile - --capture-output {wsgi}\n"
        "Restart=on-failure\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def env_file_script(ctx: Context) -> str:
    """Writes the site's environment as NAME=value lines, placeholders filled on the server, mode 0600.

    The SECRET_KEY is read from its file by the server's shell: its value is never in a command line.
    """
    lines = [f"printf '%s=%s\\n' {shlex.quote(name)} {filled(value, ctx)}" for name, value in ctx.layout.env]
    body = "; ".join(lines) or "true"
    return f"umask 077 && {{ {body}; }} > {ENV_FILE}.new && mv -f {ENV_FILE}.new {ENV_FILE}"


def _stamp(ctx: Context, unit: str) -> str:
    """What gunicorn runs from: the commit, the requirements, the environment as written, the unit."""
    requirements = shlex.quote(ctx.layout.requirements)
    env = env_digest(ctx)
    import hashlib  # here: the plan is imported at every start, and a staging site never stamps a unit

    text = hashlib.sha256(unit.encode()).hexdigest()[:16]
    return (
        f'printf \'%s %s %s %s\\n\' "$(git rev-parse HEAD)" "$(sha256sum < {requirements} | cut -c1-16)" {env} {text}'
    )


def _reachable_script() -> str:
    """o+x on the directories from the site up to the home: nginx's own user must reach the socket."""
    return (
        '{ d=$(pwd -P); top=$(dirname "$HOME"); while [ "${d#/}" != "$d" ] && [ "$d" != / ] && [ "$d" != "$top" ]; do '
        'chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done; }'
    )


async def resolve(ctx: Context, step: Step) -> tuple[str, str]:
    """The site directory's absolute path on the server and the user, asked as part of `step` (its output is its)."""
    (ask, *_) = GunicornStep().commands(ctx)
    found = await must(ctx, step, ask, capture=True)
    where, user, *_ = [*found.captured.split("\n"), "", ""]
    return where.strip(), user.strip()


class GunicornStep(Step):
    id = "gunicorn"
    title = "Gunicorn under systemd"
    sudo = True
    guide = (
        "Django's dev server is for development; in production a real WSGI server runs the site. "
        "gunicorn, from the site's venv (add it to requirements.txt), listens on a unix socket in the site "
        "directory that only nginx talks to, and systemd starts it on boot, restarts it if it dies, and "
        "gives it the site's environment from a 0600 file: DEBUG off, the SECRET_KEY. The unit lives in "
        "/etc/systemd/system/gunicorn-<domain>.service and runs as you, not root. If it will not start, "
        "sudo journalctl -u gunicorn-<domain> says why: an ExecStart that is not an absolute path (systemd "
        "runs no shell and searches no venv), an EnvironmentFile that is not there, or a variable the settings "
        "need that the environment file lacks (a KeyError in the log: add it to deploy.toml's env). Its "
        "socket must be reachable by nginx's user, www-data: every directory above it needs o+x, and a "
        "home made 0700 or 0750 (Debian 12, Ubuntu 21.04 and later) gives nginx a 502. With DEBUG off, Django "
        "answers only 'Bad Request (400)' or 'Server Error (500)', and unless the settings' LOGGING sends its "
        "errors to the console, the journal has nothing but the request: when production answers wrong, the "
        "smoke test reads (with sudo) whether the unit runs, its journal and nginx's error log."
    )

    def _where(self, ctx: Context) -> str:
        return f"{ctx.site.directory} (absolute on the server)"

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        return self._commands(ctx, self._where(ctx), ctx.site.user or "<user>")

    def _commands(self, ctx: Context, where: str, user: str) -> tuple[StepCommand, ...]:
        site, unit, name = ctx.site, unit_text(ctx, where, user), unit_name(ctx)
        stop_dev = stop_group_script('"$pid"', 5.0)
        write_unit = (
            f"printf '%s' {shlex.quote(unit)} | cmp -s - {unit_path(ctx)} || "
            f"{{ printf '%s' {shlex.quote(unit)} > {unit_path(ctx)} && systemctl daemon-reload; }}"
        )
        return (
            in_site(site, Shell(f"pwd -P && id -un && {_reachable_script()}"), "where the site is, for the unit"),
            in_site(
                site,
                Shell(
                    f'if test -s {DEVSERVER_PID} && pid=$(cat {DEVSERVER_PID}) && kill -0 "$pid" 2>/dev/null; '
                    f"then {stop_dev}; fi; rm -f {DEVSERVER_PID}; true"
                ),
                "stop chapter 9's dev server",
            ),
            in_site(site, Shell(env_file_script(ctx)), f"the environment file {ENV_FILE} (0600)"),
            StepCommand(Shell(write_unit), f"the unit {unit_path(ctx)}", sudo=True),
            StepCommand(
                Shell(f"systemctl enable {name} && systemctl restart {name}"), f"systemctl restart {name}", sudo=True
            ),
            in_site(site, Shell(f"{_stamp(ctx, unit)} > {STAMP}"), "remember what it runs from"),
            in_site(
                site,
                Shell(
                    f"end=$(($(date +%s) + {ceil(ctx.options.start_timeout)})); "
                    f'while [ "$(date +%s)" -lt "$end" ]; do '
                    f"test -S {SOCKET} && curl -s -o /dev/null -m 2 --unix-socket {SOCKET} "
                    f"-H {shlex.quote('Host: ' + site.domain)} http://localhost/ && exit 0; "
                    "sleep 0.05; done; exit 4"
                ),
                "wait until it answers on its socket",
            ),
        )

    async def _resolve(self, ctx: Context) -> tuple[str, str]:
        return await resolve(ctx, self)

    async def check(self, ctx: Context) -> bool:
        await keep_secret_key(ctx, self, create=False)
        where, user = await self._resolve(ctx)
        if not where:
            return False
        unit, name = unit_text(ctx, where, user), unit_name(ctx)
        current = in_site(ctx.site, Shell(f"test -S {SOCKET} && {_stamp(ctx, unit)} | cmp -s - {STAMP}"))
        if not (await run(ctx, self, current)).ok:
            return False
        active = StepCommand(Shell(f"systemctl is-active --quiet {name}"), sudo=True)
        return (await run(ctx, self, active)).ok

    async def apply(self, ctx: Context) -> str:
        await keep_secret_key(ctx, self, create=True)
        where, user = await self._resolve(ctx)
        _, stop_dev, env, write_unit, restart, stamp, wait = self._commands(ctx, where, user)
        await run(ctx, self, stop_dev)
        await must(ctx, self, env)
        await must(ctx, self, write_unit)
        restarted = await run(ctx, self, restart)
        if not restarted.ok:
            # systemd (or the replacement) says why on stderr; the journal says what the unit did.
            said = tuple(line for line in restarted.stderr_tail if line.strip())[-12:]
            await self._failed(ctx, f"systemctl restart {unit_name(ctx)}: exit status {restarted.exit_status}", said)
        ready = await run(ctx, self, wait)
        if not ready.ok:
            await self._failed(ctx, f"gunicorn did not answer on {ctx.site.directory}/{SOCKET} ({unit_name(ctx)})")
        await must(ctx, self, stamp)
        pid = await run(
            ctx,
            self,
            StepCommand(Shell(f"systemctl show --property=MainPID {unit_name(ctx)}"), sudo=True),
            capture=True,
        )
        main = pid.captured.strip().rpartition("=")[2]  # "MainPID=1234"
        return f"{unit_name(ctx)} running on {SOCKET}" + (f" (pid {main})" if main and main != "0" else "")

    async def _failed(self, ctx: Context, message: str, said: tuple[str, ...] = ()) -> None:
        backstage = await read_backstage(ctx, self)
        raise StepFailed(
            message,
            (*said, *backstage.journal),
            Facts(
                domain=ctx.site.domain,
                user=ctx.site.user or "",
                site_dir=ctx.site.directory,
                env=ctx.layout.env,
                backstage=backstage,
            ),
        )


async def as_root(ctx: Context, step: Step, command: StepCommand) -> tuple[CommandResult | None, str]:
    """A command that reads what only root may (logs): its result, or why it could not run.

    A run of smoke alone (--only smoke) has no sudo password: the logs are then unread, not a failure.
    """
    try:
        return await run(ctx, step, command, capture=True), ""
    except SessionError as error:
        return None, str(error)


def journal_lines(text: str) -> tuple[str, ...]:
    """journalctl's lines of gunicorn's last start, as gunicorn wrote them (without systemd's date, host and
    process prefix): an older run's traceback must not be read as today's."""
    lines = [_JOURNAL_PREFIX.sub("", line) for line in text.splitlines() if not line.startswith("-- ")]
    starts = [i for i, line in enumerate(lines) if "[INFO] Starting gunicorn " in line]
    return tuple(lines[starts[-1] if starts else 0 :])


async def read_backstage(ctx: Context, step: Step) -> Backstage:
    """What the server says of the site's gunicorn: whether it runs, its journal's tail, and the unit's
    ExecStart and EnvironmentFile (whether that file is there): what a diagnosis of a dead unit reads."""
    name, unit = unit_name(ctx), unit_path(ctx)
    active, unread = await as_root(ctx, step, StepCommand(Shell(f"systemctl is-active {name}"), sudo=True))
    journal: tuple[str, ...] = ()
    if active is not None:
        log, unread = await as_root(
            ctx, step, StepCommand(Shell(f"journalctl -u {name} -n {JOURNAL_LINES} --no-pager"), sudo=True)
        )
        journal = journal_lines(log.captured) if log is not None else ()
    state = (active.captured.split() or [""])[-1] if active is not None else ""
    found = await run(ctx, step, StepCommand(Shell(f"grep -E '^(ExecStart|EnvironmentFile)=' {unit}")), capture=True)
    lines = dict(line.partition("=")[::2] for line in found.captured.splitlines())
    exec_start, environment_file = lines.get("ExecStart", "").strip(), lines.get("EnvironmentFile", "").strip()
    missing = False
    if environment_file and not environment_file.startswith("-"):  # "-": optional, systemd goes on without it
        there = await run(ctx, step, StepCommand(Shell(f"test -e {shlex.quote(environment_file)}")))
        missing = not there.ok
    return Backstage(
        unit=name,
        state=state,
        journal=journal,
        exec_start=exec_start,
        environment_file=environment_file,
        environment_file_missing=missing,
        unread=unread,
    )
