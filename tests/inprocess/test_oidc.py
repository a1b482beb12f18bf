"""OpenID Connect: the id_token (signature, kid, every claim), the claims each scope releases
in the id_token and at /userinfo, nonce round trip and replay, at_hash, exp capped at the IB
session end on the injected clock, refresh, unknown scopes, prompt=none, discovery."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from inprocess_flow import (
    CLIENT_ID,
    authorize,
    authorize_path,
    exchange,
    pkce_pair,
    poll,
    refresh,
    sign_in_at_ib,
    start_login,
    tokens,
)
from inprocess_stack import ISSUER, Stack

pytestmark = pytest.mark.anyio

PROFILE = {"name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace"}
EMAIL = {"email": "ada@example.com"}
IB = {
    "ib_client_id": "BnK4JV",
    "ib_client_name": "Demo Co",
    "ib_api_url": "http://localhost:8001",
    "ib_platform_url": "http://127.0.0.1:8001",
}
ID_TOKEN_BASE = {"iss", "sub", "aud", "iat", "exp", "auth_time", "at_hash"}


async def jwks(stack: Stack) -> KeySet:
    answer = await stack.http.get("/jwks.json")
    return KeySet.import_key_set(answer.json())


async def id_token(stack: Stack, token: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The id_token's header and claims, its signature checked with the published JWKS."""
    decoded = jwt.decode(token["id_token"], await jwks(stack), algorithms=["ES256"])
    return decoded.header, decoded.claims


async def userinfo(stack: Stack, token: dict[str, str]) -> dict[str, Any]:
    answer = await stack.http.get(
        "/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert answer.status_code == 200, answer.text
    claims: dict[str, Any] = answer.json()
    return claims


async def grant_of(stack: Stack, token: dict[str, str]) -> Any:
    claims = jwt.decode(token["access_token"], stack.bridge.keys.verification_set).claims
    grant = await stack.store.get_grant(claims["grant_id"])
    assert grant is not None
    return grant


def half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


# The id_token ---------------------------------------------------------------------------


async def test_openid_gives_a_signed_id_token_with_every_claim(stack: Stack) -> None:
    token = await tokens(stack, scope="openid", nonce="n-0S6_WzA2Mj")
    header, claims = await id_token(stack, token)
    assert header["alg"] == "ES256"
    assert header["kid"] == stack.bridge.keys.current.kid
    grant = await grant_of(stack, token)
    now = int(stack.clock())
    assert claims == {
        "iss": ISSUER,
        "sub": "u-demo",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + stack.settings.access_token_ttl,
        "auth_time": int(grant.created_at),
        "nonce": "n-0S6_WzA2Mj",
        "at_hash": half_hash(token["access_token"]),
    }
    assert token["scope"] == "openid"


async def test_at_hash_is_the_left_half_of_the_access_tokens_sha256(stack: Stack) -> None:
    token = await tokens(stack, scope="openid ib.read")
    _, claims = await id_token(stack, token)
    digest = hashlib.sha256(token["access_token"].encode()).digest()
    expected = base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
    assert claims["at_hash"] == expected
    assert len(claims["at_hash"]) == 22


async def test_the_id_token_follows_the_injected_clock(stack: Stack) -> None:
    authorized = await authorize(stack, scope="openid")
    stack.clock.advance(30)  # the exchange is 30 s after the code
    answer = await exchange(stack, authorized)
    _, claims = await id_token(stack, answer.json())
    assert claims["iat"] == int(stack.clock())
    assert claims["auth_time"] == claims["iat"] - 30  # when the sign-in completed


async def test_no_openid_no_id_token(stack: Stack) -> None:
    for scope in ("ib.read", "ib.read profile email", "offline_access"):
        token = await tokens(stack, scope=scope)
        assert "id_token" not in token, scope


async def test_without_a_nonce_the_id_token_has_none(stack: Stack) -> None:
    _, claims = await id_token(stack, await tokens(stack, scope="openid"))
    assert "nonce" not in claims


# Claims by scope ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "in_id_token", "at_userinfo"),
    [
        ("openid", {}, {}),
        ("openid profile", PROFILE, PROFILE),
        ("openid email", EMAIL, EMAIL),
        ("openid profile email", {**PROFILE, **EMAIL}, {**PROFILE, **EMAIL}),
        ("openid ib.read", {}, IB),
        ("openid ib.write", {}, IB),
        ("openid profile email ib.read ib.write offline_access", {**PROFILE, **EMAIL},
         {**PROFILE, **EMAIL, **IB}),
        ("ib.read", None, IB),
        ("ib.read profile", None, {**PROFILE, **IB}),
        ("email", None, EMAIL),
        ("", None, IB),  # no scope: ib.read ib.write
    ],
)
async def test_claims_follow_the_scopes(
    stack: Stack, scope: str, in_id_token: dict[str, str] | None, at_userinfo: dict[str, str]
) -> None:
    token = await tokens(stack, **({"scope": scope} if scope else {}))
    if in_id_token is None:
        assert "id_token" not in token
    else:
        _, claims = await id_token(stack, token)
        assert {k: v for k, v in claims.items() if k not in ID_TOKEN_BASE} == in_id_token
        assert claims.keys() >= ID_TOKEN_BASE
    assert await userinfo(stack, token) == {"sub": "u-demo", **at_userinfo}


