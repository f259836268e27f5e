"""The field diagnoses of the site's answers and the reader's code (F15-F18) proven on the sandbox box.

Each situation is made real: an ALLOWED_HOSTS value with a port in the site's env, a parking page
answering at the address the domain is reached at, a reader's repo with a syntax error pushed, a dev
server that refuses to start. The scenarios share the session's deployment and put it back as it
was (its env, its dev server) before they end, also when they fail; the processes and the firewall
rule they add are stopped and removed by pid and by rule. F18 (no python3) is only half real here:
the box is this machine, and its python3 is the one everything here runs on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy_tui.core.config import make_site
from deploy_tui.core.diagnoses import diagnose
from deploy_tui.core.events import CheckResult, Diagnosis, Notice, StepFinished
from deploy_tui.core.failure import StepFailed
from deploy_tui.sandbox.demo import box_site_values
from deploy_tui.sandbox.host import publish_repo
from tests.conftest import free_port
from tests.e2e.conftest import DOMAIN, Deployment, make_deployment
from tests.e2e.test_diagnoses import statuses, the_diagnosis
from tests.procs import stop, wait_until_serving
from tests.reader_repos import _git_env, make_reader_repo

pytestmark = pytest.mark.e2e

_SLOT = int(os.environ.get("DEPLOY_TUI_E2E_SLOT", "0") or 0)
# The parking page's own loopback address, one per e2e slot so parallel runs do not share it.
PARKED_AT = f"127.0.0.{100 + _SLOT}"
HOME_MARKER = "Start a new To-Do list"  # the superlists home page's <h1> (SUPERLISTS.md)


@contextlib.contextmanager
def serving_as_deployed(deployment: Deployment, tmp_path: Path) -> Iterator[None]:
    """After the block, the shared dev server runs again as the session deployed it (its stamp restarts it)."""
    try:
        yield
    finally:
        outcome, events = deployment.run(tmp_path, only={"devserver"})
        assert outcome.ok, [e for e in events if isinstance(e, Diagnosis | StepFinished | Notice)]


def superlists_env(**changes: str) -> tuple[tuple[str, str], ...]:
    """The env superlists' settings read (as proposed from them), with changes."""
    env = {
        "DJANGO_DEBUG": "1",
        "DJANGO_SECRET_KEY": "{secret_key}",
        "DJANGO_ALLOWED_HOSTS": "{domain}",
        "DJANGO_DB_PATH": "{db_path}",
        **changes,
    }
    return tuple(env.items())


# F15: an ALLOWED_HOSTS entry Django can never match.


def test_f15_allowed_hosts_with_a_port_refuses_the_domain(deployed, tmp_path) -> None:
    port = deployed.site.app_port
    with_port = dataclasses.replace(deployed.site, env=superlists_env(DJANGO_ALLOWED_HOSTS=f"{{domain}}:{port}"))
    # The preflight sees it before anything is deployed.
    outcome, events = deployed.run(tmp_path, only={"preflight"}, site=with_port)
    checks = {e.item: e.verdict for e in events if isinstance(e, CheckResult)}
    assert checks["ALLOWED_HOSTS"] == "problem"
    assert checks["server Python"] == "ok"
    f15 = [e for e in events if isinstance(e, Diagnosis) and e.code == "F15"]
    assert len(f15) == 1
    assert f'DJANGO_ALLOWED_HOSTS = "{DOMAIN}"' in f15[0].fix
    # Deployed anyway, the site answers 400 and the smoke test names the entry.
    with serving_as_deployed(deployed, tmp_path):
        outcome, events = deployed.run(tmp_path, only={"devserver", "smoke"}, site=with_port)
        assert statuses(events)["devserver"] == "passed"
        d = the_diagnosis(outcome, events, "smoke", "F15")
        assert f"'{DOMAIN}:{port}'" in d.cause
        assert "without its port" in d.cause
        assert 'DJANGO_ALLOWED_HOSTS = "{domain}"' in d.fix
        assert any("has a port" in line for line in d.evidence)
        assert any("Invalid HTTP_HOST" in line for line in d.evidence)  # DEBUG is on: Django says it in the log


