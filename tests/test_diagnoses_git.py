"""F5-F9 on their own: the site's repository as the server sees it, and a full disk, fed what git, ssh,
Python, pip and SQLite really print.

Captured on Debian 12 (git 2.39.5, OpenSSH 9.2, Python 3.11) as a user without a terminal; GitHub's
own lines (marked) are what github.com answers, kept here as text only. The end-to-end scenarios
in tests/e2e/test_diagnoses_git.py make each situation real on the sandbox box.
"""

from __future__ import annotations

from typing import Any

import pytest

from deploy_tui.core.diagnoses import diagnose, git, machine
from deploy_tui.core.diagnoses.base import Rule
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import Facts, SshAuth, StepFailed

REPO = "/srv/git/superlists.git"
GITHUB = "https://github.com/you/superlists.git"
USER = "elspeth"
CANNOT_READ = (
    "fatal: Could not read from remote repository.",
    "",
    "Please make sure you have the correct access rights",
    "and the repository exists.",
)


def failed(message: str, evidence: tuple[str, ...] = (), **facts: Any) -> StepFailed:
    return StepFailed(message, evidence, Facts(**facts))


def source_failed(what: str, lines: tuple[str, ...], repo: str = REPO, **facts: Any) -> StepFailed:
    """A failure as the source step reports it: must's message, git's last lines, the repo and the user."""
    facts = {"repo": repo, "branch": "main", "user": USER, "site_dir": "~/sites/staging", **facts}
    return failed(f"{what} {repo}: exit status 128", lines, **facts)


def text_of(failure: StepFailed) -> str:
    return "\n".join((str(failure), *failure.evidence))


def assert_complete(diagnosis: Diagnosis | None, code: str, step: str = "source") -> Diagnosis:
    assert diagnosis is not None, f"expected {code}, got no diagnosis"
    assert (diagnosis.code, diagnosis.step) == (code, step), (diagnosis.code, diagnosis.cause)
    assert diagnosis.cause.strip()
    assert diagnosis.fix.strip()
    assert diagnosis.evidence
    return diagnosis


# The real texts, by the rule that owns them.

# F5: nothing at that URL or path.
LOCAL_CLONE_MISSING = ("fatal: repository '/srv/git/superlists.git' does not exist",)
LOCAL_FETCH_MISSING = ("fatal: '/srv/git/superlists.git' does not appear to be a git repository", *CANNOT_READ)
HTTP_404 = ("Cloning into 'superlists'...", "fatal: repository 'http://127.0.0.7:18482/missing.git/' not found")
GITHUB_HTTPS_MISSING = (  # GitHub
    "remote: Repository not found.",
    "fatal: repository 'https://github.com/you/superlists.git/' not found",
)
GITHUB_SSH_MISSING = ("ERROR: Repository not found.", *CANNOT_READ)  # GitHub

# F6: a login wanted, none there.
HTTPS_PROMPTS_DISABLED = (
    "Cloning into 'superlists'...",
    "fatal: could not read Username for 'https://github.com': terminal prompts disabled",
)
HTTPS_NO_TERMINAL = ("fatal: could not read Username for 'https://github.com': No such device or address",)
HTTPS_REFUSED = ("fatal: Authentication failed for 'http://127.0.0.7:18481/private.git/'",)
GITHUB_NO_PASSWORDS = (  # GitHub
    "remote: Support for password authentication was removed on August 13, 2021.",
    "remote: Please see https://docs.github.com/en/get-started/getting-started-with-git/about-remote-repositories"
    "#cloning-with-https-urls for information on currently recommended modes of authentication.",
    "fatal: Authentication failed for 'https://github.com/you/superlists.git/'",
)
SSH_HOST_KEY = ("Host key verification failed.", *CANNOT_READ)
SSH_PUBLICKEY = ("git@github.com: Permission denied (publickey).", *CANNOT_READ)

# F7: owned by another user.
DUBIOUS_BARE = (
    "fatal: detected dubious ownership in repository at '/srv/git/superlists.git'",
    "To add an exception for this directory, call:",
    "",
    "\tgit config --global --add safe.directory /srv/git/superlists.git",
    *CANNOT_READ,
)
DUBIOUS_SITE = (
    "fatal: detected dubious ownership in repository at '/home/elspeth/sites/staging'",
    "To add an exception for this directory, call:",
    "",
    "\tgit config --global --add safe.directory /home/elspeth/sites/staging",
)

