"""How fast a 100 MB recording opens and jumps to a step, with its index, against reading it whole.

Makes a synthetic recording of about 100 MB (eight steps, each with its commands'
output in 64 KiB batches, as the SSH session records them), then measures, in
fresh processes' worth of cold caches as far as Python goes:
  (a) opening it through its index and reading one step's events, for every step;
  (b) the same with no index (it is rebuilt by one pass, then saved);
  (c) reading the whole recording (read_recording), what a replay without an index would do.
Target: (a) at most 0.3 s per jump. Results go between the markers in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from readme_section import replace_section

from deploy_tui.core import events as ev
from deploy_tui.recordings.index import index_path, load_index, step_span
from deploy_tui.recordings.recorder import Recorder, read_recording
from deploy_tui.steps import STEP_IDS

START, END = "<!-- recording-index:start -->", "<!-- recording-index:end -->"


def make_recording(path: Path, megabytes: int) -> None:
    line = "Collecting something-quite-long==1.2.3 from a cache at /home/elspeth/.cache/pip " * 2
    batch = tuple(f"{i:06d} {line}" for i in range(400))  # about 64 KiB, like one read of the session
    per_step = megabytes * 1024 * 1024 // len(STEP_IDS)
    with Recorder(path) as record:
        record(ev.RunStarted(run_id="bench", site="staging", started_at=datetime.now(UTC).isoformat()))
        for step in STEP_IDS:
            record(ev.StepStarted(step=step, title=step))
            record(ev.CommandStarted(step=step, command_id="c1", argv_display="make output", host="box"))
            written = 0
            while written < per_step:
                event = ev.Output(step=step, command_id="c1", stream="stdout", lines=batch)
                record(event)
                written += sum(len(x) for x in batch)
            record(ev.StepFinished(step=step, status="passed", duration=1.0))
        record(ev.RunFinished(status="passed", duration=8.0))


def time_jumps(path: Path, fresh_index: bool) -> list[float]:
    times = []
    for step in STEP_IDS:
        if fresh_index:
            index_path(path).unlink(missing_ok=True)
        started = time.perf_counter()
        index = load_index(path)
        events = step_span(path, index, step)
        times.append(time.perf_counter() - started)
        if events[0].kind != "StepStarted" or events[0].step != step:
            raise SystemExit(f"FAILED: the jump to {step} landed on {events[0]}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.jsonl"
        make_recording(path, args.megabytes)
        size = path.stat().st_size / 1024 / 1024
        indexed = time_jumps(path, fresh_index=False)
        rebuilt = time_jumps(path, fresh_index=True)
        started = time.perf_counter()
        whole = read_recording(path)
        full = time.perf_counter() - started
        assert not whole.warning
    ms = lambda xs: f"{statistics.median(xs) * 1000:.1f} (max {max(xs) * 1000:.1f})"  # noqa: E731
    verdict = "met" if max(indexed) <= 0.3 else "**NOT met**"
    section = "\n".join(
        [
            "### Opening a big recording (`benchmarks/recording_index.py`)",
            "",
            f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: nproc {os.cpu_count()}, Python "
            f"{platform.python_version()}, {platform.machine()}",
            f"- Method: a synthetic recording of {size:.0f} MB ({len(STEP_IDS)} steps, output in 64 KiB batches, "
            f"{len(whole.events)} events), then for each step: load the index and read that step's events.",
            "",
            "| measurement | ms per jump, median (max) |",
            "|---|---:|",
            f"| (a) open through the index and read one step | {ms(indexed)} |",
            f"| (b) the same, index missing (rebuilt by one pass, saved) | {ms(rebuilt)} |",
            f"| (c) read the whole recording | {full * 1000:.0f} |",
            "",
            f"Ratio (c) / (a): {full / statistics.median(indexed):.0f}x. Target (a) <= 300 ms per jump: {verdict}.",
            "",
            "Rerun: `.venv/bin/python benchmarks/recording_index.py --write-readme`.",
        ]
    )
    print(section)
    if args.write_readme:
        replace_section(START, END, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
