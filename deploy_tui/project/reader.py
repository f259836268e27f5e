"""The reader's repository as deploy-tui sees it: read as text and parsed with `ast`, never imported or run.

`read_project(root)` finds manage.py (root, then src/, then one level down), the requirements file
and its Django pin, the settings module manage.py names, what the settings read from the
environment, how ALLOWED_HOSTS, DEBUG and STATIC_ROOT are set, and the functional tests.

Safety: files over 1 MB are skipped, paths that resolve outside the root (symlinks) are not read,
nothing from the repository is imported or executed. A file that does not parse as Python 3 (a
Python-2-era settings.py) is parsed again with its offending lines blanked, and failing that
searched with regular expressions; each such fallback leaves a note.
"""

from __future__ import annotations

import ast
import configparser
import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from deploy_tui.project.django_support import DjangoPin, parse_django_pin

MAX_BYTES = 1_000_000
_MAX_REPAIRS = 60
_MAX_INCLUDE_DEPTH = 5
_MAX_FT_FILES = 300
_SKIP_DIRS = frozenset(
    {"node_modules", "__pycache__", "site-packages", "venv", "env", "virtualenv", "build", "dist", "htmlcov"}
)

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


# --- the filesystem, carefully ---------------------------------------------------------------


class _Repo:
    def __init__(self, root: Path, notes: list[str]) -> None:
        self.root = root.resolve()
        self.notes = notes
        self._noted_big: set[str] = set()

    def _inside(self, rel: str) -> Path | None:
        """The resolved path of rel, or None when it resolves outside the root (a note says so)."""
        path = self.root / rel
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):  # a symlink loop
            return None
        if resolved == self.root or resolved.is_relative_to(self.root):
            return resolved
        if path.is_symlink():
            self.notes.append(f"{rel} is a symlink out of the repository: not read")
        return None

    def is_file(self, rel: str) -> bool:
        path = self._inside(rel)
        return path is not None and path.is_file()

    def is_dir(self, rel: str) -> bool:
        path = self._inside(rel)
        return path is not None and path.is_dir()

    def read(self, rel: str) -> str | None:
        path = self._inside(rel)
        if path is None:
            return None
        try:
            if not path.is_file():
                return None
            if path.stat().st_size > MAX_BYTES:
                if rel not in self._noted_big:
                    self._noted_big.add(rel)
                    self.notes.append(f"{rel} is over {MAX_BYTES // 1_000_000} MB: not read")
                return None
            return path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return None

    def subdirs(self, rel: str) -> list[str]:
        """The directories directly in rel (not hidden, not venvs or caches), sorted."""
        base = self._inside(rel)
        if base is None or not base.is_dir():
            return []
        found = []
        try:
            entries = sorted(base.iterdir(), key=lambda p: p.name)
        except OSError:
            return []
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name in _SKIP_DIRS or name.endswith(".egg-info"):
                continue
            child = _join(rel, name)
            if self.is_dir(child):
                found.append(child)
        return found

    def python_files(self, rel: str, depth: int = 3) -> list[str]:
        base = self._inside(rel)
        if base is None or not base.is_dir():
            return []
        try:
            names = sorted(p.name for p in base.iterdir())
        except OSError:
            return []
        files = [_join(rel, n) for n in names if n.endswith(".py") and self.is_file(_join(rel, n))]
        if depth > 1:
            for sub in self.subdirs(rel):
                files.extend(self.python_files(sub, depth - 1))
        return files[:_MAX_FT_FILES]


def _join(*parts: str) -> str:
    return str(PurePosixPath(*[p for p in parts if p])) if any(parts) else ""


def _parent(rel: str) -> str:
    parent = str(PurePosixPath(rel).parent)
    return "" if parent == "." else parent


def _clean_override(value: str, what: str) -> str:
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"{what} {value!r} must be a path inside the repository")
    cleaned = str(path)
    return "" if cleaned == "." else cleaned


# --- Python source, leniently ----------------------------------------------------------------


@dataclass
class _Parsed:
    tree: ast.Module | None
    source: str
    blanked: list[int] = field(default_factory=list)
    error: str | None = None


def _parse(text: str) -> _Parsed:
    """ast.parse, blanking lines that do not parse (print statements, 0755, `except E, e:`) and retrying."""
    lines = text.splitlines()
    blanked: list[int] = []
    first_error: str | None = None
    for _ in range(_MAX_REPAIRS):
        source = "\n".join(lines) + "\n"
        try:
            return _Parsed(ast.parse(source), source, blanked, first_error)
        except (SyntaxError, ValueError) as error:  # ValueError: null bytes
            lineno = getattr(error, "lineno", None)
            if first_error is None:
                first_error = f"line {lineno}: {getattr(error, 'msg', str(error))}"
            if not isinstance(lineno, int) or not 1 <= lineno <= len(lines):
                break
            old = lines[lineno - 1]
            stripped = old.strip()
            indent = old[: len(old) - len(old.lstrip())]
            if stripped.startswith("except"):
                new = indent + "except Exception:"
            elif stripped.endswith(":") and not stripped.startswith(("else", "elif", "finally", "try")):
                new = indent + "if True:"
            else:
                new = indent + "pass"
            if new == old:
                break
            lines[lineno - 1] = new
            blanked.append(lineno)
    return _Parsed(None, text, blanked, first_error)


