"""Step 6: Django's dev server on 0.0.0.0, as a managed background process on the server.

It runs in its own session (so one signal stops it and anything it started), with
its pid, log and a stamp of what it was started from in the site directory. A
redeploy that changed the code, the requirements or the settings restarts it.
"""

from __future__ import annotations

import shlex
from math import ceil

from deploy_tui.core.commands import Shell, StepCommand, stop_group_script
from deploy_tui.core.failure import Facts
from deploy_tui.steps.base import Context, Step, StepFailed, env_digest, in_site, keep_secret_key, must, run, site_env

PID, LOG, STAMP = "runserver.pid", "runserver.log", "runserver.stamp"


def _stamp_script(ctx: Context) -> str:
    """Prints what the server would be started from now: commit, requirements, environment, port."""
    requirements = shlex.quote(ctx.layout.requirements)
    # The environment as written (placeholders unfilled, the key never), plus what the placeholders stand for.
    env = env_digest(ctx)
    return (
        f'printf \'%s %s %s %s\\n\' "$(git rev-parse HEAD)" "$(sha256sum < {requirements} | cut -c1-16)" '
        f"{env} {ctx.site.app_port}"
    )


def _alive_script() -> str:
    """Exit 0 when the pid file names a live runserver."""
    return (
        f'test -s {PID} && pid=$(cat {PID}) && kill -0 "$pid" 2>/dev/null && '
        'grep -q runserver /proc/"$pid"/cmdline 2>/dev/null'
    )


def _ours_on_port(port: int) -> str:
    """Exit 0 with $pid set when the listener on the port is this site's runserver (its pid file lost or stale).

    Found by the port and checked by its directory and command line together, so a server whose
    pid file went missing is never orphaned, and a listener that is not ours is left alone (D9).
    """
    return (
        f"pid=$(ss -Hltnp 'sport = :{port}' 2>/dev/null | sed -n 's/.*pid=\\([0-9]*\\).*/\\1/p' | head -n 1) && "
        '[ -n "$pid" ] && [ "$(readlink /proc/"$pid"/cwd)" = "$(pwd -P)" ] && '
        'grep -q runserver /proc/"$pid"/cmdline 2>/dev/null'
    )


class DevServerStep(Step):
    id = "devserver"
    title = "Dev server on 0.0.0.0"
    guide = (
        "For a first deployment the book uses Django's own dev server. It must listen on 0.0.0.0, "
        "every interface, not 127.0.0.1: a server bound to 127.0.0.1 answers the server itself and "
        "refuses everyone else. deploy-tui keeps it running in the background, with its pid and log "
        "in the site directory, and restarts it when the code changes. ALLOWED_HOSTS must name the "
        "domain, or Django answers 'DisallowedHost'. If it stops right after starting, the last lines of "
        "its log say why, and it is usually your code or settings: a syntax error, a variable your settings "
        "read that the environment does not set, or DEBUG off with ALLOWED_HOSTS empty. Fix it in your "
        "repository, commit, push and deploy again: the server only ever runs what is pushed."
    )

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        site, port = ctx.site, ctx.site.app_port
        bind = "import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        # setsid: a session of its own, so stopping it is one signal to its group.
        stop = stop_group_script('"$pid"', 5.0)
        env = site_env(ctx)
        runserver = f"{env + ' ' if env else ''}setsid .venv/bin/python {shlex.quote(ctx.layout.manage_py)} runserver"
        server = f"{runserver} --noreload 0.0.0.0:{port}"
        return (
            in_site(
                site,
                Shell(f"if {_alive_script()} || {_ours_on_port(port)}; then {stop}; fi; rm -f {PID}; true"),
                "stop the running server",
            ),
            StepCommand(
                Shell(shlex.join(["python3", "-c", bind + f"s.bind(('0.0.0.0', {port}))"])),
                f"port {port} is free",
            ),
            in_site(
                site,
                Shell(f"{_stamp_script(ctx)} > {STAMP} && ({server} > {LOG} 2>&1 < /dev/null & echo $! > {PID})"),
                "start runserver",
            ),
            in_site(
                site,
                Shell(
                    # Asked every 50 ms (runserver listens ~0.25 s after it starts), for start_timeout seconds,
                    # as the site (its Host): asked as 127.0.0.1, Django logs a DisallowedHost for that name on
                    # every start, a false lead in the log the smoke test and the diagnoses read.
                    f"end=$(($(date +%s) + {ceil(ctx.options.start_timeout)})); "
                    f'while [ "$(date +%s)" -lt "$end" ]; do '
                    f"curl -s -o /dev/null -m 1 -H {shlex.quote(f'Host: {site.domain}:{port}')} "
                    f"http://127.0.0.1:{port}/ && exit 0; "
                    f"{_alive_script()} || exit 3; sleep 0.05; done; exit 4"
                ),
                "wait until it answers",
            ),
        )

    async def check(self, ctx: Context) -> bool:
        await keep_secret_key(ctx, self, create=False)
        current = in_site(ctx.site, Shell(f"{_alive_script()} && {_stamp_script(ctx)} | cmp -s - {STAMP}"))
        return (await run(ctx, self, current)).ok

    async def apply(self, ctx: Context) -> str:
        site, port = ctx.site, ctx.site.app_port
        stop, port_free, start, wait = self.commands(ctx)
        await keep_secret_key(ctx, self, create=True)
        await run(ctx, self, stop)
        free = await run(ctx, self, port_free)
        if not free.ok:
            listeners = await run(ctx, self, Shell(f"ss -Hltnp 'sport = :{port}' 2>/dev/null || true"), capture=True)
            raise StepFailed(
                f"port {port} is already in use on the server",
                free.stderr_tail[-2:] + tuple(listeners.captured.splitlines()),
                Facts(port=port, port_in_use=True),
            )
        await must(ctx, self, start)
        ready = await run(ctx, self, wait)
        log = await run(ctx, self, in_site(site, Shell(f"tail -n 20 {LOG}")), capture=True)
        if not ready.ok:
            why = "exited" if ready.exit_status == 3 else "did not start listening"
            # The log's tail is what it died of (a traceback naming the reader's file and line); the
            # environment and the site directory let a diagnosis name the variable and the file.
            raise StepFailed(
                f"runserver {why} (its log is {site.directory}/{LOG})",
                tuple(log.captured.splitlines()),
                Facts(port=port, env=ctx.layout.env, user=site.user or "", site_dir=site.directory),
            )
        pid = await run(ctx, self, in_site(site, Shell(f"cat {PID}")), capture=True)
        return f"runserver listening on 0.0.0.0:{port} (pid {pid.captured.strip()}, log {LOG})"
