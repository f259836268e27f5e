"""Benchmark: does `dns.check` ask every resolver at once, so a round costs about its slowest answer?

Twenty small DNS responders play resolvers around the world: each answers every A query
with 127.0.0.2 (TTL 300) after its own delay, most within 5-40 ms, a few within 120-250 ms,
the slowest after 400 ms. They run in a child process (its own event loop, so serving
never competes with the client being measured) on 127.0.0.1 only, each on a port the
kernel picked; nothing leaves loopback. Each repetition measures

  (a) one concurrent `dns.check(..., authoritative=False)` of all twenty,
  (b) `dns.query` of the slowest responder alone, and
  (c) `dns.query` of each of the twenty in turn,

and the medians are compared: (a) / (b) should be at most 1.3, and (c) / (a) shows
what asking at once saves. Every answer must be "match" (127.0.0.2), or the benchmark
stops with an error. Run it by hand:

    .venv/bin/python benchmarks/dns_concurrency.py [--runs 15] [--write-readme]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import ipaddress
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import dns.exception
import dns.message
import dns.rdatatype
import dns.rrset
import dns.version
from readme_section import replace_section  # benchmarks/ is the script's own folder

from deploy_tui.core.events import DnsAnswer, Event
from deploy_tui.core.resolvers import Resolver
from deploy_tui.remote import dns as deploy_dns

DOMAIN = "superlists.example.com"
ANSWER_IP = "127.0.0.2"
ANSWER_TTL = 300
HOST = "127.0.0.1"
TARGET = 1.3  # concurrent / slowest-single, at most
README = Path(__file__).with_name("README.md")
START_MARKER = "<!-- dns-concurrency:start -->"
END_MARKER = "<!-- dns-concurrency:end -->"

# (name, location, delay in ms): a spread like the public resolvers deploy-tui asks by default.
RESPONDERS: tuple[tuple[str, str, float], ...] = (
    ("Cloudflare", "Global (anycast)", 5),
    ("Google", "Global (anycast)", 8),
    ("Quad9", "Switzerland", 12),
    ("DNS.WATCH", "Germany", 14),
    ("CleanBrowsing", "Netherlands", 15),
    ("dns0.eu", "France", 16),
    ("OpenDNS", "United States", 18),
    ("Hurricane Electric", "United States", 20),
    ("Level3", "United States", 22),
    ("Mullvad", "Sweden", 24),
    ("Comodo Secure DNS", "United States", 25),
    ("Control D", "Canada", 28),
    ("CIRA Canadian Shield", "Canada", 30),
    ("AdGuard", "Cyprus", 35),
    ("Quad101", "Taiwan", 38),
    ("Yandex", "Russia", 40),
    ("Claro", "Brazil", 120),
    ("AliDNS", "China", 180),
    ("OpenNIC (Australia)", "Australia", 250),
    ("Liquid Telecom", "South Africa", 400),
)


class BenchmarkError(RuntimeError):
    """A wrong answer or a responder that would not start: the figures would mean nothing."""


# The responders (child process).


class DelayedResponder(asyncio.DatagramProtocol):
    """Answers every A query with ANSWER_IP after `delay` seconds; other types get an empty NOERROR."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport is not a DatagramTransport subclass on 3.11.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            query = dns.message.from_wire(data)
        except (dns.exception.DNSException, ValueError):
            return  # a datagram that is not DNS gets no answer, as from a resolver
        response = dns.message.make_response(query)
        if query.question and query.question[0].rdtype == dns.rdatatype.A:
            qname = query.question[0].name
            response.answer.append(dns.rrset.from_text(qname, ANSWER_TTL, "IN", "A", ANSWER_IP))
        wire = response.to_wire()
        asyncio.get_running_loop().call_later(self.delay, self._send, wire, addr)

    def _send(self, wire: bytes, addr: tuple[str, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(wire, addr)


async def serve(delays_ms: list[float]) -> None:
    """Bind one responder per delay on HOST, print their ports as one JSON line, serve until stdin closes."""
    loop = asyncio.get_running_loop()
    transports: list[asyncio.DatagramTransport] = []
    try:
        for delay in delays_ms:
            transport, _ = await loop.create_datagram_endpoint(
                lambda delay=delay: DelayedResponder(delay / 1000), local_addr=(HOST, 0)
            )
            transports.append(transport)
        ports = [t.get_extra_info("sockname")[1] for t in transports]
        print(json.dumps(ports), flush=True)
        # The parent closes our stdin to stop us, and so does its death.
        await loop.run_in_executor(None, sys.stdin.buffer.read)
    finally:
        for transport in transports:
            transport.close()


# The measurements (parent process).


class Responders:
    """The child process serving RESPONDERS; a context manager that always stops it."""

    def __init__(self, start_timeout: float = 10.0) -> None:
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.resolvers: tuple[Resolver, ...] = ()

    def __enter__(self) -> Responders:
        delays = json.dumps([delay for _, _, delay in RESPONDERS])
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", delays],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        try:
            assert self.process.stdout is not None
            ready, _, _ = select.select([self.process.stdout], [], [], self.start_timeout)
            line = self.process.stdout.readline() if ready else b""
            if not line:
                raise BenchmarkError(
                    f"the responders did not start within {self.start_timeout:.0f} s"
                    f" (exit status {self.process.poll()})"
                )
            ports = json.loads(line)
            if len(ports) != len(RESPONDERS):
                raise BenchmarkError(f"expected {len(RESPONDERS)} responder ports, got {ports!r}")
            self.resolvers = tuple(
                Resolver(name, HOST, int(port), location)
                for (name, location, _), port in zip(RESPONDERS, ports, strict=True)
            )
            assert all(ipaddress.ip_address(r.address).is_loopback for r in self.resolvers)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def expect_match(what: str, resolver: str, status: str, records: tuple[str, ...]) -> None:
    if status not in ("match", "answered") or records != (ANSWER_IP,):
        raise BenchmarkError(
            f"{what}: {resolver} answered {status} {records!r}, expected {ANSWER_IP}: the figures are void"
        )


async def concurrent_check(resolvers: tuple[Resolver, ...], timeout: float) -> float:
    events: list[Event] = []
    started = time.perf_counter()
    summary = await deploy_dns.check(
        DOMAIN,
        [ipaddress.ip_address(ANSWER_IP)],
        resolvers,
        emit=events.append,
        timeout=timeout,
        authoritative=False,
        step="benchmark",
    )
    elapsed = time.perf_counter() - started
    answers = [e for e in events if isinstance(e, DnsAnswer)]
    if len(answers) != len(resolvers) or len(summary.answers) != len(resolvers):
        raise BenchmarkError(
            f"concurrent check: {len(answers)} answers for {len(resolvers)} resolvers ({len(events)} events)"
        )
    for answer in answers:
        expect_match("concurrent check", answer.resolver, answer.status, answer.records)
        if answer.status != "match":
            raise BenchmarkError(f"concurrent check: {answer.resolver} is {answer.status}, not match")
    if summary.matched != len(resolvers) or not summary.propagated:
        raise BenchmarkError(f"concurrent check: summary says {summary.text()!r}")
    return elapsed


async def single_query(resolver: Resolver, timeout: float) -> float:
    started = time.perf_counter()
    status, records, ttl, _ = await deploy_dns.query(DOMAIN, "A", resolver, timeout)
    elapsed = time.perf_counter() - started
    expect_match("slowest single", resolver.name, status, records)
    if ttl != ANSWER_TTL:
        raise BenchmarkError(f"slowest single: {resolver.name} gave TTL {ttl}, expected {ANSWER_TTL}")
    return elapsed


async def sequential_queries(resolvers: tuple[Resolver, ...], timeout: float) -> float:
    started = time.perf_counter()
    for resolver in resolvers:
        status, records, _, _ = await deploy_dns.query(DOMAIN, "A", resolver, timeout)
        expect_match("sequential", resolver.name, status, records)
    return time.perf_counter() - started


@dataclass
class Results:
    concurrent: list[float]
    slowest: list[float]
    sequential: list[float]
    runs_asked: int
    elapsed: float


async def measure(resolvers: tuple[Resolver, ...], runs: int, timeout: float, budget: float) -> Results:
    slowest = max(zip(RESPONDERS, resolvers, strict=True), key=lambda pair: pair[0][2])[1]
    results = Results([], [], [], runs, 0.0)
    modes: list[tuple[list[float], Callable[[], Awaitable[float]]]] = [
        (results.concurrent, lambda: concurrent_check(resolvers, timeout)),
        (results.slowest, lambda: single_query(slowest, timeout)),
        (results.sequential, lambda: sequential_queries(resolvers, timeout)),
    ]
    for _, run in modes:  # warm-up: imports, first sockets; not counted
        await run()
    started = time.perf_counter()
    for index in range(runs):
        if index and time.perf_counter() - started > budget:
            print(f"time budget of {budget:.0f} s spent after {index} of {runs} runs", file=sys.stderr)
            break
        shift = index % len(modes)  # rotate the order so none always goes first
        for samples, run in modes[shift:] + modes[:shift]:
            samples.append(await run())
    results.elapsed = time.perf_counter() - started
    return results


# The report.


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def report(results: Results, timeout: float) -> str:
    med_c = statistics.median(results.concurrent)
    med_s = statistics.median(results.slowest)
    med_q = statistics.median(results.sequential)
    ratio = med_c / med_s
    saved = med_q / med_c
    delays = [delay for _, _, delay in RESPONDERS]
    fast = [d for d in delays if d <= 40]
    slow = [d for d in delays if d > 40]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 0
    runs = len(results.concurrent)
    lines = [
        "### DNS concurrency (`benchmarks/dns_concurrency.py`)",
        "",
        f"- Date: {now}",
        f"- Machine: nproc {cpus}, Python {platform.python_version()}, {platform.machine()}"
        f" (dnspython {dns.version.version})",
        f"- Method: {len(RESPONDERS)} asyncio UDP responders on {HOST} (ports picked by the kernel),"
        f" in a child process, each answering A {ANSWER_IP} TTL {ANSWER_TTL} after its delay:"
        f" {len(fast)} within {min(fast):.0f}-{max(fast):.0f} ms,"
        f" {len(slow) - 1} at {', '.join(f'{d:.0f}' for d in slow[:-1])} ms, the slowest {slow[-1]:.0f} ms"
        f" (sum {sum(delays):.0f} ms). {runs} runs (of {results.runs_asked} asked) after one warm-up,"
        f" the order of the three rotating each run; per-query timeout {timeout:g} s."
        f" Every answer was checked to be `match`.",
        "",
        "| measurement | median ms | min ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    rows = (
        (
            f"(a) concurrent `dns.check` of all {len(RESPONDERS)}, authoritative=False",
            results.concurrent,
        ),
        (f"(b) slowest responder alone (`dns.query`, {max(delays):.0f} ms delay)", results.slowest),
        (f"(c) sequential `dns.query` of the {len(RESPONDERS)} in turn", results.sequential),
    )
    for label, samples in rows:
        lines.append(f"| {label} | {ms(statistics.median(samples))} | {ms(min(samples))} | {ms(max(samples))} |")
    met = "met" if ratio <= TARGET else "NOT met"
    lines += [
        "",
        "| ratio (of medians) | value | target |",
        "|---|---:|---|",
        f"| concurrent / slowest single | {ratio:.2f}x | <= {TARGET}x: **{met}** |",
        f"| sequential / concurrent | {saved:.1f}x | (what asking at once saves) |",
        "",
    ]
    return "\n".join(lines)


README_INTRO = f"""# Benchmarks

Benchmarks measure how deploy-tui behaves, not whether it is correct: they are run by
hand, when the code they measure changes, and their figures are recorded here. They are
never timed assertions in the test suite, where a slow or busy machine would make them
flaky.

| benchmark | what it measures |
|---|---|
| `dns_concurrency.py` | a DNS propagation check asks all resolvers at once: a round costs its slowest one |

Rerun one and update its section below:

    .venv/bin/python benchmarks/dns_concurrency.py --write-readme

Without `--write-readme` it only prints the table. Absolute figures vary by machine and
load; the ratios are what matter.

## Results

{START_MARKER}
{END_MARKER}
"""


def write_readme(section: str) -> None:
    replace_section(START_MARKER, END_MARKER, section, README_INTRO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="repetitions (default 15)")
    parser.add_argument("--timeout", type=float, default=3.0, help="per-query timeout in seconds (default 3)")
    parser.add_argument(
        "--budget", type=float, default=120.0, help="stop repeating after this many seconds (default 120)"
    )
    parser.add_argument("--write-readme", action="store_true", help=f"replace the section in {README.name}")
    parser.add_argument("--serve", metavar="DELAYS_JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve([float(d) for d in json.loads(args.serve)]))
        return 0
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        with Responders() as responders:
            results = asyncio.run(measure(responders.resolvers, args.runs, args.timeout, args.budget))
    except BenchmarkError as error:
        print(f"dns_concurrency: FAILED: {error}", file=sys.stderr)
        return 1
    section = report(results, args.timeout)
    print(section)
    if args.write_readme:
        write_readme(section)
        print(f"wrote {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
