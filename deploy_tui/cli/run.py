"""The subcommands that deploy: `run` (headless or the walkthrough) and `demo` (into the sandbox box)."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from deploy_tui.cli.common import CHECKOUT, UsageError, file_to_write, on_screen, port_number, seconds
from deploy_tui.core.shown import shown, shown_path

SITE_FLAGS = ("domain", "host", "port", "user", "repo", "branch")


def _run_request(
    args: argparse.Namespace,
    site: Any,
    resolvers: Any,
    password_file: Path | None,
    ask_password: bool = True,
    tests: Any = None,
) -> Any:
    """The run the command line asks for: every argument checked, the checkout read, the sudo password read
    now (when a step needs it): a bad one is a UsageError before anything happens on the server."""
    from deploy_tui.cli.prompts import password_from_file, read_password
    from deploy_tui.core.config import ConfigError
    from deploy_tui.core.secrets import Secret
    from deploy_tui.runner import RunRequest, read_checkout, settle_address
    from deploy_tui.steps import Options

    checkout = _checkout_dir(args.checkout or Path.cwd())
    if args.recording is not None:
        file_to_write(args.recording, "--recording")
    # The file is read even when no step needs it: a wrong --sudo-password-file is wrong whatever the plan.
    from_file = Secret(password_from_file(password_file)) if password_file is not None else None
    try:
        address = settle_address(site)
        project = read_checkout(site, checkout, tests)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    request = RunRequest(
        site=site,
        address=address,
        resolvers=resolvers or (),
        options=Options(
            allow_unpropagated=args.allow_unpropagated,
            checkout=checkout,
            lock_wait=args.lock_wait,
            override_gate=getattr(args, "override_gate", None) or "",
        ),
        checkout=project,
        only=frozenset(args.only),
        skip=frozenset(args.skip),
        force=frozenset(args.force),
        dry_run=args.dry_run,
        recording=args.recording,
    )
    if request.needs_sudo and (from_file is not None or ask_password):
        request = replace(request, sudo_password=from_file or read_password(None, site.user))
    return request


def _checkout_dir(path: Path) -> Path:
    """The checkout's directory, resolved; one line naming --checkout when it is not one."""
    try:
        resolved = path.resolve()
        is_dir = resolved.is_dir()
    except (OSError, ValueError, RuntimeError):
        is_dir = False
    if not is_dir:
        raise UsageError(f"--checkout {shown_path(path)}: no such directory; give your project's checkout")
    return resolved


def _execute(request: Any, headless: bool = True, autostart: bool = False) -> int:
    if not headless:
        return _tui(request, autostart)
    import asyncio

    from deploy_tui.cli.prompts import ask_on_terminal
    from deploy_tui.core.printer import Printer
    from deploy_tui.runner import execute

    try:
        outcome, path = asyncio.run(execute(request, Printer(sys.stdout), on_unknown_host_key=ask_on_terminal))
    except KeyboardInterrupt:
        print("deploy-tui: cancelled", file=sys.stderr)
        return 130
    print(f"recording: {path}")
    return 0 if outcome.ok else 1


def _tui(request: Any, autostart: bool = False) -> int:
    """The walkthrough in the terminal, for the request; the run starts with r, or at once (demo)."""
    from screens.app import DeployApp

    app = DeployApp(request=request, autostart=autostart)
    app.run()
    if app.last_recording:
        print(f"recording: {app.last_recording}")
    return 0 if app.last_outcome in (None, "passed") else 1


def _tui_from_config(path: Path) -> int:
    """`deploy-tui` alone, on a terminal: the setup screen, on ./deploy.toml."""
    from screens.app import DeployApp

    DeployApp(config_path=path).run()
    return 0


def _headless(args: argparse.Namespace) -> bool:
    return bool(args.headless or args.dry_run or not on_screen())


def _run(args: argparse.Namespace) -> int:
    """Deploy a site from deploy.toml with the engine, printing plain lines (the TUI comes later)."""
    from deploy_tui.core.config import ConfigError, load

    overrides = {name: getattr(args, name) for name in SITE_FLAGS}
    try:
        config = load(args.config, overrides, args.site)
        site = config.site(args.site)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    headless = _headless(args)
    # The TUI asks in its own modal when a step needs it; headless asks on the terminal now.
    request = _run_request(
        args, site, config.resolvers, args.sudo_password_file, ask_password=headless, tests=config.tests
    )
    return _execute(request, headless)


def _rollback(args: argparse.Namespace) -> int:
    """Deploy an earlier good release of a site again, from the recordings of its runs: see steps/rollback.py."""
    from dataclasses import replace

    from deploy_tui.core.config import ConfigError, load
    from deploy_tui.recordings.gate import releases, runs
    from deploy_tui.runner import runs_dir
    from deploy_tui.steps import rollback_plan

    try:
        config = load(args.config, {}, args.site)
        site = config.site(args.site)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    where = runs_dir()
    good = releases(where, site.name)
    recorded = runs(where, site.name)
    now = recorded[0].commit if recorded else ""
    listed = ", ".join(f"{r.commit[:10]} ({r.started})" for r in good[:6]) or "none"
    if args.to:
        wanted = args.to.strip().lower()
        target = next((r for r in good if len(wanted) >= 7 and r.commit.startswith(wanted)), None)
        if target is None:
            raise UsageError(
                f"--to {shown(args.to, 42)}: not a good release of {site.name} (its recorded releases: {listed})"
            )
    else:
        target = next((r for r in good if r.commit != now), None)
        if target is None:
            raise UsageError(
                f"no earlier good release of {site.name} is recorded in {shown_path(where)} "
                f"(now at {now[:10] or 'nothing recorded'}; releases: {listed}): nothing to go back to"
            )
    print(f"deploy-tui rollback: {site.name} from {now[:10] or '?'} back to {target.commit[:10]} ({target.started})")
    headless = _headless(args)
    # The release's commit, deployed without the gate: it passed once already, as its recording says.
    back = replace(site, branch=target.commit, gate="")
    request = _run_request(
        args, back, config.resolvers, args.sudo_password_file, ask_password=headless, tests=config.tests
    )
    request = replace(
        request,
        plan=tuple(rollback_plan(request.checkout.layout if request.checkout else None)),
        options=replace(request.options, allow_migration_mismatch=args.allow_migration_mismatch),
    )
    return _execute(request, headless)


