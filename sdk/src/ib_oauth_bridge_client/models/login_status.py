from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.login_status_status import LoginStatusStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.login_status_signed_in_as import LoginStatusSignedInAs


T = TypeVar("T", bound="LoginStatus")


@_attrs_define
class LoginStatus:
    """State of the login transaction.

    Attributes:
        status (LoginStatusStatus): `new` (no platform yet), `pending` (waiting for the user on IB's page), `done`,
            `expired`, `failed` (IB refused or is unreachable; see `message`).
        message (str): A short message for the user.
        redirect_to (str | Unset): When `done`, the client's redirect URI with `code`, `state` and `iss`.
        signed_in_as (LoginStatusSignedInAs | Unset): When `done`, who IB says signed in (from IB's login answer; either
            may be null when IB gave none). The login page shows it before returning to the app.
        poll_after_ms (int | Unset): When still pending, wait this long before polling again.
    """

    status: LoginStatusStatus
    message: str
    redirect_to: str | Unset = UNSET
    signed_in_as: LoginStatusSignedInAs | Unset = UNSET
    poll_after_ms: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        message = self.message

        redirect_to = self.redirect_to

        signed_in_as: dict[str, Any] | Unset = UNSET
        if not isinstance(self.signed_in_as, Unset):
            signed_in_as = self.signed_in_as.to_dict()

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
        if signed_in_as is not UNSET:
            field_dict["signed_in_as"] = signed_in_as
        if poll_after_ms is not UNSET:
            field_dict["poll_after_ms"] = poll_after_ms

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.login_status_signed_in_as import LoginStatusSignedInAs  # noqa: PLC0415

        d = dict(src_dict)
        status = LoginStatusStatus(d.pop("status"))

        message = d.pop("message")

        redirect_to = d.pop("redirect_to", UNSET)

        _signed_in_as = d.pop("signed_in_as", UNSET)
        signed_in_as: LoginStatusSignedInAs | Unset
        if isinstance(_signed_in_as, Unset):
            signed_in_as = UNSET
        else:
            signed_in_as = LoginStatusSignedInAs.from_dict(_signed_in_as)

        poll_after_ms = d.pop("poll_after_ms", UNSET)

        login_status = cls(
            status=status,
            message=message,
            redirect_to=redirect_to,
            signed_in_as=signed_in_as,
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
