"""DNS propagation: ask many resolvers at once, and the domain's own nameservers, whether it points home.

Every resolver is asked concurrently with its own timeout, and each answer becomes
a `DnsAnswer` event the moment it arrives, so a slow or dead resolver never holds
up the others. The authoritative nameservers are found through the resolvers (NS
records, walking up to the parent zone when the name has none) and asked directly
without recursion: what they say is what every resolver will say once its cached
answer expires, which the summary estimates from the stale answers' TTLs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from deploy_tui.core.events import DnsAnswer, Notice, Sink
from deploy_tui.core.names import DnsInputError, IPAddress, parse_domain, parse_ip
from deploy_tui.core.resolvers import Resolver

# Statuses that say a resolver does not (yet) see the new record; the others
# (refused, servfail, timeout) say nothing about propagation, only about the resolver.
NOT_PROPAGATED = frozenset({"stale", "nxdomain", "no-answer"})
AUTHORITATIVE = "authoritative"
__all__ = [
    "AUTHORITATIVE",
    "DnsInputError",
    "Summary",
    "check",
    "find_nameservers",
    "parse_domain",
    "parse_ip",
    "watch",
]


@dataclass(frozen=True)
class Summary:
    """Where propagation stands after one round of answers."""

    domain: str
    expected: tuple[str, ...]
    answers: tuple[DnsAnswer, ...]

    @property
    def resolver_answers(self) -> tuple[DnsAnswer, ...]:
        return tuple(a for a in self.answers if a.location != AUTHORITATIVE)

    @property
    def authoritative_answers(self) -> tuple[DnsAnswer, ...]:
        return tuple(a for a in self.answers if a.location == AUTHORITATIVE)

    @property
    def matched(self) -> int:
        return sum(a.status == "match" for a in self.resolver_answers)

    @property
    def lagging(self) -> tuple[DnsAnswer, ...]:
        return tuple(a for a in self.answers if a.status in NOT_PROPAGATED)

    @property
    def propagated(self) -> bool:
        """At least one resolver, and none that answered otherwise, returns the expected address."""
        return self.matched > 0 and not self.lagging

    def expires_within(self) -> int | None:
        """Seconds until the last lagging answer's cache entry runs out, when the TTLs tell."""
        ttls = [a.ttl for a in self.lagging if a.ttl is not None and a.location != AUTHORITATIVE]
        return max(ttls) if ttls and len(ttls) == len(self.lagging) else None

    def text(self) -> str:
        total = len(self.resolver_answers)
        line = f"{self.matched} of {total} resolvers return {', '.join(self.expected)} for {self.domain}"
        authority = self.authoritative_answers
        if authority:
            good = sum(a.status == "match" for a in authority)
            line += f"; {good} of {len(authority)} authoritative nameservers do"
        if self.propagated:
            return line + ": propagated"
        expiry = self.expires_within()
        if expiry is not None and not any(a.status != "match" for a in authority):
            line += f"; the stale answers should expire within {_duration(expiry)} (their TTLs)"
        return line


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


async def query(
    domain: str, rdtype: str, resolver: Resolver, timeout: float, *, recursion: bool = True
) -> tuple[str, tuple[str, ...], int | None, float | None]:
    """Ask one server; (status, records, ttl, latency). Never raises for what a server does."""
    message = dns.message.make_query(domain, rdtype)
    if not recursion:
        message.flags &= ~dns.flags.RD
    started = time.monotonic()
    try:
        response = await dns.asyncquery.udp(message, resolver.address, timeout=timeout, port=resolver.port)
        if response.flags & dns.flags.TC:
            remaining = max(0.1, timeout - (time.monotonic() - started))
            response = await dns.asyncquery.tcp(message, resolver.address, timeout=remaining, port=resolver.port)
    except dns.exception.Timeout:
        return "timeout", (), None, None
    except (OSError, dns.exception.DNSException) as error:
        return f"error: {error}", (), None, None
    latency = time.monotonic() - started
    rcode = response.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return "nxdomain", (), _soa_ttl(response), latency
    if rcode != dns.rcode.NOERROR:
        return dns.rcode.to_text(rcode).lower(), (), None, latency
    wanted = dns.rdatatype.from_text(rdtype)
    records: list[str] = []
    ttl: int | None = None
    for rrset in response.answer:
        if rrset.rdtype == wanted:
            records += [rdata.to_text() for rdata in rrset]
            ttl = rrset.ttl if ttl is None else min(ttl, rrset.ttl)
    if not records:
        return "no-answer", (), _soa_ttl(response), latency
    return "answered", tuple(sorted(records)), ttl, latency