def _demo(args: argparse.Namespace) -> int:
    """Bring up the sandbox box and deploy superlists into it, from scratch or again."""
    from deploy_tui.sandbox.box import Sandbox, SandboxConfig, SandboxError
    from deploy_tui.sandbox.demo import write_demo_config

    try:
        production = bool(args.production)
        sandbox = Sandbox(SandboxConfig(production=production), report=lambda line: print(f"  {line}", flush=True))
        print("deploy-tui demo: bringing up the sandbox box (on loopback only)")
        box = sandbox.up()
    except SandboxError as error:
        raise UsageError(str(error)) from None
    path, site, resolvers = write_demo_config(box, sandbox.config.state_dir, production=production)
    print(f"deploy-tui demo: deploying {site.domain} to {site.user}@{site.host}:{site.port} ({path})")
    args.checkout = args.checkout or CHECKOUT  # the demo deploys this repository's own superlists
    from deploy_tui.sandbox.host import trust_for_root

    os.environ.update(trust_for_root(sandbox.config.state_dir, Path(box.repo_url)))
    code = _execute(_run_request(args, site, resolvers, box.sudo_password_file), _headless(args), autostart=True)
    if code == 0 and not args.dry_run:
        where = f"http://{site.domain}/" if site.production else f"http://{site.domain}:{site.app_port}/"
        print(
            f"The site is up at {where} on the box ({site.address}); "
            f"deploy-tui run --config {path} deploys again, deploy-tui sandbox down stops the box."
        )
    return code


def _plan_flags(parser: argparse.ArgumentParser) -> None:
    from deploy_tui.steps import STEP_IDS

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
    parser.add_argument(
        "--lock-wait",
        type=seconds(24 * 3600),
        default=0.0,
        metavar="SECONDS",
        help="when another run is deploying the same site, wait this long for it (default: stop at once)",
    )
    parser.add_argument("--recording", type=Path, help="write the run's recording here")
    parser.add_argument(
        "--checkout",
        type=Path,
        help="your project's checkout on this machine, read (never run) to learn its shape, and where its "
        "functional tests run (default: the current directory; for demo, deploy-tui's own superlists)",
    )
    parser.add_argument(
        "--headless", action="store_true", help="plain line output, no TUI (also when not on a terminal)"
    )


def _reason(text: str) -> str:
    """An argparse type: why the gate is overridden, one short line for the recording."""
    from deploy_tui.core.names import hidden_character

    reason = text.strip()
    if not reason or len(reason) > 200 or hidden_character(reason) is not None:
        raise argparse.ArgumentTypeError(f"{shown(text, 60)}: say why in one line of at most 200 characters")
    return reason


def _run_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="deploy a site from deploy.toml (--headless: plain lines, for CI)")
    run.add_argument("--site", default="staging", help="which [sites.NAME] to deploy (default staging)")
    run.add_argument("--config", type=Path, default=Path("deploy.toml"), help="default ./deploy.toml")
    run.add_argument("--sudo-password-file", type=Path, help="the sudo password's file (else asked on the terminal)")
    run.add_argument(
        "--override-gate",
        type=_reason,
        metavar="REASON",
        help="deploy a gated site (live) even though its gating site's FTs have not passed this commit; "
        "the reason is recorded with the run",
    )
    for name in SITE_FLAGS:
        run.add_argument(f"--{name}", type=port_number if name == "port" else str, help=f"override the site's {name}")
    _plan_flags(run)
    run.set_defaults(func=_run)
    demo = sub.add_parser("demo", help="bring up the sandbox box and deploy superlists into it (needs root)")
    demo.add_argument(
        "--production",
        action="store_true",
        help="the next chapter: gunicorn under systemd and nginx on port 80 in the box, DEBUG off",
    )
    _plan_flags(demo)
    demo.set_defaults(func=_demo)
    back = sub.add_parser(
        "rollback",
        help="bring back a site's previous good release (its code, its kept venv; never the database)",
    )
    back.add_argument("--site", default="staging", help="which [sites.NAME] (default staging)")
    back.add_argument("--config", type=Path, default=Path("deploy.toml"), help="default ./deploy.toml")
    back.add_argument("--sudo-password-file", type=Path, help="the sudo password's file (else asked on the terminal)")
    back.add_argument("--to", metavar="COMMIT", help="the release to go back to (default: the one before the newest)")
    back.add_argument(
        "--allow-migration-mismatch",
        action="store_true",
        help="go back even though the two releases' migrations differ (the database is never rewritten)",
    )
    _plan_flags(back)
    back.set_defaults(func=_rollback)
