"""The proxy over real sockets: both path forms, host binding, header policy, byte-exact paths,
streaming of large bodies both ways, IB failures and the end of the IB session."""

from __future__ import annotations

import gzip
import hashlib
import json

import httpx
import pytest

from ib_oauth_bridge.devib import generated_sha256
from servers import Bridge, Emulator
from signed_in import SignedIn, sign_in

MB = 1024 * 1024


def last_request(emulator: Emulator) -> dict[str, object]:
    requests = emulator.control("requests").json()["requests"]
    assert requests, "the emulator saw no v3 request"
    return requests[-1]


def v3_request_count(emulator: Emulator) -> int:
    return len(emulator.control("requests").json()["requests"])


def test_path_and_query_pass_byte_for_byte(bridge: Bridge, emulator: Emulator,
                                           signed_in: SignedIn) -> None:
    raw = signed_in.api("resource.limit(0,5).order(lastUpdateTime:-1)")
    query = "searchParams[keywords]=a%20b&searchParams[isSearching]=true&verbose=true"
    response = httpx.get(f"{bridge.url}/proxy/{raw}?{query}", headers=signed_in.auth)
    assert response.status_code == 200, response.text
    seen = last_request(emulator)
    assert seen["raw_path"] == "/" + raw
    assert seen["query_string"] == query


def test_header_policy(bridge: Bridge, emulator: Emulator, signed_in: SignedIn) -> None:
    # A first call lets IB set its load-balancer cookie; the bridge must not keep it for later.
    httpx.get(f"{bridge.url}/proxy/{signed_in.api('resource.limit(1)')}", headers=signed_in.auth)
    response = httpx.get(
        f"{bridge.url}/proxy/{signed_in.api('resource.limit(1)')}",
        headers={**signed_in.auth, "Cookie": "mine=1", "sid": "forged", "X-Custom": "kept",
                 "X-Hop": "dropped", "Connection": "keep-alive, X-Hop"},
    )
    assert response.status_code == 200
    assert "set-cookie" not in response.headers  # IB's load-balancer cookie stays behind
    seen = last_request(emulator)
    names = {str(name).lower(): value for name, value in seen["headers"]}  # type: ignore[attr-defined]
    assert "authorization" not in names
    assert "cookie" not in names
    assert names["x-custom"] == "kept"
    assert "x-hop" not in names  # named by Connection: hop-by-hop
    assert seen["sid_present"] is True
    assert names["sid"] == "<redacted>"  # one sid header: the session's, not the forged one
    assert sum(1 for name, _ in seen["headers"] if name.lower() == "sid") == 1  # type: ignore[attr-defined]


def test_host_form_must_name_the_sessions_host(bridge: Bridge, emulator: Emulator,
                                               signed_in: SignedIn) -> None:
    before = v3_request_count(emulator)
    for host in ("evil.example.com", "127.0.0.1:1", f"{signed_in.ib_api_host}.evil.com"):
        response = httpx.get(f"{bridge.url}/proxy/{host}/{signed_in.api('resource')}",
                             headers=signed_in.auth)
        assert response.status_code == 403, host
        assert response.json()["error"] == "forbidden_host"
    assert v3_request_count(emulator) == before  # nothing left the bridge


def test_requests_without_a_valid_token_are_refused(bridge: Bridge, signed_in: SignedIn) -> None:
    url = f"{bridge.url}/proxy/{signed_in.api('resource')}"
    missing = httpx.get(url)
    assert missing.status_code == 401
    assert "resource_metadata=" in missing.headers["www-authenticate"]
    forged = httpx.get(url, headers={"Authorization": "Bearer " + signed_in.access_token[:-4]
                                     + "AAAA"})
    assert forged.status_code == 401
    assert 'error="invalid_token"' in forged.headers["www-authenticate"]
    assert forged.json()["error"] == "invalid_token"


def test_create_resource_through_proxy(bridge: Bridge, signed_in: SignedIn) -> None:
    created = httpx.post(f"{bridge.url}/proxy/{signed_in.api('resource')}",
                         json={"data": {"name": "Proxied upload", "folder": "f1"}},
                         headers=signed_in.auth)
    assert created.status_code == 201, created.text
    listed = httpx.get(f"{bridge.url}/proxy/{signed_in.api('resource.limit(0,200)')}",
                       params={"searchParams[keywords]": "Proxied upload"},
                       headers=signed_in.auth).json()
    assert any(row["name"] == "Proxied upload" for row in listed["response"]["rows"])


