"""Headless Chromium for the functional tests: Debian's browser and driver, never a download."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

DEFAULT_BROWSER = "/usr/bin/chromium"
DEFAULT_DRIVER = "/usr/bin/chromedriver"
_NAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


class BrowserSetupError(Exception):
    """The browser cannot start as configured; the message is one line that says the fix."""


@dataclass(frozen=True)
class BrowserPaths:
    browser: str
    driver: str

    @classmethod
    def from_env(cls) -> BrowserPaths:
        return cls(
            browser=os.environ.get("CHROMIUM_BINARY", DEFAULT_BROWSER),
            driver=os.environ.get("CHROMEDRIVER", DEFAULT_DRIVER),
        )

    def check(self) -> None:
        """Raise BrowserSetupError naming the Debian package when either program is missing."""
        for path, package, variable in (
            (self.browser, "chromium", "CHROMIUM_BINARY"),
            (self.driver, "chromium-driver", "CHROMEDRIVER"),
        ):
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                raise BrowserSetupError(
                    f"{path} not found: install Debian's {package} "
                    f"(apt-get install chromium chromium-driver) or set {variable}"
                )


def parse_resolve(spec: str) -> dict[str, str]:
    """Parse STAGING_RESOLVE, `name:ip[,name:ip...]`, into {name: ip}; a bad pair is a one-line error."""
    pins: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, address = pair.partition(":")
        if not sep or not _NAME.match(name):
            raise BrowserSetupError(
                f"STAGING_RESOLVE={pair!r}: write it as name:ip, like superlists-staging.test:127.0.0.2"
            )
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            raise BrowserSetupError(f"STAGING_RESOLVE={pair!r}: {address!r} is not an IPv4 address") from None
        pins[name.lower()] = address
    return pins


def chromium_options(paths: BrowserPaths, pins: dict[str, str], profile_dir: str) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = paths.browser
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root in CI and containers has no user namespace sandbox
        "--disable-gpu",
        "--disable-dev-shm-usage",
        # This machine reaches no internet: background fetches would only fail noisily.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1024,768",
        f"--user-data-dir={profile_dir}",
    ):
        options.add_argument(flag)
    if pins:
        rules = ", ".join(f"MAP {name} {ip}" for name, ip in pins.items())
        options.add_argument(f"--host-resolver-rules={rules}")
    return options


class Browser:
    """Owns one Chromium and its throw-away profile; `quit()` removes both."""

    def __init__(self) -> None:
        paths = BrowserPaths.from_env()
        paths.check()
        pins = parse_resolve(os.environ.get("STAGING_RESOLVE", ""))
        self._profile = tempfile.mkdtemp(prefix="ft-chromium-")
        try:
            self.driver = webdriver.Chrome(
                options=chromium_options(paths, pins, self._profile),
                service=Service(executable_path=paths.driver),
            )
        except BaseException:
            shutil.rmtree(self._profile, ignore_errors=True)
            raise

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)


def artifacts_dir() -> Path:
    """Where failure screenshots and page HTML go: FT_ARTIFACTS_DIR, or ft-artifacts/ in the checkout."""
    default = Path(__file__).resolve().parent.parent / "ft-artifacts"
    return Path(os.environ.get("FT_ARTIFACTS_DIR") or default)
