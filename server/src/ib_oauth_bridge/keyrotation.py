"""Key rotation: `ib-oauth-bridge keys rotate-signing`, `keys rotate-encryption` and
`store reseal` (docs/configuration.md, "Key rotation").

A rotation rewrites the key files that the settings point at, in an order that keeps every
running bridge able to verify and decrypt at each step: first the previous-keys file gains the
old key, then the current key file is replaced (each file atomically, see `store.keyfiles`).
Running bridges pick the files up within `keyfiles.CHECK_INTERVAL` seconds. A key given inline
in a setting cannot be rewritten from here: then nothing is written, and the rotation is the
`IB_BRIDGE_*` lines to set (and a restart).

Every rotation that took effect is told to the audit log: one `key.rotated` event with the
kind and the new key's id, never key material.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .audit import emit_key_rotated
from .oauth.keys import (
    PreviousKey,
    SigningKeySource,
    dump_previous_keys,
    dump_signing_key,
    generate_signing_key,
    is_inline_json,
)
from .settings import Settings, SettingsError
from .store.crypto import (
    EncryptionKeySource,
    SidCipher,
    SidDecryptionError,
    encode_key,
    is_inline_key,
    reseal_text,
    text_sealed_with_current_key,
)
from .store.keyfiles import CHECK_INTERVAL, write_private_file
from .store.protocols import SealedValueStore
from .store.records import SealedKind, SealedValue

__all__ = [
    "PUBLISH_AHEAD",
    "RETIRE_MARGIN",
    "ResealCount",
    "Rotation",
    "audit_rotation",
    "reseal_store",
    "rotate_encryption",
    "rotate_signing",
]

# Beyond the longest access-token lifetime, how long a previous signing key stays: clock skew
# between hosts, the verifiers' leeway, and workers that pick the new key up a few seconds
# late (and so sign with the old one for those seconds).
RETIRE_MARGIN = 300
# How long a new signing key is published before it signs: the max-age of /jwks.json, so that
# a resource server caching the JWK Set has the new key before any token names it.
PUBLISH_AHEAD = 300
_PREVIOUS_ENCRYPTION_HEADER = (
    "# Previous encryption keys of the IB OAuth Bridge, newest first. They only decrypt.\n"
    "# Drop a key once `ib-oauth-bridge store reseal` reports nothing left under it.\n"
)


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation did: the files it rewrote, or (keys given inline) the settings the
    operator must set for it to happen."""

    kind: str  # "signing" or "encryption"
    new_key_id: str  # the new key's kid, or the encryption key's fingerprint
    previous_key_id: str
    written: tuple[Path, ...] = ()
    to_set: dict[str, str] = field(default_factory=dict)
    retire_after: float | None = None  # signing: when the previous key leaves the JWKS
    sign_after: float | None = None  # signing: when the new key starts signing

    @property
    def applied(self) -> bool:
        return bool(self.written)


def _single_file(values: Sequence[str], inline: bool) -> Path | None:
    """The one file a previous-keys setting names, or None when it is unset, inline, or a
    list (the command will not guess which file to write)."""
    if len(values) == 1 and not inline:
        return Path(values[0])
    return None


def rotate_signing(
    settings: Settings,
    *,
    now: float,
    publish_ahead: float = PUBLISH_AHEAD,
    retire_now: bool = False,
) -> Rotation:
    """A new signing key, published at once and signing `publish_ahead` seconds later (so
    that caches of /jwks.json know it before a token names it); the old key signs until then
    and stays in the JWKS, and verifies, until the longest access-token lifetime (+
    `RETIRE_MARGIN`) has passed after that. With `retire_now` (a key that leaked) the new key
    signs at once and the old one is dropped at once. Previous keys already retired are
    dropped from the file."""
    if not settings.signing_key:
        raise SettingsError("IB_BRIDGE_SIGNING_KEY is not set: there is no key to rotate")
    if publish_ahead < 0:
        raise SettingsError("--publish-ahead must be 0 or more seconds")
    source = SigningKeySource(settings.signing_key, settings.previous_signing_keys)
    state = source.load()
    current, previous = state.newest, state.previous
    new = generate_signing_key()
    sign_after = now if retire_now else now + publish_ahead
    retire_after = now if retire_now else sign_after + settings.access_token_ttl + RETIRE_MARGIN
    kept = [p for p in previous if p.retire_after is None or p.retire_after > now]
    updated = dump_previous_keys([PreviousKey(current, retire_after), *kept])
    signing_file = None if is_inline_json(settings.signing_key) else Path(settings.signing_key)
    previous_file = _single_file(
        settings.previous_signing_keys,
        any(is_inline_json(v) for v in settings.previous_signing_keys),
    )
    new_jwk = dump_signing_key(new, sign_after if sign_after > now else None)
    rotation = Rotation(
        "signing",
        new.kid or "",
        current.kid or "",
        retire_after=retire_after,
        sign_after=sign_after,
    )
    if signing_file is None or previous_file is None:
        compact = json.dumps(json.loads(updated), separators=(",", ":"))
        return replace(
            rotation,
            to_set={
                "IB_BRIDGE_SIGNING_KEY": new_jwk,
                "IB_BRIDGE_PREVIOUS_SIGNING_KEYS": compact,
            },
        )
    # The old key is published as a previous key before the new one signs anything.
    write_private_file(previous_file, updated)
    write_private_file(signing_file, new_jwk + "\n")
    return replace(rotation, written=(previous_file, signing_file))


