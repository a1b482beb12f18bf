"""Dynamic client registration (RFC 7591) on Authlib's ClientRegistrationEndpoint.

Authlib runs the protocol (authenticate, validate the metadata against the claims class and the
server's metadata, generate the client information, save, answer 201); this module implements
its hooks and the bridge's rules for what a client may say about itself:

- `token_endpoint_auth_method`: `none` (a public client: PKCE only) or `client_secret_basic` /
  `client_secret_post` (confidential: a secret is issued once and stored only as its hash). If
  omitted, `client_secret_basic`, as RFC 7591 section 2 says.
- `grant_types`: `authorization_code`, optionally with `refresh_token`; if omitted, both (a
  substitution RFC 7591 section 3.2.1 allows, and the answer says so). `response_types`: `code`.
- `redirect_uris`: required, by the rules of `redirect_uris.py` (`invalid_redirect_uri`).
- `client_name`: control and formatting characters removed, at most 200 characters; shown to
  the user as an unverified name. `client_uri`, `logo_uri`, `tos_uri`, `policy_uri`: https
  only, stored and echoed, never fetched (a logo is never shown as an image).
- `scope`: a subset of the supported scopes; the client can then ask for no others.
- `jwks`, `jwks_uri` and `software_statement` are ignored (no private_key_jwt, no software
  statements), as is any metadata the bridge does not know (RFC 7591 section 2).

Registration is open unless an initial access token is configured (RFC 7591 section 3.1); there
is no registration access token and no management endpoint (RFC 7592). A registration that has
not completed a sign-in within `registration_unused_ttl` expires.
"""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import ClientMetadataClaims, InvalidRedirectURIError
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint as _ClientRegistrationEndpoint
from joserfc.errors import ClaimError, InvalidClaimError

from ..clock import Clock
from ..store.protocols import ClientStore
from ..store.records import RegisteredClient, secret_hash
from .clients import GRANT_TYPES, SUPPORTED_SCOPES, ClientLookup
from .redirect_uris import RedirectURIError, check_redirect_uri

if TYPE_CHECKING:
    from .requests import BridgeJsonRequest
    from .server import AuthorizationServer

AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")
MAX_CLIENT_NAME = 200
MAX_URI = 2048
MAX_REDIRECT_URIS = 20
MAX_LIST = 10
_STRINGS = (
    "client_name",
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "scope",
    "token_endpoint_auth_method",
    "software_id",
    "software_version",
)
_LISTS = ("grant_types", "response_types", "contacts")
_HTTPS_URIS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
_DESCRIPTIONS = {
    "token_endpoint_auth_method": "token_endpoint_auth_method must be one of: "
    + ", ".join(AUTH_METHODS)
    + ".",
    "grant_types": "grant_types may hold only authorization_code and refresh_token, and must "
    "hold authorization_code.",
    "response_types": "response_types may hold only code.",
    "scope": "scope may hold only these scopes: " + " ".join(SUPPORTED_SCOPES) + ".",
}


def clean_text(value: str, max_length: int | None = None) -> str:
    """Text a client wrote about itself, fit to show a person: control and formatting
    characters (bidi overrides, zero-width joiners) removed, runs of white space made one space,
    and, with `max_length`, cut to that length with an ellipsis."""
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in value
        if ch.isspace() or not unicodedata.category(ch).startswith("C")
    )
    text = " ".join(kept.split())
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text


def _invalid(claim: str, description: str) -> InvalidClaimError:
    return InvalidClaimError(claim, description=description)


class ClientMetadata(ClientMetadataClaims):
    """RFC 7591 client metadata, with the bridge's rules on top of Authlib's checks (which the
    server metadata configures: supported scopes, grant and response types, auth methods)."""

    REGISTERED_CLAIMS = [  # noqa: RUF012 - Authlib's own attribute
        claim
        for claim in ClientMetadataClaims.REGISTERED_CLAIMS
        if claim not in {"jwks", "jwks_uri"}
    ]

    def validate(self, now: object = None, leeway: int = 0) -> None:
        self._check_types()
        self.setdefault("grant_types", list(GRANT_TYPES))
        self.setdefault("response_types", ["code"])
        try:
            super().validate(now, leeway)
        except ClaimError as error:
            description = _DESCRIPTIONS.get(error.claim)
            if description is None:
                raise
            raise _invalid(error.claim, description) from None
        if "authorization_code" not in self["grant_types"]:
            raise _invalid("grant_types", _DESCRIPTIONS["grant_types"])
        for key in ("grant_types", "response_types"):
            self[key] = list(dict.fromkeys(self[key]))

    def _check_types(self) -> None:
        """Shapes and sizes first, so that no later check meets a value of the wrong type."""
        for key in [key for key, value in self.items() if value is None or value == []]:
            del self[key]  # a JSON null or an empty list says nothing: the field is absent
        uris = self.get("redirect_uris")
        if not isinstance(uris, list) or not uris:
            raise InvalidRedirectURIError(
                description="redirect_uris is required: a non-empty list of URIs."
            )
        if len(uris) > MAX_REDIRECT_URIS or not all(isinstance(uri, str) for uri in uris):
            raise InvalidRedirectURIError(
                description=f"redirect_uris must be a list of at most {MAX_REDIRECT_URIS} strings."
            )
        for key in _STRINGS:
            if key in self and (not isinstance(self[key], str) or len(self[key]) > MAX_URI):
                raise _invalid(key, f"{key} must be a string of at most {MAX_URI} characters.")
        for key in _LISTS:
            value = self.get(key)
            if value is not None and (
                not isinstance(value, list)
                or len(value) > MAX_LIST
                or not all(isinstance(item, str) and len(item) <= 320 for item in value)
            ):
                raise _invalid(key, f"{key} must be a list of at most {MAX_LIST} short strings.")

    def validate_redirect_uris(self) -> None:
        for uri in self["redirect_uris"]:
            try:
                check_redirect_uri(uri)
            except RedirectURIError as error:
                raise InvalidRedirectURIError(description=str(error)) from None
        self["redirect_uris"] = list(dict.fromkeys(self["redirect_uris"]))

    def validate_client_name(self) -> None:
        if "client_name" not in self:
            return
        if len(self["client_name"]) > MAX_CLIENT_NAME:
            raise _invalid(
                "client_name", f"client_name is longer than {MAX_CLIENT_NAME} characters."
            )
        name = clean_text(self["client_name"])
        if name:
            self["client_name"] = name
        else:
            del self["client_name"]

    def validate_scope(self) -> None:
        if "scope" in self:
            scopes = list(dict.fromkeys(self["scope"].split()))
            if scopes:
                self["scope"] = " ".join(scopes)
            else:
                del self["scope"]

    def _https_uri(self, key: str) -> None:
        uri = self.get(key)
        if uri is None:
            return
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme != "https"
            or not parts.hostname
            or "@" in parts.netloc
            or "#" in uri
            or any(ch.isspace() or not ch.isprintable() for ch in uri)
        ):
            raise _invalid(key, f"{key} must be an https URL with a host and no fragment.")

    def validate_client_uri(self) -> None:
        self._https_uri("client_uri")

    def validate_logo_uri(self) -> None:
        self._https_uri("logo_uri")

    def validate_tos_uri(self) -> None:
        self._https_uri("tos_uri")

    def validate_policy_uri(self) -> None:
        self._https_uri("policy_uri")

    def validate_jwks_uri(self) -> None:
        """Ignored: no client authentication here uses keys."""

    def validate_jwks(self) -> None:
        """Ignored: no client authentication here uses keys."""


