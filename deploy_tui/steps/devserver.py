"""Step 6: Django's dev server on 0.0.0.0, as a managed background process on the server.

It runs in its own session (so one signal stops it and anything it started), with
its pid, log and a stamp of what it was started from in the site directory. A
redeploy that changed the code, the requirements or the settings restarts it.
"""

from __future__ import annotations

import shlex

from deploy_tui.secret import Secret
from deploy_tui.shell import Shell
from deploy_tui.steps.base import Context, Step, StepFailed, in_site, must, run

PID, LOG, STAMP, KEY = "runserver.pid", "runserver.log", "runserver.stamp", ".secret_key"


def _env(ctx: Context) -> str:
    # The key is read from its 0600 file by the remote shell: its value is never in a command line.
    return f'DJANGO_ALLOWED_HOSTS={shlex.quote(",".join(ctx.site.hosts_allowed))} DJANGO_SECRET_KEY="$(cat {KEY})"'


def _stamp_script(ctx: Context) -> str:
    """Prints what the server would be started from now: commit, requirements, settings, port."""
    return (
        f'printf \'%s %s %s %s\\n\' "$(git rev-parse HEAD)" "$(sha256sum < requirements.txt | cut -c1-16)" '
        f"{shlex.quote(','.join(ctx.site.hosts_allowed))} {ctx.site.app_port}"
    )


def _alive_script() -> str:
    """Exit 0 when the pid file names a live runserver."""
    return (
        f'test -s {PID} && pid=$(cat {PID}) && kill -0 "$pid" 2>/dev/null && '
        'grep -q runserver /proc/"$pid"/cmdline 2>/dev/null'
    )


class DevServerStep(Step):
    id = "devserver"
    title = "Dev server on 0.0.0.0"

    def _command(self, ctx: Context) -> str:
        # setsid: a session of its own, so stopping it is one signal to its group.
        return f"{_env(ctx)} setsid .venv/bin/python manage.py runserver --noreload 0.0.0.0:{ctx.site.app_port}"

    def commands(self, ctx: Context) -> list[str]:
        return [f"{self._command(ctx)} > {LOG} 2>&1 &   (in its own session; pid in {PID})"]

    async def check(self, ctx: Context) -> bool:
        await self._secret_key(ctx, create=False)
        result = await run(
            ctx, self, in_site(ctx.site, (f"{_alive_script()} && {_stamp_script(ctx)} | cmp -s - {STAMP}"))
        )
        return result.ok

    async def _secret_key(self, ctx: Context, create: bool = True) -> None:
        """The site's SECRET_KEY: made once on the server, kept there (0600), masked in everything shown."""
        make = f"umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(50))' > {KEY}"
        script = f"(test -s {KEY} || ({make})) && cat {KEY}" if create else f"cat {KEY} 2>/dev/null || true"
        found = await run(ctx, self, in_site(ctx.site, script), secret_output=True)
        key = found.captured.strip()
        if key:
            ctx.redactor.add(Secret(key))
        elif create:
            raise StepFailed(f"could not make the site's secret key ({ctx.site.directory}/{KEY})", found.stderr_tail)

    async def apply(self, ctx: Context) -> str:
        site, port = ctx.site, ctx.site.app_port
        await self._secret_key(ctx)
        await self._stop(ctx)
        free = await run(
            ctx,
            self,
            Shell(
                shlex.join(
                    [
                        "python3",
                        "-c",
                        (
                            "import socket,sys\n"
                            "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                            f"s.bind(('0.0.0.0', {port}))"
                        ),
                    ]
                )
            ),
        )
        if not free.ok:
            listeners = await run(ctx, self, Shell(f"ss -Hltnp 'sport = :{port}' 2>/dev/null || true"), capture=True)
            raise StepFailed(
                f"port {port} is already in use on the server",
                free.stderr_tail[-2:] + tuple(listeners.captured.splitlines()),
                port=port,
                port_in_use=True,
            )
        await must(
            ctx,
            self,
            in_site(
                site,
                (
                    f"{_stamp_script(ctx)} > {STAMP} && "
                    f"({self._command(ctx)} > {LOG} 2>&1 < /dev/null & echo $! > {PID})"
                ),
            ),
            "start runserver",
        )
        ready = await run(
            ctx,
            self,
            in_site(
                site,
                (
                    f"i=0; while [ $i -lt {int(ctx.options.start_timeout * 5)} ]; do "
                    f"curl -s -o /dev/null -m 1 http://127.0.0.1:{port}/ && exit 0; "
                    f"{_alive_script()} || exit 3; sleep 0.2; i=$((i+1)); done; exit 4"
                ),
            ),
        )
        log = await run(ctx, self, in_site(site, f"tail -n 20 {LOG}"), capture=True)
        if not ready.ok:
            why = "exited" if ready.exit_status == 3 else "did not start listening"
            raise StepFailed(
                f"runserver {why} (its log is {site.directory}/{LOG})",
                tuple(log.captured.splitlines()),
                port=port,
            )
        pid = await run(ctx, self, in_site(site, f"cat {PID}"), capture=True)
        return f"runserver listening on 0.0.0.0:{port} (pid {pid.captured.strip()}, log {LOG})"

    async def _stop(self, ctx: Context) -> None:
        await run(
            ctx,
            self,
            in_site(
                ctx.site,
                (
                    f'if {_alive_script()}; then kill -s TERM -- -"$pid" 2>/dev/null || kill "$pid"; i=0; '
                    'while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; '
                    f'kill -s KILL "$pid" 2>/dev/null; fi; rm -f {PID}; true'
                ),
            ),
        )
