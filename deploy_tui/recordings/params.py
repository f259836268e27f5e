"""A recording's run parameters (site and resolvers), rebuilt so a replayed step can run again."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy_tui.core.config import ConfigError, Site, make_site
from deploy_tui.core.events import Event, RunStarted
from deploy_tui.core.resolvers import Resolver


@dataclass(frozen=True)
class RunParams:
    site: Site
    resolvers: tuple[Resolver, ...]
    address: str  # "" in recordings made before it was recorded
    checkout: Path | None = None  # the checkout the run read the project from


def params_of(events: Sequence[Event]) -> RunParams | None:
    """The site (checked again, as from deploy.toml), resolvers and address the recorded run used."""
    start = next((e for e in events if isinstance(e, RunStarted)), None)
    if start is None or not start.params:
        return None
    try:
        data: dict[str, Any] = json.loads(start.params)
        raw = dict(data["site"])
        name = raw.pop("name")
        values = {k: v for k, v in raw.items() if v not in ("", None, [], ())}
        if "allowed_hosts" in values:
            values["allowed_hosts"] = list(values["allowed_hosts"])
        if "env" in values:
            values["env"] = dict(values["env"])
        site = make_site(name, values, "recording")
        resolvers = tuple(Resolver(**r) for r in data.get("resolvers", ()))
        address = str(data.get("address", ""))
        checkout = Path(data["checkout"]) if isinstance(data.get("checkout"), str) else None
    except (ValueError, KeyError, TypeError, ConfigError):
        return None
    return RunParams(site, resolvers, address, checkout)
