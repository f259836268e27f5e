"""deploy-tui's FT shim: run a reader's own functional tests unchanged, and report each test live.

deploy-tui puts this directory first on the PYTHONPATH of the process that runs a reader's FTs
(`python src/manage.py test functional_tests`, or pytest); Python's `site` then imports this file
at start-up. What it does is chosen by environment variables, and nothing happens until the
module concerned is imported, so a process that never imports selenium or unittest pays only a
few dictionary look-ups:

DEPLOY_TUI_BROWSER=chromium   `webdriver.Firefox()` (and `selenium.webdriver.firefox.webdriver.WebDriver`)
                              starts Debian's headless Chromium instead: DEPLOY_TUI_CHROMIUM (default
                              /usr/bin/chromium), DEPLOY_TUI_CHROMEDRIVER (default /usr/bin/chromedriver),
                              a throw-away profile removed at quit(), and DEPLOY_TUI_RESOLVE
                              ("name:ip[,name:ip]") pinned as Chromium host-resolver rules.
                              With "firefox" (and MOZ_HEADLESS=1) or unset, Firefox is left alone.
DEPLOY_TUI_TEST_MARKS=1       every unittest test's start and finish is written to the real stdout as
                              a marked JSON line (see deploy_tui_marks.py), with the traceback, and a
                              screenshot and the page's HTML saved under FT_ARTIFACTS_DIR when a test
                              fails while its `self.browser` is open.

Selenium 3 or 4, or none, and any Python 3.7+: a problem here is one line on stderr, never a crash.
The sitecustomize this one shadows (Debian's Python has one) still runs, after it.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

    Hook = Callable[[ModuleType], None]

_HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in CI and containers has no user-namespace sandbox
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # The machine may reach no internet: background fetches would only fail noisily.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1024,768",
)
_state = {"webdriver_ready": False}


def _warn(what: str, error: BaseException) -> None:
    sys.stderr.write(f"deploy-tui FT shim: {what}: {type(error).__name__}: {error}\n")


def _safely(hook: Hook, module: ModuleType) -> None:
    try:
        hook(module)
    except Exception as error:  # the reader's test run goes on, only without this help
        _warn(f"could not adapt {module.__name__}", error)


class _HookedLoader:
    """The real loader, plus a hook run once the module has executed; the module never sees it."""

    def __init__(self, loader: Any, hook: Hook) -> None:
        self._loader = loader
        self._hook = hook

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # our own attributes, before __init__ (copy, pickle): never recurse
            raise AttributeError(name)
        return getattr(self._loader, name)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader  # type: ignore[union-attr]
        self._loader.exec_module(module)
        _safely(self._hook, module)


class _PostImportHooks:
    """A meta path finder that finds nothing itself: it hooks the named modules' loaders."""

    def __init__(self, hooks: dict[str, Hook]) -> None:
        self._hooks = hooks

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        hook = self._hooks.pop(fullname, None)
        if hook is None:
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _HookedLoader(spec.loader, hook)
        return spec  # type: ignore[no-any-return]


# Headless Chromium in Firefox's place.


def _after_webdriver_package(package: ModuleType) -> None:
    _state["webdriver_ready"] = True
    firefox = _chromium_as_firefox()
    package.Firefox = firefox  # type: ignore[attr-defined]
    module = sys.modules.get("selenium.webdriver.firefox.webdriver")
    if module is not None:  # Selenium 3 and early 4 import it eagerly, inside the package
        module.WebDriver = firefox  # type: ignore[attr-defined]


def _after_firefox_module(module: ModuleType) -> None:
    # Imported by a lazy Selenium 4 after its package: patch now. Inside an eager package's
    # __init__, the package hook patches it once the package is complete.
    if _state["webdriver_ready"]:
        module.WebDriver = _chromium_as_firefox()  # type: ignore[attr-defined]


def resolver_rules(spec: str) -> str:
    """DEPLOY_TUI_RESOLVE ("name:ip[,name:ip]") as Chromium's --host-resolver-rules value ("" when empty)."""
    rules = []
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, address = pair.partition(":")
        if not (sep and name.strip() and address.strip()):
            raise ValueError(
                f"DEPLOY_TUI_RESOLVE={pair!r}: write it as name:ip, like superlists-staging.test:127.0.0.2"
            )
        address = address.strip()
        rules.append(f"MAP {name.strip()} {'[' + address + ']' if ':' in address else address}")
    return ", ".join(rules)