def _parse_note(rel: str, parsed: _Parsed) -> str | None:
    if parsed.error is None:
        return None
    if parsed.tree is not None:
        blanked = sorted(parsed.blanked)
        where = ", ".join(str(n) for n in blanked[:8]) + ("..." if len(blanked) > 8 else "")
        return f"{rel} does not parse as Python 3 ({parsed.error}); read it without line(s) {where}"
    return f"{rel} does not parse as Python 3 ({parsed.error}); searched it with patterns instead"


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _position(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def _str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


_ENVIRON = frozenset({"os.environ", "environ"})
_GETENV = frozenset({"os.getenv", "getenv"})
_DJANGO_ENVIRON_METHODS = frozenset(
    {"str", "bool", "int", "float", "list", "tuple", "dict", "json", "url", "path", "db", "db_url", "bytes"}
)


@dataclass(frozen=True)
class _Match:
    key: ast.expr  # the expression naming the variable
    kind: EnvKind


class _Env:
    """Finds environment reads in one module: os.environ[...], .get, getenv, `in`, django-environ, helpers."""

    def __init__(self, tree: ast.Module, source: str, file: str) -> None:
        self.source = source
        self.file = file
        self.env_objects: set[str] = set()
        self.schema_defaults: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                func = _dotted(node.value.func) or ""
                if func.endswith("Env") and func.split(".")[0] in ("environ", "Env"):
                    self.env_objects.update(t.id for t in node.targets if isinstance(t, ast.Name))
                    self.schema_defaults.update(k.arg for k in node.value.keywords if k.arg)
        # functions that read the variable their parameter names: _flag(name) -> os.environ.get(name)
        self.helpers: dict[str, tuple[int, str, EnvKind]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
                for inner in ast.walk(node):
                    found = self._match(inner)
                    if found and isinstance(found.key, ast.Name) and found.key.id in params:
                        self.helpers[node.name] = (params.index(found.key.id), found.key.id, found.kind)
                        break

    def _match(self, node: ast.AST) -> _Match | None:
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _dotted(node.value) in _ENVIRON:
            return _Match(node.slice, "required")
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn):
            if _dotted(node.comparators[0]) in _ENVIRON:
                return _Match(node.left, "flag")
            return None
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        name = _dotted(func)
        first = node.args[0] if node.args else None
        if isinstance(func, ast.Attribute) and func.attr in ("get", "setdefault") and _dotted(func.value) in _ENVIRON:
            return _Match(first, "optional") if first is not None else None
        if name in _GETENV:
            return _Match(first, "optional") if first is not None else None
        if name in self.helpers:
            index, param, helper_kind = self.helpers[name]
            arg = node.args[index] if len(node.args) > index else None
            arg = arg or next((k.value for k in node.keywords if k.arg == param), None)
            return _Match(arg, helper_kind) if arg is not None else None
        has_default = any(k.arg == "default" for k in node.keywords)
        if isinstance(func, ast.Name) and func.id in self.env_objects and first is not None:
            kind: EnvKind = "optional" if has_default or _str(first) in self.schema_defaults else "required"
            return _Match(first, kind)
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in self.env_objects
            and func.attr in _DJANGO_ENVIRON_METHODS
        ):
            if first is None and func.attr in ("db", "db_url"):
                return _Match(ast.Constant("DATABASE_URL"), "optional" if has_default else "required")
            if first is None:
                return None
            optional = has_default or len(node.args) > 1 or _str(first) in self.schema_defaults
            return _Match(first, "optional" if optional else "required")
        return None

    def read(self, node: ast.AST) -> EnvRead | None:
        found = self._match(node)
        name = _str(found.key) if found else None
        if found is None or name is None:
            return None
        line = getattr(node, "lineno", 0)
        text = ast.get_source_segment(self.source, node) or ""
        return EnvRead(name=name, line=line, kind=found.kind, file=self.file, text=" ".join(text.split()))

    def reads_in(self, node: ast.AST) -> list[EnvRead]:
        """Every read under node, in source order."""
        found = [(_position(n), r) for n in ast.walk(node) if (r := self.read(n))]
        return [r for _, r in sorted(found, key=lambda pair: pair[0])]


# --- settings ---------------------------------------------------------------------------------


