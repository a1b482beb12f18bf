from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.token_request_grant_type import TokenRequestGrantType
from ..types import UNSET, Unset

T = TypeVar("T", bound="TokenRequest")


@_attrs_define
class TokenRequest:
    """Token request form (RFC 6749 sections 4.1.3 and 6, RFC 7636 section 4.5, RFC 8707).

    Attributes:
        grant_type (TokenRequestGrantType): The grant.
        code (str | Unset): The authorization code (`authorization_code` grant).
        redirect_uri (str | Unset): The redirect URI used in the authorization request (`authorization_code` grant).
        client_id (str | Unset): The client identifier (public clients and `client_secret_post`).
        code_verifier (str | Unset): PKCE code verifier, 43 to 128 characters (RFC 7636 section 4.1).
        refresh_token (str | Unset): The refresh token (`refresh_token` grant).
        scope (str | Unset): Space-separated scopes; on refresh, at most the originally granted ones.
        resource (str | Unset): RFC 8707 resource indicator: the one of the authorization request (or `<issuer>/proxy`
            when it named none), which is the access token's only `aud`; for a token exchange, `<issuer>/proxy`.
        subject_token (str | Unset): The user's access token to exchange (token exchange, RFC 8693 section 2.1).
        subject_token_type (str | Unset): `urn:ietf:params:oauth:token-type:access_token` (token exchange).
        requested_token_type (str | Unset): Optional; only `urn:ietf:params:oauth:token-type:access_token` (token
            exchange).
        audience (str | Unset): Token exchange: `<issuer>/proxy`, like `resource` (RFC 8693 section 2.1).
        actor_token (str | Unset): Not supported (`invalid_request`): the authenticated client is the actor.
        actor_token_type (str | Unset): Not supported, like `actor_token`.
        client_secret (str | Unset): Client secret (`client_secret_post`); prefer HTTP Basic.
    """

    grant_type: TokenRequestGrantType
    code: str | Unset = UNSET
    redirect_uri: str | Unset = UNSET
    client_id: str | Unset = UNSET
    code_verifier: str | Unset = UNSET
    refresh_token: str | Unset = UNSET
    scope: str | Unset = UNSET
    resource: str | Unset = UNSET
    subject_token: str | Unset = UNSET
    subject_token_type: str | Unset = UNSET
    requested_token_type: str | Unset = UNSET
    audience: str | Unset = UNSET
    actor_token: str | Unset = UNSET
    actor_token_type: str | Unset = UNSET
    client_secret: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        grant_type = self.grant_type.value

        code = self.code

        redirect_uri = self.redirect_uri

        client_id = self.client_id

        code_verifier = self.code_verifier

        refresh_token = self.refresh_token

        scope = self.scope

        resource = self.resource

        subject_token = self.subject_token

        subject_token_type = self.subject_token_type

        requested_token_type = self.requested_token_type

        audience = self.audience

        actor_token = self.actor_token

        actor_token_type = self.actor_token_type

        client_secret = self.client_secret

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "grant_type": grant_type,
            }
        )
        if code is not UNSET:
            field_dict["code"] = code
        if redirect_uri is not UNSET:
            field_dict["redirect_uri"] = redirect_uri
        if client_id is not UNSET:
            field_dict["client_id"] = client_id
        if code_verifier is not UNSET:
            field_dict["code_verifier"] = code_verifier
        if refresh_token is not UNSET:
            field_dict["refresh_token"] = refresh_token
        if scope is not UNSET:
            field_dict["scope"] = scope
        if resource is not UNSET:
            field_dict["resource"] = resource
        if subject_token is not UNSET:
            field_dict["subject_token"] = subject_token
        if subject_token_type is not UNSET:
            field_dict["subject_token_type"] = subject_token_type
        if requested_token_type is not UNSET:
            field_dict["requested_token_type"] = requested_token_type
        if audience is not UNSET:
            field_dict["audience"] = audience
        if actor_token is not UNSET:
            field_dict["actor_token"] = actor_token
        if actor_token_type is not UNSET:
            field_dict["actor_token_type"] = actor_token_type
        if client_secret is not UNSET:
            field_dict["client_secret"] = client_secret

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        grant_type = TokenRequestGrantType(d.pop("grant_type"))

        code = d.pop("code", UNSET)

        redirect_uri = d.pop("redirect_uri", UNSET)

        client_id = d.pop("client_id", UNSET)

        code_verifier = d.pop("code_verifier", UNSET)

        refresh_token = d.pop("refresh_token", UNSET)

        scope = d.pop("scope", UNSET)

        resource = d.pop("resource", UNSET)

        subject_token = d.pop("subject_token", UNSET)

        subject_token_type = d.pop("subject_token_type", UNSET)

        requested_token_type = d.pop("requested_token_type", UNSET)

        audience = d.pop("audience", UNSET)

        actor_token = d.pop("actor_token", UNSET)

        actor_token_type = d.pop("actor_token_type", UNSET)

        client_secret = d.pop("client_secret", UNSET)

        token_request = cls(
            grant_type=grant_type,
            code=code,
            redirect_uri=redirect_uri,
            client_id=client_id,
            code_verifier=code_verifier,
            refresh_token=refresh_token,
            scope=scope,
            resource=resource,
            subject_token=subject_token,
            subject_token_type=subject_token_type,
            requested_token_type=requested_token_type,
            audience=audience,
            actor_token=actor_token,
            actor_token_type=actor_token_type,
            client_secret=client_secret,
        )

        token_request.additional_properties = d
        return token_request

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
