"""The machine-level pieces the sandbox box is built from: commands, daemons, ports, files.

Every process is started by us, remembered by pid, and stopped only after /proc shows it is
still the program we started (pids get reused). Nothing here knows what a "box" is.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# Popen objects of the daemons this process started, so stopping one also reaps it: a zombie
# left behind would hold its pid until we exit (this machine's pid 1 does not reap orphans).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class SandboxError(Exception):
    """Something the sandbox cannot do; the text is one line naming the thing and the fix."""


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise SandboxError(
            f"{what} needs root (the sandbox runs its own sshd and dnsmasq and a user account): "
            "run it as root on a disposable machine (CI, a VM, a container)"
        )


def run(
    argv: Sequence[str],
    *,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run argv to completion; SandboxError naming the command and its last error line if it fails
    (when check) or cannot start."""
    try:
        done = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if env is None else {**os.environ, **env},
            check=False,
        )
    except FileNotFoundError:
        raise SandboxError(f"{argv[0]} is not installed: install the Debian package that has it") from None
    except subprocess.TimeoutExpired:
        raise SandboxError(f"{' '.join(argv)} did not finish within {timeout:.0f} s") from None
    if check and done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["(no output)"]
        raise SandboxError(f"{' '.join(argv)} failed with status {done.returncode}: {lines[-1]}")
    return done


def missing_packages(packages: Sequence[str]) -> list[str]:
    """The Debian packages of `packages` that dpkg does not have installed."""
    missing = []
    for package in packages:
        found = run(["dpkg-query", "-W", "-f=${db:Status-Status}", package], check=False)
        if found.stdout.strip() != "installed":
            missing.append(package)
    return missing


def install_packages(packages: Sequence[str]) -> None:
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env, timeout=600)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], env=env, timeout=1800)


def write_file(path: Path, text: str, mode: int) -> None:
    """Replace path with text, atomically, never readable by others beyond `mode`."""
    temporary = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(file.fileno(), mode)
        file.write(text)
    os.replace(temporary, path)


def new_key(path: Path, comment: str) -> None:
    """A fresh ed25519 key pair at path and path.pub (any old pair is replaced)."""
    for old in (path, path.with_name(path.name + ".pub")):
        old.unlink(missing_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])


def fingerprint(public_key_line: str) -> str:
    """OpenSSH's SHA256 fingerprint of a public key line ("ssh-ed25519 AAAA... comment")."""
    blob = base64.b64decode(public_key_line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def check_free(address: str, port: int, protocols: Sequence[str], needed_for: str, fix: str) -> None:
    """SandboxError naming address:port if something already holds it (we never stop it)."""
    for protocol in protocols:
        kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
        with socket.socket(socket.AF_INET, kind) as sock:
            if protocol == "tcp":
                # What the daemons do too: a TIME_WAIT leftover is not "in use", a listener is.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((address, port))
            except OSError as error:
                raise SandboxError(
                    f"{address}:{port} ({protocol.upper()}) is not free for {needed_for} ({error.strerror}): {fix}"
                ) from None


def start_daemon(argv: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """Start argv in its own session so it outlives us; its stderr goes to log."""
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            start_new_session=True,
        )
    _CHILDREN[process.pid] = process
    return process


def wait_listening(process: subprocess.Popen[bytes], address: str, port: int, log: Path, name: str) -> None:
    """Return once address:port accepts TCP; SandboxError with the log's last line if name dies."""
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            _CHILDREN.pop(process.pid, None)
            raise SandboxError(
                f"{name} exited with status {process.returncode} before listening on {address}:{port}: "
                f"{log_tail(log)} (full log: {log})"
            )
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SandboxError(
                    f"{name} (pid {process.pid}) is not listening on {address}:{port} after 15 s: "
                    f"{log_tail(log)} (full log: {log})"
                ) from None
            time.sleep(0.05)


def log_tail(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"


def alive(pid: int) -> bool:
    """Whether pid runs (a zombie does not); reaps it if it is a child of ours that has exited."""
    if pid <= 0:
        return False
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def is_ours(pid: int, program: str, marker: str) -> bool:
    """Whether pid is alive, runs `program` and has `marker` in its command line."""
    if not alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        exe = Path(os.readlink(f"/proc/{pid}/exe").removesuffix(" (deleted)")).name
    except PermissionError:  # not root: only `status` gets here, and the command line must do
        exe = program
    except OSError:
        return False
    return exe == program and f"{marker} " in f"{cmdline} "


def stop(pid: int, program: str, marker: str) -> bool:
    """Stop pid if it is still ours (see is_ours): SIGTERM, then SIGKILL. True if we stopped it."""
    if not is_ours(pid, program, marker):
        return False
    kill_and_wait(pid)
    return True


def kill_and_wait(pid: int) -> None:
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while alive(pid):
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        else:
            return
    raise SandboxError(f"pid {pid} survived SIGKILL: look at /proc/{pid}/status")


def pids_of_uid(uid: int) -> list[int]:
    """Every live process whose real uid is uid."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:") and int(line.split()[1]) == uid and alive(int(entry.name)):
                found.append(int(entry.name))
    return found
