from __future__ import annotations

import pytest

from ib_oauth_bridge.store import SidCipher, SidDecryptionError

SID = "ib-sid-7f3c2a9e41d84b0c"


@pytest.fixture
def cipher() -> SidCipher:
    return SidCipher(SidCipher.generate_key())


def test_round_trip(cipher: SidCipher) -> None:
    blob = cipher.encrypt(SID, grant_id="g-1")
    assert SID.encode() not in blob
    assert cipher.decrypt(blob, grant_id="g-1") == SID


def test_unicode_and_empty_sid(cipher: SidCipher) -> None:
    for sid in ("", "s\u00efd-\U0001f511"):
        assert cipher.decrypt(cipher.encrypt(sid, grant_id="g"), grant_id="g") == sid


def test_nonce_is_fresh_each_time(cipher: SidCipher) -> None:
    assert cipher.encrypt(SID, grant_id="g") != cipher.encrypt(SID, grant_id="g")


def test_layout(cipher: SidCipher) -> None:
    blob = cipher.encrypt(SID, grant_id="g")
    assert blob[0] == 1  # version
    assert blob[1:5].hex() == cipher.key_id
    assert len(blob) == 1 + 4 + 12 + len(SID) + 16


@pytest.mark.parametrize(
    "position",
    [0, 1, 4, 5, 16, 17, -17, -1],
    ids=[
        "version",
        "key-id-first",
        "key-id-last",
        "nonce-first",
        "nonce-last",
        "body",
        "body-last",
        "tag-last",
    ],
)
def test_any_flipped_byte_fails(cipher: SidCipher, position: int) -> None:
    blob = bytearray(cipher.encrypt(SID, grant_id="g"))
    blob[position] ^= 0x01
    with pytest.raises(SidDecryptionError):
        cipher.decrypt(bytes(blob), grant_id="g")


def test_truncated_fails(cipher: SidCipher) -> None:
    blob = cipher.encrypt(SID, grant_id="g")
    for cut in (0, 5, 17, 32, len(blob) - 1):
        with pytest.raises(SidDecryptionError):
            cipher.decrypt(blob[:cut], grant_id="g")


def test_ciphertext_moved_to_another_grant_fails(cipher: SidCipher) -> None:
    blob = cipher.encrypt(SID, grant_id="g-1")
    with pytest.raises(SidDecryptionError):
        cipher.decrypt(blob, grant_id="g-2")


def test_wrong_key_fails(cipher: SidCipher) -> None:
    blob = cipher.encrypt(SID, grant_id="g")
    with pytest.raises(SidDecryptionError, match="does not hold"):
        SidCipher(SidCipher.generate_key()).decrypt(blob, grant_id="g")


def test_rotation() -> None:
    old_key, new_key = SidCipher.generate_key(), SidCipher.generate_key()
    old = SidCipher(old_key)
    old_blob = old.encrypt(SID, grant_id="g")

    rotated = SidCipher(new_key, previous_keys=[old_key])
    assert rotated.decrypt(old_blob, grant_id="g") == SID  # sessions survive the rotation

    new_blob = rotated.encrypt(SID, grant_id="g")
    assert new_blob[1:5] == SidCipher(new_key).encrypt("x", grant_id="g")[1:5]
    assert rotated.decrypt(new_blob, grant_id="g") == SID
    with pytest.raises(SidDecryptionError):
        old.decrypt(new_blob, grant_id="g")  # the old key cannot read what the new one sealed

    retired = SidCipher(new_key)  # old key dropped after its grants expired
    with pytest.raises(SidDecryptionError):
        retired.decrypt(old_blob, grant_id="g")


@pytest.mark.parametrize("bad", [b"", b"x" * 16, b"x" * 31, b"x" * 33, "x" * 32])
def test_key_must_be_32_bytes(bad: object) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SidCipher(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="32 bytes"):
        SidCipher(SidCipher.generate_key(), previous_keys=[bad])  # type: ignore[list-item]


def test_generate_key() -> None:
    k1, k2 = SidCipher.generate_key(), SidCipher.generate_key()
    assert len(k1) == 32
    assert k1 != k2


def test_no_secret_in_errors_or_repr() -> None:
    key = SidCipher.generate_key()
    cipher = SidCipher(key, previous_keys=[SidCipher.generate_key()])
    blob = cipher.encrypt(SID, grant_id="g-1")
    failures: list[SidDecryptionError] = []
    for attempt in (
        lambda: cipher.decrypt(blob, grant_id="g-2"),
        lambda: cipher.decrypt(blob[:-1] + bytes([blob[-1] ^ 1]), grant_id="g-1"),
        lambda: SidCipher(SidCipher.generate_key()).decrypt(blob, grant_id="g-1"),
        lambda: cipher.decrypt(blob[:10], grant_id="g-1"),
        lambda: cipher.decrypt(b"\x09" + blob[1:], grant_id="g-1"),
    ):
        with pytest.raises(SidDecryptionError) as info:
            attempt()
        failures.append(info.value)
    texts = [repr(cipher), str(cipher)]
    for err in failures:
        texts += [str(err), repr(err), repr(err.args)]
        assert err.__cause__ is None
        assert err.__context__ is None or err.__suppress_context__
    for text in texts:
        assert SID not in text
        assert key.hex() not in text
        assert repr(key)[2:-1] not in text
