"""Which Django runs on which Python, and whether a requirements pin fits the server's Python.

Sources of the table (checked in 2026, when 6.0 is the newest feature release):

* Django's FAQ, "What Python version can I use with Django?",
  https://docs.djangoproject.com/en/dev/faq/install/#what-python-version-can-i-use-with-django
  and the same page in each series' docs (/en/1.11/faq/install/, /en/2.2/, /en/3.2/, /en/4.2/,
  /en/5.2/, /en/6.0/): the Python versions of each feature release, and the "(added in A.B.C)"
  notes naming the patch release that first supported a newer Python. The 1.8 row reads
  "2.7, 3.2 (until the end of 2016), 3.3, 3.4, 3.5".
* LTS flags and end-of-support months: Django's download page,
  https://www.djangoproject.com/download/#supported-versions, as tabulated by
  https://endoflife.date/django (which carries the same "added in" notes).

Django 6.1 is not released yet (the dev FAQ lists it for 3.12-3.14), so it is not in the table;
a pin with no upper bound is taken to get the newest release pip can install on the server.

Django's packages declare only a lower bound in Requires-Python (Django 5.x: >=3.10), so pip
happily installs an old Django on a new Python. What then breaks is at import time; for Django
1.11 on Python 3.10+ it is, from django/db/models/sql/query.py line 11
(`from collections import Counter, Iterator, Mapping, OrderedDict`):

    ImportError: cannot import name 'Iterator' from 'collections'

because Python 3.10 removed the ABC aliases from `collections` (they live in `collections.abc`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PyVersion = tuple[int, int]
Version = tuple[int, ...]


@dataclass(frozen=True)
class DjangoRelease:
    """One Django feature release (A.B) and the Python versions it supports."""

    version: tuple[int, int]
    pythons: tuple[PyVersion, ...]
    lts: bool = False
    # (python, first patch release supporting it), for Pythons added after the .0 release
    added_in: tuple[tuple[PyVersion, tuple[int, int, int]], ...] = ()
    end_of_support: str = ""  # "YYYY-MM": the month security fixes stop

    @property
    def name(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def label(self) -> str:
        return f"{self.name} LTS" if self.lts else self.name

    @property
    def python_range(self) -> tuple[PyVersion, PyVersion]:
        return self.pythons[0], self.pythons[-1]

    def first_patch_for(self, python: PyVersion) -> tuple[int, int, int] | None:
        """The first A.B.C release supporting python (A.B.0 unless a patch added it); None if unsupported."""
        if python not in self.pythons:
            return None
        for added_python, patch in self.added_in:
            if added_python == python:
                return patch
        return (*self.version, 0)


def _release(
    version: str, pythons: str, *, lts: bool = False, added: dict[str, str] | None = None, eol: str
) -> DjangoRelease:
    def pair(text: str) -> tuple[int, int]:
        major, minor = text.split(".")
        return int(major), int(minor)

    def triple(text: str) -> tuple[int, int, int]:
        major, minor, patch = text.split(".")
        return int(major), int(minor), int(patch)

    return DjangoRelease(
        version=pair(version),
        pythons=tuple(pair(p) for p in pythons.split()),
        lts=lts,
        added_in=tuple((pair(p), triple(r)) for p, r in (added or {}).items()),
        end_of_support=eol,
    )


# Oldest first. Python lists are the FAQ's rows; "added" are its "(added in A.B.C)" notes.
RELEASES: tuple[DjangoRelease, ...] = (
    _release("1.8", "2.7 3.2 3.3 3.4 3.5", lts=True, eol="2018-04"),  # 3.2 only until the end of 2016
    _release("1.9", "2.7 3.4 3.5", eol="2017-04"),
    _release("1.10", "2.7 3.4 3.5", eol="2017-12"),
    _release("1.11", "2.7 3.4 3.5 3.6 3.7", lts=True, added={"3.7": "1.11.17"}, eol="2020-04"),
    _release("2.0", "3.4 3.5 3.6 3.7", eol="2019-04"),
    _release("2.1", "3.5 3.6 3.7", eol="2019-12"),
    _release("2.2", "3.5 3.6 3.7 3.8 3.9", lts=True, added={"3.8": "2.2.8", "3.9": "2.2.17"}, eol="2022-04"),
    _release("3.0", "3.6 3.7 3.8 3.9", added={"3.9": "3.0.11"}, eol="2021-04"),
    _release("3.1", "3.6 3.7 3.8 3.9", added={"3.9": "3.1.3"}, eol="2021-12"),
    _release("3.2", "3.6 3.7 3.8 3.9 3.10", lts=True, added={"3.10": "3.2.9"}, eol="2024-04"),
    _release("4.0", "3.8 3.9 3.10", eol="2023-04"),
    _release("4.1", "3.8 3.9 3.10 3.11", added={"3.11": "4.1.3"}, eol="2023-12"),
    _release("4.2", "3.8 3.9 3.10 3.11 3.12", lts=True, added={"3.12": "4.2.8"}, eol="2026-04"),
    _release("5.0", "3.10 3.11 3.12", eol="2025-04"),
    _release("5.1", "3.10 3.11 3.12 3.13", added={"3.13": "5.1.3"}, eol="2025-12"),
    _release("5.2", "3.10 3.11 3.12 3.13 3.14", lts=True, added={"3.14": "5.2.8"}, eol="2028-04"),
    _release("6.0", "3.12 3.13 3.14", eol="2027-04"),
)

_BY_VERSION = {r.version: r for r in RELEASES}


def django_release(django: tuple[int, ...]) -> DjangoRelease | None:
    """The table's row for a Django version (only A.B counts: (1, 11, 13) is 1.11)."""
    return _BY_VERSION.get((django[0], django[1])) if len(django) >= 2 else None


