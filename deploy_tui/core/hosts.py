"""ALLOWED_HOSTS as Django matches it, for deploy.toml's check, the preflight and the diagnoses (F15).

Django compares the request's host, lower-cased, without its port or a trailing dot, against each
entry exactly ("*" and ".domain" aside). So an entry with a port, a trailing dot, quotes, a scheme,
or a whole Python list written into one variable is a host no request ever has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IPV6_HOST = re.compile(r"^\[[0-9A-Fa-f:.]+\](?::\d*)?$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_PORT = re.compile(r":\d*$")
ALLOWED_HOSTS_VARIABLE = re.compile(r"ALLOWED_HOST", re.IGNORECASE)  # a site env variable that feeds ALLOWED_HOSTS


@dataclass(frozen=True)
class HostProblem:
    """An ALLOWED_HOSTS entry no request matches: why, and the entry it should be."""

    entry: str
    why: str
    fixed: str


def host_allows(entry: str, domain: str) -> bool:
    """Django's match of one ALLOWED_HOSTS entry against a bare host name ("*", ".domain" for it and below)."""
    pattern = entry.lower()
    return pattern == "*" or pattern == domain or (pattern.startswith(".") and f".{domain}".endswith(pattern))


def _bare_host(text: str) -> str:
    """The host name an entry was meant to be: no quotes, scheme, path, port or trailing dot."""
    name = text.strip().strip("'\"").strip()
    name = _SCHEME.sub("", name).split("/")[0]
    if name.startswith("["):
        return name.split("]")[0] + "]"
    return _PORT.sub("", name).rstrip(".")


def host_problem(entry: str) -> HostProblem | None:
    """Why Django never matches this ALLOWED_HOSTS entry, or None when it can."""
    text = entry.strip()
    if text.startswith("[") and not _IPV6_HOST.match(text):
        names = [_bare_host(part) for part in text.strip("[]").split(",")]
        why = "is a Python list written as text: ALLOWED_HOSTS gets it as one host name, brackets included"
        return HostProblem(entry, why, ",".join(name for name in names if name))
    if "," in text:
        why = "holds several names, and each entry of ALLOWED_HOSTS is one host name"
        return HostProblem(entry, why, _bare_host(text.split(",")[0]))
    if any(quote in text for quote in "'\""):
        why = "has quotes in it: a variable holds its text as it is, and the quotes become part of the host name"
    elif _SCHEME.match(text) or "/" in text:
        why = "is a URL: ALLOWED_HOSTS holds bare host names, without http:// or a path"
    elif _PORT.search(text.split("]")[-1]):  # after an IPv6 literal's brackets, if any
        why = "has a port: Django compares the request's host without its port"
    elif text.endswith(".") and text != ".":
        why = "ends in a dot: Django drops the trailing dot of the request's host before comparing"
    else:
        return None
    return HostProblem(entry, why, _bare_host(text))


def env_hosts(
    env: tuple[tuple[str, str], ...],
    domain: str,
    allowed: tuple[str, ...],
    names: tuple[str, ...] = (),
    *,
    comma_split: bool = True,
) -> tuple[tuple[str, str], ...]:
    """(variable, entry) for each ALLOWED_HOSTS entry the site's env gives, placeholders filled.

    names: the variables the settings read ALLOWED_HOSTS from; by default those named like it.
    comma_split: the settings split the value on commas (else the value is one entry). A list
    written as text is one entry either way: it is the list, not its names, that is wrong.
    """
    found: list[tuple[str, str]] = []
    for name, value in env:
        if not (name in names if names else ALLOWED_HOSTS_VARIABLE.search(name)):
            continue
        text = value.replace("{domain}", domain).replace("{allowed_hosts}", ",".join(allowed))
        listed = text.strip().startswith("[") and not _IPV6_HOST.match(text.strip())
        entries = [text] if listed or not comma_split else [part.strip() for part in text.split(",") if part.strip()]
        found += [(name, entry) for entry in entries]
    return tuple(found)


def env_host_problems(
    env: tuple[tuple[str, str], ...],
    domain: str,
    allowed: tuple[str, ...],
    names: tuple[str, ...] = (),
    *,
    comma_split: bool = True,
) -> tuple[tuple[str, HostProblem], ...]:
    """(variable, problem) for each entry of env_hosts that no request can match."""
    given = env_hosts(env, domain, allowed, names, comma_split=comma_split)
    return tuple((name, problem) for name, entry in given if (problem := host_problem(entry)) is not None)
