"""The `deploy-tui` command line, run as a real process."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploy_tui import __version__
from deploy_tui.cli.main import main
from deploy_tui.core.shown import shown_path
from tests.conftest import CHECKOUT, free_port
from tests.procs import stop, wait_until_serving

DEPLOY_TUI = [sys.executable, "-m", "deploy_tui"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DEPLOY_TUI, *args], capture_output=True, text=True, timeout=60)


def test_version() -> None:
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"deploy-tui {__version__}"


def test_help_lists_the_commands() -> None:
    result = _run("--help")
    assert result.returncode == 0
    assert "serve" in result.stdout


def test_bad_address_is_one_line_naming_the_value() -> None:
    result = _run("serve", "example.com:80")
    assert result.returncode == 2
    assert "'example.com:80': the address must be an IP" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_runs_the_site_locally(tmp_path: Path) -> None:
    port = free_port("127.0.0.2")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_DB_PATH"] = str(tmp_path / "db.sqlite3")
    server = subprocess.Popen(
        [*DEPLOY_TUI, "serve", f"127.0.0.2:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # 127.0.0.2 is not in debug's localhost set; the Host header is.
        response = wait_until_serving(f"http://127.0.0.2:{port}/", server, host="localhost")
        assert response.status_code == 200
        assert "<title>To-Do lists</title>" in response.text
        # serve migrated the database it was given before starting.
        assert (tmp_path / "db.sqlite3").stat().st_size > 0
    finally:
        stop(server)


def _alias_config(tmp_path: Path, address: str = "") -> Path:
    """A site whose host is an ~/.ssh/config alias this machine cannot resolve (under .test: no query leaves)."""
    config = tmp_path / "deploy.toml"
    extra = f'address = "{address}"\n' if address else ""
    config.write_text(
        "[sites.staging]\n"
        'domain = "superlists-staging.test"\n'
        'host = "staging-box.test"\n'
        'user = "elspeth"\n'
        'repo = "https://example.test/superlists.git"\n' + extra
    )
    return config


def test_a_dry_run_with_an_alias_host_and_no_address_is_one_line_naming_the_field(tmp_path: Path) -> None:
    result = _run("run", "--config", str(_alias_config(tmp_path)), "--dry-run")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "sites.staging.address is not set" in lines[0]
    assert "'staging-box.test' does not resolve" in lines[0]


def test_a_dry_run_with_an_alias_host_and_an_address_shows_every_command_and_connects_nowhere(tmp_path: Path) -> None:
    result = _run("run", "--config", str(_alias_config(tmp_path, "127.0.0.2")), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "deploy-tui dns superlists-staging.test --expect 127.0.0.2" in result.stdout
    assert "would run $ sudo DEBIAN_FRONTEND=noninteractive apt-get" in result.stdout
    assert ".venv/bin/pip install -r requirements.txt" in result.stdout
    assert "[elspeth@staging-box.test]" in result.stdout
    assert "run passed" in result.stdout


# Bad input, in process: one line naming the flag or field, exit 2, and nothing run.


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> str:
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert lines[0].isprintable()
    assert len(lines[0]) <= 300
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to start the run (and so touch the server) fails the test."""

    async def execute(*args: object, **kwargs: object) -> None:
        raise AssertionError("the run started")

    monkeypatch.setattr("deploy_tui.runner.execute", execute)


def _site(tmp_path: Path) -> Path:
    return _alias_config(tmp_path, "127.0.0.2")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing", "no such file"),
        (lambda d: d, "a directory"),
        (lambda d: _write(d / "empty", b""), "empty; write the sudo password on its first line"),
        (lambda d: _write(d / "blank", b"\nhunter2\n"), "its first line is empty"),
        (lambda d: _write(d / "binary", b"\xff\xfe\x00secret\x80"), "not UTF-8 text"),
        (lambda d: Path("/dev/zero"), "not a regular file"),
    ],
)
@pytest.mark.usefixtures("nothing_runs")
def test_a_sudo_password_file_that_cannot_give_a_password_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, message: str
) -> None:
    path = make(tmp_path)
    code, _, err = _main(
        capsys, "run", "--config", str(_site(tmp_path)), "--headless", "--checkout", str(CHECKOUT),
        "--sudo-password-file", str(path),
    )  # fmt: skip
    assert code == 2
    line = _one_line(err)
    assert line.startswith(f"deploy-tui: --sudo-password-file {path}: {message}")
    assert "hunter2" not in line
    assert "secret" not in line


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_the_sudo_password_is_the_files_first_line(tmp_path: Path) -> None:
    from deploy_tui.cli.prompts import password_from_file

    assert password_from_file(_write(tmp_path / "pw", "\ufeffhunter2 \u00e9\r\nsecond\n".encode())) == "hunter2 \u00e9"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.usefixtures("nothing_runs")
