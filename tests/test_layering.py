"""The engine is reachable without the TUI: importing it must not import Textual."""

import subprocess
import sys

ENGINE = [
    "deploy_tui.events",
    "deploy_tui.record",
    "deploy_tui.ssh",
    "deploy_tui.secret",
    "deploy_tui.lines",
    "deploy_tui.sandbox",
]


def test_engine_modules_do_not_import_textual() -> None:
    code = "import sys\n" + "".join(f"import {m}\n" for m in ENGINE) + "print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
