"""The base of every functional test: a browser, the server under test, and a patient wait."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from functional_tests.browser import Browser, artifacts_dir

MAX_WAIT = 10.0
T = TypeVar("T")


def wait(fn: Callable[[], T], timeout: float = MAX_WAIT) -> T:
    """Retry fn until it stops failing (assertion or browser error) or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except (AssertionError, WebDriverException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class FunctionalTest(StaticLiveServerTestCase):
    """Opens a fresh browser per test; on failure saves a screenshot and the page HTML."""

    def setUp(self) -> None:
        self._browser = Browser()
        self.browser = self._browser.driver
        staging = os.environ.get("STAGING_SERVER", "").strip()
        if staging:
            self.live_server_url = "http://" + staging

    def tearDown(self) -> None:
        self._browser.quit()
        super().tearDown()

    def _callTestMethod(self, method: Callable[[], object]) -> None:
        # The one place that still sees the failure with the page on screen: tearDown
        # runs after unittest has reset its outcome, and after that the browser is gone.
        try:
            super()._callTestMethod(method)  # type: ignore[misc]
        except Exception:
            self._save_failure_artifacts()
            raise

    def restart_browser(self) -> None:
        """A new visitor: a fresh browser session with no cookies from the last one."""
        self._browser.quit()
        self._browser = Browser()
        self.browser = self._browser.driver

    def _save_failure_artifacts(self) -> None:
        folder = artifacts_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        stem = f"{type(self).__name__}.{self._testMethodName}-{stamp}"
        png, html = folder / f"{stem}.png", folder / f"{stem}.html"
        try:
            self.browser.get_screenshot_as_file(str(png))
            html.write_text(self.browser.page_source, encoding="utf-8")
        except WebDriverException as error:
            print(f"\nfailure artifacts not saved: {error.msg}", file=sys.stderr)
            return
        print(f"\nscreenshot: {png}\npage html: {html}", file=sys.stderr)

    # Helpers in the book's vocabulary.

    def get_item_input_box(self) -> WebElement:
        return self.browser.find_element(By.ID, "id_new_item")

    def add_list_item(self, text: str) -> None:
        rows_before = len(self.browser.find_elements(By.CSS_SELECTOR, "#id_list_table tr"))
        self.get_item_input_box().send_keys(text, Keys.ENTER)
        self.wait_for_row_in_list_table(f"{rows_before + 1}: {text}")

    def wait_for_row_in_list_table(self, row_text: str) -> None:
        def row_is_there() -> None:
            table = self.browser.find_element(By.ID, "id_list_table")
            rows = [row.text for row in table.find_elements(By.TAG_NAME, "tr")]
            self.assertIn(row_text, rows)

        wait(row_is_there)
