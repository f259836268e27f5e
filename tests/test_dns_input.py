"""What the DNS checker accepts from the operator, and how it sums answers up."""

import pytest

from deploy_tui.core.events import DnsAnswer
from deploy_tui.core.resolvers import (
    DEFAULT_RESOLVERS,
    Resolver,
    ResolverInputError,
    load_resolvers,
    parse_resolver,
    resolvers_from_config,
)
from deploy_tui.core.shown import shown
from deploy_tui.remote.dns import AUTHORITATIVE, DnsInputError, Summary, parse_domain, parse_ip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("superlists.example.com", "superlists.example.com"),
        ("SuperLists.Example.COM.", "superlists.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_good_domains_are_normalised(text: str, expected: str) -> None:
    assert parse_domain(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        (" superlists.test", "empty or has spaces"),
        ("super lists.test", "spaces"),
        ("localhost", "has no dot"),
        ("a" * 64 + ".test", "longer than 63"),
        (".".join(["abcdefghij"] * 26), "longer than DNS allows"),
        ("under_score.test", "not a host name"),
        ("-lead.test", "not a host name"),
        ("a..b", "not a valid name"),
        ("bad!.test", "not a host name"),
    ],
)
def test_bad_domains_get_one_line_naming_the_value(text: str, message: str) -> None:
    with pytest.raises(DnsInputError, match=message) as error:
        parse_domain(text)
    assert "\n" not in str(error.value)
    assert shown(text) in str(error.value)


def test_ip_addresses_are_checked() -> None:
    assert str(parse_ip("127.0.0.2")) == "127.0.0.2"
    assert str(parse_ip("2001:db8::7")) == "2001:db8::7"
    for bad in ("999.1.1.1", "example.com", ""):
        with pytest.raises(DnsInputError, match="is not an IP address"):
            parse_ip(bad)


@pytest.mark.parametrize(
    ("text", "address", "port", "label"),
    [
        ("1.1.1.1", "1.1.1.1", 53, "1.1.1.1"),
        ("127.0.53.1:5353", "127.0.53.1", 5353, "127.0.53.1:5353"),
        ("[::1]:5300", "::1", 5300, "[::1]:5300"),
        ("2606:4700::1111", "2606:4700::1111", 53, "2606:4700::1111"),
    ],
)
def test_resolvers_parse(text: str, address: str, port: int, label: str) -> None:
    resolver = parse_resolver(text)
    assert (resolver.address, resolver.port, resolver.label) == (address, port, label)


@pytest.mark.parametrize("text", ["dns.google", "1.1.1.1:0", "1.1.1.1:99999", "[::1", "1.1.1.1:x"])
def test_a_resolver_that_is_not_an_address_is_refused(text: str) -> None:
    with pytest.raises(ResolverInputError) as error:
        parse_resolver(text)
    assert repr(text) in str(error.value)


def test_resolvers_from_deploy_toml() -> None:
    data = {"dns": {"resolvers": ["127.0.53.1", {"address": "127.0.53.2:5353", "name": "Box", "location": "here"}]}}
    assert resolvers_from_config(data, "deploy.toml") == (
        Resolver("127.0.53.1", "127.0.53.1", 53, ""),
        Resolver("Box", "127.0.53.2", 5353, "here"),
    )
    assert resolvers_from_config({}, "deploy.toml") is None
    with pytest.raises(ResolverInputError, match=r"dns.resolvers\[0\]: resolver 'nope'"):
        resolvers_from_config({"dns": {"resolvers": ["nope"]}}, "deploy.toml")
    with pytest.raises(ResolverInputError, match="unknown: port"):
        resolvers_from_config({"dns": {"resolvers": [{"address": "1.1.1.1", "port": 53}]}}, "deploy.toml")


def test_the_default_resolvers_are_many_distinct_and_spread_out() -> None:
    assert len(DEFAULT_RESOLVERS) >= 20
    assert len({r.address for r in DEFAULT_RESOLVERS}) == len(DEFAULT_RESOLVERS)
    assert len({r.location for r in DEFAULT_RESOLVERS}) >= 12


