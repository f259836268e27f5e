"""Exporting a recording as asciicast v2, the format asciinema plays: the headless printer's lines, timed."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from deploy_tui.core.events import Event, RunStarted
from deploy_tui.core.printer import Printer
from deploy_tui.recordings.player import replay_times


def export_cast(events: Sequence[Event], out: Path, width: int = 120, height: int = 36) -> int:
    """Write the cast; returns how many output records it holds."""
    start = next((e for e in events if isinstance(e, RunStarted)), None)
    header: dict[str, object] = {"version": 2, "width": width, "height": height, "env": {"TERM": "xterm-256color"}}
    if start is not None:
        header["title"] = f"deploy-tui: {start.site}"
        with contextlib.suppress(ValueError):
            header["timestamp"] = int(datetime.fromisoformat(start.started_at).timestamp())
    buffer = io.StringIO()
    printer = Printer(buffer, color=True)
    records = 0
    with out.open("w", encoding="utf-8") as cast:
        cast.write(json.dumps(header) + "\n")
        for when, event in zip(replay_times(events), events, strict=True):
            printer(event)
            text = buffer.getvalue()
            if text:
                buffer.seek(0)
                buffer.truncate()
                cast.write(json.dumps([round(when, 6), "o", text.replace("\n", "\r\n")], ensure_ascii=False) + "\n")
                records += 1
    out.chmod(0o600)
    return records
