"""A pytest plugin that reports each functional test as it starts and ends, for deploy-tui to read.

Loaded with `PYTEST_PLUGINS=deploy_tui_pytest` (this directory first on PYTHONPATH) or
`-p deploy_tui_pytest`; it writes one marked JSON line per event on the real stdout (see
deploy_tui_marks.py), so the test output and the events share one pipe in order. A failing test's
screenshot is the one it printed itself (`screenshot: PATH`, as deploy-tui's own FTs do), or one
taken under FT_ARTIFACTS_DIR of an open WebDriver it holds: a unittest TestCase's `self.browser`
(caught before its tearDown), or a fixture that is a WebDriver or has a `browser`/`driver`.
"""

from __future__ import annotations

import re
import unittest

import deploy_tui_marks as marks  # type: ignore[import-not-found]
import pytest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Generator
    from typing import Any

MARK = marks.MARK
_SCREENSHOT = re.compile(r"^screenshot: (.+)$", re.MULTILINE)
_shots: dict[str, str] = {}


def _shoot(item: pytest.Item, *holders: object) -> None:
    if not _shots.get(item.nodeid):
        _shots[item.nodeid] = marks.save_artifacts(marks.find_webdriver(*holders), item.nodeid)


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    marks.say(event="start", name=nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    instance = getattr(item, "instance", None)
    if isinstance(instance, unittest.TestCase):
        marks.screenshot_before_teardown(instance, lambda: _shoot(item, instance))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when in ("setup", "call"):  # the fixtures are not torn down yet
        _shoot(item, getattr(item, "instance", None), *getattr(item, "funcargs", {}).values())


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # One "finish" per test: the call phase, or setup/teardown when they fail or skip.
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = report.outcome if report.when == "call" else ("skipped" if report.skipped else "error")
    elif report.when == "teardown" and report.failed:
        outcome = "error"
    else:
        return
    text = "\n".join(content for _, content in report.sections)
    printed = _SCREENSHOT.search(text)
    shot = _shots.pop(report.nodeid, "") or (printed.group(1).strip() if printed else "")
    marks.say(
        event="finish",
        name=report.nodeid,
        outcome=outcome,
        duration=round(report.duration, 3),
        traceback=report.longreprtext if report.failed else "",
        screenshot=shot,
    )
