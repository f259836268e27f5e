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
from deploy_tui.steps.gunicorn import SOCKET, as_root, resolve

_STATIC_ROOT = "shell -c 'from django.conf import settings; print(settings.STATIC_ROOT or \"\")'"
ERROR_LOG = "/var/log/nginx/error.log"  # Debian's; root's and the adm group's to read (0640)


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
        "before nginx reloads, so a typo never takes the running server down. `nginx -t` checks every site "
        "nginx has, so another site's broken file stops yours too; a long domain (about 47 characters and "
        "more) needs server_names_hash_bucket_size raised in /etc/nginx/nginx.conf. A 502 Bad Gateway means "
        "nginx could not reach gunicorn (not running, or the socket not reachable by nginx's user, www-data); "
        "a 404 on /static/ means collectstatic did not run or the alias points elsewhere. nginx says which in "
        f"{ERROR_LOG} (sudo tail it)."
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
        where, _ = await resolve(ctx, self)
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


async def error_lines(ctx: Context, step: Step, limit: int = 20) -> tuple[tuple[str, ...], str]:
    """The domain's last lines of nginx's error log (it is shared by every site), or why it was not read."""
    mark = shlex.quote(f"server: {ctx.site.domain},")
    command = StepCommand(Shell(f"grep -F -- {mark} {ERROR_LOG} | tail -n {limit}"), sudo=True)
    found, unread = await as_root(ctx, step, command)
    return (tuple(found.captured.splitlines()) if found is not None else ()), unread


async def static_paths(ctx: Context, step: Step, url_path: str) -> tuple[str, str, str, bool | None]:
    """STATIC_ROOT as Django computes it, the server block's alias for /static/, where url_path's file
    would be under STATIC_ROOT, and whether it is there (None when STATIC_ROOT is unknown)."""
    ask = in_site(ctx.site, Shell(manage(ctx, _STATIC_ROOT)))
    answer = await run(ctx, step, ask, capture=True)
    lines = [line.strip() for line in answer.captured.splitlines() if line.strip()] if answer.ok else []
    root = lines[-1].rstrip("/") if lines else ""
    block = await run(
        ctx, step, StepCommand(Shell(f"sed -n 's/^ *alias *\\(.*\\);$/\\1/p' {available(ctx)}")), capture=True
    )
    alias = (block.captured.split() or [""])[0].rstrip("/")
    if not root:
        return root, alias, "", None
    file = f"{root}/{url_path.removeprefix('/static/')}"
    there = await run(ctx, step, StepCommand(Shell(f"test -f {shlex.quote(file)}")))
    return root, alias, file, there.ok
