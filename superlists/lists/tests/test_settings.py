"""Settings come from the environment; each case runs in a fresh interpreter."""

import os
import subprocess
import sys
from pathlib import Path

from django.test import SimpleTestCase

ROOT = Path(__file__).resolve().parents[3]
SHOW = "from django.conf import settings as s; print(s.DEBUG, s.ALLOWED_HOSTS, s.DATABASES['default']['NAME'])"


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    clean.update(env, DJANGO_SETTINGS_MODULE="superlists.settings")
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + SHOW],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


class SettingsFromEnvironmentTest(SimpleTestCase):
    def test_development_defaults(self) -> None:
        out = _settings()
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), f"True [] {ROOT / 'db.sqlite3'}")

    def test_deployment_values(self) -> None:
        out = _settings(
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="s3cret",
            DJANGO_ALLOWED_HOSTS="superlists.test, www.superlists.test,",
            DJANGO_DB_PATH="/srv/db/superlists.sqlite3",
        )
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(
            out.stdout.strip(),
            "False ['superlists.test', 'www.superlists.test'] /srv/db/superlists.sqlite3",
        )

    def test_production_without_secret_key_is_refused_by_name(self) -> None:
        out = _settings(DJANGO_DEBUG="0")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("DJANGO_SECRET_KEY is empty", out.stderr)

    def test_unreadable_debug_flag_is_refused_by_name(self) -> None:
        out = _settings(DJANGO_DEBUG="maybe")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("DJANGO_DEBUG='maybe' is not a flag", out.stderr)
