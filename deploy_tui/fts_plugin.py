"""A pytest plugin that reports each functional test as it starts and ends, for deploy-tui to read.

Loaded with `-p deploy_tui.fts_plugin`; it prints one marked JSON line per event on
stdout, so the test output and the events share one pipe in order.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

MARK = "\x1edeploy-tui-test "
_SCREENSHOT = re.compile(r"^screenshot: (.+)$", re.MULTILINE)


def _say(**data: Any) -> None:
    sys.__stdout__.write(MARK + json.dumps(data) + "\n")  # type: ignore[union-attr]
    sys.__stdout__.flush()  # type: ignore[union-attr]


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    _say(event="start", name=nodeid)


def pytest_runtest_logreport(report: Any) -> None:
    # One "finish" per test: the call phase, or setup/teardown when they fail or skip.
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = report.outcome if report.when == "call" else ("skipped" if report.skipped else "error")
    elif report.when == "teardown" and report.failed:
        outcome = "error"
    else:
        return
    text = "\n".join(content for _, content in report.sections)
    shot = _SCREENSHOT.search(text)
    _say(
        event="finish",
        name=report.nodeid,
        outcome=outcome,
        duration=round(report.duration, 3),
        traceback=report.longreprtext if report.failed else "",
        screenshot=shot.group(1).strip() if shot else "",
    )
