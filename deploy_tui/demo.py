"""The demo: the sandbox box up, and superlists deployed into it by the real engine.

The same site description is written out as a deploy.toml beside the sandbox's
state, so `deploy-tui run --config` can deploy into the box again afterwards.
"""

from __future__ import annotations

from pathlib import Path

from deploy_tui.config import Site, load
from deploy_tui.dns_resolvers import Resolver
from deploy_tui.sandbox import BoxInfo

DOMAIN = "superlists-staging.test"


def deploy_toml(box: BoxInfo, domain: str = DOMAIN) -> str:
    resolvers = ", ".join(
        f'{{ address = "{r.address}:{r.port}", name = "sandbox resolver {i}", location = "loopback" }}'
        for i, r in enumerate(box.resolvers, 1)
    )
    return (
        "# deploy-tui's demo site: the sandbox box on loopback (written by deploy-tui demo)\n"
        "[sites.staging]\n"
        f'domain = "{domain}"\n'
        f'host = "{box.address}"\n'
        f"port = {box.ssh_port}\n"
        f'user = "{box.user}"\n'
        f'repo = "{box.repo_url}"\n'
        'branch = "main"\n'
        f'identity_file = "{box.client_key}"\n'
        f'known_hosts = "{box.known_hosts}"\n'
        "\n[dns]\n"
        f"resolvers = [{resolvers}]\n"
    )


def write_demo_config(box: BoxInfo, state_dir: Path) -> tuple[Path, Site, tuple[Resolver, ...]]:
    path = state_dir / "deploy.toml"
    path.write_text(deploy_toml(box))
    config = load(path)
    return path, config.site("staging"), config.resolvers or ()
