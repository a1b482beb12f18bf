"""Encryption of the IB session id (sid) at rest.

The sid is the one secret the store must be able to give back, so it cannot be hashed like the
others; it is sealed with AES-256-GCM under a key kept outside the store (settings or a key
file), so a copied database file alone yields no IB session.

Ciphertext layout (all binary, stored as a blob)::

    version (1 byte) | key id (4 bytes) | nonce (12 bytes) | AES-GCM ciphertext + tag

The header is authenticated together with the grant id (associated data), so a ciphertext
copied to another grant's row, or a header edited to point at another key, fails to decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["SidCipher", "SidDecryptionError", "seal_text", "unseal_text"]

_VERSION = 1
_KEY_BYTES = 32
_KEY_ID_BYTES = 4
_NONCE_BYTES = 12
_HEADER_BYTES = 1 + _KEY_ID_BYTES
_TAG_BYTES = 16


class SidDecryptionError(Exception):
    """The ciphertext cannot be opened: tampered, bound to another grant, or sealed with a key
    this cipher does not hold. The message never contains key material or plaintext."""


def _key_id(key: bytes) -> bytes:
    # A short fingerprint, not the key: it only routes a ciphertext to the right key during
    # rotation. Four bytes of SHA-256 of a random 256-bit key reveal nothing usable.
    return hashlib.sha256(key).digest()[:_KEY_ID_BYTES]


def _check_key(key: bytes) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) != _KEY_BYTES:
        raise ValueError(f"a sid key must be exactly {_KEY_BYTES} bytes")
    return bytes(key)


class SidCipher:
    """AES-256-GCM for session ids, with key rotation.

    Encrypts with `key`; decrypts with `key` or any of `previous_keys`, so the key can be
    rotated without logging anyone out: deploy the new key with the old one in
    `previous_keys`, and drop the old one once every grant sealed with it has expired.
    """

    __slots__ = ("_current_id", "_keys")

    def __init__(self, key: bytes, previous_keys: Iterable[bytes] = ()) -> None:
        current = _check_key(key)
        self._current_id = _key_id(current)
        # Several keys could in theory share a 4-byte id; keep all of them and try each.
        self._keys: dict[bytes, list[AESGCM]] = {}
        for k in (current, *(_check_key(p) for p in previous_keys)):
            self._keys.setdefault(_key_id(k), []).append(AESGCM(k))

    @staticmethod
    def generate_key() -> bytes:
        return os.urandom(_KEY_BYTES)

    @property
    def key_id(self) -> str:
        """Fingerprint of the current key (hex), for logs and diagnostics."""
        return self._current_id.hex()

    def encrypt(self, sid: str, *, grant_id: str) -> bytes:
        header = bytes([_VERSION]) + self._current_id
        nonce = os.urandom(_NONCE_BYTES)
        aead = self._keys[self._current_id][0]
        sealed = aead.encrypt(nonce, sid.encode("utf-8"), header + grant_id.encode("utf-8"))
        return header + nonce + sealed

    def decrypt(self, blob: bytes, *, grant_id: str) -> str:
        if len(blob) < _HEADER_BYTES + _NONCE_BYTES + _TAG_BYTES:
            raise SidDecryptionError("sid ciphertext is truncated")
        if blob[0] != _VERSION:
            raise SidDecryptionError(f"unknown sid ciphertext version {blob[0]}")
        header = bytes(blob[:_HEADER_BYTES])
        key_id = header[1:]
        candidates = self._keys.get(key_id)
        if not candidates:
            raise SidDecryptionError(
                f"sid was sealed with key {key_id.hex()}, which this cipher does not hold"
            )
        nonce = bytes(blob[_HEADER_BYTES : _HEADER_BYTES + _NONCE_BYTES])
        sealed = bytes(blob[_HEADER_BYTES + _NONCE_BYTES :])
        aad = header + grant_id.encode("utf-8")
        for aead in candidates:
            try:
                plain = aead.decrypt(nonce, sealed, aad)
            except InvalidTag:
                continue
            return plain.decode("utf-8")
        # `from None` keeps the InvalidTag chain out of logs; it carries nothing useful.
        raise SidDecryptionError(
            "sid ciphertext failed authentication (tampered, or bound to another grant)"
        ) from None

    def __repr__(self) -> str:
        ids = ",".join(k.hex() for k in self._keys)
        return f"SidCipher(current={self.key_id}, keys=[{ids}])"


def seal_text(cipher: SidCipher, secret: str, *, context: str) -> str:
    """A short secret sealed like the sid, as base64url text for a text column, bound to
    `context` (the transaction or grant it belongs to)."""
    return base64.urlsafe_b64encode(cipher.encrypt(secret, grant_id=context)).decode("ascii")


def unseal_text(cipher: SidCipher, sealed: str, *, context: str) -> str:
    return cipher.decrypt(base64.urlsafe_b64decode(sealed), grant_id=context)
