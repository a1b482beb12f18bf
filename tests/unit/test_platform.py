"""The platform-URL policy: what the bridge will send a user's sid to."""

from __future__ import annotations

import asyncio

import pytest

from ib_oauth_bridge.ib.platform import HostPolicy, PlatformURLError

POLICY = HostPolicy(("*.intelligencebank.com",), dev_urls=("http://127.0.0.1:8001",))


@pytest.mark.parametrize(
    ("raw", "origin"),
    [
        ("https://acme.intelligencebank.com", "https://acme.intelligencebank.com"),
        ("acme.intelligencebank.com", "https://acme.intelligencebank.com"),
        ("https://ACME.IntelligenceBank.com/app/#/home", "https://acme.intelligencebank.com"),
        ("https://acme.intelligencebank.com:8443/", "https://acme.intelligencebank.com:8443"),
        ("  https://acme.intelligencebank.com  ", "https://acme.intelligencebank.com"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
    ],
)
def test_accepted(raw: str, origin: str) -> None:
    assert POLICY.normalize(raw) == origin


@pytest.mark.parametrize(
    "raw",
    [
        "http://acme.intelligencebank.com", "https://10.0.0.1", "https://[::1]:443",
        "https://intelligencebank.com", "https://acme.intelligencebank.com.evil.com",
        "https://evil.com/acme.intelligencebank.com", "https://a@acme.intelligencebank.com",
        "ftp://acme.intelligencebank.com", "https://acme.intelligencebank.com:99999",
        "http://127.0.0.1:8002", "https://acme.intelligencebank.com\n.evil.com", "",
    ],
)
def test_refused(raw: str) -> None:
    with pytest.raises(PlatformURLError):
        POLICY.normalize(raw)


# The address as people type it: all of these mean the one tenant's origin.
TYPED = [
    "acme",
    "ACME",
    "  acme  ",
    "acme.intelligencebank.com",
    "acme.intelligencebank.com/",
    "https://acme.intelligencebank.com",
    "https://acme.intelligencebank.com/",
    " https://acme.intelligencebank.com/ ",
    "https://acme.intelligencebank.com/app/#/resources?folder=1",
    "acme.intelligencebank.com/auth/?login=0",
    "https://acme.intelligencebank.com?x=1",
    "acme.intelligencebank.com.",
]


@pytest.mark.parametrize("raw", TYPED)
def test_typed_forms_normalise_to_the_origin(raw: str) -> None:
    assert POLICY.normalize(raw) == "https://acme.intelligencebank.com"


def test_a_bare_name_needs_one_unambiguous_domain() -> None:
    assert POLICY.tenant_domain == "intelligencebank.com"
    for patterns in [
        ("*.intelligencebank.com", "*.example.com"),  # which one?
        ("acme.intelligencebank.com",),  # no wildcard: no tenants
        ("*-x.intelligencebank.com",),  # not a whole label
        ("*.*.intelligencebank.com",),
    ]:
        policy = HostPolicy(patterns)
        assert policy.tenant_domain is None, patterns
        with pytest.raises(PlatformURLError, match="whole address"):
            policy.normalize("acme")


@pytest.mark.parametrize(
    "raw",
    [
        "acme intelligencebank", "acme/", "-acme", "acme_co", "a" * 64, "https://", "://acme",
        "acme:443", "http://acme.intelligencebank.com", "https://acme.example.com", "ac me",
    ],
)
def test_refusals_say_what_is_expected(raw: str) -> None:
    with pytest.raises(PlatformURLError) as refused:
        POLICY.normalize(raw)
    assert "https://company.intelligencebank.com" in str(refused.value)


def test_names_resolving_to_internal_addresses_are_refused() -> None:
    policy = HostPolicy(("localhost",))
    with pytest.raises(PlatformURLError, match="internal address"):
        asyncio.run(policy.check_resolves_publicly("https://localhost"))


def test_unresolvable_names_are_refused() -> None:
    with pytest.raises(PlatformURLError, match="could not be found"):
        asyncio.run(POLICY.check_resolves_publicly("https://nope.invalid"))
