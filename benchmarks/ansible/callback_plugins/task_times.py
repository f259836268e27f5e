"""Ansible callback: each task's wall time, as JSON lines in $DTUI_BENCH_TASK_TIMES.

Used by benchmarks/deploy_vs_ansible.py to see where Ansible's time goes (what
ansible.posix's profile_tasks shows, without needing that collection). A task's time
runs from its start to its result on the one host, retries included.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: task_times
    type: aggregate
    short_description: each task's wall time as JSON lines
    description: Appends {"task", "status", "seconds"} per task to the file named by $DTUI_BENCH_TASK_TIMES.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._path = os.environ.get("DTUI_BENCH_TASK_TIMES", "")
        self._task = ""
        self._started = 0.0

    def _write(self, status: str) -> None:
        if not self._path or not self._task:
            return
        record = {"task": self._task, "status": status, "seconds": time.perf_counter() - self._started}
        with open(self._path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        self._task = ""

    def v2_playbook_on_task_start(self, task, is_conditional):  # type: ignore[no-untyped-def]
        self._task = task.get_name()
        self._started = time.perf_counter()

    def v2_playbook_on_handler_task_start(self, task):  # type: ignore[no-untyped-def]
        # A handler (production.yml's "Reload nginx") is timed like a task.
        self.v2_playbook_on_task_start(task, False)

    def v2_runner_on_ok(self, result):  # type: ignore[no-untyped-def]
        self._write("changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):  # type: ignore[no-untyped-def]
        self._write("failed")

    def v2_runner_on_skipped(self, result):  # type: ignore[no-untyped-def]
        self._write("skipped")

    def v2_runner_on_unreachable(self, result):  # type: ignore[no-untyped-def]
        self._write("unreachable")