def chromium_arguments(profile_dir: str) -> list[str]:
    arguments = [*CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}"]
    rules = resolver_rules(os.environ.get("DEPLOY_TUI_RESOLVE", ""))
    if rules:
        arguments.append(f"--host-resolver-rules={rules}")
    return arguments


def _executable(variable: str, default: str, package: str) -> str:
    path = os.environ.get(variable) or default
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise FileNotFoundError(
            f"{path} not found: install Debian's {package} (apt-get install chromium chromium-driver) or set {variable}"
        )
    return path


_firefox_class: list[type] = []


def _chromium_as_firefox() -> type:
    if _firefox_class:
        return _firefox_class[0]
    import inspect
    import shutil
    import tempfile

    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.webdriver import WebDriver as Chrome

    takes_service = "service" in inspect.signature(Chrome.__init__).parameters  # Selenium 4; 3 has executable_path

    class Firefox(Chrome):
        """`webdriver.Firefox()`, played by Debian's headless Chromium (deploy-tui's FT shim).

        Firefox's own arguments (options, profile, service) do not apply and are ignored.
        """

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            browser = _executable("DEPLOY_TUI_CHROMIUM", "/usr/bin/chromium", "chromium")
            driver = _executable("DEPLOY_TUI_CHROMEDRIVER", "/usr/bin/chromedriver", "chromium-driver")
            profile = tempfile.mkdtemp(prefix="deploy-tui-chromium-")
            self._deploy_tui_profile = profile
            self._deploy_tui_quit = False
            try:
                options = Options()
                options.binary_location = browser
                for argument in chromium_arguments(profile):
                    options.add_argument(argument)
                if takes_service:
                    from selenium.webdriver.chrome.service import Service

                    super().__init__(options=options, service=Service(executable_path=driver))
                else:
                    selenium3_init: Any = super().__init__
                    selenium3_init(executable_path=driver, options=options)
            except BaseException:
                shutil.rmtree(profile, ignore_errors=True)
                raise

        def quit(self) -> None:
            try:
                super().quit()
            finally:
                self._deploy_tui_quit = True
                shutil.rmtree(self._deploy_tui_profile, ignore_errors=True)

    _firefox_class.append(Firefox)
    return Firefox


# Live test marks for unittest (Django's runner uses unittest's TextTestResult, which calls these through super()).

