"""The functional tests: where they are, how they are run, which browser and variables they use."""

from __future__ import annotations

import re

from deploy_tui.project.files import Repo, join, parent
from deploy_tui.project.model import Browser, FunctionalTests, Runner, SourceLine

_RE_SELENIUM3 = re.compile(r"\.find_elements?_by_\w+\s*\(")
_RE_FT_ENV = re.compile(
    r"""(?:environ\s*\[\s*|environ\.get\(\s*|getenv\(\s*)['"](\w+)['"]|['"](\w+)['"]\s+(?:not\s+)?in\s+(?:os\.)?environ"""
)
_RE_PYTEST = re.compile(r"^\s*(?:import pytest|from pytest\b|@pytest\.)", re.MULTILINE)
_SERVER_VARIABLES = ("STAGING_SERVER", "TEST_SERVER")


def _pytest_django(repo: Repo, dirs: list[str]) -> bool:
    """Whether a pytest config file names DJANGO_SETTINGS_MODULE (pytest-django is set up)."""
    # Imported here, not at start-up: most checkouts have none of these files to parse.
    import configparser
    import tomllib

    for d in dict.fromkeys(dirs):
        text = repo.read(join(d, "pyproject.toml"))
        if text:
            try:
                options = tomllib.loads(text).get("tool", {}).get("pytest", {}).get("ini_options", {})
            except tomllib.TOMLDecodeError:
                options = {}
            if isinstance(options, dict) and ("DJANGO_SETTINGS_MODULE" in options or "--ds" in str(options)):
                return True
        for name, section in (("pytest.ini", "pytest"), ("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
            text = repo.read(join(d, name))
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


def find_fts(repo: Repo, app_dir: str, manage_py: str | None, notes: list[str]) -> FunctionalTests | None:
    candidates = [join(app_dir, "functional_tests"), "functional_tests"]
    candidates += [join(d, "functional_tests") for d in repo.subdirs(app_dir)]
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
    ancestors = [directory, parent(directory), app_dir, ""]
    pytest_style = any(repo.is_file(join(d, "conftest.py")) for d in dict.fromkeys(ancestors)) or any(
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
    if runner == "django" and not repo.is_file(join(directory, "__init__.py")):
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
