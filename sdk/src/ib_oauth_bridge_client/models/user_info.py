from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="UserInfo")


@_attrs_define
class UserInfo:
    """Claims about the user, from IB's login answer, as the token's scopes release them (see `/userinfo`). Never includes
    the IB session id.

        Attributes:
            sub (str): Subject; IB's user UUID.
            name (str | Unset): `profile` scope.
            given_name (str | Unset): `profile` scope.
            family_name (str | Unset): `profile` scope.
            email (str | Unset): `email` scope. IB does not say whether it is verified, so no `email_verified`.
            ib_client_id (str | Unset): IB's customer id (the `{clientid}` of v3 API paths); `ib.read` or `ib.write`.
            ib_client_name (str | Unset): IB's customer name.
            ib_platform_url (str | Unset): The customer's platform URL.
            ib_api_url (str | Unset): The session's `apiV3url`.
    """

    sub: str
    name: str | Unset = UNSET
    given_name: str | Unset = UNSET
    family_name: str | Unset = UNSET
    email: str | Unset = UNSET
    ib_client_id: str | Unset = UNSET
    ib_client_name: str | Unset = UNSET
    ib_platform_url: str | Unset = UNSET
    ib_api_url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sub = self.sub

        name = self.name

        given_name = self.given_name

        family_name = self.family_name

        email = self.email

        ib_client_id = self.ib_client_id

        ib_client_name = self.ib_client_name

        ib_platform_url = self.ib_platform_url

        ib_api_url = self.ib_api_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sub": sub,
            }
        )
        if name is not UNSET:
            field_dict["name"] = name
        if given_name is not UNSET:
            field_dict["given_name"] = given_name
        if family_name is not UNSET:
            field_dict["family_name"] = family_name
        if email is not UNSET:
            field_dict["email"] = email
        if ib_client_id is not UNSET:
            field_dict["ib_client_id"] = ib_client_id
        if ib_client_name is not UNSET:
            field_dict["ib_client_name"] = ib_client_name
        if ib_platform_url is not UNSET:
            field_dict["ib_platform_url"] = ib_platform_url
        if ib_api_url is not UNSET:
            field_dict["ib_api_url"] = ib_api_url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sub = d.pop("sub")

        name = d.pop("name", UNSET)

        given_name = d.pop("given_name", UNSET)

        family_name = d.pop("family_name", UNSET)

        email = d.pop("email", UNSET)

        ib_client_id = d.pop("ib_client_id", UNSET)

        ib_client_name = d.pop("ib_client_name", UNSET)

        ib_platform_url = d.pop("ib_platform_url", UNSET)

        ib_api_url = d.pop("ib_api_url", UNSET)

        user_info = cls(
            sub=sub,
            name=name,
            given_name=given_name,
            family_name=family_name,
            email=email,
            ib_client_id=ib_client_id,
            ib_client_name=ib_client_name,
            ib_platform_url=ib_platform_url,
            ib_api_url=ib_api_url,
        )

        user_info.additional_properties = d
        return user_info

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
