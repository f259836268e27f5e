"""Field diagnoses, reaching the server and becoming root: SSH keys refused (F1), sudo's password, sudoers and
terminal (F2-F4).

The sudo texts are sudo 1.9.13's on Debian 12, as deploy-tui runs it (sudo -S -k -p ''): captured for
tests/test_diagnoses_access.py and made real on the sandbox box by tests/e2e/test_diagnoses_access.py.
"""

from __future__ import annotations

import re

from deploy_tui.core.diagnoses.base import Rule, evidence
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import SshAuth, StepFailed

RULES: list[Rule] = []

_NEW_KEY = "~/.ssh/id_ed25519"


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def _login(auth: SshAuth, port: int | None, user: str = "") -> str:
    """user@host as ssh and ssh-copy-id take it, with -p when the port is not ssh's own."""
    option = f"-p {port} " if port and port != 22 else ""
    return f"{option}{user or auth.user}@{auth.host}"


def _fingerprint(failure: StepFailed, key_file: str) -> str:
    """The key's SHA256 fingerprint as the session reported it beside the file's name; "" if it did not."""
    for line in failure.evidence:
        found = re.search(rf"{re.escape(key_file)}: (SHA256:[A-Za-z0-9+/]+)", line)
        if found:
            return found[1]
    return ""


@rule
def ssh_keys_refused(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # The server's "Permission denied (publickey)": the session tells what it had to offer (SshAuth).
    auth = failure.facts.ssh
    if auth is None:
        return None
    user, login = auth.user, _login(auth, failure.facts.port)
    offered = auth.identity_files or auth.default_keys
    key = offered[0] if offered else _NEW_KEY
    if auth.root_accepts:
        home = f"~{user}/.ssh"
        cause = (
            f"The server takes your key for root but not for {user}: the key is in root's authorized_keys only, "
            "which is how many providers hand over a new server."
        )
        fix = (
            f"Log in as root ({'ssh ' + _login(auth, failure.facts.port, 'root')}) and give {user} the same key: "
            f"mkdir -p {home} && cat ~/.ssh/authorized_keys >> {home}/authorized_keys && chown -R {user}: {home} "
            f"&& chmod 700 {home} && chmod 600 {home}/authorized_keys; or, if {user} has a password, from here: "
            f"ssh-copy-id -i {key}.pub {login}."
        )
    elif auth.missing:
        cause = f"The identity file {auth.missing[0]} is not there on this machine, so no key was offered for {user}."
        fix = (
            f"Point identity_file in deploy.toml (or IdentityFile in ~/.ssh/config) at the private key you log in "
            f"with (ls ~/.ssh); or make one with ssh-keygen -t ed25519 and put it on the server with "
            f"ssh-copy-id -i {_NEW_KEY}.pub {login}."
        )
    elif not offered and not auth.agent_keys:
        agent = "there is no ssh agent" if auth.agent_keys is None else "the ssh agent holds no key"
        cause = f"There was no key to offer: no identity_file is set, {agent}, and ~/.ssh has no id_* key."
        fix = (
            f"Make one with ssh-keygen -t ed25519, put its public half on the server with "
            f"ssh-copy-id -i {_NEW_KEY}.pub {login} (or paste it into your provider's console), "
            f'then set identity_file = "{_NEW_KEY}" in deploy.toml.'
        )
    else:
        named = [f"{path} ({_fingerprint(failure, path) or 'fingerprint unknown'})" for path in offered]
        # Given identity files are all ssh offers; the agent's keys only go with the default ones.
        agent = f"the {auth.agent_keys} keys in the ssh agent" if auth.agent_keys and not auth.identity_files else ""
        keys = " and ".join(part for part in (", ".join(named), agent) if part)
        cause = f"The server refused {keys} for {user}: its public half is not in {user}'s ~/.ssh/authorized_keys."
        fix = (
            f"Put it there: ssh-copy-id -i {key}.pub {login} (it asks for {user}'s password), or paste {key}.pub "
            f"into ~{user}/.ssh/authorized_keys from your provider's console; or, if the server has another key of "
            "yours, point identity_file at that one. Check the user name too."
        )
    return Diagnosis(step=step, code="F1", cause=cause, fix=fix, evidence=evidence(failure))


@rule
def sudo_password_refused(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # One wrong password, then nothing more on stdin: "Sorry, try again." / "sudo: no password was provided" /
    # "sudo: 1 incorrect password attempt"; three wrong: "Sorry, try again." twice, "sudo: 3 incorrect password
    # attempts".
    if not re.search(r"incorrect password attempts?|Sorry, try again\.", text):
        return None
    user = failure.facts.user or "your user"
    return Diagnosis(
        step=step,
        code="F2",
        cause=f"sudo on the server refused the password given for {user}.",
        fix=f"Give {user}'s own login password on the server: not root's, and not your SSH key's passphrase. "
        f"If {user} has none yet, set one as root (or from another account with sudo): sudo passwd {user}.",
        evidence=evidence(failure, r"password|try again"),
    )


@rule
def not_in_sudoers(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # "dtuislot5 is not in the sudoers file." (sudo 1.9.13); older ones add "  This incident will be reported.",
    # newer ones a line "This incident has been reported to the administrator."; sudo -l says
    # "Sorry, user dtuislot5 may not run sudo on vm."
    found = re.search(r"(\S+) is not in the sudoers file|Sorry, user (\S+) may not run sudo", text)
    if not found:
        return None
    user = failure.facts.user or found[1] or found[2]
    return Diagnosis(
        step=step,
        code="F3",
        cause=f"{user} may not use sudo on the server: it is not in the sudoers file (on Debian and Ubuntu, "
        "not in the sudo group), so it cannot install packages as root.",
        fix=f"As root: usermod -aG sudo {user}, then run again (a new group counts from the next login, and each "
        f"run logs in afresh). Or give {user} a rule of its own with visudo -f /etc/sudoers.d/{user}.",
        evidence=evidence(failure, r"sudoers|may not run sudo|incident"),
    )


@rule
def sudo_needs_a_terminal(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # sudoers' requiretty: "sudo: sorry, you must have a tty to run sudo".
    # sudo run without -S and no terminal: "sudo: a terminal is required to read the password; either use the -S
    # option to read from standard input or configure an askpass helper", then "sudo: a password is required".
    requiretty = "you must have a tty to run sudo" in text
    if not requiretty and "a terminal is required to read the password" not in text:
        return None
    user = failure.facts.user or "USER"
    no_password = f"{user} ALL=(root) NOPASSWD: /usr/bin/apt-get"
    if requiretty:
        cause = (
            f"The server's sudoers sets requiretty for {user}: sudo refuses to run without a terminal, and "
            "deploy-tui runs commands without one (it gives sudo the password on stdin)."
        )
        fix = (
            f"As root, run visudo -f /etc/sudoers.d/{user} and add: Defaults:{user} !requiretty. Or allow the "
            f"commands that need root without a password there, e.g. {no_password}."
        )
    else:
        cause = (
            "A command ran sudo itself, without -S: sudo wanted to ask for the password on a terminal, and "
            "commands run over SSH by deploy-tui have none."
        )
        fix = (
            "Run it with sudo -S (reading the password from stdin), as deploy-tui's own sudo steps do; or, as root "
            f"with visudo -f /etc/sudoers.d/{user}, allow those commands without a password, e.g. {no_password}."
        )
    return Diagnosis(step=step, code="F4", cause=cause, fix=fix, evidence=evidence(failure, r"sudo"))