async def test_the_default_scope_is_ib_read_and_write(stack: Stack) -> None:
    token = await tokens(stack)
    assert token["scope"] == "ib.read ib.write"
    assert "id_token" not in token


async def test_offline_access_is_accepted_and_changes_nothing(stack: Stack) -> None:
    token = await tokens(stack, scope="ib.read offline_access")
    assert token["scope"] == "ib.read offline_access"
    assert token["refresh_token"]
    plain = await tokens(stack, scope="ib.read")
    assert plain["refresh_token"]  # a refresh token either way, as before


async def test_email_verified_is_never_claimed(stack: Stack) -> None:
    token = await tokens(stack, scope="openid email")
    _, claims = await id_token(stack, token)
    assert "email_verified" not in claims
    assert "email_verified" not in await userinfo(stack, token)


async def test_the_adminemail_spelling_is_released_as_email(stack: Stack) -> None:
    verifier, challenge = pkce_pair()
    async with stack.browser() as browser:
        login_url = await start_login(
            stack, browser, challenge=challenge, state="s", scope="openid email"
        )
        await sign_in_at_ib(stack, login_url, username="grace")
        status = await poll(stack, browser)
    code = parse_qs(urlsplit(status["redirect_to"]).query)["code"][0]
    answer = await stack.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:53682/callback",
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        },
    )
    _, claims = await id_token(stack, answer.json())
    assert claims["sub"] == "u-grace"
    assert claims["email"] == "grace@example.com"


# exp and the IB session ---------------------------------------------------------------------


@pytest.fixture
async def short_session(stack: Stack) -> Stack:
    """IB's session ends an hour after the sign-in (the emulator's logintimeoutperiod)."""
    answer = await stack.ib.post(
        f"{stack.emulator.platform_url}/_emulator/config", json={"login_timeout_hours": 1}
    )
    assert answer.status_code == 200, answer.text
    return stack


@pytest.mark.parametrize("settings_overrides", [{"access_token_ttl": 7200}])
async def test_exp_is_capped_at_the_ib_session_end(short_session: Stack) -> None:
    stack = short_session
    token = await tokens(stack, scope="openid")
    grant = await grant_of(stack, token)
    _, claims = await id_token(stack, token)
    remaining = int(grant.session_expires_at - claims["iat"])
    assert remaining < 7200
    assert claims["exp"] == claims["iat"] + remaining
    assert claims["exp"] <= grant.session_expires_at

    stack.clock.advance(1800)  # half an hour later, refresh: the cap has come closer
    refreshed = (await refresh(stack, token["refresh_token"])).json()
    _, again = await id_token(stack, refreshed)
    assert again["iat"] == claims["iat"] + 1800
    assert again["exp"] == again["iat"] + int(grant.session_expires_at - again["iat"])
    assert again["exp"] <= grant.session_expires_at


# Refresh --------------------------------------------------------------------------------


async def test_refresh_with_openid_gives_a_new_id_token_without_the_nonce(stack: Stack) -> None:
    token = await tokens(stack, scope="openid profile", nonce="first-nonce")
    _, first = await id_token(stack, token)
    stack.clock.advance(120)
    refreshed = (await refresh(stack, token["refresh_token"])).json()
    _, second = await id_token(stack, refreshed)
    assert second["iat"] == first["iat"] + 120
    for same in ("iss", "sub", "aud", "auth_time", "name"):
        assert second[same] == first[same]
    assert "nonce" not in second
    assert second["at_hash"] == half_hash(refreshed["access_token"])


async def test_refresh_narrowed_without_openid_gives_no_id_token(stack: Stack) -> None:
    token = await tokens(stack, scope="openid ib.read")
    answer = await stack.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": CLIENT_ID,
            "scope": "ib.read",
        },
    )
    assert answer.status_code == 200, answer.text
    assert "id_token" not in answer.json()


async def test_refresh_cannot_add_openid(stack: Stack) -> None:
    token = await tokens(stack, scope="ib.read")
    answer = await stack.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": CLIENT_ID,
            "scope": "ib.read openid",
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"


