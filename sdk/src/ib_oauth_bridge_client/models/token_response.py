from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="TokenResponse")


@_attrs_define
class TokenResponse:
    """Successful token response (RFC 6749 section 5.1).

    Attributes:
        access_token (str): RFC 9068 JWT access token.
        token_type (str): Always `Bearer`.
        expires_in (int): Access token lifetime in seconds (capped at the IB session end).
        refresh_token (str | Unset): Opaque, single-use refresh token; rotated on every refresh.
        scope (str | Unset): Space-separated granted scopes.
        issued_token_type (str | Unset): Token exchange only (RFC 8693 section 2.2.1): `urn:ietf:params:oauth:token-
            type:access_token`.
        id_token (str | Unset): OpenID Connect ID token (ES256 JWT, `kid` in `/jwks.json`), when the scope has `openid`:
            `iss`, `sub`, `aud` (the client id), `iat`, `exp` (at most the access token's), `auth_time`, `at_hash`, `nonce`
            (code exchange only, when sent), and the claims of `profile` and `email`.
    """

    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str | Unset = UNSET
    scope: str | Unset = UNSET
    issued_token_type: str | Unset = UNSET
    id_token: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        access_token = self.access_token

        token_type = self.token_type

        expires_in = self.expires_in

        refresh_token = self.refresh_token

        scope = self.scope

        issued_token_type = self.issued_token_type

        id_token = self.id_token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "access_token": access_token,
                "token_type": token_type,
                "expires_in": expires_in,
            }
        )
        if refresh_token is not UNSET:
            field_dict["refresh_token"] = refresh_token
        if scope is not UNSET:
            field_dict["scope"] = scope
        if issued_token_type is not UNSET:
            field_dict["issued_token_type"] = issued_token_type
        if id_token is not UNSET:
            field_dict["id_token"] = id_token

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        access_token = d.pop("access_token")

        token_type = d.pop("token_type")

        expires_in = d.pop("expires_in")

        refresh_token = d.pop("refresh_token", UNSET)

        scope = d.pop("scope", UNSET)

        issued_token_type = d.pop("issued_token_type", UNSET)

        id_token = d.pop("id_token", UNSET)

        token_response = cls(
            access_token=access_token,
            token_type=token_type,
            expires_in=expires_in,
            refresh_token=refresh_token,
            scope=scope,
            issued_token_type=issued_token_type,
            id_token=id_token,
        )

        token_response.additional_properties = d
        return token_response

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
