"""/userinfo and the proxy answer a request that carries another scheme than Bearer like one
without a token (RFC 6750 3.1: 401, no error code); `Bearer` without a token stays a 400."""

from __future__ import annotations

import base64

import pytest

from inprocess_stack import Stack

pytestmark = pytest.mark.anyio

@pytest.mark.parametrize("path", ["/userinfo", "/proxy/api/3.0.0/BnK4JV/resource.limit(1)"])
@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + base64.b64encode(b"user:pass").decode(),
        'Digest username="u", realm="r", nonce="n", uri="/", response="x"',
        "eyJhbGciOiJFUzI1NiJ9.e30.sig",  # a bare token, no scheme
        "token abc",
        "Negotiate YIIB",
    ],
)
async def test_another_scheme_is_a_401_without_an_error_code(
    stack: Stack, path: str, authorization: str
) -> None:
    answer = await stack.http.get(path, headers={"Authorization": authorization})
    assert answer.status_code == 401, answer.text
    challenge = answer.headers["www-authenticate"]
    assert challenge == (
        'Bearer resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource"'
    )


@pytest.mark.parametrize("path", ["/userinfo", "/proxy/api/3.0.0/BnK4JV/resource.limit(1)"])
@pytest.mark.parametrize("authorization", ["Bearer", "Bearer ", "bearer   "])
async def test_bearer_without_a_token_is_still_a_400(
    stack: Stack, path: str, authorization: str
) -> None:
    answer = await stack.http.get(path, headers={"Authorization": authorization})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_request"
    assert 'error="invalid_request"' in answer.headers["www-authenticate"]


async def test_no_header_is_a_401_without_an_error_code(stack: Stack) -> None:
    answer = await stack.http.get("/userinfo")
    assert answer.status_code == 401
    assert "error=" not in answer.headers["www-authenticate"]
