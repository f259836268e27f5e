"""The `deploy-tui` command line.

Each subcommand is a small function; errors the operator can fix are printed as
one line naming the value and the fix, never as a traceback.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deploy_tui import __version__

if TYPE_CHECKING:
    from deploy_tui.sandbox import BoxInfo

CHECKOUT = Path(__file__).resolve().parent.parent


class UsageError(Exception):
    """A problem with what the operator asked for; its text is the whole message."""


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port_text = value.rpartition(":")
    if not sep:
        host, port_text = value, "8000"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: the address must be an IP, like 127.0.0.1:8000") from None
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r}: the port must be a number from 1 to 65535")
    return host, int(port_text)


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


def _sandbox(args: argparse.Namespace) -> int:
    """Bring the loopback sandbox box up, report on it, or take it down."""
    # Imported here: the sandbox is not needed to start the app.
    from deploy_tui.sandbox import Sandbox, SandboxConfig, SandboxError

    try:
        config = SandboxConfig(
            **{
                name: value
                for name, value in vars(args).items()
                if name in ("state_dir", "address", "ssh_port", "user") and value is not None
            }
        )
        sandbox = Sandbox(config, report=lambda line: print(f"  {line}", flush=True))
        if args.action == "up":
            plan = sandbox.plan()
            print("deploy-tui sandbox up will create, on loopback only:")
            for line in plan:
                print(f"  {line}", flush=True)
            sandbox.up()
            print("The sandbox is up:")
        elif args.action == "down":
            sandbox.down(purge=args.purge)
            print(f"The sandbox in {config.state_dir} is down{' and purged' if args.purge else ''}.")
            return 0
        box = sandbox.status()
    except SandboxError as error:
        raise UsageError(str(error)) from None
    if box is None:
        print(f"No sandbox is up in {config.state_dir}: start one with deploy-tui sandbox up.")
        return 1
    if args.action == "status" and args.json:
        print(json.dumps(box.to_json(), indent=2))
    else:
        _print_box(box)
    return 0 if box.sshd_pid and all(r.pid for r in (box.authority, *box.resolvers)) else 1


def _print_box(box: BoxInfo) -> None:
    def pid(value: int) -> str:
        return f"pid {value}" if value else "NOT RUNNING (deploy-tui sandbox up restarts it)"

    authority = box.authority
    rows = [
        ("sshd", f"{box.address}:{box.ssh_port}, {pid(box.sshd_pid)}"),
        ("host key", box.host_key_fingerprint),
        ("user", f"{box.user} (sudo asks for the password in {box.sudo_password_file})"),
        ("client key", str(box.client_key)),
        ("known hosts", str(box.known_hosts)),
        ("repo", box.repo_url),
        *(
            (f"resolver {i}", f"{r.address}:{r.port} answers {r.mode}, {pid(r.pid)}")
            for i, r in enumerate(box.resolvers, 1)
        ),
        ("authority", f"{authority.address}:{authority.port} {box.ns_name}, {pid(authority.pid)}"),
        ("ssh command", shlex.join(box.ssh_argv())),
    ]
    for name, value in rows:
        print(f"  {name:<12} {value}")


def _sandbox_parser(sub: Any) -> None:
    sandbox = sub.add_parser(
        "sandbox",
        help="a fake server on loopback (sshd, a sudo user, dnsmasq resolvers) for the demo and tests",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--state-dir",
        type=Path,
        help="where the sandbox keeps its files (default $DEPLOY_TUI_SANDBOX_DIR or /var/lib/deploy-tui/sandbox)",
    )
    common.add_argument("--address", help="the box's address in 127.0.0.0/8 (default 127.0.0.2)")
    common.add_argument("--ssh-port", type=int, help="the box's sshd port (default 2222)")
    common.add_argument("--user", help="the box's non-root user (default elspeth)")
    actions = sandbox.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("up", parents=[common], help="start the box (needs root), or repair it")
    down = actions.add_parser("down", parents=[common], help="stop every process the box started")
    down.add_argument("--purge", action="store_true", help="also remove the user we created and the state dir")
    status = actions.add_parser("status", parents=[common], help="how to reach the box; exit 1 if not up")
    status.add_argument("--json", action="store_true", help="print the box as JSON")
    sandbox.set_defaults(func=_sandbox)


def _dns(args: argparse.Namespace) -> int:
    """Check, or watch, that a domain's A/AAAA records point at the server, across many resolvers."""
    import asyncio

    from deploy_tui import dns
    from deploy_tui.dns_resolvers import ResolverInputError, load_resolvers

    try:
        domain = dns.parse_domain(args.domain)
        expected = [dns.parse_ip(value) for value in args.expect]
        resolvers = load_resolvers(args.config, args.resolver)
    except (dns.DnsInputError, ResolverInputError) as error:
        raise UsageError(str(error)) from None
    if args.timeout <= 0 or args.deadline <= 0:
        raise UsageError("--timeout and --deadline must be positive numbers of seconds")
    from deploy_tui.dns_view import LiveTable, PlainPrinter

    if sys.stdout.isatty():
        from rich.console import Console

        view: LiveTable | PlainPrinter = LiveTable(Console())
    else:
        view = PlainPrinter(sys.stdout)
    options = {"emit": view, "timeout": args.timeout, "authoritative": not args.no_authoritative}
    try:
        if args.watch:
            summary = asyncio.run(dns.watch(domain, expected, resolvers, deadline=args.deadline, **options))
        else:
            summary = asyncio.run(dns.check(domain, expected, resolvers, **options))
    finally:
        view.close()
    print(summary.text())
    return 0 if summary.propagated else 1


