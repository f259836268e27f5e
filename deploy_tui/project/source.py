"""Python source, parsed leniently (Python-2-era lines blanked), and the environment reads in it (`Env`)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from deploy_tui.project.model import EnvKind, EnvRead

_MAX_REPAIRS = 60


@dataclass
class Parsed:
    tree: ast.Module | None
    source: str
    blanked: list[int] = field(default_factory=list)
    error: str | None = None


def parse(text: str) -> Parsed:
    """ast.parse, blanking lines that do not parse (print statements, 0755, `except E, e:`) and retrying."""
    lines = text.splitlines()
    blanked: list[int] = []
    first_error: str | None = None
    for _ in range(_MAX_REPAIRS):
        source = "\n".join(lines) + "\n"
        try:
            return Parsed(ast.parse(source), source, blanked, first_error)
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
    return Parsed(None, text, blanked, first_error)


def parse_note(rel: str, parsed: Parsed) -> str | None:
    if parsed.error is None:
        return None
    if parsed.tree is not None:
        blanked = sorted(parsed.blanked)
        where = ", ".join(str(n) for n in blanked[:8]) + ("..." if len(blanked) > 8 else "")
        return f"{rel} does not parse as Python 3 ({parsed.error}); read it without line(s) {where}"
    return f"{rel} does not parse as Python 3 ({parsed.error}); searched it with patterns instead"


def dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def position(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def const_str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


_ENVIRON = frozenset({"os.environ", "environ"})
_GETENV = frozenset({"os.getenv", "getenv"})
_DJANGO_ENVIRON_METHODS = frozenset(
    {"str", "bool", "int", "float", "list", "tuple", "dict", "json", "url", "path", "db", "db_url", "bytes"}
)


_PHYSICAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


@dataclass(frozen=True)
class _Match:
    key: ast.expr  # the expression naming the variable
    kind: EnvKind


class Env:
    """Finds environment reads in one module: os.environ[...], .get, getenv, `in`, django-environ, helpers."""

    def __init__(self, tree: ast.Module, source: str, file: str) -> None:
        self.source = source
        # Split once, as the parser counts lines (\n, \r\n, \r; not str.splitlines' form feeds and the like):
        # Python 3.11's ast.get_source_segment splits the whole file again on every call.
        self._lines: list[str] = _PHYSICAL_LINE.findall(source)
        self.file = file
        self.env_objects: set[str] = set()
        self.schema_defaults: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                func = dotted(node.value.func) or ""
                if func.endswith("Env") and func.split(".")[0] in ("environ", "Env"):
                    self.env_objects.update(t.id for t in node.targets if isinstance(t, ast.Name))
                    self.schema_defaults.update(k.arg for k in node.value.keywords if k.arg)
        # functions that read the variable their parameter names: _flag(name) -> os.environ.get(name)
        self.helpers: dict[str, tuple[int, str, EnvKind]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
                for inner in ast.walk(node):
                    found = self.match(inner)
                    if found and isinstance(found.key, ast.Name) and found.key.id in params:
                        self.helpers[node.name] = (params.index(found.key.id), found.key.id, found.kind)
                        break

    def match(self, node: ast.AST) -> _Match | None:
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and dotted(node.value) in _ENVIRON:
            return _Match(node.slice, "required")
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn):
            if dotted(node.comparators[0]) in _ENVIRON:
                return _Match(node.left, "flag")
            return None
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        name = dotted(func)
        first = node.args[0] if node.args else None
        if isinstance(func, ast.Attribute) and func.attr in ("get", "setdefault") and dotted(func.value) in _ENVIRON:
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
            kind: EnvKind = "optional" if has_default or const_str(first) in self.schema_defaults else "required"
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
            optional = has_default or len(node.args) > 1 or const_str(first) in self.schema_defaults
            return _Match(first, "optional" if optional else "required")
        return None

    def read(self, node: ast.AST) -> EnvRead | None:
        found = self.match(node)
        name = const_str(found.key) if found else None
        if found is None or name is None:
            return None
        line = getattr(node, "lineno", 0)
        text = self._segment(node)
        return EnvRead(name=name, line=line, kind=found.kind, file=self.file, text=" ".join(text.split()))

    def _segment(self, node: ast.AST) -> str:
        """The node's source text, as ast.get_source_segment gives it (offsets are UTF-8 bytes)."""
        where = [getattr(node, name, None) for name in ("lineno", "end_lineno", "col_offset", "end_col_offset")]
        numbers = [n for n in where if isinstance(n, int)]
        if len(numbers) != 4:
            return ""
        start, end, first, last = numbers
        if end > len(self._lines):
            return ""
        lines = [line.encode() for line in self._lines[start - 1 : end]]
        if len(lines) == 1:
            return lines[0][first:last].decode(errors="replace")
        lines[0], lines[-1] = lines[0][first:], lines[-1][:last]
        return b"".join(lines).decode(errors="replace")

    def reads_in(self, node: ast.AST) -> list[EnvRead]:
        """Every read under node, in source order."""
        found = [(position(n), r) for n in ast.walk(node) if (r := self.read(n))]
        return [r for _, r in sorted(found, key=lambda pair: pair[0])]
