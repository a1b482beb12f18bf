"""Settings: parsed from IB_BRIDGE_* variables; unsafe production setups are refused with a
message that names what to set."""

from __future__ import annotations

import json
import subprocess

import pytest

from ib_oauth_bridge.oauth.keys import generate_signing_key
from ib_oauth_bridge.settings import Settings, SettingsError
from servers import CLI

GOOD = {
    "IB_BRIDGE_ISSUER": "https://bridge.example.com",
    "IB_BRIDGE_SIGNING_KEY": json.dumps(generate_signing_key().as_dict(private=True)),
    "IB_BRIDGE_ENCRYPTION_KEY": "A" * 43,
    "IB_BRIDGE_COOKIE_SECRET": "s" * 40,
}


def test_good_production_settings_pass() -> None:
    settings = Settings.from_env(GOOD)
    settings.check()
    assert settings.platform_hosts == ("*.intelligencebank.com",)
    assert settings.proxy_resource == "https://bridge.example.com/proxy"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"IB_BRIDGE_SIGNING_KEY": ""}, "IB_BRIDGE_SIGNING_KEY is missing"),
        ({"IB_BRIDGE_ENCRYPTION_KEY": ""}, "IB_BRIDGE_ENCRYPTION_KEY is missing"),
        ({"IB_BRIDGE_COOKIE_SECRET": ""}, "IB_BRIDGE_COOKIE_SECRET is missing"),
        ({"IB_BRIDGE_ISSUER": "http://bridge.example.com"}, "must be an https:// URL"),
        ({"IB_BRIDGE_PLATFORM_HOSTS": "*"}, "does not limit hosts"),
        ({"IB_BRIDGE_PLATFORM_HOSTS": "*.com"}, "does not limit hosts"),
        ({"IB_BRIDGE_PLATFORM_HOSTS": "*.intelligencebank.*"}, "does not limit hosts"),
        ({"IB_BRIDGE_DEV_IB_URLS": "http://127.0.0.1:8001"}, "dev mode only"),
        ({"IB_BRIDGE_DEV_CA_FILE": __file__}, "DEV_CA_FILE is for dev mode only"),
    ],
)
def test_unsafe_production_settings_are_refused(change: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**GOOD, **change}).check()


def test_dev_mode_allows_http_and_no_keys() -> None:
    Settings.from_env({"IB_BRIDGE_DEV": "1", "IB_BRIDGE_ISSUER": "http://127.0.0.1:8000"}).check()


def test_the_dev_ca_file_must_exist(tmp_path) -> None:
    dev = {"IB_BRIDGE_DEV": "1", "IB_BRIDGE_DEV_CA_FILE": str(tmp_path / "missing.pem")}
    with pytest.raises(SettingsError, match=r"DEV_CA_FILE .* is not a file"):
        Settings.from_env(dev).check()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IB_BRIDGE_ACCESS_TOKEN_TTL", "soon"),
        ("IB_BRIDGE_CLIENTS", "[{]"),
        ("IB_BRIDGE_CLIENTS", '[{"client_id": "a"}]'),
        ("IB_BRIDGE_CLIENTS", '[{"client_id": "a", "redirect_uris": ["https://a/cb"], '
                              '"token_endpoint_auth_method": "client_secret_basic"}]'),
        ("IB_BRIDGE_CLIENTS", '[{"client_id": "a", "redirect_uris": ["https://a/cb"], '
                              '"client_secret": "s", "token_endpoint_auth_method": "none"}]'),
    ],
)
def test_malformed_values_are_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**GOOD, name: value})


