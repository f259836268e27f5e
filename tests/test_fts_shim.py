"""The FT shim (deploy_tui/fts_shim/) runs a reader's own functional tests unchanged, and reports them live.

A reader's FTs call `webdriver.Firefox()`; with the shim first on PYTHONPATH they get Debian's
headless Chromium, reaching the staging domain through a host-resolver pin, and every test's start
and finish is a marked JSON line on stdout. Checked here with the 3rd-edition reader repo from
tests/reader_repos against a real `manage.py runserver` with DEBUG off (static files served by
whitenoise), once all green and once with the domain missing from ALLOWED_HOSTS.
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CHECKOUT, free_port
from tests.procs import stop, wait_until_serving
from tests.reader_repos import make_reader_repo

SHIM = CHECKOUT / "deploy_tui" / "fts_shim"
MARK = "\x1edeploy-tui-test "
DOMAIN = "superlists-staging.test"
HOST = "127.0.0.1"
PYTHON = sys.executable
# The browser-free checks can run under another Python (3.7+), e.g. a 3.10, where unittest reports a
# failure only after tearDown: FT_SHIM_PYTHON=/path/to/python3.10 pytest tests/test_fts_shim.py -k "not staging"
OTHER_PYTHON = os.environ.get("FT_SHIM_PYTHON", PYTHON)
FT_NAMES = {
    "functional_tests.tests.NewVisitorTest.test_can_start_a_todo_list",
    "functional_tests.tests.NewVisitorTest.test_multiple_users_can_start_lists_at_different_urls",
    "functional_tests.tests.NewVisitorTest.test_layout_and_styling",
}

needs_chromium = pytest.mark.skipif(
    not (shutil.which("chromium", path="/usr/bin") and shutil.which("chromedriver", path="/usr/bin")),
    reason="Debian's chromium and chromium-driver are not installed (/usr/bin/chromium, /usr/bin/chromedriver)",
)


def _env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that steers Django, the FTs or the shim, plus extra."""
    steering = ("DJANGO_", "STAGING_", "DEPLOY_TUI_", "PYTEST_", "FT_ARTIFACTS_DIR", "TEST_SERVER", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(steering)}
    env.update(extra)
    return env


def _run(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run argv to its end in a session of its own; whatever is still running then is stopped by pid.

    Output goes through files, not pipes, so that a leftover holding them cannot make us wait.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
        try:
            process.wait(timeout=timeout)
        finally:
            stop(process)
            _stop_leftovers(session=process.pid)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(argv, process.returncode, out.read().decode(), err.read().decode())


def _stop_leftovers(session: int) -> None:
    """Kill, by pid, what a finished process left running in its session (a browser it never quit, say).

    A session id is not reused while any process is in it, so these are that process's own descendants.
    """
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) == session:  # after "(comm)": state, ppid, pgrp, session
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(stat.parent.name), signal.SIGKILL)


def _marks(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line.partition(MARK)[2]) for line in stdout.split("\n") if MARK in line]


@pytest.fixture(scope="module")
def reader_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_reader_repo("edition3", tmp_path_factory.mktemp("reader") / "superlists")


