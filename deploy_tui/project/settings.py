"""The settings: environment reads, ALLOWED_HOSTS, the DEBUG switch, STATIC_ROOT and SECRET_KEY, read from
the tree or, when a file does not parse, by patterns; and manage.py, which names the settings module.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from deploy_tui.project.files import Repo, clean_override, join
from deploy_tui.project.model import AllowedHosts, DebugSwitch, EnvKind, EnvRead, HostsKind, SourceLine
from deploy_tui.project.source import Env, Parsed, const_str, dotted, parse, parse_note, position


@dataclass
class Settings:
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

    def __init__(self, parsed: Parsed, rel: str) -> None:
        assert parsed.tree is not None
        self.tree = parsed.tree
        self.rel = rel
        self.env = Env(parsed.tree, parsed.source, rel)
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
        return sorted(self._assignments(name), key=lambda found: position(found[0]))

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
        if isinstance(expr, ast.Call) and len(expr.args) == 1 and dotted(expr.func) in ("bool", "int"):
            inner = self.truth(expr.args[0])
            if inner and dotted(expr.func) == "int":
                return inner[0], "1", "0"
            return inner
        found = self.env.match(expr)
        name = const_str(found.key) if found else None
        if found and name:
            if found.kind == "flag":
                negated = isinstance(expr, ast.Compare) and isinstance(expr.ops[0], ast.NotIn)
                return (name, None, "1") if negated else (name, "1", None)
            if isinstance(expr, ast.Call) and (
                dotted(expr.func) in self.env.helpers
                or (isinstance(expr.func, ast.Attribute) and expr.func.attr == "bool")
                or any(k.arg == "cast" and dotted(k.value) == "bool" for k in expr.keywords)
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
            found = self.env.match(left)
            name = const_str(found.key) if found else None
            if not (found and name):
                return None
            op, right = expr.ops[0], expr.comparators[0]
            if isinstance(right, ast.List | ast.Tuple | ast.Set):
                values = [v for e in right.elts if (v := const_str(e)) is not None]
            else:
                values = [v] if (v := const_str(right)) is not None else []
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

    def read_into(self, facts: Settings) -> None:
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
            elif const_str(value) is not None and self.enclosing_if(stmt) is None:
                facts.secret_literal = SourceLine(self.rel, stmt.lineno, self.segment(stmt))

    def _hosts(self, facts: Settings) -> None:
        for stmt, value, _adds in self.assignments("ALLOWED_HOSTS"):
            where = SourceLine(self.rel, stmt.lineno, self.segment(stmt))
            names = self.env_names_in(value)
            if names:
                split = any(
                    isinstance(n, ast.Call)
                    and isinstance(n.func, ast.Attribute)
                    and (
                        (n.func.attr == "split" and n.args and (const_str(n.args[0]) or "").strip() == ",")
                        or (n.func.attr == "list" and dotted(n.func.value) in self.env.env_objects)
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

    def _debug(self, facts: Settings) -> None:
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


def _settings_by_patterns(text: str, rel: str, facts: Settings) -> None:
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


def _module_file(repo: Repo, app_dir: str, module: str) -> str | None:
    base = join(app_dir, *module.split("."))
    for candidate in (f"{base}.py", join(base, "__init__.py")):
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


def read_settings(repo: Repo, app_dir: str, rel: str, module: str | None, notes: list[str]) -> Settings:
    facts = Settings()
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
        parsed = parse(text)
        note = parse_note(rel, parsed)
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


def allowed_hosts(facts: Settings) -> AllowedHosts:
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


def settings_module(text: str) -> str | None:
    parsed = parse(text)
    if parsed.tree is not None:
        for node in ast.walk(parsed.tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "setdefault"
                and len(node.args) == 2
                and const_str(node.args[0]) == "DJANGO_SETTINGS_MODULE"
                and const_str(node.args[1])
            ):
                return const_str(node.args[1])
            if isinstance(node, ast.Assign) and const_str(node.value):
                for target in node.targets:
                    if isinstance(target, ast.Subscript) and const_str(target.slice) == "DJANGO_SETTINGS_MODULE":
                        return const_str(node.value)
    found = _RE_SETTINGS_MODULE.search(text)
    return found.group(1) if found else None


def find_app_dir(repo: Repo, override: str | None, notes: list[str]) -> tuple[str, str | None]:
    if override is not None:
        app_dir = clean_override(override, "app_dir")
        manage = join(app_dir, "manage.py")
        if repo.is_file(manage):
            return app_dir, manage
        notes.append(f"app_dir {app_dir or '.'!r} has no manage.py")
        return app_dir, None
    candidates = [d for d in ("", "src") if repo.is_file(join(d, "manage.py"))]
    candidates += [d for d in repo.subdirs("") if d != "src" and repo.is_file(join(d, "manage.py"))]
    if not candidates:
        notes.append("no manage.py at the root, in src/ or in a directory one level down")
        return "", None
    chosen = candidates[0]
    if len(candidates) > 1:
        others = ", ".join(join(d, "manage.py") for d in candidates[1:])
        notes.append(f"several manage.py: using {join(chosen, 'manage.py')} (also {others}); set app_dir to choose")
    return chosen, join(chosen, "manage.py")


def find_settings_file(repo: Repo, app_dir: str, module: str | None, notes: list[str]) -> str | None:
    if module:
        found = _module_file(repo, app_dir, module)
        if found:
            return found
        notes.append(f"manage.py names the settings module {module!r}, but {app_dir or '.'}/ has no such file")
    guesses = [
        f
        for d in repo.subdirs(app_dir)
        for f in (join(d, "settings.py"), join(d, "settings", "__init__.py"))
        if repo.is_file(f)
    ]
    if guesses:
        also = f" (also {', '.join(guesses[1:])})" if len(guesses) > 1 else ""
        notes.append(f"settings read from {guesses[0]}, found by looking{also}")
        return guesses[0]
    if not module:
        notes.append("no settings module found (manage.py sets no DJANGO_SETTINGS_MODULE)")
    return None
