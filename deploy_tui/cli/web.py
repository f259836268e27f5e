"""`deploy-tui web`: the walkthrough, a replay or the setup screen, served to a browser.

What the browser runs is checked here first, with the same parser as the command
line, so a mistake is one line in this terminal rather than a dead tab.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import shlex
import socket
import sys
from typing import Any

from deploy_tui.cli.common import WEB_ENV, UsageError, port_number
from deploy_tui.core.shown import shown

DEFAULT_PORT = 8022  # not textual-serve's 8000: that is where a reader's own runserver listens
SERVED = ("run", "demo", "replay")
NOT_IN_A_BROWSER = ("--headless", "--dry-run", "--export")


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(text, 60)}: give an IP address, like 127.0.0.1") from None


def _web_parser(sub: Any) -> None:
    web = sub.add_parser(
        "web",
        help="the walkthrough in a browser, one app per tab (a closed tab cancels its run)",
        description="Serve the walkthrough to a browser. COMMAND is run, demo or replay with their usual "
        "options; without one, the setup screen on ./deploy.toml.",
    )
    web.add_argument("--host", type=_address, default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    web.add_argument(
        "--token",
        action="store_true",
        help="require a token even on loopback (other users of this machine can reach loopback); "
        "off loopback a token is always required",
    )
    web.add_argument("app", nargs=argparse.REMAINDER, metavar="COMMAND ...", help="run, demo or replay, and options")
    web.set_defaults(func=_web)


def _checked(app: list[str]) -> list[str]:
    """The command each tab runs, refused here in one line when it could not show in a browser."""
    if not app:
        return []
    if app[0] not in SERVED:
        raise UsageError(f"deploy-tui web serves run, demo or replay, not {shown(app[0], 40)}")
    for flag in NOT_IN_A_BROWSER:
        if flag in app:
            raise UsageError(f"{flag} prints plain lines: run deploy-tui {app[0]} {flag} in a terminal instead")
    from deploy_tui.cli.main import build_parser

    inner = build_parser().parse_args(app)  # a bad option exits here with the command line's own one line
    if app[0] == "run":
        from deploy_tui.core.config import ConfigError, load

        try:
            load(inner.config, {}, inner.site).site(inner.site)
        except ConfigError as error:
            raise UsageError(str(error)) from None
    return app


def _port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            why = error.strerror or "in use"
            raise UsageError(f"--port {port}: cannot listen on {host}:{port} ({why}); choose another") from None


def _web(args: argparse.Namespace) -> int:
    from screens.web.console import WebConsole, is_loopback  # the App's delivery to a browser: started lazily

    app = _checked(list(args.app))
    _port_free(args.host, args.port)
    loopback = is_loopback(args.host)
    token = secrets.token_urlsafe(24) if args.token or not loopback else None
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown_host}:{args.port}/"
    what = " ".join(["deploy-tui", *app]) if app else "the setup screen"

    def announce() -> None:
        # The token is shown this once, here, to the operator who started the console.
        print(f"deploy-tui web: {what} at {url}{f'?token={token}' if token else ''}", flush=True)
        if not loopback:
            print(
                "  not loopback: the connection is not encrypted, and the sudo password typed in the page "
                f"crosses the network in clear; prefer ssh -L {args.port}:127.0.0.1:{args.port} to this machine",
                flush=True,
            )
        print("  each tab runs its own app; closing a tab cancels its run. Ctrl-C stops the console.", flush=True)

    os.environ[WEB_ENV] = "1"  # for the app processes the console starts
    command = shlex.join([sys.executable, "-m", "deploy_tui", *app])
    WebConsole(command, host=args.host, port=args.port, token=token, title="deploy-tui", announce=announce).serve()
    return 0
