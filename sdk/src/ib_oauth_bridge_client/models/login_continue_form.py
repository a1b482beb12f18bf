from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.login_continue_form_confirm import LoginContinueFormConfirm
from ..types import UNSET, Unset

T = TypeVar("T", bound="LoginContinueForm")


@_attrs_define
class LoginContinueForm:
    """The login page's Continue form.

    Attributes:
        csrf_token (str): The CSRF token given to the page.
        confirm (LoginContinueFormConfirm | Unset): `1`: the person has seen who signed in and chose Continue (redirects
            when the login is done). Absent: check the login and show the page.
        restart (str | Unset): No-JS path: the query of the app's GET /authorize that opened the page, carried by its
            forms; once the sign-in has ended, the error page links to it as "Start again".
    """

    csrf_token: str
    confirm: LoginContinueFormConfirm | Unset = UNSET
    restart: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        csrf_token = self.csrf_token

        confirm: str | Unset = UNSET
        if not isinstance(self.confirm, Unset):
            confirm = self.confirm.value

        restart = self.restart

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "csrf_token": csrf_token,
            }
        )
        if confirm is not UNSET:
            field_dict["confirm"] = confirm
        if restart is not UNSET:
            field_dict["restart"] = restart

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        csrf_token = d.pop("csrf_token")

        _confirm = d.pop("confirm", UNSET)
        confirm: LoginContinueFormConfirm | Unset
        if isinstance(_confirm, Unset):
            confirm = UNSET
        else:
            confirm = LoginContinueFormConfirm(_confirm)

        restart = d.pop("restart", UNSET)

        login_continue_form = cls(
            csrf_token=csrf_token,
            confirm=confirm,
            restart=restart,
        )

        login_continue_form.additional_properties = d
        return login_continue_form

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
