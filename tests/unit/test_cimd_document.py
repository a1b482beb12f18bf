"""oauth.cimd: what a valid client metadata document is (every bad case and its message), how
long one is kept (with a moved clock), and how redirect URIs of such a client match."""

from __future__ import annotations

import email.utils
import json
from typing import Any

import anyio
import pytest

from ib_oauth_bridge.errors import BridgeError
from ib_oauth_bridge.oauth.cimd import (
    FAILURE_TTL,
    MAX_TTL,
    MIN_TTL,
    ClientMetadata,
    InvalidDocument,
    MetadataDocumentError,
    MetadataDocuments,
    cache_lifetime,
    check_client_id_url,
    metadata_client,
    parse_document,
)
from ib_oauth_bridge.oauth.clients import ClientKind, ClientLookup
from ib_oauth_bridge.outbound import Fetched, OutboundError, SafeFetcher

URL = "https://app.example/oauth/client.json"
GOOD: dict[str, Any] = {"client_id": URL, "redirect_uris": ["https://app.example/callback"]}


def document(**changes: Any) -> bytes:
    fields = {**GOOD, **changes}
    return json.dumps({k: v for k, v in fields.items() if v is not ...}).encode()


# The document --------------------------------------------------------------------------------

BAD_DOCUMENTS: dict[str, tuple[bytes, str]] = {
    "not json": (b"<html>hello</html>", "is not JSON"),
    "not utf-8": (b'{"client_id": "\xff"}', "is not JSON"),
    "empty": (b"", "is not JSON"),
    "a list": (b"[]", "is not a JSON object"),
    "a string": (b'"https://app.example/oauth/client.json"', "is not a JSON object"),
    "no client_id": (document(client_id=...), "client_id in the document does not match"),
    "other client_id": (
        document(client_id="https://app.example/oauth/client.json/"),
        "client_id in the document does not match",
    ),
    "client_id case": (
        document(client_id="https://APP.example/oauth/client.json"),
        "client_id in the document does not match",
    ),
    "no redirect_uris": (document(redirect_uris=...), "has no redirect_uris"),
    "empty redirect_uris": (document(redirect_uris=[]), "has no redirect_uris"),
    "redirect_uris a string": (
        document(redirect_uris="https://app.example/cb"),
        "has no redirect_uris",
    ),
    "redirect_uri a number": (document(redirect_uris=[1]), "not all strings"),
    "relative redirect_uri": (document(redirect_uris=["/callback"]), "not an absolute URL"),
    "redirect_uri fragment": (
        document(redirect_uris=["https://app.example/cb#x"]),
        "without a fragment",
    ),
    "http redirect_uri": (
        document(redirect_uris=["http://app.example/cb"]),
        "http redirect URI that is not on a loopback host",
    ),
    "redirect_uri spaces": (
        document(redirect_uris=["https://app.example/a b"]),
        "not a valid URL",
    ),
    "too many redirect_uris": (
        document(redirect_uris=[f"https://app.example/{n}" for n in range(21)]),
        "more than 20 redirect_uris",
    ),
    "client_secret": (document(client_secret="s3cret"), "contains client_secret"),
    "client_secret_expires_at": (
        document(client_secret_expires_at=0),
        "contains client_secret_expires_at",
    ),
    "client_secret_basic": (
        document(token_endpoint_auth_method="client_secret_basic"),
        "client_secret_basic, but a metadata document cannot carry a secret",
    ),
    "client_secret_post": (
        document(token_endpoint_auth_method="client_secret_post"),
        "cannot carry a secret",
    ),
    "private_key_jwt": (
        document(token_endpoint_auth_method="private_key_jwt"),
        "private_key_jwt, which this bridge does not support yet",
    ),
    "tls_client_auth": (
        document(token_endpoint_auth_method="tls_client_auth"),
        "only none \\(with PKCE\\) is supported",
    ),
    "client_credentials": (
        document(grant_types=["authorization_code", "client_credentials"]),
        "asks for grant_types client_credentials",
    ),
    "grant_types a string": (
        document(grant_types="authorization_code"),
        "grant_types that is not a list",
    ),
    "implicit": (document(response_types=["token"]), "asks for response_types token"),
    "client_name a number": (document(client_name=5), "client_name that is not a string"),
    "client_name too long": (document(client_name="x" * 201), "at most 200 characters"),
    "client_name bidi override": (document(client_name="App\u202eppa"), "control characters"),
    "client_name newline": (document(client_name="App\nName"), "control characters"),
    "logo_uri javascript": (
        document(logo_uri="javascript:alert(1)"),
        "logo_uri that is not an http\\(s\\) URL",
    ),
    "client_uri data": (document(client_uri="data:text/html,x"), "client_uri that is not"),
}


