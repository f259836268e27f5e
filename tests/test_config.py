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


# Values that loaded before and broke later: each refused at load, one line naming the key.


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("~/", "the home directory itself"),
        ("~/./", "the home directory itself"),
        ("/", "the root directory itself"),
        ("//", "the root directory itself"),
        ("~/" + "a" * 260, "too long"),
        ("~/" + "a/" * 17, "17 directories deep"),
        ("~/.ssh", "inside .ssh"),
        ("~/.ssh/sites/x", "inside .ssh"),
        ("/home/elspeth/.ssh", "inside .ssh"),
    ],
)
def test_a_site_dir_that_is_no_directory_of_the_sites_own_is_refused(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        from_dict({"sites": {"staging": {**STAGING, "site_dir": value}}}, "deploy.toml", {})
    assert str(error.value).startswith("deploy.toml: sites.staging.site_dir = '")
    assert len(str(error.value)) < 300


def test_a_site_dir_of_its_own_is_kept_without_its_trailing_slash() -> None:
    site = from_dict({"sites": {"staging": {**STAGING, "site_dir": "~/sites/a.test/"}}}, "deploy.toml", {})
    assert site.site("staging").site_dir == "~/sites/a.test"


def _key_file(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    "header",
    [
        b"-----BEGIN OPENSSH PRIVATE KEY-----\n",
        b"-----BEGIN RSA PRIVATE KEY-----\r\n",
        b"-----BEGIN EC PRIVATE KEY-----\n",
        b"-----BEGIN PRIVATE KEY-----\n",
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
    ],
)
def test_an_identity_file_with_a_private_key_header_is_accepted(tmp_path: Path, header: bytes) -> None:
    key = _key_file(tmp_path, "id_test", header + b"b3BlbnNzaC1rZXktdjEAAAAA\n-----END PRIVATE KEY-----\n")
    site = from_dict({"sites": {"staging": {**STAGING, "identity_file": key}}}, "deploy.toml", {}).site("staging")
    assert site.identity_file == key


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("passwd", b"root:x:0:0:SECRET-CONTENT:/root:/bin/bash\n", "not a private key"),
        ("id_ed25519.pub", b"ssh-ed25519 AAAAC3NzaSECRET-CONTENT elspeth@box\n", "the public half"),
        ("blob", bytes(range(256)) * 4, "not a private key"),
        ("empty", b"", "not a private key"),
    ],
)
def test_an_identity_file_that_is_not_a_private_key_is_refused_without_quoting_it(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    key = _key_file(tmp_path, name, data)
    with pytest.raises(ConfigError, match=message) as error:
        from_dict({"sites": {"staging": {**STAGING, "identity_file": key}}}, "deploy.toml", {})
    text = str(error.value)
    assert text.startswith(f"deploy.toml: sites.staging.identity_file = '{key}': ")
    assert "SECRET-CONTENT" not in text
    assert "\n" not in text


def test_an_identity_file_that_is_a_directory_or_a_device_is_refused(tmp_path: Path) -> None:
    for path, message in ((tmp_path, "no such file"), ("/dev/null", "not a regular file")):
        with pytest.raises(ConfigError, match=message):
            from_dict({"sites": {"staging": {**STAGING, "identity_file": str(path)}}}, "deploy.toml", {})


def test_known_hosts_must_name_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sites.staging.known_hosts = '': empty"):
        from_dict({"sites": {"staging": {**STAGING, "known_hosts": ""}}}, "deploy.toml", {})
    with pytest.raises(ConfigError, match="not a regular file"):
        from_dict({"sites": {"staging": {**STAGING, "known_hosts": str(tmp_path)}}}, "deploy.toml", {})
    missing = tmp_path / "known_hosts"  # created when a key is saved
    site = from_dict({"sites": {"staging": {**STAGING, "known_hosts": str(missing)}}}, "deploy.toml", {})
    assert site.site("staging").known_hosts == str(missing)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"dns": {"resolver": ["1.1.1.1"]}}, r"deploy.toml: dns.resolver: unknown key; the \[dns\] keys are resolvers"),
        ({"dns": {}}, r"\[dns\] has no resolvers"),
        ({"dns": {"resolvers": ["1.1.1.1"], "timeout": 3}}, "dns.timeout: unknown key"),
        ({"dns": "1.1.1.1"}, "dns must be a table"),
        ({"dns": {"resolvers": [{"address": "1.1.1.1", "name": "box\x1b[2J"}]}}, r"name = 'box\\x1b\[2J'"),
        ({"dns": {"resolvers": [{"address": "1.1.1.1", "location": 5}]}}, "must be a string"),
    ],
)
def test_a_dns_table_is_what_it_says_or_an_error(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        from_dict({"sites": {"staging": STAGING}, **data}, "deploy.toml", {})
    assert "\x1b" not in str(error.value)


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("branch", "main\x7f", r"'main\x7f'"),
        ("branch", "main\x9b31m", r"'main\x9b31m'"),
        ("branch", "ma\u202ein", r"'ma\u202ein'"),
        ("branch", "main\x1b[2J", r"'main\x1b[2J'"),
        ("repo", "/srv/r.git\u2066", r"'/srv/r.git\u2066'"),
        ("user", "elspeth\x00", r"'elspeth\x00'"),
    ],
)
def test_control_and_bidi_characters_are_refused_and_shown_escaped(key: str, value: str, shown: str) -> None:
    with pytest.raises(ConfigError, match="control or invisible character") as error:
        from_dict({"sites": {"staging": {**STAGING, key: value}}}, "deploy.toml", {})
    text = str(error.value)
    assert f"sites.staging.{key} = {shown}" in text
    assert text.isprintable()


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("127.0.0.1", "is an IP address, not a domain name"),
        ("203.0.113.7.", "ends in a number"),
        ("\U0001f389.example.com", "which no domain name can hold"),
        ("\u2603.net", "which no domain name can hold"),
    ],
)
def test_a_domain_that_is_an_address_or_outside_idna_is_refused(domain: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_dict({"sites": {"staging": {**STAGING, "domain": domain}}}, "deploy.toml", {})


def test_a_huge_value_is_shown_cut_short() -> None:
    with pytest.raises(ConfigError) as error:
        from_dict({"sites": {"staging": {**STAGING, "repo": "x" * 10_000}}}, "deploy.toml", {})
    text = str(error.value)
    assert len(text) < 200
    assert "(10000 characters)" in text


def test_an_env_value_that_may_be_a_secret_is_never_shown() -> None:
    env = {"DJANGO_SECRET_KEY": "hunter2-{nope}"}
    with pytest.raises(ConfigError, match=r"env.DJANGO_SECRET_KEY = '\*+': unknown placeholder \{nope\}") as error:
        from_dict({"sites": {"staging": {**STAGING, "env": env}}}, "deploy.toml", {})
    assert "hunter2" not in str(error.value)


def test_a_site_name_is_a_plain_word() -> None:
    with pytest.raises(ConfigError, match=r"\[sites.st\\u202eaging\]: a site's name is letters"):
        from_dict({"sites": {"st\u202eaging": STAGING}}, "deploy.toml", {})
    with pytest.raises(ConfigError, match=r"no site 'x+…' \(10000 characters\)"):
        from_dict({"sites": {"staging": STAGING}}, "deploy.toml", {}).site("x" * 10_000)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe[sites.staging]\n", r"not UTF-8 text \(byte 0\)"),
        (b"[sites.staging\n", "not valid TOML"),
    ],
)
def test_a_config_file_that_is_not_toml_text_is_one_line(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "deploy.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=message):
        load(path)


def test_a_config_path_that_is_not_a_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"a directory; give the deploy\.toml file"):
        load(tmp_path)
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load(Path("/bin/ls"))
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / ("x" * 5000))  # too long a name for the kernel: still "no such file", not OSError
