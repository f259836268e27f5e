"""Run every benchmark in benchmarks/ with --write-readme, one after another, and say how each went.

Every benchmark is bounded by itself (a number of runs and a time budget); this adds a
timeout per benchmark on top, in case one hangs. Some need root (deploy_vs_ansible.py
brings up a sandbox box): run this as root to run them all.

    .venv/bin/python benchmarks/run_all.py [--only NAME ...] [--timeout 3600]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Benchmarks with more than one part, each run on its own (its own flags, its own README section).
PARTS: dict[str, tuple[tuple[str, ...], ...]] = {"deploy_vs_ansible": ((), ("--production",))}


def benchmarks() -> list[Path]:
    """Every benchmarks/*.py but this one and private helpers (names starting with _)."""
    return sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these (file names, .py optional)")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="stop a benchmark after this many seconds (default 3600)"
    )
    args = parser.parse_args(argv)
    chosen = benchmarks()
    if args.only:
        wanted = {name.removesuffix(".py") for name in args.only}
        unknown = wanted - {p.stem for p in chosen}
        if unknown:
            parser.error(f"no benchmark {', '.join(sorted(unknown))}; there are {', '.join(p.stem for p in chosen)}")
        chosen = [p for p in chosen if p.stem in wanted]
    outcomes: list[tuple[str, str, float]] = []
    for path in chosen:
        for flags in PARTS.get(path.stem, ((),)):
            name = " ".join((path.name, *flags))
            print(f"== {name} --write-readme", file=sys.stderr, flush=True)
            started = time.monotonic()
            try:
                argv = [sys.executable, str(path), *flags, "--write-readme"]
                code = subprocess.run(argv, timeout=args.timeout).returncode
                outcome = "ok" if code == 0 else f"FAILED (exit {code})"
            except subprocess.TimeoutExpired:
                outcome = f"FAILED (stopped after {args.timeout:.0f} s)"
            outcomes.append((name, outcome, time.monotonic() - started))
    print("\n| benchmark | outcome | seconds |\n|---|---|---:|")
    for name, outcome, seconds in outcomes:
        print(f"| {name} | {outcome} | {seconds:.0f} |")
    return 0 if all(outcome == "ok" for _, outcome, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
