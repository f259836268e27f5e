"""The pip and SQLite field diagnoses (F10-F14), each fed what the tools really print, and the texts it must leave.

Captured on Debian 12 with Python 3.11, Debian's pip 23.0.1 (ensurepip's, as in the site's venv), gcc 12,
setuptools and Django 5.2. The end-to-end scenarios in tests/e2e/test_diagnoses_pip.py make them real.
"""

# pip draws its messages with box-drawing characters and a multiplication sign: quoted as printed.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio

import pytest

from deploy_tui.core.config import make_site
from deploy_tui.core.diagnoses import database, diagnose, pip
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import Facts, Probe, StepFailed
from deploy_tui.core.plan import Context, SiteLayout
from deploy_tui.steps.migrate import MigrateStep
from deploy_tui.steps.venv import VenvStep
from tests.fakes import Answer, FakeSession

USER = "elspeth"
SITE_DIR = "~/sites/superlists-staging.test"
# The env deploy-tui proposes for the book's site: the database beside the code.
SITE_ENV = (
    ("DJANGO_SECRET_KEY", "{secret_key}"),
    ("DJANGO_ALLOWED_HOSTS", "{domain}"),
    ("DJANGO_DB_PATH", "{db_path}"),
)
FIELD_RULES = (*pip.RULES, *database.RULES)


def pip_failed(stderr: tuple[str, ...], stdout: tuple[str, ...] = (), status: int = 1) -> StepFailed:
    """What the venv step raises when pip exits with status: the lines the rules read, then the last ones."""
    tail = (*stderr[-20:], *stdout[-20:])
    buried = tuple(line for line in (*stderr, *stdout) if pip.telling(line) and line not in tail)
    facts = Facts(user=USER, site_dir=SITE_DIR)
    return StepFailed(f"pip install -r requirements.txt: exit status {status}", (*buried, *tail), facts)


def migrate_failed(
    stderr: tuple[str, ...], stdout: tuple[str, ...] = (), env: tuple[tuple[str, str], ...] = SITE_ENV
) -> StepFailed:
    """What the migrate step raises: its last lines, with the site's env as a fact."""
    facts = Facts(user=USER, site_dir=SITE_DIR, env=env)
    return StepFailed("manage.py migrate: exit status 1", (*stderr[-20:], *stdout[-20:]), facts)


def the_diagnosis(step: str, failure: StepFailed, code: str) -> Diagnosis:
    """diagnose names code, with a cause, a fix and evidence; and no other field rule claims the text."""
    found = diagnose(step, failure)
    assert found is not None, f"expected {code}, got no diagnosis"
    assert (found.step, found.code) == (step, code), (found.code, found.cause)
    assert found.cause.strip()
    assert found.fix.strip()
    assert found.evidence
    assert found.evidence[0] == str(failure)
    text = "\n".join((str(failure), *failure.evidence))
    others = [check.__name__ for check in FIELD_RULES if (d := check(step, failure, text)) and d.code != code]
    assert others == [], f"{code}'s text is also claimed by {others}"
    return found


# The texts, as printed (paths as they were where they were captured).

