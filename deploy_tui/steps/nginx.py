"""Production, step 2: nginx in front, passing requests to gunicorn's socket and serving /static/ itself.

One server block per site, in /etc/nginx/sites-available/<domain>, enabled by a link in
sites-enabled. A new text is checked with `nginx -t` before nginx is reloaded; when the
check fails, the previous file is put back (or the new one removed), so a mistake never
reaches the running nginx. The static directory is asked of Django itself, with the site's
environment: STATIC_ROOT as the settings compute it.
"""

from __future__ import annotations

import shlex

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.core.failure import Facts
from deploy_tui.steps.base import Context, Step, StepFailed, in_site, keep_secret_key, manage, must, run
from deploy_tui.steps.gunicorn import SOCKET, GunicornStep

_STATIC_ROOT = "shell -c 'from django.conf import settings; print(settings.STATIC_ROOT or \"\")'"


def available(ctx: Context) -> str:
    return f"/etc/nginx/sites-available/{ctx.site.domain}"


def enabled(ctx: Context) -> str:
    return f"/etc/nginx/sites-enabled/{ctx.site.domain}"


def site_text(ctx: Context, where: str, static_root: str) -> str:
    static = f"    location /static/ {{\n        alias {static_root.rstrip('/')}/;\n    }}\n\n" if static_root else ""
    return (
        "# written by deploy-tui: rewritten when the site's deployment changes\n"
        "server {\n"
        "    listen 80;\n"
        f"    server_name {ctx.site.domain};\n"
        "\n"
        f"{static}"
        "    location / {\n"
        f"        proxy_pass http://unix:{where}/{SOCKET};\n"
        "        proxy_set_header Host $host;\n"
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "        proxy_set_header X-Forwarded-Proto $scheme;\n"
        "    }\n"
        "}\n"
    )


def _unchanged(ctx: Context, text: str) -> str:
    return f"printf '%s' {shlex.quote(text)} | cmp -s - {available(ctx)} && test -L {enabled(ctx)}"


class NginxStep(Step):
    id = "nginx"
    title = "nginx in front"
    sudo = True
    guide = (
        "nginx answers on port 80: it serves the collected static files from STATIC_ROOT itself, fast, and "
        "passes every other request to gunicorn's socket. Its server block for the domain is in "
        "/etc/nginx/sites-available/<domain>, enabled by a link in sites-enabled, and `nginx -t` checks it "
        "before nginx reloads, so a typo never takes the running server down. A 502 Bad Gateway means nginx "
        "could not reach gunicorn (not running, or the socket not readable by nginx's user); a 404 on "
        "/static/ means collectstatic did not run or the alias points elsewhere."
    )

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        return self._commands(ctx, f"{ctx.site.directory} (absolute on the server)", "<STATIC_ROOT>")

    def _commands(self, ctx: Context, where: str, static_root: str) -> tuple[StepCommand, ...]:
        text = site_text(ctx, where, static_root)
        new, old = available(ctx), f"{available(ctx)}.deploy-tui-previous"
        write = (
            f"rm -f {old}; if test -e {new}; then cp -p {new} {old}; fi; "
            f"printf '%s' {shlex.quote(text)} > {new} && ln -sfn {new} {enabled(ctx)}"
        )
        # nginx -t: on failure, the previous text back (or none), and nginx never reloaded with the new one.
        test = (
            f"if nginx -t 2>&1; then rm -f {old}; else status=$?; "
            f"if test -e {old}; then mv -f {old} {new}; else rm -f {new} {enabled(ctx)}; fi; exit $status; fi"
        )
        return (
            in_site(ctx.site, Shell(manage(ctx, _STATIC_ROOT)), "ask Django for STATIC_ROOT"),
            StepCommand(Shell(write), f"the server block {new}", sudo=True),
            StepCommand(Shell(test), "nginx -t", sudo=True),
            StepCommand(
                Shell(
                    "if systemctl is-active --quiet nginx; then systemctl reload nginx; else systemctl start nginx; fi"
                ),
                "reload nginx",
                sudo=True,
            ),
        )

    async def _found(self, ctx: Context) -> tuple[str, str]:
        """The site directory's absolute path and STATIC_ROOT, as the server sees them."""
        where, _ = await GunicornStep()._resolve(ctx)
        ask, *_ = self.commands(ctx)
        static = await must(ctx, self, ask, capture=True)
        lines = [line.strip() for line in static.captured.splitlines() if line.strip()]
        return where, lines[-1] if lines else ""

    async def check(self, ctx: Context) -> bool:
        await keep_secret_key(ctx, self, create=False)
        where, static_root = await self._found(ctx)
        unchanged = StepCommand(Shell(_unchanged(ctx, site_text(ctx, where, static_root))))
        if not (await run(ctx, self, unchanged)).ok:
            return False
        return (await run(ctx, self, StepCommand(Shell("systemctl is-active --quiet nginx"), sudo=True))).ok

    async def apply(self, ctx: Context) -> str:
        await keep_secret_key(ctx, self, create=True)
        where, static_root = await self._found(ctx)
        _, write, test, reload = self._commands(ctx, where, static_root)
        await must(ctx, self, write)
        checked = await run(ctx, self, test, capture=True)
        if not checked.ok:
            raise StepFailed(
                "nginx -t refused the configuration: the previous one is back, and nginx was not reloaded",
                (*checked.stdout_tail[-12:], *checked.stderr_tail[-8:]),
                Facts(domain=ctx.site.domain),
            )
        await must(ctx, self, reload)
        served = f", /static/ from {static_root}" if static_root else ", no STATIC_ROOT: /static/ not served"
        return f"nginx serves {ctx.site.domain} on port 80{served}"