@dataclass
class _Settings:
    env_reads: list[EnvRead] = field(default_factory=list)
    hosts: list[tuple[SourceLine, HostsKind, tuple[str, ...], bool, tuple[str, ...]]] = field(default_factory=list)
    static_root: str | None = None
    whitenoise: bool = False
    debug: DebugSwitch | None = None
    debug_literal_true: SourceLine | None = None
    secret_literal: SourceLine | None = None
    secret_from_env: bool = False
    files: list[str] = field(default_factory=list)


_OPPOSITE = {"1": "0", "true": "false", "yes": "no", "on": "off", "y": "n", "t": "f"}
_OPPOSITE.update({v: k for k, v in list(_OPPOSITE.items())})


def _opposite(value: str | None) -> str | None:
    if value is None:
        return "1"
    low = value.lower()
    if low not in _OPPOSITE:
        return None
    other = _OPPOSITE[low]
    return other.capitalize() if value[:1].isupper() else other


class _SettingsModule:
    """One settings file's tree and what it says."""

    def __init__(self, parsed: _Parsed, rel: str) -> None:
        assert parsed.tree is not None
        self.tree = parsed.tree
        self.rel = rel
        self.env = _Env(parsed.tree, parsed.source, rel)
        self.source = parsed.source
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        # module variables fed by the environment: DOMAIN = os.environ["SITENAME"]; ALLOWED_HOSTS = [DOMAIN]
        self.var_env: dict[str, list[str]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign):
                names = [r.name for r in self.env.reads_in(node.value)]
                for target in node.targets:
                    if isinstance(target, ast.Name) and names:
                        self.var_env.setdefault(target.id, []).extend(names)

    def segment(self, node: ast.AST) -> str:
        return " ".join((ast.get_source_segment(self.source, node) or "").split())

    def env_names_in(self, node: ast.AST, depth: int = 0) -> list[str]:
        names = [r.name for r in self.env.reads_in(node)]
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id in self.var_env:
                names.extend(self.var_env[sub.id])
        return list(dict.fromkeys(names))

    def assignments(self, name: str) -> list[tuple[ast.stmt | ast.Call, ast.expr, bool]]:
        """(statement, value, adds) for NAME = ..., NAME: T = ..., NAME += ..., NAME.append/extend(...), in order."""
        return sorted(self._assignments(name), key=lambda found: _position(found[0]))

    def _assignments(self, name: str) -> Iterator[tuple[ast.stmt | ast.Call, ast.expr, bool]]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                yield node, node.value, False
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
                if node.value is not None:
                    yield node, node.value, False
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
                yield node, node.value, True
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("append", "extend", "insert")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name
                and node.args
            ):
                value = node.args[-1]
                yield node, (ast.List([value], ast.Load()) if node.func.attr != "extend" else value), True

    def truth(self, expr: ast.expr) -> tuple[str, str | None, str | None] | None:
        """(variable, a value making expr true, one making it false) for env tests; None = leave unset."""
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
            inner = self.truth(expr.operand)
            return (inner[0], inner[2], inner[1]) if inner else None
        if isinstance(expr, ast.Call) and len(expr.args) == 1 and _dotted(expr.func) in ("bool", "int"):
            inner = self.truth(expr.args[0])
            if inner and _dotted(expr.func) == "int":
                return inner[0], "1", "0"
            return inner
        found = self.env._match(expr)
        name = _str(found.key) if found else None
        if found and name:
            if found.kind == "flag":
                negated = isinstance(expr, ast.Compare) and isinstance(expr.ops[0], ast.NotIn)
                return (name, None, "1") if negated else (name, "1", None)
            if isinstance(expr, ast.Call) and (
                _dotted(expr.func) in self.env.helpers
                or (isinstance(expr.func, ast.Attribute) and expr.func.attr == "bool")
                or any(k.arg == "cast" and _dotted(k.value) == "bool" for k in expr.keywords)
            ):
                return name, "1", "0"
            # a bare string is true when non-empty: unset turns it off, unless unset is a KeyError
            return name, "1", "" if found.kind == "required" else None
        if isinstance(expr, ast.Compare) and len(expr.ops) == 1:
            left = expr.left
            while (
                isinstance(left, ast.Call)
                and isinstance(left.func, ast.Attribute)
                and left.func.attr in ("lower", "upper", "strip", "casefold")
            ):
                left = left.func.value
            found = self.env._match(left)
            name = _str(found.key) if found else None
            if not (found and name):
                return None
            op, right = expr.ops[0], expr.comparators[0]
            if isinstance(right, ast.List | ast.Tuple | ast.Set):
                values = [v for e in right.elts if (v := _str(e)) is not None]
            else:
                values = [v] if (v := _str(right)) is not None else []
            if not values:
                return None
            if isinstance(op, ast.Eq | ast.In):
                return name, values[0], _opposite(values[0])
            if isinstance(op, ast.NotEq | ast.NotIn):
                return name, _opposite(values[0]), values[0]
        return None

    def enclosing_if(self, node: ast.AST) -> tuple[ast.If, bool] | None:
        """The nearest `if` around node whose test reads the environment, and whether node is in its body."""
        child, parent = node, self.parents.get(node)
        while parent is not None:
            if isinstance(parent, ast.If) and self.env_names_in(parent.test):
                return parent, child in parent.body
            child, parent = parent, self.parents.get(parent)
        return None

    def read_into(self, facts: _Settings) -> None:
        facts.env_reads.extend(self.env.reads_in(self.tree))
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "whitenoise" in node.value.lower():
                facts.whitenoise = True
        self._hosts(facts)
        self._debug(facts)
        for _, value, _adds in self.assignments("STATIC_ROOT"):
            facts.static_root = self.segment(value)
        for stmt, value, _adds in self.assignments("SECRET_KEY"):
            if self.env_names_in(value):
                facts.secret_from_env = True
            elif _str(value) is not None and self.enclosing_if(stmt) is None:
                facts.secret_literal = SourceLine(self.rel, stmt.lineno, self.segment(stmt))

    def _hosts(self, facts: _Settings) -> None:
        for stmt, value, _adds in self.assignments("ALLOWED_HOSTS"):
            where = SourceLine(self.rel, stmt.lineno, self.segment(stmt))
            names = self.env_names_in(value)
            if names:
                split = any(
                    isinstance(n, ast.Call)
                    and isinstance(n.func, ast.Attribute)
                    and (
                        (n.func.attr == "split" and n.args and (_str(n.args[0]) or "").strip() == ",")
                        or (n.func.attr == "list" and _dotted(n.func.value) in self.env.env_objects)
                    )
                    for n in ast.walk(value)
                )
                facts.hosts.append((where, "env", tuple(names), split, ()))
                continue
            try:
                literal = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                literal = None
            if isinstance(literal, list | tuple | set) and all(isinstance(h, str) for h in literal):
                facts.hosts.append((where, "literal", (), False, tuple(str(h) for h in literal)))
            else:
                facts.hosts.append((where, "unknown", (), False, ()))

    def _debug(self, facts: _Settings) -> None:
        for stmt, value, _adds in self.assignments("DEBUG"):
            if not isinstance(stmt, ast.stmt):
                continue
            switch: DebugSwitch | None = None
            names = self.env_names_in(value)
            if names:
                found = self.truth(value)
                if found:
                    switch = DebugSwitch(found[0], stmt.lineno, self.rel, found[1], found[2])
                else:
                    switch = DebugSwitch(names[0], stmt.lineno, self.rel, None, None, understood=False)
            elif isinstance(value, ast.Constant) and isinstance(value.value, bool):
                around = self.enclosing_if(stmt)
                if around is None:
                    if value.value and facts.debug_literal_true is None:
                        facts.debug_literal_true = SourceLine(self.rel, stmt.lineno, self.segment(stmt))
                    continue
                test, in_body = around
                found = self.truth(test.test)
                if found:
                    env, when_true, when_false = found
                    sets_debug_on = value.value == in_body  # DEBUG's value when the test is true
                    on, off = (when_true, when_false) if sets_debug_on else (when_false, when_true)
                    switch = DebugSwitch(env, test.lineno, self.rel, on, off)
                else:
                    env = self.env_names_in(test.test)[0]
                    switch = DebugSwitch(env, test.lineno, self.rel, None, None, understood=False)
            if switch and (facts.debug is None or (not facts.debug.understood and switch.understood)):
                facts.debug = switch