_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def _after_unittest_result(module: ModuleType) -> None:
    try:
        import deploy_tui_marks as marks  # type: ignore[import-not-found]
    except ImportError:
        sys.path.append(_HERE)
        import deploy_tui_marks as marks
    import functools
    import time
    import traceback

    result_class: Any = module.TestResult

    def name_of(test: Any) -> str:
        try:
            return str(test.id())
        except Exception:
            return str(test)

    def shoot(test: Any) -> None:
        record = getattr(test, "_deploy_tui_record", None)
        if record is not None and not record["screenshot"]:
            record["screenshot"] = marks.save_artifacts(marks.find_webdriver(test), record["name"])

    def begin(test: Any) -> dict[str, Any]:
        record = {"name": name_of(test), "started": time.monotonic(), "outcome": "", "tracebacks": [], "screenshot": ""}
        test._deploy_tui_record = record
        marks.say(event="start", name=record["name"])
        return record

    def finish(test: Any) -> None:
        record = test.__dict__.pop("_deploy_tui_record", None)
        if record is None:
            return
        outcome = record["outcome"]
        if not outcome:  # nothing reported: interrupted
            outcome, record["tracebacks"] = "error", ["the test ended without a result"]
        marks.say(
            event="finish",
            name=record["name"],
            outcome=outcome,
            duration=round(time.monotonic() - record["started"], 3),
            traceback="\n".join(record["tracebacks"]),
            screenshot=record["screenshot"],
        )

    def text_of(result: Any, err: Any, test: Any) -> str:
        try:
            return str(result._exc_info_to_string(err, test))
        except Exception:
            try:
                return "".join(traceback.format_exception(*err))
            except Exception:
                return repr(err)

    def note(result: Any, test: Any, outcome: str, text: str = "") -> None:
        record = getattr(test, "_deploy_tui_record", None)
        started_here = record is None  # a setUpClass error, or Django's _pre_setup failing: no startTest
        if record is None:
            record = begin(test)
        if _RANK[outcome] >= _RANK.get(record["outcome"], -1):
            record["outcome"] = outcome
        if text:
            record["tracebacks"].append(text)
        if outcome in ("failed", "error"):
            shoot(test)  # Python 3.11+ reports before tearDown; a setUp failure leaves the browser open
        if started_here:
            finish(test)

    def wrap(method: str, before: Callable[..., None]) -> None:
        original = getattr(result_class, method, None)
        if original is None:
            return

        @functools.wraps(original)
        def wrapper(self: Any, test: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                before(self, test, *args, **kwargs)
            except Exception as error:
                _warn(f"could not report {method}", error)
            return original(self, test, *args, **kwargs)

        setattr(result_class, method, wrapper)

    def on_start(result: Any, test: Any) -> None:
        begin(test)
        marks.screenshot_before_teardown(test, lambda: shoot(test))

    def on_stop(result: Any, test: Any) -> None:
        finish(test)

    def on_failure(result: Any, test: Any, err: Any) -> None:
        note(result, test, "failed", text_of(result, err, test))

    def on_error(result: Any, test: Any, err: Any) -> None:
        note(result, test, "error", text_of(result, err, test))

    def on_success(result: Any, test: Any) -> None:
        note(result, test, "passed")

    def on_skip(result: Any, test: Any, reason: str) -> None:
        note(result, test, "skipped")

    def on_expected_failure(result: Any, test: Any, err: Any) -> None:
        note(result, test, "skipped")  # as pytest reports an xfail

    def on_unexpected_success(result: Any, test: Any) -> None:
        note(result, test, "failed", "Unexpected success: the test passed but is marked @expectedFailure")

    def on_subtest(result: Any, test: Any, subtest: Any, err: Any) -> None:
        if err is not None:
            failed = isinstance(err[0], type) and issubclass(err[0], test.failureException)
            note(result, test, "failed" if failed else "error", f"{subtest}\n{text_of(result, err, test)}")

    wrap("startTest", on_start)
    wrap("stopTest", on_stop)
    wrap("addSuccess", on_success)
    wrap("addFailure", on_failure)
    wrap("addError", on_error)
    wrap("addSkip", on_skip)
    wrap("addExpectedFailure", on_expected_failure)
    wrap("addUnexpectedSuccess", on_unexpected_success)
    wrap("addSubTest", on_subtest)


def _install() -> None:
    hooks: dict[str, Hook] = {}
    if os.environ.get("DEPLOY_TUI_BROWSER", "").strip().lower() == "chromium":
        hooks["selenium.webdriver"] = _after_webdriver_package
        hooks["selenium.webdriver.firefox.webdriver"] = _after_firefox_module
    if os.environ.get("DEPLOY_TUI_TEST_MARKS", "").strip() == "1":
        hooks["unittest.result"] = _after_unittest_result
    pending = {}
    for name, hook in hooks.items():
        module = sys.modules.get(name)
        if module is not None:  # imported before site ran (unusual): adapt it now
            _safely(hook, module)
        else:
            pending[name] = hook
    if pending:
        sys.meta_path.insert(0, _PostImportHooks(pending))


def _run_shadowed_sitecustomize() -> None:
    """The next sitecustomize on sys.path, which this one hides, runs as site would have run it."""
    from importlib.machinery import PathFinder

    here = os.path.normcase(_HERE)
    rest = [p for p in sys.path if os.path.normcase(os.path.abspath(p or os.curdir)) != here]
    spec = PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None or spec.origin == os.path.abspath(__file__):
        return
    module = type(sys)("sitecustomize")
    module.__file__ = spec.origin
    module.__spec__ = spec
    module.__loader__ = spec.loader
    spec.loader.exec_module(module)


try:
    _install()
except Exception as _error:
    _warn("not installed", _error)
try:
    _run_shadowed_sitecustomize()
except Exception as _error:
    _warn("the shadowed sitecustomize failed", _error)