# pip 23.0.1 for a Django pin on Python 3.11: the versions it lists (oldest first) and those it ignored.
DJANGO_VERSIONS = (
    "1.1.3, 1.1.4, 1.2, 1.2.1, 1.2.2, 1.2.3, 1.2.4, 1.2.5, 1.2.6, 1.2.7, 1.3, 1.3.1, 1.3.2, 1.3.3, "
    "1.3.4, 1.3.5, 1.3.6, 1.3.7, 1.4, 1.4.1, 1.4.2, 1.4.3, 1.4.4, 1.4.5, 1.4.6, 1.4.7, 1.4.8, 1.4.9, "
    "1.4.10, 1.4.11, 1.4.12, 1.4.13, 1.4.14, 1.4.15, 1.4.16, 1.4.17, 1.4.18, 1.4.19, 1.4.20, 1.4.21, "
    "1.4.22, 1.5, 1.5.1, 1.5.2, 1.5.3, 1.5.4, 1.5.5, 1.5.6, 1.5.7, 1.5.8, 1.5.9, 1.5.10, 1.5.11, 1.5.12, "
    "1.6, 1.6.1, 1.6.2, 1.6.3, 1.6.4, 1.6.5, 1.6.6, 1.6.7, 1.6.8, 1.6.9, 1.6.10, 1.6.11, 1.7, 1.7.1, "
    "1.7.2, 1.7.3, 1.7.4, 1.7.5, 1.7.6, 1.7.7, 1.7.8, 1.7.9, 1.7.10, 1.7.11, 1.8a1, 1.8b1, 1.8b2, "
    "1.8rc1, 1.8, 1.8.1, 1.8.2, 1.8.3, 1.8.4, 1.8.5, 1.8.6, 1.8.7, 1.8.8, 1.8.9, 1.8.10, 1.8.11, 1.8.12, "
    "1.8.13, 1.8.14, 1.8.15, 1.8.16, 1.8.17, 1.8.18, 1.8.19, 1.9a1, 1.9b1, 1.9rc1, 1.9rc2, 1.9, 1.9.1, "
    "1.9.2, 1.9.3, 1.9.4, 1.9.5, 1.9.6, 1.9.7, 1.9.8, 1.9.9, 1.9.10, 1.9.11, 1.9.12, 1.9.13, 1.10a1, "
    "1.10b1, 1.10rc1, 1.10, 1.10.1, 1.10.2, 1.10.3, 1.10.4, 1.10.5, 1.10.6, 1.10.7, 1.10.8, 1.11a1, "
    "1.11b1, 1.11rc1, 1.11, 1.11.1, 1.11.2, 1.11.3, 1.11.4, 1.11.5, 1.11.6, 1.11.7, 1.11.8, 1.11.9, "
    "1.11.10, 1.11.11, 1.11.12, 1.11.13, 1.11.14, 1.11.15, 1.11.16, 1.11.17, 1.11.18, 1.11.20, 1.11.21, "
    "1.11.22, 1.11.23, 1.11.24, 1.11.25, 1.11.26, 1.11.27, 1.11.28, 1.11.29, 2.0a1, 2.0b1, 2.0rc1, 2.0, "
    "2.0.1, 2.0.2, 2.0.3, 2.0.4, 2.0.5, 2.0.6, 2.0.7, 2.0.8, 2.0.9, 2.0.10, 2.0.12, 2.0.13, 2.1a1, "
    "2.1b1, 2.1rc1, 2.1, 2.1.1, 2.1.2, 2.1.3, 2.1.4, 2.1.5, 2.1.7, 2.1.8, 2.1.9, 2.1.10, 2.1.11, 2.1.12, "
    "2.1.13, 2.1.14, 2.1.15, 2.2a1, 2.2b1, 2.2rc1, 2.2, 2.2.1, 2.2.2, 2.2.3, 2.2.4, 2.2.5, 2.2.6, 2.2.7, "
    "2.2.8, 2.2.9, 2.2.10, 2.2.11, 2.2.12, 2.2.13, 2.2.14, 2.2.15, 2.2.16, 2.2.17, 2.2.18, 2.2.19, "
    "2.2.20, 2.2.21, 2.2.22, 2.2.23, 2.2.24, 2.2.25, 2.2.26, 2.2.27, 2.2.28, 3.0a1, 3.0b1, 3.0rc1, 3.0, "
    "3.0.1, 3.0.2, 3.0.3, 3.0.4, 3.0.5, 3.0.6, 3.0.7, 3.0.8, 3.0.9, 3.0.10, 3.0.11, 3.0.12, 3.0.13, "
    "3.0.14, 3.1a1, 3.1b1, 3.1rc1, 3.1, 3.1.1, 3.1.2, 3.1.3, 3.1.4, 3.1.5, 3.1.6, 3.1.7, 3.1.8, 3.1.9, "
    "3.1.10, 3.1.11, 3.1.12, 3.1.13, 3.1.14, 3.2a1, 3.2b1, 3.2rc1, 3.2, 3.2.1, 3.2.2, 3.2.3, 3.2.4, "
    "3.2.5, 3.2.6, 3.2.7, 3.2.8, 3.2.9, 3.2.10, 3.2.11, 3.2.12, 3.2.13, 3.2.14, 3.2.15, 3.2.16, 3.2.17, "
    "3.2.18, 3.2.19, 3.2.20, 3.2.21, 3.2.22, 3.2.23, 3.2.24, 3.2.25, 4.0a1, 4.0b1, 4.0rc1, 4.0, 4.0.1, "
    "4.0.2, 4.0.3, 4.0.4, 4.0.5, 4.0.6, 4.0.7, 4.0.8, 4.0.9, 4.0.10, 4.1a1, 4.1b1, 4.1rc1, 4.1, 4.1.1, "
    "4.1.2, 4.1.3, 4.1.4, 4.1.5, 4.1.6, 4.1.7, 4.1.8, 4.1.9, 4.1.10, 4.1.11, 4.1.12, 4.1.13, 4.2a1, "
    "4.2b1, 4.2rc1, 4.2, 4.2.1, 4.2.2, 4.2.3, 4.2.4, 4.2.5, 4.2.6, 4.2.7, 4.2.8, 4.2.9, 4.2.10, 4.2.11, "
    "4.2.12, 4.2.13, 4.2.14, 4.2.15, 4.2.16, 4.2.17, 4.2.18, 4.2.19, 4.2.20, 4.2.21, 4.2.22, 4.2.23, "
    "4.2.24, 4.2.25, 4.2.26, 4.2.27, 4.2.28, 4.2.29, 4.2.30, 5.0a1, 5.0b1, 5.0rc1, 5.0, 5.0.1, 5.0.2, "
    "5.0.3, 5.0.4, 5.0.5, 5.0.6, 5.0.7, 5.0.8, 5.0.9, 5.0.10, 5.0.11, 5.0.12, 5.0.13, 5.0.14, 5.1a1, "
    "5.1b1, 5.1rc1, 5.1, 5.1.1, 5.1.2, 5.1.3, 5.1.4, 5.1.5, 5.1.6, 5.1.7, 5.1.8, 5.1.9, 5.1.10, 5.1.11, "
    "5.1.12, 5.1.13, 5.1.14, 5.1.15, 5.2a1, 5.2b1, 5.2rc1, 5.2, 5.2.1, 5.2.2, 5.2.3, 5.2.4, 5.2.5, "
    "5.2.6, 5.2.7, 5.2.8, 5.2.9, 5.2.10, 5.2.11, 5.2.12, 5.2.13, 5.2.14, 5.2.15, 5.2.16, 5.2.17, 5.2.18, "
    "5.2.19"
)
IGNORED_FOR_PYTHON_3_11 = (
    "ERROR: Ignored the following versions that require a different python version: 6.0 Requires-Python "
    ">=3.12; 6.0.1 Requires-Python >=3.12; 6.0.10 Requires-Python >=3.12; 6.0.2 Requires-Python >=3.12; "
    "6.0.3 Requires-Python >=3.12; 6.0.4 Requires-Python >=3.12; 6.0.5 Requires-Python >=3.12; 6.0.6 "
    "Requires-Python >=3.12; 6.0.7 Requires-Python >=3.12; 6.0.8 Requires-Python >=3.12; 6.0.9 "
    "Requires-Python >=3.12; 6.0a1 Requires-Python >=3.12; 6.0b1 Requires-Python >=3.12; 6.0rc1 "
    "Requires-Python >=3.12; 6.1 Requires-Python >=3.12; 6.1.1 Requires-Python >=3.12; 6.1.2 "
    "Requires-Python >=3.12; 6.1.3 Requires-Python >=3.12; 6.1a1 Requires-Python >=3.12; 6.1b1 "
    "Requires-Python >=3.12; 6.1rc1 Requires-Python >=3.12"
)