@contextlib.contextmanager
def _staging_server(repo: Path, data: Path, *, allowed_host: str) -> Iterator[int]:
    """The reader's site as the book's staging run has it: DEBUG off, migrated, static collected; yields its port."""
    try:  # the reader's requirement, but the site runs with this venv's Django
        import whitenoise  # noqa: F401
    except ImportError:
        pytest.fail("whitenoise is not installed: it belongs in pyproject's test extra (the reader repo uses it)")
    env = _env(
        DJANGO_DEBUG_FALSE="1",
        DJANGO_SECRET_KEY="a-long-random-string-for-the-staging-test",  # noqa: S106
        DJANGO_ALLOWED_HOST=allowed_host,
        DJANGO_DB_PATH=str(data / "db.sqlite3"),
    )
    manage = [PYTHON, "src/manage.py"]
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        done = _run([*manage, *command], cwd=repo, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    port = free_port(HOST)
    with (data / "runserver.log").open("wb") as log:
        server = subprocess.Popen(
            [*manage, "runserver", "--noreload", f"{HOST}:{port}"],
            cwd=repo,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_serving(f"http://{HOST}:{port}/", server, host=allowed_host)
            yield port
        finally:
            stop(server)


@pytest.fixture
def ft_tmpdir() -> Iterator[Path]:
    """A TMPDIR of the FT process's own, to look into afterwards. Short: Chromium makes its singleton
    socket there, and a Unix socket's path has at most 107 bytes, which pytest's tmp_path can exceed."""
    path = Path(tempfile.mkdtemp(prefix="ft-shim-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _run_reader_fts(repo: Path, port: int, artifacts: Path, tmpdir: Path) -> subprocess.CompletedProcess[str]:
    """The reader's own command, unchanged, with the shim on PYTHONPATH."""
    env = _env(
        TMPDIR=str(tmpdir),
        TEST_SERVER=f"{DOMAIN}:{port}",
        PYTHONPATH=str(SHIM),
        DEPLOY_TUI_BROWSER="chromium",
        DEPLOY_TUI_RESOLVE=f"{DOMAIN}:{HOST}",
        DEPLOY_TUI_TEST_MARKS="1",
        FT_ARTIFACTS_DIR=str(artifacts),
    )
    return _run([PYTHON, "src/manage.py", "test", "src/functional_tests"], cwd=repo, env=env, timeout=300)


@needs_chromium
def test_a_readers_firefox_fts_pass_in_headless_chromium_against_staging(
    reader_repo: Path, tmp_path: Path, ft_tmpdir: Path
) -> None:
    with _staging_server(reader_repo, tmp_path, allowed_host=DOMAIN) as port:
        # runserver serves no static files with DEBUG off: this is whitenoise, from collectstatic's copy.
        css = httpx.get(f"http://{HOST}:{port}/static/base.css", headers={"Host": DOMAIN}, timeout=10)
        assert css.status_code == 200
        assert "#id_new_item" in css.text
        result = _run_reader_fts(reader_repo, port, tmp_path / "artifacts", ft_tmpdir)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Ran 3 tests" in result.stderr
    marks = _marks(result.stdout)
    starts = [m["name"] for m in marks if m["event"] == "start"]
    finishes = {m["name"]: m for m in marks if m["event"] == "finish"}
    assert sorted(starts) == sorted(FT_NAMES)
    assert set(finishes) == FT_NAMES
    for finish in finishes.values():
        assert finish["outcome"] == "passed", finish
        assert finish["traceback"] == finish["screenshot"] == ""
        assert 0 < finish["duration"] < 60
    # Each start comes before its own finish, one test at a time.
    assert [m["event"] for m in marks] == ["start", "finish"] * 3
    assert not (tmp_path / "artifacts").exists()
    assert not list(ft_tmpdir.glob("deploy-tui-chromium-*"))


def test_the_mark_is_the_one_deploy_tui_reads() -> None:
    shim_marks: dict[str, Any] = runpy.run_path(str(SHIM / "deploy_tui_marks.py"))
    assert shim_marks["MARK"] == MARK
    from deploy_tui.steps import fts

    assert fts.MARK == MARK


@needs_chromium
def test_failing_fts_report_their_traceback_and_a_screenshot_taken_before_teardown(
    reader_repo: Path, tmp_path: Path, ft_tmpdir: Path
) -> None:
    artifacts = tmp_path / "artifacts"
    # The domain is not in ALLOWED_HOSTS: every page is "Bad Request (400)".
    with _staging_server(reader_repo, tmp_path, allowed_host="elsewhere.test") as port:
        result = _run_reader_fts(reader_repo, port, artifacts, ft_tmpdir)

    assert result.returncode != 0
    finishes = {m["name"]: m for m in _marks(result.stdout) if m["event"] == "finish"}
    assert set(finishes) == FT_NAMES
    for finish in finishes.values():
        assert finish["outcome"] in {"failed", "error"}, finish
        assert "Traceback (most recent call last)" in finish["traceback"]
        png = Path(finish["screenshot"])
        assert png.parent == artifacts
        assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        # The page as it was when the test failed, before tearDown quit the browser.
        assert "Bad Request" in png.with_suffix(".html").read_text(encoding="utf-8")
    assert finishes["functional_tests.tests.NewVisitorTest.test_can_start_a_todo_list"]["outcome"] == "failed"
    assert (
        "AssertionError: 'To-Do' not found in"
        in finishes["functional_tests.tests.NewVisitorTest.test_can_start_a_todo_list"]["traceback"]
    )
    assert "deploy-tui FT shim" not in result.stderr
    # No Chromium profile is left behind: each quit() removed its own.
    assert not list(ft_tmpdir.glob("deploy-tui-chromium-*"))


def test_a_process_that_never_imports_selenium_pays_nothing_and_prints_nothing(tmp_path: Path) -> None:
    probe = "import sys; print('hello'); print(sorted(m for m in ('selenium', 'json', 'deploy_tui_marks') if m in sys.modules)); print(sys.modules['sitecustomize'].__file__)"  # noqa: E501
    env = _env(PYTHONPATH=str(SHIM), DEPLOY_TUI_BROWSER="chromium", DEPLOY_TUI_TEST_MARKS="1")
    result = _run([OTHER_PYTHON, "-c", probe], cwd=tmp_path, env=env)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == ["hello", "[]", str(SHIM / "sitecustomize.py")]


def test_webdriver_firefox_is_chromium_only_when_asked_and_an_unusable_selenium_is_only_warned_about(
    tmp_path: Path,
) -> None:
    probe = textwrap.dedent(
        """
        from selenium import webdriver
        from selenium.webdriver.chrome.webdriver import WebDriver as Chrome
        from selenium.webdriver.firefox.webdriver import WebDriver
        print(issubclass(webdriver.Firefox, Chrome), WebDriver is webdriver.Firefox)
        """
    )
    for browser, expected in (("chromium", "True True"), ("firefox", "False True"), ("", "False True")):
        env = _env(PYTHONPATH=str(SHIM), DEPLOY_TUI_BROWSER=browser, MOZ_HEADLESS="1")
        result = _run([PYTHON, "-c", probe], cwd=tmp_path, env=env)
        assert (result.returncode, result.stdout.strip(), result.stderr) == (0, expected, ""), browser

    # A selenium without what the shim needs (a stand-in for a broken or ancient one): the import still works.
    fake = tmp_path / "fake" / "selenium" / "webdriver"
    fake.mkdir(parents=True)
    (fake.parent / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("Firefox = 'the real one'\n")
    env = _env(PYTHONPATH=os.pathsep.join([str(SHIM), str(fake.parent.parent)]), DEPLOY_TUI_BROWSER="chromium")
    result = _run([PYTHON, "-c", "from selenium import webdriver; print(webdriver.Firefox)"], cwd=tmp_path, env=env)
    assert (result.returncode, result.stdout) == (0, "the real one\n")
    assert result.stderr.startswith("deploy-tui FT shim: could not adapt selenium.webdriver: ModuleNotFoundError")
    assert result.stderr.count("\n") == 1


def test_unittest_results_are_marked_one_start_and_one_finish_per_test(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        textwrap.dedent(
            """
            import unittest

            class Sample(unittest.TestCase):
                def test_passes(self):
                    pass

                def test_fails(self):
                    self.assertEqual(1, 2)

                def test_errors(self):
                    raise RuntimeError("boom")

                @unittest.skip("not today")
                def test_skipped(self):
                    pass

                def test_subtest_fails(self):
                    for n in (1, 2):
                        with self.subTest(n=n):
                            self.assertEqual(n, 1)

                @unittest.expectedFailure
                def test_expected_failure(self):
                    self.assertEqual(1, 2)

                @unittest.expectedFailure
                def test_unexpected_success(self):
                    pass

            class BrokenClass(unittest.TestCase):
                @classmethod
                def setUpClass(cls):
                    raise RuntimeError("no server")

                def test_never_runs(self):
                    pass
            """
        )
    )
    env = _env(PYTHONPATH=str(SHIM), DEPLOY_TUI_TEST_MARKS="1")
    result = _run([OTHER_PYTHON, "-m", "unittest", "test_sample"], cwd=tmp_path, env=env)
    assert result.returncode == 1
    marks = _marks(result.stdout)
    finishes = {m["name"].removeprefix("test_sample.Sample."): m for m in marks if m["event"] == "finish"}
    outcomes = {name: finish["outcome"] for name, finish in finishes.items()}
    assert outcomes == {
        "test_errors": "error",
        "test_expected_failure": "skipped",
        "test_fails": "failed",
        "test_passes": "passed",
        "test_skipped": "skipped",
        "test_subtest_fails": "failed",
        "test_unexpected_success": "failed",
        "setUpClass (test_sample.BrokenClass)": "error",
    }
    assert "RuntimeError: boom" in finishes["test_errors"]["traceback"]
    assert "AssertionError: 1 != 2" in finishes["test_fails"]["traceback"]
    assert "(n=2)" in finishes["test_subtest_fails"]["traceback"]
    assert "RuntimeError: no server" in finishes["setUpClass (test_sample.BrokenClass)"]["traceback"]
    assert sorted(m["name"] for m in marks if m["event"] == "start") == sorted(
        m["name"] for m in marks if m["event"] == "finish"
    )
    assert all(m["screenshot"] == "" for m in finishes.values())


def test_the_pytest_plugin_marks_each_test_once(tmp_path: Path) -> None:
    (tmp_path / "test_tiny.py").write_text(
        textwrap.dedent(
            """
            import unittest

            import pytest

            def test_passes():
                pass

            def test_fails():
                assert 1 == 2

            @pytest.mark.skip(reason="not today")
            def test_skipped():
                pass

            def test_prints_its_own_screenshot():
                print("screenshot: ft-artifacts/shot.png")
                assert False

            class Sample(unittest.TestCase):
                def test_unittest_style(self):
                    pass
            """
        )
    )
    # DEPLOY_TUI_TEST_MARKS too: unittest-style tests under pytest must not be reported twice.
    env = _env(PYTHONPATH=str(SHIM), PYTEST_PLUGINS="deploy_tui_pytest", DEPLOY_TUI_TEST_MARKS="1")
    result = _run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_tiny.py"], cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    marks = _marks(result.stdout)
    starts = [m["name"] for m in marks if m["event"] == "start"]
    finishes = {m["name"]: m for m in marks if m["event"] == "finish"}
    assert len(starts) == len(set(starts)) == 5
    assert sorted(finishes) == sorted(starts)
    assert {name.removeprefix("test_tiny.py::"): m["outcome"] for name, m in finishes.items()} == {
        "test_passes": "passed",
        "test_fails": "failed",
        "test_skipped": "skipped",
        "test_prints_its_own_screenshot": "failed",
        "Sample::test_unittest_style": "passed",
    }
    assert "assert 1 == 2" in finishes["test_tiny.py::test_fails"]["traceback"]
    assert finishes["test_tiny.py::test_prints_its_own_screenshot"]["screenshot"] == "ft-artifacts/shot.png"


FAKE_WEBDRIVER = '''
class WebDriver:
    """Stands in for selenium's: a screenshot works until quit()."""

    session_id = "fake"
    page_source = "<html>the page as it failed</html>"

    def __init__(self):
        self.open = True

    def get_screenshot_as_file(self, path):
        if not self.open:
            raise RuntimeError("the browser is gone")
        with open(path, "wb") as png:
            png.write(b"\\x89PNG\\r\\n\\x1a\\n")
        return True

    def quit(self):
        self.open = False
'''

FAKE_FTS = """
import unittest

from selenium.webdriver.remote.webdriver import WebDriver


class FT(unittest.TestCase):
    def setUp(self):
        self.browser = WebDriver()

    def tearDown(self):
        self.browser.quit()

    def test_fails(self):
        self.assertIn("To-Do", "Bad Request (400)")

    def test_errors(self):
        raise RuntimeError("boom")

    def test_passes(self):
        pass
"""


def test_the_screenshot_is_taken_before_teardown_quits_the_browser(tmp_path: Path) -> None:
    """Before Python 3.11 unittest calls addFailure after tearDown; the shim catches the page before either."""
    remote = tmp_path / "fake" / "selenium" / "webdriver" / "remote"
    remote.mkdir(parents=True)
    for package in (remote, remote.parent, remote.parent.parent):
        (package / "__init__.py").write_text("")
    (remote / "webdriver.py").write_text(FAKE_WEBDRIVER)
    (tmp_path / "test_fake_fts.py").write_text(FAKE_FTS)
    artifacts = tmp_path / "artifacts"
    env = _env(
        PYTHONPATH=os.pathsep.join([str(SHIM), str(tmp_path / "fake")]),
        DEPLOY_TUI_TEST_MARKS="1",
        FT_ARTIFACTS_DIR=str(artifacts),
    )
    result = _run([OTHER_PYTHON, "-m", "unittest", "test_fake_fts"], cwd=tmp_path, env=env)
    assert result.returncode == 1
    finishes = {m["name"]: m for m in _marks(result.stdout) if m["event"] == "finish"}
    assert {name: m["outcome"] for name, m in finishes.items()} == {
        "test_fake_fts.FT.test_fails": "failed",
        "test_fake_fts.FT.test_errors": "error",
        "test_fake_fts.FT.test_passes": "passed",
    }
    for name in ("test_fake_fts.FT.test_fails", "test_fake_fts.FT.test_errors"):
        png = Path(finishes[name]["screenshot"])
        assert png.parent == artifacts
        assert png.read_bytes().startswith(b"\x89PNG")
        assert png.with_suffix(".html").read_text() == "<html>the page as it failed</html>"
    assert finishes["test_fake_fts.FT.test_passes"]["screenshot"] == ""
    assert result.stderr.count("the browser is gone") == 0


def test_the_pytest_plugin_saves_a_screenshot_of_a_browser_fixture_or_a_testcases_browser(tmp_path: Path) -> None:
    remote = tmp_path / "fake" / "selenium" / "webdriver" / "remote"
    remote.mkdir(parents=True)
    for package in (remote, remote.parent, remote.parent.parent):
        (package / "__init__.py").write_text("")
    (remote / "webdriver.py").write_text(FAKE_WEBDRIVER)
    (tmp_path / "test_fake_fts.py").write_text(
        FAKE_FTS
        + textwrap.dedent(
            """
            import pytest

            @pytest.fixture
            def browser():
                driver = WebDriver()
                yield driver
                driver.quit()

            def test_pytest_style_fails(browser):
                assert "To-Do" in "Bad Request (400)"
            """
        )
    )
    artifacts = tmp_path / "artifacts"
    env = _env(
        PYTHONPATH=os.pathsep.join([str(SHIM), str(tmp_path / "fake")]),
        PYTEST_PLUGINS="deploy_tui_pytest",
        FT_ARTIFACTS_DIR=str(artifacts),
    )
    argv = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_fake_fts.py"]
    result = _run(argv, cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    finishes = {m["name"]: m for m in _marks(result.stdout) if m["event"] == "finish"}
    assert {name: (m["outcome"], bool(m["screenshot"])) for name, m in finishes.items()} == {
        "test_fake_fts.py::FT::test_fails": ("failed", True),
        "test_fake_fts.py::FT::test_errors": ("failed", True),  # pytest calls any exception a failure
        "test_fake_fts.py::FT::test_passes": ("passed", False),
        "test_fake_fts.py::test_pytest_style_fails": ("failed", True),
    }
    for finish in finishes.values():
        if finish["screenshot"]:
            assert Path(finish["screenshot"]).parent == artifacts
            assert Path(finish["screenshot"]).read_bytes().startswith(b"\x89PNG")