def test_50_mb_download_streams_exact_bytes(bridge: Bridge, signed_in: SignedIn) -> None:
    size = 50 * MB
    digest = hashlib.sha256()
    received = 0
    url = f"{bridge.url}/proxy/{signed_in.api('file/generated')}?size={size}&seed=7"
    with httpx.stream("GET", url, headers=signed_in.auth, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == str(size)
        for chunk in response.iter_raw():
            digest.update(chunk)
            received += len(chunk)
    assert received == size
    assert digest.hexdigest() == generated_sha256(size, 7)


def test_20_mb_upload_streams_exact_bytes(bridge: Bridge, emulator: Emulator,
                                          signed_in: SignedIn) -> None:
    block = hashlib.sha256(b"upload").digest() * 2048  # 64 KiB
    chunks = 20 * MB // len(block)
    expected = hashlib.sha256(block * chunks).hexdigest()

    def body():  # a generator: httpx sends it chunked, never as one buffer
        for _ in range(chunks):
            yield block

    response = httpx.post(f"{bridge.url}/proxy/{signed_in.api('file')}?target=folder-1",
                          content=body(), timeout=60,
                          headers={**signed_in.auth, "Content-Type": "application/pdf"})
    assert response.status_code == 200, response.text
    answer = response.json()["response"]
    assert answer["size"] == 20 * MB
    assert answer["sha256"] == expected
    assert emulator.control("uploads").json()["uploads"][-1]["sha256"] == expected


@pytest.mark.parametrize(("status", "expected"), [(503, 503), (500, 500), (404, 404)])
def test_ib_errors_pass_through(bridge: Bridge, emulator: Emulator, signed_in: SignedIn,
                                status: int, expected: int) -> None:
    emulator.control("fail", {"status": status, "times": 1, "path_contains": "resource"})
    response = httpx.get(f"{bridge.url}/proxy/{signed_in.api('resource')}",
                         headers=signed_in.auth)
    assert response.status_code == expected


def test_slow_ib_becomes_504(tmp_path, emulator: Emulator) -> None:
    from servers import Bridge as BridgeServer
    from servers import bridge_env, free_port

    port = free_port()
    slow_bridge = BridgeServer(port, tmp_path, bridge_env(port, emulator, tmp_path))
    slow_bridge.env["IB_BRIDGE_UPSTREAM_TIMEOUT"] = "0.5"
    slow_bridge.start()
    try:
        user = sign_in(slow_bridge, emulator)
        emulator.control("config", {"latency_ms": 1500})
        response = httpx.get(f"{slow_bridge.url}/proxy/{user.api('resource')}",
                             headers=user.auth, timeout=10)
        assert response.status_code == 504
        assert response.json()["error"] == "gateway_timeout"
    finally:
        emulator.control("config", {"latency_ms": 0})
        slow_bridge.stop()


def test_ib_session_expiry_mid_use(bridge: Bridge, emulator: Emulator) -> None:
    user = sign_in(bridge, emulator, username="grace")
    url = f"{bridge.url}/proxy/{user.api('resource.limit(1)')}"
    assert httpx.get(url, headers=user.auth).status_code == 200
    emulator.control("expire-sessions", {"user": "grace"})
    ended = httpx.get(url, headers=user.auth)
    assert ended.status_code == 401
    assert 'error="invalid_token"' in ended.headers["www-authenticate"]
    # The grant ended with the IB session: the refresh token is dead and so is the access token.
    refreshed = httpx.post(f"{bridge.url}/token", data={
        "grant_type": "refresh_token", "refresh_token": user.refresh_token,
        "client_id": "mcp-public-client"})
    assert refreshed.json()["error"] == "invalid_grant"
    assert httpx.get(f"{bridge.url}/userinfo", headers=user.auth).status_code == 401


def test_conditional_requests_and_ib_encoding_pass_through(
    bridge: Bridge, emulator: Emulator, signed_in: SignedIn
) -> None:
    """IB's ETag reaches the client, the client's If-None-Match reaches IB, IB's 304 comes back;
    a gzip answer from IB arrives still gzip-encoded, byte for byte (no decompression)."""
    url = f"{bridge.url}/proxy/{signed_in.api('resource.limit(0,5)')}"
    with httpx.Client(headers=signed_in.auth) as client:
        first = client.get(url, headers={"Accept-Encoding": "identity"})
        assert first.status_code == 200
        etag = first.headers["etag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.headers["etag"] == etag
        assert again.content == b""
        stale = client.get(url, headers={"If-None-Match": '"something-else"'})
        assert stale.status_code == 200
        with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as gzipped:
            raw = b"".join(gzipped.iter_raw())
            assert gzipped.headers["content-encoding"] == "gzip"
    assert raw[:2] == b"\x1f\x8b"  # still compressed as IB sent it
    assert json.loads(gzip.decompress(raw)) == first.json()


def test_the_bridges_own_answers_are_gzipped_for_clients_that_accept_it(bridge: Bridge) -> None:
    plain = httpx.get(f"{bridge.url}/openapi.yaml", headers={"Accept-Encoding": "identity"})
    with httpx.stream("GET", f"{bridge.url}/openapi.yaml",
                      headers={"Accept-Encoding": "gzip"}) as answer:
        raw = b"".join(answer.iter_raw())
        assert answer.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert len(raw) < len(plain.content) / 3