F10_MISSPELT_STDERR = (
    "WARNING: Location 'file:///opt/pypi/simple/djangoo/' is ignored: it is neither a file nor a directory.",
    "WARNING: Location 'file:///opt/pypi-more/simple/djangoo/' is ignored: it is neither a file nor a directory.",
    "ERROR: Could not find a version that satisfies the requirement djangoo==5.2 (from versions: none)",
    "ERROR: No matching distribution found for djangoo==5.2",
)

F11_MYSQL_H_STDERR = (
    "  error: subprocess-exited-with-error",
    "  ",
    "  × Building wheel for needs-mysql (pyproject.toml) did not run successfully.",
    "  │ exit code: 1",
    "  ╰─> [10 lines of output]",
    "      running bdist_wheel",
    "      running build",
    "      running build_ext",
    "      building 'needs_mysql' extension",
    (
        "      x86_64-linux-gnu-gcc -Wsign-compare -DNDEBUG -g -fwrapv -O2 -Wall -g -fstack-protector-strong "
        "-Wformat -Werror=format-security -g -fwrapv -O2 -fPIC -I/tmp/f11/.venv/include "
        "-I/usr/include/python3.11 -c needs_mysql.c -o build/temp.linux-x86_64-cpython-311/needs_mysql.o"
    ),
    "      needs_mysql.c:2:10: fatal error: mysql.h: No such file or directory",
    "          2 | #include <mysql.h>",
    "            |          ^~~~~~~~~",
    "      compilation terminated.",
    (
        "      error: Command '['x86_64-linux-gnu-gcc', '-Wsign-compare', '-DNDEBUG', '-g', '-fwrapv', "
        "'-O2', '-Wall', '-g', '-fstack-protector-strong', '-Wformat', '-Werror=format-security', '-g', "
        "'-fwrapv', '-O2', '-fPIC', '-I/tmp/f11/.venv/include', '-I/usr/include/python3.11', '-c', "
        "'needs_mysql.c', '-o', 'build/temp.linux-x86_64-cpython-311/needs_mysql.o']' returned non-zero exit "
        "status 1."
    ),
    "      [end of output]",
    "  ",
    "  note: This error originates from a subprocess, and is likely not a problem with pip.",
    "  ERROR: Failed building wheel for needs-mysql",
    "ERROR: Could not build wheels for needs-mysql, which is required to install pyproject.toml-based projects",
)

F11_MYSQL_H_STDOUT = (
    "Looking in indexes: https://pypi.org/simple, file:///opt/pypi/simple, file:///opt/pypi-more/simple",
    "Looking in links: /opt/wheels",
    "Processing ./pkg517",
    "  Installing build dependencies: started",
    "  Installing build dependencies: finished with status 'done'",
    "  Getting requirements to build wheel: started",
    "  Getting requirements to build wheel: finished with status 'done'",
    "  Preparing metadata (pyproject.toml): started",
    "  Preparing metadata (pyproject.toml): finished with status 'done'",
    "Building wheels for collected packages: needs-mysql",
    "  Building wheel for needs-mysql (pyproject.toml): started",
    "  Building wheel for needs-mysql (pyproject.toml): finished with status 'error'",
    "Failed to build needs-mysql",
)

F11_NO_GCC_STDERR = (
    "  error: subprocess-exited-with-error",
    "  ",
    "  × Building wheel for needs-mysql (pyproject.toml) did not run successfully.",
    "  │ exit code: 1",
    "  ╰─> [6 lines of output]",
    "      running bdist_wheel",
    "      running build",
    "      running build_ext",
    "      building 'needs_mysql' extension",
    (
        "      x86_64-linux-gnu-gcc -Wsign-compare -DNDEBUG -g -fwrapv -O2 -Wall -g -fstack-protector-strong "
        "-Wformat -Werror=format-security -g -fwrapv -O2 -fPIC -I/tmp/f11/.venv/include "
        "-I/usr/include/python3.11 -c needs_mysql.c -o build/temp.linux-x86_64-cpython-311/needs_mysql.o"
    ),
    "      error: [Errno 2] No such file or directory: 'x86_64-linux-gnu-gcc'",
    "      [end of output]",
    "  ",
    "  note: This error originates from a subprocess, and is likely not a problem with pip.",
    "  ERROR: Failed building wheel for needs-mysql",
    "ERROR: Could not build wheels for needs-mysql, which is required to install pyproject.toml-based projects",
)

