"""Key rotation in a running bridge: key files rewritten by the rotation commands' code, picked up
after the file check interval (the clock moved), with no restart.

Signing: new tokens carry the new kid, old ones verify until the old key retires, and then it
is gone from the JWKS and refused (a leaked key at once). Encryption: grants sealed with the old
key keep working, are re-sealed on use, `store reseal` re-seals the rest, and dropping the old
key afterwards ends none of them; a sid that no key opens ends its grant with 401.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from ib_oauth_bridge.keyrotation import reseal_store, rotate_encryption, rotate_signing
from ib_oauth_bridge.oauth.keys import generate_signing_key, read_previous_keys
from ib_oauth_bridge.store.crypto import EncryptionKeySource, SidCipher, encode_key
from ib_oauth_bridge.store.keyfiles import CHECK_INTERVAL, write_private_file
from ib_oauth_bridge.store.records import SealedKind
from inprocess_flow import pkce_pair, poll, refresh, sign_in_at_ib, start_login, tokens
from inprocess_stack import Stack

pytestmark = pytest.mark.anyio
ACCESS_TOKEN_TTL = 600


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    """Keys in files, as an operator who rotates in place configures them."""
    keys = tmp_path / "keys"
    write_private_file(
        keys / "signing.jwk", json.dumps(generate_signing_key().as_dict(private=True))
    )
    write_private_file(keys / "encryption.key", encode_key(SidCipher.generate_key()) + "\n")
    return {
        "signing_key": str(keys / "signing.jwk"),
        "previous_signing_keys": (str(keys / "previous-signing.jwks"),),
        "encryption_key": str(keys / "encryption.key"),
        "previous_encryption_keys": (str(keys / "previous-encryption.keys"),),
        "access_token_ttl": ACCESS_TOKEN_TTL,
    }


def kid_of(token: str) -> str:
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    return str(header["kid"])


def bearer(token: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


async def published_kids(stack: Stack) -> set[str]:
    answer = await stack.http.get("/jwks.json")
    assert answer.status_code == 200
    return {key["kid"] for key in answer.json()["keys"]}


def picked_up(stack: Stack) -> None:
    """Time enough for the bridge to look at its key files again."""
    stack.clock.advance(CHECK_INTERVAL)


def sid_key_ids(stack: Stack) -> dict[str, bytes]:
    """Each grant's sid ciphertext key id (the 4 header bytes after the version)."""
    with closing(sqlite3.connect(stack.store.path)) as db:
        rows = db.execute("SELECT grant_id, sid_ciphertext FROM grants").fetchall()
    return {grant_id: bytes(blob[1:5]) for grant_id, blob in rows}


def grant_id_of(stack: Stack, token: dict[str, str]) -> str:
    claims = jwt.decode(token["access_token"], stack.bridge.keys.verification_set).claims
    return str(claims["grant_id"])


def long_lived_copy(stack: Stack, token: dict[str, str], key: ECKey) -> str:
    """The token's claims, signed again by `key` with an expiry far away: only the key's
    retirement, not the token's expiry, can refuse it."""
    decoded = jwt.decode(token["access_token"], stack.bridge.keys.verification_set)
    claims = {**decoded.claims, "exp": int(stack.clock()) + 30 * 24 * 3600}
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": key.kid}, claims, key)


# -- signing --------------------------------------------------------------------------------


