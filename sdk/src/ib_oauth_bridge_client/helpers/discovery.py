"""RFC 8414 authorization server metadata: find the bridge's endpoints from its base URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from ._http import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    error_from,
    json_object,
    network_errors,
    string_field,
)
from .exceptions import BridgeError, IssuerMismatch, OAuthError

WELL_KNOWN = "/.well-known/oauth-authorization-server"


def _strings(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BridgeError(f"authorization server metadata: {key!r} must be a list of strings")
    return tuple(value)


def _same_url(a: str, b: str) -> bool:
    # RFC 8414 3.3 wants them identical; a trailing slash is the only difference tolerated.
    return a.rstrip("/") == b.rstrip("/")


@dataclass(frozen=True)
class BridgeMetadata:
    """The bridge's RFC 8414 metadata, as far as a client needs it.

    `document` keeps the whole JSON document for fields not modelled here.
    """

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    revocation_endpoint: str | None = None
    scopes_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()
    grant_types_supported: tuple[str, ...] = ()
    response_types_supported: tuple[str, ...] = ()
    token_endpoint_auth_methods_supported: tuple[str, ...] = ()
    authorization_response_iss_parameter_supported: bool = False
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def proxy_url(self) -> str:
        """The proxy's base URL, ``<issuer>/proxy`` (also the access tokens' audience)."""
        return f"{self.issuer.rstrip('/')}/proxy"

    @classmethod
    def from_document(cls, document: Mapping[str, Any], base_url: str) -> BridgeMetadata:
        """Validate a metadata document fetched for `base_url`.

        Raises:
            IssuerMismatch: `issuer` is not `base_url` (RFC 8414 3.3).
            BridgeError: a required field is missing or malformed, or PKCE S256 is not offered.
        """
        data = dict(document)
        what = "authorization server metadata"
        issuer = string_field(data, "issuer", what)
        if not _same_url(issuer, base_url):
            raise IssuerMismatch(
                f"the metadata at {base_url} names the issuer {issuer!r}; expected {base_url!r}"
            )
        revocation = data.get("revocation_endpoint")
        if revocation is not None and not isinstance(revocation, str):
            raise BridgeError(f"{what}: 'revocation_endpoint' must be a string")
        metadata = cls(
            issuer=issuer,
            authorization_endpoint=string_field(data, "authorization_endpoint", what),
            token_endpoint=string_field(data, "token_endpoint", what),
            userinfo_endpoint=string_field(data, "userinfo_endpoint", what),
            jwks_uri=string_field(data, "jwks_uri", what),
            revocation_endpoint=revocation,
            scopes_supported=_strings(data, "scopes_supported"),
            code_challenge_methods_supported=_strings(data, "code_challenge_methods_supported"),
            grant_types_supported=_strings(data, "grant_types_supported"),
            response_types_supported=_strings(data, "response_types_supported"),
            token_endpoint_auth_methods_supported=_strings(
                data, "token_endpoint_auth_methods_supported"
            ),
            authorization_response_iss_parameter_supported=(
                data.get("authorization_response_iss_parameter_supported") is True
            ),
            document=data,
        )
        if "S256" not in metadata.code_challenge_methods_supported:
            raise BridgeError(
                f"{base_url} does not offer PKCE S256 (code_challenge_methods_supported = "
                f"{list(metadata.code_challenge_methods_supported)}); refusing to sign in"
            )
        return metadata


def metadata_urls(base_url: str) -> list[str]:
    """Where to look: RFC 8414 3.1 inserts the well-known part before an issuer's path; bridges
    mounted under a path often serve it after the path as well, so that is tried second."""
    base = base_url.rstrip("/")
    parts = urlsplit(base)
    if parts.path in ("", "/"):
        return [base + WELL_KNOWN]
    root = f"{parts.scheme}://{parts.netloc}"
    return [root + WELL_KNOWN + parts.path, base + WELL_KNOWN]


def discover(base_url: str, *, http: httpx.Client | None = None) -> BridgeMetadata:
    """Fetch and validate the bridge's metadata (RFC 8414).

    Args:
        base_url: the bridge's public base URL, which must be its issuer.
        http: an httpx client to use (proxies, certificates); a short-lived one otherwise.

    Raises:
        IssuerMismatch: the metadata names another issuer.
        NetworkError: the bridge could not be reached.
        OAuthError: the bridge answered with an error status.
        BridgeError: the document is malformed or does not offer PKCE S256.
    """
    if not base_url.startswith(("https://", "http://")):
        raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
    client = http or httpx.Client(timeout=DEFAULT_TIMEOUT, headers={"User-Agent": USER_AGENT})
    try:
        urls = metadata_urls(base_url)
        for index, url in enumerate(urls):
            with network_errors(f"discovery at {url}"):
                response = client.get(url, headers={"Accept": "application/json"})
            if response.status_code == 404 and index + 1 < len(urls):
                continue
            if response.status_code != 200:
                error = error_from(response)
                raise OAuthError(
                    error.error,
                    f"no authorization server metadata at {url}"
                    + (f" ({error.error_description})" if error.error_description else ""),
                    response.status_code,
                )
            return BridgeMetadata.from_document(
                json_object(response, "authorization server metadata"), base_url
            )
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        if http is None:
            client.close()