def test_ctrl_d_at_the_sudo_prompt_cancels_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass

    def end_of_input(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(getpass, "getpass", end_of_input)
    code, _, err = _main(capsys, "run", "--config", str(_site(tmp_path)), "--headless", "--checkout", str(CHECKOUT))
    assert code == 2
    assert "no sudo password given (end of input)" in _one_line(err)


def test_ctrl_d_at_the_host_key_question_is_no(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import builtins

    from deploy_tui.cli.prompts import ask_on_terminal
    from deploy_tui.remote.known_hosts import HostKeyDecision, HostKeyQuestion

    def end_of_input(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(builtins, "input", end_of_input)
    question = HostKeyQuestion("[127.0.0.2]:2222", "ssh-ed25519", "SHA256:abc", Path("known_hosts"))
    assert asyncio.run(ask_on_terminal(question)) is HostKeyDecision.REJECT
    assert _one_line(capsys.readouterr().err) == "deploy-tui: no answer (end of input): the host key is rejected"


def test_the_prompts_live_in_the_cli_not_the_runner() -> None:
    import deploy_tui.runner

    assert not hasattr(deploy_tui.runner, "read_password")
    assert not hasattr(deploy_tui.runner, "ask_on_terminal")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d, "a directory"),
        (lambda d: Path("/proc/version"), "already there"),
        (lambda d: Path("/dev/null"), "not a regular file"),
        (lambda d: _write(d / "old.jsonl", b""), "already there, and each run writes a recording of its own"),
        (lambda d: d / "no" / "such" / "run.jsonl", "its directory is not there, or not writable"),
        (lambda d: d / "run\udcff\x1b.jsonl", "the name has a control or invisible character"),
    ],
)
@pytest.mark.usefixtures("nothing_runs")
def test_a_recording_path_that_is_not_a_new_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, message: str
) -> None:
    path = make(tmp_path)
    config = _site(tmp_path)
    code, _, err = _main(
        capsys, "run", "--config", str(config), "--dry-run", "--checkout", str(CHECKOUT), "--recording", str(path)
    )
    assert code == 2
    assert _one_line(err).startswith(f"deploy-tui: --recording {shown_path(path)}: {message}")