def _dns_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "dns",
        help="check that a domain points at the server, across many resolvers (exit 0 when propagated)",
    )
    parser.add_argument("domain", help="the domain, like superlists.example.com")
    parser.add_argument(
        "--expect",
        action="append",
        required=True,
        metavar="IP",
        help="the server's address; repeat for IPv6 or several addresses",
    )
    parser.add_argument(
        "--resolver",
        action="append",
        default=[],
        metavar="ADDR[:PORT]",
        help="ask this resolver instead of the defaults; repeat for several",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("deploy.toml"),
        help="deploy.toml whose [dns] resolvers list replaces the defaults (default ./deploy.toml)",
    )
    parser.add_argument("--watch", action="store_true", help="ask again, backing off, until propagated")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for each server (default 3)")
    parser.add_argument("--deadline", type=float, default=3600.0, help="with --watch, give up after this many seconds")
    parser.add_argument(
        "--no-authoritative", action="store_true", help="do not look up and ask the domain's nameservers"
    )
    parser.set_defaults(func=_dns)


SITE_FLAGS = ("domain", "host", "port", "user", "repo", "branch")


def _run_request(
    args: argparse.Namespace, site: Any, resolvers: Any, password_file: Path | None, ask_password: bool = True
) -> Any:
    from deploy_tui.runner import RunRequest, read_password
    from deploy_tui.steps import Options

    options = Options(allow_unpropagated=args.allow_unpropagated, checkout=args.checkout.resolve())
    needs_sudo = ask_password and not args.dry_run and (not args.only or "provision" in args.only)
    password = read_password(password_file, site.user) if needs_sudo else None
    return RunRequest(
        site=site,
        resolvers=resolvers,
        options=options,
        sudo_password=password,
        only=args.only,
        skip=args.skip,
        force=args.force,
        dry_run=args.dry_run,
        recording=args.recording,
    )


def _execute(request: Any, headless: bool = True, sudo_file: Path | None = None) -> int:
    if not headless:
        return _tui(request)
    import asyncio

    from deploy_tui.headless import Printer
    from deploy_tui.runner import execute

    try:
        outcome, path = asyncio.run(execute(request, Printer(sys.stdout)))
    except KeyboardInterrupt:
        print("deploy-tui: cancelled", file=sys.stderr)
        return 130
    print(f"recording: {path}")
    return 0 if outcome.ok else 1


def _tui(request: Any) -> int:
    """The walkthrough in the terminal, for the request's site; the operator starts the run (r)."""
    from deploy_tui.app import DeployApp

    app = DeployApp(
        site=request.site, resolvers=request.resolvers, options=request.options, sudo_password=request.sudo_password
    )
    app.run()
    if app.last_recording:
        print(f"recording: {app.last_recording}")
    return 0


def _tui_from_config(path: Path, site_name: str = "staging") -> int:
    """`deploy-tui` alone: the setup screen, on ./deploy.toml."""
    if not sys.stdout.isatty():
        build_parser().print_help()
        return 0
    from deploy_tui.app import DeployApp

    DeployApp(site=None, config_path=path).run()
    return 0


def _headless(args: argparse.Namespace) -> bool:
    return bool(args.headless or args.dry_run or not sys.stdout.isatty() or not sys.stdin.isatty())


def _run(args: argparse.Namespace) -> int:
    """Deploy a site from deploy.toml with the engine, printing plain lines (the TUI comes later)."""
    from deploy_tui.config import ConfigError, load

    overrides = {name: getattr(args, name) for name in SITE_FLAGS}
    try:
        config = load(args.config, overrides, args.site)
        site = config.site(args.site)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    headless = _headless(args)
    password_file = args.sudo_password_file
    if not headless and password_file is None:
        # The TUI asks in its own modal when a step needs it.
        return _tui(_run_request(args, site, config.resolvers, None, ask_password=False))
    return _execute(_run_request(args, site, config.resolvers, password_file), headless)


def _demo(args: argparse.Namespace) -> int:
    """Bring up the sandbox box and deploy superlists into it, from scratch or again."""
    from deploy_tui.demo import write_demo_config
    from deploy_tui.sandbox import Sandbox, SandboxConfig, SandboxError

    try:
        sandbox = Sandbox(SandboxConfig(), report=lambda line: print(f"  {line}", flush=True))
        print("deploy-tui demo: bringing up the sandbox box (on loopback only)")
        box = sandbox.up()
    except SandboxError as error:
        raise UsageError(str(error)) from None
    path, site, resolvers = write_demo_config(box, sandbox.config.state_dir)
    print(f"deploy-tui demo: deploying {site.domain} to {site.user}@{site.host}:{site.port} ({path})")
    code = _execute(_run_request(args, site, resolvers, box.sudo_password_file), _headless(args))
    if code == 0 and not args.dry_run:
        print(
            f"The site is up at http://{site.domain}:{site.app_port}/ on the box ({site.address}); "
            f"deploy-tui run --config {path} deploys again, deploy-tui sandbox down stops the box."
        )
    return code


