"""superlists deployed the way deploy-tui's plan deploys it, as a pyinfra deploy.

What benchmarks/ansible/deploy.yml does, operation for operation, for
benchmarks/deploy_vs_ansible.py: apt -> git -> venv -> pip install -r -> migrate -> the dev
server (a background process in its own session, pid in runserver.pid, restarted when
what it runs from changed: commit, requirements, allowed hosts, port) -> wait until it
answers. The inventory (inventory.py) gives repo_url, branch, site_dir (absolute),
app_port and domain. Run with --yes, so facts are read as each operation executes.
"""

import os
import shlex

from devserver_ops import dev_server, runs_from
from op_times import OperationTimes
from pyinfra import host, state
from pyinfra.operations import apt, git, pip, server

if os.environ.get("DTUI_BENCH_TASK_TIMES"):
    state.add_callback_handler(OperationTimes(os.environ["DTUI_BENCH_TASK_TIMES"]))

site_dir = host.data.site_dir
venv = f"{site_dir}/.venv"
allowed_hosts = host.data.domain
app_port = int(host.data.app_port)
START_TIMEOUT = 20  # seconds the dev server has to answer

apt.packages(
    name="Server packages (apt)",
    packages=["python3", "python3-venv", "git", "curl"],
    _sudo=True,
)

git.repo(
    name="Code on the server (git)",
    src=host.data.repo_url,
    dest=site_dir,
    branch=host.data.branch,
    pull=True,
)

pip.virtualenv(
    name="Virtualenv",
    path=venv,
    python="python3",
    venv=True,
)

# pip.packages with a requirements file runs `pip install -r` every time (pip decides), as the playbook does.
pip.packages(
    name="Requirements (pip)",
    requirements=f"{site_dir}/requirements.txt",
    virtualenv=venv,
    extra_install_args="--disable-pip-version-check",
)

# server.shell always runs its command: a run of migrate that applies nothing still counts as run.
server.shell(
    name="Database migrations",
    commands=[".venv/bin/python manage.py migrate --noinput"],
    _chdir=site_dir,
)

stamp = runs_from(
    name="What the dev server runs from (stamp)",
    site_dir=site_dir,
    allowed_hosts=allowed_hosts,
    app_port=app_port,
)

dev_server(
    name="Dev server on 0.0.0.0 (stopped and started again)",
    site_dir=site_dir,
    allowed_hosts=allowed_hosts,
    app_port=app_port,
    restart=stamp.did_change,
)

probe = (
    f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 1"
    f" -H {shlex.quote(f'Host: {host.data.domain}:{app_port}')} http://127.0.0.1:{app_port}/"
)
server.shell(
    name="Wait until it answers",
    commands=[
        f'i=0; until [ "$({probe})" = 200 ]; do i=$((i+1)); [ $i -ge {START_TIMEOUT * 5} ] && exit 1; sleep 0.2; done'
    ],
)
