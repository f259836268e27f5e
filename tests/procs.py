"""Starting and stopping the processes tests need, always by pid."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started with start_new_session=True, and everything it spawned."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_until_serving(url: str, process: subprocess.Popen[bytes], *, host: str, timeout: float = 60) -> httpx.Response:
    """First HTTP answer from url (with Host: host); AssertionError if the server dies or stays silent."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, headers={"Host": host}, timeout=2)
        except httpx.TransportError:
            if process.poll() is not None:
                raise AssertionError(f"{process.args} exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout} s") from None
            time.sleep(0.1)
