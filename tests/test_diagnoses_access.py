"""F1-F4 on their own, fed what the session and sudo really report, and through the engine.

The sudo texts were captured on Debian 12 (sudo 1.9.13p3) as deploy-tui runs sudo (-S -k -p ''), over
the sandbox box's OpenSSH 9.2; tests/e2e/test_diagnoses_access.py makes each situation real.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from deploy_tui.core import events as ev
from deploy_tui.core.commands import Command, CommandResult
from deploy_tui.core.config import make_site
from deploy_tui.core.diagnoses import RULES, access, diagnose
from deploy_tui.core.engine import Engine
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import Facts, SshAuth, StepFailed
from deploy_tui.core.plan import Context
from deploy_tui.core.secrets import MASK, Redactor, Secret
from deploy_tui.core.session import SessionError, SudoPasswordRefused
from deploy_tui.steps.provision import ProvisionStep
from tests.fakes import Answer, FakeSession

USER = "elspeth"
HOST = "127.0.0.2"
KEY = "/home/reader/.ssh/superlists_key"
FINGERPRINT = "SHA256:5JReiQAipEEpRvKxBjYq+49qMiy1YUZx45C6izOstEA"
REFUSED = (
    f"{USER}@{HOST}:2222: the server refused our keys (check the user name, the key file, "
    "or that the public key is in the user's authorized_keys)"
)

# sudo -S -k -p '' with one wrong line on stdin, then EOF (what deploy-tui gives it).
ONE_WRONG = ("Sorry, try again.", "", "sudo: no password was provided", "sudo: 1 incorrect password attempt")
# Three wrong lines on stdin.
THREE_WRONG = ("Sorry, try again.", "Sorry, try again.", "sudo: 3 incorrect password attempts")
# The right password, a user in no sudoers rule: 1.9.13's words, older sudo's, newer sudo's, and sudo -l's.
NOT_IN_SUDOERS = f"{USER} is not in the sudoers file."
NOT_IN_SUDOERS_OLD = f"{USER} is not in the sudoers file.  This incident will be reported."
NOT_IN_SUDOERS_NEW = (f"{USER} is not in the sudoers file.", "This incident has been reported to the administrator.")
MAY_NOT_RUN = f"Sorry, user {USER} may not run sudo on vm."
# sudoers "Defaults:USER requiretty", before any password is read.
REQUIRETTY = "sudo: sorry, you must have a tty to run sudo"
# sudo without -S and with no terminal.
NO_TERMINAL = (
    "sudo: a terminal is required to read the password; either use the -S option to read from standard input "
    "or configure an askpass helper",
    "sudo: a password is required",
)


def failed(message: str = "apt-get update: exit status 1", evidence: tuple[str, ...] = (), **facts: Any) -> StepFailed:
    return StepFailed(message, evidence, Facts(**facts))


def assert_complete(diagnosis: Diagnosis | None, code: str, step: str = "provision") -> Diagnosis:
    assert diagnosis is not None, f"expected {code}, got no diagnosis"
    assert (diagnosis.code, diagnosis.step) == (code, step), diagnosis
    assert diagnosis.cause.strip()
    assert diagnosis.fix.strip()
    assert diagnosis.evidence
    return diagnosis


def keys_refused(auth: SshAuth, evidence: tuple[str, ...] = (), message: str = REFUSED) -> StepFailed:
    """What the session reports when no key got in (see remote/ssh.py's _keys_error)."""
    return failed(message, evidence, user=auth.user, port=2222, ssh=auth)


# F1: the server refused our keys, case by case.


def test_f1_a_key_that_works_for_root_is_the_providers_slip() -> None:
    auth = SshAuth(USER, HOST, identity_files=(KEY,), agent_keys=None, root_accepts=True)
    evidence = (
        f"identity file {KEY}: {FINGERPRINT}",
        "ssh agent: none to ask",
        f"the same keys for root@{HOST}: accepted",
    )
    d = assert_complete(diagnose("provision", keys_refused(auth, evidence)), "F1")
    assert "root" in d.cause
    assert USER in d.cause
    assert f"ssh -p 2222 root@{HOST}" in d.fix
    assert f"~{USER}/.ssh/authorized_keys" in d.fix
    assert f"chown -R {USER}: ~{USER}/.ssh" in d.fix
    assert "chmod 600" in d.fix
    assert "chmod 700" in d.fix
    assert f"ssh-copy-id -i {KEY}.pub -p 2222 {USER}@{HOST}" in d.fix
    assert d.evidence[0] == REFUSED
    assert f"the same keys for root@{HOST}: accepted" in d.evidence


def test_f1_names_the_identity_file_that_is_not_there() -> None:
    gone = "/home/reader/.ssh/id_gone"
    auth = SshAuth(USER, HOST, identity_files=(gone,), missing=(gone,))
    message = f"{USER}@{HOST}:2222: the identity file {gone} is not there"
    d = assert_complete(diagnose("provision", keys_refused(auth, (f"identity file {gone}: not there",), message)), "F1")
    assert gone in d.cause
    assert "identity_file" in d.fix
    assert "ssh-keygen" in d.fix


def test_f1_with_no_key_at_all_says_make_one() -> None:
    for agent_keys in (None, 0):
        auth = SshAuth(USER, HOST, agent_keys=agent_keys, default_keys=(), root_accepts=False)
        d = assert_complete(diagnose("provision", keys_refused(auth)), "F1")
        assert "no key to offer" in d.cause
        assert ("no ssh agent" if agent_keys is None else "holds no key") in d.cause
        assert "ssh-keygen -t ed25519" in d.fix
        assert f"ssh-copy-id -i ~/.ssh/id_ed25519.pub -p 2222 {USER}@{HOST}" in d.fix


def test_f1_a_key_offered_and_refused_is_named_with_its_fingerprint() -> None:
    auth = SshAuth(USER, HOST, identity_files=(KEY,), agent_keys=2, root_accepts=False)
    evidence = (f"identity file {KEY}: {FINGERPRINT}", "ssh agent: 2 keys", f"the same keys for root@{HOST}: refused")
    d = assert_complete(diagnose("provision", keys_refused(auth, evidence)), "F1")
    assert f"{KEY} ({FINGERPRINT})" in d.cause
    assert "agent" not in d.cause  # with an identity file given, the agent's keys are not offered
    assert f"ssh-copy-id -i {KEY}.pub -p 2222 {USER}@{HOST}" in d.fix
    assert "another key" in d.fix


def test_f1_default_keys_and_the_agents_are_what_was_refused_when_no_file_is_given() -> None:
    auth = SshAuth(USER, HOST, agent_keys=3, default_keys=("~/.ssh/id_ed25519",), root_accepts=None)
    evidence = (f"default key ~/.ssh/id_ed25519: {FINGERPRINT}", "ssh agent: 3 keys")
    d = assert_complete(diagnose("devserver", keys_refused(auth, evidence)), "F1", "devserver")
    assert f"~/.ssh/id_ed25519 ({FINGERPRINT})" in d.cause
    assert "the 3 keys in the ssh agent" in d.cause
    only_agent = SshAuth(USER, HOST, agent_keys=1)
    d = assert_complete(diagnose("provision", keys_refused(only_agent, ("ssh agent: 1 keys",))), "F1")
    assert "the 1 keys in the ssh agent" in d.cause
    assert "ssh-copy-id" in d.fix


def test_f1_on_ssh_port_22_needs_no_port_option() -> None:
    auth = SshAuth(USER, "staging.superlists.test", identity_files=(KEY,))
    d = assert_complete(diagnose("provision", failed(REFUSED, (), user=USER, port=22, ssh=auth)), "F1")
    assert f"ssh-copy-id -i {KEY}.pub {USER}@staging.superlists.test" in d.fix


# F2: sudo refused the password.


@pytest.mark.parametrize("said", [ONE_WRONG, THREE_WRONG], ids=["one-wrong", "three-wrong"])
def test_f2_a_refused_sudo_password_names_the_user_and_whose_password_it_is(said: tuple[str, ...]) -> None:
    message = f"sudo on {USER}@{HOST}:2222 refused the password for {USER}: enter it again"
    d = assert_complete(diagnose("provision", failed(message, said, user=USER)), "F2")
    assert USER in d.cause
    assert f"{USER}'s own login password" in d.fix
    assert "not root's" in d.fix
    assert "passphrase" in d.fix
    assert f"sudo passwd {USER}" in d.fix
    assert any("incorrect password attempt" in line for line in d.evidence)


# F3: not in the sudoers file.


@pytest.mark.parametrize(
    "said",
    [(NOT_IN_SUDOERS,), (NOT_IN_SUDOERS_OLD,), NOT_IN_SUDOERS_NEW, (MAY_NOT_RUN,)],
    ids=["sudo-1.9.13", "older-sudo", "newer-sudo", "sudo-l"],
)
def test_f3_a_user_not_in_sudoers_is_added_to_the_sudo_group(said: tuple[str, ...]) -> None:
    d = assert_complete(diagnose("provision", failed(evidence=said)), "F3")  # no user in the facts: from the text
    assert USER in d.cause
    assert f"usermod -aG sudo {USER}" in d.fix
    assert "login" in d.fix
    assert "visudo" in d.fix
    assert said[0] in d.evidence


# F4: sudo needs a terminal.


def test_f4_requiretty_is_lifted_for_the_user() -> None:
    d = assert_complete(diagnose("provision", failed(evidence=(REQUIRETTY,), user=USER)), "F4")
    assert "requiretty" in d.cause
    assert f"Defaults:{USER} !requiretty" in d.fix
    assert "visudo" in d.fix
    assert "NOPASSWD" in d.fix
    assert REQUIRETTY in d.evidence


def test_f4_sudo_without_s_wants_a_terminal() -> None:
    d = assert_complete(diagnose("migrate", failed(evidence=NO_TERMINAL, user=USER)), "F4", "migrate")
    assert "-S" in d.cause
    assert "sudo -S" in d.fix
    assert "NOPASSWD" in d.fix
    assert "requiretty" not in d.fix


# Declining what is not theirs.


@pytest.mark.parametrize(
    "unrelated",
    [
        failed("git checkout main: exit status 128", ("fatal: could not read Username for 'https://github.com'",)),
        failed("mkdir: exit status 1", ("mkdir: cannot create directory '/srv/sites': Permission denied",)),
        failed(
            "apt-get update: exit status 100",
            ("E: Could not open lock file /var/lib/apt/lists/lock - open (13: Permission denied)", "are you root?"),
            user=USER,
        ),
        failed("cannot connect to elspeth@127.0.0.2:2222: Connection refused", (), user=USER),
        failed("pip install: exit status 1", ("ERROR: Could not find a version that satisfies the requirement",)),
    ],
    ids=["git", "mkdir", "apt-not-root", "refused-port", "pip"],
)
def test_access_rules_decline_unrelated_failures(unrelated: StepFailed) -> None:
    text = "\n".join((str(unrelated), *unrelated.evidence))
    for check in access.RULES:
        assert check("provision", unrelated, text) is None, check.__name__


def test_the_access_rules_are_in_the_diagnoses_in_their_order() -> None:
    names = [check.__name__ for check in RULES]
    ours = [check.__name__ for check in access.RULES]
    assert ours == ["ssh_keys_refused", "sudo_password_refused", "not_in_sudoers", "sudo_needs_a_terminal"]
    assert [name for name in names if name in ours] == ours


# Through the engine: a session that cannot do what the step asks.

SITE = make_site(
    "staging",
    {"domain": "superlists-staging.test", "host": HOST, "port": 2222, "user": USER, "repo": "/srv/git/superlists.git"},
    "test",
)
SUDO_PASSWORD = "correct-horse-staple"  # noqa: S105 - a stand-in, to prove it is masked


class RefusingSession:
    """A session whose every command raises the one error it was given, evidence and facts and all."""

    label = f"{USER}@{HOST}:2222"

    def __init__(self, error: SessionError) -> None:
        self.error = error

    async def run(self, command: Command, **kwargs: Any) -> CommandResult:
        raise self.error

    async def close(self) -> None:
        return None


def _run_provision(session: Any, events: list[ev.Event], redactor: Redactor) -> Any:
    ctx = Context(site=SITE, emit=events.append, address=HOST, session=session, redactor=redactor)
    return asyncio.run(Engine([ProvisionStep()], ctx).run(force={"provision"}))


def test_a_session_error_in_a_step_is_diagnosed_and_its_secrets_masked() -> None:
    redactor = Redactor()
    redactor.add(Secret(SUDO_PASSWORD))
    # A message that would leak the password (as a misbehaving layer might): every event must mask it.
    error = SudoPasswordRefused(
        f"sudo on {USER}@{HOST}:2222 refused the password {SUDO_PASSWORD} for {USER}: enter it again",
        ONE_WRONG,
        Facts(user=USER),
    )
    events: list[ev.Event] = []
    outcome = _run_provision(RefusingSession(error), events, redactor)
    assert outcome.status == "failed"
    assert outcome.error is error
    (diagnosis,) = [e for e in events if isinstance(e, Diagnosis)]
    assert (diagnosis.step, diagnosis.code) == ("provision", "F2")
    assert outcome.diagnoses == [diagnosis]
    assert f"refused the password {MASK} for {USER}" in diagnosis.evidence[0]
    assert "sudo: 1 incorrect password attempt" in diagnosis.evidence
    assert not [e for e in events if SUDO_PASSWORD in repr(e)]


def test_a_failed_sudo_command_through_the_fake_session_is_diagnosed_f3() -> None:
    events: list[ev.Event] = []
    session = FakeSession(
        events.append, [("apt-get", Answer(exit_status=1, stderr=(f"{USER} is not in the sudoers file.",)))]
    )
    outcome = _run_provision(session, events, Redactor())
    assert outcome.steps == {"provision": "failed"}
    (diagnosis,) = [e for e in events if isinstance(e, Diagnosis)]
    assert (diagnosis.step, diagnosis.code) == ("provision", "F3")
    assert f"usermod -aG sudo {USER}" in diagnosis.fix
    assert session.sudo_runs  # it was the sudo command that failed
