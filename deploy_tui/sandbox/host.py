"""What the sandbox changes on this machine besides its state dir: the box user, the published
git repo's ownership and the firewall rules. Each function is safe to call again."""

from __future__ import annotations

import grp
import pwd
import shlex
from pathlib import Path

from deploy_tui.sandbox.system import SandboxError, kill_and_wait, pids_of_uid, run

SUDO_GROUP = "sudo"
# Our own commands trust any repo's owner: the checkout may belong to someone else, and after the
# first publish the bare repo belongs to the box user while root pushes into it.
GIT_TRUST_ALL = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*"}


def trust_for_root(state_dir: Path, bare: Path) -> dict[str, str]:
    """An environment in which root's git trusts the box user's bare repo (and keeps root's own settings).

    git refuses a repository another user owns ("detected dubious ownership"), and clears
    command-line config for the upload-pack it starts on a local path: a global config file
    naming the one repo is what reaches both. Asking the repo what is pushed (the preflight)
    needs it when the checkout's owner is not the box user, as in the demo.
    """
    config = state_dir / "gitconfig"
    config.write_text(f"[include]\n\tpath = ~/.gitconfig\n[safe]\n\tdirectory = {bare}\n")
    return {"GIT_CONFIG_GLOBAL": str(config)}


def user_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def create_user(user: str) -> None:
    run(["useradd", "--create-home", "--shell", "/bin/bash", user])


def check_not_root(user: str) -> None:
    if pwd.getpwnam(user).pw_uid == 0:
        raise SandboxError(f"user {user} has uid 0: choose a box user that is not root")


def in_sudo_group(user: str) -> bool:
    try:
        group = grp.getgrnam(SUDO_GROUP)
    except KeyError:
        raise SandboxError(f"there is no group {SUDO_GROUP!r}: install Debian's sudo package") from None
    return user in group.gr_mem or pwd.getpwnam(user).pw_gid == group.gr_gid


def add_to_sudo_group(user: str) -> None:
    run(["usermod", "--append", "--groups", SUDO_GROUP, user])


def remove_from_sudo_group(user: str) -> None:
    if user_exists(user) and in_sudo_group(user):
        run(["gpasswd", "--delete", user, SUDO_GROUP])


def set_password(user: str, password: str) -> None:
    """Set the password through chpasswd's stdin, so it never shows in a process list."""
    run(["chpasswd"], stdin=f"{user}:{password}\n")


def remove_user(user: str) -> None:
    """Stop the user's processes (by pid) and delete the user with its home and mail."""
    if not user_exists(user):
        return
    uid = pwd.getpwnam(user).pw_uid
    if uid == 0:
        raise SandboxError(f"refusing to remove {user}: it has uid 0")
    for pid in pids_of_uid(uid):
        kill_and_wait(pid)
    done = run(["userdel", "--remove", user], check=False)
    # 12: the home or mail spool was already gone, which is what we wanted.
    if done.returncode not in (0, 12):
        raise SandboxError(f"userdel --remove {user} failed: {done.stderr.strip()}")


def publish_repo(checkout: Path, bare: Path, user: str) -> None:
    """Make bare a clone of checkout's HEAD as branch main, owned by user, readable by user."""
    try:
        run(["git", "-C", str(checkout), "rev-parse", "--verify", "--quiet", "HEAD"], env=GIT_TRUST_ALL)
    except SandboxError:
        raise SandboxError(f"{checkout} is not a git checkout with a commit: publish the box's repo from one") from None
    if not (bare / "HEAD").exists():
        bare.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(bare)])
    # The receiving side runs with the environment's config cleared, so it is told on its command line.
    receive_pack = f"git -c {shlex.quote('safe.directory=*')} receive-pack"
    push = ["push", "--quiet", "--force", f"--receive-pack={receive_pack}", str(bare), "HEAD:refs/heads/main"]
    run(["git", "-C", str(checkout), *push], env=GIT_TRUST_ALL, timeout=300)
    run(["chown", "-R", f"{user}:{user}", str(bare)])
    try:
        run(["runuser", "-u", user, "--", "git", "--git-dir", str(bare), "rev-parse", "--verify", "main"])
    except SandboxError:
        raise SandboxError(
            f"user {user} cannot read {bare}: every directory above it must be world-searchable "
            "(chmod o+x), or use another --state-dir"
        ) from None


def _drop_rule(address: str, port: int) -> list[str]:
    return ["INPUT", "-d", f"{address}/32", "-p", "tcp", "--dport", str(port), "-j", "DROP"]


def firewall_has(address: str, port: int) -> bool:
    checked = run(["iptables", "-C", *_drop_rule(address, port)], check=False)
    return checked.returncode == 0


def firewall_close(address: str, port: int) -> None:
    if not firewall_has(address, port):
        run(["iptables", "-I", *_drop_rule(address, port)])


def firewall_open(address: str, port: int) -> None:
    if firewall_has(address, port):
        run(["iptables", "-D", *_drop_rule(address, port)])
