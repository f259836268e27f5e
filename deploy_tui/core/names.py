"""Domain names, addresses and numbers as an operator types them, checked and normalised, with one-line errors.

Light on purpose (standard library only), so configuration and screens can check
names without loading the DNS client.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from encodings import idna

from deploy_tui.core.shown import shown

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Control characters, bidi overrides and other invisible formatting, line and paragraph separators, surrogates.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# What a label of an internationalised name is made of (IDNA 2008's letters, marks and digits): no emoji, no symbols.
_IDNA_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Nd"})


class DnsInputError(ValueError):
    """A domain, address or resolver the operator typed that cannot be used; one line."""


def hidden_character(text: str) -> str | None:
    """The first control or invisible formatting character in text (ESC, DEL, C1, U+202E...), or None."""
    return next((c for c in text if unicodedata.category(c) in _HIDDEN), None)


def ascii_number(text: str, digits: int = 10) -> int | None:
    """text as a whole number when it is 1 to `digits` ASCII digits, else None.

    str.isdigit() and int() accept superscripts (²), full-width digits (U+FF12), "2_222",
    signs and spaces; a number typed for a port or a count is none of those.
    """
    if 0 < len(text) <= digits and text.isascii() and text.isdigit():
        return int(text)
    return None


def parse_domain(text: str) -> str:
    """A domain as DNS sees it (IDNA-encoded, lower case, no trailing dot), or a one-line error."""
    raw = text.strip()
    if not raw or raw != text or any(c.isspace() for c in raw):
        raise DnsInputError(f"domain {shown(text)} is empty or has spaces: give a name like superlists.example.com")
    hidden = hidden_character(raw)
    if hidden is not None:
        raise DnsInputError(
            f"domain {shown(text)} has a control or invisible character ({shown(hidden, quote=False)}): "
            "type the name again, like superlists.example.com"
        )
    if len(raw) > 254:
        raise DnsInputError(f"domain {shown(text)} is longer than DNS allows (253 characters)")
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        pass
    else:
        raise DnsInputError(
            f"domain {shown(text)} is an IP address, not a domain name: give the name, like superlists.example.com"
        )
    labels = []
    for label in raw.rstrip(".").split("."):
        if not label:
            raise DnsInputError(f"domain {shown(text)} is not a valid name: it has an empty label")
        if not label.isascii():
            odd = next((c for c in label if c != "-" and unicodedata.category(c) not in _IDNA_CATEGORIES), None)
            if odd is not None:
                raise DnsInputError(
                    f"domain {shown(text)} has {shown(odd)}, which no domain name can hold: "
                    "use letters, digits and inner hyphens"
                )
        try:
            encoded = label if label.isascii() else idna.ToASCII(label).decode("ascii")
        except UnicodeError as error:
            raise DnsInputError(f"domain {shown(text)} is not a valid name: {shown(str(error), quote=False)}") from None
        if len(encoded) > 63:
            raise DnsInputError(f"domain {shown(text)} has a label longer than 63 characters")
        labels.append(encoded.lower())
    name = ".".join(labels)
    if len(name) > 253:
        raise DnsInputError(f"domain {shown(text)} is longer than DNS allows (253 characters)")
    if len(labels) < 2:
        raise DnsInputError(f"domain {shown(text)} has no dot: give the full name, like superlists.example.com")
    for label in labels:
        if label.startswith("-") or label.endswith("-") or not all(c.isalnum() or c == "-" for c in label):
            raise DnsInputError(
                f"domain {shown(text)} is not a host name: use letters, digits and inner hyphens between dots"
            )
    if labels[-1].isdigit():
        raise DnsInputError(
            f"domain {shown(text)} ends in a number, as no domain does (is it an address?): "
            "give the name, like superlists.example.com"
        )
    return name


def parse_ip(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise DnsInputError(f"{shown(text)} is not an IP address: give one like 203.0.113.7 or 2001:db8::7") from None
