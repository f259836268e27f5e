"""Field diagnoses, the site's repository seen from the server: not there, wanting authentication, owned by
someone else, no such branch (F5-F8).

The server is a new git user: it has the URL from deploy.toml and nothing else (no key, no
token, no known hosts), and the source step's git never prompts, so each of these fails at
once with git's own words. Ownership comes first because git ends that message, like the
ssh failures and a missing local path, with "Could not read from remote repository".
"""

from __future__ import annotations

import re
import shlex
from urllib.parse import urlsplit

from deploy_tui.core.diagnoses.base import Rule, evidence
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import StepFailed

RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


_SCP_LIKE = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[^:/\s]+):(?!//)(?P<path>.+)$")
_HTTP = re.compile(r"^https?://(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?/(?P<path>.+)$")


def _repo(failure: StepFailed, text: str) -> str:
    if failure.facts.repo:
        return failure.facts.repo
    named = re.search(r"(?:repository|for) '([^']+)'", text)
    return named[1].rstrip("/") if named else "the repository"


def _user(failure: StepFailed) -> str:
    return failure.facts.user or "the user deploy-tui logs in as"


def _ssh_host(repo: str) -> tuple[str, str]:
    """The git host of an ssh URL or scp-like address, and ssh-keyscan's port option for it ("" for 22)."""
    if repo.startswith("ssh://"):
        try:
            url = urlsplit(repo)
            port = url.port
        except ValueError:
            return "", ""
        return url.hostname or "", f"-p {port} " if port and port != 22 else ""
    scp = _SCP_LIKE.match(repo)
    return (scp["host"], "") if scp and not repo.startswith("/") else ("", "")


def _as_ssh_url(repo: str) -> str:
    """https://github.com/you/superlists.git as git@github.com:you/superlists.git (the deploy key's URL)."""
    found = _HTTP.match(repo)
    return f"git@{found['host']}:{found['path']}" if found else "the repository's ssh URL (git@HOST:OWNER/NAME.git)"


# F7. git 2.39 as the server's user, on a bare repository (or a site directory) another user owns:
#   fatal: detected dubious ownership in repository at '/srv/git/superlists.git'
#   To add an exception for this directory, call:
#
#   	git config --global --add safe.directory /srv/git/superlists.git
#   fatal: Could not read from remote repository.   (when it is the repository cloned from)
_DUBIOUS = re.compile(r"detected dubious ownership in repository at '([^']+)'")
_EXCEPTION = re.compile(r"git config --global --add safe\.directory \S.*")


@rule
def dubious_ownership(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    found = _DUBIOUS.search(text)
    if not found:
        return None
    path, user = found[1], failure.facts.user
    exception = _EXCEPTION.search(text)
    trust = exception[0].strip() if exception else f"git config --global --add safe.directory {shlex.quote(path)}"
    runs_git = user or "the user that runs git"
    return Diagnosis(
        step=step,
        code="F7",
        cause=f"git refuses to work in {path}: it belongs to another user than {runs_git}, who runs git on "
        "the server. Since 2.35.2 git will not use a repository someone else owns (CVE-2022-24765: that "
        "user's config could run commands as you). A repository or site directory made with sudo, or copied "
        "in as root, is the usual way to get there.",
        fix=f"Give it to {runs_git}: sudo chown -R {user or '$USER'}: {shlex.quote(path)}. Or, if it must stay "
        f"the other user's, trust that one path for {runs_git} only, on the server: {trust}",
        evidence=evidence(failure, r"dubious ownership|safe\.directory"),
    )


# F6. A repository that wants a login, and a server that has none (git 2.39; GitHub's own lines are marked):
#   over https:  fatal: could not read Username for 'https://github.com': terminal prompts disabled
#                (without GIT_TERMINAL_PROMPT=0 and no terminal: "...: No such device or address")
#                fatal: Authentication failed for 'https://github.com/you/superlists.git/'
#                remote: Support for password authentication was removed on August 13, 2021.   (GitHub)
#   over ssh:    Host key verification failed.
#                git@github.com: Permission denied (publickey).
#                fatal: Could not read from remote repository.
_NO_LOGIN = re.compile(r"could not read (?:Username|Password) for '([^']+)'")
_REFUSED_LOGIN = re.compile(r"Authentication failed for '([^']+)'")
_NO_PASSWORDS = re.compile(r"Support for password authentication was removed")
_HOST_KEY = re.compile(r"Host key verification failed")
_PUBLICKEY = re.compile(r"Permission denied \(publickey")
_GIT_OVER_SSH = re.compile(r"Could not read from remote repository")


@rule
def needs_authentication(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    repo, user = _repo(failure, text), _user(failure)
    shown = evidence(failure, r"Username|Password|Authentication|password authentication|Permission denied|Host key")
    # Only git's ssh: our own login to the server is the access rules' (F1), and never says "remote repository".
    over_ssh = bool(failure.facts.repo or _GIT_OVER_SSH.search(text)) and failure.facts.ssh is None
    if over_ssh and _HOST_KEY.search(text):
        host, port = _ssh_host(repo)
        host = host or "the git host"
        return Diagnosis(
            step=step,
            code="F6",
            cause=f"The server has never connected to {host} over ssh, so it does not know that host's key and "
            "will not trust it without asking; git runs with no one to ask, so ssh refuses (Host key "
            "verification failed).",
            fix=f"On the server, as {user}, check the key first: ssh-keyscan {port}{host} | ssh-keygen -lf - must "
            f"show the fingerprint {host} publishes (GitHub lists its own in its docs, \"GitHub's SSH key "
            f'fingerprints"). Then add it: ssh-keyscan {port}{host} >> ~/.ssh/known_hosts, and try '
            f"git ls-remote {repo}.",
            evidence=shown,
        )
    if over_ssh and _PUBLICKEY.search(text):
        host = _ssh_host(repo)[0] or "The git host"
        return Diagnosis(
            step=step,
            code="F6",
            cause=f"{host} refused every ssh key {user} has on the server: the server has no key this "
            "repository accepts. Your own key is on your laptop, and should stay there.",
            fix=f"Give the server a key of its own: as {user} on the server, ssh-keygen -t ed25519 -N '' -f "
            "~/.ssh/id_ed25519, then add ~/.ssh/id_ed25519.pub to the repository as a read-only deploy key "
            f"(GitHub: Settings > Deploy keys), and try git ls-remote {repo} from the server.",
            evidence=shown,
        )
    no_login, refused, no_passwords = _NO_LOGIN.search(text), _REFUSED_LOGIN.search(text), _NO_PASSWORDS.search(text)
    if not (no_login or refused or no_passwords):
        return None
    if no_passwords:
        why = (
            "GitHub refused the password the server gave: it stopped accepting account passwords for git on "
            "August 13, 2021."
        )
    elif refused:
        why = (
            f"{refused[1].rstrip('/')} refused the username and token (or password) the server gave: wrong, "
            "expired, or without access to this repository."
        )
    else:
        why = (
            f"{repo} is private (or wants a login over https), and the server has no credentials for it: git "
            "asked for a username, and nobody is there to type one."
        )
    return Diagnosis(
        step=step,
        code="F6",
        cause=why,
        fix=f"Give the server a way in of its own. Either a deploy key: as {user} on the server, ssh-keygen -t "
        "ed25519 -N '' -f ~/.ssh/id_ed25519, add ~/.ssh/id_ed25519.pub to the repository as a read-only deploy "
        f"key (GitHub: Settings > Deploy keys), and set repo in deploy.toml to the ssh URL, {_as_ssh_url(repo)}. "
        "Or a fine-grained personal access token with read-only Contents on this one repository, kept by git's "
        f"credential store on the server (git config --global credential.helper store, then git ls-remote {repo} "
        "once by hand): never in the URL in deploy.toml, where every log would show it.",
        evidence=shown,
    )


# F5. Nothing at that URL or path (git 2.39; GitHub's and GitLab's own lines are marked):
#   a local path, git clone:      fatal: repository '/srv/x.git' does not exist
#   a local path, fetch/ls-remote: fatal: '/srv/x.git' does not appear to be a git repository
#                                  fatal: Could not read from remote repository.
#   over http(s):                  fatal: repository 'https://example.test/x.git/' not found
#                                  remote: Repository not found.   (GitHub, before that line)
#   over ssh:                      ERROR: Repository not found.   (GitHub)
#                                  remote: The project you were looking for could not be found ...   (GitLab)
_NOT_THERE = re.compile(
    r"does not appear to be a git repository"
    r"|fatal: repository '[^']+' (?:does not exist|not found)"
    r"|Repository not found"
    r"|The project you were looking for could not be found"
)


# Steps that ask the repository from this machine, not from the server (the gate: what live would deploy).
_ASKED_HERE = frozenset({"gate"})


@rule
def repository_not_there(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    said = _NOT_THERE.search(text)
    if not said:
        return None
    repo, user = _repo(failure, text), _user(failure)
    hidden = (
        " GitHub (and GitLab) say the same of a private repository the server's key or token cannot see."
        if re.search(r"Repository not found|could not be found", said[0])
        else ""
    )
    if step in _ASKED_HERE:
        seen, local, where = "as this machine sees it", "", "from here"
    else:
        seen, where = "as the server sees it", f"from the server, as {user}"
        local = " (a path on your laptop is not a path on the server)" if repo.startswith(("/", "file://")) else ""
    return Diagnosis(
        step=step,
        code="F5",
        cause=f"There is no git repository at {repo}, {seen}: the URL or path in deploy.toml is "
        f"mistyped{local}, or the repository was renamed or never created.{hidden}",
        fix=f"Correct repo in deploy.toml: copy the URL from your checkout (git remote get-url origin) or the "
        f"repository's page, then try it {where}: git ls-remote {shlex.quote(repo)}. It must "
        "list your branches before the server can clone it.",
        evidence=evidence(failure, r"repository|not found|does not exist|remote:"),
    )


# F8. The branch deploy.toml names is not on the remote:
#   deploy-tui, when git ls-remote finds no such head:   branch 'x' is not in /srv/git/superlists.git
#     (its evidence: git's lines, then "<sha>\trefs/heads/NAME" for each branch that is there)
#   git checkout -B x origin/x, after a clone:           fatal: 'origin/x' is not a commit and a branch 'x' cannot
#                                                        be created from it
#   git clone -b x:                                      fatal: Remote branch x not found in upstream origin
#   git fetch origin x:                                  fatal: couldn't find remote ref x
_NO_BRANCH = re.compile(
    r"branch '(?P<ours>[^']+)' is not in \S"
    r"|'origin/(?P<checkout>[^']+)' is not a commit and a branch '[^']+' cannot be created from it"
    r"|Remote branch (?P<clone>\S+) not found in upstream origin"
    r"|couldn't find remote ref (?:refs/heads/)?(?P<fetch>\S+)"
)


@rule
def branch_not_on_remote(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    found = _NO_BRANCH.search(text)
    if not found:
        return None
    branch = next((name for name in found.groups() if name), failure.facts.branch)
    repo = _repo(failure, text)
    heads = [name for line in failure.evidence for name in re.findall(r"\brefs/heads/(\S+)", line)]
    there = f" It has {', '.join(heads)}." if heads else ""
    choose = f" ({', '.join(heads)})" if heads else ""
    return Diagnosis(
        step=step,
        code="F8",
        cause=f"The branch {branch} is not in {repo}: it was never pushed there, or it has another name there "
        f"(main or master?).{there}",
        fix=f"Push it from your checkout: git push -u origin {shlex.quote(branch)}; or set branch in deploy.toml to "
        f"one that is there{choose}.",
        evidence=evidence(failure, r"branch|remote ref|refs/heads/"),
    )