# Patterns for settings that do not parse at all.
_RE_SUBSCRIPT = re.compile(r"""(?:os\.)?environ\s*\[\s*['"](\w+)['"]\s*\](?!\s*=[^=])""")
_RE_GET = re.compile(r"""(?:os\.)?(?:environ\.get|environ\.setdefault|getenv)\(\s*['"](\w+)['"]""")
_RE_IN = re.compile(r"""['"](\w+)['"]\s+(?:not\s+)?in\s+(?:os\.)?environ\b""")
_RE_KINDS: tuple[tuple[re.Pattern[str], EnvKind], ...] = (
    (_RE_SUBSCRIPT, "required"),
    (_RE_GET, "optional"),
    (_RE_IN, "flag"),
)
_RE_ASSIGN = re.compile(r"^\s*(ALLOWED_HOSTS|STATIC_ROOT|DEBUG|SECRET_KEY)\s*\+?=\s*(.+?)\s*$")


def _settings_by_patterns(text: str, rel: str, facts: _Settings) -> None:
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        reads: list[tuple[int, str, EnvKind]] = []
        for pattern, kind in _RE_KINDS:
            reads += [(m.start(), m.group(1), kind) for m in pattern.finditer(code)]
        for _, name, kind in sorted(reads):
            facts.env_reads.append(EnvRead(name, number, kind, rel, line.strip()))
        if "whitenoise" in code.lower():
            facts.whitenoise = True
        assign = _RE_ASSIGN.match(code)
        if not assign:
            continue
        target, rhs = assign.groups()
        names = list(dict.fromkeys(name for _, name, _ in sorted(reads)))
        where = SourceLine(rel, number, line.strip())
        if target == "ALLOWED_HOSTS":
            if names:
                facts.hosts.append((where, "env", tuple(names), bool(re.search(r"split\(\s*['\"],", rhs)), ()))
                continue
            try:
                literal = ast.literal_eval(rhs)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                literal = None
            if isinstance(literal, list | tuple) and all(isinstance(h, str) for h in literal):
                facts.hosts.append((where, "literal", (), False, tuple(literal)))
            else:
                facts.hosts.append((where, "unknown", (), False, ()))
        elif target == "STATIC_ROOT":
            facts.static_root = rhs
        elif target == "DEBUG" and names and facts.debug is None:
            facts.debug = DebugSwitch(names[0], number, rel, None, None, understood=False)
        elif target == "DEBUG" and rhs == "True" and not line.startswith((" ", "\t")):
            facts.debug_literal_true = facts.debug_literal_true or where
        elif target == "SECRET_KEY":
            if names:
                facts.secret_from_env = True
            elif re.match(r"""^[rbuRBU]*['"]""", rhs) and not line.startswith((" ", "\t")):
                facts.secret_literal = where


