"""The step-specific tables: DNS answers resolver by resolver, smoke probes, and the FT board."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from deploy_tui.core.events import CheckResult, DnsAnswer, ProbeResult, TestFinished, TestStarted
from deploy_tui.core.statuses import mark


def _status(text: str) -> Text:
    return Text(text, style=mark(text).style)


class ChecksTable(DataTable[object]):
    """The preflight: each thing looked at in the project, what was found, and its verdict."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for key in ("verdict", "item", "found"):
            self.add_column(key, key=key)

    def add_check(self, check: CheckResult) -> None:
        self.add_row(_status(check.verdict), check.item, check.found)


class DnsTable(DataTable[object]):
    """One row per resolver (and nameserver), filled in as answers arrive."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for key, label in (
            ("status", "status"),
            ("records", "records"),
            ("ttl", "TTL"),
            ("ms", "ms"),
            ("resolver", "resolver"),
            ("where", "where"),
        ):
            self.add_column(label, key=key)

    def add_answer(self, answer: DnsAnswer) -> None:
        key = f"{answer.address}/{answer.resolver}/{answer.rdtype}"
        values = [
            _status(answer.status),
            ", ".join(answer.records) or "-",
            "-" if answer.ttl is None else str(answer.ttl),
            "-" if answer.latency is None else f"{answer.latency * 1000:.0f}",
            f"{answer.resolver} {answer.address}",
            answer.location,
        ]
        if key in self.rows:
            for column, value in zip(("status", "records", "ttl", "ms", "resolver", "where"), values, strict=True):
                self.update_cell(key, column, value)
        else:
            self.add_row(*values, key=key)


class ProbeTable(DataTable[object]):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        for label in ("from", "url", "answer", "title"):
            self.add_column(label, key=label)

    def add_probe(self, probe: ProbeResult) -> None:
        answer = _status(str(probe.status)) if probe.status else _status(probe.error)
        if probe.status and probe.status != 200:
            answer.stylize("bold red")
        self.add_row(probe.vantage, probe.url, answer, probe.title)


class FtBoard(DataTable[object]):
    """Each functional test: queued, running, passed, failed or error, with its duration."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_column("test", key="test")
        self.add_column("status", key="status")
        self.add_column("time", key="time")
        self.details: dict[str, TestFinished] = {}

    def start(self, event: TestStarted) -> None:
        # pytest ids (file::Class::test) and unittest ids (package.module.Class.test) alike: the test itself.
        short = event.name.split("::")[-1].rsplit(".", 1)[-1]
        if event.name in self.rows:
            self.update_cell(event.name, "status", _status("running"))
        else:
            self.add_row(short, _status("running"), "", key=event.name)

    def settle(self, outcome: str) -> None:
        """The step ended: a test still shown as running did not finish (cancelled, or the run broke)."""
        for key in list(self.rows):
            if str(self.get_cell(key, "status")) == "running":
                self.update_cell(key, "status", _status(outcome))

    def finish(self, event: TestFinished) -> None:
        if event.name not in self.rows:
            self.start(TestStarted(step=event.step, name=event.name))
        self.update_cell(event.name, "status", _status(event.outcome))
        self.update_cell(event.name, "time", f"{event.duration:.1f}s")
        self.details[event.name] = event
