"""`deploy-tui web` in real headless Chromium, deploying into the sandbox box.

The page is driven as a person would: open it, read the walkthrough, press r, watch the
steps finish; then close a tab while pip runs on the box and check the box is left clean.
xterm.js paints with WebGL when it can; the browser here is told it has no WebGL, so xterm
falls back to its DOM renderer and the screen's text can be read from the page. Everything
else (the console, the app process per tab, the websocket, the run) is the product's path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from deploy_tui.sandbox.demo import deploy_toml
from tests.conftest import CHECKOUT, free_port
from tests.e2e.conftest import make_deployment
from tests.procs import stop

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (shutil.which("chromium", path="/usr/bin") and shutil.which("chromedriver", path="/usr/bin")),
        reason="Debian's chromium and chromium-driver are not installed (/usr/bin/chromium, /usr/bin/chromedriver)",
    ),
]

NO_WEBGL = (
    "const original = HTMLCanvasElement.prototype.getContext;"
    "HTMLCanvasElement.prototype.getContext = function (kind, options) {"
    "  return kind === 'webgl' || kind === 'webgl2' ? null : original.call(this, kind, options); };"
)
DOCS = Path(__file__).resolve().parents[2] / "docs"


def console(tmp_path: Path, *command: str) -> tuple[subprocess.Popen[bytes], str]:
    """deploy-tui web on a free loopback port serving command; its process and its address."""
    port = free_port("127.0.0.1")
    log = (tmp_path / f"web-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy_tui", "web", "--port", str(port), *command],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=2)
            return process, url
        except httpx.TransportError:
            assert process.poll() is None, (tmp_path / f"web-{port}.log").read_text()
            assert time.monotonic() < deadline, "deploy-tui web did not answer within 30 s"
            time.sleep(0.1)


@pytest.fixture
def browser() -> Iterator[Callable[[], object]]:
    """Headless Chromium through Selenium; every one opened is quit at the end."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opened: list[object] = []

    def open_one() -> object:
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--window-size=1200,800",
            # Nothing but loopback: any other name fails to resolve in this browser.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        ):
            options.add_argument(argument)
        driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NO_WEBGL})
        opened.append(driver)
        return driver

    try:
        yield open_one
    finally:
        for driver in opened:
            driver.quit()  # type: ignore[attr-defined]


def screen_text(driver: object) -> str:
    return str(
        driver.execute_script(  # type: ignore[attr-defined]
            "const rows = document.querySelector('.xterm-rows'); return rows ? rows.innerText : '';"
        )
    )


def wait_for(driver: object, wanted: Callable[[str], bool], timeout: float, what: str) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = screen_text(driver)
        if wanted(text):
            return text
        assert time.monotonic() < deadline, f"{what} not on the page within {timeout} s:\n{text}"
        time.sleep(0.25)