@dataclass(frozen=True, slots=True)
class RegistrationCredential:
    """Who may register: anyone (`open`), or the holder of the initial access token."""

    kind: str


class ClientRegistrationEndpoint(_ClientRegistrationEndpoint):
    server: AuthorizationServer

    def __init__(
        self,
        *,
        store: ClientStore,
        clients: ClientLookup,
        initial_access_token: str | None,
        unused_ttl: int,
        clock: Clock,
    ) -> None:
        super().__init__(claims_classes=[ClientMetadata])
        self.store = store
        self.clients = clients
        self.initial_access_token = initial_access_token
        self.unused_ttl = unused_ttl
        self.clock = clock

    def authenticate_token(self, request: BridgeJsonRequest) -> RegistrationCredential:
        if self.initial_access_token is None:
            return RegistrationCredential("open")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.initial_access_token.encode()
        ):
            return RegistrationCredential("initial_access_token")
        raise InvalidTokenError(
            description="Registration needs the initial access token of this server, sent as "
            "Authorization: Bearer <token>. Ask its operator.",
            realm="client-registration",
        )

    def resolve_public_key(self, request: BridgeJsonRequest) -> None:
        """Software statements are not accepted (ignored), so no key ever verifies one."""

    def get_server_metadata(self) -> dict[str, Any]:
        return {
            "scopes_supported": list(SUPPORTED_SCOPES),
            "response_types_supported": ["code"],
            "grant_types_supported": list(GRANT_TYPES),
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        }

    def extract_client_metadata(self, request: BridgeJsonRequest) -> dict[str, Any]:
        if not request.payload.data:  # Authlib would say invalid_request without a word
            raise InvalidRedirectURIError(
                description="redirect_uris is required: a non-empty list of URIs."
            )
        metadata: dict[str, Any] = super().extract_client_metadata(request)
        request.client_metadata = metadata  # for generate_client_info, which is not given it
        return metadata

    def generate_client_info(self, request: BridgeJsonRequest) -> dict[str, Any]:
        client_id = secrets.token_urlsafe(24)
        while self.clients.is_reserved(client_id):  # pragma: no cover - 192 random bits
            client_id = secrets.token_urlsafe(24)
        info: dict[str, Any] = {
            "client_id": client_id,
            "client_id_issued_at": int(self.clock()),
        }
        if request.client_metadata.get("token_endpoint_auth_method") != "none":
            info["client_secret"] = secrets.token_urlsafe(32)
            info["client_secret_expires_at"] = 0  # never
        return info

    def save_client(
        self,
        client_info: dict[str, Any],
        client_metadata: dict[str, Any],
        request: BridgeJsonRequest,
    ) -> RegisteredClient:
        secret = client_info.get("client_secret")
        named = {
            "redirect_uris",
            "token_endpoint_auth_method",
            "grant_types",
            "response_types",
            "scope",
            "client_name",
            "client_uri",
            "logo_uri",
        }
        record = RegisteredClient(
            client_id=client_info["client_id"],
            client_secret_hash=secret_hash(secret) if secret else None,
            token_endpoint_auth_method=client_metadata["token_endpoint_auth_method"],
            redirect_uris=tuple(client_metadata["redirect_uris"]),
            grant_types=tuple(client_metadata["grant_types"]),
            response_types=tuple(client_metadata["response_types"]),
            scope=client_metadata.get("scope", ""),
            client_name=client_metadata.get("client_name"),
            client_uri=client_metadata.get("client_uri"),
            logo_uri=client_metadata.get("logo_uri"),
            client_id_issued_at=client_info["client_id_issued_at"],
            expires_at=self.clock() + self.unused_ttl,
            metadata={k: v for k, v in client_metadata.items() if k not in named},
        )
        self.server.call(self.store.put_client, record)
        return record