def _soa_ttl(response: dns.message.Message) -> int | None:
    """How long a negative answer is cached: the SOA's TTL in the authority section, when sent."""
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return int(rrset.ttl)
    return None


def _rdtypes(expected: Sequence[IPAddress]) -> dict[str, tuple[str, ...]]:
    by_type: dict[str, list[str]] = {}
    for address in expected:
        by_type.setdefault("A" if address.version == 4 else "AAAA", []).append(str(address))
    return {rdtype: tuple(sorted(values)) for rdtype, values in by_type.items()}


def _status(found: str, records: tuple[str, ...], expected: tuple[str, ...]) -> str:
    if found != "answered":
        return found
    return "match" if records == expected else "stale"


async def check(
    domain: str,
    expected: Sequence[IPAddress],
    resolvers: Iterable[Resolver],
    *,
    emit: Sink,
    timeout: float = 3.0,
    authoritative: bool = True,
    step: str = "dns",
) -> Summary:
    """One round: every resolver and every authoritative nameserver, concurrently."""
    wanted = _rdtypes(expected)
    answers: list[DnsAnswer] = []

    def report(answer: DnsAnswer) -> None:
        answers.append(answer)
        emit(answer)

    async def ask(resolver: Resolver, rdtype: str, location: str, recursion: bool) -> None:
        found, records, ttl, latency = await query(domain, rdtype, resolver, timeout, recursion=recursion)
        report(
            DnsAnswer(
                step=step,
                domain=domain,
                resolver=resolver.name,
                address=resolver.label,
                location=location,
                status=_status(found, records, wanted[rdtype]),
                records=records,
                ttl=ttl,
                latency=latency,
                rdtype=rdtype,
            )
        )

    resolvers = tuple(resolvers)
    async with asyncio.TaskGroup() as group:
        for resolver in resolvers:
            for rdtype in wanted:
                group.create_task(ask(resolver, rdtype, resolver.location, True))
        if authoritative and resolvers:

            async def ask_authority() -> None:
                for server in await find_nameservers(domain, resolvers, timeout, emit, step):
                    for rdtype in wanted:
                        group.create_task(ask(server, rdtype, AUTHORITATIVE, False))

            group.create_task(ask_authority())
    ordered = tuple(sorted(answers, key=lambda a: a.ts))
    return Summary(domain, tuple(v for values in wanted.values() for v in values), ordered)


async def find_nameservers(
    domain: str, resolvers: Sequence[Resolver], timeout: float, emit: Sink, step: str
) -> list[Resolver]:
    """The nameservers of the zone holding domain, found through the first resolvers that answer."""
    labels = domain.split(".")
    for resolver in resolvers[:3]:
        for start in range(len(labels)):
            zone = ".".join(labels[start:])
            found, names, _, _ = await query(zone, "NS", resolver, timeout)
            if found != "answered":
                if found in ("timeout", "refused", "servfail") or found.startswith("error"):
                    break  # this resolver cannot help; try the next one
                continue  # no NS at this name: walk up to the parent zone
            servers: list[Resolver] = []
            for name in names:
                host = name.rstrip(".")
                _, addresses, _, _ = await query(host, "A", resolver, timeout)
                servers += [Resolver(host, address, 53, AUTHORITATIVE) for address in addresses]
            if servers:
                return servers
    emit(
        Notice(
            step=step,
            level="warning",
            text=f"could not find the authoritative nameservers of {domain} through the resolvers",
        )
    )
    return []


async def watch(
    domain: str,
    expected: Sequence[IPAddress],
    resolvers: Sequence[Resolver],
    *,
    emit: Sink,
    deadline: float,
    timeout: float = 3.0,
    first_wait: float = 5.0,
    longest_wait: float = 120.0,
    authoritative: bool = True,
    step: str = "dns",
) -> Summary:
    """Check, wait, check again, until propagated or the deadline (seconds from now) passes.

    The wait doubles each round, and is cut short to when the stale answers' TTLs say
    their cache entries run out.
    """
    ends = time.monotonic() + deadline
    wait = first_wait
    while True:
        summary = await check(
            domain, expected, resolvers, emit=emit, timeout=timeout, authoritative=authoritative, step=step
        )
        left = ends - time.monotonic()
        if summary.propagated or left <= 0:
            return summary
        expiry = summary.expires_within()
        pause = min(wait, left, (expiry + 1) if expiry is not None else wait)
        emit(Notice(step=step, level="info", text=f"{summary.text()}; asking again in {pause:.0f} s"))
        await asyncio.sleep(pause)
        wait = min(wait * 2, longest_wait)
