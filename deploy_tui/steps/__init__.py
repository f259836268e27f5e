"""The chapter's steps, in order: one module each. `default_plan()` is the whole deployment as data."""

from deploy_tui.core.plan import Context, Options, SiteLayout, Step
from deploy_tui.steps.devserver import DevServerStep
from deploy_tui.steps.dns import DnsStep
from deploy_tui.steps.fts import FunctionalTestsStep
from deploy_tui.steps.migrate import MigrateStep
from deploy_tui.steps.preflight import PreflightStep
from deploy_tui.steps.provision import ProvisionStep
from deploy_tui.steps.smoke import SmokeStep
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
STEP_IDS = tuple(step.id for step in PLAN)


def default_plan(layout: SiteLayout | None = None) -> list[Step]:
    """The plan for a site laid out so; collectstatic only where the settings set STATIC_ROOT."""
    collect = layout is None or layout.collectstatic
    return [step() for step in PLAN if collect or step is not StaticStep]


__all__ = ["PLAN", "STEP_IDS", "Context", "Options", "Step", "default_plan"]