def supported_pythons(django: tuple[int, ...]) -> tuple[PyVersion, PyVersion] | None:
    """(oldest, newest) Python the Django feature release supports; None for a release not in the table.

    The range can have holes (1.11: 2.7 and 3.4-3.7): `django_release(v).pythons` has the list.
    """
    release = django_release(django)
    return release.python_range if release else None


def format_pythons(pythons: tuple[PyVersion, ...]) -> str:
    """(2,7), (3,4), (3,5), (3,6), (3,7) -> "2.7, 3.4-3.7"."""
    runs: list[list[PyVersion]] = []
    for py in pythons:
        if runs and runs[-1][-1][0] == py[0] and runs[-1][-1][1] + 1 == py[1]:
            runs[-1].append(py)
        else:
            runs.append([py])
    return ", ".join(
        f"{run[0][0]}.{run[0][1]}" if len(run) == 1 else f"{run[0][0]}.{run[0][1]}-{run[-1][0]}.{run[-1][1]}"
        for run in runs
    )


_PYTHON_VERSION = re.compile(r"\bPython\s+(\d+)\.(\d+)", re.IGNORECASE)
_BARE_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.\d+)?\S*\s*$")


def parse_python_version(text: str) -> PyVersion | None:
    """(3, 11) from `python3 --version` output ("Python 3.11.2"), or from a bare "3.11"; None otherwise."""
    found = _PYTHON_VERSION.search(text) or _BARE_VERSION.match(text)
    return (int(found.group(1)), int(found.group(2))) if found else None


# --- pins -------------------------------------------------------------------------------------

_CLAUSE = re.compile(r"^\s*(~=|===|==|!=|<=|>=|<|>)\s*(\S+?)\s*$")
_VERSION = re.compile(r"^(?:\d+!)?(\d+(?:\.\d+)*)(\.\*)?(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview|post|dev)\w*)?$")
_DJANGO_LINE = re.compile(r"^\s*django\s*(\[[^\]]*\])?\s*(?P<spec>[^;#]*)", re.IGNORECASE)
_PAD = 4


def _pad(version: Version) -> Version:
    return (version + (0,) * _PAD)[:_PAD] if len(version) <= _PAD else version


def _bump(version: Version) -> Version:
    return (*version[:-1], version[-1] + 1)


def _show(version: Version) -> str:
    return ".".join(str(n) for n in version)


