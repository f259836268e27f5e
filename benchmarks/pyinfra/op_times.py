"""pyinfra callback: each operation's wall time, as JSON lines in $DTUI_BENCH_TASK_TIMES.

What benchmarks/ansible/callback_plugins/task_times.py is to Ansible. deploy.py registers
it when that variable is set. An operation's time runs from its start to its end on the one
host, its facts included (pyinfra gathers them while it executes, run with --yes). Its
status is "changed" when it ran commands, "ok" when it found nothing to do.
"""

from __future__ import annotations

import json
import time

from pyinfra.api.host import Host
from pyinfra.api.state import BaseStateCallback, State


class OperationTimes(BaseStateCallback):
    def __init__(self, path: str) -> None:
        self._path = path
        self._started: dict[str, float] = {}
        self._failed: set[str] = set()

    # pyinfra calls each handler's methods with the state first (BaseStateCallback declares them static).
    def operation_start(self, state: State, op_hash: str) -> None:  # type: ignore[override]
        self._started[op_hash] = time.perf_counter()

    def operation_host_error(self, state: State, host: Host, op_hash: str, *retries: int) -> None:  # type: ignore[override]
        self._failed.add(op_hash)

    def operation_end(self, state: State, op_hash: str) -> None:  # type: ignore[override]
        seconds = time.perf_counter() - self._started.pop(op_hash, time.perf_counter())
        status = "failed" if op_hash in self._failed else "ok"
        if status == "ok":
            for host in state.inventory:
                meta = state.get_op_data_for_host(host, op_hash).operation_meta
                if meta.is_complete() and meta.did_change():
                    status = "changed"
        name = ", ".join(sorted(state.get_op_meta(op_hash).names))
        with open(self._path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"task": name, "status": status, "seconds": seconds}) + "\n")