F11_NO_GCC_LEGACY_STDERR = (
    (
        "  DEPRECATION: needs-mysql is being installed using the legacy 'setup.py install' method, because "
        "it does not have a 'pyproject.toml' and the 'wheel' package is not installed. pip 23.1 will enforce "
        "this behaviour change. A possible replacement is to enable the '--use-pep517' option. Discussion "
        "can be found at https://github.com/pypa/pip/issues/8559"
    ),
    "  error: subprocess-exited-with-error",
    "  ",
    "  × Running setup.py install for needs-mysql did not run successfully.",
    "  │ exit code: 1",
    "  ╰─> [10 lines of output]",
    "      running install",
    (
        "      /tmp/f11/.venv/lib/python3.11/site-packages/setuptools/command/install.py:34: "
        "SetuptoolsDeprecationWarning: setup.py install is deprecated. Use build and pip and other "
        "standards-based tools."
    ),
    "        warnings.warn(",
    "      running build",
    "      running build_ext",
    "      building 'needs_mysql' extension",
    "      creating build",
    "      creating build/temp.linux-x86_64-cpython-311",
    (
        "      x86_64-linux-gnu-gcc -Wsign-compare -DNDEBUG -g -fwrapv -O2 -Wall -g -fstack-protector-strong "
        "-Wformat -Werror=format-security -g -fwrapv -O2 -fPIC -I/tmp/f11/.venv/include "
        "-I/usr/include/python3.11 -c needs_mysql.c -o build/temp.linux-x86_64-cpython-311/needs_mysql.o"
    ),
    "      error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory",
    "      [end of output]",
    "  ",
    "  note: This error originates from a subprocess, and is likely not a problem with pip.",
    "error: legacy-install-failure",
    "",
    "× Encountered error while trying to install package.",
    "╰─> needs-mysql",
    "",
    "note: This is an issue with the package mentioned above, not pip.",
    "hint: See above for output from the failure.",
)

F11_PG_CONFIG_STDERR = (
    (
        "DEPRECATION: --no-binary currently disables reading from the cache of locally built wheels. In the "
        "future --no-binary will not influence the wheel cache. pip 23.1 will enforce this behaviour change. "
        "A possible replacement is to use the --no-cache-dir option. You can use the flag "
        "--use-feature=no-binary-enable-wheel-cache to test the upcoming behaviour. Discussion can be found "
        "at https://github.com/pypa/pip/issues/11453"
    ),
    "WARNING: Location 'file:///opt/pypi/simple/psycopg2/' is ignored: it is neither a file nor a directory.",
    "WARNING: Location 'file:///opt/pypi-more/simple/psycopg2/' is ignored: it is neither a file nor a directory.",
    "  error: subprocess-exited-with-error",
    "  ",
    "  × python setup.py egg_info did not run successfully.",
    "  │ exit code: 1",
    "  ╰─> [23 lines of output]",
    "      running egg_info",
    "      creating /tmp/pip-pip-egg-info-xxmr35de/psycopg2.egg-info",
    "      writing /tmp/pip-pip-egg-info-xxmr35de/psycopg2.egg-info/PKG-INFO",
    "      writing dependency_links to /tmp/pip-pip-egg-info-xxmr35de/psycopg2.egg-info/dependency_links.txt",
    "      writing top-level names to /tmp/pip-pip-egg-info-xxmr35de/psycopg2.egg-info/top_level.txt",
    "      writing manifest file '/tmp/pip-pip-egg-info-xxmr35de/psycopg2.egg-info/SOURCES.txt'",
    "      ",
    "      Error: pg_config executable not found.",
    "      ",
    "      pg_config is required to build psycopg2 from source.  Please add the directory",
    "      containing pg_config to the $PATH or specify the full executable path with the",
    "      option:",
    "      ",
    "          python setup.py build_ext --pg-config /path/to/pg_config build ...",
    "      ",
    "      or with the pg_config option in 'setup.cfg'.",
    "      ",
    "      If you prefer to avoid building psycopg2 from source, please install the PyPI",
    "      'psycopg2-binary' package instead.",
    "      ",
    "      For further information please check the 'doc/src/install.rst' file (also at",
    "      <https://www.psycopg.org/docs/install.html>).",
    "      ",
    "      [end of output]",
    "  ",
    "  note: This error originates from a subprocess, and is likely not a problem with pip.",
    "error: metadata-generation-failed",
    "",
    "× Encountered error while generating package metadata.",
    "╰─> See above for output.",
    "",
    "note: This is an issue with the package mentioned above, not pip.",
    "hint: See above for details.",
)

