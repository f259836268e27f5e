"""The replay clock, the recording index and the asciicast export, on made-up recordings."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from deploy_tui.core import events as ev
from deploy_tui.recordings.asciicast import export_cast
from deploy_tui.recordings.index import build_index, index_path, list_runs, load_index
from deploy_tui.recordings.player import Player, replay_times
from deploy_tui.recordings.reader import RecordingFile, read_recording
from deploy_tui.recordings.recorder import Recorder
from tests.tui.scripted import failing_run


def test_long_quiet_gaps_are_shortened() -> None:
    events = [replace(ev.Notice(level="info", text=str(i)), ts=t) for i, t in enumerate((0.0, 0.5, 100.0, 100.1))]
    assert replay_times(events) == pytest.approx([0.0, 0.5, 2.5, 2.6])


def test_the_player_releases_events_on_its_clock_at_each_speed() -> None:
    player = Player(failing_run())  # one event a second
    assert len(player.advance(0.0)) == 1
    assert player.advance(0.5) == []
    assert len(player.advance(0.6)) == 1
    player.cycle_speed()  # 4x
    assert len(player.advance(1.0)) == 4
    player.playing = False
    assert player.advance(10) == []
    player.playing = True
    assert player.cycle_speed() == "16x"
    assert player.cycle_speed() == "instant"
    player.advance(0)
    assert player.finished


def test_jump_next_failure_and_search() -> None:
    events = failing_run()
    player = Player(events)
    start = player.step_start("devserver")
    assert start is not None
    assert isinstance(events[start], ev.StepStarted)
    assert player.seek(start) == events[:start]
    failure = player.next_failure()
    assert failure is not None
    assert isinstance(events[failure], ev.Diagnosis)
    found = player.search("WATCHING", 0)
    assert found is not None
    assert "Watching for file changes" in events[found].lines  # type: ignore[attr-defined]
    assert player.search("not in there", 0) is None


def _record(path: Path, events: list[ev.Event]) -> None:
    with Recorder(path) as record:
        for event in events:
            record(event)


def test_the_recorder_writes_an_index_that_jumps_straight_to_a_step(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    events = failing_run()
    _record(path, events)
    assert index_path(path).is_file()
    index = load_index(path)
    assert index.size == path.stat().st_size
    assert index.status == "failed"
    assert set(index.steps) == {
        "preflight",
        "dns",
        "provision",
        "source",
        "venv",
        "static",
        "migrate",
        "devserver",
        "smoke",
    }
    recording = RecordingFile(path)
    (smoke_span,) = (i for i, span in enumerate(recording.spans) if span.step == "smoke")
    smoke = recording.read(smoke_span)
    assert smoke[0] == next(e for e in events if isinstance(e, ev.StepStarted) and e.step == "smoke")
    assert any(isinstance(e, ev.Diagnosis) for e in smoke)
    assert build_index(path) == index


def _with_output(events: list[ev.Event]) -> list[ev.Event]:
    """The scripted run with a burst of output in every step, as a real one has."""
    out: list[ev.Event] = []
    for event in events:
        out.append(event)
        if isinstance(event, ev.StepStarted):
            lines = tuple(f"{event.step} line {i}" for i in range(3))
            out.append(ev.Output(step=event.step, command_id="c9", stream="stdout", lines=lines, ts=event.ts))
    return out


def test_a_file_player_starts_from_the_skeleton_and_reads_a_step_when_it_gets_there(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    events = _with_output(failing_run())
    _record(path, events)
    player = Player.of_file(RecordingFile(path))
    assert not any(isinstance(e, ev.Output) for e in player.events)  # opened without the output
    start = player.step_start("devserver")
    assert start is not None
    before = player.seek(start + 1)
    assert not any(isinstance(e, ev.Output) and e.step != "devserver" for e in before)
    player.cycle_speed(), player.cycle_speed(), player.cycle_speed()  # instant
    rest = player.advance(0)
    assert next(e for e in rest if isinstance(e, ev.Output)).lines[0] == "devserver line 0"
    assert player.finished
    # A step passed over by the jump is read when it is shown: its output, in place.
    dns = player.output_of("dns")
    assert dns is not None
    assert [e.lines[0] for e in dns if isinstance(e, ev.Output)] == ["dns line 0"]
    assert player.output_of("dns") is None  # read once
    # Once every step has been shown, the player holds the whole recording, in order.
    for step in ("preflight", "provision", "source", "venv", "static", "migrate"):
        assert player.output_of(step) is not None
    assert [e.kind for e in player.events] == [e.kind for e in read_recording(path).events]


def test_search_reads_the_spans_it_passes(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    _record(path, _with_output(failing_run()))
    player = Player.of_file(RecordingFile(path))
    found = player.search("MIGRATE LINE 2", 0)
    assert found is not None
    assert player.events[found].step == "migrate"


def test_a_recording_cut_short_gets_its_index_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "killed.jsonl"
    _record(path, failing_run())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # killed mid-line
    index = load_index(path)
    assert index.status == ""  # it never finished
    assert index.size < path.stat().st_size  # the cut-off line is not counted
    assert "damaged" in read_recording(path).warning


def test_past_runs_are_listed_newest_first(tmp_path: Path) -> None:
    older = [
        replace(e, started_at="2026-11-01T10:00:00+00:00") if isinstance(e, ev.RunStarted) else e for e in failing_run()
    ]
    _record(tmp_path / "a.jsonl", older)
    _record(tmp_path / "b.jsonl", failing_run())
    runs = list_runs(tmp_path)
    assert [r.path.name for r in runs] == ["b.jsonl", "a.jsonl"]
    assert runs[0].status == "failed"
    assert runs[0].site == "staging"


def test_the_asciicast_export_is_valid_v2(tmp_path: Path) -> None:
    out = tmp_path / "run.cast"
    frames = export_cast(failing_run(), out)
    lines = out.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2
    assert header["width"] == 120
    records = [json.loads(line) for line in lines[1:]]
    assert len(records) == frames > 10
    times = [r[0] for r in records]
    assert times == sorted(times)
    assert all(r[1] == "o" for r in records)
    assert any("D4" in r[2] for r in records)
    assert all("\n" not in r[2].replace("\r\n", "") for r in records)


@pytest.mark.parametrize("saved", ["[1]", '{"v": 1, "size": "x"}', '{"v": 1, "steps": {"dns": ["a"]}}', "not json"])
def test_a_damaged_or_forged_index_is_rebuilt_not_trusted(tmp_path: Path, saved: str) -> None:
    path = tmp_path / "run.jsonl"
    _record(path, failing_run())
    good = load_index(path)
    index_path(path).write_text(saved)
    assert load_index(path) == good
