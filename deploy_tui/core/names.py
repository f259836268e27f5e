"""Domain names and IP addresses as an operator types them, checked and normalised, with one-line errors.

Light on purpose (standard library only), so configuration and screens can check
names without loading the DNS client.
"""

from __future__ import annotations

import ipaddress
from encodings import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DnsInputError(ValueError):
    """A domain, address or resolver the operator typed that cannot be used; one line."""


def parse_domain(text: str) -> str:
    """A domain as DNS sees it (IDNA-encoded, lower case, no trailing dot), or a one-line error."""
    raw = text.strip()
    if not raw or raw != text or any(c.isspace() for c in raw):
        raise DnsInputError(f"domain {text!r} is empty or has spaces: give a name like superlists.example.com")
    labels = []
    for label in raw.rstrip(".").split("."):
        if not label:
            raise DnsInputError(f"domain {text!r} is not a valid name: it has an empty label")
        try:
            encoded = label if label.isascii() else idna.ToASCII(label).decode("ascii")
        except UnicodeError as error:
            raise DnsInputError(f"domain {text!r} is not a valid name: {error}") from None
        if len(encoded) > 63:
            raise DnsInputError(f"domain {text!r} has a label longer than 63 characters")
        labels.append(encoded.lower())
    name = ".".join(labels)
    if len(name) > 253:
        raise DnsInputError(f"domain {text!r} is longer than DNS allows (253 characters)")
    if len(labels) < 2:
        raise DnsInputError(f"domain {text!r} has no dot: give the full name, like superlists.example.com")
    for label in labels:
        if label.startswith("-") or label.endswith("-") or not all(c.isalnum() or c == "-" for c in label):
            raise DnsInputError(
                f"domain {text!r} is not a host name: use letters, digits and inner hyphens between dots"
            )
    return name


def parse_ip(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise DnsInputError(f"{text!r} is not an IP address: give one like 203.0.113.7 or 2001:db8::7") from None
