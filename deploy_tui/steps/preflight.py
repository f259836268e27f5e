"""Step 0: "Your project": what deploy-tui found in the checkout, checked before anything changes on the server.

Each item is reported with its verdict. A problem that would break the deployment
(a Django the server's Python cannot run, no requirements file, code not pushed,
settings that will refuse the domain) stops the run here, with a diagnosis the way
the chapter would explain it; a problem only the functional tests will meet is a
warning, and the deployment goes on.
"""

from __future__ import annotations

import re
import shlex
import shutil

from deploy_tui.core.commands import CommandResult, Shell, StepCommand
from deploy_tui.core.events import CheckResult, Diagnosis
from deploy_tui.core.failure import Facts
from deploy_tui.core.hosts import env_host_problems, env_hosts, host_allows
from deploy_tui.project import Project, check_pin, parse_python_version
from deploy_tui.steps.base import Context, Step, StepFailed, run

Verdict = str


_PINNED = re.compile(r"^[0-9a-f]{7,40}$")  # branch = a commit: what the source step checks out as it is


class PreflightStep(Step):
    id = "preflight"
    title = "Your project"
    verifies = True
    results = "checks"
    guide = (
        "Before touching the server, deploy-tui reads your checkout (never running or importing it): "
        "where manage.py and the requirements are, the Django version you pin, what your settings "
        "read from the environment and whether they will accept the domain, your functional tests "
        "and how they run. It asks the server which Python it has, and git whether the commit you "
        "are on has been pushed: the server can only clone what is pushed."
    )

    def commands(self, ctx: Context) -> tuple[StepCommand, ...]:
        checkout = shlex.quote(str(ctx.options.checkout))
        ref = f"refs/heads/{ctx.site.branch}"
        return (
            StepCommand(Shell("python3 --version"), "the server's Python"),
            StepCommand(
                Shell(f"git -C {checkout} rev-parse HEAD && git -C {checkout} status --porcelain --untracked-files=no"),
                "the commit you are on",
                here=True,
            ),
            # Never a prompt: a repo that wants a password or an unknown host key says so and fails.
            StepCommand(
                Shell(
                    'GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND="${GIT_SSH_COMMAND:-ssh} -o BatchMode=yes" '
                    f"git ls-remote -- {shlex.quote(ctx.site.repo)} {shlex.quote(ref)}"
                ),
                "what is pushed",
                here=True,
                timeout=60,
            ),
        )

    async def apply(self, ctx: Context) -> str:
        project = ctx.project
        if project is None:
            raise StepFailed(f"{ctx.options.checkout} could not be read as a Django project", ())
        self._checks = _Checks(ctx, self.id)
        python, local, pushed = self.commands(ctx)
        self._layout(ctx, project)
        server = await run(ctx, self, python, capture=True)
        self._django(ctx, project, " ".join((server.captured, *server.stderr_tail)))
        self._settings(ctx, project)
        here = await run(ctx, self, local, capture=True)
        if not here.ok:
            self._checks.say("code pushed", f"{ctx.options.checkout} is not a git checkout: cannot tell", "warning")
        elif _PINNED.match(ctx.site.branch):
            # A commit, not a branch (a rollback, or deploy.toml pinning one): the server checks it out as it is.
            head = (here.captured.splitlines() or [""])[0].strip()
            same = head.startswith(ctx.site.branch)
            found = f"the pinned commit {ctx.site.branch[:10]}" + ("" if same else f" (you are on {head[:10]})")
            self._checks.say("code pushed", found, "ok")
        else:
            remote = await run(ctx, self, pushed, capture=True)
            self._pushed(ctx, here.captured.splitlines(), remote)
        self._tests(ctx, project)
        return self._checks.verdict()

    # What was found, item by item.

    def _layout(self, ctx: Context, project: Project) -> None:
        c = self._checks
        if project.manage_py:
            c.say("manage.py", project.manage_py, "ok")
        else:
            c.problem(
                "manage.py",
                "not found",
                "P1",
                f"There is no manage.py in {project.root} (looked at the root, src/ and one level down).",
                "Run deploy-tui from your project's checkout (or pass --checkout), or set app_dir in "
                "[sites.NAME] to the directory that holds manage.py.",
            )
        if project.requirements:
            c.say("requirements", project.requirements, "ok")
        else:
            c.problem(
                "requirements",
                "no requirements.txt",
                "P2",
                "Your repository has no requirements file, so the server cannot know which Django (or anything "
                "else) to install into its virtualenv.",
                "In your virtualenv: pip freeze > requirements.txt (or write the pins by hand, e.g. django==5.2.*), "
                "then git add requirements.txt, git commit and git push.",
            )
        env = ", ".join(name for name, _ in ctx.layout.env) or "none"
        source = "deploy.toml" if ctx.site.env else "proposed from the settings"
        c.say("environment", f"{env} ({source})", "ok")
        if ctx.layout.collectstatic:
            c.say("static files", "STATIC_ROOT is set: collectstatic runs", "ok")
        if ctx.layout.production:
            self._production(ctx, project)

    def _production(self, ctx: Context, project: Project) -> None:
        """What the next chapter's setup needs of the repository, which deploy-tui never edits."""
        c = self._checks
        if "gunicorn" in project.requirement_names:
            c.say("gunicorn", f"in {project.requirements}", "ok")
        else:
            c.problem(
                "gunicorn",
                f"not in {project.requirements or 'the requirements'}",
                "P9",
                "In production gunicorn runs the site, from the site's virtualenv, and your requirements do not "
                "install it. deploy-tui never edits your repository, so it stops here.",
                "In your virtualenv: pip install gunicorn, then add it to requirements.txt (e.g. gunicorn==23.*), "
                "git commit and git push.",
            )
        if not ctx.layout.collectstatic:
            c.problem(
                "static files",
                "no STATIC_ROOT in the settings",
                "P10",
                "In production nginx serves the static files from STATIC_ROOT, where collectstatic gathers them, "
                "and your settings do not set it: every page would lose its CSS.",
                'Add STATIC_ROOT = BASE_DIR / "static" to your settings, commit and push.',
            )
        if not ctx.layout.wsgi:
            c.warn(
                "WSGI application",
                "not found",
                "P11",
                "deploy-tui could not tell your project's WSGI module from its settings module, so gunicorn is "
                "started with 'wsgi:application' from the directory of manage.py.",
                "Keep startproject's layout (<project>/wsgi.py beside <project>/settings.py).",
            )

    def _django(self, ctx: Context, project: Project, server_says: str) -> None:
        c = self._checks
        python = parse_python_version(server_says)
        pin = project.django_pin
        if python is None:
            c.say("server Python", "no python3 yet (provision installs it)", "warning")
            return
        c.say("server Python", f"{python[0]}.{python[1]}", "ok")
        if pin is None:
            c.say("Django", "not pinned: pip installs the newest", "warning")
            return
        verdict = check_pin(pin, python)
        if verdict.ok:
            c.say("Django", f"{pin.describe()} ({verdict.reason})", "ok")
            return
        ways = verdict.ways_out
        upgrade = ""
        if ways is not None:
            lts = " or ".join(r.label for r in ways.lts[:2]) or (ways.newest.label if ways.newest else "a newer Django")
            upgrade = (
                f"pin a Django that supports Python {python[0]}.{python[1]}: {lts} (in {pin.file}, line "
                f"{pin.line_number}); moving from {pin.describe()} means following Django's release notes "
                "for each version in between (url() becomes path()/re_path(), MIDDLEWARE replaces "
                "MIDDLEWARE_CLASSES, ...), running your tests at each step; "
            )
        c.problem(
            "Django",
            f"{pin.describe()} does not run on Python {python[0]}.{python[1]}",
            "P3",
            f"{verdict.reason}. pip would install it anyway (Django only states a minimum Python), and "
            "the first manage.py command would fail.",
            f"Either {upgrade}or deploy to a server whose Python the pinned Django supports ({verdict.pythons_text}).",
            (pin.line.strip(), f"server: {server_says.strip()}"),
        )

    def _settings(self, ctx: Context, project: Project) -> None:
        c = self._checks
        hosts = project.allowed_hosts
        where = project.settings_file or "settings.py"
        domain = ctx.site.domain
        set_here = {name for name, _ in ctx.layout.env}
        if hosts.kind == "env":
            missing = [name for name in hosts.env_names if name not in set_here]
            if not missing:
                self._hosts_written(ctx, hosts.env_names, hosts.comma_split)
                return
            c.problem(
                "ALLOWED_HOSTS",
                f"read from {', '.join(missing)}, which the site's env does not set",
                "P4",
                f"{where} (line {hosts.env_line}) reads ALLOWED_HOSTS from {', '.join(missing)}, but the "
                "environment deploy-tui gives the site does not set it: Django would refuse the domain "
                "(DisallowedHost) or fail to start.",
                f'Add it to deploy.toml: [sites.{ctx.site.name}.env] {missing[0]} = "{{domain}}".',
            )
            return
        if hosts.kind in ("literal", "unset"):
            values = hosts.values
            if any(host_allows(value, domain) for value in values):
                c.say("ALLOWED_HOSTS", f"{list(values)} in {where}", "ok")
                return
            line = f", line {hosts.literal_line}" if hosts.literal_line else ""
            c.problem(
                "ALLOWED_HOSTS",
                f"{list(values)} in {where} does not allow {domain}",
                "P4",
                f"ALLOWED_HOSTS is written into {where}{line} as {list(values)}, which does not name "
                f"{domain}: Django will answer every request with 'DisallowedHost at /' (400 with DEBUG off).",
                f'Read it from the environment, as the book does: ALLOWED_HOSTS = [os.environ["DJANGO_ALLOWED_HOST"]] '
                f'with [sites.{ctx.site.name}.env] DJANGO_ALLOWED_HOST = "{{domain}}" (or add "{domain}" to the '
                "list); commit and push.",
            )
            return
        c.say("ALLOWED_HOSTS", f"set in {where} in a way deploy-tui cannot read", "warning")

    def _hosts_written(self, ctx: Context, names: tuple[str, ...], comma_split: bool) -> None:
        """The env values ALLOWED_HOSTS is read from, as Django will match them (F15, before anything is deployed)."""
        c, site = self._checks, ctx.site
        given = env_hosts(ctx.layout.env, site.domain, site.hosts_allowed, names, comma_split=comma_split)
        wrong = env_host_problems(ctx.layout.env, site.domain, site.hosts_allowed, names, comma_split=comma_split)
        if not wrong:
            c.say("ALLOWED_HOSTS", f"from {', '.join(names)}, which the site's env sets", "ok")
            return
        bad = {problem.entry for _, problem in wrong}
        # A malformed entry beside a good one for the domain is harmless to this deployment: a warning.
        allowed = any(entry not in bad and host_allows(entry, site.domain) for _, entry in given)
        name, problem = wrong[0]
        found = f"{name} = {problem.entry!r} never matches"
        cause = f"The site's {name} gives ALLOWED_HOSTS {problem.entry!r}, which {problem.why}, so it never matches"
        fix = (
            f'Write [sites.{site.name}.env] {name} = "{problem.fixed}" in deploy.toml: bare host names, no port, '
            "no quotes, no trailing dot."
        )
        evidence = tuple(f"{n}: {p.entry!r} {p.why}" for n, p in wrong)
        if allowed:
            c.warn("ALLOWED_HOSTS", found, "F15", f"{cause}; another entry allows {site.domain}.", fix, evidence)
        else:
            c.problem(
                "ALLOWED_HOSTS",
                found,
                "F15",
                f"{cause}: Django would refuse {site.domain} (DisallowedHost, 400).",
                fix,
                evidence,
            )

    def _pushed(self, ctx: Context, here: list[str], remote: CommandResult) -> None:
        c = self._checks
        head = here[0].strip() if here else ""
        changed = len(here) - 1
        if changed:
            c.say("uncommitted changes", f"{changed} files changed: they will not be deployed", "warning")
        if not remote.ok:
            why = remote.stderr_tail[-1] if remote.stderr_tail else f"exit status {remote.exit_status}"
            c.say("code pushed", f"cannot ask {ctx.site.repo}: {why}", "warning")
            return
        words = remote.captured.split()
        pushed = words[0] if words else ""
        if not pushed:
            c.problem(
                "code pushed",
                f"branch {ctx.site.branch!r} is not in {ctx.site.repo}",
                "P5",
                f"The server clones {ctx.site.repo} and checks out {ctx.site.branch!r}, and that branch is not there.",
                f"git push -u origin {ctx.site.branch} (or set branch in deploy.toml to the branch you push).",
            )
        elif pushed != head:
            c.problem(
                "code pushed",
                f"HEAD {head[:10]} is not what {ctx.site.branch} is at ({pushed[:10]})",
                "P5",
                f"The commit you are on ({head[:10]}) is not the one {ctx.site.repo} has on {ctx.site.branch} "
                f"({pushed[:10]}): the server would deploy that one, not yours.",
                f"git push origin {ctx.site.branch} (and git pull first if someone else pushed).",
            )
        else:
            c.say("code pushed", f"HEAD {head[:10]} is on {ctx.site.branch}", "ok")

    def _tests(self, ctx: Context, project: Project) -> None:
        c = self._checks
        fts, tests = project.fts, ctx.tests
        if fts is None or not tests.command:
            c.warn(
                "functional tests",
                "none found",
                "P6",
                "No functional tests were found in the checkout (a functional_tests package), so the last "
                "step cannot prove the deployment works.",
                "Write them as the book does (functional_tests/tests.py), or set [tests] command in deploy.toml.",
            )
            return
        c.say("functional tests", f"{fts.directory}: {tests.command} (with {tests.python_why} Python)", "ok")
        if fts.server_variables:
            c.say("FT server", f"reads {', '.join(fts.server_variables)}", "ok")
        if fts.selenium3_calls:
            c.warn(
                "Selenium API",
                f"{len(fts.selenium3_calls)} find_element_by_* calls",
                "P7",
                "Your FTs use the Selenium 3 API (find_element_by_id and friends), which Selenium 4.3 removed: "
                "they will fail with AttributeError.",
                "Write browser.find_element(By.ID, 'id_new_item') (from selenium.webdriver.common.by import By) "
                "instead of browser.find_element_by_id('id_new_item'), and likewise for the others.",
                tuple(f"{call.file}:{call.line}: {call.text}" for call in fts.selenium3_calls[:5]),
            )
        if tests.firefox_as_chromium:
            c.say("browser", "Firefox FTs run in headless Chromium (the FT shim)", "ok")
        elif tests.browser == "firefox" and not (shutil.which("geckodriver") and _firefox()):
            c.warn(
                "browser",
                "Firefox FTs, and no Firefox with geckodriver here",
                "P8",
                "Your FTs start Firefox, and this machine has no firefox and geckodriver for Selenium to drive.",
                'Install Firefox (Selenium fetches geckodriver), or set [tests] browser = "chromium" in deploy.toml '
                "to run them unchanged in headless Chromium.",
            )
        else:
            c.say("browser", tests.browser or "as the FTs choose", "ok")


