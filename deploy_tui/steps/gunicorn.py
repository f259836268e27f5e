"""Production, step 1: the site under gunicorn, started on boot and kept running by systemd.

The next chapter's setup: gunicorn from the site's venv, bound to a unix socket in the
site directory, run by a systemd unit as the deploying user, with the site's environment
(DEBUG off, the SECRET_KEY) in a 0600 file systemd reads. The unit is rewritten only when
its text changes, and gunicorn restarted only when what it runs from changed (the code, the
requirements, the environment, the unit), so a redeploy that changed nothing keeps the same
process. The chapter 9 dev server, if it still runs, is stopped first.
"""

from __future__ import annotations

import hashlib
import posixpath
import shlex

from deploy_tui.core.commands import Shell, StepCommand, stop_group_script
from deploy_tui.core.failure import Facts
from deploy_tui.steps.base import Context, Step, StepFailed, env_digest, filled, in_site, keep_secret_key, must, run
from deploy_tui.steps.devserver import PID as DEVSERVER_PID

ENV_FILE = ".deploy-tui.env"  # the site's environment for systemd: 0600, in the site directory, untracked
SOCKET = "gunicorn.sock"
STAMP = ".deploy-tui-gunicorn.stamp"


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
        "journalctl -u gunicorn-<domain> says why: often a path that is not absolute, or a variable the "
        "settings need that the environment file lacks."
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
                    f"i=0; while [ $i -lt {int(ctx.options.start_timeout * 5)} ]; do "
                    f"test -S {SOCKET} && curl -s -o /dev/null -m 2 --unix-socket {SOCKET} "
                    f"-H {shlex.quote('Host: ' + site.domain)} http://localhost/ && exit 0; "
                    "sleep 0.2; i=$((i+1)); done; exit 4"
                ),
                "wait until it answers on its socket",
            ),
        )

    async def _resolve(self, ctx: Context) -> tuple[str, str]:
        (resolve, *_) = self.commands(ctx)
        found = await must(ctx, self, resolve, capture=True)
        where, user, *_ = [*found.captured.split("\n"), "", ""]
        return where.strip(), user.strip()

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
        await must(ctx, self, restart, facts=Facts(domain=ctx.site.domain))
        ready = await run(ctx, self, wait)
        if not ready.ok:
            name = unit_name(ctx)
            status = StepCommand(
                Shell(f"systemctl status {name} 2>&1 | tail -n 20; journalctl -u {name} -n 30 2>/dev/null || true"),
                sudo=True,
            )
            said = await run(ctx, self, status, capture=True)
            raise StepFailed(
                f"gunicorn did not answer on {ctx.site.directory}/{SOCKET} ({name})",
                tuple(said.captured.splitlines()[-30:]),
                Facts(domain=ctx.site.domain),
            )
        await must(ctx, self, stamp)
        pid = await run(
            ctx,
            self,
            StepCommand(Shell(f"systemctl show --property=MainPID {unit_name(ctx)}"), sudo=True),
            capture=True,
        )
        main = pid.captured.strip().rpartition("=")[2]  # "MainPID=1234"
        return f"{unit_name(ctx)} running on {SOCKET}" + (f" (pid {main})" if main and main != "0" else "")
