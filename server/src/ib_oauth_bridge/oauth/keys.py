"""Signing keys for access tokens (RFC 9068 JWTs, ES256) and the JWK Set that publishes them.

The current key signs; previous keys only verify, so tokens minted before a rotation stay valid
until they expire. Keys come from settings (a private JWK, inline or in a file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, KeySet

ALGORITHM = "ES256"


class SigningKeyError(ValueError):
    """A signing key that cannot be used. The message never contains key material."""


def generate_signing_key() -> ECKey:
    return ECKey.generate_key(
        "P-256", parameters={"use": "sig", "alg": ALGORITHM}, private=True, auto_kid=True
    )


def load_private_jwk(value: str) -> ECKey:
    """A private EC P-256 JWK given inline as JSON or as the path of a file holding it."""
    text = value if value.lstrip().startswith("{") else _read_file(value)
    try:
        data: dict[str, Any] = json.loads(text)
        key = ECKey.import_key(data, parameters={"use": "sig", "alg": ALGORITHM})
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"the signing key is not a valid EC JWK ({type(exc).__name__})"
        ) from None
    if not key.is_private:
        raise SigningKeyError("the signing key must be a private JWK (it has no 'd')")
    if key.get("crv") != "P-256":
        raise SigningKeyError("the signing key must be on curve P-256 (for ES256)")
    if not key.kid:
        key.ensure_kid()
    return key


def _read_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SigningKeyError(f"cannot read key file {path!r}: {exc.strerror}") from None


@dataclass(frozen=True)
class SigningKeys:
    current: ECKey
    previous: tuple[ECKey, ...] = ()

    @property
    def signing_set(self) -> KeySet:
        """Only the current key, so joserfc signs with it and names its kid."""
        return KeySet([self.current])

    @property
    def verification_set(self) -> KeySet:
        return KeySet([self.current, *self.previous])

    def public_jwks(self) -> dict[str, Any]:
        """The JWK Set served at /jwks.json: public halves only."""
        return {"keys": [key.as_dict(private=False) for key in (self.current, *self.previous)]}

    @classmethod
    def from_settings(cls, signing_key: str, previous: tuple[str, ...] = ()) -> SigningKeys:
        return cls(load_private_jwk(signing_key), tuple(load_private_jwk(p) for p in previous))
