"""Hostile input wherever the operator types it: one short line naming the field, exit 2, never a traceback.

The fuzz draws deploy.toml values, command-line arguments and recordings from hostile
alphabets (control characters, bidi overrides, emoji, superscript and full-width digits,
huge strings, wrong types) and checks the standard every error keeps. Nothing here
touches the network: hosts are IP literals or `*.test` with an `address`, the DNS
check itself is stubbed, and any name lookup outside `.test` fails the test.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import socket
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import tomli_w
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from deploy_tui.cli.main import main
from deploy_tui.core import events
from deploy_tui.core.config import SITE_KEYS, ConfigError, from_dict
from deploy_tui.core.shown import shown
from deploy_tui.remote import dns
from tests.conftest import CHECKOUT

STAGING = {
    "domain": "superlists-staging.test",
    "host": "127.0.0.2",
    "user": "elspeth",
    "repo": "https://example.test/superlists.git",
    "address": "127.0.0.2",
}
LIMIT = 300
# Hypothesis keeps caches in ./.hypothesis by default: keep them out of the checkout.
set_hypothesis_home_dir(str(Path(tempfile.gettempdir()) / "deploy-tui-hypothesis"))
# No example database: the fuzz leaves no files behind; the module's own directory is reused across examples.
FUZZ = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Hostile pieces: C0 and C1 controls, DEL, ESC sequences, bidi overrides and isolates, zero-width and
# byte-order marks, line separators, emoji, superscript and full-width digits, shell and path specials.
PIECES = [
    "\x00", "\x07", "\x1b", "\x1b[2J", "\x1b]0;pwned\x07", "\x7f", "\x85", "\x9b", "\u202e", "\u2066", "\u200b",
    "\ufeff", "\u2028", "\t", "\n", "\r", "\U0001f389", "\U0001f469\u200d\U0001f4bb", "\u00b2", "\uff12\uff12",
    "2_222", "\u0663", "..", "/", "~/", "-", "'", '"', "$(id)", "\u00e9", "\u00df", "\ud800", "\udcff", "a", "1",
    ".", ":", "@",
]  # fmt: skip
HUGE = ["x" * 10_000, "\x1b" * 5_000, "9" * 5_000, "\u202e" * 3_000]

hostile_text = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=8).map("".join),
    st.text(max_size=30),
    st.sampled_from(HUGE),
)
wrong_type = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.booleans(),
    st.lists(st.one_of(st.integers(), hostile_text), max_size=3),
    st.dictionaries(hostile_text, st.integers(), max_size=2),
)
hostile_value = st.one_of(hostile_text, wrong_type)


def is_hidden(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf") and char != "\t"


def check_error_line(text: str, names: Sequence[str]) -> None:
    """The standard: one line, at most LIMIT characters, no raw control character, naming the field."""
    lines = text.rstrip("\n").split("\n")
    assert len(lines) == 1, text
    line = lines[0]
    assert len(line) <= LIMIT, line
    assert not any(is_hidden(c) for c in line), ascii(line)
    assert any(name in line for name in names), (line, names)


# The one helper every error shows a value with.


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("main", "'main'"),
        ("it's", "'it\\'s'"),
        ("a\x1b[2Jb", "'a\\x1b[2Jb'"),
        ("\x9b\x7f\x00\t\n", "'\\x9b\\x7f\\x00\\t\\n'"),
        ("ma\u202ein", "'ma\\u202ein'"),
        ("\U000e0041", "'\\U000e0041'"),  # a tag character (Cf)
        ("caf\u00e9 \U0001f389 \u00b2", "'caf\u00e9 \U0001f389 \u00b2'"),  # visible: shown as they are
        (22, "22"),
        (["a\x1b"], "['a\\x1b']"),
    ],
)
def test_shown_escapes_what_a_terminal_would_act_on(value: object, expected: str) -> None:
    assert shown(value) == expected


def test_shown_cuts_a_long_value_and_says_how_long_it_was() -> None:
    assert shown("x" * 10_000, 10) == "'xxxxxxxxxx…' (10000 characters)"
    assert shown("\x1b" * 10, 10) == "'\\x1b\\x1b…' (10 characters)"  # the limit counts what is shown
    assert shown("runs/a\x1b", quote=False) == "runs/a\\x1b"
    assert shown("hunter2", secret=True) == "'********'"


# deploy.toml values, straight into from_dict.


@settings(FUZZ, max_examples=300)
@given(values=st.dictionaries(st.sampled_from([*sorted(SITE_KEYS), "colour", "x\x1b[2J"]), hostile_value, max_size=3))
@example(values={"branch": "main\x9b"})
@example(values={"branch": "a\u202eb"})
@example(values={"site_dir": "~/"})
@example(values={"site_dir": "/"})
@example(values={"site_dir": "~/.ssh"})
@example(values={"site_dir": "~/" + "a/" * 20})
@example(values={"known_hosts": ""})
@example(values={"identity_file": "/etc/passwd"})
@example(values={"domain": "127.0.0.1"})
@example(values={"domain": "🎉.example.com"})
@example(values={"port": "\uff12\uff12"})
@example(values={"port": 10**30})
@example(values={"repo": "x" * 10_000})
@example(values={"env": {"DJANGO_SECRET_KEY": "hunter2{x}"}})
def test_hostile_site_values_are_one_line_naming_the_key(values: dict[str, Any]) -> None:
    message = _config_error({"sites": {"staging": {**STAGING, **values}}})
    if message:
        check_error_line(message, [f"sites.staging.{shown(key, 40, quote=False)}" for key in values])
        assert "hunter2" not in message


def _config_error(data: dict[str, Any]) -> str:
    """from_dict's error for data, or "" when it is a good config."""
    try:
        from_dict(data, "deploy.toml", {})
    except ConfigError as error:
        return str(error)
    return ""


