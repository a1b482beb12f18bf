from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PlatformForm")


@_attrs_define
class PlatformForm:
    """The login page's platform form.

    Attributes:
        platform_url (str): The customer's IntelligenceBank platform URL or host.
        csrf_token (str): The CSRF token given to the page.
        restart (str | Unset): No-JS path: the query of the app's GET /authorize that opened the page, carried by its
            forms; once the sign-in has ended, the error page links to it as "Start again".
    """

    platform_url: str
    csrf_token: str
    restart: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        platform_url = self.platform_url

        csrf_token = self.csrf_token

        restart = self.restart

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "platform_url": platform_url,
                "csrf_token": csrf_token,
            }
        )
        if restart is not UNSET:
            field_dict["restart"] = restart

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        platform_url = d.pop("platform_url")

        csrf_token = d.pop("csrf_token")

        restart = d.pop("restart", UNSET)

        platform_form = cls(
            platform_url=platform_url,
            csrf_token=csrf_token,
            restart=restart,
        )

        platform_form.additional_properties = d
        return platform_form

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
