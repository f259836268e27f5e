"""The engine is reachable without the TUI: importing any module of deploy_tui must not import Textual.

import-linter (in .ci/run) checks the same statically; this checks it at run time,
the way a headless run or a replay export really loads the code.
"""

import pkgutil
import subprocess
import sys

import deploy_tui


def _modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.walk_packages(deploy_tui.__path__, "deploy_tui.") if m.name != "deploy_tui.__main__"
    )


def test_no_deploy_tui_module_imports_textual() -> None:
    modules = _modules()
    assert "deploy_tui.core.engine" in modules
    assert "deploy_tui.sandbox.box" in modules
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
