"""One grant cannot starve the others at the proxy, over real sockets: a per-grant cap on calls
in flight (429 beyond it), an idle deadline on request bodies (408), a send deadline on answers
the caller stops reading, and bad requests refused before anything reaches IB.

The bridges here keep four connections to IB and let one grant have three calls in flight, so
that without the cap one grant's slow uploads would take the whole pool."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from servers import Bridge, Emulator, bridge_env, free_port
from signed_in import SignedIn, sign_in

MB = 1024 * 1024
POOL, CAP = 4, 3


def start_bridge(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory, name: str,
                 **settings: str) -> Bridge:
    port, data_dir = free_port(), tmp_path_factory.mktemp(name)
    env = bridge_env(port, emulator, data_dir, IB_BRIDGE_UPSTREAM_MAX_CONNECTIONS=str(POOL),
                     IB_BRIDGE_PROXY_MAX_CONCURRENT_PER_GRANT=str(CAP), **settings)
    server = Bridge(port, data_dir, env)
    server.start()
    return server


@pytest.fixture(scope="module")
def capped_bridge(emulator: Emulator,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    """Bodies may pause for a minute: the slow uploads stay held while the test looks."""
    server = start_bridge(emulator, tmp_path_factory, "capped",
                          IB_BRIDGE_PROXY_BODY_IDLE_TIMEOUT="60")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def deadline_bridge(emulator: Emulator,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    """A body may pause one second, and a caller may stop reading for one second."""
    server = start_bridge(emulator, tmp_path_factory, "deadlines",
                          IB_BRIDGE_PROXY_BODY_IDLE_TIMEOUT="1", IB_BRIDGE_PROXY_SEND_TIMEOUT="1",
                          IB_BRIDGE_PROXY_MAX_UPLOAD_BYTES=str(MB))
    yield server
    server.stop()


def small_call(bridge: Bridge, user: SignedIn, timeout: float = 10) -> httpx.Response:
    return httpx.get(f"{bridge.url}/proxy/{user.api('resource.limit(0,3)')}", headers=user.auth,
                     timeout=timeout)


def slow_upload(bridge: Bridge, user: SignedIn, target: str, sent: bytes = b"x",
                declared: int = MB) -> socket.socket:
    """An upload that declares `declared` bytes, sends `sent`, and then nothing."""
    sock = socket.create_connection(("127.0.0.1", bridge.port), timeout=10)
    head = (f"POST /proxy/{user.api('file')}?target={target} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{bridge.port}\r\n"
            f"Authorization: Bearer {user.access_token}\r\n"
            f"Content-Type: application/octet-stream\r\n"
            f"Content-Length: {declared}\r\n\r\n")
    sock.sendall(head.encode() + sent)
    return sock


def answer_of(sock: socket.socket) -> tuple[int, http.client.HTTPMessage, bytes]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, response.headers, response.read()


def wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Polls a condition the bridge brings about on its own clock (a real process)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the bridge did not get there in time"
        time.sleep(0.05)


def test_one_grants_slow_uploads_leave_the_pool_to_other_users(
    capped_bridge: Bridge, emulator: Emulator
) -> None:
    hog = sign_in(capped_bridge, emulator)
    other = sign_in(capped_bridge, emulator, username="grace")
    held = [slow_upload(capped_bridge, hog, f"slow-{n}") for n in range(CAP)]
    try:
        # Once the hog's CAP uploads are in flight, its next call of any kind is refused.
        wait_for(lambda: small_call(capped_bridge, hog).status_code == 429)
        refused = small_call(capped_bridge, hog)
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_requests"
        assert int(refused.headers["retry-after"]) >= 1
        one_more = slow_upload(capped_bridge, hog, "one-more")
        status, _headers, body = answer_of(one_more)
        one_more.close()
        assert status == 429
        assert json.loads(body)["error"] == "too_many_requests"
        # Another user is served at once, from the connection the hog could not take.
        assert small_call(capped_bridge, other, timeout=3).status_code == 200
    finally:
        for sock in held:
            sock.close()
    wait_for(lambda: small_call(capped_bridge, hog).status_code == 200)


def test_a_stalled_upload_gets_408_and_its_upstream_request_is_aborted(
    deadline_bridge: Bridge, emulator: Emulator
) -> None:
    user = sign_in(deadline_bridge, emulator)
    for round_ in range(2):  # CAP stalls at a time, more of them than the pool holds in all
        stalled = [slow_upload(deadline_bridge, user, f"stalled-{round_}-{n}", b"x" * 1024)
                   for n in range(CAP)]
        for sock in stalled:
            status, headers, body = answer_of(sock)
            sock.close()
            assert status == 408
            assert json.loads(body)["error"] == "request_timeout"
            assert headers["connection"] == "close"
    uploads = emulator.control("uploads").json()["uploads"]
    assert not [u for u in uploads if u["target"].startswith("stalled-")]  # never completed
    # No connection was leaked or reused mid-body: the pool serves a call and a real upload.
    assert small_call(deadline_bridge, user).status_code == 200
    done = httpx.post(f"{deadline_bridge.url}/proxy/{user.api('file')}?target=after",
                      content=b"y" * 4096, headers=user.auth, timeout=10)
    assert done.status_code == 200, done.text
    assert done.json()["response"]["size"] == 4096


def test_a_download_the_caller_stops_reading_is_dropped_and_the_pool_recovers(
    deadline_bridge: Bridge, emulator: Emulator
) -> None:
    users = [sign_in(deadline_bridge, emulator), sign_in(deadline_bridge, emulator,
                                                         username="grace")]
    size = 64 * MB
    readers = []
    for user in users:  # two grants, each with two stalled readers: the whole pool
        for _ in range(POOL // len(users)):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(10)
            sock.connect(("127.0.0.1", deadline_bridge.port))
            sock.sendall((f"GET /proxy/{user.api('file/generated')}?size={size} HTTP/1.1\r\n"
                          f"Host: 127.0.0.1\r\nAuthorization: Bearer {user.access_token}\r\n\r\n"
                          ).encode())
            readers.append(sock)
    try:
        # Each stalled reader is dropped after the send deadline, and IB's answer closed: a
        # third user's call then finds a connection.
        third = sign_in(deadline_bridge, emulator)
        assert small_call(deadline_bridge, third, timeout=10).status_code == 200
        for sock in readers:
            received = 0
            while chunk := sock.recv(1024 * 1024):
                received += len(chunk)
            assert received < size  # cut off, never the whole file
    finally:
        for sock in readers:
            sock.close()
    assert small_call(deadline_bridge, users[0]).status_code == 200


def test_an_upload_over_the_cap_is_refused(deadline_bridge: Bridge, emulator: Emulator) -> None:
    user = sign_in(deadline_bridge, emulator)
    url = f"{deadline_bridge.url}/proxy/{user.api('file')}?target=too-big"
    declared = httpx.post(url, content=b"z" * (MB + 1), headers=user.auth, timeout=10)
    assert declared.status_code == 413
    assert declared.json()["error"] == "invalid_request"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(4):
            yield b"z" * (MB // 2)

    streamed = httpx.post(url, content=chunks(), headers=user.auth, timeout=10)
    assert streamed.status_code == 413
    # Refused on its declared length at once, before a byte of it is awaited or forwarded.
    announced = slow_upload(deadline_bridge, user, "too-big", sent=b"", declared=2 * MB)
    status, headers, _body = answer_of(announced)
    announced.close()
    assert status == 413
    assert headers["connection"] == "close"
    uploads = emulator.control("uploads").json()["uploads"]
    assert not [u for u in uploads if u["target"] == "too-big"]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("framing", ["Content-Length: 5", "Transfer-Encoding: chunked"])
def test_get_and_head_with_a_body_are_refused_and_not_forwarded(
    bridge: Bridge, emulator: Emulator, signed_in: SignedIn, method: str, framing: str
) -> None:
    before = len(emulator.control("requests").json()["requests"])
    body = b"hello" if framing.startswith("Content-Length") else b"5\r\nhello\r\n0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=10) as sock:
        sock.sendall((f"{method} /proxy/{signed_in.api('resource.limit(1)')} HTTP/1.1\r\n"
                      f"Host: 127.0.0.1\r\nAuthorization: Bearer {signed_in.access_token}\r\n"
                      f"{framing}\r\n\r\n").encode() + body)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        answer = response.read()
    assert response.status == 400
    if method == "GET":
        assert json.loads(answer)["error"] == "invalid_request"
    assert len(emulator.control("requests").json()["requests"]) == before


def test_huge_request_headers_get_431_and_are_not_forwarded(
    bridge: Bridge, emulator: Emulator, signed_in: SignedIn
) -> None:
    before = len(emulator.control("requests").json()["requests"])
    url = f"{bridge.url}/proxy/{signed_in.api('resource.limit(1)')}"
    for extra in ({"X-Big": "a" * 200_000},
                  {f"X-Many-{n}": "b" for n in range(150)},
                  {f"X-Wide-{n}": "c" * 8000 for n in range(10)}):
        response = httpx.get(url, headers={**signed_in.auth, **extra}, timeout=10)
        assert response.status_code == 431
        assert response.json()["error"] == "invalid_request"
    assert len(emulator.control("requests").json()["requests"]) == before
    assert httpx.get(f"{bridge.url}/healthz", headers={"X-Big": "a" * 9000}).status_code == 431


def test_proxied_answers_carry_one_date_and_at_most_one_server(
    bridge: Bridge, signed_in: SignedIn
) -> None:
    for rest in ("resource.limit(0,3)", "file/generated?size=200000"):  # buffered, streamed
        response = httpx.get(f"{bridge.url}/proxy/{signed_in.api(rest)}", headers=signed_in.auth)
        assert response.status_code == 200
        names = [name.lower() for name, _ in response.headers.raw]
        assert names.count(b"date") == 1, rest
        assert names.count(b"server") <= 1, rest
