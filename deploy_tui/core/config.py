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
import os
import re
import stat
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from deploy_tui.core.hosts import host_problem
from deploy_tui.core.names import DnsInputError, hidden_character, parse_domain
from deploy_tui.core.resolvers import Resolver, ResolverInputError, resolvers_from_config
from deploy_tui.core.shown import shown, shown_path

_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:[^\s]+$")
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_./@+~-]+$")
_SITE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
# The first line of a private key ssh and asyncssh read: OpenSSH's own, or PEM (RSA, EC, DSA, PKCS#8, encrypted).
_PRIVATE_KEY = re.compile(rb"^-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----\r?\n")
_MAX_TEXT = 2048  # no value of a deploy.toml is longer; a longer one is a mistake (or an attack on the terminal)
_MAX_DIR = 255
_MAX_DIR_DEPTH = 16
_MAX_MARKER = 200  # page_marker: a title or a phrase, not a page


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
    page_marker: str = ""  # text the home page must contain, so smoke knows this site's page from another's
    installer: str = "pip"  # what makes the venv and installs the requirements: "pip" (the book's) or "uv"
    production: bool = False  # the next chapter: gunicorn under systemd, nginx in front, DEBUG off
    gate: str = ""  # a site whose FTs must have passed on the commit first ("live" is gated by "staging")

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
            raise ConfigError(
                f"{self.source}: no site {shown(name, 40)} (sites: {shown(known, 120, quote=False)}); "
                f"add a [sites.{shown(name, 40, quote=False)}] table"
            )
        return self.sites[name]


SITE_KEYS = {f.name for f in fields(Site)} - {"name"}
_REQUIRED = ("domain", "host", "repo")
# What makes a site itself is never taken from the staging site.
NOT_INHERITED = frozenset({"domain", "site_dir", "allowed_hosts", "gate"})


def dumps(data: dict[str, Any]) -> str:
    """deploy.toml's text for data in its shape (tables of scalars, lists and inline tables)."""
    import tomli_w

    return tomli_w.dumps(data)


def load(path: Path, overrides: dict[str, Any] | None = None, site: str | None = None) -> Config:
    """Read and check a deploy.toml; overrides (from flags) apply to `site`."""
    return from_dict(read_toml(path), shown_path(path), overrides or {}, site)


def read_toml(path: Path) -> dict[str, Any]:
    """A deploy.toml's tables, or a one-line error: missing, not a file, unreadable, not UTF-8, not TOML."""
    where = shown_path(path)
    info = _stat(path)
    if info is None:
        raise ConfigError(f"{where}: no such file; write one (see README) or pass --config")
    if not stat.S_ISREG(info.st_mode):
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ConfigError(f"{where}: {what}; give the deploy.toml file with --config")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{where}: cannot read it ({error.strerror}); check its permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{where}: not UTF-8 text (byte {error.start}); a deploy.toml is TOML text: is this the right file?"
        ) from None
    import tomllib  # here, not at import: every start imports this module, only a deploy.toml needs the parser

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{where}: not valid TOML: {shown(str(error), 120, quote=False)}") from None


def _stat(path: Path) -> os.stat_result | None:
    """The path's status (following links), or None when there is nothing there to use (or the name is too long)."""
    try:
        return path.stat()
    except (OSError, ValueError):
        return None