# F8: no such branch.
BRANCHES = (
    "6487ff6165eac01e9d9e4ead96169a9fcf17a303\trefs/heads/develop",
    "6487ff6165eac01e9d9e4ead96169a9fcf17a303\trefs/heads/main",
)
CHECKOUT_NO_BRANCH = ("fatal: 'origin/nosuch' is not a commit and a branch 'nosuch' cannot be created from it",)
CLONE_NO_BRANCH = ("Cloning into 's2'...", "fatal: Remote branch nosuch not found in upstream origin")
FETCH_NO_BRANCH = ("fatal: couldn't find remote ref nosuch",)

# F9: a full disk.
GIT_NOTHING_FITS = (
    "Cloning into '/home/elspeth/sites/staging'...",
    "error: copy-fd: write returned: No space left on device",
    "fatal: cannot copy '/usr/share/git-core/templates/description' to '/home/elspeth/sites/staging/.git/description': "
    "No space left on device",
)
GIT_PACK_DOES_NOT_FIT = ("fatal: write error: No space left on device", "fatal: fetch-pack: invalid index-pack output")
GIT_FILES_DO_NOT_FIT = (
    "error: unable to write file deploy_tui/core/failure.py",
    "error: unable to write file deploy_tui/core/names.py",
    "fatal: unable to checkout working tree",
    "warning: Clone succeeded, but checkout failed.",
    "You can inspect what was checked out with 'git status'",
    "and retry with 'git restore --source=HEAD :/'",
)
VENV_NO_SPACE = ("Error: [Errno 28] No space left on device: '/home/elspeth/sites/staging/.venv/include'",)
PIP_NO_SPACE = ("ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device",)
SQLITE_FULL = ("django.db.utils.OperationalError: database or disk is full",)

SAMPLES: dict[str, list[tuple[str, StepFailed]]] = {
    "F5": [
        ("source", source_failed("git clone", LOCAL_CLONE_MISSING)),
        ("source", source_failed("git ls-remote", LOCAL_FETCH_MISSING)),
        ("source", source_failed("git clone", HTTP_404, repo="http://127.0.0.7:18482/missing.git")),
        ("source", source_failed("git clone", GITHUB_HTTPS_MISSING, repo=GITHUB)),
        ("source", source_failed("git clone", GITHUB_SSH_MISSING, repo="git@github.com:you/superlists.git")),
    ],
    "F6": [
        ("source", source_failed("git clone", HTTPS_PROMPTS_DISABLED, repo=GITHUB)),
        ("source", source_failed("git clone", HTTPS_NO_TERMINAL, repo=GITHUB)),
        ("source", source_failed("git clone", HTTPS_REFUSED, repo="http://127.0.0.7:18481/private.git")),
        ("source", source_failed("git clone", GITHUB_NO_PASSWORDS, repo=GITHUB)),
        ("source", source_failed("git clone", SSH_HOST_KEY, repo="git@github.com:you/superlists.git")),
        ("source", source_failed("git clone", SSH_PUBLICKEY, repo="git@github.com:you/superlists.git")),
    ],
    "F7": [
        ("source", source_failed("git clone", DUBIOUS_BARE)),
        ("source", source_failed("git checkout main", DUBIOUS_SITE)),
    ],
    "F8": [
        ("source", failed(f"branch 'nosuch' is not in {REPO}", BRANCHES, repo=REPO, branch="nosuch")),
        ("source", source_failed("git checkout nosuch", CHECKOUT_NO_BRANCH)),
        ("source", source_failed("git clone", CLONE_NO_BRANCH)),
        ("source", source_failed("git checkout nosuch", FETCH_NO_BRANCH)),
    ],
    "F9": [
        ("source", source_failed("git clone", GIT_NOTHING_FITS)),
        ("source", source_failed("git clone", GIT_PACK_DOES_NOT_FIT)),
        ("source", source_failed("git clone", GIT_FILES_DO_NOT_FIT)),
        ("venv", failed("python3 -m venv .venv: exit status 1", VENV_NO_SPACE)),
        ("venv", failed("pip install -r requirements.txt: exit status 1", ("Collecting Django==5.2.*", *PIP_NO_SPACE))),
        ("migrate", failed("manage.py migrate --noinput: exit status 1", SQLITE_FULL)),
    ],
}
OWN_RULES: dict[str, Rule] = {
    "F5": git.repository_not_there,
    "F6": git.needs_authentication,
    "F7": git.dubious_ownership,
    "F8": git.branch_not_on_remote,
    "F9": machine.disk_full,
}
ALL_SAMPLES = [(code, step, failure) for code, samples in SAMPLES.items() for step, failure in samples]


