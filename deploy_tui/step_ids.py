"""The plan's step ids, in order, importable without the steps themselves (the CLI's choices)."""

STEP_IDS = ("dns", "provision", "source", "venv", "migrate", "devserver", "smoke", "fts")
