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
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .keyfiles import FileWatch

__all__ = [
    "EncryptionKeyError",
    "EncryptionKeySource",
    "SidCipher",
    "SidDecryptionError",
    "reseal_text",
    "seal_text",
    "unseal_text",
]

log = logging.getLogger("ib_oauth_bridge.keys")

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


_KeyState = tuple[bytes, dict[bytes, list[AESGCM]]]


def _key_state(key: bytes, previous_keys: Iterable[bytes]) -> _KeyState:
    current = _check_key(key)
    # Several keys could in theory share a 4-byte id; keep all of them and try each.
    keys: dict[bytes, list[AESGCM]] = {}
    for k in (current, *(_check_key(p) for p in previous_keys)):
        keys.setdefault(_key_id(k), []).append(AESGCM(k))
    return _key_id(current), keys


class SidCipher:
    """AES-256-GCM for session ids, with key rotation.

    Encrypts with `key`; decrypts with `key` or any of `previous_keys`, so the key can be
    rotated without logging anyone out: deploy the new key with the old one in
    `previous_keys`, re-seal what the old one sealed (`reseal`, on use and by
    `ib-oauth-bridge store reseal`), then drop the old key.
    """

    __slots__ = ("_state",)

    def __init__(self, key: bytes, previous_keys: Iterable[bytes] = ()) -> None:
        # One attribute, replaced whole on a reload: a reader in another thread sees the old
        # keys or the new ones, never a mix.
        self._state: _KeyState = _key_state(key, previous_keys)

    def _keys(self) -> _KeyState:
        return self._state

    @staticmethod
    def generate_key() -> bytes:
        return os.urandom(_KEY_BYTES)

    @property
    def key_id(self) -> str:
        """Fingerprint of the current key (hex), for logs and diagnostics."""
        return self._keys()[0].hex()

    def encrypt(self, sid: str, *, grant_id: str) -> bytes:
        current_id, keys = self._keys()
        header = bytes([_VERSION]) + current_id
        nonce = os.urandom(_NONCE_BYTES)
        aead = keys[current_id][0]
        sealed = aead.encrypt(nonce, sid.encode("utf-8"), header + grant_id.encode("utf-8"))
        return header + nonce + sealed

    def decrypt(self, blob: bytes, *, grant_id: str) -> str:
        if len(blob) < _HEADER_BYTES + _NONCE_BYTES + _TAG_BYTES:
            raise SidDecryptionError("sid ciphertext is truncated")
        if blob[0] != _VERSION:
            raise SidDecryptionError(f"unknown sid ciphertext version {blob[0]}")
        header = bytes(blob[:_HEADER_BYTES])
        key_id = header[1:]
        candidates = self._keys()[1].get(key_id)
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

    def sealed_with_current_key(self, blob: bytes) -> bool:
        """Whether `blob` names the current key (its header; nothing is decrypted)."""
        return bytes(blob[1:_HEADER_BYTES]) == self._keys()[0]

    def reseal(self, blob: bytes, *, grant_id: str) -> bytes | None:
        """`blob` sealed again with the current key, or None when it already is. Raises
        SidDecryptionError when no key this cipher holds opens it."""
        if self.sealed_with_current_key(blob):
            return None
        return self.encrypt(self.decrypt(blob, grant_id=grant_id), grant_id=grant_id)

    def __repr__(self) -> str:
        current_id, keys = self._keys()
        ids = ",".join(k.hex() for k in keys)
        return f"SidCipher(current={current_id.hex()}, keys=[{ids}])"


class EncryptionKeyError(ValueError):
    """An encryption key setting that cannot be used. The message never holds key material."""


def is_inline_key(value: str) -> bool:
    """Whether a setting holds the key itself (base64url text) rather than a file's path."""
    return value.rstrip("=").replace("-", "").replace("_", "").isalnum()


def parse_key(text: str, name: str = "IB_BRIDGE_ENCRYPTION_KEY") -> bytes:
    """A 32-byte key from its base64url text."""
    text = text.strip()
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise EncryptionKeyError(f"{name} is not base64url") from None
    if len(key) != _KEY_BYTES:
        raise EncryptionKeyError(f"{name} must decode to exactly {_KEY_BYTES} bytes")
    return key


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(_check_key(key)).decode("ascii")