@pytest.mark.parametrize(("code", "step", "failure"), ALL_SAMPLES)
def test_each_real_text_is_named_by_its_own_rule(code: str, step: str, failure: StepFailed) -> None:
    assert_complete(diagnose(step, failure), code, step)


@pytest.mark.parametrize(("code", "step", "failure"), ALL_SAMPLES)
def test_no_other_rule_of_these_claims_the_text(code: str, step: str, failure: StepFailed) -> None:
    others = {other: check for other, check in OWN_RULES.items() if other != code}
    claimed = {other for other, check in others.items() if check(step, failure, text_of(failure)) is not None}
    assert not claimed, (code, claimed)


UNRELATED = [
    ("source", source_failed("git checkout main", ("error: pathspec 'main' did not match any file(s) known to git",))),
    ("source", failed("the clone has no src/manage.py or requirements.txt", ("README.md",), repo=REPO)),
    ("venv", failed("pip install: exit status 1", ("ERROR: No matching distribution found for Django==9.9",))),
    ("migrate", failed("manage.py migrate: exit status 1", ("ModuleNotFoundError: No module named 'django'",))),
    ("provision", failed("apt-get install: exit status 100", ("E: Unable to locate package python3-venvv",))),
    (
        "migrate",
        failed("manage.py migrate: exit status 1", ("sqlite3.OperationalError: unable to open database file",)),
    ),
    ("devserver", failed("runserver exited", ("Error: That port is already in use.",))),
]


@pytest.mark.parametrize(("step", "failure"), UNRELATED)
def test_these_rules_decline_unrelated_failures(step: str, failure: StepFailed) -> None:
    claimed = [code for code, check in OWN_RULES.items() if check(step, failure, text_of(failure)) is not None]
    assert not claimed, claimed


# F5: the details.


def test_f5_names_the_repo_and_how_to_check_it_from_the_server() -> None:
    d = assert_complete(diagnose("source", source_failed("git clone", LOCAL_CLONE_MISSING)), "F5")
    assert f"no git repository at {REPO}" in d.cause
    assert "a path on your laptop is not a path on the server" in d.cause
    assert "repo in deploy.toml" in d.fix
    assert f"as {USER}: git ls-remote {REPO}" in d.fix
    assert any("does not exist" in line for line in d.evidence)


def test_f5_on_github_may_also_be_a_private_repository_it_hides() -> None:
    d = assert_complete(diagnose("source", source_failed("git clone", GITHUB_HTTPS_MISSING, repo=GITHUB)), "F5")
    assert "private repository" in d.cause
    assert "laptop" not in d.cause  # a URL, not a path
    assert f"git ls-remote {GITHUB}" in d.fix
    assert "remote: Repository not found." in d.evidence


def test_f5_takes_the_repo_from_git_s_words_when_the_facts_lack_it() -> None:
    failure = failed("git clone: exit status 128", HTTP_404)
    d = assert_complete(diagnose("source", failure), "F5")
    assert "http://127.0.0.7:18482/missing.git" in d.cause


# F6: the details.


