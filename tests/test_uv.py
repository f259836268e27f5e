"""uv as the installer, on its own: the platform, the binary out of its wheel, the commands shown and run."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from deploy_tui.core.config import ConfigError, make_site
from deploy_tui.core.events import Event
from deploy_tui.core.plan import Context
from deploy_tui.steps import uv
from deploy_tui.steps.venv import VenvStep
from tests.fakes import Answer, FakeSession

SITE = make_site(
    "staging",
    {"domain": "superlists-staging.test", "host": "127.0.0.2", "user": "elspeth", "repo": "/srv/git/x.git"},
    "test",
)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("x86_64\nldd (Debian GLIBC 2.36-9+deb12u10) 2.36\n", ("x86_64", "glibc")),
        ("aarch64\nmusl libc (aarch64)\n", ("aarch64", "musl")),
        ("x86_64\n", ("x86_64", "glibc")),
    ],
)
def test_the_servers_platform_is_read_from_uname_and_ldd(answer: str, expected: tuple[str, str]) -> None:
    assert uv.platform_of(answer) == expected
    assert uv.PLATFORMS.get(expected)


def test_the_binary_comes_out_of_its_wheel_gzipped_with_its_sha256(tmp_path: Path) -> None:
    binary = b"\x7fELF uv, as it were" * 100
    wheel = tmp_path / f"uv-{uv.UV_VERSION}-py3-none-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"uv-{uv.UV_VERSION}.data/scripts/uvx", b"not this one")
        archive.writestr(f"uv-{uv.UV_VERSION}.data/scripts/uv", binary)
    uv._unpack_wheel(wheel, tmp_path / "cache")
    assert gzip.decompress((tmp_path / "cache" / "uv.gz").read_bytes()) == binary
    assert (tmp_path / "cache" / "uv.sha256").read_text().strip() == hashlib.sha256(binary).hexdigest()


def test_the_installer_is_pip_or_uv_in_one_line() -> None:
    assert SITE.installer == "pip"
    values = {"domain": "a.test", "host": "127.0.0.2", "repo": "/srv/x.git"}
    assert make_site("staging", {**values, "installer": "uv"}, "sites.staging").installer == "uv"
    with pytest.raises(ConfigError, match=r"^sites.staging.installer = 'conda': must be \"pip\"") as raised:
        make_site("staging", {**values, "installer": "conda"}, "sites.staging")
    assert "\n" not in str(raised.value)


def test_with_uv_the_venv_step_shows_where_uv_comes_from_and_writes_the_same_stamp() -> None:
    ctx = Context(site=replace(SITE, installer="uv"), emit=lambda e: None, address="127.0.0.2")
    commands = VenvStep().commands(ctx)
    shown = [c.display for c in commands]
    assert "uname -m" in shown[0]
    assert f"pip download uv=={uv.UV_VERSION}" in shown[1]
    assert commands[1].run is False  # shown, run by apply for the platform the server reports
    assert "sftp put" in shown[2]
    assert "sha256sum" in shown[3]
    assert 'venv --python python3 "$v"' in shown[4]
    assert "ln -sfn" in shown[4]  # .venv: the link to the venv of these requirements, kept for a rollback
    assert "UV_PYTHON_DOWNLOADS=never" in shown[4]  # uv never downloads a Python onto the server
    assert "pip install --python .venv/bin/python -r requirements.txt" in shown[5]
    pip_ctx = Context(site=SITE, emit=lambda e: None, address="127.0.0.2")
    pip_stamp = VenvStep().commands(pip_ctx)[-1].display.rsplit(">", 1)[1]
    assert shown[5].rsplit(">", 1)[1] == pip_stamp  # one stamp: either installer takes over from the other


def test_uv_is_copied_only_when_the_server_has_not_got_it(tmp_path: Path, monkeypatch) -> None:
    binary = b"uv binary"
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "uv.gz").write_bytes(gzip.compress(binary))
    sha = hashlib.sha256(binary).hexdigest()
    (cache / "uv.sha256").write_text(sha + "\n")
    monkeypatch.setattr(uv, "cache_dir", lambda tag: cache)
    platform = ("uname -m", Answer(0, stdout=("x86_64", "ldd (Debian GLIBC 2.36) 2.36")))

    def bring(there: str, stamp: str = "|") -> tuple[str, list[str]]:
        events: list[Event] = []
        answer = ("uname -m", Answer(0, stdout=(*platform[1].stdout, stamp)))
        session = FakeSession(events.append, [answer, ("sha256sum <", Answer(0, stdout=(there,)))])
        ctx = Context(site=replace(SITE, installer="uv"), emit=events.append, address="127.0.0.2", session=session)
        said = asyncio.run(uv.bring_uv(ctx, VenvStep()))
        return said, session.ran

    said, ran = bring(f"{sha}  -")
    assert said == f"uv {uv.UV_VERSION} already on the server"
    assert not [c for c in ran if c.startswith("put ")]
    assert any(c.startswith(f"echo {sha} ") and uv.VERIFIED in c for c in ran)  # noted as checked, as it is now
    # The same file as when last checked (inode, size, time): not hashed again.
    said, ran = bring("", stamp=f"{sha} 41 4096 1700000000|41 4096 1700000000")
    assert said == f"uv {uv.UV_VERSION} already on the server"
    assert not [c for c in ran if "sha256sum" in c or c.startswith("put ")]
    # Replaced since (another inode): hashed, and found to differ, so copied again.
    said, ran = bring("", stamp=f"{sha} 41 4096 1700000000|42 4096 1700000000")
    assert said == f"uv {uv.UV_VERSION} copied to the server"
    said, ran = bring("")
    assert said == f"uv {uv.UV_VERSION} copied to the server"
    assert f"put uv.gz {uv.REMOTE_DIR}/uv.gz" in ran
    assert any(sha in c and "gunzip" in c for c in ran)
