"""Which resolvers to ask: a default set spread over continents and operators, or the operator's own.

The defaults are public resolvers of the kind propagation-checking sites use. They
are only ever asked when the operator runs a real check; tests and the sandbox
always name loopback resolvers of their own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deploy_tui.core.names import ascii_number, hidden_character
from deploy_tui.core.shown import shown


class ResolverInputError(ValueError):
    """A resolver the operator named that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Resolver:
    name: str
    address: str
    port: int = 53
    location: str = ""

    @property
    def label(self) -> str:
        """address, or address:port when the port is not 53 ([v6]:port for IPv6)."""
        if self.port == 53:
            return self.address
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


DEFAULT_RESOLVERS: tuple[Resolver, ...] = (
    Resolver("Google", "8.8.8.8", location="Global (anycast)"),
    Resolver("Cloudflare", "1.1.1.1", location="Global (anycast)"),
    Resolver("Quad9", "9.9.9.9", location="Switzerland"),
    Resolver("OpenDNS", "208.67.222.222", location="United States"),
    Resolver("Level3", "4.2.2.1", location="United States"),
    Resolver("Comodo Secure DNS", "8.26.56.26", location="United States"),
    Resolver("Hurricane Electric", "74.82.42.42", location="United States"),
    Resolver("Control D", "76.76.2.0", location="Canada"),
    Resolver("CIRA Canadian Shield", "149.112.121.10", location="Canada"),
    Resolver("DNS.WATCH", "84.200.69.80", location="Germany"),
    Resolver("dns0.eu", "193.110.81.0", location="France"),
    Resolver("Mullvad", "194.242.2.2", location="Sweden"),
    Resolver("AdGuard", "94.140.14.14", location="Cyprus"),
    Resolver("Yandex", "77.88.8.8", location="Russia"),
    Resolver("AliDNS", "223.5.5.5", location="China"),
    Resolver("DNSPod", "119.29.29.29", location="China"),
    Resolver("Quad101", "101.101.101.101", location="Taiwan"),
    Resolver("CleanBrowsing", "185.228.168.9", location="Netherlands"),
    Resolver("OpenNIC (Australia)", "103.1.206.179", location="Australia"),
    Resolver("Claro", "200.248.178.54", location="Brazil"),
    Resolver("Liquid Telecom", "41.57.120.161", location="South Africa"),
)


def parse_resolver(text: str) -> Resolver:
    """ADDRESS, ADDRESS:PORT or [IPV6]:PORT, named after itself."""
    raw = text.strip()
    address, port = raw, 53
    if hidden_character(raw) is not None:
        raise ResolverInputError(
            f"resolver {shown(text)} has a control or invisible character: give an address like 1.1.1.1"
        )
    if raw.startswith("["):
        address, sep, rest = raw[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ResolverInputError(f"resolver {shown(text)}: write an IPv6 resolver as [ADDRESS]:PORT")
        port_text = rest[1:] if rest else None
    elif raw.count(":") == 1:
        address, port_text = raw.split(":")
    else:
        port_text = None
    if port_text is not None:
        number = ascii_number(port_text, digits=5)
        if number is None or not 1 <= number <= 65535:
            raise ResolverInputError(
                f"resolver {shown(text)}: the port must be a number from 1 to 65535, in the digits 0-9"
            )
        port = number
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ResolverInputError(
            f"resolver {shown(text)} is not an IP address: give one like 1.1.1.1, 127.0.0.53:5353 or [::1]:53"
        ) from None
    return Resolver(str(ip), str(ip), port, "")


DNS_KEYS = ("resolvers",)


def resolvers_from_config(data: dict[str, Any], source: str) -> tuple[Resolver, ...] | None:
    """The `[dns] resolvers = [...]` list of a deploy.toml, or None when it has no [dns] table.

    Each entry is "ADDRESS[:PORT]" or a table {address = "...", name = "...", location = "..."}.
    A [dns] table says the operator meant to choose: a misspelt key, or none, is an error,
    never a quiet fall back to the public resolvers.
    """
    if "dns" not in data:
        return None
    section = data["dns"]
    if not isinstance(section, dict):
        raise ResolverInputError(f'{source}: dns must be a table: [dns] with resolvers = ["ADDRESS[:PORT]", ...]')
    unknown = sorted(set(section) - set(DNS_KEYS))
    if unknown:
        raise ResolverInputError(
            f"{source}: dns.{shown(unknown[0], 40, quote=False)}: unknown key; the [dns] keys are {', '.join(DNS_KEYS)}"
        )
    if "resolvers" not in section:
        raise ResolverInputError(
            f'{source}: [dns] has no resolvers: add resolvers = ["1.1.1.1", ...], '
            "or remove [dns] to ask the default public resolvers"
        )
    entries = section["resolvers"]
    if not isinstance(entries, list) or not entries:
        raise ResolverInputError(f"{source}: dns.resolvers must be a non-empty list of addresses")
    resolvers = []
    for index, entry in enumerate(entries):
        where = f"{source}: dns.resolvers[{index}]"
        if isinstance(entry, str):
            resolvers.append(_named(entry, where))
        elif isinstance(entry, dict):
            unknown = sorted(set(entry) - {"address", "name", "location"})
            if unknown or not isinstance(entry.get("address"), str):
                raise ResolverInputError(
                    f'{where}: a table needs address = "IP[:PORT]" and may have name and location'
                    + (f" (unknown: {shown(', '.join(unknown), 60, quote=False)})" if unknown else "")
                )
            base = _named(entry["address"], where)
            resolvers.append(
                Resolver(
                    _label(entry, "name", where) or base.name,
                    base.address,
                    base.port,
                    _label(entry, "location", where),
                )
            )
        else:
            raise ResolverInputError(f"{where}: give an address string or a table")
    return tuple(resolvers)


def _label(entry: dict[str, Any], key: str, where: str) -> str:
    """A resolver's name or location: shown in tables and recordings, so one short line of visible text."""
    value = entry.get(key, "")
    if not isinstance(value, str):
        raise ResolverInputError(f"{where}.{key} = {shown(value)}: must be a string in quotes")
    if hidden_character(value) is not None or len(value) > 64:
        raise ResolverInputError(
            f"{where}.{key} = {shown(value)}: must be at most 64 visible characters, with no control characters"
        )
    return value


def _named(text: str, where: str) -> Resolver:
    try:
        return parse_resolver(text)
    except ResolverInputError as error:
        raise ResolverInputError(f"{where}: {error}") from None


def load_resolvers(
    flags: Sequence[str], data: dict[str, Any] | None = None, source: str = "deploy.toml"
) -> tuple[Resolver, ...]:
    """Flags win, then deploy.toml's [dns] list (data, as read), then the defaults."""
    if flags:
        return tuple(parse_resolver(flag) for flag in flags)
    return (resolvers_from_config(data, source) if data else None) or DEFAULT_RESOLVERS