def _module_file(repo: _Repo, app_dir: str, module: str) -> str | None:
    base = _join(app_dir, *module.split("."))
    for candidate in (f"{base}.py", _join(base, "__init__.py")):
        if repo.is_file(candidate):
            return candidate
    return None


def _module_of(app_dir: str, rel: str) -> str | None:
    """superlists/settings.py (app_dir "") -> "superlists.settings"; None if rel is not under app_dir."""
    path = PurePosixPath(rel)
    try:
        inside = path.relative_to(app_dir) if app_dir else path
    except ValueError:
        return None
    parts = list(inside.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or None


def _star_imports(tree: ast.Module, module: str | None, is_package: bool) -> list[str]:
    """Modules the settings pull in with `from X import *` (relative ones resolved against module)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            if node.level == 0 and node.module:
                found.append(node.module)
            elif node.level and module:
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                found.append(".".join([*base, node.module] if node.module else base))
    return found


def _read_settings(repo: _Repo, app_dir: str, rel: str, module: str | None, notes: list[str]) -> _Settings:
    facts = _Settings()
    seen: set[str] = set()

    def visit(rel: str, module: str | None, depth: int) -> None:
        module = module or _module_of(app_dir, rel)
        if rel in seen or depth > 4:
            return
        seen.add(rel)
        text = repo.read(rel)
        if text is None:
            return
        facts.files.append(rel)
        parsed = _parse(text)
        note = _parse_note(rel, parsed)
        if note:
            notes.append(note)
        if parsed.tree is None:
            _settings_by_patterns(text, rel, facts)
            return
        for imported in _star_imports(parsed.tree, module, rel.endswith("__init__.py")):
            target = _module_file(repo, app_dir, imported)
            if target:
                visit(target, imported, depth + 1)
        _SettingsModule(parsed, rel).read_into(facts)

    visit(rel, module, 0)
    return facts


def _allowed_hosts(facts: _Settings) -> AllowedHosts:
    if not facts.hosts:
        return AllowedHosts()
    env = [h for h in facts.hosts if h[1] == "env"]
    literal = [h for h in facts.hosts if h[1] == "literal"]
    kind: HostsKind = "env" if env else "literal" if literal else "unknown"
    return AllowedHosts(
        kind=kind,
        env_names=tuple(dict.fromkeys(n for h in env for n in h[2])),
        comma_split=any(h[3] for h in env),
        env_line=env[0][0].line if env else None,
        values=tuple(dict.fromkeys(v for h in literal for v in h[4])),
        literal_line=literal[0][0].line if literal else None,
        assignments=tuple(h[0] for h in facts.hosts),
    )


# --- manage.py and the settings module -------------------------------------------------------

_RE_SETTINGS_MODULE = re.compile(r"""DJANGO_SETTINGS_MODULE['"]\s*[,\]]\s*=?\s*['"]([\w.]+)['"]""")


def _settings_module(text: str) -> str | None:
    parsed = _parse(text)
    if parsed.tree is not None:
        for node in ast.walk(parsed.tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "setdefault"
                and len(node.args) == 2
                and _str(node.args[0]) == "DJANGO_SETTINGS_MODULE"
                and _str(node.args[1])
            ):
                return _str(node.args[1])
            if isinstance(node, ast.Assign) and _str(node.value):
                for target in node.targets:
                    if isinstance(target, ast.Subscript) and _str(target.slice) == "DJANGO_SETTINGS_MODULE":
                        return _str(node.value)
    found = _RE_SETTINGS_MODULE.search(text)
    return found.group(1) if found else None


def _find_app_dir(repo: _Repo, override: str | None, notes: list[str]) -> tuple[str, str | None]:
    if override is not None:
        app_dir = _clean_override(override, "app_dir")
        manage = _join(app_dir, "manage.py")
        if repo.is_file(manage):
            return app_dir, manage
        notes.append(f"app_dir {app_dir or '.'!r} has no manage.py")
        return app_dir, None
    candidates = [d for d in ("", "src") if repo.is_file(_join(d, "manage.py"))]
    candidates += [d for d in repo.subdirs("") if d != "src" and repo.is_file(_join(d, "manage.py"))]
    if not candidates:
        notes.append("no manage.py at the root, in src/ or in a directory one level down")
        return "", None
    chosen = candidates[0]
    if len(candidates) > 1:
        others = ", ".join(_join(d, "manage.py") for d in candidates[1:])
        notes.append(f"several manage.py: using {_join(chosen, 'manage.py')} (also {others}); set app_dir to choose")
    return chosen, _join(chosen, "manage.py")


def _find_settings_file(repo: _Repo, app_dir: str, module: str | None, notes: list[str]) -> str | None:
    if module:
        found = _module_file(repo, app_dir, module)
        if found:
            return found
        notes.append(f"manage.py names the settings module {module!r}, but {app_dir or '.'}/ has no such file")
    guesses = [
        f
        for d in repo.subdirs(app_dir)
        for f in (_join(d, "settings.py"), _join(d, "settings", "__init__.py"))
        if repo.is_file(f)
    ]
    if guesses:
        also = f" (also {', '.join(guesses[1:])})" if len(guesses) > 1 else ""
        notes.append(f"settings read from {guesses[0]}, found by looking{also}")
        return guesses[0]
    if not module:
        notes.append("no settings module found (manage.py sets no DJANGO_SETTINGS_MODULE)")
    return None


# --- requirements -----------------------------------------------------------------------------

_REQ_NAME = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*(.*)$")
_REQ_INCLUDE = re.compile(r"^(?:-r|--requirement)(?:\s*=\s*|\s+|(?=\S))(\S+)")
_REQ_CONSTRAINT = re.compile(r"^(?:-c|--constraint)(?:\s*=\s*|\s+|(?=\S))(\S+)")
_REQUIREMENTS_CANDIDATES = ("requirements/production.txt", "requirements/prod.txt", "requirements/base.txt")


def normalize_name(name: str) -> str:
    """PEP 503: "Django" -> "django", "django_environ" -> "django-environ"."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined = (pending + line).strip()
        pending = ""
        if joined:
            yield start, joined
    if pending.strip():
        yield start, pending.strip()


def _find_requirements(repo: _Repo, app_dir: str, override: str | None, notes: list[str]) -> str | None:
    if override is not None:
        rel = _clean_override(override, "requirements")
        if repo.is_file(rel):
            return rel
        notes.append(f"the requirements file {rel!r} is not in the repository")
        return None
    candidates = ["requirements.txt"]
    if app_dir:
        candidates.append(_join(app_dir, "requirements.txt"))
    candidates += _REQUIREMENTS_CANDIDATES
    for rel in candidates:
        if repo.is_file(rel):
            if rel.startswith("requirements/"):
                notes.append(f"no requirements.txt: using {rel}")
            return rel
    extra = " (pyproject.toml is not read for dependencies)" if repo.is_file("pyproject.toml") else ""
    notes.append(f"no requirements file: looked for {', '.join(candidates)}{extra}")
    return None


@dataclass
class _Requirements:
    names: set[str] = field(default_factory=set)
    files: list[str] = field(default_factory=list)
    django_lines: list[tuple[str, int, str]] = field(default_factory=list)  # file, line, text


def _read_requirements(repo: _Repo, rel: str, notes: list[str]) -> _Requirements:
    found = _Requirements()

    def visit(rel: str, depth: int) -> None:
        if rel in found.files or depth > _MAX_INCLUDE_DEPTH:
            return
        text = repo.read(rel)
        if text is None:
            return
        found.files.append(rel)
        for number, line in _logical_lines(text):
            include = _REQ_INCLUDE.match(line)
            if include:
                target = _join(_parent(rel), include.group(1))
                target = str(PurePosixPath(target))
                normalized = _normalize_rel(target)
                if normalized is None or not repo.is_file(normalized):
                    notes.append(f"{rel} line {number}: {line!r} names a file not in the repository: not followed")
                else:
                    visit(normalized, depth + 1)
                continue
            if _REQ_CONSTRAINT.match(line):
                notes.append(f"{rel} line {number}: constraints file {line!r} not read")
                continue
            if line.startswith(("-e", "--editable")):
                egg = re.search(r"[#&]egg=([A-Za-z0-9._-]+)", line)
                if egg:
                    found.names.add(normalize_name(egg.group(1)))
                    if normalize_name(egg.group(1)) == "django":
                        notes.append(f"{rel} line {number}: Django installed from {line!r}: its version is unknown")
                continue
            if line.startswith("-") or "://" in line.split("@")[0] or line.startswith((".", "/")):
                continue
            name = _REQ_NAME.match(line)
            if not name:
                continue
            normalized = normalize_name(name.group(1))
            found.names.add(normalized)
            if normalized == "django":
                found.django_lines.append((rel, number, line))

    visit(rel, 0)
    return found


def _normalize_rel(rel: str) -> str | None:
    parts: list[str] = []
    for part in PurePosixPath(rel).parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts) if parts and not rel.startswith("/") else None


