"""Redirect-URI tricks, for every kind of client: the well-known `mcp-public-client`, a
configured client, a dynamically registered (RFC 7591) client and a Client ID Metadata Document
client. Matching is exact (RFC 9700 4.1.3, OAuth 2.1 2.3.1): any variant of a registered https
URI, however close, gets the 400 HTML error page (never a redirect to it), opens no login
transaction and sets no cookie. Loopback http URIs (RFC 8252 7.3) match on any port, and only
on the registered host, path and query; the bridge counts `localhost` as a loopback host (the
RFC prefers IP literals but does not forbid the name), and refuses every other loopback-looking
name or address."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from docserver import DocumentServer
from ib_oauth_bridge.settings import ClientConfig
from inprocess_flow import authorize_path, pkce_pair
from inprocess_stack import Stack

pytestmark = pytest.mark.anyio

CONFIGURED = "configured-app"
CONFIGURED_URI = "https://app.example/oauth/callback"
DCR_URI = "https://dcr.example/oauth/callback"
CIMD_URI = "https://cimd.example/oauth/callback"
CLAUDE_URI = "https://claude.ai/api/mcp/auth_callback"
LOOPBACK_REGISTERED = "http://127.0.0.1/cb"


SHARED_SETTINGS = {
    "registration_rate_limit": "100000/minute",
    "clients": (
        ClientConfig(
            client_id=CONFIGURED,
            client_secret="configured-secret",
            token_endpoint_auth_method="client_secret_basic",
            redirect_uris=(CONFIGURED_URI, LOOPBACK_REGISTERED),
        ),
    )
}
_REGISTERED: dict[int, str] = {}  # id(stack) -> the client_id registered at it


@pytest.fixture(scope="module")
def documents() -> Iterator[DocumentServer]:
    with DocumentServer() as opened:
        yield opened


@pytest.fixture
def stack(shared_stack: Stack) -> Stack:
    """One bridge for the module: every case asserts that it added no transaction."""
    return shared_stack


async def client_of(kind: str, stack: Stack, documents: DocumentServer) -> tuple[str, str]:
    """The client_id of a client of this kind, and the https redirect URI it registered."""
    if kind == "well-known":
        return "mcp-public-client", CLAUDE_URI
    if kind == "configured":
        return CONFIGURED, CONFIGURED_URI
    if kind == "registered":
        if id(stack) in _REGISTERED:
            return _REGISTERED[id(stack)], DCR_URI
        answer = await stack.http.post(
            "/register",
            json={
                "redirect_uris": [DCR_URI, LOOPBACK_REGISTERED],
                "token_endpoint_auth_method": "none",
                "client_name": "Attack table client",
            },
        )
        assert answer.status_code == 201, answer.text
        _REGISTERED[id(stack)] = str(answer.json()["client_id"])
        return _REGISTERED[id(stack)], DCR_URI
    assert kind == "metadata-document"
    client_id = documents.serve_document(
        "/client.json",
        client_name="Attack table document",
        redirect_uris=[CIMD_URI, LOOPBACK_REGISTERED],
        token_endpoint_auth_method="none",
    )
    return client_id, CIMD_URI


KINDS = ["well-known", "configured", "registered", "metadata-document"]


@dataclass(frozen=True)
class Trick:
    name: str
    variant: Callable[[str], str]  # the registered https URI -> the URI an attacker presents


def _host(uri: str) -> str:
    return uri.split("/")[2]


def _path(uri: str) -> str:
    return "/" + uri.split("/", 3)[3]


TRICKS = [
    Trick("open-redirect", lambda u: "https://evil.example/oauth/callback"),
    Trick("lookalike-suffix-host", lambda u: f"https://{_host(u)}.evil.example{_path(u)}"),
    Trick("lookalike-prefix-host", lambda u: f"https://evil{_host(u)}{_path(u)}"),
    Trick("lookalike-subdomain", lambda u: f"https://www.{_host(u)}{_path(u)}"),
    Trick("userinfo-at-evil", lambda u: f"https://{_host(u)}@evil.example{_path(u)}"),
    Trick("userinfo-at-host", lambda u: f"https://evil.example@{_host(u)}{_path(u)}"),
    Trick("backslash-userinfo", lambda u: f"https://evil.example\\@{_host(u)}{_path(u)}"),
    Trick("fragment", lambda u: f"{u}#x"),
    Trick("empty-fragment", lambda u: f"{u}#"),
    Trick("uppercase-host", lambda u: u.replace(_host(u), _host(u).upper())),
    Trick("uppercase-scheme", lambda u: "HTTPS" + u[5:]),
    Trick("percent-encoded-path", lambda u: u[:-1] + "%" + format(ord(u[-1]), "02X")),
    Trick("percent-encoded-slash", lambda u: u.replace(_path(u), _path(u).replace("/", "%2F"))),
    Trick("trailing-slash", lambda u: f"{u}/"),
    Trick("default-port", lambda u: u.replace(_host(u), f"{_host(u)}:443")),
    Trick("other-port", lambda u: u.replace(_host(u), f"{_host(u)}:8443")),
    Trick("path-suffix", lambda u: f"{u}/evil"),
    Trick("path-traversal", lambda u: f"{u}/../../evil"),
    Trick("path-prefix", lambda u: u[:-1]),
    Trick("added-query", lambda u: f"{u}?next=https://evil.example"),
    Trick("http-downgrade", lambda u: "http" + u[5:]),
    Trick("scheme-relative", lambda u: u[6:]),
    Trick("leading-space", lambda u: f" {u}"),
    Trick("trailing-encoded-space", lambda u: f"{u}%20"),
    Trick("javascript", lambda u: "javascript:alert(document.cookie)//" + _host(u)),
    Trick("data", lambda u: "data:text/html,<script>alert(1)</script>"),
    Trick("file", lambda u: "file:///etc/passwd"),
    Trick("vbscript", lambda u: "vbscript:msgbox(1)"),
]


async def assert_refused_page(stack: Stack, query: str) -> None:
    """The 400 HTML page, no redirect, no cookie, no login transaction stored."""
    before = stack.count("transactions")
    async with stack.browser() as browser:
        answer = await browser.get(query)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "location" not in answer.headers
    assert "set-cookie" not in answer.headers
    assert "evil.example" not in answer.headers.get("refresh", "")
    assert stack.count("transactions") == before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("trick", TRICKS, ids=[t.name for t in TRICKS])
async def test_a_redirect_uri_variant_is_refused_with_a_page(
    stack: Stack, documents: DocumentServer, kind: str, trick: Trick
) -> None:
    client_id, registered = await client_of(kind, stack, documents)
    _, challenge = pkce_pair()
    presented = trick.variant(registered)
    assert presented != registered
    await assert_refused_page(
        stack, authorize_path(challenge, "s", client_id=client_id, redirect_uri=presented)
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_the_registered_uri_itself_is_accepted(
    stack: Stack, documents: DocumentServer, kind: str
) -> None:
    """The control row: the same request with the URI as registered opens the login page."""
    client_id, registered = await client_of(kind, stack, documents)
    _, challenge = pkce_pair()
    before = stack.count("transactions")
    async with stack.browser() as browser:
        answer = await browser.get(
            authorize_path(challenge, "s", client_id=client_id, redirect_uri=registered)
        )
    assert answer.status_code == 200, answer.text
    assert stack.count("transactions") == before + 1


# Loopback (RFC 8252 7.3): for the well-known public client any loopback http URI; for a
# client that registered http://127.0.0.1/cb, that URI on any port, and nothing else.
LOOPBACK_ACCEPTED = {
    "ip4-any-port": "http://127.0.0.1:1/cb",
    "ip4-high-port": "http://127.0.0.1:65535/cb",
    "ip4-no-port": "http://127.0.0.1/cb",
}
LOOPBACK_PUBLIC_ONLY = {  # accepted for mcp-public-client (any loopback URI), not for others
    "ip6-literal": "http://[::1]:4711/cb",
    "localhost-name": "http://localhost:4711/cb",
    "other-path": "http://127.0.0.1:4711/other",
}
LOOPBACK_REFUSED = {
    "https-loopback": "https://127.0.0.1:4711/cb",
    "other-loopback-address": "http://127.0.0.2:4711/cb",
    "short-ip4": "http://127.1:4711/cb",
    "decimal-ip4": "http://2130706433:4711/cb",
    "any-address": "http://0.0.0.0:4711/cb",
    "mapped-ip6": "http://[::ffff:127.0.0.1]:4711/cb",
    "localhost-suffix": "http://localhost.evil.example:4711/cb",
    "ip-suffix-name": "http://127.0.0.1.nip.io:4711/cb",
    "userinfo": "http://evil.example@127.0.0.1:4711/cb",
    "fragment": "http://127.0.0.1:4711/cb#x",
    "bad-port": "http://127.0.0.1:99999/cb",
    "non-numeric-port": "http://127.0.0.1:abc/cb",
    "private-address": "http://10.0.0.1:4711/cb",
}


def _loopback_cases() -> Iterator[Any]:
    for kind in KINDS:
        for name, uri in LOOPBACK_ACCEPTED.items():
            yield pytest.param(kind, uri, True, id=f"{kind}-accepts-{name}")
        for name, uri in LOOPBACK_PUBLIC_ONLY.items():
            accepted = kind == "well-known"
            verb = "accepts" if accepted else "refuses"
            yield pytest.param(kind, uri, accepted, id=f"{kind}-{verb}-{name}")
        for name, uri in LOOPBACK_REFUSED.items():
            yield pytest.param(kind, uri, False, id=f"{kind}-refuses-{name}")


@pytest.mark.parametrize(("kind", "presented", "accepted"), list(_loopback_cases()))
async def test_loopback_port_rules(
    stack: Stack, documents: DocumentServer, kind: str, presented: str, accepted: bool
) -> None:
    client_id, _ = await client_of(kind, stack, documents)
    _, challenge = pkce_pair()
    query = authorize_path(challenge, "s", client_id=client_id, redirect_uri=presented)
    if not accepted:
        await assert_refused_page(stack, query)
        return
    before = stack.count("transactions")
    async with stack.browser() as browser:
        answer = await browser.get(query)
    assert answer.status_code == 200, answer.text
    assert stack.count("transactions") == before + 1


# What a client may not register at all (RFC 7591 invalid_redirect_uri): nothing is stored.
UNREGISTRABLE = {
    "javascript": "javascript:alert(1)",
    "data": "data:text/html,hi",
    "file": "file:///etc/passwd",
    "vbscript": "vbscript:msgbox(1)",
    "blob": "blob:https://app.example/1",
    "http-non-loopback": "http://app.example/cb",
    "userinfo": "https://app.example@evil.example/cb",
    "fragment": "https://app.example/cb#frag",
    "relative": "/cb",
    "no-host": "https:///cb",
    "whitespace": "https://app.example/c b",
    "control-char": "https://app.example/cb\x07",
    "empty": "",
    "overlong": "https://app.example/" + "a" * 2100,
    "one-letter-scheme": "c:/cb",
}


@pytest.mark.parametrize("uri", UNREGISTRABLE.values(), ids=UNREGISTRABLE.keys())
async def test_a_dangerous_redirect_uri_cannot_be_registered(stack: Stack, uri: str) -> None:
    before = stack.count("clients")
    answer = await stack.http.post(
        "/register", json={"redirect_uris": [uri], "token_endpoint_auth_method": "none"}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_redirect_uri"
    assert stack.count("clients") == before


@pytest.mark.parametrize("uri", UNREGISTRABLE.values(), ids=UNREGISTRABLE.keys())
async def test_a_metadata_document_with_a_dangerous_redirect_uri_is_refused(
    stack: Stack, documents: DocumentServer, uri: str
) -> None:
    path = f"/bad-{sorted(UNREGISTRABLE.values()).index(uri)}.json"
    client_id = documents.serve_document(
        path, redirect_uris=[uri], token_endpoint_auth_method="none"
    )
    _, challenge = pkce_pair()
    await assert_refused_page(
        stack, authorize_path(challenge, "s", client_id=client_id, redirect_uri=uri or "x")
    )
