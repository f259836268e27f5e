"""The sandbox box as a pyinfra inventory, for benchmarks/deploy_vs_ansible.py.

The benchmark writes the box's settings to a JSON file in its own root-only work
directory and names it in $DTUI_BENCH_PYINFRA_BOX. The sudo password is read here from
the box's own password file and given to pyinfra as the host's `_sudo_password`, so it is
on no command line and in no environment variable (pyinfra shows it as hidden). SSH is
key-only, against the box's known_hosts with strict checking, as Ansible's inventory does.
"""

import json
import os
from pathlib import Path

_box = json.loads(Path(os.environ["DTUI_BENCH_PYINFRA_BOX"]).read_text())

box = [
    (
        _box["address"],
        {
            "ssh_port": _box["ssh_port"],
            "ssh_user": _box["user"],
            "ssh_key": _box["client_key"],
            "ssh_known_hosts_file": _box["known_hosts"],
            "ssh_strict_host_key_checking": "yes",
            "ssh_allow_agent": False,
            "ssh_look_for_keys": False,
            "_sudo_password": Path(_box["sudo_password_file"]).read_text().strip(),
            "repo_url": _box["repo_url"],
            "branch": _box["branch"],
            "site_dir": _box["site_dir"],
            "app_port": _box["app_port"],
            "domain": _box["domain"],
        },
    )
]
