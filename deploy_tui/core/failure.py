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
class Backstage:
    """What a production server said when the site did not answer right: gunicorn's unit, its journal,
    nginx's error log and the static paths, read on the server when a step failed (the logs with sudo)."""

    unit: str  # gunicorn-<domain>
    state: str = ""  # `systemctl is-active`: active, inactive, failed, activating; "" when not read
    journal: tuple[str, ...] = ()  # the unit's journal tail: gunicorn's own log and its access lines
    nginx_errors: tuple[str, ...] = ()  # the domain's lines of nginx's error log, oldest first
    exec_start: str = ""  # the unit file's ExecStart=, as it is on the server
    environment_file: str = ""  # its EnvironmentFile=
    environment_file_missing: bool = False
    socket_path: tuple[str, ...] = ()  # `namei -l` of gunicorn's socket: each directory's mode and owner
    static_root: str = ""  # STATIC_ROOT as Django computes it on the server
    static_alias: str = ""  # the server block's alias for /static/
    static_file: str = ""  # the stylesheet that failed, under STATIC_ROOT (its URL path when that is unknown)
    static_collected: bool | None = None  # that file is there; None: not looked at
    unread: str = ""  # why the logs could not be read (no sudo password for a run of smoke alone)


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
    backstage: Backstage | None = None  # production: what gunicorn, systemd and nginx said on the server


class StepFailed(Exception):
    """A step could not do its job; its message, evidence lines and facts are what a diagnosis reads."""

    def __init__(self, message: str, evidence: tuple[str, ...] = (), facts: Facts | None = None) -> None:
        super().__init__(message)
        self.evidence = evidence
        self.facts = facts or Facts()
