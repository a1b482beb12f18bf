"""The redirect URI rules shared by registration and client metadata documents, and the
matcher /authorize uses: exact, except the port of a loopback http URI (RFC 8252 7.3)."""

from __future__ import annotations

import pytest

from ib_oauth_bridge.oauth.redirect_uris import (
    RedirectURIError,
    check_redirect_uri,
    redirect_uri_matches,
)


@pytest.mark.parametrize(
    ("registered", "presented"),
    [
        ("http://127.0.0.1/cb", "http://127.0.0.1:51000/cb"),
        ("http://127.0.0.1:3000/cb", "http://127.0.0.1:51000/cb"),
        ("http://[::1]:3000/cb", "http://[::1]/cb"),
        ("http://localhost:1/cb?x=1", "http://localhost:2/cb?x=1"),
        ("https://app.example/cb", "https://app.example/cb"),
        ("com.example.app:/cb", "com.example.app:/cb"),
    ],
)
def test_matches(registered: str, presented: str) -> None:
    assert redirect_uri_matches(registered, presented)


@pytest.mark.parametrize(
    ("registered", "presented"),
    [
        ("http://127.0.0.1:3000/cb", "http://127.0.0.1:3000/other"),
        ("http://127.0.0.1/cb", "http://localhost/cb"),  # another host, even if loopback too
        ("http://127.0.0.1/cb", "http://127.0.0.1/cb?x=1"),
        ("http://127.0.0.1/cb", "http://user@127.0.0.1:5/cb"),
        ("http://127.0.0.1/cb", "http://127.0.0.1:5@evil.example/cb"),
        ("http://127.0.0.1/cb", "https://127.0.0.1:5/cb"),
        ("https://app.example/cb", "https://app.example:8443/cb"),  # only loopback ports float
        ("https://app.example/cb", "https://app.example/cb/"),
        ("com.example.app:/cb", "com.example.app:/cb2"),
    ],
)
def test_does_not_match(registered: str, presented: str) -> None:
    assert not redirect_uri_matches(registered, presented)


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example/cb",
        "http://127.0.0.1:8080/cb",
        "http://[::1]/cb",
        "http://localhost/cb",
        "com.example.app:/oauth2redirect",
        "cursor://anysphere.cursor-mcp/oauth/callback",
    ],
)
def test_allowed(uri: str) -> None:
    check_redirect_uri(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "vbscript:x",
        "blob:https://a.example/x",
        "c:/windows",
        "https://a.example/cb#",
        "https://u:p@a.example/cb",
        "/cb",
        "http://a.example/cb",
        "https://",
        "https://a.example/\u0000",
    ],
)
def test_refused(uri: str) -> None:
    with pytest.raises(RedirectURIError):
        check_redirect_uri(uri)
