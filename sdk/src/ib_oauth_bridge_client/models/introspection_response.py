from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="IntrospectionResponse")


@_attrs_define
class IntrospectionResponse:
    """RFC 7662 section 2.2. Only `active` when the token is not live.

    Attributes:
        active (bool):
        token_type (str | Unset): `Bearer` for an access token, `refresh_token` for a refresh token.
        sub (str | Unset): The IB user's id.
        client_id (str | Unset):
        scope (str | Unset):
        aud (list[str] | Unset):
        exp (int | Unset):
        iat (int | Unset):
        iss (str | Unset):
        jti (str | Unset):
    """

    active: bool
    token_type: str | Unset = UNSET
    sub: str | Unset = UNSET
    client_id: str | Unset = UNSET
    scope: str | Unset = UNSET
    aud: list[str] | Unset = UNSET
    exp: int | Unset = UNSET
    iat: int | Unset = UNSET
    iss: str | Unset = UNSET
    jti: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        active = self.active

        token_type = self.token_type

        sub = self.sub

        client_id = self.client_id

        scope = self.scope

        aud: list[str] | Unset = UNSET
        if not isinstance(self.aud, Unset):
            aud = self.aud

        exp = self.exp

        iat = self.iat

        iss = self.iss

        jti = self.jti

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "active": active,
            }
        )
        if token_type is not UNSET:
            field_dict["token_type"] = token_type
        if sub is not UNSET:
            field_dict["sub"] = sub
        if client_id is not UNSET:
            field_dict["client_id"] = client_id
        if scope is not UNSET:
            field_dict["scope"] = scope
        if aud is not UNSET:
            field_dict["aud"] = aud
        if exp is not UNSET:
            field_dict["exp"] = exp
        if iat is not UNSET:
            field_dict["iat"] = iat
        if iss is not UNSET:
            field_dict["iss"] = iss
        if jti is not UNSET:
            field_dict["jti"] = jti

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        active = d.pop("active")

        token_type = d.pop("token_type", UNSET)

        sub = d.pop("sub", UNSET)

        client_id = d.pop("client_id", UNSET)

        scope = d.pop("scope", UNSET)

        aud = cast(list[str], d.pop("aud", UNSET))

        exp = d.pop("exp", UNSET)

        iat = d.pop("iat", UNSET)

        iss = d.pop("iss", UNSET)

        jti = d.pop("jti", UNSET)

        introspection_response = cls(
            active=active,
            token_type=token_type,
            sub=sub,
            client_id=client_id,
            scope=scope,
            aud=aud,
            exp=exp,
            iat=iat,
            iss=iss,
            jti=jti,
        )

        introspection_response.additional_properties = d
        return introspection_response

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
