"""A step that could not do its job, and the facts it found: what a diagnosis reads.

Facts are typed fields, not a bag: a rule asks `failure.facts.outside` and the type
checker knows what that is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Probe:
    """One HTTP request to the site, from outside (this machine) or inside (the server)."""

    url: str
    vantage: str  # "outside" or "inside"
    status: int | None
    title: str
    error: str  # "refused", "timeout", "unreachable: ...", or "" when an HTTP answer came
    body: str
    latency: float | None
    server: str = ""  # the answer's Server header: nginx, WSGIServer (runserver), or someone else's
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class SshAuth:
    """What was offered when the server refused our keys: for telling which of the usual slips it is."""

    user: str
    host: str
    identity_files: tuple[str, ...] = ()  # deploy.toml's identity_file (or ~/.ssh/config's), as given
    missing: tuple[str, ...] = ()  # of those, the ones that are not files here
    agent_keys: int | None = None  # keys the ssh agent holds; None: no agent to ask
    default_keys: tuple[str, ...] = ()  # ~/.ssh/id_* here, tried when no identity file is given
    root_accepts: bool | None = None  # the same keys log in as root (the chapter's usual slip); None: not known


@dataclass(frozen=True)
class Facts:
    """What a failed step knew; every field optional."""

    domain: str = ""
    expected: str = ""  # the address the domain should resolve to
    expires_within: int | None = None  # seconds until the stale DNS answers expire
    matched: int = 0  # resolvers that answered the expected address
    port: int | None = None
    port_in_use: bool = False
    outside: Probe | None = None
    inside: Probe | None = None
    database: Probe | None = None
    repo: str = ""
    branch: str = ""
    user: str = ""  # who runs the commands on the server
    site_dir: str = ""  # the site directory, as deploy.toml gives it (~/sites/...)
    ssh: SshAuth | None = None  # set when the server refused our keys
    allowed_hosts: tuple[str, ...] = ()  # what deploy.toml allows (its allowed_hosts, or the domain)
    env: tuple[tuple[str, str], ...] = ()  # the site's environment as written (placeholders unfilled)
    marker: str = ""  # what the site's home page must contain (deploy.toml's page_marker)
    diagnosed: bool = False  # the step already said what is wrong, as diagnoses of its own


class StepFailed(Exception):
    """A step could not do its job; its message, evidence lines and facts are what a diagnosis reads."""

    def __init__(self, message: str, evidence: tuple[str, ...] = (), facts: Facts | None = None) -> None:
        super().__init__(message)
        self.evidence = evidence
        self.facts = facts or Facts()
