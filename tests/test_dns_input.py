"""What the DNS checker accepts from the operator, and how it sums answers up."""

import pytest

from deploy_tui.core.events import DnsAnswer
from deploy_tui.core.resolvers import (
    DEFAULT_RESOLVERS,
    Resolver,
    ResolverInputError,
    parse_resolver,
    resolvers_from_config,
)
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
    assert repr(text) in str(error.value)


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
