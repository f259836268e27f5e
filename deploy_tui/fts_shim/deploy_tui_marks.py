"""What the FT shim's two reporters share: the marked JSON lines, and a failing test's screenshot.

This directory goes first on the PYTHONPATH of the process that runs a reader's functional tests;
deploy-tui never imports it. `sitecustomize.py` reports tests run by unittest (Django's `manage.py
test`), `deploy_tui_pytest.py` those run by pytest; both write through `say`, one line per event on
the real stdout, so the test output and the events share one pipe in order:

    "\\x1edeploy-tui-test " + {"event": "start", "name": ...}
    "\\x1edeploy-tui-test " + {"event": "finish", "name": ..., "outcome": "passed|failed|error|skipped",
                               "duration": seconds, "traceback": text or "", "screenshot": png path or ""}

Written for any Python 3.7+ a reader's FT environment may have, and for Selenium 3 or 4, or none.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

MARK = "\x1edeploy-tui-test "  # the same as deploy_tui.steps.fts.MARK, which deploy-tui reads
ARTIFACTS_ENV = "FT_ARTIFACTS_DIR"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def say(**data: Any) -> None:
    """One marked JSON line on the real stdout, flushed at once (the test's own output may be captured)."""
    out = sys.__stdout__
    if out is None:  # pragma: no cover - a process started without a stdout
        return
    try:
        out.write(MARK + json.dumps(data) + "\n")
        out.flush()
    except (OSError, ValueError):  # a closed pipe must not fail the test run
        pass


def open_webdriver(candidate: object) -> Any | None:
    """candidate when it is a Selenium WebDriver whose session looks open, else None (never imports selenium)."""
    remote = sys.modules.get("selenium.webdriver.remote.webdriver")
    web_driver = getattr(remote, "WebDriver", None)
    if not isinstance(web_driver, type) or not isinstance(candidate, web_driver):
        return None
    if getattr(candidate, "_deploy_tui_quit", False) or getattr(candidate, "session_id", None) is None:
        return None
    return candidate


def find_webdriver(*holders: object) -> Any | None:
    """The first open WebDriver among holders or their `browser` / `driver` attributes."""
    for holder in holders:
        for candidate in (holder, getattr(holder, "browser", None), getattr(holder, "driver", None)):
            driver = open_webdriver(candidate)
            if driver is not None:
                return driver
    return None


def save_artifacts(driver: Any, name: str) -> str:
    """Save a screenshot (PNG) and the page HTML of driver under $FT_ARTIFACTS_DIR; the PNG's path, or "".

    Nothing is saved when FT_ARTIFACTS_DIR is unset, and a browser that no longer answers is only
    mentioned on stderr: the test's own failure is what matters.
    """
    folder = os.environ.get(ARTIFACTS_ENV, "")
    if not folder or driver is None:
        return ""
    stem = _UNSAFE.sub("_", name).strip("_")[-150:] + "-" + time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    png = os.path.join(os.path.abspath(folder), stem + ".png")
    try:
        os.makedirs(folder, exist_ok=True)
        if not driver.get_screenshot_as_file(png):
            return ""
        with open(png[: -len(".png")] + ".html", "w", encoding="utf-8") as html:
            html.write(driver.page_source)
    except Exception as error:  # any WebDriverException, or a driver gone away
        sys.stderr.write(f"\ndeploy-tui: failure screenshot of {name} not saved: {type(error).__name__}: {error}\n")
        return png if os.path.isfile(png) else ""
    return png


def screenshot_before_teardown(test: Any, on_failure: Callable[[], None]) -> None:
    """Make on_failure run when the test method of unittest TestCase `test` raises, before its tearDown.

    Before Python 3.11, unittest reports a failure (addFailure/addError) only after tearDown has
    run, and a reader's tearDown quits the browser: so the page is caught here, as the exception
    leaves the test method. Wraps this instance's `_callTestMethod` (Python 3.8+), or else the
    test method itself, which `TestCase.run` looks up after `startTest`.
    """
    if getattr(test, "_deploy_tui_wrapped", False):
        return

    def guard(call: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return call(*args, **kwargs)
            except Exception as error:
                expecting_failure = getattr(getattr(test, "_outcome", None), "expecting_failure", False)
                if not expecting_failure and not _is_skip(error):
                    on_failure()
                raise

        return guarded

    try:
        if callable(getattr(type(test), "_callTestMethod", None)):
            test._callTestMethod = guard(test._callTestMethod)
        else:
            import functools

            name = test._testMethodName
            method = getattr(test, name)
            setattr(test, name, functools.wraps(method)(guard(method)))
        test._deploy_tui_wrapped = True
    except Exception:  # an unusual TestCase: report without a screenshot rather than break it
        return


def _is_skip(error: BaseException) -> bool:
    unittest_case = sys.modules.get("unittest.case")
    skip = getattr(unittest_case, "SkipTest", None)
    return isinstance(skip, type) and isinstance(error, skip)