F11_PG_CONFIG_STDOUT = (
    "Looking in indexes: https://pypi.org/simple, file:///opt/pypi/simple, file:///opt/pypi-more/simple",
    "Looking in links: /opt/wheels",
    "Collecting psycopg2==2.9.10",
    "  Downloading psycopg2-2.9.10.tar.gz (385 kB)",
    "     ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 385.7/385.7 kB 195.3 MB/s eta 0:00:00",
    "  Preparing metadata (setup.py): started",
    "  Preparing metadata (setup.py): finished with status 'error'",
)

F11_MYSQLCLIENT_STDERR_TAIL = (
    (
        '        File "/tmp/pip-build-env-8753luyu/overlay/lib/python3.11/site-packages/setuptools/build_meta'
        '.py", line 301, in _get_build_requires'
    ),
    "          self.run_setup()",
    (
        '        File "/tmp/pip-build-env-8753luyu/overlay/lib/python3.11/site-packages/setuptools/build_meta'
        '.py", line 317, in run_setup'
    ),
    "          exec(code, locals())  # noqa: S102 # exec is intentional here",
    "          ^^^^^^^^^^^^^^^^^^^^",
    '        File "<string>", line 156, in <module>',
    '        File "<string>", line 49, in get_config_posix',
    '        File "<string>", line 28, in find_package_name',
    "      Exception: Can not find valid pkg-config name.",
    "      Specify MYSQLCLIENT_CFLAGS and MYSQLCLIENT_LDFLAGS env vars manually",
    "      [end of output]",
    "  ",
    "  note: This error originates from a subprocess, and is likely not a problem with pip.",
    "error: subprocess-exited-with-error",
    "",
    "× Getting requirements to build wheel did not run successfully.",
    "│ exit code: 1",
    "╰─> See above for output.",
    "",
    "note: This error originates from a subprocess, and is likely not a problem with pip.",
)

F11_MYSQLCLIENT_STDOUT = (
    "Looking in indexes: https://pypi.org/simple, file:///opt/pypi/simple, file:///opt/pypi-more/simple",
    "Looking in links: /opt/wheels",
    "Collecting mysqlclient==2.2.7",
    "  Downloading mysqlclient-2.2.7.tar.gz (91 kB)",
    "     ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 91.4/91.4 kB 153.5 MB/s eta 0:00:00",
    "  Installing build dependencies: started",
    "  Installing build dependencies: finished with status 'done'",
    "  Getting requirements to build wheel: started",
    "  Getting requirements to build wheel: finished with status 'error'",
)

F11_PYTHON_H_GCC = (
    "py.c:1:10: fatal error: Python.h: No such file or directory",
    "    1 | #include <Python.h>",
    "      |          ^~~~~~~~~~",
    "compilation terminated.",
)

F13_STDERR = (
    "error: externally-managed-environment",
    "",
    "× This environment is externally managed",
    "╰─> To install Python packages system-wide, try apt install",
    "    python3-xyz, where xyz is the package you are trying to",
    "    install.",
    "    ",
    "    If you wish to install a non-Debian-packaged Python package,",
    "    create a virtual environment using python3 -m venv path/to/venv.",
    "    Then use path/to/venv/bin/python and path/to/venv/bin/pip. Make",
    "    sure you have python3-full installed.",
    "    ",
    "    If you wish to install a non-Debian packaged Python application,",
    "    it may be easiest to use pipx install xyz, which will manage a",
    "    virtual environment for you. Make sure you have pipx installed.",
    "    ",
    "    See /usr/share/doc/python3.11/README.venv for more information.",
    "",
    (
        "note: If you believe this is a mistake, please contact your Python installation or OS distribution "
        "provider. You can override this, at the risk of breaking your Python installation or OS, by passing "
        "--break-system-packages."
    ),
    "hint: See PEP 668 for the detailed specification.",
)

F14_READONLY_STDERR_TAIL = (
    (
        '  File "/tmp/f10/.venv/lib/python3.11/site-packages/django/core/management/__init__.py", line 442, '
        "in execute_from_command_line"
    ),
    "    utility.execute()",
    '  File "/tmp/f10/.venv/lib/python3.11/site-packages/django/core/management/__init__.py", line 436, in execute',
    "    self.fetch_command(subcommand).run_from_argv(self.argv)",
    '  File "/tmp/f10/.venv/lib/python3.11/site-packages/django/core/management/base.py", line 420, in run_from_argv',
    "    self.execute(*args, **cmd_options)",
    '  File "/tmp/f10/.venv/lib/python3.11/site-packages/django/core/management/base.py", line 464, in execute',
    "    output = self.handle(*args, **options)",
    "             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    '  File "/tmp/f10/.venv/lib/python3.11/site-packages/django/core/management/base.py", line 111, in wrapper',
    "    res = handle_func(*args, **kwargs)",
    "          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    (
        '  File "/tmp/f10/.venv/lib/python3.11/site-packages/django/core/management/commands/migrate.py", '
        "line 353, in handle"
    ),
    "    post_migrate_state = executor.migrate(",
    "                         ^^^^^^^^^^^^^^^^^",
    '  File "/tmp/f10/.venv/lib/python3.11/site-packages/django/db/migrations/executor.py", line 107, in migrate',
    "    self.recorder.ensure_schema()",
    '  File "/tmp/f10/.venv/lib/python3.11/site-packages/django/db/migrations/recorder.py", line 80, in ensure_schema',
    "    raise MigrationSchemaMissing(",
    (
        "django.db.migrations.exceptions.MigrationSchemaMissing: Unable to create the django_migrations "
        "table (attempt to write a readonly database)"
    ),
)

