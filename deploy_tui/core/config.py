"""Sites to deploy, from deploy.toml and command-line overrides, validated at the edge.

Every value is checked when it is loaded, and a bad one is refused with one line
naming the key, the value and the fix. Values are data: they reach the remote
shell only quoted, but the checks here still refuse what no real domain, user,
branch or path contains (spaces, quotes, a leading dash that git or ssh would
read as an option).

    [defaults]              # optional: fills what a site leaves unset
    user = "elspeth"
    [sites.staging]
    domain = "superlists-staging.example.com"
    host = "203.0.113.7"    # or an ~/.ssh/config alias
    port = 22
    repo = "https://github.com/you/superlists.git"
    branch = "main"
    [sites.live]
    domain = "superlists.example.com"   # the rest from [defaults], then from staging
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from deploy_tui.core.names import DnsInputError, parse_domain
from deploy_tui.core.resolvers import Resolver, ResolverInputError, resolvers_from_config

_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:[^\s]+$")
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_./@+~-]+$")


class ConfigError(ValueError):
    """A value that cannot be used; the message is one line naming where, what and the fix."""


@dataclass(frozen=True)
class Site:
    """One deployment target: where the code goes and how to reach it."""

    name: str
    domain: str
    host: str
    repo: str
    port: int | None = None  # ssh port; None: ~/.ssh/config or 22
    user: str | None = None  # None: ~/.ssh/config or the local user
    branch: str = "main"
    site_dir: str = ""  # "" means ~/sites/<domain>
    app_port: int = 8000
    identity_file: str = ""
    known_hosts: str = ""
    address: str = ""  # the IPv4 the domain must resolve to; "" means host, when host is an address
    allowed_hosts: tuple[str, ...] = ()  # () means (domain,)
    app_dir: str = ""  # where manage.py is, relative to the repo; "" means found in the checkout
    requirements: str = ""  # the requirements file, relative to the repo; "" means found in the checkout
    env: tuple[tuple[str, str], ...] = ()  # [sites.NAME.env]; () means proposed from the settings

    @property
    def directory(self) -> str:
        return self.site_dir or f"~/sites/{self.domain}"

    @property
    def hosts_allowed(self) -> tuple[str, ...]:
        return self.allowed_hosts or (self.domain,)


@dataclass(frozen=True)
class TestsConfig:
    """[tests]: how the site's functional tests run on this machine; "" means detected."""

    __test__ = False  # not a test class for pytest to collect
    command: str = ""  # e.g. "python src/manage.py test src/functional_tests"; python is replaced by `python`
    python: str = ""  # the interpreter; "" means the checkout's .venv/bin/python, else deploy-tui's own
    browser: str = ""  # "firefox", "chromium", or "" for what the FTs call (Firefox runs as Chromium here if need be)


@dataclass(frozen=True)
class Config:
    sites: dict[str, Site]
    resolvers: tuple[Resolver, ...] | None = None
    source: str = "deploy.toml"
    tests: TestsConfig = field(default_factory=TestsConfig)
    extra: dict[str, Any] = field(default_factory=dict)

    def site(self, name: str) -> Site:
        if name not in self.sites:
            known = ", ".join(sorted(self.sites)) or "none"
            raise ConfigError(f"{self.source}: no site {name!r} (sites: {known}); add a [sites.{name}] table")
        return self.sites[name]


SITE_KEYS = {f.name for f in fields(Site)} - {"name"}
_REQUIRED = ("domain", "host", "repo")
# What makes a site itself is never taken from the staging site.
NOT_INHERITED = frozenset({"domain", "site_dir", "allowed_hosts"})


def dumps(data: dict[str, Any]) -> str:
    """deploy.toml's text for data in its shape (tables of scalars, lists and inline tables)."""
    import tomli_w

    return tomli_w.dumps(data)