async def test_rotate_signing_signs_with_the_new_key_and_still_accepts_the_old(
    stack: Stack,
) -> None:
    before = await tokens(stack)
    old_kid = kid_of(before["access_token"])
    rotation = rotate_signing(stack.settings, now=stack.clock(), publish_ahead=0)
    assert rotation.applied
    assert rotation.previous_key_id == old_kid
    picked_up(stack)

    assert await published_kids(stack) == {old_kid, rotation.new_key_id}
    assert (await stack.http.get("/userinfo", headers=bearer(before))).status_code == 200
    refreshed = await refresh(stack, before["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert kid_of(refreshed.json()["access_token"]) == rotation.new_key_id
    after = await tokens(stack, scope="openid")
    assert kid_of(after["access_token"]) == rotation.new_key_id
    assert kid_of(after["id_token"]) == rotation.new_key_id


async def test_a_new_signing_key_is_published_before_it_signs(stack: Stack) -> None:
    """Caches of /jwks.json (and resource servers that fetch it once a minute at most) know the
    new key before any token names it."""
    old_kid = kid_of((await tokens(stack))["access_token"])
    rotation = rotate_signing(stack.settings, now=stack.clock(), publish_ahead=300)
    picked_up(stack)
    assert await published_kids(stack) == {old_kid, rotation.new_key_id}
    assert kid_of((await tokens(stack))["access_token"]) == old_kid
    assert rotation.sign_after is not None
    stack.clock.advance(rotation.sign_after - stack.clock())
    assert kid_of((await tokens(stack))["access_token"]) == rotation.new_key_id
    assert await published_kids(stack) == {old_kid, rotation.new_key_id}
    # The old key signed until sign_after: it stays a token lifetime (and a margin) beyond.
    assert rotation.retire_after is not None
    assert rotation.retire_after >= rotation.sign_after + ACCESS_TOKEN_TTL


async def test_the_old_signing_key_retires_after_the_longest_token_lifetime(
    stack: Stack, settings_overrides: dict[str, Any]
) -> None:
    before = await tokens(stack)
    old_kid = kid_of(before["access_token"])
    rotation = rotate_signing(stack.settings, now=stack.clock(), publish_ahead=0)
    picked_up(stack)
    (previous,) = read_previous_keys(settings_overrides["previous_signing_keys"][0])
    assert previous.key.kid == old_kid
    assert previous.retire_after is not None
    assert previous.retire_after >= stack.clock() + ACCESS_TOKEN_TTL
    forged_late = long_lived_copy(stack, before, previous.key)
    late = {"Authorization": f"Bearer {forged_late}"}
    assert (await stack.http.get("/userinfo", headers=late)).status_code == 200

    stack.clock.advance(previous.retire_after - stack.clock() + 1)
    assert await published_kids(stack) == {rotation.new_key_id}
    refused = await stack.http.get("/userinfo", headers=late)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


async def test_retire_now_refuses_the_old_keys_tokens_at_once_even_when_cached(
    stack: Stack,
) -> None:
    """A leaked key: its tokens stop working at once, though the verifier has seen them."""
    before = await tokens(stack)
    assert (await stack.http.get("/userinfo", headers=bearer(before))).status_code == 200
    rotation = rotate_signing(stack.settings, now=stack.clock(), retire_now=True)
    picked_up(stack)
    assert await published_kids(stack) == {rotation.new_key_id}
    refused = await stack.http.get("/userinfo", headers=bearer(before))
    assert refused.status_code == 401
    fresh = await tokens(stack)
    assert (await stack.http.get("/userinfo", headers=bearer(fresh))).status_code == 200


async def test_a_rotation_is_not_seen_before_the_key_files_are_looked_at_again(
    stack: Stack,
) -> None:
    before = await published_kids(stack)
    rotate_signing(stack.settings, now=stack.clock(), publish_ahead=0)
    stack.clock.advance(CHECK_INTERVAL / 2)
    assert await published_kids(stack) == before
    stack.clock.advance(CHECK_INTERVAL / 2)
    assert len(await published_kids(stack)) == 2


# -- encryption -----------------------------------------------------------------------------


async def test_rotate_encryption_reseal_on_use_then_store_reseal_then_drop_the_old_key(
    stack: Stack, settings_overrides: dict[str, Any]
) -> None:
    used, unused = await tokens(stack), await tokens(stack)
    used_id, unused_id = grant_id_of(stack, used), grant_id_of(stack, unused)
    old_id = sid_key_ids(stack)[used_id]

    rotation = rotate_encryption(stack.settings)
    assert rotation.applied
    assert rotation.previous_key_id == old_id.hex()
    picked_up(stack)
    new_id = bytes.fromhex(rotation.new_key_id)
    assert sid_key_ids(stack) == {used_id: old_id, unused_id: old_id}

    # Used: opened with the previous key, and sealed again with the current one.
    assert (await stack.http.get("/userinfo", headers=bearer(used))).status_code == 200
    assert sid_key_ids(stack) == {used_id: new_id, unused_id: old_id}

    # `store reseal` does the rest, and counts.
    cipher = EncryptionKeySource(
        settings_overrides["encryption_key"], settings_overrides["previous_encryption_keys"]
    ).cipher()
    counts = await reseal_store(stack.store, cipher)
    assert (counts[SealedKind.GRANT_SID].resealed, counts[SealedKind.GRANT_SID].current) == (1, 1)
    assert sid_key_ids(stack) == {used_id: new_id, unused_id: new_id}
    again = await reseal_store(stack.store, cipher)
    assert (again[SealedKind.GRANT_SID].resealed, again[SealedKind.GRANT_SID].current) == (0, 2)

    # The old key dropped: every grant still works, from the store (not a cached session).
    os.unlink(settings_overrides["previous_encryption_keys"][0])
    picked_up(stack)
    for token, grant_id in ((used, used_id), (unused, unused_id)):
        stack.bridge.sessions.evict(grant_id)
        answer = await stack.http.get("/userinfo", headers=bearer(token))
        assert answer.status_code == 200, answer.text
    assert (await refresh(stack, unused["refresh_token"])).status_code == 200


async def test_store_reseal_reseals_refresh_successors(stack: Stack) -> None:
    """The sealed answer kept for a refresh retry is sealed with the encryption key too."""
    token = await tokens(stack)
    assert (await refresh(stack, token["refresh_token"])).status_code == 200
    rotate_encryption(stack.settings)
    picked_up(stack)
    counts = await reseal_store(stack.store, stack.bridge.cipher)
    assert counts[SealedKind.REFRESH_SUCCESSOR].resealed == 1
    # The retry within the grace window still gets its answer, now under the new key alone.
    os.unlink(stack.settings.previous_encryption_keys[0])
    picked_up(stack)
    retry = await refresh(stack, token["refresh_token"])
    assert retry.status_code == 200, retry.text


async def test_a_sid_no_key_opens_ends_its_grant_with_401_invalid_token(stack: Stack) -> None:
    token = await tokens(stack)
    grant_id = grant_id_of(stack, token)
    # The key replaced without keeping the old one anywhere.
    write_private_file(
        Path(stack.settings.encryption_key or ""), encode_key(SidCipher.generate_key())
    )
    picked_up(stack)
    answer = await stack.http.get("/userinfo", headers=bearer(token))
    assert answer.status_code == 401, answer.text
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert await stack.store.get_grant(grant_id) is None  # ended, not failing on every call
    refreshed = await refresh(stack, token["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"


async def test_a_login_whose_sealed_texts_no_key_opens_is_410_not_500(stack: Stack) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        login_url = await start_login(stack, browser, challenge=challenge, state="s")
        write_private_file(
            Path(stack.settings.encryption_key or ""), encode_key(SidCipher.generate_key())
        )
        picked_up(stack)
        await sign_in_at_ib(stack, login_url)
        stack.clock.advance(stack.settings.ib_poll_interval)
        answer = await browser.get("/authorize/status")
        assert answer.status_code == 410, answer.text
        assert answer.json()["error"] == "login_expired"


async def test_a_login_in_progress_survives_an_encryption_rotation(stack: Stack) -> None:
    _, challenge = pkce_pair()
    async with stack.browser() as browser:
        login_url = await start_login(stack, browser, challenge=challenge, state="s")
        rotate_encryption(stack.settings)
        picked_up(stack)
        await sign_in_at_ib(stack, login_url)
        status = await poll(stack, browser)
    assert status["status"] == "done", status