@pytest.mark.parametrize("lines", [HTTPS_PROMPTS_DISABLED, HTTPS_NO_TERMINAL])
def test_f6_a_private_repository_over_https_wants_a_deploy_key_or_a_token(lines: tuple[str, ...]) -> None:
    d = assert_complete(diagnose("source", source_failed("git clone", lines, repo=GITHUB)), "F6")
    assert f"{GITHUB} is private" in d.cause
    assert "nobody is there to type one" in d.cause
    assert "read-only deploy key" in d.fix
    assert "git@github.com:you/superlists.git" in d.fix  # the ssh URL the deploy key needs
    assert "fine-grained personal access token" in d.fix
    assert "never in the URL" in d.fix
    assert any("could not read Username" in line for line in d.evidence)


def test_f6_github_s_passwords_are_gone() -> None:
    d = assert_complete(diagnose("source", source_failed("git clone", GITHUB_NO_PASSWORDS, repo=GITHUB)), "F6")
    assert "August 13, 2021" in d.cause
    assert "fine-grained personal access token" in d.fix


def test_f6_refused_credentials_name_the_url() -> None:
    repo = "http://127.0.0.7:18481/private.git"
    d = assert_complete(diagnose("source", source_failed("git clone", HTTPS_REFUSED, repo=repo)), "F6")
    assert f"{repo} refused the username and token" in d.cause


@pytest.mark.parametrize(
    ("repo", "keyscan"),
    [
        ("git@github.com:you/superlists.git", "ssh-keyscan github.com"),
        ("ssh://git@gitea.example.test:2222/you/superlists.git", "ssh-keyscan -p 2222 gitea.example.test"),
        ("ssh://git@gitea.example.test/you/superlists.git", "ssh-keyscan gitea.example.test"),
    ],
)
def test_f6_an_unknown_host_key_is_scanned_after_checking_its_fingerprint(repo: str, keyscan: str) -> None:
    d = assert_complete(diagnose("source", source_failed("git clone", SSH_HOST_KEY, repo=repo)), "F6")
    assert "never connected to" in d.cause
    assert f"as {USER}" in d.fix
    check, trust = d.fix.index(f"{keyscan} | ssh-keygen -lf -"), d.fix.index(f"{keyscan} >> ~/.ssh/known_hosts")
    assert check < trust  # the fingerprint is checked before the key is trusted
    assert "Host key verification failed." in d.evidence


def test_f6_a_key_the_git_host_refuses_wants_a_deploy_key_of_the_server_s_own() -> None:
    repo = "git@github.com:you/superlists.git"
    d = assert_complete(diagnose("source", source_failed("git clone", SSH_PUBLICKEY, repo=repo)), "F6")
    assert f"github.com refused every ssh key {USER} has" in d.cause
    assert "ssh-keygen -t ed25519" in d.fix
    assert "read-only deploy key" in d.fix


def test_f6_leaves_our_own_refused_login_to_the_access_rules() -> None:
    # Our login to the server refused: F1's failure (it carries SshAuth), not a git host's refusal.
    ours = failed(
        "elspeth@203.0.113.7: Permission denied (publickey).",
        ("Permission denied (publickey).",),
        ssh=SshAuth(user=USER, host="203.0.113.7"),
    )
    assert git.needs_authentication("source", ours, text_of(ours)) is None


# F7: the details.


def test_f7_names_the_path_the_user_and_git_s_exact_exception_line() -> None:
    d = assert_complete(diagnose("source", source_failed("git clone", DUBIOUS_BARE)), "F7")
    assert f"git refuses to work in {REPO}" in d.cause
    assert f"another user than {USER}" in d.cause
    assert "CVE-2022-24765" in d.cause
    assert f"sudo chown -R {USER}: {REPO}" in d.fix
    assert d.fix.endswith(f"git config --global --add safe.directory {REPO}")
    assert any("dubious ownership" in line for line in d.evidence)


def test_f7_on_the_site_directory_names_that_path() -> None:
    d = assert_complete(diagnose("source", source_failed("git checkout main", DUBIOUS_SITE)), "F7")
    assert "sudo chown -R elspeth: /home/elspeth/sites/staging" in d.fix


def test_f7_without_a_known_user_chowns_to_whoever_runs_it() -> None:
    failure = failed("git clone: exit status 128", DUBIOUS_BARE[:1])
    d = assert_complete(diagnose("source", failure), "F7")
    assert f"sudo chown -R $USER: {REPO}" in d.fix
    assert d.fix.endswith(f"git config --global --add safe.directory {REPO}")  # written from the path


