"""The deploy console in a browser: textual-serve's server, with the doors a deploy console needs.

Every tab runs the walkthrough in its own process (textual-serve's model). What is
added here is who may open one: on loopback, only pages of this very origin (a
websocket is not bound by the same-origin policy, so any site open in the browser
could otherwise drive a deploy, and a rebound DNS name could pose as localhost);
on any other address, or when asked, only a browser that brought the token shown
once in the terminal. A refusal is one line. The page loads nothing from outside:
fonts and scripts come from the served package.

A closed tab or a dropped websocket makes textual-serve ask the app to quit; the
app cancels its run like the c key does (the remote commands' process groups
stopped, the step and the run recorded as cancelled, the deploy lock released),
and only then does its process end.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import textual_serve
from aiohttp import web
from textual_serve.server import Server

TEMPLATES = Path(__file__).parent / "templates"
STATICS = Path(textual_serve.__file__).parent / "static"
COOKIE = "deploy_tui_token"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebConsole(Server):
    """textual-serve's Server with an origin check, an optional token, and a page of our own."""

    def __init__(
        self,
        command: str,
        *,
        host: str,
        port: int,
        token: str | None,
        title: str,
        announce: Callable[[], None],
    ) -> None:
        super().__init__(command, host=host, port=port, title=title, templates_path=TEMPLATES, statics_path=STATICS)
        self.token = token
        self._announce = announce
        # With no token, only the names this server is reached by on loopback: a rebound name is refused.
        self._hosts = {f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"}

    def initialize_logging(self) -> None:
        """textual-serve logs through rich to the terminal; the console says its own one line instead."""

    async def on_startup(self, app: web.Application) -> None:
        self._announce()

    def refusal(self, request: web.Request) -> str | None:
        """Why this request may not open the console, or None when it may."""
        if self.token is None and request.host not in self._hosts:
            return f"this deploy console answers only to http://{self.host}:{self.port}/"
        if self.token is not None:
            offered = request.query.get("token") or request.cookies.get(COOKIE, "")
            if not hmac.compare_digest(offered.encode(), self.token.encode()):
                return "this deploy console needs its token: open the address deploy-tui web printed"
        return None

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        refused = self.refusal(request)
        if refused:
            return web.Response(status=403, text=refused + "\n")
        if "token" in request.query:
            # Kept in a cookie this origin alone sends, and gone from the address bar and the history.
            response = web.HTTPSeeOther("/")
            response.set_cookie(COOKIE, request.query["token"], httponly=True, samesite="Strict", path="/")
            return response
        base = f"http://{request.host}"
        context: dict[str, Any] = {
            "title": self.title,
            "static_url": f"{base}/static/",
            "websocket_url": f"ws://{request.host}/ws",
            "font_size": _font_size(request.query.get("fontsize", "")),
            "start_url": "/",
        }
        return aiohttp_jinja2.render_template("index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        refused = self.refusal(request)
        origin = request.headers.get("Origin")
        if (
            refused is None
            and origin is not None
            and origin not in (f"http://{request.host}", f"https://{request.host}")
        ):
            refused = f"websocket from another origin ({origin[:80]}) refused"
        if refused:
            raise web.HTTPForbidden(text=refused + "\n")
        return await super().handle_websocket(request)


def _font_size(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and 8 <= int(text) <= 40 else 16
