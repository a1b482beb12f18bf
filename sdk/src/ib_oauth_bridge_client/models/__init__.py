"""Contains all the data models used in inputs/outputs"""

from .admin_revoke_body import AdminRevokeBody
from .authorization_server_metadata import AuthorizationServerMetadata
from .client_information import ClientInformation
from .client_metadata import ClientMetadata
from .client_metadata_grant_types_type_0_item import ClientMetadataGrantTypesType0Item
from .client_metadata_response_types_type_0_item import ClientMetadataResponseTypesType0Item
from .client_metadata_token_endpoint_auth_method_type_1 import (
    ClientMetadataTokenEndpointAuthMethodType1,
)
from .client_metadata_token_endpoint_auth_method_type_2_type_1 import (
    ClientMetadataTokenEndpointAuthMethodType2Type1,
)
from .client_metadata_token_endpoint_auth_method_type_3_type_1 import (
    ClientMetadataTokenEndpointAuthMethodType3Type1,
)
from .csrf_form import CsrfForm
from .health import Health
from .health_status import HealthStatus
from .ib_json import IBJson
from .introspection_request import IntrospectionRequest
from .introspection_request_token_type_hint import IntrospectionRequestTokenTypeHint
from .introspection_response import IntrospectionResponse
from .jwk import JWK
from .jwk_set import JWKSet
from .login_continue_form import LoginContinueForm
from .login_continue_form_confirm import LoginContinueFormConfirm
from .login_started import LoginStarted
from .login_started_status import LoginStartedStatus
from .login_status import LoginStatus
from .login_status_signed_in_as import LoginStatusSignedInAs
from .login_status_status import LoginStatusStatus
from .o_auth_error_body import OAuthErrorBody
from .platform_form import PlatformForm
from .protected_resource_metadata import ProtectedResourceMetadata
from .proxy_multipart_body import ProxyMultipartBody
from .readiness import Readiness
from .readiness_checks import ReadinessChecks
from .revocation_request import RevocationRequest
from .revocation_request_token_type_hint import RevocationRequestTokenTypeHint
from .revoke_response_200 import RevokeResponse200
from .token_request import TokenRequest
from .token_request_grant_type import TokenRequestGrantType
from .token_response import TokenResponse
from .user_info import UserInfo

__all__ = (
    "AdminRevokeBody",
    "AuthorizationServerMetadata",
    "ClientInformation",
    "ClientMetadata",
    "ClientMetadataGrantTypesType0Item",
    "ClientMetadataResponseTypesType0Item",
    "ClientMetadataTokenEndpointAuthMethodType1",
    "ClientMetadataTokenEndpointAuthMethodType2Type1",
    "ClientMetadataTokenEndpointAuthMethodType3Type1",
    "CsrfForm",
    "Health",
    "HealthStatus",
    "IBJson",
    "IntrospectionRequest",
    "IntrospectionRequestTokenTypeHint",
    "IntrospectionResponse",
    "JWK",
    "JWKSet",
    "LoginContinueForm",
    "LoginContinueFormConfirm",
    "LoginStarted",
    "LoginStartedStatus",
    "LoginStatus",
    "LoginStatusSignedInAs",
    "LoginStatusStatus",
    "OAuthErrorBody",
    "PlatformForm",
    "ProtectedResourceMetadata",
    "ProxyMultipartBody",
    "Readiness",
    "ReadinessChecks",
    "RevocationRequest",
    "RevocationRequestTokenTypeHint",
    "RevokeResponse200",
    "TokenRequest",
    "TokenRequestGrantType",
    "TokenResponse",
    "UserInfo",
)