@settings(FUZZ, max_examples=150)
@given(
    name=hostile_text,
    dns_table=st.one_of(
        st.dictionaries(st.sampled_from(["resolvers", "resolver", "servers"]), hostile_value, max_size=2),
        st.fixed_dictionaries({"resolvers": st.lists(hostile_value, min_size=1, max_size=3)}),
        st.fixed_dictionaries(
            {"resolvers": st.lists(st.dictionaries(st.sampled_from(["address", "name", "location"]), hostile_value))}
        ),
        hostile_value,
    ),
)
@example(name="staging", dns_table={"resolver": ["1.1.1.1"]})
@example(name="staging", dns_table={})
@example(name="staging", dns_table={"resolvers": ["127.0.53.1:²"]})
@example(name="staging", dns_table={"resolvers": [{"address": "127.0.53.1", "name": "box\x1b[2J"}]})
@example(name="st\u202eaging", dns_table={"resolvers": ["127.0.53.1"]})
def test_hostile_site_names_and_dns_tables_are_one_line(name: str, dns_table: Any) -> None:
    message = _config_error({"sites": {name: STAGING}, "dns": dns_table})
    if message:
        check_error_line(message, ["[sites.", "dns"])


# The command line, in process.


@contextlib.contextmanager
def no_lookups_outside_test() -> Iterator[None]:
    """Fail on any name lookup that would leave this machine: only IP literals and *.test may be looked up."""
    real_getaddrinfo = socket.getaddrinfo

    def local_only(host: Any) -> None:
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(name)
            return
        assert name.rstrip(".").endswith(".test") or name in ("", "localhost"), f"looked up {name!r}"

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        local_only(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: str) -> str:
        local_only(host)
        raise socket.gaierror(socket.EAI_NONAME, "not looked up in tests")

    with (
        mock.patch.object(socket, "getaddrinfo", getaddrinfo),
        mock.patch.object(socket, "gethostbyname", gethostbyname),
    ):
        yield


def run_cli(argv: Sequence[str], where: Path) -> tuple[int, str, str]:
    """main(argv) in process, in `where`, with no lookup outside .test: (exit status, stdout, stderr)."""
    # Streams that encode as a terminal's do (UTF-8, strict): text that cannot be printed fails here too.
    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True) for _ in range(2))
    with (
        contextlib.chdir(where),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        no_lookups_outside_test(),
    ):
        try:
            code: Any = main(list(argv))
        except SystemExit as exit_:
            code = exit_.code
    return code, _written(out), _written(err)