F14_READONLY_STDOUT = (
    "Operations to perform:",
    "  Apply all migrations: contenttypes, lists, sessions",
    "Running migrations:",
)

F14_UNOPENABLE_STDERR_TAIL = (
    "    return func(*args, **kwargs)",
    "           ^^^^^^^^^^^^^^^^^^^^^",
    '  File "/tmp/f10/.venv/lib/python3.11/site-packages/django/db/backends/base/base.py", line 256, in connect',
    "    self.connection = self.get_new_connection(conn_params)",
    "                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    '  File "/tmp/f10/.venv/lib/python3.11/site-packages/django/utils/asyncio.py", line 26, in inner',
    "    return func(*args, **kwargs)",
    "           ^^^^^^^^^^^^^^^^^^^^^",
    (
        '  File "/tmp/f10/.venv/lib/python3.11/site-packages/django/db/backends/sqlite3/base.py", line 206, '
        "in get_new_connection"
    ),
    "    conn = Database.connect(**conn_params)",
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    "django.db.utils.OperationalError: unable to open database file",
)


# F10: a pin that does not exist.


def django_not_found(requirement: str) -> tuple[str, ...]:
    """pip's stderr for a Django pin this Python cannot have, as it printed it for django==9.9.9 and Django==6.0."""
    return (
        "WARNING: Location 'file:///opt/pypi-more/simple/django/' is ignored: it is neither a file nor a directory.",
        IGNORED_FOR_PYTHON_3_11,
        f"ERROR: Could not find a version that satisfies the requirement {requirement} "
        f"(from versions: {DJANGO_VERSIONS})",
        f"ERROR: No matching distribution found for {requirement}",
    )


def test_f10_names_the_pin_and_the_newest_versions_pip_listed() -> None:
    d = the_diagnosis("venv", pip_failed(django_not_found("django==9.9.9")), "F10")
    assert "django==9.9.9" in d.cause
    assert "..., 5.2.16, 5.2.17, 5.2.18, 5.2.19)" in d.cause  # shortened: the list is 420 versions long
    assert "1.1.3" not in d.cause
    assert "django==5.2.19" in d.fix
    assert "pip index versions django" in d.fix
    assert "requirements.txt" in d.fix
    assert "spelling" in d.fix
    assert any("No matching distribution found for django==9.9.9" in line for line in d.evidence)
    assert all(len(line) < 300 for line in d.evidence)  # not Django's 4,000-character list


def test_f10_a_name_the_index_does_not_know_is_a_spelling_to_check() -> None:
    d = the_diagnosis("venv", pip_failed(F10_MISSPELT_STDERR), "F10")
    assert "djangoo" in d.cause
    assert "from versions: none" in d.cause
    assert "misspelt" in d.cause
    assert "spelling of djangoo" in d.fix
    assert "pip index versions" not in d.fix  # there is nothing to list


def test_f10_a_release_for_a_newer_python_says_so() -> None:
    d = the_diagnosis("venv", pip_failed(django_not_found("Django==6.0")), "F10")
    assert "Django 6.0 exists" in d.cause
    assert "Python >=3.12" in d.cause
    assert "5.2.19" in d.fix
    assert "pip index versions Django" in d.fix


# F11: a build that needs a compiler or headers.


def test_f11_a_missing_header_names_its_debian_package() -> None:
    d = the_diagnosis("venv", pip_failed(F11_MYSQL_H_STDERR, F11_MYSQL_H_STDOUT), "F11")
    assert "needs-mysql" in d.cause
    assert "mysql.h" in d.cause
    assert "python3, python3-venv, git and curl" in d.cause
    assert "sudo apt install default-libmysqlclient-dev pkg-config," in d.fix
    assert "build-essential" not in d.fix  # gcc ran: only the header was missing
    assert any("fatal error: mysql.h" in line for line in d.evidence)


@pytest.mark.parametrize(
    "stderr", [F11_NO_GCC_STDERR, F11_NO_GCC_LEGACY_STDERR], ids=["setuptools-80", "setuptools-66"]
)
def test_f11_no_compiler_is_build_essential(stderr: tuple[str, ...]) -> None:
    d = the_diagnosis("venv", pip_failed(stderr), "F11")
    assert "a C compiler (gcc)" in d.cause
    assert "sudo apt install build-essential" in d.fix
    assert any("x86_64-linux-gnu-gcc" in line and "No such file or directory" in line for line in d.evidence)


def test_f11_pg_config_missing_is_libpq_dev_or_the_binary_package() -> None:
    failure = pip_failed(F11_PG_CONFIG_STDERR, F11_PG_CONFIG_STDOUT)
    # psycopg2 says why 30 lines before pip ends: only the line the venv step keeps carries it.
    assert not any("pg_config executable not found" in line for line in F11_PG_CONFIG_STDERR[-20:])
    d = the_diagnosis("venv", failure, "F11")
    assert "psycopg2" in d.cause
    assert "pg_config" in d.cause
    assert "sudo apt install libpq-dev" in d.fix
    assert "psycopg2-binary" in d.fix


