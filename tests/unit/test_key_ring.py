"""The key ring's parts: settings for previous keys, previous-key files with `retire_after`,
rotations of keys given inline (printed, nothing written), key files that cannot be read (the
keys in use are kept), and the audit line of a rotation (ids, never key material)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ib_oauth_bridge.keyrotation import audit_rotation, rotate_encryption, rotate_signing
from ib_oauth_bridge.oauth.keys import (
    SigningKeyError,
    SigningKeys,
    generate_signing_key,
    parse_previous_keys,
)
from ib_oauth_bridge.settings import Settings
from ib_oauth_bridge.store.crypto import (
    EncryptionKeySource,
    SidCipher,
    SidDecryptionError,
    encode_key,
)
from ib_oauth_bridge.store.keyfiles import CHECK_INTERVAL, write_private_file

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def jwk() -> str:
    return json.dumps(generate_signing_key().as_dict(private=True))


def test_inline_previous_signing_keys_are_one_json_value() -> None:
    inline = json.dumps({"keys": [json.loads(jwk()), json.loads(jwk())]})
    settings = Settings.from_env({"IB_BRIDGE_PREVIOUS_SIGNING_KEYS": inline})
    assert settings.previous_signing_keys == (inline,)
    paths = Settings.from_env({"IB_BRIDGE_PREVIOUS_SIGNING_KEYS": "/a.jwks, /b.jwk"})
    assert paths.previous_signing_keys == ("/a.jwks", "/b.jwk")
    keys = Settings.from_env({"IB_BRIDGE_PREVIOUS_ENCRYPTION_KEYS": "k1,/etc/old.keys"})
    assert keys.previous_encryption_keys == ("k1", "/etc/old.keys")


@pytest.mark.parametrize("bad", ['"soon"', "true", "null"])
def test_retire_after_must_be_a_number(bad: str) -> None:
    key = json.loads(jwk())
    text = json.dumps({"keys": [key]}).replace("}]}", f', "retire_after": {bad}}}]}}')
    if bad == "null":  # absent and null both mean: until removed by hand
        (previous,) = parse_previous_keys(text, "test")
        assert previous.retire_after is None
        return
    with pytest.raises(SigningKeyError, match="retire_after"):
        parse_previous_keys(text, "test")


def test_the_jwks_publishes_public_halves_without_retire_after() -> None:
    current = json.loads(jwk())
    old = {**json.loads(jwk()), "retire_after": NOW + 60}
    clock = Clock()
    ring = SigningKeys.from_settings(
        json.dumps(current), (json.dumps({"keys": [old]}),), clock=clock
    )
    published = ring.public_jwks()["keys"]
    assert [k["kid"] for k in published] == [current["kid"], old["kid"]]
    assert all("d" not in k and "retire_after" not in k for k in published)
    clock.now = NOW + 60
    assert [k["kid"] for k in ring.public_jwks()["keys"]] == [current["kid"]]
    assert not ring.knows(old["kid"])


def test_rotating_inline_signing_keys_prints_settings_that_work(tmp_path: Path) -> None:
    old = jwk()
    settings = Settings(signing_key=old, access_token_ttl=600)
    rotation = rotate_signing(settings, now=NOW)
    assert not rotation.applied
    assert list(tmp_path.iterdir()) == []
    rotated = Settings.from_env(rotation.to_set)
    clock = Clock()
    ring = SigningKeys.from_settings(
        rotated.signing_key or "", rotated.previous_signing_keys, clock=clock
    )
    old_kid = json.loads(old)["kid"]
    # Published ahead: the old key signs until sign_after, the new one from then on.
    assert ring.current.kid == old_kid
    assert [k.kid for k in ring.previous] == [rotation.new_key_id]
    assert rotation.sign_after is not None
    clock.now = rotation.sign_after
    assert ring.current.kid == rotation.new_key_id
    assert [k.kid for k in ring.previous] == [old_kid]
    assert rotation.retire_after is not None
    assert rotation.retire_after >= rotation.sign_after + 600


def test_a_key_file_without_a_previous_keys_file_is_not_rewritten(tmp_path: Path) -> None:
    """Replacing the key with nowhere to keep the old one would end every grant."""
    path = tmp_path / "encryption.key"
    write_private_file(path, encode_key(SidCipher.generate_key()))
    before = path.read_text()
    rotation = rotate_encryption(Settings(encryption_key=str(path)))
    assert not rotation.applied
    assert path.read_text() == before
    assert set(rotation.to_set) == {
        "IB_BRIDGE_ENCRYPTION_KEY",
        "IB_BRIDGE_PREVIOUS_ENCRYPTION_KEYS",
    }


def test_rotating_inline_encryption_keys_keeps_old_sids_readable() -> None:
    old = SidCipher.generate_key()
    blob = SidCipher(old).encrypt("sid", grant_id="g")
    rotation = rotate_encryption(Settings(encryption_key=encode_key(old)))
    rotated = Settings.from_env(rotation.to_set)
    cipher = EncryptionKeySource(
        rotated.encryption_key or "", rotated.previous_encryption_keys
    ).cipher()
    assert cipher.key_id == rotation.new_key_id
    assert cipher.decrypt(blob, grant_id="g") == "sid"
    resealed = cipher.reseal(blob, grant_id="g")
    assert resealed is not None
    assert cipher.sealed_with_current_key(resealed)
    assert cipher.reseal(resealed, grant_id="g") is None
    with pytest.raises(SidDecryptionError):
        SidCipher(SidCipher.generate_key()).reseal(blob, grant_id="g")


def test_an_unreadable_key_file_keeps_the_keys_in_use(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "encryption.key"
    write_private_file(path, encode_key(SidCipher.generate_key()))
    clock = Clock()
    cipher = EncryptionKeySource(str(path)).cipher(clock)
    blob = cipher.encrypt("sid", grant_id="g")
    write_private_file(path, "not a key")
    clock.now += CHECK_INTERVAL
    with caplog.at_level(logging.WARNING, logger="ib_oauth_bridge.keys"):
        assert cipher.decrypt(blob, grant_id="g") == "sid"
    assert "not reloaded" in caplog.text
    assert "not a key" not in caplog.text


def test_the_audit_line_names_keys_never_their_material(tmp_path: Path) -> None:
    signing, previous = tmp_path / "signing.jwk", tmp_path / "previous.jwks"
    audit_log = tmp_path / "audit.log"
    write_private_file(signing, jwk())
    settings = Settings(
        signing_key=str(signing), previous_signing_keys=(str(previous),), audit_log=str(audit_log)
    )
    rotation = rotate_signing(settings, now=NOW)
    audit_rotation(settings, rotation)
    text = audit_log.read_text()
    (line,) = [json.loads(raw) for raw in text.splitlines()]
    assert line["event"] == "key.rotated"
    assert line["reason"] == "signing"
    assert line["key_id"] == rotation.new_key_id
    private_d = {json.loads(signing.read_text())["d"]}
    private_d |= {k["d"] for k in json.loads(previous.read_text())["keys"]}
    assert not any(d in text for d in private_d)
    assert signing.stat().st_mode & 0o777 == 0o600
    assert previous.stat().st_mode & 0o777 == 0o600


def test_a_dev_data_directory_from_before_key_files_keeps_its_keys(tmp_path: Path) -> None:
    """`dev` restarted on an older data directory signs everyone out of nothing: its inline
    keys move to the key files, and no copy is left behind in dev-secrets.json."""
    from ib_oauth_bridge import devsecrets

    signing, encryption = jwk(), encode_key(SidCipher.generate_key())
    old = {"signing_key": signing, "encryption_key": encryption, "cookie_secret": "c" * 40}
    (tmp_path / devsecrets.FILE_NAME).write_text(json.dumps(old))
    dev = devsecrets.load_or_create(tmp_path)
    assert json.loads(Path(dev.signing_key).read_text()) == json.loads(signing)
    assert Path(dev.encryption_key).read_text().strip() == encryption
    assert dev.cookie_secret == "c" * 40
    left = json.loads((tmp_path / devsecrets.FILE_NAME).read_text())
    assert left == {"cookie_secret": "c" * 40}
    assert (tmp_path / devsecrets.FILE_NAME).stat().st_mode & 0o777 == 0o600
    assert devsecrets.load_or_create(tmp_path) == dev  # and the next start reads the same
