from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.login_started_status import LoginStartedStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="LoginStarted")


@_attrs_define
class LoginStarted:
    """IB's browser login has started.

    Attributes:
        status (LoginStartedStatus): Always `pending`.
        login_url (str): IB's login page for this login; open it in a popup.
        poll_after_ms (int): Wait this long before polling `/authorize/status`.
        platform_url (str | Unset): The platform origin the typed address was normalised to (`acme` becomes
            `https://acme.intelligencebank.com`); the page shows it while the user signs in.
    """

    status: LoginStartedStatus
    login_url: str
    poll_after_ms: int
    platform_url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        login_url = self.login_url

        poll_after_ms = self.poll_after_ms

        platform_url = self.platform_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "login_url": login_url,
                "poll_after_ms": poll_after_ms,
            }
        )
        if platform_url is not UNSET:
            field_dict["platform_url"] = platform_url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = LoginStartedStatus(d.pop("status"))

        login_url = d.pop("login_url")

        poll_after_ms = d.pop("poll_after_ms")

        platform_url = d.pop("platform_url", UNSET)

        login_started = cls(
            status=status,
            login_url=login_url,
            poll_after_ms=poll_after_ms,
            platform_url=platform_url,
        )

        login_started.additional_properties = d
        return login_started

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
