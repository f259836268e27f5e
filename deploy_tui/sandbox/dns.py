"""The sandbox's DNS as dnsmasq command lines: one authoritative nameserver and the resolvers.

The authority serves the zones of the configured domains (their last label, e.g. "test") as
ns1.sandbox-dns.<first zone>, answering each domain with the box address. The resolvers play
public DNS: "current" forwards the zones to the authority; "stale" and "nxdomain" answer the
domains themselves (an old cached record, or NXDOMAIN) but still forward the rest of the zones,
so NS lookups and the nameserver's own name resolve through every resolver, as on the internet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

DNSMASQ = "/usr/sbin/dnsmasq"
TTL = 300


def zones(domains: Sequence[str]) -> list[str]:
    """The zones the authority serves: the last label of each domain, in order, once each."""
    return list(dict.fromkeys(domain.rpartition(".")[2] for domain in domains))


def ns_name(domains: Sequence[str]) -> str:
    return f"ns1.sandbox-dns.{zones(domains)[0]}"


def pid_file(dns_dir: Path, address: str) -> Path:
    return dns_dir / f"{address}.pid"


def log_file(dns_dir: Path, address: str) -> Path:
    return dns_dir / f"{address}.log"


def _common(dns_dir: Path, address: str, port: int) -> list[str]:
    # A running dnsmasq is kept when its command line contains the wanted one (sandbox.system.is_ours);
    # each command line ends with its TTL option, so containing it means being it.
    return [
        DNSMASQ,
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        f"--listen-address={address}",
        f"--port={port}",
        f"--pid-file={pid_file(dns_dir, address)}",
        f"--log-facility={log_file(dns_dir, address)}",
    ]


def authority_argv(dns_dir: Path, address: str, port: int, domains: Sequence[str], box_address: str) -> list[str]:
    """The authoritative nameserver: SOA/NS for each zone, the domains at box_address, TTL 300."""
    name = ns_name(domains)
    return [
        *_common(dns_dir, address, port),
        f"--auth-server={name},{address}",
        *(f"--auth-zone={zone}" for zone in zones(domains)),
        *(f"--host-record={domain},{box_address}" for domain in domains),
        f"--host-record={name},{address}",
        f"--auth-ttl={TTL}",
    ]


def resolver_argv(
    dns_dir: Path,
    address: str,
    port: int,
    mode: str,
    domains: Sequence[str],
    answer: str,
    authority: tuple[str, int],
) -> list[str]:
    """A public resolver: forwards the zones to the authority; unless current, it answers the
    domains itself with `answer` (an empty answer is NXDOMAIN)."""
    authority_address, authority_port = authority
    return [
        *_common(dns_dir, address, port),
        *(f"--server=/{zone}/{authority_address}#{authority_port}" for zone in zones(domains)),
        *([] if mode == "current" else (f"--address=/{domain}/{answer}" for domain in domains)),
        f"--local-ttl={TTL}",
    ]
