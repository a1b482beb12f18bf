from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.login_status_status import LoginStatusStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="LoginStatus")


@_attrs_define
class LoginStatus:
    """State of the login transaction.

    Attributes:
        status (LoginStatusStatus): `new` (no platform yet), `pending` (waiting for the user on IB's page), `done`,
            `expired`, `failed` (IB refused or is unreachable; see `message`).
        message (str): A short message for the user.
        redirect_to (str | Unset): When `done`, the client's redirect URI with `code`, `state` and `iss`.
        poll_after_ms (int | Unset): When still pending, wait this long before polling again.
    """

    status: LoginStatusStatus
    message: str
    redirect_to: str | Unset = UNSET
    poll_after_ms: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        message = self.message

        redirect_to = self.redirect_to

        poll_after_ms = self.poll_after_ms

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "message": message,
            }
        )
        if redirect_to is not UNSET:
            field_dict["redirect_to"] = redirect_to
        if poll_after_ms is not UNSET:
            field_dict["poll_after_ms"] = poll_after_ms

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = LoginStatusStatus(d.pop("status"))

        message = d.pop("message")

        redirect_to = d.pop("redirect_to", UNSET)

        poll_after_ms = d.pop("poll_after_ms", UNSET)

        login_status = cls(
            status=status,
            message=message,
            redirect_to=redirect_to,
            poll_after_ms=poll_after_ms,
        )

        login_status.additional_properties = d
        return login_status

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