def test_f11_mysqlclient_without_its_library() -> None:
    d = the_diagnosis("venv", pip_failed(F11_MYSQLCLIENT_STDERR_TAIL, F11_MYSQLCLIENT_STDOUT), "F11")
    assert "mysqlclient" in d.cause
    assert "sudo apt install default-libmysqlclient-dev pkg-config" in d.fix


def test_f11_python_h_is_python3_dev() -> None:
    # gcc's own words when Python's headers are missing (a build without -I/usr/include/python3.11).
    d = the_diagnosis("venv", pip_failed((*F11_PYTHON_H_GCC, "error: command 'gcc' failed with exit code 1")), "F11")
    assert "Python.h (python3-dev)" in d.cause
    assert "sudo apt install python3-dev" in d.fix


@pytest.mark.parametrize(
    ("header", "package"),
    [
        ("libpq-fe.h", "libpq-dev"),
        ("ffi.h", "libffi-dev"),
        ("openssl/ssl.h", "libssl-dev"),
        ("libxml/xmlversion.h", "libxml2-dev"),
        ("jpeglib.h", "libjpeg-dev"),
    ],
)
def test_f11_knows_the_usual_headers(header: str, package: str) -> None:
    said = (
        f"      src/module.c:12:10: fatal error: {header}: No such file or directory",
        "      compilation terminated.",
    )
    d = the_diagnosis("venv", pip_failed(said), "F11")
    assert f"sudo apt install {package}," in d.fix


def test_f11_an_unknown_header_says_how_to_find_its_package() -> None:
    said = ("      wrap.c:3:10: fatal error: frobnicate.h: No such file or directory", "      compilation terminated.")
    d = the_diagnosis("venv", pip_failed(said), "F11")
    assert "apt-file search frobnicate.h" in d.fix


def test_f11_both_compiler_and_header_when_both_are_missing() -> None:
    said = (*F11_NO_GCC_LEGACY_STDERR, *F11_PYTHON_H_GCC)
    d = the_diagnosis("venv", pip_failed(said), "F11")
    assert "sudo apt install build-essential python3-dev" in d.fix


# F12: pip killed for memory.


def test_f12_pip_killed_by_the_kernel_means_memory() -> None:
    # sh's words when the OOM killer ends pip (captured in a memory cgroup of 40 MiB), and its status.
    d = the_diagnosis("venv", pip_failed(("Killed",), status=137), "F12")
    assert "out of memory" in d.cause
    assert "sudo fallocate -l 1G /swapfile && sudo chmod 600 /swapfile && sudo mkswap /swapfile && " in d.fix
    assert "sudo swapon /swapfile" in d.fix
    assert "pip install --no-cache-dir -r requirements.txt" in d.fix
    assert "Killed" in d.evidence


def test_f12_bash_says_it_longer_and_a_bare_process_reports_minus_9() -> None:
    bash = ("bash: line 1:  7209 Killed                  .venv/bin/pip install -r requirements.txt",)
    assert the_diagnosis("venv", pip_failed(bash, status=137), "F12")
    assert the_diagnosis("venv", pip_failed(("Collecting Django==5.2.19",), status=-9), "F12")


def test_f12_only_for_pip() -> None:
    killed_server = StepFailed("manage.py migrate: exit status 137", ("Killed",), Facts(user=USER))
    assert diagnose("migrate", killed_server) is None


# F13: pip outside the venv.


def test_f13_the_system_pip_refuses_and_the_venv_pip_is_the_fix() -> None:
    d = the_diagnosis("venv", pip_failed(F13_STDERR), "F13")
    assert "PEP 668" in d.cause
    assert ".venv/bin/pip install -r requirements.txt" in d.fix
    assert ".venv/bin/python -m pip" in d.fix
    assert "Never --break-system-packages" in d.fix
    assert "error: externally-managed-environment" in d.evidence


# F14: SQLite the server's user cannot write.


def test_f14_a_readonly_database_names_the_files_to_give_back() -> None:
    d = the_diagnosis("migrate", migrate_failed(F14_READONLY_STDERR_TAIL, F14_READONLY_STDOUT), "F14")
    assert f"({SITE_DIR}/db.sqlite3)" in d.cause
    assert "journal" in d.cause
    assert "sudo ... manage.py migrate" in d.cause
    assert f"sudo chown {USER}: {SITE_DIR} {SITE_DIR}/db.sqlite3" in d.fix
    assert "never with sudo" in d.fix
    assert any("attempt to write a readonly database" in line for line in d.evidence)


def test_f14_an_unopenable_database_names_its_directory_and_variable() -> None:
    env = (*SITE_ENV[:2], ("DJANGO_DB_PATH", "/srv/superlists/db.sqlite3"))
    d = the_diagnosis("migrate", migrate_failed(F14_UNOPENABLE_STDERR_TAIL, env=env), "F14")
    assert "(/srv/superlists/db.sqlite3)" in d.cause
    assert "does not exist" in d.cause
    assert f"sudo mkdir -p /srv/superlists && sudo chown {USER}: /srv/superlists" in d.fix
    assert 'DJANGO_DB_PATH = "{db_path}"' in d.fix
    assert any("unable to open database file" in line for line in d.evidence)


def test_f14_without_the_env_says_where_to_look() -> None:
    d = the_diagnosis("migrate", migrate_failed(F14_READONLY_STDERR_TAIL, env=()), "F14")
    assert f"sudo chown {USER}: DIR DIR/db.sqlite3" in d.fix
    assert "beside manage.py" in d.fix