def _firefox() -> bool:
    return any(shutil.which(name) for name in ("firefox", "firefox-esr"))


class _Checks:
    """The verdicts of one preflight, as events; problems and warnings also as diagnoses."""

    def __init__(self, ctx: Context, step: str) -> None:
        self.ctx, self.step = ctx, step
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def say(self, item: str, found: str, verdict: Verdict) -> None:
        self.ctx.emit(CheckResult(step=self.step, item=item, found=found, verdict=verdict))
        if verdict == "warning":
            self.warnings.append(item)

    def _diagnose(self, code: str, cause: str, fix: str, evidence: tuple[str, ...]) -> None:
        self.ctx.emit(Diagnosis(step=self.step, code=code, cause=cause, fix=fix, evidence=evidence))

    def problem(self, item: str, found: str, code: str, cause: str, fix: str, evidence: tuple[str, ...] = ()) -> None:
        self.ctx.emit(CheckResult(step=self.step, item=item, found=found, verdict="problem"))
        self.problems.append(item)
        self._diagnose(code, cause, fix, evidence)

    def warn(
        self,
        item: str,
        found: str,
        code: str,
        cause: str,
        fix: str,
        evidence: tuple[str, ...] = (),
    ) -> None:
        self.say(item, found, "warning")
        self._diagnose(code, cause, fix, evidence)

    def verdict(self) -> str:
        if self.problems:
            raise StepFailed(
                f"{len(self.problems)} problem(s) in your project: {', '.join(self.problems)}",
                (),
                Facts(diagnosed=True),
            )
        more = f"; {len(self.warnings)} warning(s): {', '.join(self.warnings)}" if self.warnings else ""
        return "your project can be deployed" + more
