"""The requirements file, the -r includes it follows, the package names in them, and the Django pin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from deploy_tui.project.django_support import DjangoPin, parse_django_pin
from deploy_tui.project.files import Repo, clean_override, join, parent

_MAX_INCLUDE_DEPTH = 5

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


def find_requirements(repo: Repo, app_dir: str, override: str | None, notes: list[str]) -> str | None:
    if override is not None:
        rel = clean_override(override, "requirements")
        if repo.is_file(rel):
            return rel
        notes.append(f"the requirements file {rel!r} is not in the repository")
        return None
    candidates = ["requirements.txt"]
    if app_dir:
        candidates.append(join(app_dir, "requirements.txt"))
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
class Requirements:
    names: set[str] = field(default_factory=set)
    files: list[str] = field(default_factory=list)
    django_lines: list[tuple[str, int, str]] = field(default_factory=list)  # file, line, text


def read_requirements(repo: Repo, rel: str, notes: list[str]) -> Requirements:
    found = Requirements()

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
                target = join(parent(rel), include.group(1))
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


def django_pin(reqs: Requirements, notes: list[str]) -> DjangoPin | None:
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
