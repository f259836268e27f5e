"""Under pytest, a missing browser or a bad pin fails each FT with its one-line message, no traceback."""

import functools
import os

import pytest

from functional_tests.browser import BrowserPaths, BrowserSetupError, parse_resolve


@functools.cache
def _setup_problem() -> str | None:
    try:
        BrowserPaths.from_env().check()
        parse_resolve(os.environ.get("STAGING_RESOLVE", ""))
    except BrowserSetupError as error:
        return str(error)
    return None


@pytest.fixture(autouse=True)
def _browser_is_usable() -> None:
    problem = _setup_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
