"""The v3 API (IB-API.md section 2): auth, lists in the dotted syntax, create, get."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from .conftest import RunningEmulator, SignIn


def _list(client: httpx.Client, ib: RunningEmulator, sid: str, call: str, **params: str) -> Any:
    answer = client.get(ib.v3(call), headers={"sid": sid}, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["response"]


def test_needs_a_live_sid(ib: RunningEmulator, client: httpx.Client) -> None:
    missing = client.get(ib.v3("resource"))
    assert missing.status_code == 401
    assert missing.json()["error"] == "invalid_session"
    bad = client.get(ib.v3("resource"), headers={"sid": "0" * 48})
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_session"


def test_wrong_client_id_is_403(ib: RunningEmulator, client: httpx.Client, sid: str) -> None:
    answer = client.get(f"{ib.api}/api/3.0.0/OTHER/resource", headers={"sid": sid})
    assert answer.status_code == 403
    assert answer.json()["error"] == "forbidden"


def test_list_shape_and_default(ib: RunningEmulator, client: httpx.Client, sid: str) -> None:
    body = _list(client, ib, sid, "resource")
    assert body["offset"] == 0
    assert body["count"] == 120
    assert len(body["rows"]) == 100
    row = body["rows"][0]
    assert set(row) == {"_id", "name", "folder", "file", "createTime", "lastUpdateTime", "tags"}
    assert set(row["file"]) == {"type", "name", "size", "hash"}
    assert row["createTime"].endswith("Z")
    assert row["createTime"] <= row["lastUpdateTime"]


def test_limit_offset_and_order(ib: RunningEmulator, client: httpx.Client, sid: str) -> None:
    all_rows = _list(client, ib, sid, "resource.limit(0,200)")["rows"]
    assert len(all_rows) == 120
    assert len({r["_id"] for r in all_rows}) == 120

    first = _list(client, ib, sid, "resource.limit(5)")
    assert [r["_id"] for r in first["rows"]] == [r["_id"] for r in all_rows[:5]]

    page = _list(client, ib, sid, "resource.limit(10,5)")
    assert page["offset"] == 10
    assert page["count"] == 120
    assert [r["_id"] for r in page["rows"]] == [r["_id"] for r in all_rows[10:15]]

    newest = sorted(all_rows, key=lambda r: r["lastUpdateTime"], reverse=True)
    for call in (
        "resource.limit(0,100).order(lastUpdateTime:-1)",
        "resource.order(lastUpdateTime:-1).limit(0,100)",
    ):
        rows = _list(client, ib, sid, call)["rows"]
        assert [r["lastUpdateTime"] for r in rows] == [r["lastUpdateTime"] for r in newest[:100]]

    by_name = _list(client, ib, sid, "resource.order(name:1).limit(200)")["rows"]
    assert [r["name"] for r in by_name] == sorted(r["name"] for r in all_rows)
    by_size = _list(client, ib, sid, "resource.order(file.size:-1).limit(3)")["rows"]
    biggest = sorted((r["file"]["size"] for r in all_rows), reverse=True)[:3]
    assert [r["file"]["size"] for r in by_size] == biggest


def test_keywords_filter(ib: RunningEmulator, client: httpx.Client, sid: str) -> None:
    all_rows = _list(client, ib, sid, "resource.limit(200)")["rows"]
    expected = [
        r["_id"]
        for r in all_rows
        if "logo" in r["name"].lower() or any("logo" in t for t in r["tags"])
    ]
    assert expected
    body = _list(
        client,
        ib,
        sid,
        "resource.limit(0,200)",
        **{
            "searchParams[keywords]": "LoGo",
            "searchParams[isSearching]": "true",
            "verbose": "true",
            "productkey": "abc",
        },
    )
    assert body["count"] == len(expected)
    assert [r["_id"] for r in body["rows"]] == expected
    none = _list(client, ib, sid, "resource", **{"searchParams[keywords]": "zzqx"})
    assert none == {"rows": [], "offset": 0, "count": 0}


@pytest.mark.parametrize(
    "call",
    [
        "resource.limit(",
        "resource.limit(a)",
        "resource.limit(-1)",
        "resource.limit(1,2,3)",
        "resource.order(name)",
        "resource.order(name:2)",
        "resource.order(password:1)",
        "resource.frobnicate(1)",
        "resource.limit(1).limit(2)",
        "resource..limit(1)",
        "resource.limit(1)junk",
        "resource.limit(" + "9" * 5000 + ")",
        "resource.limit(\uff11)",  # a fullwidth digit is no digit here
    ],
)
def test_malformed_dotted_is_400(
    ib: RunningEmulator, client: httpx.Client, sid: str, call: str
) -> None:
    answer = client.get(ib.v3(call), headers={"sid": sid})
    assert answer.status_code == 400
    assert answer.json()["error"] == "bad_request"


def test_unknown_entity_is_404(ib: RunningEmulator, client: httpx.Client, sid: str) -> None:
    answer = client.get(ib.v3("widget.limit(1)"), headers={"sid": sid})
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"


def test_users_and_filters(ib: RunningEmulator, client: httpx.Client, sid: str) -> None:
    users = _list(client, ib, sid, "user.limit(100).order(lastUpdateTime:-1)")
    assert users["count"] == 22
    assert {"demo", "grace"} <= {u["username"] for u in users["rows"]}
    times = [u["lastUpdateTime"] for u in users["rows"]]
    assert times == sorted(times, reverse=True)
    ada = _list(client, ib, sid, "user", **{"searchParams[keywords]": "lovelace"})
    assert [u["uuid"] for u in ada["rows"]] == ["u-demo"]

    filters = _list(client, ib, sid, "filter.limit(100)")
    assert filters["count"] >= 2
    auto = _list(
        client, ib, sid, "filter.limit(100)", **{"searchParams[enableAutoReviews]": "true"}
    )
    assert 0 < auto["count"] < filters["count"]
    assert all(f["enableAutoReviews"] is True for f in auto["rows"])


def test_create_then_list_and_get(ib: RunningEmulator, client: httpx.Client, sid: str) -> None:
    created = client.post(
        ib.v3("resource"),
        headers={"sid": sid},
        json={"data": {"name": "Quarterly zebra deck", "folder": "Sales", "tags": ["zebra"]}},
    )
    assert created.status_code == 201
    row = created.json()["response"]
    assert row["name"] == "Quarterly zebra deck"
    assert row["folder"] == "Sales"
    assert row["tags"] == ["zebra"]

    found = _list(client, ib, sid, "resource", **{"searchParams[keywords]": "zebra"})
    assert [r["_id"] for r in found["rows"]] == [row["_id"]]
    assert _list(client, ib, sid, "resource.limit(0)")["count"] == 121

    one = client.get(ib.v3(f"resource/{row['_id']}"), headers={"sid": sid})
    assert one.status_code == 200
    assert one.json()["response"] == row
    assert client.get(ib.v3("resource/nope"), headers={"sid": sid}).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"data": []}',
        b'{"data": {}}',
        b'{"data": {"name": ""}}',
        b'{"data": {"name": "x", "tags": "a"}}',
        b'{"data": {"name": "x", "folder": 3}}',
        b"\xff\xfe",
    ],
)
def test_create_rejects_bad_bodies(
    ib: RunningEmulator, client: httpx.Client, sid: str, body: bytes
) -> None:
    answer = client.post(
        ib.v3("resource"),
        headers={"sid": sid, "content-type": "application/json"},
        content=body,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "bad_request"


def test_compliance_review(ib: RunningEmulator, client: httpx.Client, sid: str) -> None:
    answer = client.get(ib.v3("complianceReview/r-42"), headers={"sid": sid})
    assert answer.status_code == 200
    assert answer.json()["response"]["_id"] == "r-42"


def test_every_v3_answer_sets_lb_cookie(
    ib: RunningEmulator, client: httpx.Client, sid: str
) -> None:
    for answer in (
        client.get(ib.v3("resource.limit(1)"), headers={"sid": sid}),
        client.get(ib.v3("resource.limit(x)"), headers={"sid": sid}),
        client.get(ib.v3("resource")),
    ):
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("AWSALB=")
        assert "Path=/" in cookie
    login = client.post(f"{ib.platform}/v1/auth/app/token")
    assert "set-cookie" not in login.headers


def test_session_expiry_through_control(
    ib: RunningEmulator, client: httpx.Client, sid: str
) -> None:
    assert client.get(ib.v3("resource"), headers={"sid": sid}).status_code == 200
    other = client.post(f"{ib.platform}/_emulator/expire-sessions", json={"user": "grace"})
    assert other.json() == {"expired": 0}
    assert client.get(ib.v3("resource"), headers={"sid": sid}).status_code == 200
    mine = client.post(f"{ib.platform}/_emulator/expire-sessions", json={"user": "demo"})
    assert mine.json() == {"expired": 1}
    expired = client.get(ib.v3("resource"), headers={"sid": sid})
    assert expired.status_code == 401
    assert expired.json()["error"] == "invalid_session"


def test_expire_all_sessions(ib: RunningEmulator, client: httpx.Client, sign_in: SignIn) -> None:
    sids = [
        sign_in(*creds)["content"]["session"]["sid"]
        for creds in (("demo", "demo"), ("grace", "grace"))
    ]
    answer = client.post(f"{ib.platform}/_emulator/expire-sessions", json={})
    assert answer.json() == {"expired": 2}
    for sid in sids:
        assert client.get(ib.v3("resource"), headers={"sid": sid}).status_code == 401
