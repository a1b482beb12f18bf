"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, as the MCP
authorization spec of 2025-11-25 uses them): a client whose `client_id` is an https URL, whose
description (redirect URIs, name) is the JSON document at that URL.

    parse_document      what a valid document is, and the message for each way it is not
    cache_lifetime      how long a fetched document is kept (its HTTP caching headers,
                        clamped to MIN_TTL..MAX_TTL)
    MetadataDocuments   fetch (through `outbound.SafeFetcher`), validate, cache in memory
                        (bounded, failures kept FAILURE_TTL seconds), one fetch at a time per URL

Such a client is public: it authenticates at /token with `none` and PKCE. A document cannot
carry a secret, and `private_key_jwt` (a key set in the document) is not supported yet. Its
name is the client's own claim, unverified: the client's kind says so to the login page.
"""

from __future__ import annotations

import email.utils
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio

from ..clock import Clock
from ..errors import BridgeError
from ..outbound import OutboundError, SafeFetcher
from .clients import Client, ClientKind
from .redirect_uris import RedirectURIError, check_redirect_uri

log = logging.getLogger("ib_oauth_bridge.oauth")
MIN_TTL = 5 * 60.0
MAX_TTL = 24 * 3600.0
FAILURE_TTL = 30.0
MAX_ENTRIES = 1024
MAX_REDIRECT_URIS = 20
MAX_NAME_LENGTH = 200
MAX_URI_LENGTH = 2048
GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})
RESPONSE_TYPES = frozenset({"code"})
SECRET_FIELDS = ("client_secret", "client_secret_expires_at")
TITLE = "This app can't be identified"
# Characters that reorder how a name is displayed (a name could pose as another): refused.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


class MetadataDocumentError(BridgeError):
    """The client's metadata document can't be used; the message says why, for the page."""

    def __init__(self, client_id: str, reason: str) -> None:
        super().__init__(
            400,
            "invalid_client",
            f"The app's client ID is a URL, and its metadata document at {client_id} "
            f"{reason}. Contact the app's developer.",
            title=TITLE,
        )


class InvalidDocument(ValueError):
    """A fetched document that is not a valid client description; the message completes
    "The document at <url> ..."."""


@dataclass(frozen=True, slots=True)
class ClientMetadata:
    client_id: str
    redirect_uris: tuple[str, ...]
    client_name: str | None = None
    client_uri: str | None = None
    logo_uri: str | None = None  # validated, kept, never fetched


# The document ------------------------------------------------------------------------------


def check_client_id_url(client_id: str) -> None:
    """The rules the draft adds to a fetchable URL (section 3): a path that is not the root
    and has no dot segments. (Scheme, user info, fragment, host: `SafeFetcher.check_url`.)"""
    path = urlsplit(client_id).path
    if path in {"", "/"}:
        raise InvalidDocument("has no path; a client ID URL needs one, such as /client.json")
    segments = path.split("/")
    if any(segment.lower() in {".", "..", "%2e", "%2e%2e", ".%2e", "%2e."} for segment in segments):
        raise InvalidDocument("has a URL with . or .. path segments, which is not allowed")


def parse_document(client_id: str, body: bytes) -> ClientMetadata:
    """The client described by a fetched document, or InvalidDocument saying what is wrong."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidDocument("is not JSON") from None
    if not isinstance(document, dict):
        raise InvalidDocument("is not a JSON object")
    if document.get("client_id") != client_id:
        raise InvalidDocument(
            "does not describe this client: the client_id in the document does not match "
            "the URL it is served at (they must be equal, character for character)"
        )
    for name in SECRET_FIELDS:
        if name in document:
            raise InvalidDocument(
                f"contains {name}: a client described by a metadata document has no shared "
                "secret; use token_endpoint_auth_method none with PKCE"
            )
    _check_auth_method(document.get("token_endpoint_auth_method"))
    _check_subset(document, "grant_types", GRANT_TYPES)
    _check_subset(document, "response_types", RESPONSE_TYPES)
    return ClientMetadata(
        client_id=client_id,
        redirect_uris=_redirect_uris(document.get("redirect_uris")),
        client_name=_optional_text(document, "client_name", MAX_NAME_LENGTH),
        client_uri=_optional_uri(document, "client_uri"),
        logo_uri=_optional_uri(document, "logo_uri"),
    )


def _check_auth_method(method: Any) -> None:
    if method is None or method == "none":
        return
    if isinstance(method, str) and method.startswith("client_secret"):
        raise InvalidDocument(
            f"asks for token_endpoint_auth_method {method}, but a metadata document cannot "
            "carry a secret; use none with PKCE"
        )
    if method == "private_key_jwt":
        raise InvalidDocument(
            "asks for token_endpoint_auth_method private_key_jwt, which this bridge does not "
            "support yet; use none with PKCE"
        )
    raise InvalidDocument(
        f"asks for token_endpoint_auth_method {str(method)[:40]!r}; only none (with PKCE) is "
        "supported"
    )


def _check_subset(document: Mapping[str, Any], name: str, allowed: frozenset[str]) -> None:
    if name not in document:
        return
    values = document[name]
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise InvalidDocument(f"has {name} that is not a list of strings")
    extra = sorted(set(values) - allowed)
    if extra:
        raise InvalidDocument(
            f"asks for {name} {', '.join(v[:40] for v in extra[:3])}; only "
            f"{' and '.join(sorted(allowed))} are supported"
        )


