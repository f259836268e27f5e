"""The chapter's steps, in order: one module each. `default_plan()` is the whole deployment as data."""

from deploy_tui.core.plan import Context, Options, SiteLayout, Step
from deploy_tui.steps.devserver import DevServerStep
from deploy_tui.steps.dns import DnsStep
from deploy_tui.steps.fts import FunctionalTestsStep
from deploy_tui.steps.gate import GateStep
from deploy_tui.steps.gunicorn import GunicornStep
from deploy_tui.steps.migrate import MigrateStep
from deploy_tui.steps.nginx import NginxStep
from deploy_tui.steps.preflight import PreflightStep
from deploy_tui.steps.provision import ProvisionStep
from deploy_tui.steps.rollback import RollbackStep
from deploy_tui.steps.smoke import ProductionSmokeStep, SmokeStep
from deploy_tui.steps.source import SourceStep
from deploy_tui.steps.static import StaticStep
from deploy_tui.steps.venv import VenvStep

PLAN: tuple[type[Step], ...] = (
    PreflightStep,
    DnsStep,
    ProvisionStep,
    SourceStep,
    VenvStep,
    StaticStep,
    MigrateStep,
    DevServerStep,
    SmokeStep,
    FunctionalTestsStep,
)
# The next chapter: gunicorn under systemd and nginx in front, where the dev server was.
_IN_PRODUCTION: dict[type[Step], tuple[type[Step], ...]] = {
    DevServerStep: (GunicornStep, NginxStep),
    SmokeStep: (ProductionSmokeStep,),
}
PRODUCTION: tuple[type[Step], ...] = tuple(
    replacement for step in PLAN for replacement in _IN_PRODUCTION.get(step, (step,))
)
EVERY_STEP: tuple[type[Step], ...] = (GateStep, RollbackStep, *PLAN, *PRODUCTION)
STEP_IDS = tuple(dict.fromkeys(step.id for step in EVERY_STEP))


def default_plan(layout: SiteLayout | None = None, *, gated: bool = False) -> list[Step]:
    """The plan for a site laid out so: chapter 9's, or production's; collectstatic where STATIC_ROOT is set.

    gated: the site deploys only what its gating site's FTs passed (live after staging), checked first.
    """
    first: list[Step] = [GateStep()] if gated else []
    if layout is not None and layout.production:
        return [*first, *(step() for step in PRODUCTION)]  # collectstatic always: nginx serves what it gathers
    collect = layout is None or layout.collectstatic
    return [*first, *(step() for step in PLAN if collect or step is not StaticStep)]


def rollback_plan(layout: SiteLayout | None = None) -> list[Step]:
    """Back to an earlier release: its code, its kept venv, its static files, the server restarted; never migrate."""
    kept = {"source", "venv", "static", "devserver", "gunicorn", "nginx", "smoke"}
    return [RollbackStep(), *(step for step in default_plan(layout) if step.id in kept)]


__all__ = ["PLAN", "PRODUCTION", "STEP_IDS", "Context", "Options", "Step", "default_plan", "rollback_plan"]