@dataclass(frozen=True)
class DjangoPin:
    """Django's line in a requirements file and the versions it allows.

    `low`/`high` bound the versions (None: unbounded); `high is None` means "latest": pip installs
    the newest release whose Requires-Python the server's Python meets.
    """

    line: str  # the requirement as written, e.g. "Django==1.11.13"
    line_number: int = 0
    file: str = ""  # the requirements file it is in, relative to the repository
    specifier: str = ""  # normalized, e.g. "==1.11.13" or ">=4.2,<5"; "" when unpinned
    low: Version | None = None
    low_inclusive: bool = True
    high: Version | None = None
    high_inclusive: bool = False
    ignored: tuple[str, ...] = field(default=())  # clauses that do not narrow the range (!=)

    @classmethod
    def from_specifier(cls, specifier: str, *, line: str = "", line_number: int = 0, file: str = "") -> DjangoPin:
        """Parse "==1.11.13", "~=4.2.0", ">=4.2,<5", "==5.2.*", "" (no spec); ValueError if it cannot be read."""
        low: Version | None = None
        low_inc = True
        high: Version | None = None
        high_inc = False
        clauses: list[str] = []
        ignored: list[str] = []
        for raw in filter(None, (part.strip() for part in specifier.split(","))):
            clause = _CLAUSE.match(raw)
            version = _VERSION.match(clause.group(2)) if clause else None
            if not clause or not version:
                raise ValueError(f"cannot read the version clause {raw!r}")
            op, numbers, wildcard = clause.group(1), version.group(1), version.group(2)
            v = tuple(int(n) for n in numbers.split("."))
            clauses.append(f"{op}{clause.group(2)}")
            if wildcard and op not in ("==", "!="):
                raise ValueError(f"a wildcard is only allowed with == or !=: {raw!r}")
            bounds: list[tuple[str, Version, bool]] = []
            if op == "!=":
                ignored.append(f"{op}{clause.group(2)}")
            elif op in ("==", "===") and wildcard:
                bounds = [("low", v, True), ("high", _bump(v), False)]
            elif op in ("==", "==="):
                bounds = [("low", v, True), ("high", v, True)]
            elif op == "~=":
                if len(v) < 2:
                    raise ValueError(f"~= needs at least two version parts: {raw!r}")
                bounds = [("low", v, True), ("high", _bump(v[:-1]), False)]
            elif op in (">=", ">"):
                bounds = [("low", v, op == ">=")]
            else:
                bounds = [("high", v, op == "<=")]
            for side, bound, inclusive in bounds:
                if side == "low" and (
                    low is None or _pad(bound) > _pad(low) or (_pad(bound) == _pad(low) and not inclusive)
                ):
                    low, low_inc = bound, inclusive
                elif side == "high" and (
                    high is None or _pad(bound) < _pad(high) or (_pad(bound) == _pad(high) and not inclusive)
                ):
                    high, high_inc = bound, inclusive
        if (
            low is not None
            and high is not None
            and (_pad(low) > _pad(high) or (_pad(low) == _pad(high) and not (low_inc and high_inc)))
        ):
            raise ValueError(f"{specifier!r} allows no version")
        return cls(
            line=line or f"Django{','.join(clauses)}",
            line_number=line_number,
            file=file,
            specifier=",".join(clauses),
            low=low,
            low_inclusive=low_inc,
            high=high,
            high_inclusive=high_inc,
            ignored=tuple(ignored),
        )

    @property
    def unpinned(self) -> bool:
        return self.low is None and self.high is None

    @property
    def latest(self) -> bool:
        """No upper bound: pip takes the newest release the server's Python can install."""
        return self.high is None

    @property
    def exact(self) -> Version | None:
        """The one version an ==X.Y.Z pin names; None for a range."""
        if self.low is not None and self.high is not None and self.low_inclusive and self.high_inclusive:
            return self.low if _pad(self.low) == _pad(self.high) else None
        return None

    def describe(self) -> str:
        """The range for people: "1.11.13", ">=4.2, <5", ">=4.2 (latest)", "any version (latest)"."""
        if self.exact is not None:
            return _show(self.exact)
        parts = []
        if self.low is not None:
            parts.append(f"{'>=' if self.low_inclusive else '>'}{_show(self.low)}")
        if self.high is not None:
            parts.append(f"{'<=' if self.high_inclusive else '<'}{_show(self.high)}")
        if not parts:
            return "any version (latest)"
        return ", ".join(parts) + (" (latest)" if self.high is None else "")

    def allows_release(self, version: tuple[int, int]) -> bool:
        """Whether some A.B.C of the feature release A.B is in the range."""
        if self.low is not None and _pad(self.low)[:2] > version:
            return False
        if self.high is not None:
            first = _pad(version)
            return first <= _pad(self.high) if self.high_inclusive else first < _pad(self.high)
        return True

    def allows_newer_than(self, version: tuple[int, int]) -> bool:
        """Whether the range reaches past every A.B.C of version (into releases the table does not know)."""
        if self.high is None:
            return True
        return _pad(self.high) > (*version, 10**6, 0)

    def max_patch(self, version: tuple[int, int]) -> int | None:
        """The highest C of A.B.C allowed in feature release A.B; None when it is not capped inside A.B."""
        if self.high is None or _pad(self.high)[:2] != version:
            return None
        patch = _pad(self.high)[2]
        exact_patch = len(self.high) <= 3 or all(n == 0 for n in _pad(self.high)[3:])
        return patch if self.high_inclusive or not exact_patch else patch - 1


def parse_django_pin(line: str, *, file: str = "", line_number: int = 0) -> DjangoPin | None:
    """A DjangoPin from a requirements line such as "Django==1.11.13  # LTS"; None if it is not Django's.

    A bare "django" gives an unpinned DjangoPin (no bounds); ValueError if the version cannot be read.
    """
    found = _DJANGO_LINE.match(line)
    if not found:
        return None
    spec = found.group("spec").strip()
    if spec and spec[0] not in "=<>~!":  # "django-environ", "djangorestframework"
        return None
    spec = re.split(r"\s--", spec)[0]  # trailing --hash=... options
    return DjangoPin.from_specifier(spec, line=line.strip(), line_number=line_number, file=file)


