"""What the command line asks the operator: the sudo password (or reads it from its file), and an unknown host key.

Only the command line talks to the terminal; the runner is handed the answers, or
a function to ask with. End of input (Ctrl-D) is an answer too: no.
"""

from __future__ import annotations

import asyncio
import getpass
import stat
import sys
from pathlib import Path

from deploy_tui.cli.common import UsageError, say
from deploy_tui.core.secrets import Secret
from deploy_tui.core.shown import shown, shown_path
from deploy_tui.remote.known_hosts import HostKeyDecision, HostKeyQuestion

_MOST = 64 * 1024  # a password file holds one line; more is the wrong file (or /dev/zero)


async def ask_on_terminal(question: HostKeyQuestion) -> HostKeyDecision:
    """The OpenSSH-style question, on the terminal; no terminal, or no answer (Ctrl-D), means no."""
    if not sys.stdin.isatty():
        return HostKeyDecision.REJECT
    prompt = (
        f"The authenticity of host {shown(question.host, 100, quote=False)} can't be established.\n"
        f"{shown(question.key_type, 40, quote=False)} key fingerprint is {shown(question.fingerprint, quote=False)}.\n"
        f"Accept it once (o), accept and save to {shown_path(question.known_hosts)} (s), "
        "or reject (r)? "
    )
    try:
        answer = (await asyncio.to_thread(input, prompt)).strip().lower()
    except EOFError:
        print(file=sys.stderr)  # end the prompt's line
        say("no answer (end of input): the host key is rejected")
        return HostKeyDecision.REJECT
    return {"o": HostKeyDecision.ACCEPT_ONCE, "s": HostKeyDecision.ACCEPT_AND_SAVE}.get(
        answer[:1], HostKeyDecision.REJECT
    )


def read_password(path: Path | None, user: str | None) -> Secret | None:
    """From a file (its first line), or asked on the terminal; None when neither is possible.

    A file that cannot give a password, or no answer at the prompt, is a UsageError
    before anything runs on the server; no error ever shows the file's contents.
    """
    if path is not None:
        return Secret(password_from_file(path))
    if not sys.stdin.isatty():
        return None
    try:
        return Secret(getpass.getpass(f"sudo password for {user or 'the deploy user'} on the server: "))
    except EOFError:
        print(file=sys.stderr)  # end the prompt's line
        raise UsageError("no sudo password given (end of input): cancelled before anything ran on the server") from None


def password_from_file(path: Path) -> str:
    """The file's first line (a regular file, or a pipe like <(pass show box)); else one line naming the flag."""
    where = f"--sudo-password-file {shown_path(path)}"
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UsageError(f"{where}: no such file; give the file whose first line is the sudo password") from None
    except (OSError, ValueError) as error:
        raise UsageError(f"{where}: cannot use it ({getattr(error, 'strerror', None) or error})") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{where}: a directory; give the file whose first line is the sudo password")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        raise UsageError(f"{where}: not a regular file; give the file whose first line is the sudo password")
    try:
        with path.open("rb") as file:
            data = file.read(_MOST + 1)
    except OSError as error:
        raise UsageError(f"{where}: cannot read it ({error.strerror}); check its permissions") from None
    if len(data) > _MOST:
        raise UsageError(f"{where}: larger than {_MOST // 1024} KiB; is it the right file? It holds one line")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise UsageError(f"{where}: not UTF-8 text; write the password as text on its first line") from None
    if not text.strip():
        raise UsageError(f"{where}: empty; write the sudo password on its first line")
    password = text.split("\n", 1)[0].removesuffix("\r")
    if not password:
        raise UsageError(f"{where}: its first line is empty; write the sudo password on the first line")
    if "\0" in password:
        raise UsageError(f"{where}: its first line has a NUL byte, which sudo cannot take; is it the right file?")
    return password