# F8: the details.


def test_f8_names_the_branches_that_are_there() -> None:
    failure = failed(f"branch 'nosuch' is not in {REPO}", (*CHECKOUT_NO_BRANCH, *BRANCHES), repo=REPO, branch="nosuch")
    d = assert_complete(diagnose("source", failure), "F8")
    assert f"The branch nosuch is not in {REPO}" in d.cause
    assert "It has develop, main." in d.cause
    assert "git push -u origin nosuch" in d.fix
    assert "(develop, main)" in d.fix
    assert any("refs/heads/main" in line for line in d.evidence)


@pytest.mark.parametrize("lines", [CHECKOUT_NO_BRANCH, CLONE_NO_BRANCH, FETCH_NO_BRANCH])
def test_f8_reads_the_branch_from_git_s_own_words(lines: tuple[str, ...]) -> None:
    d = assert_complete(diagnose("source", source_failed("git checkout", lines, branch="ignored")), "F8")
    assert "The branch nosuch is not in" in d.cause
    assert "git push -u origin nosuch" in d.fix
    assert "It has" not in d.cause  # git's words alone do not say which branches there are


# F9: the details, and first of all rules.


def test_f9_says_what_to_look_at_and_what_to_clear() -> None:
    d = assert_complete(diagnose("source", source_failed("git clone", GIT_NOTHING_FITS)), "F9")
    assert "The disk is full on the server: the source step could not write" in d.cause
    for advice in (
        "df -h",
        "df -i",
        "sudo apt-get clean",
        "rm -rf ~/.cache/pip",
        "sudo journalctl --vacuum-size=100M",
        "bigger disk",
    ):
        assert advice in d.fix
    assert d.evidence[1:] == tuple(line for line in GIT_NOTHING_FITS if "No space left" in line)


def test_f9_when_git_does_not_say_why_its_files_could_not_be_written() -> None:
    d = assert_complete(diagnose("source", source_failed("git clone", GIT_FILES_DO_NOT_FIT)), "F9")
    assert "does not say why" in d.cause
    assert any("unable to write file" in line for line in d.evidence)


def test_f9_on_the_functional_tests_is_this_machine_s_disk() -> None:
    failure = failed("functional tests: exit status 1", ("OSError: [Errno 28] No space left on device",))
    d = assert_complete(diagnose("fts", failure), "F9", "fts")
    assert "full on this machine" in d.cause


def test_f9_comes_before_every_rule_that_reads_the_same_failure_otherwise() -> None:
    # A full disk where a repository is also missing its files: the disk is what to fix first.
    both = source_failed("git clone", (*DUBIOUS_SITE, *GIT_PACK_DOES_NOT_FIT))
    assert_complete(diagnose("source", both), "F9")
    # Django could not import what pip never finished installing: D6 would say "no venv".
    half_installed = failed(
        "manage.py migrate: exit status 1", (*PIP_NO_SPACE, "ModuleNotFoundError: No module named 'django'")
    )
    assert_complete(diagnose("migrate", half_installed), "F9", "migrate")


def test_f9_not_for_a_file_git_may_not_create() -> None:
    # A directory the user may not write: a permission problem, not a full disk.
    denied = source_failed(
        "git clone",
        ("error: unable to create file lists/views.py: Permission denied", "fatal: unable to checkout working tree"),
    )
    assert machine.disk_full("source", denied, text_of(denied)) is None


def test_f5_says_where_the_repository_was_asked_from() -> None:
    from deploy_tui.core.diagnoses import diagnose
    from deploy_tui.core.failure import Facts, StepFailed

    said = ("fatal: '/srv/reader/x.git' does not appear to be a git repository",)
    for step, seen, laptop in (("gate", "as this machine sees it", False), ("source", "as the server sees it", True)):
        d = diagnose(step, StepFailed("git: exit status 128", said, Facts(repo="/srv/reader/x.git")))
        assert d is not None
        assert d.code == "F5"
        assert seen in d.cause
        assert ("a path on your laptop is not a path on the server" in d.cause) is laptop