def test_f14_a_path_with_a_space_is_quoted_for_the_shell() -> None:
    env = (("DJANGO_DB_PATH", "/srv/my site/db.sqlite3"),)
    d = the_diagnosis("migrate", migrate_failed(F14_READONLY_STDERR_TAIL, env=env), "F14")
    assert f"sudo chown {USER}: '/srv/my site' '/srv/my site/db.sqlite3'" in d.fix


# The steps report what the rules read.


def step_failure(step: VenvStep | MigrateStep, rules: list[tuple[str, Answer]]) -> StepFailed:
    """What the step raises against a session answering its commands by rules."""
    site = make_site(
        "staging",
        {"domain": "superlists-staging.test", "host": "127.0.0.2", "repo": "/srv/git/x.git", "user": USER},
        "test",
    )
    ctx = Context(
        site=site,
        emit=lambda event: None,
        address="127.0.0.2",
        session=FakeSession(lambda event: None, rules),
        layout=SiteLayout(env=SITE_ENV),
    )
    with pytest.raises(StepFailed) as failed:
        asyncio.run(step.apply(ctx))
    return failed.value


def test_the_venv_step_keeps_the_reason_pip_buried_under_its_notes() -> None:
    answer = Answer(exit_status=1, stdout=F11_PG_CONFIG_STDOUT, stderr=F11_PG_CONFIG_STDERR)
    failure = step_failure(VenvStep(), [("pip install", answer)])
    assert "      Error: pg_config executable not found." in failure.evidence
    found = diagnose("venv", failure)
    assert found is not None
    assert found.code == "F11"
    assert "libpq-dev" in found.fix


def test_the_migrate_step_tells_the_rule_where_the_database_is() -> None:
    key = Answer(stdout=("k" * 50,))
    answer = Answer(exit_status=1, stdout=F14_READONLY_STDOUT, stderr=F14_READONLY_STDERR_TAIL)
    # The migrate command reads the key too: its rule first.
    failure = step_failure(MigrateStep(), [("manage.py migrate", answer), (".secret_key", key)])
    assert failure.facts.env == SITE_ENV
    found = diagnose("migrate", failure)
    assert found is not None
    assert found.code == "F14"
    assert f"sudo chown {USER}: {SITE_DIR} {SITE_DIR}/db.sqlite3" in found.fix


# Each rule keeps to its own texts; the chapter's D6 and D7 still win theirs.


def test_the_field_rules_decline_unrelated_failures() -> None:
    unrelated = (
        StepFailed("git checkout main: exit status 128", ("fatal: couldn't find remote ref main",)),
        StepFailed(
            "apt-get install: exit status 100",
            ("E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 9893 (apt-get)",),
        ),
        StepFailed("pip install -r requirements.txt: exit status 1", ("ERROR: Invalid requirement: 'django=5.2'",)),
        StepFailed("manage.py migrate: exit status 1", ("django.db.utils.OperationalError: database is locked",)),
    )
    for failure in unrelated:
        text = "\n".join((str(failure), *failure.evidence))
        for step in ("provision", "source", "venv", "migrate", "devserver", "smoke", "fts"):
            for check in FIELD_RULES:
                assert check(step, failure, text) is None, (check.__name__, step, str(failure))


def test_d6_no_django_in_the_venv_is_still_d6() -> None:
    failure = migrate_failed(
        (
            "Traceback (most recent call last):",
            '  File "/home/elspeth/sites/superlists-staging.test/manage.py", line 11, in main',
            "    from django.core.management import execute_from_command_line",
            "ModuleNotFoundError: No module named 'django'",
        )
    )
    found = diagnose("migrate", failure)
    assert found is not None
    assert found.code == "D6"


def test_d7_no_such_table_is_still_d7() -> None:
    outside = Probe("http://superlists-staging.test:8123/", "outside", 200, "To-Do lists", "", "", 0.01)
    inside = Probe("http://localhost:8123/", "inside", 200, "To-Do lists", "", "", 0.01)
    database_probe = Probe(
        "http://superlists-staging.test:8123/lists/0/",
        "outside",
        500,
        "OperationalError at /lists/0/",
        "",
        "no such table: lists_list",
        0.01,
    )
    failure = StepFailed(
        "http://superlists-staging.test:8123/lists/0/ from outside: HTTP 500; from inside: 200",
        ("django.db.utils.OperationalError: no such table: lists_list",),
        Facts(outside=outside, inside=inside, database=database_probe, port=8123, domain="superlists-staging.test"),
    )
    found = diagnose("smoke", failure)
    assert found is not None
    assert found.code == "D7"


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("      needs_mysql.c:2:10: fatal error: mysql.h: No such file or directory", True),
        ("      Error: pg_config executable not found.", True),
        ("Killed", True),
        ("ERROR: No matching distribution found for django==9.9.9", True),
        ("error: externally-managed-environment", True),
        ("Collecting Django==5.2.19", False),
        ("  note: This error originates from a subprocess, and is likely not a problem with pip.", False),
        ("      running build_ext", False),
    ],
)
def test_the_venv_step_keeps_the_lines_the_rules_read(line: str, kept: bool) -> None:
    assert pip.telling(line) is kept
