"""The repository on disk, read carefully: `Repo` (size limit, no symlinks out of the root) and path helpers."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

MAX_BYTES = 1_000_000
_MAX_FT_FILES = 300
_SKIP_DIRS = frozenset(
    {"node_modules", "__pycache__", "site-packages", "venv", "env", "virtualenv", "build", "dist", "htmlcov"}
)


class Repo:
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
            child = join(rel, name)
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
        files = [join(rel, n) for n in names if n.endswith(".py") and self.is_file(join(rel, n))]
        if depth > 1:
            for sub in self.subdirs(rel):
                files.extend(self.python_files(sub, depth - 1))
        return files[:_MAX_FT_FILES]


def join(*parts: str) -> str:
    return str(PurePosixPath(*[p for p in parts if p])) if any(parts) else ""


def parent(rel: str) -> str:
    parent = str(PurePosixPath(rel).parent)
    return "" if parent == "." else parent


def clean_override(value: str, what: str) -> str:
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"{what} {value!r} must be a path inside the repository")
    cleaned = str(path)
    return "" if cleaned == "." else cleaned