@pytest.mark.parametrize("port", ["\uff12\uff12", "2_222", "\u00b2", "+22", " 22", "0", "65536", "9" * 5000])
def test_a_port_flag_takes_ascii_digits_only(tmp_path: Path, capsys: pytest.CaptureFixture[str], port: str) -> None:
    code, _, err = _main(capsys, "run", "--config", str(_site(tmp_path)), "--dry-run", "--port", port)
    assert code == 2
    line = _one_line(err)
    assert line.startswith("deploy-tui run: argument --port: ")
    assert "from 1 to 65535 in the digits 0-9" in line


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--timeout", "inf", "argument --timeout: 'inf' is not a number of seconds"),
        ("--timeout", "0", "argument --timeout: '0' is not a number of seconds"),
        ("--timeout", "1e3", "argument --timeout: '1e3' is not a number of seconds"),
        ("--deadline", "nan", "argument --deadline: 'nan' is not a number of seconds"),
        ("--deadline", "-5", "argument --deadline: '-5' is not a number of seconds"),
        ("--resolver", "127.0.53.1:\u00b2", "resolver '127.0.53.1:\u00b2': the port must be a number"),
        ("--resolver", "127.0.53.1\x1b[2J", r"resolver '127.0.53.1\x1b[2J' has a control"),
    ],
)
def test_dns_flags_that_are_not_finite_positive_numbers_or_addresses_are_one_line(
    capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    code, _, err = _main(capsys, "dns", "superlists.test", "--expect", "127.0.0.2", flag, value)
    assert code == 2
    assert message in _one_line(err)


def test_dns_with_a_config_that_is_not_text_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _main(capsys, "dns", "superlists.test", "--expect", "127.0.0.2", "--config", "/bin/ls")
    assert code == 2
    assert _one_line(err).startswith("deploy-tui: /bin/ls: not UTF-8 text")


def test_exporting_an_empty_recording_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recording = _write(tmp_path / "empty.jsonl", b"")
    out = tmp_path / "out.cast"
    code, _, err = _main(capsys, "replay", str(recording), "--export", "cast", str(out))
    assert code == 2
    assert _one_line(err) == (
        f"deploy-tui: {recording} has no events; give a recording of a run (deploy-tui replay lists them)"
    )
    assert not out.exists()


def test_exporting_to_a_device_is_refused_and_leaves_it_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deploy_tui.core import events

    recording = _write(
        tmp_path / "run.jsonl", (events.to_json(events.RunFinished(status="passed", duration=1.0)) + "\n").encode()
    )
    before = Path("/dev/null").stat().st_mode
    code, _, err = _main(capsys, "replay", str(recording), "--export", "cast", "/dev/null")
    assert code == 2
    assert _one_line(err) == "deploy-tui: --export cast /dev/null: not a regular file; give a file's path"
    assert Path("/dev/null").stat().st_mode == before


def test_replaying_a_recording_with_a_field_of_the_wrong_type_warns_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deploy_tui.core import events

    good = events.to_json(events.StepStarted(step="dns", title="DNS points at the server"))
    bad = events.to_json(events.StepFinished(step="dns", status="passed", duration=0.2)).replace("0.2", '"x"')
    recording = _write(tmp_path / "run.jsonl", f"{good}\n{bad}\n".encode())
    code, out, err = _main(capsys, "replay", str(recording))
    assert code == 0
    assert "dns: DNS points at the server" in out
    assert _one_line(err) == (
        f"deploy-tui: warning: {recording} is damaged at line 2: StepFinished.duration must be a number, "
        "not a string; showing the 1 events before it"
    )


def test_a_recording_that_is_no_recording_at_all_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = _write(tmp_path / "lines.jsonl", b'{"v":1,"kind":"Output","lines":5}\n')
    code, _, err = _main(capsys, "replay", str(recording))
    assert code == 2
    assert "has no events (damaged at line 1: Output." in _one_line(err)


def test_a_checkout_that_is_not_a_directory_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _main(capsys, "run", "--config", str(_site(tmp_path)), "--dry-run", "--checkout", "/etc/passwd")
    assert code == 2
    assert _one_line(err).startswith("deploy-tui: --checkout /etc/passwd: no such directory")


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--site", "x" * 10_000],
        ["run", "--only", "\x1b[2J" * 3_000],
        ["run", "--bogus", "\u202e" * 10_000],
        ["dns", "x" * 10_000, "--expect", "127.0.0.2"],
        ["dns", "superlists.test", "--expect", "\x9b" * 10_000],
    ],
)
def test_a_ten_thousand_character_value_makes_a_short_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    if argv[0] == "run":
        argv = [*argv, "--config", str(_site(tmp_path))]
    code, _, err = _main(capsys, *argv)
    assert code == 2
    _one_line(err)


# deploy-tui web: what a tab would run is checked in the terminal first.


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve"], "deploy-tui: deploy-tui web serves run, demo or replay, not 'serve'"),
        (
            ["run", "--headless"],
            "deploy-tui: --headless prints plain lines: run deploy-tui run --headless in a terminal",
        ),
        (["run", "--dry-run"], "deploy-tui: --dry-run prints plain lines"),
        (["run", "--config", "no-such.toml"], "deploy-tui: "),
        (["run", "--only", "nope"], "deploy-tui run: "),
    ],
)
def test_web_refuses_in_one_line_what_a_browser_tab_could_not_show(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = subprocess.run(
        [*DEPLOY_TUI, "web", "--port", str(free_port("127.0.0.1")), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--host", "localhost.example"], "deploy-tui web: argument --host: 'localhost.example': give an IP address"),
        (["--port", "0"], "deploy-tui web: argument --port:"),
    ],
)
def test_web_bad_flags_are_one_line(flags: list[str], message: str) -> None:
    result = _run("web", *flags)
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_web_on_a_port_in_use_says_so_and_the_fix() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run("web", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"deploy-tui: --port {port}: cannot listen on 127.0.0.1:{port} (Address already in use); choose another"
    )
