import dataclasses
import json

import pytest

from deploy_tui.core import events
from deploy_tui.core.events import (
    SCHEMA_VERSION,
    CommandFinished,
    DnsAnswer,
    Event,
    EventFormatError,
    NewerSchemaError,
    Output,
    from_json,
    to_json,
)

SAMPLES: list[Event] = [
    events.RunStarted(run_id="r1", site="staging", started_at="2026-11-25T18:00:00+00:00"),
    events.StepStarted(step="dns", title="DNS points at the server"),
    events.CommandStarted(
        step="venv",
        command_id="c1",
        argv_display="pip install -r requirements.txt",
        host="elspeth@127.0.0.2:2222",
        sudo=False,
    ),
    Output(step="venv", command_id="c1", stream="stdout", lines=("a", "ünïcode ☃", "")),
    events.OutputUpdate(step="venv", command_id="c1", stream="stderr", text="50%"),
    events.Progress(step="venv", done=3, total=None, unit="MB"),
    CommandFinished(step="venv", command_id="c1", exit_status=None, duration=1.5, timed_out=True),
    DnsAnswer(
        step="dns",
        domain="superlists.test",
        resolver="Cloudflare",
        address="1.1.1.1",
        location="Global",
        status="match",
        records=("127.0.0.2",),
        ttl=300,
        latency=0.01,
    ),
    events.ProbeResult(step="smoke", url="http://x/", vantage="outside", status=200, title="To-Do lists", error=""),
    events.CheckResult(
        step="preflight", item="Django", found="5.2.19 (Django 5.2 LTS supports Python 3.11)", verdict="ok"
    ),
    events.CodeAt(step="source", commit="0123456789abcdef0123456789abcdef01234567"),
    events.TestStarted(step="fts", name="test_layout"),
    events.TestFinished(
        step="fts",
        name="test_layout",
        outcome="failed",
        duration=2.0,
        traceback="tb",
        screenshot="ft-artifacts/x.png",
    ),
    events.Diagnosis(
        step="smoke",
        code="D4",
        cause="bound to 127.0.0.1",
        fix="runserver 0.0.0.0:8000",
        evidence=("Connection refused",),
    ),
    events.StepFinished(step="dns", status="passed", duration=0.2),
    events.Notice(level="warning", text="host key saved"),
    events.PlannedCommand(step="migrate", argv_display="manage.py migrate", host="box", sudo=False),
    events.RunFinished(status="passed", duration=10.0),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.kind)
def test_every_event_round_trips_through_one_json_line(event: Event) -> None:
    line = to_json(event)
    assert "\n" not in line
    assert from_json(line) == event


def test_every_event_kind_has_a_sample() -> None:
    kinds = {cls.__name__ for cls in Event.__subclasses__()}
    assert kinds == {e.kind for e in SAMPLES}


def test_lines_carry_the_schema_version_and_kind() -> None:
    data = json.loads(to_json(SAMPLES[0]))
    assert data["v"] == SCHEMA_VERSION
    assert data["kind"] == "RunStarted"


def test_events_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SAMPLES[0].step = "x"  # type: ignore[misc]


def test_a_newer_schema_is_refused_with_a_clear_message() -> None:
    data = json.loads(to_json(SAMPLES[0]))
    data["v"] = SCHEMA_VERSION + 1
    with pytest.raises(NewerSchemaError, match="upgrade deploy-tui"):
        from_json(json.dumps(data))


@pytest.mark.parametrize(
    "line",
    ['{"v":1,"kind":"Nope"}', "[1]", "{not json", '{"kind":"Notice"}', '{"v":1,"kind":"Notice","x":1}'],
)
def test_bad_lines_raise_event_format_error(line: str) -> None:
    with pytest.raises(EventFormatError):
        from_json(line)


def test_big_payloads_have_a_terse_rich_repr() -> None:
    event = Output(command_id="c1", stream="stdout", lines=tuple(str(i) for i in range(10_000)))
    assert ("lines", "<10000 items>") in list(event.__rich_repr__())