def _written(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8")


def check_cli(code: int, err: str, names: Sequence[str]) -> None:
    event(f"exit {code}")
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err
    if code == 2:
        check_error_line(err, names)
    else:
        for line in err.splitlines():  # warnings, if any, keep the standard too
            check_error_line(line, ["deploy-tui"])


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of its own for the fuzz's files: relative paths it draws land here, never in the checkout."""
    return tmp_path_factory.mktemp("bad-input")


def _toml(values: dict[str, Any]) -> str:
    """values in deploy.toml's text; a value TOML cannot hold (None, a lone surrogate) is left out."""
    kept = {}
    for key, value in values.items():
        try:
            tomli_w.dumps({key: value}).encode("utf-8")
        except (TypeError, ValueError, UnicodeError):
            continue
        kept[key] = value
    return tomli_w.dumps({"sites": {"staging": {**STAGING, **kept}}})


RUN_FLAGS = ["--port", "--branch", "--site", "--recording", "--sudo-password-file", "--domain", "--user", "--only"]


@settings(FUZZ, max_examples=150)
@given(
    values=st.one_of(
        st.just({}),
        st.dictionaries(st.sampled_from(sorted(SITE_KEYS - {"host", "address"})), hostile_value, max_size=2),
    ),
    flags=st.lists(st.tuples(st.sampled_from(RUN_FLAGS), hostile_text), max_size=2),
    host=st.sampled_from(["127.0.0.2", "::1", "staging-box.test"]),
)
@example(values={}, flags=[("--port", "\uff12\uff12")], host="127.0.0.2")
@example(values={}, flags=[("--port", "2_222")], host="127.0.0.2")
@example(values={}, flags=[("--port", "²")], host="127.0.0.2")
@example(values={}, flags=[("--branch", "main\x1b[2J")], host="127.0.0.2")
@example(values={}, flags=[("--recording", "/dev/null")], host="127.0.0.2")
@example(values={}, flags=[("--recording", "/proc/version")], host="127.0.0.2")
@example(values={}, flags=[("--recording", ".")], host="127.0.0.2")
@example(values={}, flags=[("--sudo-password-file", "/no/such/file")], host="127.0.0.2")
@example(values={}, flags=[("--sudo-password-file", ".")], host="127.0.0.2")
@example(values={}, flags=[("--site", "x" * 10_000)], host="127.0.0.2")
@example(values={}, flags=[("--only", "\u202e" * 3_000)], host="127.0.0.2")
@example(values={"identity_file": "/etc/passwd"}, flags=[], host="127.0.0.2")
@example(values={"site_dir": "/"}, flags=[], host="127.0.0.2")
@example(values={"known_hosts": ""}, flags=[], host="127.0.0.2")
@example(values={}, flags=[], host="staging-box.test")
def test_run_dry_run_with_hostile_config_and_flags(
    place: Path, values: dict[str, Any], flags: list[tuple[str, str]], host: str
) -> None:
    config = place / "deploy.toml"
    config.write_text(_toml({**values, "host": host}))
    argv = ["run", "--config", str(config), "--dry-run", "--checkout", str(CHECKOUT)]
    for flag, value in flags:
        argv += [flag, value]
    code, _, err = run_cli(argv, place)
    check_cli(code, err, ["sites.staging", "--", str(config), "no site"])


@settings(FUZZ, max_examples=40)
@given(data=st.binary(max_size=200))
@example(data=b"\xff\xfe[sites.staging]\n")
@example(data=Path("/bin/ls").read_bytes()[:4096])
@example(data=b"[sites.staging]\ndomain = '\x1b[2J'\n")
@example(data=b"[dns]\nresolver = ['1.1.1.1']\n")
def test_run_with_a_config_file_that_is_not_toml(place: Path, data: bytes) -> None:
    config = place / "raw.toml"
    config.write_bytes(data)
    code, _, err = run_cli(["run", "--config", str(config), "--dry-run", "--checkout", str(CHECKOUT)], place)
    check_cli(code, err, [str(config)])
    assert code == 2  # no bytes of this size make a whole site


async def _no_dns(domain: str, expected: Any, resolvers: Any, **options: Any) -> dns.Summary:
    """The DNS check, stubbed: what reaches it was accepted; nothing is asked."""
    return dns.Summary(domain, tuple(str(e) for e in expected), ())


@settings(FUZZ, max_examples=200)
@given(
    domain=st.one_of(hostile_text, st.just("superlists.test")),
    resolvers=st.lists(
        st.one_of(hostile_text, st.sampled_from(["127.0.53.1", "127.0.53.1:5353", "[::1]:53"])), max_size=2
    ),
    timeout=st.one_of(hostile_text, st.sampled_from(["3", "0.5", "inf", "nan", "-1", "0", "1e3", "\uff13"])),
    deadline=st.one_of(hostile_text, st.sampled_from(["60", "nan", "Infinity", "1e400"])),
)
@example(domain="superlists.test", resolvers=["127.0.53.1:²"], timeout="3", deadline="60")
@example(domain="superlists.test", resolvers=["127.0.53.1:\uff12\uff12"], timeout="3", deadline="60")
@example(domain="superlists.test", resolvers=["127.0.53.1"], timeout="inf", deadline="60")
@example(domain="superlists.test", resolvers=["127.0.53.1"], timeout="3", deadline="nan")
@example(domain="127.0.0.1", resolvers=["127.0.53.1"], timeout="3", deadline="60")
@example(domain="🎉.test", resolvers=["127.0.53.1"], timeout="3", deadline="60")
@example(domain="x" * 10_000, resolvers=["127.0.53.1"], timeout="3", deadline="60")
@example(domain="superlists.test", resolvers=["127.0.53.1"], timeout="3", deadline="60")
def test_dns_with_hostile_arguments(
    place: Path, domain: str, resolvers: list[str], timeout: str, deadline: str
) -> None:
    argv = ["dns", domain, "--expect", "127.0.0.2", "--no-authoritative", "--config", str(place / "none.toml")]
    for resolver in resolvers:
        argv += ["--resolver", resolver]
    argv += ["--timeout", timeout, "--deadline", deadline]
    with mock.patch.object(dns, "check", _no_dns), mock.patch.object(dns, "watch", _no_dns):
        code, _, err = run_cli(argv, place)
    check_cli(code, err, ["domain", "resolver", "--timeout", "--deadline", "deploy-tui dns"])


# Recordings.

SAMPLE_LINES = [
    events.to_json(events.RunStarted(run_id="r1", site="staging", started_at="2026-11-25T18:00:00+00:00")),
    events.to_json(events.StepStarted(step="dns", title="DNS points at the server")),
    events.to_json(events.Output(step="venv", command_id="c1", stream="stdout", lines=("a", "b"))),
    events.to_json(events.StepFinished(step="dns", status="passed", duration=0.2)),
    events.to_json(events.RunFinished(status="passed", duration=1.0)),
]


@st.composite
def recordings(draw: st.DrawFn) -> bytes:
    """Good lines, lines with one field given a hostile value, and raw bytes, in any order."""
    lines = []
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        line = draw(st.sampled_from(SAMPLE_LINES))
        choice = draw(st.integers(min_value=0, max_value=3))
        if choice == 1:
            data = json.loads(line)
            key = draw(st.sampled_from(sorted(data)))
            data[key] = draw(st.one_of(hostile_value, st.none()))
            line = json.dumps(data, ensure_ascii=draw(st.booleans()), allow_nan=True)
        elif choice == 2:
            line = draw(st.binary(max_size=60)).decode("utf-8", errors="replace")
        lines.append(line.encode("utf-8", errors="surrogatepass") + b"\n")
    return b"".join(lines)


@settings(FUZZ, max_examples=150)
@given(data=recordings(), export=st.booleans())
@example(data=b"", export=True)
@example(data=SAMPLE_LINES[3].replace('"duration":0.2', '"duration":"x"').encode() + b"\n", export=False)
@example(data=SAMPLE_LINES[2].replace('"lines":["a","b"]', '"lines":5').encode() + b"\n", export=False)
@example(
    data=(SAMPLE_LINES[0] + "\n" + SAMPLE_LINES[2].replace('"lines":["a","b"]', '"lines":5')).encode() + b"\n",
    export=True,
)
@example(data=Path("/bin/ls").read_bytes()[:2048], export=False)
def test_replay_of_hostile_recordings(place: Path, data: bytes, export: bool) -> None:
    recording = place / "hostile.jsonl"
    recording.write_bytes(data)
    argv = ["replay", str(recording)] + (["--export", "cast", str(place / "out.cast")] if export else [])
    code, _, err = run_cli(argv, place)
    check_cli(code, err, [str(recording)])
    if not data:
        assert code == 2
        assert "has no events" in err
