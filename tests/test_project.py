"""deploy_tui.project.reader: repositories in both editions' shapes, this one, and odd ones, built in tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from deploy_tui.project import SourceLine, read_project

CHECKOUT = Path(__file__).resolve().parent.parent


def make(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


MANAGE_PY = """
    #!/usr/bin/env python
    import os
    import sys

    if __name__ == "__main__":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superlists.settings")
        from django.core.management import execute_from_command_line
        execute_from_command_line(sys.argv)
"""

SECOND_EDITION = {
    "manage.py": MANAGE_PY,
    "requirements.txt": "django==1.11.13\nselenium==3.141.0\n",
    "superlists/__init__.py": "",
    "superlists/settings.py": """
        import os

        BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

        # SECURITY WARNING: keep the secret key used in production secret!
        SECRET_KEY = '3^2d!k@x(5f)v*_#b6n1-l0z'

        # SECURITY WARNING: don't run with debug turned on in production!
        DEBUG = True

        ALLOWED_HOSTS = ['superlists-staging.ottg.eu', 'localhost']

        INSTALLED_APPS = ['django.contrib.staticfiles', 'lists']

        STATIC_URL = '/static/'
        STATIC_ROOT = os.path.abspath(os.path.join(BASE_DIR, '../static'))
    """,
    "lists/__init__.py": "",
    "functional_tests/__init__.py": "",
    "functional_tests/tests.py": """
        import os
        import time

        from django.contrib.staticfiles.testing import StaticLiveServerTestCase
        from selenium import webdriver
        from selenium.webdriver.common.keys import Keys


        class NewVisitorTest(StaticLiveServerTestCase):

            def setUp(self):
                self.browser = webdriver.Firefox()
                staging_server = os.environ.get('STAGING_SERVER')
                if staging_server:
                    self.live_server_url = 'http://' + staging_server

            def test_can_start_a_list(self):
                self.browser.get(self.live_server_url)
                inputbox = self.browser.find_element_by_id('id_new_item')
                inputbox.send_keys(Keys.ENTER)
                table = self.browser.find_element_by_id('id_list_table')
                rows = table.find_elements_by_tag_name('tr')
    """,
}

THIRD_EDITION = {
    "requirements.txt": "django==5.2.3\ngunicorn==23.0.0\nwhitenoise==6.9.0\n",
    "src/manage.py": MANAGE_PY,
    "src/superlists/__init__.py": "",
    "src/superlists/settings.py": """
        import os
        from pathlib import Path

        BASE_DIR = Path(__file__).resolve().parent.parent

        if "DJANGO_DEBUG_FALSE" in os.environ:
            DEBUG = False
            SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
            ALLOWED_HOSTS = [os.environ["DJANGO_ALLOWED_HOST"]]
            db_path = os.environ["DJANGO_DB_PATH"]
        else:
            DEBUG = True
            SECRET_KEY = "insecure-key-for-dev"
            ALLOWED_HOSTS = []
            db_path = BASE_DIR / "db.sqlite3"

        MIDDLEWARE = [
            "django.middleware.security.SecurityMiddleware",
            "whitenoise.middleware.WhiteNoiseMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
        ]

        DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db_path}}

        STATIC_URL = "static/"
        STATIC_ROOT = BASE_DIR / "static"
    """,
    "src/functional_tests/__init__.py": "",
    "src/functional_tests/base.py": """
        import os

        from django.contrib.staticfiles.testing import StaticLiveServerTestCase
        from selenium import webdriver


        class FunctionalTest(StaticLiveServerTestCase):
            def setUp(self):
                self.browser = webdriver.Firefox()
                if test_server := os.environ.get("TEST_SERVER"):
                    self.live_server_url = "http://" + test_server
    """,
    "src/functional_tests/test_simple_list_creation.py": """
        from selenium.webdriver.common.by import By

        from .base import FunctionalTest


        class NewVisitorTest(FunctionalTest):
            def test_can_start_a_todo_list(self):
                self.browser.find_element(By.ID, "id_new_item")
    """,
}


# --- the book's two shapes, and this repository ------------------------------------------------


def test_second_edition(tmp_path: Path) -> None:
    project = read_project(make(tmp_path, SECOND_EDITION))

    assert (project.app_dir, project.manage_py) == ("", "manage.py")
    assert project.requirements == "requirements.txt"
    assert project.requirement_names == {"django", "selenium"}
    pin = project.django_pin
    assert pin is not None
    assert (pin.line, pin.line_number, pin.file, pin.exact) == ("django==1.11.13", 1, "requirements.txt", (1, 11, 13))
    assert (project.settings_module, project.settings_file) == ("superlists.settings", "superlists/settings.py")
    assert project.env_reads == ()
    hosts = project.allowed_hosts
    assert (hosts.kind, hosts.values, hosts.literal_line) == (
        "literal",
        ("superlists-staging.ottg.eu", "localhost"),
        11,
    )
    assert project.static_root == "os.path.abspath(os.path.join(BASE_DIR, '../static'))"
    assert not project.uses_whitenoise
    assert project.debug_env is None
    assert any("SECRET_KEY is hard-coded" in n and "line 6" in n for n in project.notes)
    assert any("DEBUG = True is hard-coded" in n for n in project.notes)

    fts = project.fts
    assert fts is not None
    assert (fts.directory, fts.runner, fts.browser) == ("functional_tests", "django", "firefox")
    assert fts.command == "python manage.py test functional_tests"
    assert fts.server_variables == ("STAGING_SERVER",)
    assert [(c.file, c.line) for c in fts.selenium3_calls] == [
        ("functional_tests/tests.py", 19),
        ("functional_tests/tests.py", 21),
        ("functional_tests/tests.py", 22),
    ]
    assert fts.selenium3_calls[0].text == "inputbox = self.browser.find_element_by_id('id_new_item')"
    assert any("Selenium 4.3" in n for n in project.notes)


def test_third_edition(tmp_path: Path) -> None:
    project = read_project(make(tmp_path, THIRD_EDITION))

    assert (project.app_dir, project.manage_py) == ("src", "src/manage.py")
    assert project.requirements == "requirements.txt"
    assert {"django", "gunicorn", "whitenoise"} == project.requirement_names
    assert project.django_pin is not None
    assert project.django_pin.describe() == "5.2.3"
    assert project.settings_file == "src/superlists/settings.py"
    assert [(r.name, r.kind, r.line) for r in project.env_reads] == [
        ("DJANGO_DEBUG_FALSE", "flag", 6),
        ("DJANGO_SECRET_KEY", "required", 8),
        ("DJANGO_ALLOWED_HOST", "required", 9),
        ("DJANGO_DB_PATH", "required", 10),
    ]
    assert project.env_reads[1].text == 'os.environ["DJANGO_SECRET_KEY"]'
    hosts = project.allowed_hosts
    assert (hosts.kind, hosts.env_names, hosts.comma_split, hosts.env_line) == (
        "env",
        ("DJANGO_ALLOWED_HOST",),
        False,
        9,
    )
    assert (hosts.values, hosts.literal_line) == ((), 14)  # the [] fallback for development
    assert [a.line for a in hosts.assignments] == [9, 14]
    assert project.static_root == 'BASE_DIR / "static"'
    assert project.uses_whitenoise
    assert project.debug is not None
    assert (project.debug_env, project.debug.on_value, project.debug.off_value) == ("DJANGO_DEBUG_FALSE", None, "1")
    assert not any("hard-coded" in n for n in project.notes)

    fts = project.fts
    assert fts is not None
    assert (fts.directory, fts.runner, fts.browser) == ("src/functional_tests", "django", "firefox")
    assert fts.argv == ("python", "src/manage.py", "test", "src/functional_tests")
    assert fts.server_variables == ("TEST_SERVER",)
    assert fts.selenium3_calls == ()


def test_this_repository_read_only() -> None:
    project = read_project(CHECKOUT)

    assert (project.app_dir, project.manage_py, project.settings_file) == ("", "manage.py", "superlists/settings.py")
    assert project.django_pin is not None
    assert project.django_pin.file == "requirements.txt"
    assert project.env_names == (
        "DJANGO_DEBUG",
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "DJANGO_DB_PATH",
        "DJANGO_STATIC_ROOT",
    )
    assert all(r.kind == "optional" for r in project.env_reads)
    assert project.env_reads[0].text == '_flag("DJANGO_DEBUG", default=True)'  # read through a helper
    assert project.debug is not None
    assert (project.debug_env, project.debug.on_value, project.debug.off_value) == ("DJANGO_DEBUG", "1", "0")
    hosts = project.allowed_hosts
    assert (hosts.kind, hosts.env_names, hosts.comma_split) == ("env", ("DJANGO_ALLOWED_HOSTS",), True)
    assert project.static_root == 'os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "static"'
    fts = project.fts
    assert fts is not None
    assert (fts.runner, fts.command, fts.browser) == ("pytest", "python -m pytest functional_tests", "chromium")
    assert fts.server_variables == ("STAGING_SERVER",)


# --- finding manage.py ------------------------------------------------------------------------


def test_two_manage_py_one_level_down_picks_the_first_and_notes_the_other(tmp_path: Path) -> None:
    make(tmp_path, {"beta/manage.py": MANAGE_PY, "alpha/manage.py": MANAGE_PY})
    project = read_project(tmp_path)
    assert (project.app_dir, project.manage_py) == ("alpha", "alpha/manage.py")
    assert any("several manage.py" in n and "beta/manage.py" in n for n in project.notes)


def test_root_manage_py_wins_over_src(tmp_path: Path) -> None:
    make(tmp_path, {"manage.py": MANAGE_PY, "src/manage.py": MANAGE_PY})
    project = read_project(tmp_path)
    assert project.app_dir == ""
    assert any("src/manage.py" in n for n in project.notes)


def test_src_wins_over_other_subdirectories(tmp_path: Path) -> None:
    make(tmp_path, {"aaa/manage.py": MANAGE_PY, "src/manage.py": MANAGE_PY})
    assert read_project(tmp_path).app_dir == "src"


def test_app_dir_override(tmp_path: Path) -> None:
    make(tmp_path, {"alpha/manage.py": MANAGE_PY, "beta/manage.py": MANAGE_PY})
    project = read_project(tmp_path, app_dir="beta/")
    assert (project.app_dir, project.manage_py) == ("beta", "beta/manage.py")
    assert not any("several" in n for n in project.notes)

    missing = read_project(tmp_path, app_dir="gamma")
    assert (missing.app_dir, missing.manage_py) == ("gamma", None)
    assert any("'gamma' has no manage.py" in n for n in missing.notes)

    with pytest.raises(ValueError, match="inside the repository"):
        read_project(tmp_path, app_dir="../elsewhere")


def test_no_manage_py_at_all(tmp_path: Path) -> None:
    make(tmp_path, {"README.md": "hello\n", "docs/index.md": "x\n"})
    project = read_project(tmp_path)
    assert (project.app_dir, project.manage_py, project.settings_file, project.fts) == ("", None, None, None)
    assert any("no manage.py" in n for n in project.notes)


def test_hidden_and_venv_directories_are_not_candidates(tmp_path: Path) -> None:
    make(tmp_path, {".venv/manage.py": MANAGE_PY, "venv/manage.py": MANAGE_PY, "site/manage.py": MANAGE_PY})
    project = read_project(tmp_path)
    assert project.app_dir == "site"
    assert not any("several" in n for n in project.notes)


def test_root_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        read_project(tmp_path / "nothing-here")


# --- requirements -----------------------------------------------------------------------------


def test_no_requirements(tmp_path: Path) -> None:
    make(tmp_path, {"manage.py": MANAGE_PY, "pyproject.toml": "[project]\nname = 'x'\n"})
    project = read_project(tmp_path)
    assert (project.requirements, project.requirement_names, project.django_pin) == (None, frozenset(), None)
    assert any("no requirements file" in n and "pyproject.toml" in n for n in project.notes)


def test_unpinned_django_is_none_with_a_note(tmp_path: Path) -> None:
    make(tmp_path, {"manage.py": MANAGE_PY, "requirements.txt": "# deps\nDjango\ngunicorn\n"})
    project = read_project(tmp_path)
    assert project.django_pin is None
    assert "django" in project.requirement_names
    assert any("without a version (requirements.txt line 2)" in n for n in project.notes)


def test_django_missing_from_requirements(tmp_path: Path) -> None:
    make(tmp_path, {"manage.py": MANAGE_PY, "requirements.txt": "gunicorn\n"})
    project = read_project(tmp_path)
    assert project.django_pin is None
    assert any("Django is not in requirements.txt" in n for n in project.notes)


def test_range_pin_comments_extras_markers_and_hashes(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "manage.py": MANAGE_PY,
            "requirements.txt": """
                # the web framework
                Django[argon2] >=4.2, <5 ; python_version >= "3.8"  # LTS
                django-environ==0.11.2 \\
                    --hash=sha256:0123
                Whitenoise_Extra.Pkg~=1.0
            """,
        },
    )
    project = read_project(tmp_path)
    pin = project.django_pin
    assert pin is not None
    assert (pin.line_number, pin.specifier, pin.low, pin.high, pin.high_inclusive) == (
        2,
        ">=4.2,<5",
        (4, 2),
        (5,),
        False,
    )
    assert pin.describe() == ">=4.2, <5"
    assert project.requirement_names == {"django", "django-environ", "whitenoise-extra-pkg"}


def test_requirements_include_is_followed(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "manage.py": MANAGE_PY,
            "requirements.txt": "-r requirements/base.txt\ngunicorn\n-r ../../../etc/passwd\n-c constraints.txt\n",
            "requirements/base.txt": "--requirement=common.txt\nDjango~=4.2.0\n",
            "requirements/common.txt": "whitenoise\n-r ../requirements.txt\n",  # a loop, not followed twice
        },
    )
    project = read_project(tmp_path)
    assert project.requirement_files == ("requirements.txt", "requirements/base.txt", "requirements/common.txt")
    assert project.requirement_names == {"django", "gunicorn", "whitenoise"}
    pin = project.django_pin
    assert pin is not None
    assert (pin.file, pin.line_number, pin.low, pin.high) == ("requirements/base.txt", 2, (4, 2, 0), (4, 3))
    assert any("not in the repository: not followed" in n for n in project.notes)
    assert any("constraints file" in n for n in project.notes)


def test_requirements_base_txt_when_there_is_no_requirements_txt(tmp_path: Path) -> None:
    make(tmp_path, {"manage.py": MANAGE_PY, "requirements/base.txt": "django==5.2.*\n"})
    project = read_project(tmp_path)
    assert project.requirements == "requirements/base.txt"
    assert project.django_pin is not None
    assert project.django_pin.describe() == ">=5.2, <5.3"


def test_requirements_override_and_app_dir_requirements(tmp_path: Path) -> None:
    make(
        tmp_path,
        {"src/manage.py": MANAGE_PY, "src/requirements.txt": "django==4.2.1\n", "deploy/reqs.txt": "django==5.2\n"},
    )
    assert read_project(tmp_path).requirements == "src/requirements.txt"
    overridden = read_project(tmp_path, requirements="deploy/reqs.txt")
    assert overridden.requirements == "deploy/reqs.txt"
    assert overridden.django_pin is not None
    assert overridden.django_pin.exact == (5, 2)
    with pytest.raises(ValueError, match="inside the repository"):
        read_project(tmp_path, requirements="/etc/passwd")


def test_unreadable_django_version_is_a_note(tmp_path: Path) -> None:
    make(tmp_path, {"manage.py": MANAGE_PY, "requirements.txt": "django==\n"})
    project = read_project(tmp_path)
    assert project.django_pin is None
    assert any("cannot read Django's version" in n for n in project.notes)


# --- settings ---------------------------------------------------------------------------------


def test_settings_module_in_another_package_with_star_imports(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "manage.py": MANAGE_PY.replace("superlists.settings", "config.settings.production"),
            "superlists/__init__.py": "",
            "superlists/urls.py": "urlpatterns = []\n",
            "config/__init__.py": "",
            "config/settings/__init__.py": "",
            "config/settings/base.py": """
                import os
                SECRET_KEY = os.environ["APP_SECRET_KEY"]
                DEBUG = False
            """,
            "config/settings/production.py": """
                from .base import *
                try:
                    from .local import *
                except ImportError:
                    pass

                ALLOWED_HOSTS = os.environ.get("APP_HOSTS", "").split(",")
            """,
        },
    )
    project = read_project(tmp_path)
    assert project.settings_module == "config.settings.production"
    assert project.settings_file == "config/settings/production.py"
    assert project.settings_files == ("config/settings/production.py", "config/settings/base.py")
    assert [(r.name, r.file) for r in project.env_reads] == [
        ("APP_SECRET_KEY", "config/settings/base.py"),
        ("APP_HOSTS", "config/settings/production.py"),
    ]
    hosts = project.allowed_hosts
    assert (hosts.kind, hosts.env_names, hosts.comma_split) == ("env", ("APP_HOSTS",), True)


def test_settings_found_by_looking_when_manage_py_names_none(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "manage.py": "import sys\nprint(sys.argv)\n",
            "mysite/settings.py": "ALLOWED_HOSTS = ['*']\n",
        },
    )
    project = read_project(tmp_path)
    assert (project.settings_module, project.settings_file) == (None, "mysite/settings.py")
    assert project.allowed_hosts.values == ("*",)
    assert any("sets no DJANGO_SETTINGS_MODULE" in n for n in project.notes)


def test_settings_module_named_but_missing(tmp_path: Path) -> None:
    make(tmp_path, {"manage.py": MANAGE_PY})
    project = read_project(tmp_path)
    assert (project.settings_module, project.settings_file) == ("superlists.settings", None)
    assert any("no such file" in n for n in project.notes)


def _settings_repo(tmp_path: Path, settings: str) -> Path:
    return make(tmp_path, {"manage.py": MANAGE_PY, "superlists/settings.py": settings})


def test_every_kind_of_environment_read(tmp_path: Path) -> None:
    _settings_repo(
        tmp_path,
        """
        import os
        from os import environ, getenv

        A = os.environ["A"]
        B = os.environ.get("B")
        C = os.environ.get("C", "default")
        D = os.getenv("D")
        E = getenv("E", "x")
        F = environ.get("F")
        G = environ["G"]
        if "H" in os.environ:
            pass
        if "I" not in environ:
            pass
        os.environ["NOT_A_READ"] = "1"
        J = os.environ.setdefault("J", "1")
        name = "DYNAMIC"
        K = os.environ.get(name)
        """,
    )
    project = read_project(tmp_path)
    assert [(r.name, r.kind) for r in project.env_reads] == [
        ("A", "required"),
        ("B", "optional"),
        ("C", "optional"),
        ("D", "optional"),
        ("E", "optional"),
        ("F", "optional"),
        ("G", "required"),
        ("H", "flag"),
        ("I", "flag"),
        ("J", "optional"),
    ]
    assert project.env_reads[0].line == 4
    assert project.env_reads[0].required


def test_django_environ(tmp_path: Path) -> None:
    _settings_repo(
        tmp_path,
        """
        import environ

        env = environ.Env(DEBUG=(bool, False))
        environ.Env.read_env()
        DEBUG = env("DEBUG")
        SECRET_KEY = env("DJANGO_SECRET_KEY")
        ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
        DATABASES = {"default": env.db()}
        SENTRY = env.str("SENTRY_DSN", "")
        """,
    )
    project = read_project(tmp_path)
    assert [(r.name, r.kind) for r in project.env_reads] == [
        ("DEBUG", "optional"),
        ("DJANGO_SECRET_KEY", "required"),
        ("DJANGO_ALLOWED_HOSTS", "optional"),
        ("DATABASE_URL", "required"),
        ("SENTRY_DSN", "optional"),
    ]
    assert project.allowed_hosts.comma_split
    assert project.debug_env == "DEBUG"


def test_allowed_hosts_comma_split_from_get(tmp_path: Path) -> None:
    _settings_repo(tmp_path, 'import os\nALLOWED_HOSTS = os.environ.get("X", "").split(",")\n')
    hosts = read_project(tmp_path).allowed_hosts
    assert (hosts.kind, hosts.env_names, hosts.comma_split, hosts.env_line) == ("env", ("X",), True, 2)


def test_allowed_hosts_through_a_module_variable_and_append(tmp_path: Path) -> None:
    _settings_repo(
        tmp_path,
        """
        import os
        DOMAIN = os.environ["SITENAME"]
        ALLOWED_HOSTS = [DOMAIN]
        ALLOWED_HOSTS.append("localhost")
        ALLOWED_HOSTS += ["127.0.0.1"]
        """,
    )
    hosts = read_project(tmp_path).allowed_hosts
    assert (hosts.kind, hosts.env_names, hosts.comma_split) == ("env", ("SITENAME",), False)
    assert hosts.values == ("localhost", "127.0.0.1")
    assert [a.line for a in hosts.assignments] == [3, 4, 5]


def test_allowed_hosts_unknown_and_unset(tmp_path: Path) -> None:
    _settings_repo(tmp_path, "from .hosts import compute\nALLOWED_HOSTS = compute()\n")
    hosts = read_project(tmp_path).allowed_hosts
    assert (hosts.kind, hosts.assignments) == (
        "unknown",
        (SourceLine("superlists/settings.py", 2, hosts.assignments[0].text),),
    )

    _settings_repo(tmp_path, "DEBUG = True\n")
    make(tmp_path, {"requirements.txt": "django==5.2\n"})
    project = read_project(tmp_path)
    assert project.allowed_hosts.kind == "unset"
    assert any("never set ALLOWED_HOSTS" in n for n in project.notes)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('DEBUG = os.environ.get("DJANGO_DEBUG", "False") == "True"', ("DJANGO_DEBUG", "True", "False")),
        ('DEBUG = os.environ.get("DJANGO_DEBUG", "").lower() in ("1", "true")', ("DJANGO_DEBUG", "1", "0")),
        ('DEBUG = os.environ.get("DJANGO_DEBUG") != "0"', ("DJANGO_DEBUG", "1", "0")),
        ('DEBUG = bool(int(os.environ.get("DJANGO_DEBUG", "0")))', ("DJANGO_DEBUG", "1", "0")),
        ('DEBUG = "DJANGO_PRODUCTION" not in os.environ', ("DJANGO_PRODUCTION", None, "1")),
        ('DEBUG = not os.environ.get("DJANGO_LIVE")', ("DJANGO_LIVE", None, "1")),
        ('DEBUG = os.environ["DJANGO_DEBUG"]', ("DJANGO_DEBUG", "1", "")),  # unset would be a KeyError
    ],
)
def test_debug_switch_values(tmp_path: Path, line: str, expected: tuple[str, str | None, str | None]) -> None:
    _settings_repo(tmp_path, f"import os\n{line}\n")
    debug = read_project(tmp_path).debug
    assert debug is not None
    assert (debug.env, debug.on_value, debug.off_value) == expected
    assert debug.understood


def test_debug_switch_in_the_second_edition_chapter_10_shape(tmp_path: Path) -> None:
    _settings_repo(
        tmp_path,
        """
        import os
        if 'DJANGO_DEBUG_FALSE' in os.environ:
            DEBUG = False
            SECRET_KEY = os.environ['DJANGO_SECRET_KEY']
            ALLOWED_HOSTS = [os.environ['SITENAME']]
        else:
            DEBUG = True
            SECRET_KEY = 'insecure-key-for-dev'
            ALLOWED_HOSTS = []
        """,
    )
    project = read_project(tmp_path)
    assert project.debug is not None
    assert (project.debug_env, project.debug.line, project.debug.off_value) == ("DJANGO_DEBUG_FALSE", 2, "1")
    assert project.allowed_hosts.env_names == ("SITENAME",)
    assert not any("hard-coded" in n for n in project.notes)


def test_debug_switch_not_understood(tmp_path: Path) -> None:
    _settings_repo(tmp_path, 'import os\nDEBUG = os.environ.get("MODE") == "dev" or os.environ.get("CI")\n')
    debug = read_project(tmp_path).debug
    assert debug is not None
    assert (debug.env, debug.understood) == ("MODE", False)


def test_python2_settings_still_give_what_can_be_found(tmp_path: Path) -> None:
    _settings_repo(
        tmp_path,
        """
        import os
        print "loading settings"
        try:
            import local
        except ImportError, e:
            pass
        SECRET_KEY = os.environ['DJANGO_SECRET_KEY']
        FILE_UPLOAD_PERMISSIONS = 0644
        ALLOWED_HOSTS = [os.environ['SITENAME']]
        STATIC_ROOT = os.path.join(BASE_DIR, '../static')
        DEBUG = os.environ.get('DJANGO_DEBUG', '') == '1'
        """,
    )
    project = read_project(tmp_path)
    assert [(r.name, r.line) for r in project.env_reads] == [
        ("DJANGO_SECRET_KEY", 7),
        ("SITENAME", 9),
        ("DJANGO_DEBUG", 11),
    ]
    assert project.allowed_hosts.env_names == ("SITENAME",)
    assert project.static_root == "os.path.join(BASE_DIR, '../static')"
    assert project.debug is not None
    assert (project.debug.env, project.debug.on_value) == ("DJANGO_DEBUG", "1")
    note = next(n for n in project.notes if "does not parse" in n)
    assert "(line 8: leading zeros" in note  # the tokenizer's complaint comes before the parser's
    assert "without line(s) 2, 5, 8" in note


def test_hopeless_settings_fall_back_to_patterns(tmp_path: Path) -> None:
    prints = "".join(f'print "line {i}"\n' for i in range(80))
    _settings_repo(
        tmp_path,
        prints
        + "SECRET_KEY = os.environ['DJANGO_SECRET_KEY']\n"
        + "if 'DJANGO_DEBUG_FALSE' in os.environ: pass\n"
        + "ALLOWED_HOSTS = ['example.com']\n"
        + "DEBUG = os.getenv('DJANGO_DEBUG')\n"
        + "MIDDLEWARE = ['whitenoise.middleware.WhiteNoiseMiddleware']\n",
    )
    project = read_project(tmp_path)
    assert [(r.name, r.kind, r.line) for r in project.env_reads] == [
        ("DJANGO_SECRET_KEY", "required", 81),
        ("DJANGO_DEBUG_FALSE", "flag", 82),
        ("DJANGO_DEBUG", "optional", 84),
    ]
    assert (project.allowed_hosts.kind, project.allowed_hosts.values) == ("literal", ("example.com",))
    assert project.debug_env == "DJANGO_DEBUG"
    assert project.uses_whitenoise
    assert any("searched it with patterns" in n for n in project.notes)


def test_settings_that_are_not_text_at_all(tmp_path: Path) -> None:
    make(tmp_path, {"manage.py": MANAGE_PY})
    (tmp_path / "superlists").mkdir()
    (tmp_path / "superlists/settings.py").write_bytes(b"\xff\xfe\x00garbage\x00\nDEBUG = True\n")
    project = read_project(tmp_path)  # does not raise
    assert project.settings_file == "superlists/settings.py"


def test_symlink_out_of_the_repository_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    make(outside, {"settings.py": 'import os\nSECRET = os.environ["LEAKED"]\n'})
    repo = make(tmp_path / "repo", {"manage.py": MANAGE_PY, "superlists/__init__.py": ""})
    (repo / "superlists/settings.py").symlink_to(outside / "settings.py")
    (repo / "requirements.txt").symlink_to(outside / "settings.py")
    project = read_project(repo)
    assert project.env_reads == ()
    assert project.requirements is None
    assert project.settings_file is None
    assert "superlists/settings.py is a symlink out of the repository: not read" in project.notes
    assert "requirements.txt is a symlink out of the repository: not read" in project.notes


def test_symlink_inside_the_repository_is_read(tmp_path: Path) -> None:
    make(tmp_path, {"manage.py": MANAGE_PY, "shared/settings.py": 'import os\nX = os.environ["INSIDE"]\n'})
    (tmp_path / "superlists").mkdir()
    (tmp_path / "superlists/settings.py").symlink_to(tmp_path / "shared/settings.py")
    assert read_project(tmp_path).env_names == ("INSIDE",)


def test_files_over_a_megabyte_are_skipped(tmp_path: Path) -> None:
    _settings_repo(tmp_path, 'import os\nX = os.environ["BIG"]\n' + "#" * 1_100_000 + "\n")
    project = read_project(tmp_path)
    assert project.env_reads == ()
    assert any("over 1 MB" in n for n in project.notes)


# --- functional tests -------------------------------------------------------------------------


def test_pytest_fts_found_by_conftest_and_chrome(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "src/manage.py": MANAGE_PY,
            "src/functional_tests/conftest.py": "import pytest\n",
            "src/functional_tests/test_home.py": """
                from selenium import webdriver

                def test_home(live_server):
                    browser = webdriver.Chrome()
                    browser.find_elements_by_css_selector("li")
            """,
        },
    )
    fts = read_project(tmp_path).fts
    assert fts is not None
    assert (fts.runner, fts.command, fts.browser) == ("pytest", "python -m pytest src/functional_tests", "chrome")
    assert fts.selenium3_calls == (
        SourceLine("src/functional_tests/test_home.py", 5, 'browser.find_elements_by_css_selector("li")'),
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pytest.ini", "[pytest]\nDJANGO_SETTINGS_MODULE = superlists.settings\n"),
        ("setup.cfg", "[tool:pytest]\naddopts = --ds=superlists.settings\n"),
        ("pyproject.toml", '[tool.pytest.ini_options]\nDJANGO_SETTINGS_MODULE = "superlists.settings"\n'),
    ],
)
def test_pytest_django_config_makes_the_runner_pytest(tmp_path: Path, name: str, text: str) -> None:
    make(tmp_path, {**SECOND_EDITION, name: text})
    fts = read_project(tmp_path).fts
    assert fts is not None
    assert (fts.runner, fts.argv) == ("pytest", ("python", "-m", "pytest", "functional_tests"))


def test_django_runner_without_manage_py_cannot_run(tmp_path: Path) -> None:
    make(tmp_path, {"functional_tests/tests.py": "import unittest\n"})
    project = read_project(tmp_path)
    assert project.fts is not None
    assert (project.fts.runner, project.fts.argv) == ("django", ())
    assert any("no manage.py" in n and "manage.py test" in n for n in project.notes)
    assert any("no __init__.py" in n for n in project.notes)


def test_no_functional_tests(tmp_path: Path) -> None:
    make(tmp_path, {"manage.py": MANAGE_PY})
    assert read_project(tmp_path).fts is None
