"""An authenticated IB session as the proxy and /userinfo see it: the live grant plus its sid,
decrypted only for the request that needs it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..auth import BearerAuthError
from ..oauth.tokens import AccessTokenClaims
from ..store.base import Grant

if TYPE_CHECKING:
    from ..bridge import Bridge


@dataclass(frozen=True, slots=True)
class IBSession:
    grant: Grant
    sid: str = field(repr=False)

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """The only hosts the sid may ever be sent to: the session's platform and API hosts."""
        return frozenset(
            urlsplit(url).netloc.lower() for url in (self.grant.api_v3_url, self.grant.platform_url)
        )


def session_loader(bridge: Bridge) -> Callable[[AccessTokenClaims], IBSession]:
    def load(claims: AccessTokenClaims) -> IBSession:
        grant = bridge.oauth.live_grant(claims.grant_id) if claims.grant_id else None
        if grant is None or grant.client_id != claims.client_id:
            raise BearerAuthError(
                "The sign-in behind this token has ended (signed out, revoked or expired). "
                "Sign in again."
            )
        if grant.session_expires_at <= time.time():
            raise BearerAuthError("The IntelligenceBank session has ended. Sign in again.")
        return IBSession(
            grant, bridge.cipher.decrypt(grant.sid_ciphertext, grant_id=grant.grant_id)
        )

    return load