def press(driver: object, keys: str) -> None:
    """Keys typed into the page, as into the terminal (xterm listens on a focused hidden textarea)."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script("document.querySelector('.xterm-helper-textarea').focus();")  # type: ignore[attr-defined]
    ActionChains(driver).send_keys(keys).perform()  # type: ignore[arg-type]


def events_of(recording: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in recording.read_text().splitlines() if line.strip()]


def box_processes(user: str, pattern: str) -> list[str]:
    found = subprocess.run(["pgrep", "-u", user, "-af", pattern], capture_output=True, text=True, check=False)
    return found.stdout.splitlines()


def test_a_deployment_in_the_browser_then_a_closed_tab_cancels_its_run_cleanly(
    sandbox_box, box_resolvers, browser, tmp_path: Path
) -> None:
    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, f"web-{uuid.uuid4().hex[:6]}")
    site = deployment.site
    config = tmp_path / "deploy.toml"
    config.write_text(deploy_toml(box, site.domain, site_dir=site.directory, app_port=site.app_port))
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    common = ["--config", str(config), "--sudo-password-file", str(box.sudo_password_file), "--checkout", str(CHECKOUT)]
    served, url = console(tmp_path, "run", *common, "--skip", "fts", "--recording", str(first))
    try:
        # Without a token, loopback only, and only by the names loopback has: a rebound name is refused.
        rebound = httpx.get(url, headers={"Host": f"evil.test:{url.rsplit(':', 1)[1].strip('/')}"}, timeout=5)
        assert rebound.status_code == 403
        driver = browser()
        driver.get(url)  # type: ignore[attr-defined]
        wait_for(driver, lambda t: "Your project" in t and "Steps" in t, 30, "the walkthrough")
        press(driver, "r")
        done = wait_for(
            driver,
            lambda t: "Smoke test" in t and first.exists() and '"RunFinished"' in first.read_text(),
            240,
            "the end of the run",
        )
        assert "passed" in done
        finished = [e for e in events_of(first) if e["kind"] == "StepFinished"]
        assert {e["step"]: e["status"] for e in finished}["smoke"] == "passed"
        assert [e["status"] for e in events_of(first) if e["kind"] == "RunFinished"] == ["passed"]
        DOCS.mkdir(exist_ok=True)
        driver.save_screenshot(str(tmp_path / "web.png"))  # type: ignore[attr-defined]
        if os.environ.get("DEPLOY_TUI_DOCS_SCREENSHOT"):
            shutil.copy(tmp_path / "web.png", DOCS / "web.png")
    finally:
        stop(served)

    # The same run replayed in the browser, and the setup screen on the deploy.toml beside the console.
    served, url = console(tmp_path, "replay", str(first))
    try:
        driver = browser()
        driver.get(url)  # type: ignore[attr-defined]
        wait_for(driver, lambda t: "replay:" in t and "Smoke test" in t, 30, "the replay")
    finally:
        stop(served)
    served, url = console(tmp_path)  # no command: the setup screen, on ./deploy.toml (tmp_path's)
    try:
        driver = browser()
        driver.get(url)  # type: ignore[attr-defined]
        wait_for(driver, lambda t: site.domain in t, 30, "the setup screen with the site's domain")
    finally:
        stop(served)

    # A second console, a run that reinstalls the requirements, and the tab closed while pip runs on the box.
    served, url = console(tmp_path, "run", *common, "--only", "venv", "--force", "venv", "--recording", str(second))
    try:
        driver = browser()
        driver.get(url)  # type: ignore[attr-defined]
        wait_for(driver, lambda t: "Virtualenv" in t, 30, "the walkthrough")
        press(driver, "r")
        deadline = time.monotonic() + 60
        while not box_processes(box.user, "pip install"):
            assert time.monotonic() < deadline, "pip never started on the box"
            time.sleep(0.1)
        driver.quit()  # type: ignore[attr-defined]  # the tab, the browser and the websocket gone at once
        deadline = time.monotonic() + 30
        while not (second.exists() and '"RunFinished"' in second.read_text()):
            assert time.monotonic() < deadline, "the run was not ended after the tab closed"
            time.sleep(0.1)
        events = events_of(second)
        assert [e["status"] for e in events if e["kind"] == "RunFinished"] == ["cancelled"]
        assert [e["status"] for e in events if e["kind"] == "StepFinished"] == ["cancelled"]
        deadline = time.monotonic() + 15
        while box_processes(box.user, "pip install"):
            assert time.monotonic() < deadline, box_processes(box.user, "pip install")
            time.sleep(0.1)
        # The lock went with the run: the next run of the same site starts at once and passes.
        outcome, _ = deployment.run(tmp_path, only={"venv"})
        assert outcome.ok
    finally:
        stop(served)
        deployment.stop_server()


def test_a_console_with_a_token_and_the_doors_it_keeps_shut(tmp_path: Path) -> None:
    port = free_port("127.0.0.1")
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy_tui", "web", "--port", str(port), "--token"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        announced = process.stdout.readline().decode()
        assert f"http://127.0.0.1:{port}/?token=" in announced
        token = announced.split("?token=", 1)[1].split()[0]
        url = f"http://127.0.0.1:{port}/"
        refused = httpx.get(url, timeout=5)
        assert refused.status_code == 403
        assert refused.text == "this deploy console needs its token: open the address deploy-tui web printed\n"
        assert token not in refused.text
        wrong = httpx.get(url, params={"token": token[:-1] + "x"}, timeout=5)
        assert wrong.status_code == 403
        let_in = httpx.get(url, params={"token": token}, timeout=5, follow_redirects=False)
        assert let_in.status_code == 303
        assert let_in.headers["location"] == "/"
        cookie = let_in.cookies.get("deploy_tui_token")
        assert cookie == token
        assert "samesite=strict" in let_in.headers["set-cookie"].lower()
        page = httpx.get(url, cookies={"deploy_tui_token": token}, timeout=5)
        assert page.status_code == 200
        assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in page.text
        assert "googleapis" not in page.text  # nothing loaded from outside
        # A page of another site may not open the console's websocket, even with the cookie.
        other = httpx.get(
            f"{url}ws",
            cookies={"deploy_tui_token": token},
            headers={"Origin": "http://evil.test", "Connection": "Upgrade", "Upgrade": "websocket"},
            timeout=5,
        )
        assert other.status_code == 403
        assert "another origin" in other.text
    finally:
        stop(process)  # type: ignore[arg-type]
        process.stdout.close()  # type: ignore[union-attr]


def test_two_tabs_on_one_site_meet_the_deploy_lock(sandbox_box, box_resolvers, browser, tmp_path: Path) -> None:
    _, box = sandbox_box
    deployment = make_deployment(box, box_resolvers, f"web-{uuid.uuid4().hex[:6]}")
    site = deployment.site
    config = tmp_path / "deploy.toml"
    config.write_text(deploy_toml(box, site.domain, site_dir=site.directory, app_port=site.app_port))
    served, url = console(
        tmp_path,
        "run",
        *("--config", str(config), "--sudo-password-file", str(box.sudo_password_file)),
        *("--checkout", str(CHECKOUT), "--only", "source", "--only", "venv"),
    )
    try:
        first, second = browser(), browser()
        for driver in (first, second):
            driver.get(url)  # type: ignore[attr-defined]
            wait_for(driver, lambda t: "Virtualenv" in t, 30, "the walkthrough")
        press(first, "r")
        deadline = time.monotonic() + 60
        while not box_processes(box.user, "git clone|pip install"):
            assert time.monotonic() < deadline, "the first tab's run never started on the box"
            time.sleep(0.1)
        press(second, "r")
        wait_for(second, lambda t: "is being deployed by" in t, 30, "the second tab's refusal")
        wait_for(first, lambda t: "Run passed" in t, 120, "the first tab's run passing")
    finally:
        stop(served)
        deployment.stop_server()