def _redirect_uris(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidDocument("has no redirect_uris (a non-empty list of URLs is required)")
    if len(value) > MAX_REDIRECT_URIS:
        raise InvalidDocument(f"lists more than {MAX_REDIRECT_URIS} redirect_uris")
    for uri in value:
        if not isinstance(uri, str):
            raise InvalidDocument("has redirect_uris that are not all strings")
        _check_redirect_uri(uri)
    return tuple(value)


def _check_redirect_uri(uri: str) -> None:
    # The same rules as for registered clients (oauth/redirect_uris.py).
    try:
        check_redirect_uri(uri)
    except RedirectURIError as exc:
        raise InvalidDocument(
            f"has a redirect URI that is not allowed ({uri[:80]!r}): {exc}"
        ) from None


def _optional_text(document: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidDocument(f"has a {name} that is not a string of at most {limit} characters")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or ch in BIDI_CONTROLS for ch in value):
        raise InvalidDocument(f"has a {name} with control characters")
    return value.strip() or None


def _optional_uri(document: Mapping[str, Any], name: str) -> str | None:
    value = _optional_text(document, name, MAX_URI_LENGTH)
    if value is not None and urlsplit(value).scheme not in {"https", "http"}:
        raise InvalidDocument(f"has a {name} that is not an http(s) URL")
    return value


# Caching -----------------------------------------------------------------------------------


def cache_lifetime(headers: Mapping[str, str], now: float) -> float:
    """Seconds to keep a document: Cache-Control max-age (no-store and no-cache: none), else
    Expires against Date, else nothing; then clamped to MIN_TTL..MAX_TTL, so that a client
    can neither make the bridge fetch on every request nor keep a stale copy beyond a day."""
    directives: dict[str, str] = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            directives.setdefault(name.strip().lower(), value.strip().strip('"'))
    lifetime = 0.0
    if "no-store" in directives or "no-cache" in directives:
        lifetime = 0.0
    elif "max-age" in directives:
        raw = directives["max-age"]
        lifetime = float(raw) if raw.isdigit() else 0.0
    elif "expires" in headers:
        expires = _http_date(headers["expires"])
        date = _http_date(headers.get("date", "")) or now
        lifetime = expires - date if expires is not None else 0.0
    return min(max(lifetime, MIN_TTL), MAX_TTL)


def _http_date(text: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


# The client ------------------------------------------------------------------------------


def metadata_client(metadata: ClientMetadata) -> Client:
    """Redirect URIs match as for every client: exactly, or a loopback one on any port."""
    return Client(
        client_id=metadata.client_id,
        client_secret_hash=None,
        token_endpoint_auth_method="none",  # noqa: S106 - the auth method's name, not a secret
        redirect_uris=metadata.redirect_uris,
        name=metadata.client_name,
        kind=ClientKind.METADATA_DOCUMENT,
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    expires_at: float
    client: Client | None
    error: str | None  # the reason, when the fetch or the document failed


class MetadataDocuments:
    """The metadata-document clients, fetched on first use and cached in memory.

    One process, one cache: each worker of a multi-process deployment fetches for itself,
    which the lifetimes keep rare. The cache holds at most `max_entries` documents (the least
    recently used go first); a failure is remembered `failure_ttl` seconds, so a broken or
    hostile client cannot make the bridge fetch in a loop; concurrent requests for one URL
    share one fetch.
    """

    def __init__(
        self,
        fetcher: SafeFetcher,
        clock: Clock,
        *,
        max_entries: int = MAX_ENTRIES,
        failure_ttl: float = FAILURE_TTL,
    ) -> None:
        self.fetcher = fetcher
        self.clock = clock
        self.max_entries = max_entries
        self.failure_ttl = failure_ttl
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._loading: dict[str, anyio.Event] = {}

    def handles(self, client_id: str) -> bool:
        """Whether `client_id` names a metadata document (and so is never a registered id):
        any http(s) URL; the rules for which ones may be fetched come after, with messages."""
        return client_id[:8].lower() == "https://" or client_id[:7].lower() == "http://"

    async def get(self, client_id: str) -> Client:
        """The client, or MetadataDocumentError saying what is wrong with its document."""
        try:
            self.fetcher.check_url(client_id)
            check_client_id_url(client_id)
        except (OutboundError, InvalidDocument) as error:
            raise MetadataDocumentError(client_id, str(error)) from None
        entry = await self._entry(client_id)
        if entry.client is None:
            raise MetadataDocumentError(client_id, entry.error or "could not be used")
        return entry.client

    async def _entry(self, client_id: str) -> _Entry:
        while True:
            entry = self._fresh(client_id)
            if entry is not None:
                return entry
            loading = self._loading.get(client_id)
            if loading is None:
                break
            await loading.wait()  # another request is fetching this document: share it
        loaded = self._loading[client_id] = anyio.Event()
        try:
            entry = await self._load(client_id)
            self._remember(client_id, entry)
            return entry
        finally:
            del self._loading[client_id]
            loaded.set()

    def forget(self, client_id: str) -> None:
        self._entries.pop(client_id, None)

    def _fresh(self, client_id: str) -> _Entry | None:
        entry = self._entries.get(client_id)
        if entry is None:
            return None
        if entry.expires_at <= self.clock():
            del self._entries[client_id]
            return None
        self._entries.move_to_end(client_id)
        return entry

    def _remember(self, client_id: str, entry: _Entry) -> None:
        self._entries[client_id] = entry
        self._entries.move_to_end(client_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def _load(self, client_id: str) -> _Entry:
        now = self.clock()
        try:
            fetched = await self.fetcher.get(client_id)
            client = metadata_client(parse_document(client_id, fetched.body))
        except (OutboundError, InvalidDocument) as error:
            log.info(
                "client metadata document refused",
                extra={"client_id": client_id, "reason": str(error)},
            )
            return _Entry(now + self.failure_ttl, None, str(error))
        lifetime = cache_lifetime(fetched.headers, now)
        log.info(
            "client metadata document fetched",
            extra={"client_id": client_id, "cache_seconds": lifetime},
        )
        return _Entry(now + lifetime, client, None)
