from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.client_metadata_grant_types_type_0_item import ClientMetadataGrantTypesType0Item
from ..models.client_metadata_response_types_type_0_item import ClientMetadataResponseTypesType0Item
from ..models.client_metadata_token_endpoint_auth_method_type_1 import (
    ClientMetadataTokenEndpointAuthMethodType1,
)
from ..models.client_metadata_token_endpoint_auth_method_type_2_type_1 import (
    ClientMetadataTokenEndpointAuthMethodType2Type1,
)
from ..models.client_metadata_token_endpoint_auth_method_type_3_type_1 import (
    ClientMetadataTokenEndpointAuthMethodType3Type1,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="ClientMetadata")


@_attrs_define
class ClientMetadata:
    """RFC 7591 section 2 client metadata. Fields not listed here are ignored. A `null` or an empty list counts as absent.

    Attributes:
        redirect_uris (list[str]): Where the authorization response may be sent; matched exactly, except the port of a
            loopback URI.
        token_endpoint_auth_method (ClientMetadataTokenEndpointAuthMethodType1 |
            ClientMetadataTokenEndpointAuthMethodType2Type1 | ClientMetadataTokenEndpointAuthMethodType3Type1 | None |
            Unset): How the client authenticates at `/token`; `client_secret_basic` when omitted.
        grant_types (list[ClientMetadataGrantTypesType0Item] | None | Unset): Must hold `authorization_code`; both when
            omitted.
        response_types (list[ClientMetadataResponseTypesType0Item] | None | Unset):
        client_name (None | str | Unset): Shown to the user, marked as unverified. Control characters are removed.
        client_uri (None | str | Unset): An https URL of the client's web page (never fetched).
        logo_uri (None | str | Unset): An https URL (stored and echoed; never fetched, never shown as an image).
        tos_uri (None | str | Unset):
        policy_uri (None | str | Unset):
        scope (None | str | Unset): Space-separated scopes the client may ask for, among the supported ones.
        contacts (list[str] | None | Unset):
        software_id (None | str | Unset):
        software_version (None | str | Unset):
    """

    redirect_uris: list[str]
    token_endpoint_auth_method: (
        ClientMetadataTokenEndpointAuthMethodType1
        | ClientMetadataTokenEndpointAuthMethodType2Type1
        | ClientMetadataTokenEndpointAuthMethodType3Type1
        | None
        | Unset
    ) = UNSET
    grant_types: list[ClientMetadataGrantTypesType0Item] | None | Unset = UNSET
    response_types: list[ClientMetadataResponseTypesType0Item] | None | Unset = UNSET
    client_name: None | str | Unset = UNSET
    client_uri: None | str | Unset = UNSET
    logo_uri: None | str | Unset = UNSET
    tos_uri: None | str | Unset = UNSET
    policy_uri: None | str | Unset = UNSET
    scope: None | str | Unset = UNSET
    contacts: list[str] | None | Unset = UNSET
    software_id: None | str | Unset = UNSET
    software_version: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        redirect_uris = self.redirect_uris

        token_endpoint_auth_method: None | str | Unset
        if isinstance(self.token_endpoint_auth_method, Unset):
            token_endpoint_auth_method = UNSET
        elif isinstance(
            self.token_endpoint_auth_method, ClientMetadataTokenEndpointAuthMethodType1
        ):
            token_endpoint_auth_method = self.token_endpoint_auth_method.value
        elif isinstance(
            self.token_endpoint_auth_method, ClientMetadataTokenEndpointAuthMethodType2Type1
        ):
            token_endpoint_auth_method = self.token_endpoint_auth_method.value
        elif isinstance(
            self.token_endpoint_auth_method, ClientMetadataTokenEndpointAuthMethodType3Type1
        ):
            token_endpoint_auth_method = self.token_endpoint_auth_method.value
        else:
            token_endpoint_auth_method = self.token_endpoint_auth_method

        grant_types: list[str] | None | Unset
        if isinstance(self.grant_types, Unset):
            grant_types = UNSET
        elif isinstance(self.grant_types, list):
            grant_types = []
            for grant_types_type_0_item_data in self.grant_types:
                grant_types_type_0_item = grant_types_type_0_item_data.value
                grant_types.append(grant_types_type_0_item)

        else:
            grant_types = self.grant_types

        response_types: list[str] | None | Unset
        if isinstance(self.response_types, Unset):
            response_types = UNSET
        elif isinstance(self.response_types, list):
            response_types = []
            for response_types_type_0_item_data in self.response_types:
                response_types_type_0_item = response_types_type_0_item_data.value
                response_types.append(response_types_type_0_item)

        else:
            response_types = self.response_types

        client_name: None | str | Unset
        if isinstance(self.client_name, Unset):
            client_name = UNSET
        else:
            client_name = self.client_name

        client_uri: None | str | Unset
        if isinstance(self.client_uri, Unset):
            client_uri = UNSET
        else:
            client_uri = self.client_uri

        logo_uri: None | str | Unset
        if isinstance(self.logo_uri, Unset):
            logo_uri = UNSET
        else:
            logo_uri = self.logo_uri

        tos_uri: None | str | Unset
        if isinstance(self.tos_uri, Unset):
            tos_uri = UNSET
        else:
            tos_uri = self.tos_uri

        policy_uri: None | str | Unset
        if isinstance(self.policy_uri, Unset):
            policy_uri = UNSET
        else:
            policy_uri = self.policy_uri

        scope: None | str | Unset
        if isinstance(self.scope, Unset):
            scope = UNSET
        else:
            scope = self.scope

        contacts: list[str] | None | Unset
        if isinstance(self.contacts, Unset):
            contacts = UNSET
        elif isinstance(self.contacts, list):
            contacts = self.contacts

        else:
            contacts = self.contacts

        software_id: None | str | Unset
        if isinstance(self.software_id, Unset):
            software_id = UNSET
        else:
            software_id = self.software_id

        software_version: None | str | Unset
        if isinstance(self.software_version, Unset):
            software_version = UNSET
        else:
            software_version = self.software_version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "redirect_uris": redirect_uris,
            }
        )
        if token_endpoint_auth_method is not UNSET:
            field_dict["token_endpoint_auth_method"] = token_endpoint_auth_method
        if grant_types is not UNSET:
            field_dict["grant_types"] = grant_types
        if response_types is not UNSET:
            field_dict["response_types"] = response_types
        if client_name is not UNSET:
            field_dict["client_name"] = client_name
        if client_uri is not UNSET:
            field_dict["client_uri"] = client_uri
        if logo_uri is not UNSET:
            field_dict["logo_uri"] = logo_uri
        if tos_uri is not UNSET:
            field_dict["tos_uri"] = tos_uri
        if policy_uri is not UNSET:
            field_dict["policy_uri"] = policy_uri
        if scope is not UNSET:
            field_dict["scope"] = scope
        if contacts is not UNSET:
            field_dict["contacts"] = contacts
        if software_id is not UNSET:
            field_dict["software_id"] = software_id
        if software_version is not UNSET:
            field_dict["software_version"] = software_version

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        redirect_uris = cast(list[str], d.pop("redirect_uris"))

        def _parse_token_endpoint_auth_method(
            data: object,
        ) -> (
            ClientMetadataTokenEndpointAuthMethodType1
            | ClientMetadataTokenEndpointAuthMethodType2Type1
            | ClientMetadataTokenEndpointAuthMethodType3Type1
            | None
            | Unset
        ):
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                token_endpoint_auth_method_type_1 = ClientMetadataTokenEndpointAuthMethodType1(data)

                return token_endpoint_auth_method_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                token_endpoint_auth_method_type_2_type_1 = (
                    ClientMetadataTokenEndpointAuthMethodType2Type1(data)
                )

                return token_endpoint_auth_method_type_2_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                token_endpoint_auth_method_type_3_type_1 = (
                    ClientMetadataTokenEndpointAuthMethodType3Type1(data)
                )

                return token_endpoint_auth_method_type_3_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(
                ClientMetadataTokenEndpointAuthMethodType1
                | ClientMetadataTokenEndpointAuthMethodType2Type1
                | ClientMetadataTokenEndpointAuthMethodType3Type1
                | None
                | Unset,
                data,
            )

        token_endpoint_auth_method = _parse_token_endpoint_auth_method(
            d.pop("token_endpoint_auth_method", UNSET)
        )

        def _parse_grant_types(
            data: object,
        ) -> list[ClientMetadataGrantTypesType0Item] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                grant_types_type_0 = []
                _grant_types_type_0 = data
                for grant_types_type_0_item_data in _grant_types_type_0:
                    grant_types_type_0_item = ClientMetadataGrantTypesType0Item(
                        grant_types_type_0_item_data
                    )

                    grant_types_type_0.append(grant_types_type_0_item)

                return grant_types_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[ClientMetadataGrantTypesType0Item] | None | Unset, data)

        grant_types = _parse_grant_types(d.pop("grant_types", UNSET))

        def _parse_response_types(
            data: object,
        ) -> list[ClientMetadataResponseTypesType0Item] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                response_types_type_0 = []
                _response_types_type_0 = data
                for response_types_type_0_item_data in _response_types_type_0:
                    response_types_type_0_item = ClientMetadataResponseTypesType0Item(
                        response_types_type_0_item_data
                    )

                    response_types_type_0.append(response_types_type_0_item)

                return response_types_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[ClientMetadataResponseTypesType0Item] | None | Unset, data)

        response_types = _parse_response_types(d.pop("response_types", UNSET))

        def _parse_client_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        client_name = _parse_client_name(d.pop("client_name", UNSET))

        def _parse_client_uri(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        client_uri = _parse_client_uri(d.pop("client_uri", UNSET))

        def _parse_logo_uri(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        logo_uri = _parse_logo_uri(d.pop("logo_uri", UNSET))

        def _parse_tos_uri(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        tos_uri = _parse_tos_uri(d.pop("tos_uri", UNSET))

        def _parse_policy_uri(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        policy_uri = _parse_policy_uri(d.pop("policy_uri", UNSET))

        def _parse_scope(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        scope = _parse_scope(d.pop("scope", UNSET))

        def _parse_contacts(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                contacts_type_0 = cast(list[str], data)

                return contacts_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        contacts = _parse_contacts(d.pop("contacts", UNSET))

        def _parse_software_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        software_id = _parse_software_id(d.pop("software_id", UNSET))

        def _parse_software_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        software_version = _parse_software_version(d.pop("software_version", UNSET))

        client_metadata = cls(
            redirect_uris=redirect_uris,
            token_endpoint_auth_method=token_endpoint_auth_method,
            grant_types=grant_types,
            response_types=response_types,
            client_name=client_name,
            client_uri=client_uri,
            logo_uri=logo_uri,
            tos_uri=tos_uri,
            policy_uri=policy_uri,
            scope=scope,
            contacts=contacts,
            software_id=software_id,
            software_version=software_version,
        )

        client_metadata.additional_properties = d
        return client_metadata

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