def load(path: Path, overrides: dict[str, Any] | None = None, site: str | None = None) -> Config:
    """Read and check a deploy.toml; overrides (from flags) apply to `site`."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file; write one (see README) or pass --config")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return from_dict(data, str(path), overrides or {}, site)


def from_dict(data: dict[str, Any], source: str, overrides: dict[str, Any], only: str | None = None) -> Config:
    unknown = set(data) - {"defaults", "sites", "dns", "tests"}
    if unknown:
        raise ConfigError(
            f"{source}: unknown table {sorted(unknown)[0]!r}: use [defaults], [sites.NAME], [dns], [tests]"
        )
    defaults = _table(data.get("defaults", {}), f"{source}: [defaults]")
    sites_data = _table(data.get("sites", {}), f"{source}: [sites]")
    if not sites_data:
        raise ConfigError(f"{source}: no sites: add a [sites.staging] table with domain, host and repo")
    staging = _table(sites_data.get("staging", {}), f"{source}: [sites.staging]")
    sites = {}
    for name, raw in sites_data.items():
        own = _table(raw, f"{source}: [sites.{name}]")
        inherited = {k: v for k, v in staging.items() if k not in NOT_INHERITED} if name != "staging" else {}
        values = {**defaults, **inherited, **own}
        if only is None or name == only:
            values.update({k: v for k, v in overrides.items() if v is not None})
        sites[name] = make_site(name, values, f"{source}: sites.{name}")
    try:
        resolvers = resolvers_from_config(data, source)
    except ResolverInputError as error:
        raise ConfigError(str(error)) from None
    return Config(sites, resolvers, source, tests_from(data.get("tests", {}), f"{source}: tests"))


def tests_from(value: Any, where: str) -> TestsConfig:
    table = _table(value, f"{where.rsplit(': ', 1)[0]}: [tests]")
    unknown = set(table) - {"command", "python", "browser"}
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown key; the keys are browser, command, python")
    values = {key: _str(table[key], f"{where}.{key}") for key in table}
    if values.get("browser", "") not in ("", "firefox", "chromium"):
        raise ConfigError(f'{where}.browser = {values["browser"]!r}: use "firefox" or "chromium"')
    if "command" in values and not values["command"].strip():
        raise ConfigError(f"{where}.command is empty: give the command, or leave it out to have it detected")
    return TestsConfig(**values)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value


def make_site(name: str, values: dict[str, Any], where: str) -> Site:
    """Check every value of one site; the first bad one is the error."""
    unknown = set(values) - SITE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(f"{where}.{key}: unknown key; the keys are {', '.join(sorted(SITE_KEYS))}")
    for key in _REQUIRED:
        if not values.get(key):
            raise ConfigError(f"{where}.{key} is missing: every site needs domain, host and repo")
    checked: dict[str, Any] = {}
    for key, value in values.items():
        checked[key] = CHECKS[key](value, f"{where}.{key}")
    site = Site(name=name, **checked)
    if not site.address:
        try:
            ipaddress.IPv4Address(site.host)
            site = replace(site, address=site.host)
        except ValueError:
            pass
    return site


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where} = {value!r}: must be a string in quotes")
    if any(c in value for c in "\n\r\0"):
        raise ConfigError(f"{where} = {value!r}: must be one line")
    return value


def _domain(value: Any, where: str) -> str:
    try:
        return parse_domain(_str(value, where))
    except DnsInputError as error:
        raise ConfigError(f"{where}: {error}") from None


def _host(value: Any, where: str) -> str:
    text = _str(value, where)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not _HOST.match(text):
        raise ConfigError(f"{where} = {text!r}: give an IP address, a host name or an ~/.ssh/config alias")
    return text


def _port(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ConfigError(f"{where} = {value!r}: must be a whole number from 1 to 65535")
    return value


def _user(value: Any, where: str) -> str:
    text = _str(value, where)
    if not _USER.match(text):
        raise ConfigError(f"{where} = {text!r}: a Unix user name is lower-case letters, digits, _ and -")
    if text == "root":
        raise ConfigError(f"{where} = 'root': deploy as a non-root user with sudo, as the book does")
    return text


def _repo(value: Any, where: str) -> str:
    text = _str(value, where)
    fix = "give a git URL (https://..., ssh://..., git@host:path.git) or an absolute path"
    if text.startswith("-") or any(c.isspace() for c in text):
        raise ConfigError(f"{where} = {text!r}: {fix}")
    if re.match(r"^(https?|ssh|git|file)://[^/\s]*", text) or _SCP_LIKE.match(text) or text.startswith("/"):
        return text
    raise ConfigError(f"{where} = {text!r}: {fix}")


def _branch(value: Any, where: str) -> str:
    text = _str(value, where)
    bad = (
        not text
        or text.startswith(("-", "/", "."))
        or text.endswith(("/", ".", ".lock"))
        or ".." in text
        or "@{" in text
        or "//" in text
        or any(c.isspace() or c in "~^:?*[\\'\"`$;&|<>()" or ord(c) < 32 for c in text)
    )
    if bad:
        raise ConfigError(f"{where} = {text!r}: not a git branch, tag or commit name (see git check-ref-format)")
    return text


def _dir(value: Any, where: str) -> str:
    text = _str(value, where)
    if not (text.startswith("~/") or text.startswith("/")) or ".." in text.split("/") or not _SAFE_PATH.match(text):
        raise ConfigError(f"{where} = {text!r}: give an absolute path or one under ~/, with no spaces, quotes or '..'")
    return text.rstrip("/")


def _local_path(value: Any, where: str) -> str:
    text = _str(value, where)
    path = Path(text).expanduser()
    if not path.is_file():
        raise ConfigError(f"{where} = {text!r}: no such file here")
    return str(path)


def _known_hosts(value: Any, where: str) -> str:
    text = _str(value, where)
    return str(Path(text).expanduser())


def _ipv4(value: Any, where: str) -> str:
    text = _str(value, where)
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise ConfigError(f"{where} = {text!r}: must be the IPv4 address the domain should point at") from None


def _relative(value: Any, where: str) -> str:
    text = _str(value, where).strip().rstrip("/")
    parts = text.split("/")
    if not text or text.startswith(("/", "~")) or ".." in parts or not _SAFE_PATH.match(text):
        raise ConfigError(
            f"{where} = {text!r}: give a path inside the repository, like \"src\", with no spaces, quotes or '..'"
        )
    return "" if text == "." else text


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PLACEHOLDERS = ("domain", "allowed_hosts", "secret_key", "db_path")


def _env(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f'{where} must be a table of NAME = "value", like DJANGO_ALLOWED_HOST = "{{domain}}"')
    pairs = []
    for name, raw in value.items():
        if not _ENV_NAME.match(name):
            raise ConfigError(f"{where}.{name}: not an environment variable name (letters, digits and _)")
        if isinstance(raw, bool):
            raw = "1" if raw else "0"
        elif isinstance(raw, int):
            raw = str(raw)
        text = _str(raw, f"{where}.{name}")
        for field_name in re.findall(r"{([^{}]*)}", text):
            if field_name not in PLACEHOLDERS:
                known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
                raise ConfigError(f"{where}.{name} = {text!r}: unknown placeholder {{{field_name}}}; use {known}")
        if re.sub(r"{[a-z_]+}", "", text).count("{") or re.sub(r"{[a-z_]+}", "", text).count("}"):
            raise ConfigError(f"{where}.{name} = {text!r}: a brace that is not a placeholder")
        pairs.append((name, text))
    return tuple(pairs)


def _hosts(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f'{where} = {value!r}: must be a list of domains, like ["superlists.example.com"]')
    return tuple(_domain(item, where) for item in value)


CHECKS = {
    "domain": _domain,
    "host": _host,
    "repo": _repo,
    "port": _port,
    "user": _user,
    "branch": _branch,
    "site_dir": _dir,
    "app_port": _port,
    "identity_file": _local_path,
    "known_hosts": _known_hosts,
    "address": _ipv4,
    "allowed_hosts": _hosts,
    "app_dir": _relative,
    "requirements": _relative,
    "env": _env,
}
