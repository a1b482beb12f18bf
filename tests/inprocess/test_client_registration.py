"""Dynamic client registration (RFC 7591) in-process: every metadata rule, the abuse limits
(rate limit, initial access token, expiry of unused registrations), registered clients through
the whole flow, and how the login page names them."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ib_oauth_bridge.settings import ClientConfig
from ib_oauth_bridge.store.records import RegisteredClient
from inprocess_flow import (
    Authorized,
    authorize,
    authorize_path,
    exchange,
    pkce_pair,
    poll,
    sign_in_at_ib,
    start_login,
)
from inprocess_stack import ISSUER, Stack

pytestmark = pytest.mark.anyio

PUBLIC = {
    "redirect_uris": ["http://127.0.0.1:33418/callback"],
    "token_endpoint_auth_method": "none",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "client_name": "Some MCP host",
}
WEB = {"redirect_uris": ["https://app.example/callback"], "client_name": "Web app"}
DAY = 24 * 3600


async def register(stack: Stack, body: Any, **headers: str) -> httpx.Response:
    return await stack.http.post("/register", json=body, headers=headers)


async def registered(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    answer = await register(stack, body)
    assert answer.status_code == 201, answer.text
    info: dict[str, Any] = answer.json()
    return info


# Good metadata ---------------------------------------------------------------------------------

GOOD: list[tuple[str, dict[str, Any]]] = [
    ("public loopback", PUBLIC),
    ("loopback ipv6", {**PUBLIC, "redirect_uris": ["http://[::1]:8080/cb"]}),
    ("loopback localhost", {**PUBLIC, "redirect_uris": ["http://localhost/cb"]}),
    ("reverse-domain scheme", {**PUBLIC, "redirect_uris": ["com.example.app:/oauth2redirect"]}),
    ("cursor", {**PUBLIC, "redirect_uris": ["cursor://anysphere.cursor-mcp/oauth/callback"]}),
    ("claude", {**PUBLIC, "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"]}),
    ("confidential by default", WEB),
    ("client_secret_post", {**WEB, "token_endpoint_auth_method": "client_secret_post"}),
    ("https uris", {**WEB, "client_uri": "https://app.example", "logo_uri": "https://a.example/l.png"}),
    ("scope subset", {**PUBLIC, "scope": "ib.read"}),
    ("code grant only", {**PUBLIC, "grant_types": ["authorization_code"]}),
    ("minimal", {"redirect_uris": ["https://app.example/cb"]}),
    ("nulls are absent", {**PUBLIC, "client_uri": None, "scope": None, "contacts": None}),
    ("ignored extras", {**PUBLIC, "jwks_uri": "https://x.example/jwks", "x-custom": 1}),
]


@pytest.mark.parametrize(("case", "body"), GOOD, ids=[case for case, _ in GOOD])
async def test_good_metadata_is_registered(stack: Stack, case: str, body: dict[str, Any]) -> None:
    answer = await register(stack, body)
    assert answer.status_code == 201, answer.text
    assert answer.headers["cache-control"] == "no-store"
    info = answer.json()
    assert info["redirect_uris"] == body["redirect_uris"]
    assert len(info["client_id"]) >= 32
    assert isinstance(info["client_id_issued_at"], int)
    assert info["response_types"] == ["code"]
    assert "authorization_code" in info["grant_types"]
    assert "jwks_uri" not in info
    assert "x-custom" not in info
    assert "registration_access_token" not in info  # no management endpoint (RFC 7592)
    method = body.get("token_endpoint_auth_method", "client_secret_basic")
    assert info["token_endpoint_auth_method"] == method
    record = await stack.store.get_client(info["client_id"])
    assert record is not None
    assert stack.count("clients") == 1
    if method == "none":
        assert "client_secret" not in info
        assert "client_secret_expires_at" not in info
        assert record.client_secret_hash is None
    else:
        secret = info["client_secret"]
        assert len(secret) >= 32
        assert info["client_secret_expires_at"] == 0
        assert record.client_secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret.encode() not in stack.store.path.read_bytes()


async def test_omitted_grant_types_mean_both(stack: Stack) -> None:
    info = await registered(stack, {"redirect_uris": ["https://app.example/cb"]})
    assert info["grant_types"] == ["authorization_code", "refresh_token"]


async def test_client_name_is_cleaned_of_control_and_bidi_characters(stack: Stack) -> None:
    info = await registered(stack, {**PUBLIC, "client_name": "Good\u202e\x00 \t app\u200b"})
    assert info["client_name"] == "Good app"


async def test_each_registration_gets_a_new_id(stack: Stack) -> None:
    ids = {(await registered(stack, PUBLIC))["client_id"] for _ in range(3)}
    assert len(ids) == 3


# Bad metadata: the error code, a description, and nothing stored ----------------------------------

REDIRECT = "invalid_redirect_uri"
METADATA = "invalid_client_metadata"
BAD: list[tuple[str, Any, str]] = [
    ("empty object", {}, REDIRECT),
    ("no redirect_uris", {"client_name": "x"}, REDIRECT),
    ("empty redirect_uris", {"redirect_uris": []}, REDIRECT),
    ("redirect_uris a string", {"redirect_uris": "https://a.example/cb"}, REDIRECT),
    ("redirect_uris of numbers", {"redirect_uris": [1]}, REDIRECT),
    ("too many redirect_uris", {"redirect_uris": [f"https://a.example/{i}" for i in range(21)]},
     REDIRECT),
    ("javascript", {"redirect_uris": ["javascript:alert(1)"]}, REDIRECT),
    ("data", {"redirect_uris": ["data:text/html,<script>alert(1)</script>"]}, REDIRECT),
    ("file", {"redirect_uris": ["file:///etc/passwd"]}, REDIRECT),
    ("vbscript", {"redirect_uris": ["vbscript:msgbox(1)"]}, REDIRECT),
    ("blob", {"redirect_uris": ["blob:https://a.example/uuid"]}, REDIRECT),
    ("fragment", {"redirect_uris": ["https://a.example/cb#x"]}, REDIRECT),
    ("empty fragment", {"redirect_uris": ["https://a.example/cb#"]}, REDIRECT),
    ("userinfo", {"redirect_uris": ["https://a.example@evil.example/cb"]}, REDIRECT),
    ("relative path", {"redirect_uris": ["/callback"]}, REDIRECT),
    ("no scheme", {"redirect_uris": ["a.example/cb"]}, REDIRECT),
    ("http not loopback", {"redirect_uris": ["http://app.example/cb"]}, REDIRECT),
    ("http loopback lookalike", {"redirect_uris": ["http://127.0.0.1.evil.example/cb"]}, REDIRECT),
    ("https without host", {"redirect_uris": ["https:///cb"]}, REDIRECT),
    ("bad port", {"redirect_uris": ["http://127.0.0.1:99999/cb"]}, REDIRECT),
    ("whitespace", {"redirect_uris": ["https://a.example/c b"]}, REDIRECT),
    ("control character", {"redirect_uris": ["https://a.example/cb\n"]}, REDIRECT),
    ("too long", {"redirect_uris": ["https://a.example/" + "a" * 2048]}, REDIRECT),
    ("one bad of two", {"redirect_uris": ["https://a.example/cb", "javascript:x"]}, REDIRECT),
    ("client_credentials", {**WEB, "grant_types": ["client_credentials"]}, METADATA),
    ("implicit", {**WEB, "grant_types": ["implicit"]}, METADATA),
    ("refresh only", {**WEB, "grant_types": ["refresh_token"]}, METADATA),
    ("grant_types not a list", {**WEB, "grant_types": "authorization_code"}, METADATA),
    ("token response", {**WEB, "response_types": ["token"]}, METADATA),
    ("hybrid response", {**WEB, "response_types": ["code id_token"]}, METADATA),
    ("private_key_jwt", {**WEB, "token_endpoint_auth_method": "private_key_jwt"}, METADATA),
    ("empty auth method", {**WEB, "token_endpoint_auth_method": ""}, METADATA),
    ("auth method a list", {**WEB, "token_endpoint_auth_method": ["none"]}, METADATA),
    ("unknown scope", {**WEB, "scope": "admin"}, METADATA),
    ("one unknown scope", {**WEB, "scope": "ib.read admin"}, METADATA),
    ("scope a list", {**WEB, "scope": ["ib.read"]}, METADATA),
    ("http client_uri", {**WEB, "client_uri": "http://app.example"}, METADATA),
    ("javascript logo_uri", {**WEB, "logo_uri": "javascript:alert(1)"}, METADATA),
    ("data logo_uri", {**WEB, "logo_uri": "data:image/png;base64,AAAA"}, METADATA),
    ("tos_uri fragment", {**WEB, "tos_uri": "https://app.example/tos#x"}, METADATA),
    ("policy_uri userinfo", {**WEB, "policy_uri": "https://a@b.example/p"}, METADATA),
    ("client_name too long", {**WEB, "client_name": "x" * 201}, METADATA),
    ("client_name a number", {**WEB, "client_name": 7}, METADATA),
    ("contacts a string", {**WEB, "contacts": "a@example.com"}, METADATA),
    ("not an object", ["https://a.example/cb"], METADATA),
    ("a string", "hello", METADATA),
]


@pytest.mark.parametrize(("case", "body", "error"), BAD, ids=[case for case, _, _ in BAD])
async def test_bad_metadata_is_refused_and_nothing_stored(
    stack: Stack, case: str, body: Any, error: str
) -> None:
    answer = await register(stack, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == error
    assert answer.json()["error_description"]
    assert stack.count("clients") == 0


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        (b"{not json", "application/json", 400, METADATA),
        (b"\xff\xfe{}", "application/json", 400, METADATA),
        (b'{"redirect_uris": NaN}', "application/json", 400, METADATA),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400, METADATA),
        (b"", "application/json", 400, METADATA),
        (json.dumps(PUBLIC).encode(), "application/x-www-form-urlencoded", 415, "invalid_request"),
        (json.dumps(PUBLIC).encode(), "text/plain", 415, "invalid_request"),
        (b'{"client_name": "' + b"a" * 17000 + b'"}', "application/json", 413, "invalid_request"),
    ],
    ids=["malformed", "not utf-8", "nan", "deep", "empty", "form", "text", "too large"],
)
async def test_bad_bodies_are_refused(
    stack: Stack, content: bytes, content_type: str, status: int, error: str
) -> None:
    answer = await stack.http.post(
        "/register", content=content, headers={"Content-Type": content_type}
    )
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error
    assert stack.count("clients") == 0


async def test_both_metadata_documents_advertise_the_endpoint(stack: Stack) -> None:
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        metadata = (await stack.http.get(path)).json()
        assert metadata["registration_endpoint"] == f"{ISSUER}/register"


# Abuse limits ------------------------------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"registration_rate_limit": "2/hour"}])
async def test_registrations_beyond_the_rate_limit_get_429(stack: Stack) -> None:
    assert (await register(stack, PUBLIC)).status_code == 201
    assert (await register(stack, {"redirect_uris": []})).status_code == 400  # counts too
    refused = await register(stack, PUBLIC)
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert "2 per 1 hour" in refused.json()["error_description"]
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert stack.count("clients") == 1
    # Per client address: another address has its own allowance.
    app = stack.http._transport.app  # type: ignore[attr-defined]
    other = httpx.ASGITransport(app=app, client=("192.0.2.7", 40000))
    async with httpx.AsyncClient(transport=other, base_url=ISSUER) as elsewhere:
        assert (await elsewhere.post("/register", json=PUBLIC)).status_code == 201
    assert stack.count("clients") == 2


@pytest.mark.parametrize("settings_overrides", [{"registration_access_token": "let-me-in"}])
async def test_an_initial_access_token_closes_registration(stack: Stack) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic let-me-in"}):
        refused = await register(stack, PUBLIC, **headers)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == "invalid_token"
        assert refused.headers["www-authenticate"].startswith("Bearer ")
    assert stack.count("clients") == 0
    answer = await register(stack, PUBLIC, Authorization="Bearer let-me-in")
    assert answer.status_code == 201, answer.text
    assert stack.count("clients") == 1


async def test_registration_is_open_by_default(stack: Stack) -> None:
    answer = await register(stack, PUBLIC, Authorization="Bearer anything")
    assert answer.status_code == 201


async def test_an_unused_registration_expires(stack: Stack) -> None:
    info = await registered(stack, PUBLIC)
    stack.clock.advance(stack.settings.registration_unused_ttl - 60)
    assert await stack.store.get_client(info["client_id"]) is not None
    stack.clock.advance(120)
    assert await stack.store.get_client(info["client_id"]) is None
    _, challenge = pkce_pair()
    page = await stack.http.get(
        authorize_path(
            challenge, "s", client_id=info["client_id"], redirect_uri=PUBLIC["redirect_uris"][0]
        )
    )
    assert page.status_code == 400  # an unknown client: a page, never a redirect
    assert "location" not in page.headers


async def test_a_registration_that_signed_someone_in_does_not_expire(stack: Stack) -> None:
    info = await registered(stack, PUBLIC)
    await authorize(stack, client_id=info["client_id"], redirect_uri=PUBLIC["redirect_uris"][0])
    record = await stack.store.get_client(info["client_id"])
    assert record is not None
    assert record.expires_at is None
    stack.clock.advance(30 * DAY)
    assert await stack.store.get_client(info["client_id"]) is not None


async def test_a_login_for_a_configured_client_touches_no_registration(stack: Stack) -> None:
    await authorize(stack)  # the well-known client
    assert stack.count("clients") == 0


async def test_a_stored_client_cannot_take_a_reserved_id(stack: Stack) -> None:
    await stack.store.put_client(
        RegisteredClient(
            client_id="mcp-public-client",
            client_secret_hash=None,
            token_endpoint_auth_method="none",
            redirect_uris=("https://evil.example/cb",),
            grant_types=("authorization_code",),
            response_types=("code",),
            scope="",
            client_name="Evil",
            client_uri=None,
            logo_uri=None,
            client_id_issued_at=0,
            expires_at=None,
        )
    )
    _, challenge = pkce_pair()
    page = await stack.http.get(
        authorize_path(challenge, "s", redirect_uri="https://evil.example/cb")
    )
    assert page.status_code == 400
    assert "location" not in page.headers


# Registered clients through the whole flow ----------------------------------------------------


async def test_a_public_registered_client_signs_in_refreshes_and_revokes(stack: Stack) -> None:
    info = await registered(stack, PUBLIC)
    client_id = info["client_id"]
    # RFC 8252 7.3: the registered loopback URI on another port.
    redirect_uri = "http://127.0.0.1:51000/callback"
    authorized = await authorize(stack, client_id=client_id, redirect_uri=redirect_uri)
    answer = await exchange(stack, authorized)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["scope"] == "ib.read ib.write"
    refreshed = await stack.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client_id,
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    new_refresh = refreshed.json()["refresh_token"]
    revoked = await stack.http.post("/revoke", data={"token": new_refresh, "client_id": client_id})
    assert revoked.status_code == 200, revoked.text
    again = await stack.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": new_refresh, "client_id": client_id},
    )
    assert again.json()["error"] == "invalid_grant"


async def test_a_registered_redirect_uri_matches_exactly_otherwise(stack: Stack) -> None:
    info = await registered(stack, {**PUBLIC, "redirect_uris": ["https://app.example/cb"]})
    _, challenge = pkce_pair()
    for uri in ("https://app.example/cb/", "https://app.example:8443/cb", "https://app.example/cb?x=1"):
        page = await stack.http.get(
            authorize_path(challenge, "s", client_id=info["client_id"], redirect_uri=uri)
        )
        assert page.status_code == 400, uri
        assert "location" not in page.headers
    page = await stack.http.get(
        authorize_path(
            challenge, "s", client_id=info["client_id"], redirect_uri="https://app.example/cb"
        )
    )
    assert page.status_code == 200


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_a_confidential_registered_client_authenticates_with_its_secret(
    stack: Stack, method: str
) -> None:
    info = await registered(stack, {**WEB, "token_endpoint_auth_method": method})
    client_id, secret = info["client_id"], info["client_secret"]
    authorized = await authorize(stack, client_id=client_id, redirect_uri=WEB["redirect_uris"][0])
    form = {
        "grant_type": "authorization_code",
        "code": authorized.code,
        "redirect_uri": authorized.redirect_uri,
        "code_verifier": authorized.verifier,
    }
    # Without the secret, or with a wrong one, the client is refused (and the code survives).
    no_secret = await stack.http.post("/token", data={**form, "client_id": client_id})
    assert no_secret.status_code == 401, no_secret.text
    assert no_secret.json()["error"] == "invalid_client"
    if method == "client_secret_basic":
        answer = await stack.http.post("/token", data=form, auth=(client_id, secret))
    else:
        answer = await stack.http.post(
            "/token", data={**form, "client_id": client_id, "client_secret": secret}
        )
    assert answer.status_code == 200, answer.text
    refresh_form = {"grant_type": "refresh_token", "refresh_token": answer.json()["refresh_token"]}
    if method == "client_secret_basic":
        refreshed = await stack.http.post("/token", data=refresh_form, auth=(client_id, secret))
    else:
        refreshed = await stack.http.post(
            "/token", data={**refresh_form, "client_id": client_id, "client_secret": secret}
        )
    assert refreshed.status_code == 200, refreshed.text


async def test_a_registered_client_keeps_to_its_scope_and_grant_types(stack: Stack) -> None:
    info = await registered(
        stack, {**PUBLIC, "scope": "ib.read", "grant_types": ["authorization_code"]}
    )
    authorized = await authorize(
        stack,
        client_id=info["client_id"],
        redirect_uri=PUBLIC["redirect_uris"][0],
        scope="ib.read ib.write",
    )
    answer = await exchange(stack, authorized)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "ib.read"
    assert "refresh_token" not in answer.json()  # it did not register refresh_token


# The login page names the client ---------------------------------------------------------------


async def login_page_text(stack: Stack, client_id: str, redirect_uri: str) -> str:
    _, challenge = pkce_pair()
    page = await stack.http.get(
        authorize_path(challenge, "s", client_id=client_id, redirect_uri=redirect_uri)
    )
    assert page.status_code == 200, page.text
    return page.text


async def test_the_page_marks_a_registered_name_as_unverified(stack: Stack) -> None:
    info = await registered(stack, {**WEB, "client_name": "Claude"})
    html = await login_page_text(stack, info["client_id"], WEB["redirect_uris"][0])
    assert "An app that calls itself" in html
    assert "“Claude”" in html
    assert "(unverified)" in html
    assert '<strong class="return-host">app.example</strong>' in html


async def test_the_page_escapes_and_caps_a_registered_name(stack: Stack) -> None:
    name = "<script>alert(1)</script>" + "x" * 150
    info = await registered(stack, {**PUBLIC, "client_name": name})
    html = await login_page_text(stack, info["client_id"], PUBLIC["redirect_uris"][0])
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "x" * 100 not in html
    assert "…" in html


async def test_the_page_says_when_a_registered_client_gave_no_name(stack: Stack) -> None:
    info = await registered(stack, {"redirect_uris": ["com.example.app:/cb"]})
    html = await login_page_text(stack, info["client_id"], "com.example.app:/cb")
    assert "An app that did not give its name" in html
    assert "(unverified)" in html
    assert info["client_id"] not in html.split("</header>")[0]
    assert '<strong class="return-host">com.example.app:</strong>' in html


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "clients": (
                ClientConfig(
                    client_id="acme",
                    redirect_uris=("https://acme.example/cb",),
                    name="Acme Portal",
                ),
            )
        }
    ],
)
async def test_the_page_states_a_configured_name_as_fact(stack: Stack) -> None:
    html = await login_page_text(stack, "acme", "https://acme.example/cb")
    assert '<strong class="client-name">Acme Portal</strong> wants to use' in html
    assert "unverified" not in html
    assert '<strong class="return-host">acme.example</strong>' in html


async def test_the_page_states_the_well_known_name_as_fact(stack: Stack) -> None:
    html = await login_page_text(stack, "mcp-public-client", "http://127.0.0.1:5000/cb")
    assert '<strong class="client-name">MCP client</strong> wants to use' in html
    assert "unverified" not in html


# Keep the helpers these tests share honest about what they drove.
async def test_the_helpers_carry_the_client(stack: Stack) -> None:
    info = await registered(stack, PUBLIC)
    verifier, challenge = pkce_pair()
    async with stack.browser() as browser:
        login_url = await start_login(
            stack,
            browser,
            challenge=challenge,
            state="s",
            client_id=info["client_id"],
            redirect_uri=PUBLIC["redirect_uris"][0],
        )
        await sign_in_at_ib(stack, login_url)
        status = await poll(stack, browser)
    redirect = urlsplit(status["redirect_to"])
    assert redirect.port == 33418
    code = parse_qs(redirect.query)["code"][0]
    authorized = Authorized(
        code, "s", ISSUER, verifier, PUBLIC["redirect_uris"][0], info["client_id"]
    )
    assert (await exchange(stack, authorized)).status_code == 200


# The MCP Python SDK's own registration code against the endpoint --------------------------------


async def test_the_mcp_sdk_registers_and_reads_the_answer(stack: Stack) -> None:
    httpx2 = pytest.importorskip("httpx2")
    auth_utils = pytest.importorskip("mcp.client.auth.utils")
    from mcp.shared.auth import OAuthClientMetadata, OAuthMetadata
    from pydantic import AnyUrl

    metadata = OAuthMetadata.model_validate(
        (await stack.http.get("/.well-known/oauth-authorization-server")).json()
    )
    client_metadata = OAuthClientMetadata(
        client_name="MCP SDK client",
        redirect_uris=[AnyUrl("http://localhost:3030/callback")],
        grant_types=["authorization_code", "refresh_token"],
        token_endpoint_auth_method="none",
    )
    request = auth_utils.create_client_registration_request(metadata, client_metadata, ISSUER)
    assert str(request.url) == f"{ISSUER}/register"
    answer = await stack.http.post(
        "/register", content=request.content, headers=dict(request.headers)
    )
    info = await auth_utils.handle_registration_response(
        httpx2.Response(answer.status_code, headers=answer.headers, content=answer.content)
    )
    assert info.client_id
    assert info.client_secret is None
    assert [str(uri) for uri in info.redirect_uris or []] == ["http://localhost:3030/callback"]
    assert stack.count("clients") == 1