# Nonce ----------------------------------------------------------------------------------


async def test_a_nonce_spent_with_a_code_is_refused_the_second_time(stack: Stack) -> None:
    nonce = secrets.token_urlsafe(16)
    token = await tokens(stack, scope="openid", nonce=nonce)
    _, claims = await id_token(stack, token)
    assert claims["nonce"] == nonce

    # The same nonce again: the sign-in fails when the code would be issued.
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        login_url = await start_login(
            stack, browser, challenge=challenge, state="s", scope="openid", nonce=nonce
        )
        await sign_in_at_ib(stack, login_url)
        status = await poll(stack, browser)
    assert status["status"] == "failed", status
    assert "nonce was already used" in status["message"]

    # A new nonce works at once.
    fresh = await tokens(stack, scope="openid", nonce=secrets.token_urlsafe(16))
    assert "id_token" in fresh


async def test_reloading_the_sign_in_link_does_not_spend_the_nonce(stack: Stack) -> None:
    _, challenge = pkce_pair()
    path = authorize_path(challenge, "s", scope="openid", nonce="reloaded-nonce")
    async with stack.browser() as browser:
        for _ in range(3):
            page = await browser.get(path)
            assert page.status_code == 200, page.text
    token = await tokens(stack, scope="openid", nonce="reloaded-nonce")
    _, claims = await id_token(stack, token)
    assert claims["nonce"] == "reloaded-nonce"


async def test_a_nonce_is_spent_per_client(stack: Stack) -> None:
    nonce = secrets.token_urlsafe(16)
    await tokens(stack, scope="openid", nonce=nonce)
    spent = await stack.store.remember(_nonce_key(CLIENT_ID, nonce), stack.clock() + 60)
    assert spent is False  # recorded under this client
    other = await stack.store.remember(_nonce_key("other-client", nonce), stack.clock() + 60)
    assert other is True


def _nonce_key(client_id: str, nonce: str) -> str:
    from ib_oauth_bridge.oauth.oidc import nonce_key

    return nonce_key(client_id, nonce)


# Errors at /authorize ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "named"),
    [
        ("ib.read ib.admin", "ib.admin"),
        ("openid phone", "phone"),
        ("address", "address"),
        ("IB.READ", "IB.READ"),
        ('ib.read "quoted"', None),  # not a scope token: not echoed
    ],
)
async def test_an_unknown_scope_is_invalid_scope_naming_it(
    stack: Stack, scope: str, named: str | None
) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        answer = await browser.get(authorize_path(challenge, "st", scope=scope))
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["invalid_scope"]
    assert query["state"] == ["st"]
    description = query["error_description"][0]
    assert "Supported scopes: ib.read ib.write offline_access openid profile email" in description
    if named:
        assert f"Unknown scope: {named}." in description
    else:
        assert description.startswith("Unknown scope. ")


async def test_prompt_none_is_login_required(stack: Stack) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        answer = await browser.get(authorize_path(challenge, "st", scope="openid", prompt="none"))
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["login_required"]
    assert query["iss"] == [ISSUER]


async def test_prompt_login_and_consent_are_accepted(stack: Stack) -> None:
    token = await tokens(stack, scope="openid", prompt="login consent")
    assert "id_token" in token


# Discovery --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
)
async def test_discovery_says_what_is_true(stack: Stack, path: str) -> None:
    metadata = (await stack.http.get(path)).json()
    assert metadata["issuer"] == ISSUER
    assert metadata["scopes_supported"] == [
        "ib.read", "ib.write", "offline_access", "openid", "profile", "email",
    ]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["subject_types_supported"] == ["public"]
    assert metadata["id_token_signing_alg_values_supported"] == ["ES256"]
    assert metadata["userinfo_endpoint"] == f"{ISSUER}/userinfo"
    assert metadata["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "none", "client_secret_basic", "client_secret_post",
    }
    assert metadata["claims_parameter_supported"] is False
    assert metadata["request_parameter_supported"] is False
    assert metadata["request_uri_parameter_supported"] is False
    claims = set(metadata["claims_supported"])
    assert {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash"} <= claims
    assert {*PROFILE, *EMAIL, *IB} <= claims
    assert "email_verified" not in claims
    # Every claim the bridge can release is listed.
    token = await tokens(stack, scope="openid profile email ib.read", nonce="n")
    _, released = await id_token(stack, token)
    assert set(released) <= claims
    assert set(await userinfo(stack, token)) <= claims


async def test_the_protected_resource_lists_only_the_proxy_scopes(stack: Stack) -> None:
    metadata = (await stack.http.get("/.well-known/oauth-protected-resource")).json()
    assert metadata["scopes_supported"] == ["ib.read", "ib.write"]
