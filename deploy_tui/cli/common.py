"""What the command line's modules share: the checkout's place and the error an operator can fix."""

from __future__ import annotations

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]


class UsageError(Exception):
    """A problem with what the operator asked for; its text is the whole message."""
