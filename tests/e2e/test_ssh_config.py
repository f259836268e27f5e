"""The SSH session finds hosts, users and keys the way OpenSSH does: ~/.ssh/config and ssh-agent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import pytest

from deploy_tui.remote.ssh import SshError, SshSession, SshTarget

pytestmark = pytest.mark.e2e


async def test_an_ssh_config_alias_gives_host_port_user_and_key(sandbox_box, tmp_path: Path) -> None:
    _, box = sandbox_box
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host staging-box\n"
        f"    HostName {box.address}\n"
        f"    Port {box.ssh_port}\n"
        f"    User {box.user}\n"
        f"    IdentityFile {box.client_key}\n"
    )
    target = SshTarget("staging-box", known_hosts=box.known_hosts, config=(config,))
    async with SshSession(target, emit=lambda e: None) as session:
        result = await session.run(["id", "-un"], capture=True)
    assert result.captured == box.user


async def test_without_the_config_the_alias_does_not_resolve(sandbox_box, tmp_path: Path) -> None:
    _, box = sandbox_box
    target = SshTarget("staging-box.invalid", known_hosts=box.known_hosts, config=())
    with pytest.raises(SshError, match=r"cannot connect to staging-box\.invalid"):
        async with SshSession(target, emit=lambda e: None, connect_timeout=5):
            pass


async def test_a_key_held_by_ssh_agent_logs_in(sandbox_box, tmp_path: Path, monkeypatch) -> None:
    _, box = sandbox_box
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            if socket_path.exists():
                break
            await asyncio.sleep(0.1)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket_path))
        monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/id_* to fall back on: the agent must do it
        target = SshTarget(box.address, box.ssh_port, box.user, known_hosts=box.known_hosts, config=())
        with pytest.raises(SshError, match="refused our keys"):
            async with SshSession(target, emit=lambda e: None):
                pass  # the agent holds no key yet
        env = {**os.environ, "SSH_AUTH_SOCK": str(socket_path)}
        subprocess.run(["ssh-add", "-q", str(box.client_key)], env=env, check=True, capture_output=True)
        async with SshSession(target, emit=lambda e: None) as session:
            result = await session.run(["id", "-un"], capture=True)
        assert result.captured == box.user
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=10)