def from_dict(data: dict[str, Any], source: str, overrides: dict[str, Any], only: str | None = None) -> Config:
    unknown = set(data) - {"defaults", "sites", "dns", "tests"}
    if unknown:
        raise ConfigError(
            f"{source}: unknown table {shown(sorted(unknown)[0], 40)}: use [defaults], [sites.NAME], [dns], [tests]"
        )
    defaults = _table(data.get("defaults", {}), f"{source}: [defaults]")
    sites_data = _table(data.get("sites", {}), f"{source}: [sites]")
    if not sites_data:
        raise ConfigError(f"{source}: no sites: add a [sites.staging] table with domain, host and repo")
    staging = _table(sites_data.get("staging", {}), f"{source}: [sites.staging]")
    sites = {}
    for name, raw in sites_data.items():
        if not _SITE_NAME.match(name):
            raise ConfigError(
                f"{source}: [sites.{shown(name, 40, quote=False)}]: a site's name is letters, digits, _ and - "
                "(at most 40), like staging"
            )
        own = _table(raw, f"{source}: [sites.{name}]")
        inherited = {k: v for k, v in staging.items() if k not in NOT_INHERITED} if name != "staging" else {}
        # Live only after staging: the book's order, kept unless the table says otherwise (gate = "").
        gated = {"gate": "staging"} if name == "live" and "staging" in sites_data else {}
        values = {**defaults, **gated, **inherited, **own}
        if only is None or name == only:
            values.update({k: v for k, v in overrides.items() if v is not None})
        sites[name] = make_site(name, values, f"{source}: sites.{name}")
    for site in sites.values():
        if site.gate and site.gate not in sites_data:
            raise ConfigError(
                f"{source}: sites.{site.name}.gate = {shown(site.gate)}: there is no [sites.{site.gate}] to pass "
                'first; name one, or write gate = "" to deploy it ungated'
            )
    try:
        resolvers = resolvers_from_config(data, source)
    except ResolverInputError as error:
        raise ConfigError(str(error)) from None
    return Config(sites, resolvers, source, tests_from(data.get("tests", {}), f"{source}: tests"))


def tests_from(value: Any, where: str) -> TestsConfig:
    table = _table(value, f"{where.rsplit(': ', 1)[0]}: [tests]")
    unknown = set(table) - {"command", "python", "browser"}
    if unknown:
        key = shown(sorted(unknown)[0], 40, quote=False)
        raise ConfigError(f"{where}.{key}: unknown key; the keys are browser, command, python")
    values = {key: _str(table[key], f"{where}.{key}") for key in table}
    if values.get("browser", "") not in ("", "firefox", "chromium"):
        raise ConfigError(f'{where}.browser = {shown(values["browser"])}: use "firefox" or "chromium"')
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
        key = shown(sorted(unknown)[0], 40, quote=False)
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


def _str(value: Any, where: str, *, secret: bool = False) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where} = {shown(value, secret=secret)}: must be a string in quotes")
    if any(c in value for c in "\n\r"):
        raise ConfigError(f"{where} = {shown(value, secret=secret)}: must be one line")
    hidden = hidden_character(value)
    if hidden is not None:
        raise ConfigError(
            f"{where} = {shown(value, secret=secret)}: has a control or invisible character "
            f"({shown(hidden, quote=False)}) at position {value.index(hidden) + 1}: remove it"
        )
    if len(value) > _MAX_TEXT:
        raise ConfigError(
            f"{where} = {shown(value, secret=secret)}: is {len(value)} characters long; at most {_MAX_TEXT}"
        )
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
        raise ConfigError(f"{where} = {shown(text)}: give an IP address, a host name or an ~/.ssh/config alias")
    return text