def _answer(status: str, ttl: int | None = 300, location: str = "") -> DnsAnswer:
    records = {"match": ("127.0.0.2",), "stale": ("127.0.0.99",)}.get(status, ())
    return DnsAnswer(
        domain="d.test",
        resolver="r",
        address="a",
        location=location,
        status=status,
        records=records,
        ttl=ttl,
        latency=0.01,
    )


def test_summary_counts_and_estimates_when_stale_answers_expire() -> None:
    summary = Summary(
        "d.test",
        ("127.0.0.2",),
        (
            _answer("match"),
            _answer("stale", ttl=250),
            _answer("stale", ttl=90),
            _answer("timeout", ttl=None),
            _answer("match", location=AUTHORITATIVE),
        ),
    )
    assert summary.matched == 1
    assert not summary.propagated
    assert summary.expires_within() == 250
    assert summary.text() == (
        "1 of 4 resolvers return 127.0.0.2 for d.test; 1 of 1 authoritative nameservers do; "
        "the stale answers should expire within 4 min (their TTLs)"
    )


def test_timeouts_and_refusals_do_not_block_propagation_but_a_wrong_authority_does() -> None:
    fine = Summary("d.test", ("127.0.0.2",), (_answer("match"), _answer("timeout"), _answer("refused")))
    assert fine.propagated
    assert fine.text().endswith(": propagated")
    wrong = Summary("d.test", ("127.0.0.2",), (_answer("match"), _answer("stale", location=AUTHORITATIVE)))
    assert not wrong.propagated
    nothing = Summary("d.test", ("127.0.0.2",), (_answer("timeout"),))
    assert not nothing.propagated


@pytest.mark.parametrize(
    "text",
    [
        "127.0.53.1:\u00b2",  # superscript two: str.isdigit() says yes
        "127.0.53.1:\uff15\uff13",  # full-width 53
        "127.0.53.1:5_353",
        "127.0.53.1:+53",
        "127.0.53.1:",
        "[::1]:",
        "127.0.53.1:" + "9" * 5000,  # int() would refuse it with ValueError of its own
        "\uff11.\uff11.\uff11.\uff11",  # full-width 1.1.1.1
        "127.0.53.1\x1b[2J",
        "127.0.53.1\u202e",
    ],
)
def test_a_resolver_with_a_port_or_address_outside_ascii_is_one_line(text: str) -> None:
    with pytest.raises(ResolverInputError) as error:
        parse_resolver(text)
    message = str(error.value)
    assert message.startswith(f"resolver {shown(text)}")
    assert message.isprintable()
    assert len(message) < 250


def test_an_ipv6_resolver_ending_in_a_colon_is_an_address_not_an_empty_port() -> None:
    assert parse_resolver("2001:db8::").address == "2001:db8::"


def test_load_resolvers_prefers_flags_then_the_dns_table_then_the_defaults() -> None:
    data = {"dns": {"resolvers": ["127.0.53.1"]}}
    assert [r.address for r in load_resolvers(["127.0.53.2:5353"], data)] == ["127.0.53.2"]
    assert [r.address for r in load_resolvers([], data)] == ["127.0.53.1"]
    assert load_resolvers([], None) == DEFAULT_RESOLVERS
    assert load_resolvers([], {"sites": {}}) == DEFAULT_RESOLVERS
    with pytest.raises(ResolverInputError, match=r"\[dns\] has no resolvers"):
        load_resolvers([], {"dns": {}})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("127.0.0.1", "is an IP address, not a domain name"),
        ("10.0.0.1.", "ends in a number"),
        ("\U0001f389.example.com", "which no domain name can hold"),
        ("superlists\x9b.test", r"control or invisible character \(\\x9b\)"),
        ("superlists\u202e.test", r"control or invisible character \(\\u202e\)"),
        ("superlists\x7f.test", "control or invisible character"),
    ],
)
def test_a_domain_that_is_an_address_an_emoji_or_has_control_characters_is_refused(text: str, message: str) -> None:
    with pytest.raises(DnsInputError, match=message) as error:
        parse_domain(text)
    assert str(error.value).isprintable()


def test_an_international_domain_is_still_accepted() -> None:
    assert parse_domain("caf\u00e9.example") == "xn--caf-dma.example"
    assert parse_domain("\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com") == "example.com"  # full-width letters map
