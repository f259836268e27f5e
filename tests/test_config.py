"""deploy.toml: sites, inheritance, and a one-line error for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy_tui.core.config import ConfigError, from_dict, load

STAGING = {"domain": "superlists-staging.example.com", "host": "203.0.113.7", "repo": "https://example.com/r.git"}


def test_a_minimal_site_gets_sensible_defaults() -> None:
    site = from_dict({"sites": {"staging": STAGING}}, "deploy.toml", {}).site("staging")
    assert site.branch == "main"
    assert site.directory == "~/sites/superlists-staging.example.com"
    assert site.address == "203.0.113.7"
    assert site.app_port == 8000
    assert site.hosts_allowed == ("superlists-staging.example.com",)


def test_live_inherits_from_defaults_and_staging_but_keeps_its_own_domain_and_directory() -> None:
    data = {
        "defaults": {"user": "elspeth"},
        "sites": {"staging": {**STAGING, "site_dir": "~/sites/staging"}, "live": {"domain": "superlists.example.com"}},
    }
    config = from_dict(data, "deploy.toml", {})
    live = config.site("live")
    assert (live.user, live.host, live.repo) == ("elspeth", "203.0.113.7", STAGING["repo"])
    assert live.domain == "superlists.example.com"
    assert live.directory == "~/sites/superlists.example.com"


def test_flags_override_the_chosen_site_only() -> None:
    data = {"sites": {"staging": STAGING, "live": {"domain": "superlists.example.com"}}}
    config = from_dict(data, "deploy.toml", {"branch": "release", "port": 2222}, "live")
    assert config.site("live").branch == "release"
    assert config.site("live").port == 2222
    assert config.site("staging").branch == "main"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("domain", "not a domain", "sites.staging.domain"),
        ("domain", "a" * 64 + ".com", "longer than 63"),
        ("host", "host; rm -rf /", "give an IP address, a host name"),
        ("port", 0, "from 1 to 65535"),
        ("port", "22", "from 1 to 65535"),
        ("port", True, "from 1 to 65535"),
        ("user", "Elspeth", "Unix user name"),
        ("user", "root", "non-root user"),
        ("user", "$(id)", "Unix user name"),
        ("repo", "--upload-pack=evil", "give a git URL"),
        ("repo", "not a url", "give a git URL"),
        ("branch", "main; reboot", "not a git branch"),
        ("branch", "-f", "not a git branch"),
        ("branch", "a..b", "not a git branch"),
        ("site_dir", "sites/x", "absolute path or one under ~/"),
        ("site_dir", "~/sites/../../etc", "'..'"),
        ("site_dir", "~/my site", "no spaces"),
        ("app_port", 70000, "from 1 to 65535"),
        ("address", "example.com", "IPv4 address"),
        ("allowed_hosts", "superlists.test", "list of domains"),
        ("identity_file", "/no/such/key", "no such file"),
        ("colour", "blue", "unknown key"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key_and_value(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        from_dict({"sites": {"staging": {**STAGING, key: value}}}, "deploy.toml", {})
    text = str(error.value)
    assert "\n" not in text
    assert f"sites.staging.{key}" in text


@pytest.mark.parametrize("missing", ["domain", "host", "repo"])
def test_required_keys(missing: str) -> None:
    values = {k: v for k, v in STAGING.items() if k != missing}
    with pytest.raises(ConfigError, match=f"sites.staging.{missing} is missing"):
        from_dict({"sites": {"staging": values}}, "deploy.toml", {})


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "deploy.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[sites.staging\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(bad)
    with pytest.raises(ConfigError, match="no sites"):
        from_dict({}, "deploy.toml", {})
    with pytest.raises(ConfigError, match="unknown table 'site'"):
        from_dict({"site": {}}, "deploy.toml", {})
    with pytest.raises(ConfigError, match=r"no site 'prod' \(sites: staging\)"):
        from_dict({"sites": {"staging": STAGING}}, "deploy.toml", {}).site("prod")
    with pytest.raises(ConfigError, match=r"dns.resolvers\[0\]"):
        from_dict({"sites": {"staging": STAGING}, "dns": {"resolvers": ["dns.google"]}}, "deploy.toml", {})


def test_cli_bad_config_is_one_line_without_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "deploy.toml"
    config.write_text(
        '[sites.staging]\ndomain = "superlists.test"\nhost = "127.0.0.2"\nrepo = "/r.git"\nport = 99999\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "deploy_tui", "run", "--headless", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"deploy-tui: {config}: sites.staging.port = 99999: must be a whole number from 1 to 65535"
    )