def _django_pin(reqs: _Requirements, notes: list[str]) -> DjangoPin | None:
    if not reqs.names and not reqs.django_lines:
        return None
    if not reqs.django_lines:
        if "django" not in reqs.names:
            notes.append(f"Django is not in {', '.join(reqs.files)}")
        return None
    pins: list[DjangoPin] = []
    for file, number, line in reqs.django_lines:
        try:
            pin = parse_django_pin(line, file=file, line_number=number)
        except ValueError as error:
            notes.append(f"{file} line {number}: cannot read Django's version in {line!r}: {error}")
            continue
        if pin is None:
            continue
        if pin.unpinned:
            spec = line.split("@", 1)
            how = "from a URL" if len(spec) > 1 else "without a version"
            notes.append(
                f"Django is listed {how} ({file} line {number}): pip installs the newest release "
                "for the server's Python; pin it (e.g. Django==5.2.*) to get the same one every time"
            )
            continue
        if pin.ignored:
            notes.append(f"{file} line {number}: {', '.join(pin.ignored)} does not narrow the range and is ignored")
        pins.append(pin)
    if len(pins) > 1:
        others = ", ".join(f"{p.file} line {p.line_number}" for p in pins[1:])
        notes.append(f"Django is pinned more than once: using {pins[0].file} line {pins[0].line_number} ({others})")
    return pins[0] if pins else None


