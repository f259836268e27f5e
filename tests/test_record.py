import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy_tui.core.events import Notice, Output, to_json
from deploy_tui.recordings.reader import RecordingError, read_recording
from deploy_tui.recordings.recorder import Recorder


def test_recorder_writes_one_parseable_line_per_event(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "run.jsonl"
    events = [Notice(level="info", text=f"n{i}") for i in range(5)]
    with Recorder(path) as record:
        for event in events:
            record(event)
    assert path.read_text().count("\n") == 5
    assert read_recording(path).events == events
    assert (path.stat().st_mode & 0o777) == 0o600


def test_a_truncated_last_line_keeps_every_event_before_it(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    good = [Notice(level="info", text=str(i)) for i in range(3)]
    path.write_text("".join(to_json(e) + "\n" for e in good) + to_json(good[0])[:20])
    recording = read_recording(path)
    assert recording.events == good
    assert "damaged at line 4" in recording.warning
    assert "\n" not in recording.warning


def test_a_missing_recording_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such recording"):
        read_recording(tmp_path / "nope.jsonl")


def test_a_newer_schema_recording_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    path.write_text('{"v":99,"kind":"Notice","level":"info","text":"x","step":"","ts":1}\n')
    with pytest.raises(RecordingError, match="newer deploy-tui"):
        read_recording(path)


WRITER = """
import sys
from pathlib import Path
from deploy_tui.core.events import Output
from deploy_tui.recordings.recorder import Recorder
record = Recorder(Path(sys.argv[1]))
print("ready", flush=True)
i = 0
while True:
    i += 1
    record(Output(command_id="c1", stream="stdout", lines=tuple("x" * 50 for _ in range(i % 400))))
"""


def test_kill_9_mid_recording_leaves_every_whole_line_parseable(tmp_path: Path) -> None:
    # Linux may cut a write() of several pages short when SIGKILL lands in it, so the last
    # line can be partial: the reader then keeps every event before it and says so.
    path = tmp_path / "killed.jsonl"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"ready\n"
        deadline = time.monotonic() + 30
        while path.stat().st_size < 5_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    recording = read_recording(path)
    whole_lines = path.read_bytes().count(b"\n")
    assert len(recording.events) == whole_lines > 100
    assert all(isinstance(e, Output) for e in recording.events)
    if not path.read_bytes().endswith(b"\n"):
        assert f"line {whole_lines + 1}: cut short" in recording.warning
    else:
        assert recording.warning == ""
