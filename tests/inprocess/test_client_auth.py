"""Client authentication at /token and /revoke: HTTP Basic with an empty secret is `none`;
unreadable Basic credentials are a 401, never a 500."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from inprocess_flow import CLIENT_ID, authorize, exchange, tokens
from inprocess_stack import Stack

pytestmark = pytest.mark.anyio

CONFIDENTIAL = {
    "client_id": "web-app",
    "client_secret": "web-app-secret",
    "token_endpoint_auth_method": "client_secret_basic",
    "redirect_uris": ("https://app.example/callback",),
}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    from ib_oauth_bridge.settings import ClientConfig

    return {"clients": (ClientConfig(**CONFIDENTIAL),)}  # type: ignore[arg-type]


def basic(raw: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def test_basic_with_an_empty_secret_is_none_for_a_public_client(stack: Stack) -> None:
    authorized = await authorize(stack)
    answer = await stack.http.post(
        "/token",
        headers=basic(f"{CLIENT_ID}:".encode()),
        data={
            "grant_type": "authorization_code",
            "code": authorized.code,
            "redirect_uri": authorized.redirect_uri,
            "code_verifier": authorized.verifier,
        },
    )
    assert answer.status_code == 200, answer.text
    refreshed = await stack.http.post(
        "/token",
        headers=basic(f"{CLIENT_ID}:".encode()),
        data={"grant_type": "refresh_token", "refresh_token": answer.json()["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    revoked = await stack.http.post(
        "/revoke",
        headers=basic(f"{CLIENT_ID}:".encode()),
        data={"token": refreshed.json()["refresh_token"]},
    )
    assert revoked.status_code == 200, revoked.text
    again = await stack.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refreshed.json()["refresh_token"],
            "client_id": CLIENT_ID,
        },
    )
    assert again.json()["error"] == "invalid_grant"  # the revocation took effect


async def test_basic_with_an_empty_secret_and_the_same_client_id_in_the_form(
    stack: Stack,
) -> None:
    authorized = await authorize(stack)
    answer = await exchange(stack, authorized)  # warm-up: the form alone works
    assert answer.status_code == 200
    authorized = await authorize(stack)
    answer = await stack.http.post(
        "/token",
        headers=basic(f"{CLIENT_ID}:".encode()),
        data={
            "grant_type": "authorization_code",
            "code": authorized.code,
            "redirect_uri": authorized.redirect_uri,
            "client_id": CLIENT_ID,
            "code_verifier": authorized.verifier,
        },
    )
    assert answer.status_code == 200, answer.text


async def test_an_empty_client_secret_in_the_form_is_none_too(stack: Stack) -> None:
    answer = await exchange(stack, await authorize(stack), client_secret="")
    assert answer.status_code == 200, answer.text


async def test_basic_client_id_must_match_the_form(stack: Stack) -> None:
    authorized = await authorize(stack)
    answer = await stack.http.post(
        "/token",
        headers=basic(b"other-client:"),
        data={
            "grant_type": "authorization_code",
            "code": authorized.code,
            "redirect_uri": authorized.redirect_uri,
            "client_id": CLIENT_ID,
            "code_verifier": authorized.verifier,
        },
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


async def test_a_public_client_sending_a_secret_is_refused(stack: Stack) -> None:
    token = await tokens(stack)
    answer = await stack.http.post(
        "/token",
        headers=basic(f"{CLIENT_ID}:guess".encode()),
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": CLIENT_ID,
        },
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


@pytest.mark.parametrize("path", ["/token", "/revoke"])
@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + base64.b64encode(b"web-app:").decode(),  # confidential, empty secret
        "Basic " + base64.b64encode(b"web-app:wrong").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),  # not UTF-8
        "Basic " + base64.b64encode(b"mcp-public-client").decode(),  # no colon
        "Basic " + base64.b64encode(b":").decode(),  # no client id
        "Basic !!!not-base64!!!",
        "Basic bWNwLXB1 YmxpYy1jbGllbnQ6",  # not one base64 word
        "Basic",
        "Basic " + base64.b64encode(b"nobody:").decode(),  # unknown client
        "Basic " + base64.b64encode(b"nobody:secret").decode(),
    ],
)
async def test_bad_basic_credentials_are_a_401(
    stack: Stack, path: str, authorization: str
) -> None:
    data = (
        {"grant_type": "refresh_token", "refresh_token": "x" * 40}
        if path == "/token"
        else {"token": "x" * 40}
    )
    answer = await stack.http.post(path, headers={"Authorization": authorization}, data=data)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers["www-authenticate"].startswith("Basic")


async def test_a_confidential_client_with_its_secret_still_works(stack: Stack) -> None:
    authorized = await authorize(stack, redirect_uri="https://app.example/callback",
                                 client_id="web-app")
    answer = await stack.http.post(
        "/token",
        headers=basic(b"web-app:web-app-secret"),
        data={
            "grant_type": "authorization_code",
            "code": authorized.code,
            "redirect_uri": "https://app.example/callback",
            "code_verifier": authorized.verifier,
        },
    )
    assert answer.status_code == 200, answer.text


async def test_a_confidential_client_with_an_empty_form_secret_fails(stack: Stack) -> None:
    authorized = await authorize(stack, redirect_uri="https://app.example/callback",
                                 client_id="web-app")
    answer = await stack.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": authorized.code,
            "redirect_uri": "https://app.example/callback",
            "code_verifier": authorized.verifier,
            "client_id": "web-app",
            "client_secret": "",
        },
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
