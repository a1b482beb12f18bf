"""token_type_hint only orders the lookups (RFC 7009 2.1, RFC 7662 2.1)."""

from __future__ import annotations

from ib_oauth_bridge.oauth.token_hints import find_token


def lookups(found_by: set[str], tried: list[str]):  # type: ignore[no-untyped-def]
    def lookup(kind: str):  # type: ignore[no-untyped-def]
        def find(token: str) -> str | None:
            tried.append(kind)
            return f"{kind}:{token}" if kind in found_by else None

        return find

    return {"refresh_token": lookup("refresh_token"), "access_token": lookup("access_token")}


def test_the_hinted_kind_is_tried_first() -> None:
    tried: list[str] = []
    assert find_token("t", lookups({"access_token"}, tried), "access_token") == "access_token:t"
    assert tried == ["access_token"]


def test_a_wrong_or_unknown_hint_still_finds_the_token() -> None:
    for hint in ("refresh_token", "id_token", None):
        tried: list[str] = []
        assert find_token("t", lookups({"access_token"}, tried), hint) == "access_token:t"
        assert tried == ["refresh_token", "access_token"]


def test_nothing_found_is_none() -> None:
    assert find_token("t", lookups(set(), []), None) is None
