"""Showing a DNS check on a terminal: a live table that fills in resolver by resolver, or plain lines.

Plain lines are for pipes, logs and CI: one line per answer as it arrives, then the
summary. The live table is for a person watching; both are fed the same events.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from deploy_tui.core.events import DnsAnswer, Event, Notice
from deploy_tui.core.printer import answer_line
from deploy_tui.core.statuses import mark


class PlainPrinter:
    """A sink that prints each answer and notice as one line."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def __call__(self, event: Event) -> None:
        if isinstance(event, DnsAnswer):
            print(answer_line(event), file=self._out, flush=True)
        elif isinstance(event, Notice):
            print(f"{event.level}: {event.text}", file=self._out, flush=True)

    def close(self) -> None:
        pass


class LiveTable:
    """A sink that keeps a table of the latest answer per server, redrawn as answers arrive."""

    def __init__(self, console: Console) -> None:
        self._rows: dict[tuple[str, str, str], DnsAnswer] = {}
        self._notice = ""
        self._live = Live(self._render(), console=console, auto_refresh=False, transient=False)
        self._live.start()

    def __call__(self, event: Event) -> None:
        if isinstance(event, DnsAnswer):
            self._rows[(event.address, event.resolver, event.rdtype)] = event
        elif isinstance(event, Notice):
            self._notice = event.text
        else:
            return
        self._live.update(self._render(), refresh=True)

    def _render(self) -> Table:
        table = Table(box=None, pad_edge=False, caption=self._notice or None, caption_justify="left")
        for column in ("status", "type", "records", "TTL", "latency", "resolver", "address", "location"):
            table.add_column(column, justify="right" if column in ("TTL", "latency") else "left")
        for answer in self._rows.values():
            table.add_row(
                Text(answer.status, style=mark(answer.status).style or "yellow"),
                answer.rdtype,
                ", ".join(answer.records) or "-",
                "-" if answer.ttl is None else str(answer.ttl),
                "-" if answer.latency is None else f"{answer.latency * 1000:.0f} ms",
                answer.resolver,
                answer.address,
                answer.location,
            )
        return table

    def close(self) -> None:
        self._live.stop()
