"""The reader's Django repository as deploy-tui sees it: read as text, never imported or run.

Stdlib only, and nothing from the rest of deploy_tui, so it can move with any restructure.
"""

from deploy_tui.project.django_support import (
    RELEASES,
    DjangoChoice,
    DjangoPin,
    DjangoRelease,
    PinVerdict,
    check_pin,
    django_release,
    format_pythons,
    newest_django_for,
    parse_django_pin,
    parse_python_version,
    supported_pythons,
)
from deploy_tui.project.env import EnvProposal, LeftOut, propose_env
from deploy_tui.project.git import GitOrigin, git_origin
from deploy_tui.project.reader import (
    AllowedHosts,
    DebugSwitch,
    EnvRead,
    FunctionalTests,
    Project,
    SourceLine,
    normalize_name,
    read_project,
)

__all__ = [
    "RELEASES",
    "AllowedHosts",
    "DebugSwitch",
    "DjangoChoice",
    "DjangoPin",
    "DjangoRelease",
    "EnvProposal",
    "EnvRead",
    "FunctionalTests",
    "GitOrigin",
    "LeftOut",
    "PinVerdict",
    "Project",
    "SourceLine",
    "check_pin",
    "django_release",
    "format_pythons",
    "git_origin",
    "newest_django_for",
    "normalize_name",
    "parse_django_pin",
    "parse_python_version",
    "propose_env",
    "read_project",
    "supported_pythons",
]
