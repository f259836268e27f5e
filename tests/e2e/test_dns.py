"""The propagation checker against the sandbox's real dnsmasq resolvers and authoritative server."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from deploy_tui.core.events import DnsAnswer, Event, Notice
from deploy_tui.core.resolvers import Resolver
from deploy_tui.remote import dns

pytestmark = pytest.mark.e2e

STAGING = "superlists-staging.test"
BOX = [dns.parse_ip("127.0.0.2")]


@pytest.fixture
def resolvers(sandbox_box) -> tuple[Resolver, ...]:
    _, box = sandbox_box
    return tuple(Resolver(f"sandbox {i}", r.address, r.port, "loopback") for i, r in enumerate(box.resolvers, 1))


@pytest.fixture
def stale_resolver(sandbox_box) -> Iterator[str]:
    """The second resolver answers an old address for the test's duration."""
    sandbox, box = sandbox_box
    address = box.resolvers[1].address
    sandbox.set_resolver_mode(address, "stale")
    try:
        yield address
    finally:
        sandbox.set_resolver_mode(address, "current")


@pytest.fixture
def silent_resolver() -> Iterator[Resolver]:
    """A UDP port that takes queries and never answers, like a resolver behind a dead link."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield Resolver("silent", "127.0.0.1", sock.getsockname()[1], "nowhere")
    finally:
        sock.close()


async def test_all_resolvers_and_the_authority_match(sandbox_box, resolvers) -> None:
    events: list[Event] = []
    summary = await dns.check(STAGING, BOX, resolvers, emit=events.append, timeout=3)
    assert summary.propagated
    assert summary.matched == len(resolvers) == 3
    answers = [e for e in events if isinstance(e, DnsAnswer)]
    assert {a.address for a in answers if a.location != dns.AUTHORITATIVE} == {r.label for r in resolvers}
    assert all(a.records == ("127.0.0.2",) and 0 < (a.ttl or 0) <= 300 for a in answers)
    assert summary.text() == (
        f"3 of 3 resolvers return 127.0.0.2 for {STAGING}; 1 of 1 authoritative nameservers do: propagated"
    )


async def test_the_authoritative_nameserver_is_found_and_asked_directly(sandbox_box, resolvers) -> None:
    _, box = sandbox_box
    servers = await dns.find_nameservers(STAGING, resolvers, 3, lambda e: None, "dns")
    assert [(s.name, s.address) for s in servers] == [(box.ns_name, box.authority.address)]
    summary = await dns.check(STAGING, BOX, resolvers, emit=lambda e: None)
    (authority,) = summary.authoritative_answers
    assert authority.resolver == box.ns_name
    assert authority.status == "match"
    assert authority.ttl == 300


async def test_one_stale_resolver_is_partial_propagation(resolvers, stale_resolver: str) -> None:
    summary = await dns.check(STAGING, BOX, resolvers, emit=lambda e: None)
    assert not summary.propagated
    assert summary.matched == 2
    (stale,) = summary.lagging
    assert stale.address == stale_resolver
    assert stale.records == ("127.0.0.99",)
    assert summary.text() == (
        f"2 of 3 resolvers return 127.0.0.2 for {STAGING}; 1 of 1 authoritative nameservers do; "
        "the stale answers should expire within 5 min (their TTLs)"
    )


async def test_a_name_that_does_not_exist_is_nxdomain_everywhere(resolvers) -> None:
    summary = await dns.check("never-registered.test", BOX, resolvers, emit=lambda e: None)
    assert {a.status for a in summary.resolver_answers} == {"nxdomain"}
    assert not summary.propagated


async def test_a_silent_resolver_times_out_without_delaying_the_others(resolvers, silent_resolver) -> None:
    events: list[Event] = []
    started = time.monotonic()
    summary = await dns.check(
        STAGING, BOX, (silent_resolver, *resolvers), emit=events.append, timeout=2, authoritative=False
    )
    took = time.monotonic() - started
    answers = [e for e in events if isinstance(e, DnsAnswer)]
    silent = [a for a in answers if a.address == silent_resolver.label]
    others = [a for a in answers if a.address != silent_resolver.label]
    assert [a.status for a in silent] == ["timeout"]
    assert len(others) == 3
    assert all(a.status == "match" for a in others)
    # Each answer was reported when it came, long before the silent one gave up.
    assert max(a.ts for a in others) - started < 1.0
    assert silent[0].ts - started >= 1.9
    assert took < 3.5
    assert summary.propagated  # a dead resolver says nothing about the record


async def test_watch_waits_until_the_stale_resolver_catches_up(sandbox_box, resolvers, stale_resolver) -> None:
    sandbox, _ = sandbox_box
    events: list[Event] = []

    async def catch_up() -> None:
        await asyncio.sleep(1.5)
        await asyncio.to_thread(sandbox.set_resolver_mode, stale_resolver, "current")

    fixer = asyncio.create_task(catch_up())
    summary = await dns.watch(
        STAGING, BOX, resolvers, emit=events.append, deadline=30, first_wait=0.5, authoritative=False
    )
    await fixer
    assert summary.propagated
    waits = [e.text for e in events if isinstance(e, Notice)]
    assert waits
    assert all("asking again in" in text for text in waits)
    rounds = sum(1 for e in events if isinstance(e, DnsAnswer) and e.address == stale_resolver)
    assert rounds >= 2


async def test_watch_gives_up_at_the_deadline(resolvers, stale_resolver) -> None:
    started = time.monotonic()
    summary = await dns.watch(
        STAGING, BOX, resolvers, emit=lambda e: None, deadline=1.5, first_wait=0.5, authoritative=False
    )
    assert not summary.propagated
    assert time.monotonic() - started < 6


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy_tui", "dns", *args], capture_output=True, text=True, timeout=60
    )


def test_cli_exits_0_only_when_propagated(resolvers, tmp_path) -> None:
    flags = [arg for r in resolvers for arg in ("--resolver", r.label)]
    ok = _cli(STAGING, "--expect", "127.0.0.2", *flags)
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert sum(line.startswith("match") for line in lines) == 4  # three resolvers and the authority
    assert lines[-1].endswith(": propagated")

    wrong = _cli(STAGING, "--expect", "127.0.0.7", *flags)
    assert wrong.returncode == 1
    assert "0 of 3 resolvers return 127.0.0.7" in wrong.stdout


def test_cli_reads_resolvers_from_deploy_toml(resolvers, tmp_path) -> None:
    config = tmp_path / "deploy.toml"
    listed = ", ".join(f'{{ address = "{r.label}", name = "box {i}" }}' for i, r in enumerate(resolvers))
    config.write_text(f"[dns]\nresolvers = [{listed}]\n")
    result = _cli(STAGING, "--expect", "127.0.0.2", "--config", str(config), "--no-authoritative")
    assert result.returncode == 0, result.stderr
    assert "box 0" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bad_name.test", "--expect", "127.0.0.2"], "'bad_name.test' is not a host name"),
        ([STAGING, "--expect", "127.0.0.300"], "'127.0.0.300' is not an IP address"),
        (
            [STAGING, "--expect", "127.0.0.2", "--resolver", "dns.google"],
            "resolver 'dns.google' is not an IP",
        ),
        (["a" * 64 + ".test", "--expect", "127.0.0.2"], "longer than 63"),
    ],
)
def test_cli_bad_input_is_one_line(args: list[str], message: str) -> None:
    result = _cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