# --- verdicts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DjangoChoice:
    """Ways out for a Python: the newest feature release supporting it, and the LTS releases that do."""

    newest: DjangoRelease | None
    lts: tuple[DjangoRelease, ...]  # newest first

    def describe(self) -> str:
        names = [r.label for r in self.lts]
        if self.newest is not None and not self.newest.lts:
            names.insert(0, self.newest.label)
        return " or ".join(f"Django {n}" for n in names) if names else "no Django release deploy-tui knows"


def newest_django_for(python: PyVersion) -> DjangoChoice:
    """The newest Django feature release, and every LTS, supporting python (at their latest patch)."""
    supporting = [r for r in RELEASES if python in r.pythons]
    return DjangoChoice(
        newest=supporting[-1] if supporting else None,
        lts=tuple(r for r in reversed(supporting) if r.lts),
    )


@dataclass(frozen=True)
class PinVerdict:
    """Whether a Django pin installs a Django that supports the server's Python, and what to do if not."""

    ok: bool
    python: PyVersion
    pin: DjangoPin
    allowed: tuple[DjangoRelease, ...]  # the feature releases the pin allows that the table knows, oldest first
    installs: DjangoRelease | None  # what pip would pick on that Python (newest allowed whose minimum it meets)
    pythons: tuple[PyVersion, ...]  # the Pythons the pinned Django supports (of `installs`, else newest allowed)
    known: bool  # False when the answer rests on releases outside the table
    reason: str
    ways_out: DjangoChoice | None = None  # set when not ok

    @property
    def pythons_text(self) -> str:
        return format_pythons(self.pythons)


def _py(python: PyVersion) -> str:
    return f"{python[0]}.{python[1]}"


def check_pin(pin: DjangoPin, python: PyVersion) -> PinVerdict:
    """Does `pip install -r requirements.txt` on a server with this Python get a Django that supports it?"""
    allowed = tuple(r for r in RELEASES if pin.allows_release(r.version))
    newest_known = RELEASES[-1]
    beyond = pin.allows_newer_than(newest_known.version)
    installs = next((r for r in reversed(allowed) if r.pythons[0] <= python), None)
    pinned_as = f"the pin {pin.describe()}" if not pin.unpinned else "an unpinned Django"

    def verdict(ok: bool, reason: str, *, known: bool = True) -> PinVerdict:
        release = installs or (allowed[-1] if allowed else None)
        return PinVerdict(
            ok=ok,
            python=python,
            pin=pin,
            allowed=allowed,
            installs=installs,
            pythons=release.pythons if release else (),
            known=known,
            reason=reason,
            ways_out=None if ok else newest_django_for(python),
        )

    if beyond and python > newest_known.pythons[-1]:
        return verdict(
            True,
            f"Python {_py(python)} is newer than deploy-tui's table (up to Django {newest_known.name}); "
            f"{pinned_as} lets pip take a newer Django, which may support it",
            known=False,
        )
    if not allowed:
        if beyond:
            return verdict(True, f"{pinned_as} names a Django newer than deploy-tui's table", known=False)
        return verdict(
            False,
            f"{pinned_as} names a Django older than any deploy-tui knows (1.8 onward), "
            f"far too old for Python {_py(python)}; pin {newest_django_for(python).describe()}",
            known=False,
        )
    ways_out = newest_django_for(python).describe()
    if installs is None:
        oldest = allowed[0]
        return verdict(
            False,
            f"no Django {pin.describe()} installs on Python {_py(python)}: Django {oldest.label} needs Python "
            f"{_py(oldest.pythons[0])} or newer; pin {ways_out}, or use a newer Python",
        )
    label = f"Django {installs.label}"
    if python not in installs.pythons:
        reason = (
            f"{label} ({pin.describe()}) supports Python {format_pythons(installs.pythons)}, "
            f"not {_py(python)}; pin {ways_out}"
        )
        if installs.version <= (1, 11) and python >= (3, 10):
            reason += " (on Python 3.10+ it fails: ImportError: cannot import name 'Iterator' from 'collections')"
        return verdict(False, reason)
    first = installs.first_patch_for(python)
    cap = pin.max_patch(installs.version)
    if first is not None and cap is not None and cap < first[2]:
        return verdict(
            False,
            f"{label} supports Python {_py(python)} from {_show(first)}, and {pinned_as} allows at most "
            f"{installs.name}.{cap}; pin {_show(first)} or later",
        )
    picked = "" if len(allowed) == 1 and not beyond else f" (pip picks it from {pin.describe()})"
    return verdict(True, f"{label} supports Python {_py(python)}{picked}")