def _line(event: Event, **changes: object) -> str:
    data = json.loads(to_json(event))
    data.update(changes)
    return json.dumps(data)


FINISHED = events.StepFinished(step="dns", status="passed", duration=0.2)
OUTPUT = Output(step="venv", command_id="c1", stream="stdout", lines=("a", "b"))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (_line(FINISHED, duration="x"), "StepFinished.duration must be a number, not a string"),
        (_line(FINISHED, duration=True), "StepFinished.duration must be a number, not true or false"),
        (_line(FINISHED, status=["passed"]), "StepFinished.status must be a string, not a list"),
        (_line(OUTPUT, lines=5), "Output.lines must be a list of strings, not a whole number"),
        (_line(OUTPUT, lines=["a", 1]), "Output.lines must be a list of strings, not a list"),
        (_line(OUTPUT, lines=None), "Output.lines must be a list of strings, not null"),
        (_line(SAMPLES[6], exit_status="0"), "CommandFinished.exit_status must be a whole number or null"),
        (_line(SAMPLES[6], timed_out=1), "CommandFinished.timed_out must be true or false"),
        (_line(SAMPLES[7], ttl=1.5), "DnsAnswer.ttl must be a whole number or null, not a number"),
        (_line(SAMPLES[0], schema={"v": 1}), "RunStarted.schema must be a whole number, not an object"),
        (_line(FINISHED, duration=None), "StepFinished.duration must be a number, not null"),
        (_line(FINISHED, ts="now"), "StepFinished.ts must be a number"),
        ('{"v":1,"kind":"StepFinished","step":"dns","status":"passed"}', r"StepFinished.duration is missing"),
        (_line(FINISHED, **{"\x1b[2J": 1}), r"StepFinished: unknown field '\\x1b\[2J'"),
        ('{"v":1,"kind":"StepFinished","status":"passed","duration":NaN}', "NaN is not a number"),
        ('{"v":1,"kind":"StepFinished","status":"passed","duration":' + "9" * 5000 + "}", "a number too long"),
        ("[" * 100_000, "nested too deeply"),
        ('{"v":true,"kind":"Notice","level":"info","text":"t"}', "no schema version"),
        ('{"v":1,"kind":["Notice"],"level":"info","text":"t"}', "unknown event kind"),
        ('{"v":1,"kind":"Notice","level":"info","text":"\\ud800"}', "Notice.text must be a string, not a string with"),
    ],
)
def test_a_field_of_the_wrong_type_is_an_event_format_error_naming_it(line: str, message: str) -> None:
    with pytest.raises(EventFormatError, match=message) as error:
        from_json(line)
    assert str(error.value).isprintable()
    assert len(str(error.value)) < 200


def test_json_lists_become_tuples_and_whole_numbers_fill_float_fields() -> None:
    event = from_json(_line(FINISHED, duration=3))
    assert isinstance(event, events.StepFinished)
    assert event.duration == 3.0
    assert isinstance(event.duration, float)
    output = from_json(_line(OUTPUT, lines=["x"]))
    assert isinstance(output, Output)
    assert output.lines == ("x",)


def test_literal_and_alias_annotations_are_checked_too() -> None:
    from typing import Literal, NewType

    Stream = NewType("Stream", str)
    assert events._as(Literal["stdout", "stderr"], "stdout") == "stdout"
    assert events._as(Literal["stdout", "stderr"], "stdin") is events._WRONG
    assert events._as(Literal[1], True) is events._WRONG  # true == 1 in Python; not in a recording
    assert events._as(Stream, "stdout") == "stdout"
    assert events._as(Stream, 1) is events._WRONG
    assert events._as(tuple[str, int], ["a", 1]) == ("a", 1)
    assert events._as(tuple[str, int], ["a"]) is events._WRONG


def test_a_newer_schema_with_a_huge_version_is_still_one_short_line() -> None:
    with pytest.raises(NewerSchemaError) as error:
        from_json('{"v":' + "9" * 4000 + ',"kind":"Notice"}')
    assert len(str(error.value)) < 200
