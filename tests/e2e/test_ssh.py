"""The SSH session against the sandbox box's real OpenSSH server."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy_tui.core.events import CommandFinished, CommandStarted, Event, Output
from deploy_tui.core.secrets import MASK, Secret
from deploy_tui.recordings.reader import read_recording
from deploy_tui.recordings.recorder import Recorder
from deploy_tui.remote.ssh import (
    HostKeyChanged,
    HostKeyDecision,
    HostKeyQuestion,
    HostKeyRejected,
    Shell,
    SshError,
    SshSession,
    SshTarget,
    SudoPasswordRefused,
    sh,
)

pytestmark = pytest.mark.e2e


def _target(box, known_hosts: Path | None = None, port: int | None = None) -> SshTarget:
    return SshTarget(
        box.address,
        port or box.ssh_port,
        box.user,
        client_keys=(box.client_key,),
        known_hosts=known_hosts or box.known_hosts,
        config=(),  # this machine's ~/.ssh/config must not change what the tests test
    )


@pytest.fixture
def box(sandbox_box):
    return sandbox_box[1]


@pytest.fixture
def events() -> list[Event]:
    return []


@pytest.fixture
async def session(box, events: list[Event]) -> Iterator[SshSession]:
    async with SshSession(_target(box), emit=events.append, sudo_password=Secret(box.sudo_password())) as s:
        yield s


def _stdout(events: list[Event], command_id: str) -> list[str]:
    return [
        line
        for e in events
        if isinstance(e, Output) and e.command_id == command_id and e.stream == "stdout"
        for line in e.lines
    ]


async def _live_processes(session: SshSession, marker: str, wait: float = 5.0) -> list[str]:
    """Live (non-zombie) processes on the box whose command line holds marker, after up to `wait` s."""
    # "[x]yz" matches "xyz" but not itself, so the search never finds its own command line.
    pattern = f"[{marker[0]}]{marker[1:]}"
    probe = sh(
        "for p in $(pgrep -f {pattern}); do ps -o pid=,stat=,args= -p $p; done | grep -v ' Z' || true",
        pattern=pattern,
    )
    deadline = time.monotonic() + wait
    while True:
        found = (await session.run(probe, capture=True)).captured.splitlines()
        if not found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_connect_and_run(session: SshSession, box) -> None:
    result = await session.run(["id", "-un"], capture=True)
    assert result.ok
    assert result.captured == box.user


async def test_one_connection_serves_many_commands(session: SshSession) -> None:
    first = session._conn
    for _ in range(20):
        assert (await session.run(["true"])).ok
    assert session._conn is first


async def test_100000_lines_stream_in_order_with_none_lost(session: SshSession, events: list[Event]) -> None:
    result = await session.run(["seq", "100000"])
    assert result.ok
    assert _stdout(events, result.command_id) == [str(i) for i in range(1, 100_001)]
    batches = [e for e in events if isinstance(e, Output) and e.command_id == result.command_id]
    assert len(batches) > 1, "the output should arrive in several events, not one blob at the end"


async def test_output_arrives_while_the_command_runs(session: SshSession, events: list[Event]) -> None:
    await session.run(Shell("echo first; sleep 1; echo second"))
    stamps = {line: e.ts for e in events if isinstance(e, Output) for line in e.lines}
    assert stamps["second"] - stamps["first"] > 0.7


async def test_progress_with_carriage_returns_arrives_as_updates(session: SshSession, events: list[Event]) -> None:
    from deploy_tui.core.events import OutputUpdate

    result = await session.run(Shell(r"printf '10%%\r'; sleep 0.3; printf '50%%\r'; sleep 0.3; printf 'done\n'"))
    updates = [e.text for e in events if isinstance(e, OutputUpdate) and e.command_id == result.command_id]
    assert updates == ["10%", "50%"]
    assert _stdout(events, result.command_id) == ["done"]


async def test_stdout_and_stderr_are_kept_apart(session: SshSession, events: list[Event]) -> None:
    result = await session.run(Shell("echo out1; echo err1 >&2; echo out2; echo err2 >&2"))
    by_stream = {"stdout": [], "stderr": []}
    for e in events:
        if isinstance(e, Output) and e.command_id == result.command_id:
            by_stream[e.stream] += e.lines
    assert by_stream == {"stdout": ["out1", "out2"], "stderr": ["err1", "err2"]}


async def test_non_zero_exit_status_is_reported(session: SshSession, events: list[Event]) -> None:
    result = await session.run(Shell("echo bye >&2; exit 7"))
    assert result.exit_status == 7
    assert not result.ok
    assert result.stderr_tail == ("bye",)
    finished = [e for e in events if isinstance(e, CommandFinished)]
    assert finished[-1].exit_status == 7


async def test_timeout_stops_the_command_and_its_children(session: SshSession) -> None:
    marker = f"dtui-timeout-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    result = await session.run(sh("sleep 600 & sleep 600; : {m}", m=marker), timeout=1)
    assert result.timed_out
    assert result.exit_status is None
    assert time.monotonic() - started < 10
    assert await _live_processes(session, marker) == []


async def test_cancel_kills_the_remote_process_not_only_the_channel(session: SshSession) -> None:
    marker = f"dtui-cancel-{uuid.uuid4().hex[:8]}"
    task = asyncio.create_task(session.run(sh("sleep 600 & sleep 600; : {m}", m=marker)))
    assert await _wait_for_processes(session, marker)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _live_processes(session, marker) == []


async def test_cancel_of_a_sudo_command_kills_roots_processes_too(session: SshSession) -> None:
    marker = f"dtui-sudocancel-{uuid.uuid4().hex[:8]}"
    task = asyncio.create_task(session.run(sh("sleep 600 & sleep 600; : {m}", m=marker), sudo=True))
    assert await _wait_for_processes(session, marker)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _live_processes(session, marker) == []


async def _wait_for_processes(session: SshSession, marker: str) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if await _live_processes(session, marker, wait=0):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_sudo_with_the_right_password_runs_as_root(session: SshSession) -> None:
    result = await session.run(["id", "-un"], sudo=True, capture=True)
    assert result.ok
    assert result.captured == "root"


async def test_sudo_with_a_wrong_password_fails_fast_and_clearly(box) -> None:
    async with SshSession(_target(box), emit=lambda e: None, sudo_password=Secret("not-the-password")) as s:
        started = time.monotonic()
        with pytest.raises(SudoPasswordRefused) as refused:
            await s.run(["id", "-un"], sudo=True)
        assert time.monotonic() - started < 10
    message = str(refused.value)
    assert "\n" not in message
    assert box.user in message
    assert "not-the-password" not in message


async def test_a_recording_never_holds_the_sudo_password(box, tmp_path: Path) -> None:
    password = box.sudo_password()
    path = tmp_path / "run.jsonl"
    with Recorder(path) as record:
        async with SshSession(_target(box), emit=record, sudo_password=Secret(password)) as s:
            assert (await s.run(["true"], sudo=True)).ok
            # The password itself in the output, the worst case: it must be masked on the way in.
            shown = await s.run(["cat", str(box.sudo_password_file)], sudo=True, capture=True)
            assert shown.ok
            assert shown.captured == MASK
    text = path.read_text()
    assert password not in text
    assert MASK in text
    assert read_recording(path).warning == ""


async def test_values_with_shell_metacharacters_are_data(session: SshSession, box) -> None:
    name = f"dtui-pwned-{uuid.uuid4().hex[:8]}"
    canary = f"$HOME/{name}"
    nasty = f"$(touch {canary}); `touch {canary}`; touch {canary} && echo 'quoted' \"twice\""
    result = await session.run(["printf", "%s\\n", nasty], capture=True)
    assert result.captured == nasty
    result = await session.run(sh("printf '%s\\n' {v}", v=nasty), capture=True)
    assert result.captured == nasty
    # The check itself can fail: the same touch, run as code, does create the file.
    assert not (await session.run(sh('test -e "$HOME"/{n}', n=name))).ok
    assert (await session.run(sh('touch "$HOME"/{n} && test -e "$HOME"/{n} && rm "$HOME"/{n}', n=name))).ok


# Host keys.


async def test_an_unknown_host_key_is_put_to_the_caller_with_its_fingerprint(box, tmp_path: Path) -> None:
    asked: list[HostKeyQuestion] = []

    async def reject(question: HostKeyQuestion) -> HostKeyDecision:
        asked.append(question)
        return HostKeyDecision.REJECT

    events: list[Event] = []
    session = SshSession(
        _target(box, known_hosts=tmp_path / "known_hosts"), emit=events.append, on_unknown_host_key=reject
    )
    with pytest.raises(HostKeyRejected, match="not accepted, so nothing was run"):
        await session.run(["true"])
    assert [q.fingerprint for q in asked] == [box.host_key_fingerprint]
    assert asked[0].host == f"[{box.address}]:{box.ssh_port}"
    assert not any(isinstance(e, CommandStarted) for e in events)


async def test_accept_once_runs_without_saving_and_accept_and_save_saves(box, tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"

    def answer(decision: HostKeyDecision):
        async def ask(question: HostKeyQuestion) -> HostKeyDecision:
            return decision

        return ask

    async with SshSession(
        _target(box, known_hosts),
        emit=lambda e: None,
        on_unknown_host_key=answer(HostKeyDecision.ACCEPT_ONCE),
    ) as s:
        assert (await s.run(["true"])).ok
    assert not known_hosts.exists()

    async with SshSession(
        _target(box, known_hosts),
        emit=lambda e: None,
        on_unknown_host_key=answer(HostKeyDecision.ACCEPT_AND_SAVE),
    ) as s:
        assert (await s.run(["true"])).ok
    assert known_hosts.read_text().startswith(f"[{box.address}]:{box.ssh_port} ssh-ed25519 ")

    # Saved: the next session connects without asking anyone.
    async with SshSession(_target(box, known_hosts), emit=lambda e: None) as s:
        assert (await s.run(["true"])).ok


async def test_no_one_to_ask_means_an_unknown_key_is_refused(box, tmp_path: Path) -> None:
    with pytest.raises(HostKeyRejected):
        async with SshSession(_target(box, tmp_path / "known_hosts"), emit=lambda e: None):
            pass


async def test_a_closed_port_is_a_one_line_error(box) -> None:
    from tests.conftest import free_port

    target = _target(box, port=free_port(box.address))
    with pytest.raises(SshError) as refused:
        async with SshSession(target, emit=lambda e: None):
            pass
    assert "Connection refused" in str(refused.value)
    assert "\n" not in str(refused.value)


async def test_a_changed_host_key_is_refused_like_openssh_and_nothing_runs(make_sandbox, tmp_path: Path) -> None:
    sandbox = make_sandbox("dtuitest2", ("127.0.53.14", "127.0.53.15", "127.0.53.16"), "127.0.53.29")
    box = sandbox.up()
    marker = f"dtui-changed-{uuid.uuid4().hex[:8]}"
    async with SshSession(_target(box), emit=lambda e: None) as s:
        assert (await s.run(["true"])).ok  # the saved key is good
    sandbox.regenerate_host_key()
    events: list[Event] = []
    asked: list[HostKeyQuestion] = []

    async def would_accept(question: HostKeyQuestion) -> HostKeyDecision:
        asked.append(question)
        return HostKeyDecision.ACCEPT_AND_SAVE

    session = SshSession(_target(box), emit=events.append, on_unknown_host_key=would_accept)
    with pytest.raises(HostKeyChanged) as refused:
        await session.run(["touch", f"/tmp/{marker}"])  # noqa: S108 - a marker that must never appear
    message = str(refused.value)
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in message
    assert "ssh-keygen -R" in message
    assert "\n" not in message
    assert asked == []  # a changed key is refused outright, never put to the operator
    assert not any(isinstance(e, CommandStarted) for e in events)
    assert not Path(f"/tmp/{marker}").exists()  # noqa: S108


async def test_a_known_hosts_file_that_is_not_one_is_named_and_never_quoted(box, tmp_path: Path) -> None:
    secret = "hunter2-the-sudo-password"  # noqa: S105 - a stand-in the error must not quote
    bogus = tmp_path / "not_known_hosts"
    bogus.write_text(f"{secret}\n")
    with pytest.raises(SshError) as refused:
        async with SshSession(_target(box, known_hosts=bogus), emit=lambda e: None):
            pass
    message = str(refused.value)
    assert str(bogus) in message
    assert "known_hosts format" in message
    assert secret not in message


async def test_commands_asked_at_once_of_a_new_session_share_one_connection(box, events, monkeypatch) -> None:
    # The engine checks every step together: the first commands race to connect, and must not open one each.
    opened: list[object] = []
    connect = SshSession._connect

    async def counted(self: SshSession) -> None:
        opened.append(self)
        await connect(self)

    monkeypatch.setattr(SshSession, "_connect", counted)
    session = SshSession(_target(box), emit=events.append)
    try:
        results = await asyncio.gather(*(session.run(Shell(f"echo {n}"), capture=True) for n in range(6)))
    finally:
        await session.close()
    assert [r.captured.strip() for r in results] == [str(n) for n in range(6)]
    assert len(opened) == 1