def rotate_encryption(settings: Settings) -> Rotation:
    """A new encryption key seals from now on; the old one joins the previous keys, which
    only decrypt. Run `store reseal` afterwards, then drop the old key."""
    if not settings.encryption_key:
        raise SettingsError("IB_BRIDGE_ENCRYPTION_KEY is not set: there is no key to rotate")
    source = EncryptionKeySource(settings.encryption_key, settings.previous_encryption_keys)
    current, previous = source.load()
    new = SidCipher.generate_key()
    keys = [current, *(k for k in previous if k != current)]
    encryption_file = (
        None if is_inline_key(settings.encryption_key) else Path(settings.encryption_key)
    )
    previous_file = _single_file(
        settings.previous_encryption_keys,
        any(is_inline_key(v) for v in settings.previous_encryption_keys),
    )
    rotation = Rotation("encryption", SidCipher(new).key_id, SidCipher(current).key_id)
    if encryption_file is None or previous_file is None:
        return replace(
            rotation,
            to_set={
                "IB_BRIDGE_ENCRYPTION_KEY": encode_key(new),
                "IB_BRIDGE_PREVIOUS_ENCRYPTION_KEYS": ",".join(encode_key(k) for k in keys),
            },
        )
    # The old key can decrypt before the new one seals anything.
    lines = "".join(f"{encode_key(k)}\n" for k in keys)
    write_private_file(previous_file, _PREVIOUS_ENCRYPTION_HEADER + lines)
    write_private_file(encryption_file, encode_key(new) + "\n")
    return replace(rotation, written=(previous_file, encryption_file))


def audit_rotation(settings: Settings, rotation: Rotation) -> None:
    """Tell the audit log the settings name (`IB_BRIDGE_AUDIT_LOG`): one `key.rotated` line
    with the kind as its reason and the new key's id, never key material."""
    emit_key_rotated(
        settings,
        key_id=rotation.new_key_id,
        previous_key_id=rotation.previous_key_id,
        reason=rotation.kind,
    )


def describe(rotation: Rotation) -> list[str]:
    """What to tell the operator, one line each."""
    if not rotation.applied:
        return [
            "# A key is given inline (or the previous-keys setting does not name one file),",
            "# so nothing was written. Set these, then restart every bridge process:",
            *(f"{name}='{value}'" for name, value in rotation.to_set.items()),
        ]
    lines = [f"wrote {path}" for path in rotation.written]
    if rotation.kind == "signing":
        lines.append(
            f"signing key {rotation.new_key_id} is published now and signs from "
            f"sign_after={int(rotation.sign_after or 0)}"
        )
        lines.append(
            f"previous key {rotation.previous_key_id} stays in /jwks.json until "
            f"retire_after={int(rotation.retire_after or 0)}"
        )
    else:
        lines.append(f"encryption key {rotation.new_key_id} now seals")
        lines.append(
            f"previous key {rotation.previous_key_id} only decrypts: run "
            "`ib-oauth-bridge store reseal`, then remove it"
        )
    lines.append(f"running bridges pick this up within {int(CHECK_INTERVAL)} seconds")
    return lines


@dataclass(slots=True)
class ResealCount:
    resealed: int = 0  # sealed again with the current key
    current: int = 0  # already under the current key
    changed: int = 0  # rewritten by the server meanwhile (it seals with the current key)
    unreadable: int = 0  # no key opens it: its grant ends (401 invalid_token) on next use
    bound_to_browser: int = 0  # under a previous key, bound to an id only the browser holds


# What each sealed value is bound to; None: the login's transaction id, not in the store.
_CONTEXT_IS_ROW_KEY = {
    SealedKind.GRANT_SID: True,
    SealedKind.REFRESH_SUCCESSOR: True,
    SealedKind.LOGIN_TOKEN: False,
    SealedKind.LOGIN_REDIRECT: False,
}


def _is_current(cipher: SidCipher, value: SealedValue) -> bool:
    if isinstance(value.sealed, bytes):
        return cipher.sealed_with_current_key(value.sealed)
    return text_sealed_with_current_key(cipher, value.sealed)


def _resealed(cipher: SidCipher, value: SealedValue) -> bytes | str | None:
    if isinstance(value.sealed, bytes):
        return cipher.reseal(value.sealed, grant_id=value.row_key)
    return reseal_text(cipher, value.sealed, context=value.row_key)


async def reseal_store(
    store: SealedValueStore, cipher: SidCipher, *, page: int = 500
) -> dict[SealedKind, ResealCount]:
    """Seal every live sealed value again with the current key, row by row, each write a
    compare-and-set: safe while bridges run (a value they rewrote meanwhile is left alone)."""
    counts: dict[SealedKind, ResealCount] = {}
    for kind in SealedKind:
        count = counts[kind] = ResealCount()
        after = ""
        while values := await store.sealed_values(kind, after=after, limit=page):
            for value in values:
                after = value.row_key
                if _is_current(cipher, value):
                    count.current += 1
                    continue
                if not _CONTEXT_IS_ROW_KEY[kind]:
                    count.bound_to_browser += 1
                    continue
                try:
                    resealed = _resealed(cipher, value)
                except (SidDecryptionError, ValueError):
                    count.unreadable += 1
                    continue
                if resealed is None:
                    count.current += 1
                elif await store.replace_sealed(value, resealed):
                    count.resealed += 1
                else:
                    count.changed += 1
    return counts