def test_serve_refuses_to_start_and_says_what_to_set(tmp_path) -> None:
    result = subprocess.run([CLI, "serve"], env={"PATH": "/usr/bin:/bin",
                                                   "IB_BRIDGE_ISSUER": "http://x.example"},
                            capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert result.returncode == 2
    assert "refusing to start" in result.stderr
    assert "IB_BRIDGE_SIGNING_KEY is missing" in result.stderr
    assert "https://" in result.stderr


def test_abuse_limits_are_read_from_the_environment() -> None:
    settings = Settings.from_env({
        **GOOD,
        "IB_BRIDGE_AUTHORIZE_RATE_LIMIT": "5/minute",
        "IB_BRIDGE_PROXY_RATE_LIMIT": "10 per second",
        "IB_BRIDGE_LOGIN_MAX_PENDING_PER_ADDRESS": "3",
        "IB_BRIDGE_PURGE_INTERVAL": "0.5",
    })
    settings.check()
    assert settings.authorize_rate_limit == "5/minute"
    assert settings.proxy_rate_limit == "10 per second"
    assert settings.login_max_pending_per_address == 3
    assert settings.purge_interval == 0.5
    defaults = Settings.from_env(GOOD)
    assert (defaults.login_max_submissions, defaults.purge_interval) == (5, 60.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IB_BRIDGE_TOKEN_RATE_LIMIT", "lots"),
        ("IB_BRIDGE_CLIENT_RATE_LIMIT", "10/fortnight"),
        ("IB_BRIDGE_LOGIN_POLL_RATE_LIMIT", "per minute"),
        ("IB_BRIDGE_LOGIN_MAX_SUBMISSIONS", "0"),
        ("IB_BRIDGE_LOGIN_MAX_IB_CALLS", "-1"),
        ("IB_BRIDGE_PURGE_INTERVAL", "0"),
        ("IB_BRIDGE_PURGE_INTERVAL", "nan"),
    ],
)
def test_bad_abuse_limits_are_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**GOOD, name: value}).check()


RS = '{"client_id": "rs", "client_secret": "s", "token_endpoint_auth_method": "client_secret_basic"'


def test_a_resource_server_may_exchange_tokens_for_its_resource() -> None:
    raw = f'[{RS}, "token_exchange": true, "resource": "https://mcp.example.com/mcp"}}]'
    settings = Settings.from_env({**GOOD, "IB_BRIDGE_CLIENTS": raw})
    settings.check()
    (client,) = settings.clients
    assert client.token_exchange is True
    assert client.resource == "https://mcp.example.com/mcp"
    assert client.redirect_uris == ()  # a pure resource server signs nobody in
    assert settings.refresh_grace_seconds == 30


@pytest.mark.parametrize(
    "raw",
    [
        # A public client cannot prove it is the actor.
        '[{"client_id": "a", "token_exchange": true, "resource": "https://m.example/mcp"}]',
        f'[{RS}, "token_exchange": true}}]',  # exchanges tokens for which resource?
        f'[{RS}, "token_exchange": "yes", "resource": "https://m.example/mcp"}}]',
        f'[{RS}, "token_exchange": true, "resource": "not a url"}}]',
        f'[{RS}, "token_exchange": true, "resource": "https://m.example/mcp#frag"}}]',
    ],
)
def test_a_wrong_token_exchange_client_is_named(raw: str) -> None:
    with pytest.raises(SettingsError, match="IB_BRIDGE_CLIENTS"):
        Settings.from_env({**GOOD, "IB_BRIDGE_CLIENTS": raw})


def test_a_resource_server_cannot_claim_the_proxy_as_its_resource() -> None:
    raw = f'[{RS}, "token_exchange": true, "resource": "https://bridge.example.com/proxy"}}]'
    with pytest.raises(SettingsError, match="proxy"):
        Settings.from_env({**GOOD, "IB_BRIDGE_CLIENTS": raw}).check()


@pytest.mark.parametrize("value", ["-1", "301"])
def test_the_refresh_grace_is_bounded(value: str) -> None:
    with pytest.raises(SettingsError, match="IB_BRIDGE_REFRESH_GRACE_SECONDS"):
        Settings.from_env({**GOOD, "IB_BRIDGE_REFRESH_GRACE_SECONDS": value}).check()


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert Settings.from_env(GOOD).trusted_proxies == ()  # none trusted by default
    settings = Settings.from_env({**GOOD, "IB_BRIDGE_TRUSTED_PROXIES": "10.0.0.5, fd00::/8"})
    settings.check()
    assert settings.trusted_proxies == ("10.0.0.5", "fd00::/8")
    for bad in ("proxy.internal", "10.0.0.0/33", "*"):
        with pytest.raises(SettingsError, match="IB_BRIDGE_TRUSTED_PROXIES"):
            Settings.from_env({**GOOD, "IB_BRIDGE_TRUSTED_PROXIES": bad}).check()
