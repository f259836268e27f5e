"""The tool subcommands: the sandbox box, the DNS check on its own, and replays of recorded runs."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deploy_tui.cli.common import UsageError, file_to_write, on_screen, port_number, say, seconds
from deploy_tui.core.shown import shown, shown_path

if TYPE_CHECKING:
    from deploy_tui.sandbox.box import BoxInfo


def _sandbox(args: argparse.Namespace) -> int:
    """Bring the loopback sandbox box up, report on it, or take it down."""
    # Imported here: the sandbox is not needed to start the app.
    from deploy_tui.sandbox.box import Sandbox, SandboxConfig, SandboxError

    try:
        config = SandboxConfig(
            **{
                name: value
                for name, value in vars(args).items()
                if name in ("state_dir", "address", "ssh_port", "user", "production") and value is not None
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
    common.add_argument("--ssh-port", type=port_number, help="the box's sshd port (default 2222)")
    common.add_argument("--user", help="the box's non-root user (default elspeth)")
    actions = sandbox.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("up", parents=[common], help="start the box (needs root), or repair it")
    up.add_argument(
        "--production",
        action="store_true",
        default=None,
        help="also nginx and a systemctl for the box user's sudo, as the production chapter needs (stays until down)",
    )
    down = actions.add_parser("down", parents=[common], help="stop every process the box started")
    down.add_argument("--purge", action="store_true", help="also remove the user we created and the state dir")
    status = actions.add_parser("status", parents=[common], help="how to reach the box; exit 1 if not up")
    status.add_argument("--json", action="store_true", help="print the box as JSON")
    sandbox.set_defaults(func=_sandbox)


def _dns(args: argparse.Namespace) -> int:
    """Check, or watch, that a domain's A/AAAA records point at the server, across many resolvers."""
    import asyncio

    from deploy_tui.core.config import ConfigError, read_toml
    from deploy_tui.core.resolvers import ResolverInputError, load_resolvers
    from deploy_tui.remote import dns

    try:
        domain = dns.parse_domain(args.domain)
        expected = [dns.parse_ip(value) for value in args.expect]
        # deploy.toml is read only for its [dns] list, and only when there is one to read.
        data = None if args.resolver or not os.path.exists(args.config) else read_toml(args.config)
        resolvers = load_resolvers(args.resolver, data, shown_path(args.config))
    except (dns.DnsInputError, ResolverInputError, ConfigError) as error:
        raise UsageError(str(error)) from None
    from deploy_tui.cli.dns_view import LiveTable, PlainPrinter

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
    parser.add_argument(
        "--timeout", type=seconds(600), default=3.0, help="seconds to wait for each server (default 3, at most 600)"
    )
    parser.add_argument(
        "--deadline",
        type=seconds(7 * 24 * 3600),
        default=3600.0,
        help="with --watch, give up after this many seconds (default 3600, at most a week)",
    )
    parser.add_argument(
        "--no-authoritative", action="store_true", help="do not look up and ask the domain's nameservers"
    )
    parser.set_defaults(func=_dns)


def _replay(args: argparse.Namespace) -> int:
    """Replay a recording in the walkthrough, pick one from the past runs, or export it as asciicast."""
    from deploy_tui.runner import runs_dir

    if args.export:
        if args.export[0] != "cast":
            raise UsageError(f"--export {shown(args.export[0], 20)}: the one format is cast (asciicast v2)")
        if args.file is None:
            raise UsageError("--export needs the recording to export: deploy-tui replay FILE --export cast OUT.cast")
        from deploy_tui.recordings.asciicast import export_cast

        out = file_to_write(Path(args.export[1]), "--export cast", replace=True)
        recording = _read(args.file)
        try:
            count = export_cast(recording.events, out)
        except OSError as error:
            raise UsageError(f"cannot write {shown_path(out)}: {error.strerror}") from None
        print(f"{out}: {count} frames (asciinema play {out})")
        return 0
    if args.file is not None:
        _read(args.file)  # refuse a file that is not a readable recording before anything opens
    if not on_screen():
        return _print_runs(runs_dir()) if args.file is None else _print_recording(args.file)
    from screens.app import DeployApp

    app = DeployApp(recording=args.file, runs_dir=None if args.file else runs_dir())
    app.run()
    return int(app.return_code or 0)


def _read(path: Path) -> Any:
    """The recording, its warning (cut short, damaged) printed as one line; one-line error if unreadable."""
    from deploy_tui.recordings.reader import RecordingError, read_recording

    try:
        recording = read_recording(path)
    except RecordingError as error:
        raise UsageError(str(error)) from None
    if not recording.events:
        # Nothing to replay or export: an empty file, or one whose first line is no event (not a recording at all).
        why = f" (damaged at {recording.damage})" if recording.damage else ""
        raise UsageError(
            f"{shown_path(path)} has no events{why}; give a recording of a run (deploy-tui replay lists them)"
        )
    if recording.warning:
        say(f"warning: {recording.warning}")
    return recording


def _print_runs(directory: Path) -> int:
    from deploy_tui.recordings.index import list_runs

    for run in list_runs(directory):
        took = f"{run.duration:.1f}s" if run.duration is not None else "-"
        print(f"{run.started_at}  {run.site:<10} {run.status:<10} {took:>8}  {run.path}")
    return 0


def _print_recording(path: Path) -> int:
    from deploy_tui.core.printer import Printer
    from deploy_tui.recordings.reader import read_recording

    printer = Printer(sys.stdout)
    for event in read_recording(path).events:
        printer(event)
    return 0


def _replay_parser(sub: Any) -> None:
    replay = sub.add_parser("replay", help="replay a recorded run (no FILE: choose from past runs)")
    replay.add_argument("file", nargs="?", type=Path, help="a recording (.jsonl)")
    replay.add_argument("--export", nargs=2, metavar=("cast", "OUT"), help="write asciicast v2 to OUT")
    replay.set_defaults(func=_replay)
