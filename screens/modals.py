"""The two questions a deployment may ask: the sudo password, and whether to trust a host key."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from deploy_tui.remote.known_hosts import HostKeyDecision, HostKeyQuestion

MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 72; max-width: 95%; height: auto; border: thick $primary; background: $surface;
    padding: 1 2; }}
{name} Horizontal {{ height: auto; margin-top: 1; }}
{name} Button {{ margin-right: 1; }}
"""


class SudoPasswordScreen(ModalScreen[str | None]):
    """Asks for the sudo password, masked. It is handed to the run and never stored or recorded."""

    DEFAULT_CSS = MODAL_CSS.format(name="SudoPasswordScreen")
    BINDINGS = [("escape", "cancel", "Cancel")]

    def __init__(self, user: str, host: str) -> None:
        super().__init__()
        self._who = f"{user}@{host}"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"sudo password for [b]{self._who}[/b]")
            yield Static("Needed to install packages with apt. It is kept in memory for this run only.", classes="hint")
            yield Input(password=True, id="password", placeholder="password")
            with Horizontal():
                yield Button("Continue", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.dismiss(self.query_one("#password", Input).value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class HostKeyScreen(ModalScreen[HostKeyDecision]):
    """The OpenSSH question, with the fingerprint to compare against the server's."""

    DEFAULT_CSS = MODAL_CSS.format(name="HostKeyScreen")
    BINDINGS = [("escape", "reject", "Reject")]

    def __init__(self, question: HostKeyQuestion) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        q = self.question
        with Vertical():
            yield Label(f"The authenticity of host [b]{q.host}[/b] can't be established.")
            yield Static(
                f"{q.key_type} key fingerprint:\n[b]{q.fingerprint}[/b]\n"
                "Compare it with the server's (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on it)."
            )
            with Horizontal():
                yield Button("Accept once", id="once")
                yield Button("Accept and save", variant="primary", id="save")
                yield Button("Reject", variant="error", id="reject")

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        decisions = {"once": HostKeyDecision.ACCEPT_ONCE, "save": HostKeyDecision.ACCEPT_AND_SAVE}
        self.dismiss(decisions.get(event.button.id or "", HostKeyDecision.REJECT))

    def action_reject(self) -> None:
        self.dismiss(HostKeyDecision.REJECT)
