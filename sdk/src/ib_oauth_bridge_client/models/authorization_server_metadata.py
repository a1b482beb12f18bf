from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="AuthorizationServerMetadata")


@_attrs_define
class AuthorizationServerMetadata:
    """RFC 8414 authorization server metadata.

    Attributes:
        issuer (str):
        authorization_endpoint (str):
        token_endpoint (str):
        jwks_uri (str):
        userinfo_endpoint (str):
        response_types_supported (list[str]):
        grant_types_supported (list[str]):
        code_challenge_methods_supported (list[str]):
        token_endpoint_auth_methods_supported (list[str]):
        scopes_supported (list[str]):
        authorization_response_iss_parameter_supported (bool): Always true (RFC 9207).
        revocation_endpoint (str | Unset):
        registration_endpoint (str | Unset):
        revocation_endpoint_auth_methods_supported (list[str] | Unset):
        introspection_endpoint (str | Unset):
        introspection_endpoint_auth_methods_supported (list[str] | Unset):
        client_id_metadata_document_supported (bool | Unset): Always true: a client may use an https URL as its
            `client_id`, and the server fetches the Client ID Metadata Document there (draft-ietf-oauth-client-id-metadata-
            document).
        claims_supported (list[str] | Unset): OpenID Connect Discovery; the claims of the ID token and `/userinfo`.
        subject_types_supported (list[str] | Unset):
        id_token_signing_alg_values_supported (list[str] | Unset):
        response_modes_supported (list[str] | Unset):
        claims_parameter_supported (bool | Unset): Always false.
        request_parameter_supported (bool | Unset): Always false.
        request_uri_parameter_supported (bool | Unset): Always false.
        service_documentation (str | Unset):
    """

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str
    response_types_supported: list[str]
    grant_types_supported: list[str]
    code_challenge_methods_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    scopes_supported: list[str]
    authorization_response_iss_parameter_supported: bool
    revocation_endpoint: str | Unset = UNSET
    registration_endpoint: str | Unset = UNSET
    revocation_endpoint_auth_methods_supported: list[str] | Unset = UNSET
    introspection_endpoint: str | Unset = UNSET
    introspection_endpoint_auth_methods_supported: list[str] | Unset = UNSET
    client_id_metadata_document_supported: bool | Unset = UNSET
    claims_supported: list[str] | Unset = UNSET
    subject_types_supported: list[str] | Unset = UNSET
    id_token_signing_alg_values_supported: list[str] | Unset = UNSET
    response_modes_supported: list[str] | Unset = UNSET
    claims_parameter_supported: bool | Unset = UNSET
    request_parameter_supported: bool | Unset = UNSET
    request_uri_parameter_supported: bool | Unset = UNSET
    service_documentation: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        issuer = self.issuer

        authorization_endpoint = self.authorization_endpoint

        token_endpoint = self.token_endpoint

        jwks_uri = self.jwks_uri

        userinfo_endpoint = self.userinfo_endpoint

        response_types_supported = self.response_types_supported

        grant_types_supported = self.grant_types_supported

        code_challenge_methods_supported = self.code_challenge_methods_supported

        token_endpoint_auth_methods_supported = self.token_endpoint_auth_methods_supported

        scopes_supported = self.scopes_supported

        authorization_response_iss_parameter_supported = (
            self.authorization_response_iss_parameter_supported
        )

        revocation_endpoint = self.revocation_endpoint

        registration_endpoint = self.registration_endpoint

        revocation_endpoint_auth_methods_supported: list[str] | Unset = UNSET
        if not isinstance(self.revocation_endpoint_auth_methods_supported, Unset):
            revocation_endpoint_auth_methods_supported = (
                self.revocation_endpoint_auth_methods_supported
            )

        introspection_endpoint = self.introspection_endpoint

        introspection_endpoint_auth_methods_supported: list[str] | Unset = UNSET
        if not isinstance(self.introspection_endpoint_auth_methods_supported, Unset):
            introspection_endpoint_auth_methods_supported = (
                self.introspection_endpoint_auth_methods_supported
            )

        client_id_metadata_document_supported = self.client_id_metadata_document_supported

        claims_supported: list[str] | Unset = UNSET
        if not isinstance(self.claims_supported, Unset):
            claims_supported = self.claims_supported

        subject_types_supported: list[str] | Unset = UNSET
        if not isinstance(self.subject_types_supported, Unset):
            subject_types_supported = self.subject_types_supported

        id_token_signing_alg_values_supported: list[str] | Unset = UNSET
        if not isinstance(self.id_token_signing_alg_values_supported, Unset):
            id_token_signing_alg_values_supported = self.id_token_signing_alg_values_supported

        response_modes_supported: list[str] | Unset = UNSET
        if not isinstance(self.response_modes_supported, Unset):
            response_modes_supported = self.response_modes_supported

        claims_parameter_supported = self.claims_parameter_supported

        request_parameter_supported = self.request_parameter_supported

        request_uri_parameter_supported = self.request_uri_parameter_supported

        service_documentation = self.service_documentation

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "issuer": issuer,
                "authorization_endpoint": authorization_endpoint,
                "token_endpoint": token_endpoint,
                "jwks_uri": jwks_uri,
                "userinfo_endpoint": userinfo_endpoint,
                "response_types_supported": response_types_supported,
                "grant_types_supported": grant_types_supported,
                "code_challenge_methods_supported": code_challenge_methods_supported,
                "token_endpoint_auth_methods_supported": token_endpoint_auth_methods_supported,
                "scopes_supported": scopes_supported,
                "authorization_response_iss_parameter_supported": authorization_response_iss_parameter_supported,
            }
        )
        if revocation_endpoint is not UNSET:
            field_dict["revocation_endpoint"] = revocation_endpoint
        if registration_endpoint is not UNSET:
            field_dict["registration_endpoint"] = registration_endpoint
        if revocation_endpoint_auth_methods_supported is not UNSET:
            field_dict["revocation_endpoint_auth_methods_supported"] = (
                revocation_endpoint_auth_methods_supported
            )
        if introspection_endpoint is not UNSET:
            field_dict["introspection_endpoint"] = introspection_endpoint
        if introspection_endpoint_auth_methods_supported is not UNSET:
            field_dict["introspection_endpoint_auth_methods_supported"] = (
                introspection_endpoint_auth_methods_supported
            )
        if client_id_metadata_document_supported is not UNSET:
            field_dict["client_id_metadata_document_supported"] = (
                client_id_metadata_document_supported
            )
        if claims_supported is not UNSET:
            field_dict["claims_supported"] = claims_supported
        if subject_types_supported is not UNSET:
            field_dict["subject_types_supported"] = subject_types_supported
        if id_token_signing_alg_values_supported is not UNSET:
            field_dict["id_token_signing_alg_values_supported"] = (
                id_token_signing_alg_values_supported
            )
        if response_modes_supported is not UNSET:
            field_dict["response_modes_supported"] = response_modes_supported
        if claims_parameter_supported is not UNSET:
            field_dict["claims_parameter_supported"] = claims_parameter_supported
        if request_parameter_supported is not UNSET:
            field_dict["request_parameter_supported"] = request_parameter_supported
        if request_uri_parameter_supported is not UNSET:
            field_dict["request_uri_parameter_supported"] = request_uri_parameter_supported
        if service_documentation is not UNSET:
            field_dict["service_documentation"] = service_documentation

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        issuer = d.pop("issuer")

        authorization_endpoint = d.pop("authorization_endpoint")

        token_endpoint = d.pop("token_endpoint")

        jwks_uri = d.pop("jwks_uri")

        userinfo_endpoint = d.pop("userinfo_endpoint")

        response_types_supported = cast(list[str], d.pop("response_types_supported"))

        grant_types_supported = cast(list[str], d.pop("grant_types_supported"))

        code_challenge_methods_supported = cast(
            list[str], d.pop("code_challenge_methods_supported")
        )

        token_endpoint_auth_methods_supported = cast(
            list[str], d.pop("token_endpoint_auth_methods_supported")
        )

        scopes_supported = cast(list[str], d.pop("scopes_supported"))

        authorization_response_iss_parameter_supported = d.pop(
            "authorization_response_iss_parameter_supported"
        )

        revocation_endpoint = d.pop("revocation_endpoint", UNSET)

        registration_endpoint = d.pop("registration_endpoint", UNSET)

        revocation_endpoint_auth_methods_supported = cast(
            list[str], d.pop("revocation_endpoint_auth_methods_supported", UNSET)
        )

        introspection_endpoint = d.pop("introspection_endpoint", UNSET)

        introspection_endpoint_auth_methods_supported = cast(
            list[str], d.pop("introspection_endpoint_auth_methods_supported", UNSET)
        )

        client_id_metadata_document_supported = d.pop(
            "client_id_metadata_document_supported", UNSET
        )

        claims_supported = cast(list[str], d.pop("claims_supported", UNSET))

        subject_types_supported = cast(list[str], d.pop("subject_types_supported", UNSET))

        id_token_signing_alg_values_supported = cast(
            list[str], d.pop("id_token_signing_alg_values_supported", UNSET)
        )

        response_modes_supported = cast(list[str], d.pop("response_modes_supported", UNSET))

        claims_parameter_supported = d.pop("claims_parameter_supported", UNSET)

        request_parameter_supported = d.pop("request_parameter_supported", UNSET)

        request_uri_parameter_supported = d.pop("request_uri_parameter_supported", UNSET)

        service_documentation = d.pop("service_documentation", UNSET)

        authorization_server_metadata = cls(
            issuer=issuer,
            authorization_endpoint=authorization_endpoint,
            token_endpoint=token_endpoint,
            jwks_uri=jwks_uri,
            userinfo_endpoint=userinfo_endpoint,
            response_types_supported=response_types_supported,
            grant_types_supported=grant_types_supported,
            code_challenge_methods_supported=code_challenge_methods_supported,
            token_endpoint_auth_methods_supported=token_endpoint_auth_methods_supported,
            scopes_supported=scopes_supported,
            authorization_response_iss_parameter_supported=authorization_response_iss_parameter_supported,
            revocation_endpoint=revocation_endpoint,
            registration_endpoint=registration_endpoint,
            revocation_endpoint_auth_methods_supported=revocation_endpoint_auth_methods_supported,
            introspection_endpoint=introspection_endpoint,
            introspection_endpoint_auth_methods_supported=introspection_endpoint_auth_methods_supported,
            client_id_metadata_document_supported=client_id_metadata_document_supported,
            claims_supported=claims_supported,
            subject_types_supported=subject_types_supported,
            id_token_signing_alg_values_supported=id_token_signing_alg_values_supported,
            response_modes_supported=response_modes_supported,
            claims_parameter_supported=claims_parameter_supported,
            request_parameter_supported=request_parameter_supported,
            request_uri_parameter_supported=request_uri_parameter_supported,
            service_documentation=service_documentation,
        )

        authorization_server_metadata.additional_properties = d
        return authorization_server_metadata

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
