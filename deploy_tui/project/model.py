"""What `read_project` returns: the Project and the facts it is made of, as frozen dataclasses."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from deploy_tui.project.django_support import DjangoPin

EnvKind = Literal["required", "optional", "flag"]
HostsKind = Literal["env", "literal", "unknown", "unset"]
Runner = Literal["django", "pytest"]
Browser = Literal["firefox", "chrome", "chromium", "unknown"]


@dataclass(frozen=True)
class SourceLine:
    file: str  # relative posix path
    line: int
    text: str


@dataclass(frozen=True)
class EnvRead:
    """One read of an environment variable in the settings.

    kind: "required" (os.environ["X"], django-environ without a default), "optional"
    (.get/getenv/a default), "flag" ("X" in os.environ: only its presence matters).
    """

    name: str
    line: int
    kind: EnvKind
    file: str
    text: str = ""  # the expression as written

    @property
    def required(self) -> bool:
        return self.kind == "required"


@dataclass(frozen=True)
class AllowedHosts:
    """How the settings set ALLOWED_HOSTS, over every assignment (an if/else may give two).

    kind: "env" when any assignment reads the environment (env_names, comma_split), else
    "literal" (values), "unknown" (an expression deploy-tui cannot read), or "unset" (no
    assignment: Django's default [], which allows only localhost and only with DEBUG on).
    values are the hard-coded hosts of every literal assignment, e.g. the [] fallback beside an
    env-driven one.
    """

    kind: HostsKind = "unset"
    env_names: tuple[str, ...] = ()
    comma_split: bool = False
    env_line: int | None = None
    values: tuple[str, ...] = ()
    literal_line: int | None = None
    assignments: tuple[SourceLine, ...] = ()


@dataclass(frozen=True)
class DebugSwitch:
    """The environment variable that turns DEBUG on or off, and the values that do it.

    on_value/off_value: what to set the variable to for DEBUG on/off; None means "leave it unset".
    understood is False when the variable was found but not how its value maps to DEBUG.
    """

    env: str
    line: int
    file: str
    on_value: str | None
    off_value: str | None
    understood: bool = True


@dataclass(frozen=True)
class FunctionalTests:
    directory: str  # relative posix path of the FT package
    runner: Runner
    argv: tuple[str, ...]  # the command from the repository root; () if it cannot be run (no manage.py)
    browser: Browser
    server_variables: tuple[str, ...]  # which of STAGING_SERVER / TEST_SERVER the FTs read
    selenium3_calls: tuple[SourceLine, ...]  # find_element(s)_by_* calls: removed in Selenium 4.3
    files: tuple[str, ...] = ()  # the .py files in the FT package
    env_names: tuple[str, ...] = ()  # every environment variable the FTs read

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


@dataclass(frozen=True)
class Project:
    root: Path
    app_dir: str  # "" for the root, "src", or a directory one level down: where manage.py is
    manage_py: str | None
    requirements: str | None
    requirement_names: frozenset[str]
    django_pin: DjangoPin | None
    settings_module: str | None
    settings_file: str | None
    env_reads: tuple[EnvRead, ...]
    allowed_hosts: AllowedHosts
    static_root: str | None  # the assignment's right-hand side as written
    uses_whitenoise: bool
    debug: DebugSwitch | None
    fts: FunctionalTests | None
    notes: tuple[str, ...]
    requirement_files: tuple[str, ...] = ()  # the requirements file and every -r include followed
    settings_files: tuple[str, ...] = ()  # the settings file and every star-import of it followed

    @property
    def debug_env(self) -> str | None:
        """The variable that turns DEBUG on/off (DJANGO_DEBUG_FALSE, DJANGO_DEBUG), if the settings have one."""
        return self.debug.env if self.debug else None

    @property
    def env_names(self) -> tuple[str, ...]:
        """Each variable the settings read, once, in the order first read."""
        return tuple(dict.fromkeys(r.name for r in self.env_reads))

    def env_kind(self, name: str) -> EnvKind | None:
        """The strongest way name is read: required beats optional beats flag."""
        kinds = {r.kind for r in self.env_reads if r.name == name}
        order: tuple[EnvKind, ...] = ("required", "optional", "flag")
        return next((kind for kind in order if kind in kinds), None)