def _port(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ConfigError(f"{where} = {shown(value)}: must be a whole number from 1 to 65535")
    return value


def _user(value: Any, where: str) -> str:
    text = _str(value, where)
    if not _USER.match(text):
        raise ConfigError(f"{where} = {shown(text)}: a Unix user name is lower-case letters, digits, _ and -")
    if text == "root":
        raise ConfigError(f"{where} = 'root': deploy as a non-root user with sudo, as the book does")
    return text


def _repo(value: Any, where: str) -> str:
    text = _str(value, where)
    fix = "give a git URL (https://..., ssh://..., git@host:path.git) or an absolute path"
    if text.startswith("-") or any(c.isspace() for c in text):
        raise ConfigError(f"{where} = {shown(text)}: {fix}")
    if re.match(r"^(https?|ssh|git|file)://[^/\s]*", text) or _SCP_LIKE.match(text) or text.startswith("/"):
        return text
    raise ConfigError(f"{where} = {shown(text)}: {fix}")


def _branch(value: Any, where: str) -> str:
    text = _str(value, where)
    bad = (
        not text
        or text.startswith(("-", "/", "."))
        or text.endswith(("/", ".", ".lock"))
        or ".." in text
        or "@{" in text
        or "//" in text
        or any(c.isspace() or c in "~^:?*[\\'\"`$;&|<>()" or not c.isprintable() for c in text)
    )
    if bad:
        raise ConfigError(f"{where} = {shown(text)}: not a git branch, tag or commit name (see git check-ref-format)")
    return text


def _dir(value: Any, where: str) -> str:
    text = _str(value, where)
    if not (text.startswith("~/") or text.startswith("/")) or ".." in text.split("/") or not _SAFE_PATH.match(text):
        raise ConfigError(
            f"{where} = {shown(text)}: give an absolute path or one under ~/, with no spaces, quotes or '..'"
        )
    parts = [part for part in text.split("/")[1:] if part not in ("", ".")]
    home = "the home directory" if text.startswith("~") else "the root directory"
    if not parts:
        raise ConfigError(
            f"{where} = {shown(text)}: that is {home} itself; give a directory of the site's own, like ~/sites/NAME"
        )
    if len(text) > _MAX_DIR or len(parts) > _MAX_DIR_DEPTH:
        raise ConfigError(
            f"{where} = {shown(text)}: too long ({len(text)} characters, {len(parts)} directories deep); "
            f"give a path of at most {_MAX_DIR} characters, {_MAX_DIR_DEPTH} deep, like ~/sites/NAME"
        )
    if ".ssh" in parts:
        raise ConfigError(
            f"{where} = {shown(text)}: inside .ssh, where the server's keys live; give a directory like ~/sites/NAME"
        )
    return text.rstrip("/")


def _identity_file(value: Any, where: str) -> str:
    """A private key on this machine, checked by its first line only: its contents are never shown."""
    text = _str(value, where)
    path = Path(os.path.expanduser(text))  # unlike Path.expanduser, leaves ~nosuchuser alone instead of raising
    info = _stat(path)
    if info is None or stat.S_ISDIR(info.st_mode):
        raise ConfigError(
            f"{where} = {shown(text)}: no such file here; give the private key's path, like ~/.ssh/id_ed25519"
        )
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{where} = {shown(text)}: not a regular file; give the private key's path")
    try:
        with path.open("rb") as key:
            head = key.read(64).lstrip()
    except OSError as error:
        raise ConfigError(
            f"{where} = {shown(text)}: cannot read it ({error.strerror}); check its permissions"
        ) from None
    if not _PRIVATE_KEY.match(head):
        hint = (
            "that is the public half; give the file without .pub"
            if path.suffix == ".pub" or head.startswith((b"ssh-", b"ecdsa-", b"sk-"))
            else "give the private key ssh uses, like ~/.ssh/id_ed25519"
        )
        raise ConfigError(
            f"{where} = {shown(text)}: not a private key (it does not start with -----BEGIN ... PRIVATE KEY-----); "
            + hint
        )
    return str(path)


def _known_hosts(value: Any, where: str) -> str:
    text = _str(value, where)
    if not text.strip():
        raise ConfigError(
            f"{where} = {shown(text)}: empty; give the known_hosts file's path, or leave it out for ~/.ssh/known_hosts"
        )
    path = Path(os.path.expanduser(text))
    info = _stat(path)
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise ConfigError(
            f"{where} = {shown(text)}: not a regular file; give a known_hosts file (it is created when missing)"
        )
    return str(path)


def _ipv4(value: Any, where: str) -> str:
    text = _str(value, where)
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise ConfigError(f"{where} = {shown(text)}: must be the IPv4 address the domain should point at") from None


def _relative(value: Any, where: str) -> str:
    text = _str(value, where).strip().rstrip("/")
    parts = text.split("/")
    if not text or text.startswith(("/", "~")) or ".." in parts or not _SAFE_PATH.match(text):
        raise ConfigError(
            f"{where} = {shown(text)}: give a path inside the repository, like \"src\", with no spaces, quotes or '..'"
        )
    return "" if text == "." else text


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_SECRET_NAME = re.compile(r"SECRET|PASSW|TOKEN|KEY|CREDENTIAL|PRIVATE", re.IGNORECASE)
PLACEHOLDERS = ("domain", "allowed_hosts", "secret_key", "db_path")


def _env(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f'{where} must be a table of NAME = "value", like DJANGO_ALLOWED_HOST = "{{domain}}"')
    pairs = []
    for name, raw in value.items():
        if not _ENV_NAME.match(name):
            raise ConfigError(f"{where}: {shown(name, 40)} is not an environment variable name (letters, digits and _)")
        if isinstance(raw, bool):
            raw = "1" if raw else "0"
        elif isinstance(raw, int):
            raw = str(raw)
        # A value set by hand for SECRET_KEY or a password is a secret: an error names it, never shows it.
        secret = bool(_SECRET_NAME.search(name))
        text = _str(raw, f"{where}.{name}", secret=secret)
        value = shown(text, secret=secret)
        for field_name in re.findall(r"{([^{}]*)}", text):
            if field_name not in PLACEHOLDERS:
                known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
                raise ConfigError(
                    f"{where}.{name} = {value}: unknown placeholder {{{shown(field_name, 30, quote=False)}}}; "
                    f"use {known}"
                )
        if re.sub(r"{[a-z_]+}", "", text).count("{") or re.sub(r"{[a-z_]+}", "", text).count("}"):
            raise ConfigError(f"{where}.{name} = {value}: a brace that is not a placeholder")
        pairs.append((name, text))
    return tuple(pairs)


def _hosts(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f'{where} = {shown(value)}: must be a list of domains, like ["superlists.example.com"]')
    for item in value:
        # parse_domain would refuse a port only as "not a host name", and quietly drop a trailing dot:
        # this list becomes ALLOWED_HOSTS, where both never match, so say that and what to write.
        problem = host_problem(_str(item, where)) if isinstance(item, str) else None
        if problem is not None:
            raise ConfigError(
                f"{where}: {shown(item)} {problem.why}, so it never matches; write {shown(problem.fixed)} "
                "(a bare host name: no port, no trailing dot)"
            )
    return tuple(_domain(item, where) for item in value)


INSTALLERS = ("pip", "uv")


def _installer(value: Any, where: str) -> str:
    text = _str(value, where)
    if text not in INSTALLERS:
        raise ConfigError(f'{where} = {shown(text)}: must be "pip" (the book\'s, the default) or "uv" (faster)')
    return text


def _gate(value: Any, where: str) -> str:
    text = _str(value, where)
    if text and not _SITE_NAME.match(text):
        raise ConfigError(f'{where} = {shown(text)}: the name of another [sites.NAME], like "staging", or ""')
    return text


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} = {shown(value)}: must be true or false (no quotes)")
    return value


def _marker(value: Any, where: str) -> str:
    text = _str(value, where)
    fix = 'give a short text the home page shows, like "To-Do lists"'
    if not text.strip():
        raise ConfigError(f"{where} = {shown(text)}: empty; {fix}, or leave it out")
    if text != text.strip():
        raise ConfigError(f"{where} = {shown(text)}: has spaces at its ends, which the page may not; remove them")
    if len(text) > _MAX_MARKER:
        raise ConfigError(f"{where} = {shown(text)}: {len(text)} characters; {fix} (at most {_MAX_MARKER})")
    return text


CHECKS = {
    "domain": _domain,
    "host": _host,
    "repo": _repo,
    "port": _port,
    "user": _user,
    "branch": _branch,
    "site_dir": _dir,
    "app_port": _port,
    "identity_file": _identity_file,
    "known_hosts": _known_hosts,
    "address": _ipv4,
    "allowed_hosts": _hosts,
    "app_dir": _relative,
    "requirements": _relative,
    "env": _env,
    "page_marker": _marker,
    "installer": _installer,
    "production": _bool,
    "gate": _gate,
}
