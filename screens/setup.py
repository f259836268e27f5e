"""The setup screen: a site's settings, checked as they are typed, loaded from and saved to deploy.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, RadioButton, RadioSet, Static

from deploy_tui.core.config import CHECKS, ConfigError, Site, dumps, make_site
from deploy_tui.core.names import ascii_number
from deploy_tui.core.resolvers import ResolverInputError, resolvers_from_config
from deploy_tui.project import GitOrigin, git_origin
from screens.messages import SiteChosen

FIELDS = (
    ("domain", "Domain", "superlists-staging.example.com"),
    ("host", "Host (address or ssh alias)", "203.0.113.7"),
    ("port", "SSH port", "22"),
    ("user", "User (non-root, with sudo)", "elspeth"),
    ("repo", "Git repository", "https://github.com/you/superlists.git"),
    ("branch", "Branch", "main"),
)


class SetupScreen(Screen[None]):
    """Edit the staging or live site; every field says at once what is wrong with it."""

    CSS_PATH = Path(__file__).with_name("setup.tcss")
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="setup.save"),
        Binding("ctrl+g", "start", "Walk through", id="setup.start"),
        Binding("escape", "app.quit", "Quit", id="setup.quit"),
    ]

    def __init__(self, config_path: Path, site_name: str = "staging", checkout: Path | None = None) -> None:
        super().__init__()
        self.config_path = config_path
        self.site_name = site_name
        self.checkout = checkout or Path.cwd()
        self._data: dict[str, Any] = {}
        self._origin: GitOrigin | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="form"):
            yield Static(f"Settings of the site, saved in [b]{self.config_path}[/b]", id="where")
            yield Static("", id="project")
            with RadioSet(id="which"):
                yield RadioButton("staging", value=self.site_name == "staging", id="staging")
                yield RadioButton("live", value=self.site_name == "live", id="live")
            for key, label, placeholder in FIELDS:
                with Vertical(classes="field"):
                    yield Label(label)
                    yield Input(placeholder=placeholder, id=f"field-{key}")
                    yield Static("", id=f"error-{key}", classes="error")
            with Horizontal(id="buttons"):
                yield Button("Save", id="save")
                yield Button("Walk through", variant="primary", id="start")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "setup"
        if self.config_path.is_file():
            try:
                self._data = tomllib.loads(self.config_path.read_text())
            except tomllib.TOMLDecodeError as error:
                self.notify(f"{self.config_path}: {error}", severity="error")
        self._origin = git_origin(self.checkout)
        self._load(self.site_name)
        self.query_one("#project", Static).update(_project_summary(self.checkout))

    def _load(self, name: str) -> None:
        self.site_name = name
        values = self._data.get("sites", {}).get(name, {})
        # What the checkout says, where deploy.toml says nothing: where it is pushed, the branch it is on.
        found = {"repo": self._origin.url, "branch": self._origin.branch} if self._origin else {}
        for key, _, _ in FIELDS:
            value = values.get(key) or found.get(key) or ("main" if key == "branch" else "")
            self.query_one(f"#field-{key}", Input).value = str(value)

    @on(RadioSet.Changed, "#which")
    def _switch(self, event: RadioSet.Changed) -> None:
        self._load(str(event.pressed.id))

    @on(Input.Changed)
    def _validate(self, event: Input.Changed) -> None:
        key = (event.input.id or "").removeprefix("field-")
        self._check(key, event.value)

    def _check(self, key: str, text: str) -> Any:
        error = self.query_one(f"#error-{key}", Static)
        value = None
        problem = ""
        if text:
            try:
                value = CHECKS[key](_typed(key, text), key)
            except ConfigError as refused:
                problem = str(refused)
        error.update(problem)
        error.set_class(bool(problem), "-shown")
        return value

    def _values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, _, _ in FIELDS:
            text = self.query_one(f"#field-{key}", Input).value.strip()
            if text:
                values[key] = _typed(key, text)
        return values

    def _site(self) -> Site | None:
        try:
            existing = {
                k: v
                for k, v in self._data.get("sites", {}).get(self.site_name, {}).items()
                if k not in {key for key, _, _ in FIELDS}
            }
            return make_site(self.site_name, {**existing, **self._values()}, f"sites.{self.site_name}")
        except ConfigError as error:
            self.notify(str(error), severity="error", timeout=8)
            return None

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self._site() is None:
            return
        self._data.setdefault("sites", {})[self.site_name] = {
            **self._data.get("sites", {}).get(self.site_name, {}),
            **self._values(),
        }
        self.config_path.write_text(dumps(self._data))
        self.notify(f"Saved {self.config_path}")

    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        site = self._site()
        if site is None:
            return
        try:
            resolvers = resolvers_from_config(self._data, str(self.config_path)) or ()
        except ResolverInputError as error:
            self.notify(str(error), severity="error", timeout=10)
            return
        self.post_message(SiteChosen(site, resolvers))


def _project_summary(checkout: Path) -> str:
    """What the preflight will find in the checkout, in a few lines of Rich markup (read, never run)."""
    from rich.markup import escape

    from deploy_tui.project import read_project

    where = "this directory" if checkout.resolve() == Path.cwd().resolve() else escape(str(checkout))
    try:
        project = read_project(checkout)
    except (OSError, ValueError) as error:
        return f"[b]Your project[/b] ({where}): cannot be read ({escape(str(error))})"
    pin = project.django_pin.describe() if project.django_pin else "not pinned"
    fts = project.fts.command if project.fts else "none found"
    lines = [
        f"[b]Your project[/b] in {where}, as the preflight will find it",
        f"  manage.py: {escape(project.manage_py or 'not found')}   requirements: "
        f"{escape(project.requirements or 'none')}   Django: {escape(pin)}",
        f"  functional tests: {escape(fts)}",
    ]
    return "\n".join(lines)


def _typed(key: str, text: str) -> Any:
    """A field's text as deploy.toml would hold it: the port a whole number when it is ASCII digits."""
    if key == "port":
        number = ascii_number(text)
        return text if number is None else number
    return text
