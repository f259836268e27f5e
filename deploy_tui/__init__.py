"""deploy-tui: a first Django deployment, walked through step by step and proven to work."""

__version__ = "0.1.0"
