"""uv on the server, brought from here: the venv and the requirements in a fraction of pip's time.

The server is never asked to reach anything new for it. This machine fetches uv's wheel for the
server's platform from the package index it already uses (`pip download`), once, and keeps the
binary in its cache; the binary goes over the SSH connection (SFTP, gzipped) to a directory of the
user's own on the server, ~/.local/share/deploy-tui/bin, checked by its SHA-256 there before it is
put in place, and left alone while it matches. uv then makes the venv with the server's own python3
(it never downloads a Python) and installs the requirements from PyPI with the server's own
certificate store. uv reads UV_INDEX_URL, not pip.conf: a server whose pip is pointed at a mirror
needs the mirror in uv's own settings too (or installer = "pip").
"""

from __future__ import annotations

import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from deploy_tui.core.commands import Shell, StepCommand
from deploy_tui.steps.base import Context, Step, StepFailed, must, run

UV_VERSION = "0.13.9"  # pinned: the same uv on every server, whatever the index has newest
REMOTE_DIR = ".local/share/deploy-tui/bin"  # relative to the server user's home (SFTP starts there)
UV = f'"$HOME"/{REMOTE_DIR}/uv'
# "<sha256> <inode> <size> <mtime>" of the binary when its hash was last checked: while the file is the same
# one (same inode, size and time) it is not hashed again (some 80 ms of a first deploy for 40 MB).
VERIFIED = f"{UV}.verified"
_IDENTITY = f"stat -c '%i %s %Y' {UV}"
# The server's python3 only; the server's own certificate store, as its pip and curl trust (uv's bundled
# roots do not hold a company's or a proxy's CA); plain output for the log.
ENV = "UV_PYTHON_DOWNLOADS=never UV_NATIVE_TLS=1 NO_COLOR=1"
# (machine, C library) as `uname -m` and ldd say -> the wheel's platform tag on the index.
PLATFORMS = {
    ("x86_64", "glibc"): "manylinux_2_17_x86_64",
    ("aarch64", "glibc"): "manylinux_2_17_aarch64",
    ("x86_64", "musl"): "musllinux_1_1_x86_64",
    ("aarch64", "musl"): "musllinux_1_1_aarch64",
}


def platform_command() -> StepCommand:
    """The server's platform, and (a third line) whether the uv there is the one last checked by hash."""
    return StepCommand(
        Shell(
            "uname -m && (ldd --version 2>&1 || true) | head -n 1 && "
            f'echo "$(cat {VERIFIED} 2>/dev/null)|$({_IDENTITY} 2>/dev/null)"'
        ),
        "the server's platform",
        timeout=30,
    )


def _verified(sha256: str) -> str:
    """Shell: note that the uv in place is the one with this hash, as the file it is now."""
    return f'echo {shlex.quote(sha256)} "$({_IDENTITY})" > {VERIFIED}'


def still_verified(answer: str, sha256: str) -> bool:
    """Whether platform_command's answer shows the uv in place as the same file last checked to have sha256."""
    lines = answer.splitlines()
    stamp, _, identity = (lines[2] if len(lines) > 2 else "").partition("|")
    return bool(identity.strip()) and stamp.split() == [sha256, *identity.split()]


def fetch_command(tag: str, into: Path) -> StepCommand:
    """uv's wheel for the tag, from the index this machine's pip uses: run here, once per version and platform."""
    argv = [
        sys.executable,
        *("-m", "pip", "download", f"uv=={UV_VERSION}", "--no-deps", "--only-binary=:all:"),
        *("--platform", tag, "--disable-pip-version-check", "--quiet", "-d", str(into)),
    ]
    return StepCommand(Shell(shlex.join(argv)), f"fetch uv {UV_VERSION} for {tag}", here=True, timeout=600)


def install_command(sha256: str) -> StepCommand:
    """Unpack the copied binary, check it is the one sent, and put it in place."""
    new = f"{UV}.new"
    return StepCommand(
        Shell(
            f"gunzip -c {UV}.gz > {new} && chmod 755 {new} && "
            f'test "$(sha256sum < {new} | cut -d " " -f 1)" = {shlex.quote(sha256)} && '
            f"mv -f {new} {UV} && rm -f {UV}.gz && {_verified(sha256)}"
        ),
        "unpack uv and check its SHA-256",
        timeout=120,
    )


def platform_of(answer: str) -> tuple[str, str]:
    """(machine, C library) from platform_command's answer."""
    lines = answer.splitlines()
    machine = lines[0].strip() if lines else ""
    libc = "musl" if len(lines) > 1 and "musl" in lines[1].lower() else "glibc"
    return machine, libc


def cache_dir(tag: str) -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("deploy-tui")) / "uv" / UV_VERSION / tag


def _unpack_wheel(wheel: Path, dest: Path) -> None:
    """The uv binary out of its wheel, gzipped, with its SHA-256 beside it; written whole or not at all."""
    import gzip  # here: only a first uv fetch needs them, not every start
    import hashlib
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        name = next((n for n in archive.namelist() if n.endswith(".data/scripts/uv")), None)
        if name is None:
            raise StepFailed(f"{wheel.name} has no uv binary in it (.data/scripts/uv)")
        binary = archive.read(name)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest, delete=False) as packed:
        packed.write(gzip.compress(binary, compresslevel=6))
    Path(packed.name).replace(dest / "uv.gz")
    (dest / "uv.sha256").write_text(hashlib.sha256(binary).hexdigest() + "\n")


async def _local_uv(ctx: Context, step: Step, tag: str) -> tuple[Path, str]:
    """The gzipped binary for the tag in this machine's cache (fetched the first time), and its SHA-256."""
    dest = cache_dir(tag)
    if not ((dest / "uv.gz").is_file() and (dest / "uv.sha256").is_file()):
        download = Path(tempfile.mkdtemp(prefix="uv-wheel-"))
        try:
            await must(ctx, step, fetch_command(tag, download))
            wheels = sorted(download.glob("uv-*.whl"))
            if not wheels:
                raise StepFailed(f"pip download left no uv wheel for {tag} in {download}")
            _unpack_wheel(wheels[0], dest)
        finally:
            shutil.rmtree(download, ignore_errors=True)
    return dest / "uv.gz", (dest / "uv.sha256").read_text().strip()


async def bring_uv(ctx: Context, step: Step) -> str:
    """uv on the server, the pinned version, checked by hash; copied only when it is not there already."""
    answer = await must(ctx, step, platform_command(), capture=True)
    machine, libc = platform_of(answer.captured)
    tag = PLATFORMS.get((machine, libc))
    if tag is None:
        raise StepFailed(
            f"uv has no build here for the server's platform ({machine or '?'}, {libc}): "
            'set installer = "pip" in deploy.toml for this site',
            tuple(answer.captured.splitlines()),
        )
    packed, sha256 = await _local_uv(ctx, step, tag)
    if still_verified(answer.captured, sha256):
        return f"uv {UV_VERSION} already on the server"
    there = await run(ctx, step, StepCommand(Shell(f"sha256sum < {UV} 2>/dev/null || true")), capture=True)
    if there.captured.split()[:1] == [sha256]:
        await must(ctx, step, StepCommand(Shell(_verified(sha256)), "note uv as checked", timeout=30))
        return f"uv {UV_VERSION} already on the server"
    await ctx.session.put(packed, f"{REMOTE_DIR}/uv.gz", step=step.id, what=f"uv {UV_VERSION} ({tag}, gzipped)")
    await must(ctx, step, install_command(sha256))
    return f"uv {UV_VERSION} copied to the server"
