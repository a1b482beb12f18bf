"""An authenticated IB session as the proxy and /userinfo see it: the live grant plus its sid,
decrypted only for the request that needs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..store.records import Grant


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
