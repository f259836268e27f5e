"""The chapter's steps, in order: one module each. `PLAN` is the whole deployment as data."""

from deploy_tui.step_ids import STEP_IDS as _IDS
from deploy_tui.steps.base import Context, Options, Step, StepFailed
from deploy_tui.steps.devserver import DevServerStep
from deploy_tui.steps.dns import DnsStep
from deploy_tui.steps.fts import FunctionalTestsStep
from deploy_tui.steps.migrate import MigrateStep
from deploy_tui.steps.provision import ProvisionStep
from deploy_tui.steps.smoke import SmokeStep
from deploy_tui.steps.source import SourceStep
from deploy_tui.steps.venv import VenvStep


def default_plan() -> list[Step]:
    return [
        DnsStep(),
        ProvisionStep(),
        SourceStep(),
        VenvStep(),
        MigrateStep(),
        DevServerStep(),
        SmokeStep(),
        FunctionalTestsStep(),
    ]


STEP_IDS = _IDS
if tuple(step.id for step in default_plan()) != STEP_IDS:  # pragma: no cover - a plan edited in one place only
    raise ImportError("deploy_tui/step_ids.py and default_plan() disagree on the steps")

__all__ = ["STEP_IDS", "Context", "Options", "Step", "StepFailed", "default_plan"]
