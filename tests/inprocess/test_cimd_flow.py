"""Client ID Metadata Documents through the whole app: a client whose client_id is the URL of
its document (served on loopback, dev mode) signs in and exchanges its code; each way a
document can be wrong gets the HTML error page that says so, never a redirect, and opens no
login transaction."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from docserver import DocumentServer, Route
from inprocess_flow import LOOPBACK_REDIRECT, authorize, authorize_path, exchange, pkce_pair
from inprocess_stack import Stack

pytestmark = pytest.mark.anyio

DOCUMENT_PATH = "/oauth/client.json"
# The document registers the loopback callback without a port; the app uses 53682 (RFC 8252).
REGISTERED_REDIRECT = "http://127.0.0.1/callback"


@pytest.fixture
def server() -> Iterator[DocumentServer]:
    with DocumentServer() as opened:
        yield opened


async def test_a_metadata_document_client_signs_in(stack: Stack, server: DocumentServer) -> None:
    client_id = server.serve_document(
        DOCUMENT_PATH, client_name="Example Agent", redirect_uris=[REGISTERED_REDIRECT]
    )
    async with stack.browser() as browser:
        _, challenge = pkce_pair()
        page = await browser.get(
            authorize_path(challenge, "s", client_id=client_id, redirect_uri=LOOPBACK_REDIRECT)
        )
    assert page.status_code == 200, page.text
    assert "Example Agent" in page.text

    authorized = await authorize(stack, client_id=client_id)
    answer = await exchange(stack, authorized, client_id=client_id)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["access_token"].count(".") == 2
    refreshed = await stack.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client_id,
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    # Fetched once, and kept: the page, the code's replay and /token all used the cached copy.
    assert server.requests == [DOCUMENT_PATH]


async def test_a_metadata_document_client_has_no_secret(
    stack: Stack, server: DocumentServer
) -> None:
    client_id = server.serve_document(DOCUMENT_PATH, redirect_uris=[REGISTERED_REDIRECT])
    authorized = await authorize(stack, client_id=client_id)
    answer = await stack.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": authorized.code,
            "redirect_uri": authorized.redirect_uri,
            "code_verifier": authorized.verifier,
            "client_id": client_id,
            "client_secret": "guessed",
        },
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "invalid_client"


async def test_the_metadata_advertises_metadata_documents(stack: Stack) -> None:
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        metadata = (await stack.http.get(path)).json()
        assert metadata["client_id_metadata_document_supported"] is True


def _valid(server: DocumentServer) -> bytes:
    return json.dumps(
        {"client_id": server.url(DOCUMENT_PATH), "redirect_uris": [REGISTERED_REDIRECT]}
    ).encode()


BAD: dict[str, tuple[Any, str]] = {
    "404": (lambda s: Route(b"gone", 404), "answered 404"),
    "redirect": (
        lambda s: Route(status=302, headers={"Location": s.url("/elsewhere.json")}),
        "redirect refused",
    ),
    "not json": (lambda s: Route(b"<html>hi</html>"), "is not JSON"),
    "mismatch": (
        lambda s: Route(
            json.dumps(
                {"client_id": "https://other.example/c.json", "redirect_uris": ["x:/"]}
            ).encode()
        ),
        "client_id in the document does not match",
    ),
    "too large": (lambda s: Route(_valid(s) + b" " * 6000), "is larger than 5 KB"),
    "too large, chunked": (
        lambda s: Route(_valid(s) + b" " * 6000, chunked=True),
        "is larger than 5 KB",
    ),
    "slow": (lambda s: Route(_valid(s), seconds_per_byte=1.0), r"took longer than 0.5 s"),
    "secret": (
        lambda s: Route(
            json.dumps(
                {
                    "client_id": s.url(DOCUMENT_PATH),
                    "redirect_uris": [REGISTERED_REDIRECT],
                    "client_secret": "x",
                }
            ).encode()
        ),
        "contains client_secret",
    ),
}


@pytest.mark.parametrize(("route", "message"), BAD.values(), ids=BAD.keys())
async def test_a_bad_document_gets_a_page_that_says_why(
    stack: Stack, server: DocumentServer, route: Any, message: str
) -> None:
    stack.bridge.clients.documents.fetcher.timeout = 0.5  # type: ignore[union-attr]
    server.routes[DOCUMENT_PATH] = route(server)
    client_id = server.url(DOCUMENT_PATH)
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        page = await browser.get(
            authorize_path(challenge, "s", client_id=client_id, redirect_uri=LOOPBACK_REDIRECT)
        )
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "location" not in page.headers
    assert "identified" in page.text  # the title: "This app can't be identified"
    assert client_id in page.text
    assert re.search(message, page.text), page.text
    assert stack.count("transactions") == 0
    assert server.requests == [DOCUMENT_PATH]  # no redirect followed, no retry


async def test_a_bad_document_is_not_fetched_again_at_once(
    stack: Stack, server: DocumentServer
) -> None:
    client_id = server.url(DOCUMENT_PATH)  # nothing served there: 404
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        for _ in range(3):
            page = await browser.get(authorize_path(challenge, "s", client_id=client_id))
            assert page.status_code == 400
    assert server.requests == [DOCUMENT_PATH]


async def test_a_redirect_uri_not_in_the_document_gets_a_page(
    stack: Stack, server: DocumentServer
) -> None:
    client_id = server.serve_document(DOCUMENT_PATH, redirect_uris=["https://app.example/cb"])
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        page = await browser.get(
            authorize_path(challenge, "s", client_id=client_id, redirect_uri=LOOPBACK_REDIRECT)
        )
    assert page.status_code == 400
    assert "location" not in page.headers
    assert stack.count("transactions") == 0


async def test_a_document_fetch_failure_at_the_token_endpoint_is_json(
    stack: Stack, server: DocumentServer
) -> None:
    client_id = server.url("/never-served.json")
    answer = await stack.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "redirect_uri": LOOPBACK_REDIRECT,
            "client_id": client_id,
            "code_verifier": "v" * 43,
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client"
    assert "answered 404" in answer.json()["error_description"]