def _replay(args: argparse.Namespace) -> int:
    """Replay a recording in the walkthrough, pick one from the past runs, or export it as asciicast."""
    from deploy_tui.record import RecordingError, read_recording
    from deploy_tui.runner import runs_dir

    if args.export:
        if args.export[0] != "cast":
            raise UsageError(f"--export {args.export[0]}: the one format is cast (asciicast v2)")
        if args.file is None:
            raise UsageError("--export needs the recording to export: deploy-tui replay FILE --export cast OUT.cast")
        from deploy_tui.asciicast import export_cast

        try:
            recording = read_recording(args.file)
        except RecordingError as error:
            raise UsageError(str(error)) from None
        if recording.warning:
            print(f"deploy-tui: warning: {recording.warning}", file=sys.stderr)
        out = Path(args.export[1])
        try:
            count = export_cast(recording.events, out)
        except OSError as error:
            raise UsageError(f"cannot write {out}: {error.strerror}") from None
        print(f"{out}: {count} frames (asciinema play {out})")
        return 0
    if args.file is not None:
        try:
            recording = read_recording(args.file)
        except RecordingError as error:
            raise UsageError(str(error)) from None
        if recording.warning:
            print(f"deploy-tui: warning: {recording.warning}", file=sys.stderr)
    if not sys.stdout.isatty():
        return _print_runs(runs_dir()) if args.file is None else _print_recording(args.file)
    from deploy_tui.app import DeployApp

    app = DeployApp(site=None, recording=args.file, runs_dir=None if args.file else runs_dir())
    app.run()
    return int(app.return_code or 0)


def _print_runs(directory: Path) -> int:
    from deploy_tui.record_index import list_runs

    for run in list_runs(directory):
        took = f"{run.duration:.1f}s" if run.duration is not None else "-"
        print(f"{run.started_at}  {run.site:<10} {run.status:<10} {took:>8}  {run.path}")
    return 0


def _print_recording(path: Path) -> int:
    from deploy_tui.headless import Printer
    from deploy_tui.record import read_recording

    printer = Printer(sys.stdout)
    for event in read_recording(path).events:
        printer(event)
    return 0


def _replay_parser(sub: Any) -> None:
    replay = sub.add_parser("replay", help="replay a recorded run (no FILE: choose from past runs)")
    replay.add_argument("file", nargs="?", type=Path, help="a recording (.jsonl)")
    replay.add_argument("--export", nargs=2, metavar=("cast", "OUT"), help="write asciicast v2 to OUT")
    replay.set_defaults(func=_replay)


def _plan_flags(parser: argparse.ArgumentParser) -> None:
    from deploy_tui.step_ids import STEP_IDS

    parser.add_argument(
        "--only",
        action="append",
        default=[],
        choices=STEP_IDS,
        metavar="STEP",
        help=f"run only this step (repeatable): {', '.join(STEP_IDS)}",
    )
    parser.add_argument(
        "--skip", action="append", default=[], choices=STEP_IDS, metavar="STEP", help="skip this step (repeatable)"
    )
    parser.add_argument(
        "--force",
        action="append",
        default=[],
        choices=STEP_IDS,
        metavar="STEP",
        help="apply this step even if it is already done (repeatable)",
    )
    parser.add_argument("--dry-run", action="store_true", help="show the commands each step would run")
    parser.add_argument(
        "--allow-unpropagated",
        action="store_true",
        help="go on before DNS has propagated, reaching the domain at the host's address",
    )
    parser.add_argument("--recording", type=Path, help="write the run's recording here")
    parser.add_argument(
        "--checkout",
        type=Path,
        default=CHECKOUT,
        help="the site's checkout on this machine, with functional_tests/ (default: this one)",
    )
    parser.add_argument(
        "--headless", action="store_true", help="plain line output, no TUI (also when not on a terminal)"
    )


def _run_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="deploy a site from deploy.toml (--headless: plain lines, for CI)")
    run.add_argument("--site", default="staging", help="which [sites.NAME] to deploy (default staging)")
    run.add_argument("--config", type=Path, default=Path("deploy.toml"), help="default ./deploy.toml")
    run.add_argument("--sudo-password-file", type=Path, help="the sudo password's file (else asked on the terminal)")
    for name in SITE_FLAGS:
        run.add_argument(f"--{name}", type=int if name == "port" else str, help=f"override the site's {name}")
    _plan_flags(run)
    run.set_defaults(func=_run)
    demo = sub.add_parser("demo", help="bring up the sandbox box and deploy superlists into it (needs root)")
    _plan_flags(demo)
    demo.set_defaults(func=_demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return _tui_from_config(Path("deploy.toml"))
    try:
        return int(args.func(args))
    except UsageError as error:
        print(f"deploy-tui: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (| head): stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