def read_keys(value: str, name: str, *, missing_ok: bool = False) -> list[bytes]:
    """The keys one setting entry names: the key itself, or a file holding keys, one per line
    (blank lines and lines starting with '#' are skipped). A missing file is no keys when
    `missing_ok` (a previous-keys file before the first rotation)."""
    if is_inline_key(value):
        return [parse_key(value, name)]
    path = Path(value)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return []
        raise EncryptionKeyError(f"{name}: no such file {value!r}") from None
    except OSError as exc:
        raise EncryptionKeyError(f"{name}: cannot read {value!r}: {exc.strerror}") from None
    lines = [line.strip() for line in text.splitlines()]
    return [parse_key(line, name) for line in lines if line and not line.startswith("#")]


@dataclass(frozen=True, slots=True)
class EncryptionKeySource:
    """Where the encryption keys come from: the settings `IB_BRIDGE_ENCRYPTION_KEY` (one key,
    inline or a file) and `IB_BRIDGE_PREVIOUS_ENCRYPTION_KEYS` (entries, each inline or a
    file of keys)."""

    current: str
    previous: tuple[str, ...] = ()

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(Path(v) for v in (self.current, *self.previous) if not is_inline_key(v))

    def load(self) -> tuple[bytes, tuple[bytes, ...]]:
        current = read_keys(self.current, "IB_BRIDGE_ENCRYPTION_KEY")
        if len(current) != 1:
            raise EncryptionKeyError("IB_BRIDGE_ENCRYPTION_KEY must hold exactly one key")
        previous = [
            key
            for entry in self.previous
            for key in read_keys(entry, "IB_BRIDGE_PREVIOUS_ENCRYPTION_KEYS", missing_ok=True)
        ]
        return current[0], tuple(k for k in previous if k != current[0])

    def cipher(self, clock: Callable[[], float] | None = None) -> SidCipher:
        """A cipher with these keys; one that follows changes to the key files when there
        are any and a `clock` to time its looks."""
        key, previous = self.load()
        if clock is None or not self.files:
            return SidCipher(key, previous)
        return ReloadingSidCipher(self, clock)


class ReloadingSidCipher(SidCipher):
    """A SidCipher that reads its key files again when they change (checked at most every
    `keyfiles.CHECK_INTERVAL` seconds): a rotation reaches a running bridge without a
    restart. A file that cannot be read keeps the keys in use, with a warning."""

    __slots__ = ("_source", "_watch")

    def __init__(self, source: EncryptionKeySource, clock: Callable[[], float]) -> None:
        key, previous = source.load()
        super().__init__(key, previous)
        self._source = source
        self._watch = FileWatch(source.files, clock)

    def _keys(self) -> _KeyState:
        if self._watch.changed():
            try:
                key, previous = self._source.load()
                self._state = _key_state(key, previous)
            except (EncryptionKeyError, ValueError) as exc:
                log.warning("encryption keys not reloaded", extra={"reason": str(exc)})
            else:
                log.info("encryption keys reloaded", extra={"key_id": self._state[0].hex()})
        return self._state


def seal_text(cipher: SidCipher, secret: str, *, context: str) -> str:
    """A short secret sealed like the sid, as base64url text for a text column, bound to
    `context` (the transaction or grant it belongs to)."""
    return base64.urlsafe_b64encode(cipher.encrypt(secret, grant_id=context)).decode("ascii")


def unseal_text(cipher: SidCipher, sealed: str, *, context: str) -> str:
    return cipher.decrypt(base64.urlsafe_b64decode(sealed), grant_id=context)


def text_sealed_with_current_key(cipher: SidCipher, sealed: str) -> bool:
    try:
        blob = base64.urlsafe_b64decode(sealed)
    except ValueError:
        return False
    return cipher.sealed_with_current_key(blob)


def reseal_text(cipher: SidCipher, sealed: str, *, context: str) -> str | None:
    """`sealed` (from `seal_text`) sealed again with the current key, or None when it already
    is. Raises SidDecryptionError when no key opens it."""
    if text_sealed_with_current_key(cipher, sealed):
        return None
    return seal_text(cipher, unseal_text(cipher, sealed, context=context), context=context)