# F16: the domain answers, with someone else's page.

PARKING_PAGE = """\
import http.server, sys

class Parked(http.server.BaseHTTPRequestHandler):
    server_version, sys_version = "ParkingLot/2.1", ""

    def do_GET(self):
        body = b"<html><head><title>This domain is parked</title></head><body>Buy this domain!</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), Parked).serve_forever()
"""


@contextlib.contextmanager
def parked(address: str, port: int) -> Iterator[None]:
    """A parking page answering at address:port, until the block ends.

    The dev server already holds the port on every address (0.0.0.0), so the page listens on a port of
    its own and a NAT rule sends address:port to it: from here, it is what answers at address:port.
    """
    own_port = free_port(address)
    server = subprocess.Popen(
        [sys.executable, "-c", PARKING_PAGE, address, str(own_port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    rule = ["OUTPUT", "-d", f"{address}/32", "-p", "tcp", "--dport", str(port)]
    rule += ["-j", "DNAT", "--to-destination", f"{address}:{own_port}"]
    try:
        wait_until_serving(f"http://{address}:{own_port}/", server, host=DOMAIN)
        subprocess.run(["iptables", "-t", "nat", "-I", *rule], check=True, capture_output=True, timeout=30)
        yield
    finally:
        if subprocess.run(["iptables", "-t", "nat", "-C", *rule], capture_output=True, timeout=30).returncode == 0:
            subprocess.run(["iptables", "-t", "nat", "-D", *rule], check=True, capture_output=True, timeout=30)
        stop(server)


def test_f16_a_parking_page_where_the_domain_points(deployed, tmp_path) -> None:
    port = deployed.site.app_port
    elsewhere = dataclasses.replace(deployed.site, address=PARKED_AT)  # ssh still goes to the box
    with parked(PARKED_AT, port):
        outcome, events = deployed.run(tmp_path, only={"smoke"}, site=elsewhere)
        d = the_diagnosis(outcome, events, "smoke", "F16")
        assert "'This domain is parked'" in d.cause
        assert "'To-Do lists'" in d.cause  # what the server itself serves
        assert f"{PARKED_AT}:{port}" in d.cause
        assert "A record" in d.fix
        assert f"sport = :{port}" in d.fix
        assert any("(Server: ParkingLot/2.1)" in line for line in d.evidence)
        # With the site's marker, the cause names it too.
        marked = dataclasses.replace(elsewhere, page_marker=HOME_MARKER)
        outcome, events = deployed.run(tmp_path, only={"smoke"}, site=marked)
        d = the_diagnosis(outcome, events, "smoke", "F16")
        assert f"without the page_marker {HOME_MARKER!r}" in d.cause


def test_f16_the_page_marker_on_the_site_itself(deployed, tmp_path) -> None:
    marked = dataclasses.replace(deployed.site, page_marker=HOME_MARKER)
    outcome, events = deployed.run(tmp_path, only={"smoke"}, site=marked)
    assert outcome.ok, [e for e in events if isinstance(e, Diagnosis | StepFinished)]
    # A marker the home page does not show: the site answers, but not with the page it should.
    wrong = dataclasses.replace(deployed.site, page_marker="Welcome to nginx!")
    outcome, events = deployed.run(tmp_path, only={"smoke"}, site=wrong)
    d = the_diagnosis(outcome, events, "smoke", "F16")
    assert "nor on the server itself" in d.cause
    assert "page_marker" in d.fix


# F17: the reader's code or settings stop Django.


@pytest.fixture
def syntax_error_repo(sandbox_box, box_resolvers) -> Iterator[Deployment]:
    """A 3rd-edition reader's repo with a colon missing in src/lists/views.py, pushed; removed at the end."""
    _, box = sandbox_box
    parent = Path(tempfile.mkdtemp(prefix="deploy-tui-f17-"))
    parent.chmod(0o755)  # the box user reaches the bare repo through it
    checkout = make_reader_repo("edition3", parent / "checkout")
    views = checkout / "src/lists/views.py"
    views.write_text(views.read_text().replace("def home_page(request):", "def home_page(request)"))
    env = _git_env()
    subprocess.run(["git", "commit", "-qam", "Home page", "--no-gpg-sign"], cwd=checkout, env=env, check=True)
    bare = parent / "superlists.git"
    publish_repo(checkout, bare, box.user)
    base = make_deployment(box, box_resolvers, f"f17-{uuid.uuid4().hex[:6]}")
    values = {**box_site_values(box), "repo": str(bare), "site_dir": base.site.site_dir, "app_port": base.site.app_port}
    deployment = dataclasses.replace(base, site=make_site("staging", values, "test"), checkout=checkout)
    try:
        yield deployment
    finally:
        deployment.stop_server()
        shutil.rmtree(deployment.directory, ignore_errors=True)
        shutil.rmtree(parent, ignore_errors=True)


def test_f17_a_syntax_error_in_the_reader_s_views_stops_migrate(syntax_error_repo, tmp_path) -> None:
    outcome, events = syntax_error_repo.run(tmp_path, only={"source", "venv", "static", "migrate"})
    # collectstatic loads the apps but not the URLs; migrate's checks import the views, and fail.
    assert {s: statuses(events)[s] for s in ("source", "venv", "static")} == dict.fromkeys(
        ("source", "venv", "static"), "passed"
    )
    d = the_diagnosis(outcome, events, "migrate", "F17")
    assert "src/lists/views.py, line 6" in d.cause
    assert "expected ':'" in d.cause
    assert "src/lists/views.py, line 6" in d.fix
    assert "commit, push" in d.fix
    assert any(line.strip() == "def home_page(request)" for line in d.evidence)
    assert any(line.strip() == "^" for line in d.evidence)  # the caret line
    assert any(line == "SyntaxError: expected ':'" for line in d.evidence)
    print("\n".join(("F17 migrate evidence:", *d.evidence)))


def test_f17_a_dev_server_that_will_not_start_shows_its_log(deployed, tmp_path) -> None:
    no_hosts = dataclasses.replace(deployed.site, env=superlists_env(DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS=""))
    with serving_as_deployed(deployed, tmp_path):
        outcome, events = deployed.run(tmp_path, only={"devserver"}, site=no_hosts)
        d = the_diagnosis(outcome, events, "devserver", "F17")
        assert "DEBUG off and ALLOWED_HOSTS empty" in d.cause
        assert "DJANGO_ALLOWED_HOSTS is empty" in d.cause
        assert 'DJANGO_ALLOWED_HOSTS = "{domain}"' in d.fix
        assert "runserver exited" in d.evidence[0]
        assert "CommandError: You must set settings.ALLOWED_HOSTS if DEBUG is False." in d.evidence
        print("\n".join(("F17 devserver evidence:", *d.evidence)))


# F18: no python3 on a minimal image.


def test_f18_the_box_shell_s_words_for_a_missing_python3(sandbox_box) -> None:
    _, box = sandbox_box
    # The box user's own login shell over ssh, with a PATH that has no python3 on it.
    said = subprocess.run(
        [*box.ssh_argv(), "PATH=/nonexistent; python3 -m venv .venv"], capture_output=True, text=True, timeout=60
    )
    assert said.returncode == 127, said
    lines = tuple(said.stderr.splitlines())
    failure = StepFailed("python3 -m venv .venv: exit status 127", lines)
    d = diagnose("venv", failure)
    assert d is not None
    assert d.code == "F18", d
    assert "provision" in d.fix
    print("\n".join(("F18 box shell:", *lines)))


def test_f18_a_minimal_image_without_python3() -> None:
    pytest.skip(
        "not made real: the sandbox box is this machine, and its python3 is the one the tests, sshd's box user "
        "and the provisioning run on; removing it would break the machine. tests/test_diagnoses_site.py checks "
        "the rule on the real texts, and that nothing before the provision step needs python3."
    )
