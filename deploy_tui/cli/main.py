"""The `deploy-tui` command line.

Each subcommand is a small function; errors the operator can fix are printed as
one line naming the value and the fix, never as a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from deploy_tui import __version__
from deploy_tui.cli.common import CHECKOUT, Parser, UsageError, on_screen, port_number
from deploy_tui.cli.run import _run_parser, _tui_from_config
from deploy_tui.cli.tools import _dns_parser, _replay_parser, _sandbox_parser
from deploy_tui.cli.web import _web_parser
from deploy_tui.core.shown import shown


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port_text = value.rpartition(":")
    if not sep:
        host, port_text = value, "8000"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{shown(value, 60)}: the address must be an IP, like 127.0.0.1:8000"
        ) from None
    try:
        return host, port_number(port_text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{shown(value, 60)}: the port must be a number from 1 to 65535 in the digits 0-9"
        ) from None


def _serve(args: argparse.Namespace) -> int:
    """Migrate the local database and run the superlists dev server from this checkout."""
    manage = CHECKOUT / "manage.py"
    if not manage.is_file():
        raise UsageError(f"no manage.py at {manage}: run deploy-tui serve from a checkout of the deploy-tui repo")
    host, port = args.addr
    python = sys.executable
    os.chdir(CHECKOUT)
    import subprocess

    migrated = subprocess.run([python, str(manage), "migrate", "--noinput"], check=False)
    if migrated.returncode != 0:
        return migrated.returncode
    print(f"superlists is at http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    os.execv(python, [python, str(manage), "runserver", f"{host}:{port}"])


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="deploy-tui",
        description="Walk a Django site onto a real server for the first time, and know it works.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the superlists site from this checkout on this machine")
    serve.add_argument(
        "addr",
        nargs="?",
        default=("127.0.0.1", 8000),
        type=_host_port,
        help="IP[:PORT] to listen on (default 127.0.0.1:8000)",
    )
    serve.set_defaults(func=_serve)
    _sandbox_parser(sub)
    _dns_parser(sub)
    _run_parser(sub)
    _replay_parser(sub)
    _web_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        if not on_screen():
            parser.print_help()
            return 0
        return _tui_from_config(Path("deploy.toml"))
    try:
        return int(args.func(args))
    except UsageError as error:
        # Every message is built with shown() already; this keeps any other to one short line too.
        print(f"deploy-tui: {shown(str(error), 300, quote=False)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (| head): stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def entry() -> NoReturn:
    """The command's entry point: main, then out at once.

    Python's own tear-down of what a run loads (asyncssh, cryptography, httpx: some 600 modules) takes
    50-100 ms after the work is done; every file is closed by then (the recording, the known hosts),
    so only the terminal's buffers are flushed first. An exception still unwinds as usual."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing left to say there
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
