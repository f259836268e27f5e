"""The demo: the sandbox box up, and superlists deployed into it by the real engine.

The same site description is written out as a deploy.toml beside the sandbox's
state, so `deploy-tui run --config` can deploy into the box again afterwards.
"""

from __future__ import annotations

from pathlib import Path

from deploy_tui.core.config import Site, dumps, load
from deploy_tui.core.resolvers import Resolver
from deploy_tui.sandbox.box import BoxInfo

DOMAIN = "superlists-staging.test"


def box_site_values(box: BoxInfo, domain: str = DOMAIN) -> dict[str, str | int]:
    """A site's deploy.toml values for deploying into this box (the demo, the tests, the benchmarks)."""
    return {
        "domain": domain,
        "host": box.address,
        "port": box.ssh_port,
        "user": box.user,
        "repo": box.repo_url,
        "branch": "main",
        "identity_file": str(box.client_key),
        "known_hosts": str(box.known_hosts),
    }


def deploy_toml(box: BoxInfo, domain: str = DOMAIN, **site: str | int | bool) -> str:
    """The demo's deploy.toml for this box; `site` adds or replaces values of [sites.staging]."""
    resolvers = [
        {"address": f"{r.address}:{r.port}", "name": f"sandbox resolver {i}", "location": "loopback"}
        for i, r in enumerate(box.resolvers, 1)
    ]
    data = {"sites": {"staging": {**box_site_values(box, domain), **site}}, "dns": {"resolvers": resolvers}}
    return "# deploy-tui's demo site: the sandbox box on loopback (written by deploy-tui demo)\n" + dumps(data)


def write_demo_config(
    box: BoxInfo, state_dir: Path, *, production: bool = False
) -> tuple[Path, Site, tuple[Resolver, ...]]:
    path = state_dir / "deploy.toml"
    path.write_text(deploy_toml(box, production=True) if production else deploy_toml(box))
    config = load(path)
    return path, config.site("staging"), config.resolvers or ()