# --- functional tests -------------------------------------------------------------------------

_RE_SELENIUM3 = re.compile(r"\.find_elements?_by_\w+\s*\(")
_RE_FT_ENV = re.compile(
    r"""(?:environ\s*\[\s*|environ\.get\(\s*|getenv\(\s*)['"](\w+)['"]|['"](\w+)['"]\s+(?:not\s+)?in\s+(?:os\.)?environ"""
)
_RE_PYTEST = re.compile(r"^\s*(?:import pytest|from pytest\b|@pytest\.)", re.MULTILINE)
_SERVER_VARIABLES = ("STAGING_SERVER", "TEST_SERVER")


def _pytest_django(repo: _Repo, dirs: list[str]) -> bool:
    """Whether a pytest config file names DJANGO_SETTINGS_MODULE (pytest-django is set up)."""
    for d in dict.fromkeys(dirs):
        text = repo.read(_join(d, "pyproject.toml"))
        if text:
            try:
                options = tomllib.loads(text).get("tool", {}).get("pytest", {}).get("ini_options", {})
            except tomllib.TOMLDecodeError:
                options = {}
            if isinstance(options, dict) and ("DJANGO_SETTINGS_MODULE" in options or "--ds" in str(options)):
                return True
        for name, section in (("pytest.ini", "pytest"), ("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
            text = repo.read(_join(d, name))
            if not text:
                continue
            parser = configparser.ConfigParser(interpolation=None, strict=False)
            try:
                parser.read_string(text)
            except configparser.Error:
                continue
            if not parser.has_section(section):
                continue
            addopts = parser.get(section, "addopts", fallback="")
            if parser.has_option(section, "DJANGO_SETTINGS_MODULE") or "--ds" in addopts:
                return True
    return False


def _find_fts(repo: _Repo, app_dir: str, manage_py: str | None, notes: list[str]) -> FunctionalTests | None:
    candidates = [_join(app_dir, "functional_tests"), "functional_tests"]
    candidates += [_join(d, "functional_tests") for d in repo.subdirs(app_dir)]
    directory = next((c for c in dict.fromkeys(candidates) if repo.is_dir(c)), None)
    if directory is None:
        return None
    files = repo.python_files(directory)
    texts = {f: t for f in files if (t := repo.read(f)) is not None}
    selenium3: list[SourceLine] = []
    env_names: list[str] = []
    firefox = chrome = chromium = False
    for file, text in texts.items():
        for number, line in enumerate(text.splitlines(), 1):
            code = line.split("#", 1)[0]
            if _RE_SELENIUM3.search(code):
                selenium3.append(SourceLine(file, number, line.strip()))
            env_names.extend(a or b for a, b in _RE_FT_ENV.findall(code))
        firefox = firefox or bool(re.search(r"webdriver\.Firefox\s*\(", text))
        chrome = chrome or bool(re.search(r"webdriver\.Chrome\s*\(", text))
        chromium = chromium or "chromium" in text.lower()
    browser: Browser = "unknown"
    if chrome and not firefox:
        browser = "chromium" if chromium else "chrome"
    elif firefox and not chrome:
        browser = "firefox"
    elif firefox and chrome:
        notes.append(f"the FTs in {directory}/ start both Firefox and Chrome")
    ancestors = [directory, _parent(directory), app_dir, ""]
    pytest_style = any(repo.is_file(_join(d, "conftest.py")) for d in dict.fromkeys(ancestors)) or any(
        _RE_PYTEST.search(t) for t in texts.values()
    )
    runner: Runner = "pytest" if pytest_style or _pytest_django(repo, ["", app_dir]) else "django"
    argv: tuple[str, ...]
    if runner == "pytest":
        argv = ("python", "-m", "pytest", directory)
    elif manage_py:
        argv = ("python", manage_py, "test", directory)
    else:
        argv = ()
        notes.append(f"the FTs in {directory}/ need manage.py test, but there is no manage.py")
    if runner == "django" and not repo.is_file(_join(directory, "__init__.py")):
        notes.append(f"{directory}/ has no __init__.py: manage.py test may not find the FTs")
    if selenium3:
        notes.append(
            f"{len(selenium3)} find_element_by_* call(s) in the FTs: Selenium 4.3 removed them "
            "(use find_element(By.ID, ...))"
        )
    names = tuple(dict.fromkeys(env_names))
    return FunctionalTests(
        directory=directory,
        runner=runner,
        argv=argv,
        browser=browser,
        server_variables=tuple(v for v in _SERVER_VARIABLES if v in names),
        selenium3_calls=tuple(selenium3),
        files=tuple(files),
        env_names=names,
    )


# --- the whole --------------------------------------------------------------------------------


def read_project(root: Path, *, app_dir: str | None = None, requirements: str | None = None) -> Project:
    """What deploy-tui needs to know about the Django repository at root, read without running it.

    app_dir and requirements override the search (paths relative to root; ValueError if they
    leave it). Anything missing or odd is a note, not an exception.
    """
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    notes: list[str] = []
    repo = _Repo(root, notes)

    app, manage_py = _find_app_dir(repo, app_dir, notes)

    req_file = _find_requirements(repo, app, requirements, notes)
    reqs = _read_requirements(repo, req_file, notes) if req_file else _Requirements()
    pin = _django_pin(reqs, notes) if req_file else None

    manage_text = repo.read(manage_py) if manage_py else None
    module = _settings_module(manage_text) if manage_text else None
    if manage_text is not None and module is None:
        notes.append(f"{manage_py} sets no DJANGO_SETTINGS_MODULE")
    settings_file = _find_settings_file(repo, app, module, notes) if (manage_py or module) else None

    facts = _read_settings(repo, app, settings_file, module, notes) if settings_file else _Settings()
    if facts.secret_literal and not facts.secret_from_env:
        where = facts.secret_literal
        notes.append(f"SECRET_KEY is hard-coded ({where.file} line {where.line}): the server would use the repo's key")
    if facts.debug_literal_true and facts.debug is None:
        where = facts.debug_literal_true
        notes.append(f"DEBUG = True is hard-coded ({where.file} line {where.line}) and no variable turns it off")
    if "whitenoise" in reqs.names and not facts.whitenoise and settings_file:
        notes.append("whitenoise is in the requirements but the settings do not use it")
    if settings_file and "django" in reqs.names and not facts.hosts:
        notes.append("the settings never set ALLOWED_HOSTS: only localhost is allowed, and only with DEBUG on")

    fts = _find_fts(repo, app, manage_py, notes)

    return Project(
        root=repo.root,
        app_dir=app,
        manage_py=manage_py,
        requirements=req_file,
        requirement_names=frozenset(reqs.names),
        django_pin=pin,
        settings_module=module,
        settings_file=settings_file,
        env_reads=tuple(facts.env_reads),
        allowed_hosts=_allowed_hosts(facts),
        static_root=facts.static_root,
        uses_whitenoise=facts.whitenoise,
        debug=facts.debug,
        fts=fts,
        notes=tuple(dict.fromkeys(notes)),
        requirement_files=tuple(reqs.files),
        settings_files=tuple(facts.files),
    )