@pytest.mark.parametrize(
    ("body", "message"),
    BAD_DOCUMENTS.values(),
    ids=BAD_DOCUMENTS.keys(),
)
def test_bad_documents_say_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(InvalidDocument, match=message):
        parse_document(URL, body)


def test_a_minimal_document() -> None:
    assert parse_document(URL, document()) == ClientMetadata(URL, ("https://app.example/callback",))


def test_a_full_document() -> None:
    metadata = parse_document(
        URL,
        document(
            client_name="  Example App ",
            client_uri="https://app.example",
            logo_uri="https://app.example/logo.png",
            redirect_uris=["http://127.0.0.1/callback", "com.example.app:/callback"],
            token_endpoint_auth_method="none",
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            scope="ib.read",
            software_id="example",
        ),
    )
    assert metadata.client_name == "Example App"
    assert metadata.logo_uri == "https://app.example/logo.png"
    assert metadata.redirect_uris == ("http://127.0.0.1/callback", "com.example.app:/callback")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://app.example", "has no path"),
        ("https://app.example/", "has no path"),
        ("https://app.example/a/../client.json", r"\. or \.\. path segments"),
        ("https://app.example/./client.json", r"\. or \.\. path segments"),
        ("https://app.example/%2e%2e/client.json", r"\. or \.\. path segments"),
    ],
)
def test_client_id_urls_need_a_plain_path(url: str, message: str) -> None:
    with pytest.raises(InvalidDocument, match=message):
        check_client_id_url(url)


# The client ----------------------------------------------------------------------------------


def test_redirect_uris_match_exactly_and_loopback_on_any_port() -> None:
    client = metadata_client(
        ClientMetadata(
            URL,
            ("https://app.example/cb", "http://127.0.0.1/callback", "http://[::1]:8080/cb"),
            client_name="Example",
        )
    )
    assert client.kind is ClientKind.METADATA_DOCUMENT
    assert client.token_endpoint_auth_method == "none"
    assert client.client_secret_hash is None
    assert client.check_endpoint_auth_method("none", "token")
    assert not client.check_endpoint_auth_method("client_secret_basic", "token")
    assert client.check_redirect_uri("https://app.example/cb")
    assert client.check_redirect_uri("http://127.0.0.1/callback")
    assert client.check_redirect_uri("http://127.0.0.1:53682/callback")
    assert client.check_redirect_uri("http://[::1]:1/cb")
    assert not client.check_redirect_uri("http://127.0.0.1:53682/other")
    assert not client.check_redirect_uri("http://127.0.0.1:53682/callback?x=1")
    assert not client.check_redirect_uri("http://localhost:53682/callback")  # another host
    assert not client.check_redirect_uri("https://app.example:444/cb")
    assert not client.check_redirect_uri("https://app.example/cb/")


# Caching -----------------------------------------------------------------------------------


def http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "lifetime"),
    [
        ({}, MIN_TTL),
        ({"cache-control": "max-age=60"}, MIN_TTL),
        ({"cache-control": "public, max-age=3600"}, 3600),
        ({"cache-control": 'max-age="7200"'}, 7200),
        ({"cache-control": "max-age=999999999"}, MAX_TTL),
        ({"cache-control": "no-store"}, MIN_TTL),
        ({"cache-control": "no-cache, max-age=3600"}, MIN_TTL),
        ({"cache-control": "max-age=nonsense"}, MIN_TTL),
        ({"expires": http_date(NOW + 7200), "date": http_date(NOW)}, 7200),
        ({"expires": http_date(NOW + 7200)}, 7200),
        ({"expires": http_date(NOW - 100)}, MIN_TTL),
        ({"expires": "0"}, MIN_TTL),
        ({"expires": http_date(NOW + 7200), "cache-control": "max-age=600"}, 600),
    ],
)
def test_cache_lifetime_is_clamped(headers: dict[str, str], lifetime: float) -> None:
    assert cache_lifetime(headers, NOW) == pytest.approx(lifetime)


class FakeClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class FakeFetcher(SafeFetcher):
    """Answers from a table instead of the network, counting fetches."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: dict[str, Fetched | OutboundError] = {}
        self.fetches: list[str] = []
        self.gate: anyio.Event | None = None

    async def get(self, url: str) -> Fetched:
        self.fetches.append(url)
        if self.gate is not None:
            await self.gate.wait()
        answer = self.answers[url]
        if isinstance(answer, OutboundError):
            raise answer
        return answer

    def serve(self, url: str, cache_control: str | None = None, **fields: Any) -> None:
        headers = {"cache-control": cache_control} if cache_control else {}
        body = json.dumps({"client_id": url, "redirect_uris": ["https://a.example/cb"], **fields})
        self.answers[url] = Fetched(url, headers, body.encode())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fetcher() -> FakeFetcher:
    return FakeFetcher()


@pytest.mark.anyio
async def test_a_document_is_kept_for_its_clamped_lifetime(
    fetcher: FakeFetcher, clock: FakeClock
) -> None:
    documents = MetadataDocuments(fetcher, clock)
    fetcher.serve(URL, "max-age=60", client_name="First")  # asks for 60 s, gets 5 min
    assert (await documents.get(URL)).name == "First"
    fetcher.serve(URL, "max-age=60", client_name="Second")
    clock.now += MIN_TTL - 1
    assert (await documents.get(URL)).name == "First"
    assert len(fetcher.fetches) == 1
    clock.now += 2
    assert (await documents.get(URL)).name == "Second"
    assert len(fetcher.fetches) == 2


@pytest.mark.anyio
async def test_a_long_lifetime_is_cut_to_a_day(fetcher: FakeFetcher, clock: FakeClock) -> None:
    documents = MetadataDocuments(fetcher, clock)
    fetcher.serve(URL, "max-age=31536000")
    await documents.get(URL)
    clock.now += MAX_TTL - 1
    await documents.get(URL)
    assert len(fetcher.fetches) == 1
    clock.now += 2
    await documents.get(URL)
    assert len(fetcher.fetches) == 2


@pytest.mark.anyio
async def test_a_failure_is_remembered_briefly(fetcher: FakeFetcher, clock: FakeClock) -> None:
    documents = MetadataDocuments(fetcher, clock)
    fetcher.answers[URL] = OutboundError("answered 404")
    for _ in range(5):
        with pytest.raises(MetadataDocumentError, match="answered 404"):
            await documents.get(URL)
    assert len(fetcher.fetches) == 1
    fetcher.answers[URL] = Fetched(URL, {}, b"not json")
    clock.now += FAILURE_TTL + 1
    with pytest.raises(MetadataDocumentError, match="is not JSON"):
        await documents.get(URL)
    assert len(fetcher.fetches) == 2


@pytest.mark.anyio
async def test_the_cache_is_bounded(fetcher: FakeFetcher, clock: FakeClock) -> None:
    documents = MetadataDocuments(fetcher, clock, max_entries=2)
    urls = [f"https://app.example/{n}.json" for n in range(3)]
    for url in urls:
        fetcher.serve(url)
        await documents.get(url)
    await documents.get(urls[2])
    await documents.get(urls[1])
    assert len(fetcher.fetches) == 3
    await documents.get(urls[0])  # the least recently used went first
    assert fetcher.fetches == [*urls, urls[0]]


@pytest.mark.anyio
async def test_concurrent_requests_share_one_fetch(fetcher: FakeFetcher, clock: FakeClock) -> None:
    documents = MetadataDocuments(fetcher, clock)
    fetcher.serve(URL)
    fetcher.gate = anyio.Event()
    names: list[str] = []

    async def get() -> None:
        names.append((await documents.get(URL)).client_id)

    async with anyio.create_task_group() as tasks:
        for _ in range(10):
            tasks.start_soon(get)
        await anyio.sleep(0.05)
        fetcher.gate.set()
    assert names == [URL] * 10
    assert fetcher.fetches == [URL]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("client_id", "message"),
    [
        ("http://app.example/client.json", "must be an https:// URL"),
        ("https://app.example/", "has no path"),
        ("https://10.1.2.3/client.json", "IP address"),
    ],
)
async def test_a_bad_client_id_is_refused_without_fetching(
    fetcher: FakeFetcher, clock: FakeClock, client_id: str, message: str
) -> None:
    documents = MetadataDocuments(fetcher, clock)
    with pytest.raises(MetadataDocumentError, match=message) as raised:
        await documents.get(client_id)
    assert fetcher.fetches == []
    error: BridgeError = raised.value
    assert (error.status_code, error.error) == (400, "invalid_client")
    assert error.redirect_to is None  # a page, never a redirect: the redirect URIs are unknown


class NoStore:
    async def get_client(self, client_id: str) -> None:
        raise AssertionError("a URL client_id is never looked up among registered clients")


@pytest.mark.anyio
async def test_the_lookup_sends_url_ids_to_the_documents(
    fetcher: FakeFetcher, clock: FakeClock
) -> None:
    fetcher.serve(URL, client_name="Example")
    lookup = ClientLookup((), NoStore(), MetadataDocuments(fetcher, clock))  # type: ignore[arg-type]
    client = await lookup.get(URL)
    assert client is not None
    assert (client.kind, client.display_name) == (ClientKind.METADATA_DOCUMENT, "Example")
    assert (await lookup.get("mcp-public-client")) is not None
    with pytest.raises(MetadataDocumentError):
        await lookup.get("HTTP://app.example/client.json")
