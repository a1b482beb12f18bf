"""Read (never verify) a JWT access token's payload: only to learn its `exp` when a token answer
lacks `expires_in`. Verification is the bridge's job; a client must not trust these claims."""

from __future__ import annotations

import base64
import json
from typing import Any


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The payload of a compact JWS as a dict, or None when `token` is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def expiry(token: str) -> float | None:
    """The token's `exp` claim (Unix seconds), if it is a JWT that has one."""
    claims = unverified_claims(token)
    exp = claims.get("exp") if claims else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)
