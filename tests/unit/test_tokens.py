"""Access-token lifetimes never outlive the IB session; the IB login answer is parsed
defensively."""

from __future__ import annotations

import time

import pytest

from ib_oauth_bridge.ib.browser_login import IBError, parse_login
from ib_oauth_bridge.oauth.tokens import token_lifetime
from ib_oauth_bridge.store.records import Grant

NOW = 1_800_000_000.0


def grant(session_left: float, now: float = NOW) -> Grant:
    return Grant("g", "c", "ib.read", None, b"", "https://p", "https://a", "X", {},
                 session_expires_at=now + session_left, created_at=now, last_used_at=now)


def test_lifetime_is_capped_by_the_ib_session() -> None:
    assert token_lifetime(grant(10 * 3600), 3600, NOW) == 3600
    assert token_lifetime(grant(600), 3600, NOW) == 600
    assert token_lifetime(grant(600), 3600, NOW + 900) == 1  # never zero or negative


def answer(**info: object) -> dict[str, object]:
    return {"SID": "x", "content": {
        "session": {"sid": "the-sid", "userUuid": "u-1", "loginTime": int(time.time())},
        "info": {"clientid": "C1", "apiV3url": "https://api.intelligencebank.com/", **info}}}


def test_parse_variants() -> None:
    login = parse_login(answer(adminemail="a@example.com", logintimeoutperiod="500"))
    assert login.email == "a@example.com"
    assert login.session_hours == 120  # clamped to IB's documented range
    assert login.api_v3_url == "https://api.intelligencebank.com"
    assert "the-sid" not in repr(login)
    top_level = answer()
    top_level["logintimeoutperiod"] = 2
    assert parse_login(top_level).session_hours == 2
    assert parse_login(answer()).session_hours == 24


def test_parse_refuses_answers_without_a_session() -> None:
    with pytest.raises(IBError):
        parse_login({"content": {"info": {"clientid": "C"}}})


def test_verified_tokens_are_cached_only_until_they_expire() -> None:
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from ib_oauth_bridge.oauth.keys import generate_signing_key
    from ib_oauth_bridge.oauth.tokens import AccessTokenVerifier, InvalidAccessToken

    key = generate_signing_key()
    claims = {"iss": "https://b", "aud": ["https://b/proxy"], "sub": "u", "client_id": "c",
              "exp": int(time.time()) + 2, "scope": "ib.read", "grant_id": "g"}
    token = jwt.encode({"alg": "ES256", "typ": "at+jwt"}, claims, KeySet([key]))
    clock = [time.time()]
    verifier = AccessTokenVerifier(
        KeySet([key]), "https://b", "https://b/proxy", leeway=0, clock=lambda: clock[0]
    )
    assert verifier.verify(token).grant_id == "g"
    assert verifier.verify(token).grant_id == "g"  # from the cache
    clock[0] += 2.1
    with pytest.raises(InvalidAccessToken):
        verifier.verify(token)
