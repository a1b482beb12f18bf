"""Proxy host confusion and header policy. IB's API host is a recording HTTP server here (the
emulator's API origin, http://localhost:PORT), so each case can assert what reached it.

Host confusion: only the session's own API and platform hosts may receive its sid. Every other
way of naming a host in the proxy path (a foreign host, the bridge itself, userinfo, a port
change, encoded separators, a scheme, dot segments climbing out of the path) is refused before
a byte leaves: 403 `forbidden_host` or 400 `invalid_request`, and the recorder sees nothing.
Requests are sent to the ASGI app with their raw path as written (no client normalises them).

Header policy: the caller's Authorization, Cookie, `sid`, Host, forwarding and hop-by-hop
headers (and those its Connection header names) never reach IB, which gets exactly one `sid`,
the session's; IB's Set-Cookie, Server, hop-by-hop headers and any header carrying the sid never
reach the caller."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from ib_oauth_bridge.devib import EmulatorConfig
from inprocess_flow import tokens
from inprocess_stack import Stack, open_stack

pytestmark = pytest.mark.anyio

API = "/api/3.0.0/BnK4JV/resource.limit(1)"


@dataclass
class Seen:
    method: str
    path: str
    headers: list[tuple[str, str]]


class Recorder(ThreadingHTTPServer):
    """IB's API host: records every request, answers JSON with headers the proxy must drop."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[Seen] = []
        self.echo_sid = False
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append(Seen(self.command, self.path, list(self.headers.items())))
        body = json.dumps({"response": {"rows": [], "count": 0}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "ibsession=secret; Path=/")
        self.send_header("Set-Cookie2", "ibsession=secret")
        self.send_header("Connection", "X-Ib-Hop")
        self.send_header("X-Ib-Hop", "hop")
        self.send_header("Keep-Alive", "timeout=5")
        self.send_header("X-Ib-Kept", "kept")
        if self.server.echo_sid:
            self.send_header("X-Debug-Session", f"sid={self.headers.get('sid')}")
            self.send_header("Location", f"/x?sid={self.headers.get('sid')}")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


@dataclass
class Signed:
    stack: Stack
    token: str
    sid: str
    api_host: str  # localhost:PORT
    platform_host: str  # 127.0.0.1:PORT


@pytest.fixture(scope="module")
async def signed(
    tmp_path_factory: pytest.TempPathFactory, recorder: Recorder
) -> AsyncIterator[Signed]:
    async with open_stack(
        Path(tmp_path_factory.mktemp("proxy")), EmulatorConfig(port=recorder.port)
    ) as stack:
        token = (await tokens(stack))["access_token"]
        # The session's sid: what IB (the recorder) is sent on a plain proxied call.
        status, _, _ = await call(stack, "GET", f"/proxy{API}".encode(), bearer(token))
        assert status == 200
        sid = dict(recorder.seen[-1].headers)["sid"]
        assert sid
        yield Signed(stack, token, sid, f"localhost:{recorder.port}", f"127.0.0.1:{recorder.port}")
        await stack.bridge.upstream.aclose()


def bearer(token: str) -> list[tuple[bytes, str]]:
    return [(b"authorization", f"Bearer {token}")]


async def call(
    stack: Stack,
    method: str,
    raw_path: bytes,
    headers: list[tuple[bytes, str]],
    query: bytes = b"",
    body: bytes = b"",
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request straight to the ASGI app, its path exactly as given."""
    app = stack.http._transport.app  # type: ignore[attr-defined]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), *((n, v.encode()) for n, v in headers)],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []
    chunks = [body]

    async def receive() -> dict[str, Any]:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(), "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], start["headers"], content


# Host confusion ---------------------------------------------------------------------------

# (raw path after /proxy, with {api}/{platform}/{port} filled in; status; error)
CONFUSIONS: dict[str, tuple[str, int, str]] = {
    "foreign-host": ("/evil.example/x", 403, "forbidden_host"),
    "foreign-host-with-port": ("/evil.example:443/x", 403, "forbidden_host"),
    "the-bridge-itself": ("/127.0.0.1:8000/token", 403, "forbidden_host"),
    "loopback-other-port": ("/127.0.0.1:1/x", 403, "forbidden_host"),
    "api-host-other-port": ("/localhost:1/x", 403, "forbidden_host"),
    "api-host-no-port": ("/localhost./x", 403, "forbidden_host"),
    "metadata-address": ("/169.254.169.254/latest/meta-data", 403, "forbidden_host"),
    "userinfo-before-api-host": ("/evil.example@{api}/x", 403, "forbidden_host"),
    "userinfo-after-api-host": ("/{api}@evil.example/x", 403, "forbidden_host"),
    "api-host-as-subdomain": ("/{api}.evil.example/x", 403, "forbidden_host"),
    "encoded-slash-in-host": ("/evil.example%2F{api}/x", 403, "forbidden_host"),
    "encoded-at-in-host": ("/evil.example%40{api}/x", 403, "forbidden_host"),
    "scheme-in-path": ("/http://evil.example/x", 403, "forbidden_host"),
    "backslash-host": ("/{api}\\evil.example/x", 403, "forbidden_host"),
    "dot-segment-out-of-api": ("/api/3.0.0/../../x", 400, "invalid_request"),
    "dot-segment-in-host-form": ("/{api}/api/../../x", 400, "invalid_request"),
    "single-dot-segment": ("/api/./x", 400, "invalid_request"),
    "trailing-dot-segment": ("/api/3.0.0/..", 400, "invalid_request"),
    "backslash-in-path": ("/api/3.0.0\\..\\x", 400, "invalid_request"),
}


def _fill(text: str, signed: Signed) -> bytes:
    text = text.replace("{api}", signed.api_host)
    return text.replace("{platform}", signed.platform_host).encode()


@pytest.mark.parametrize(
    ("path", "status", "error"), CONFUSIONS.values(), ids=CONFUSIONS.keys()
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_confused_target_is_refused_before_any_byte_leaves(
    signed: Signed, recorder: Recorder, method: str, path: str, status: int, error: str
) -> None:
    before = len(recorder.seen)
    headers = bearer(signed.token)
    body = b""
    if method == "POST":
        headers.append((b"content-type", "application/json"))
        headers.append((b"content-length", "2"))
        body = b"{}"
    got, _, content = await call(
        signed.stack, method, b"/proxy" + _fill(path, signed), headers, body=body
    )
    assert got == status, content
    assert json.loads(content)["error"] == error
    assert signed.sid.encode() not in content
    assert len(recorder.seen) == before


ALLOWED = {
    "relative-to-api": f"{API}",
    "api-host-form": "/{api}" + API,
    "api-host-uppercase": "/{API}" + API,
    "platform-host-form": "/{platform}" + API,
    "double-slash-stays-on-api-host": "//evil.example" + API,
    "encoded-dots-stay-on-api-host": "/api/%2e%2e/x",
}


@pytest.mark.parametrize("path", ALLOWED.values(), ids=ALLOWED.keys())
async def test_the_sessions_own_hosts_are_reached(
    signed: Signed, recorder: Recorder, path: str
) -> None:
    before = len(recorder.seen)
    filled = path.replace("{API}", signed.api_host.upper())
    status, _, content = await call(
        signed.stack, "GET", b"/proxy" + _fill(filled, signed), bearer(signed.token)
    )
    assert status == 200, content
    assert len(recorder.seen) == before + 1
    # Whatever the path, it went to the recorder (the session's host), nowhere else.
    assert dict(recorder.seen[-1].headers)["sid"] == signed.sid


# Header policy ----------------------------------------------------------------------------

# (header the caller sends, value): none of these reaches IB under its name.
DROPPED_REQUEST_HEADERS = {
    "cookie": ("cookie", "bridge_session=abc"),
    "caller-sid": ("sid", "attacker-chosen-sid"),
    "caller-sid-uppercase": ("SID", "attacker-chosen-sid"),
    "proxy-authorization": ("proxy-authorization", "Basic Zm9vOmJhcg=="),
    "forwarded": ("forwarded", "for=1.2.3.4;host=evil.example"),
    "x-forwarded-for": ("x-forwarded-for", "1.2.3.4"),
    "x-forwarded-host": ("x-forwarded-host", "evil.example"),
    "x-forwarded-proto": ("x-forwarded-proto", "https"),
    "x-real-ip": ("x-real-ip", "1.2.3.4"),
    "origin": ("origin", "https://evil.example"),
    "referer": ("referer", "https://evil.example/page"),
    "te": ("te", "trailers"),
    "upgrade": ("upgrade", "websocket"),
    "keep-alive": ("keep-alive", "timeout=999"),
    "proxy-connection": ("proxy-connection", "keep-alive"),
    "trailer": ("trailer", "x-evil"),
    "named-by-connection": ("x-hop-secret", "hop"),
}


@pytest.mark.parametrize(
    ("name", "value"), DROPPED_REQUEST_HEADERS.values(), ids=DROPPED_REQUEST_HEADERS.keys()
)
async def test_a_caller_header_that_ib_must_not_get_is_dropped(
    signed: Signed, recorder: Recorder, name: str, value: str
) -> None:
    headers = [*bearer(signed.token), (name.encode(), value)]
    if name == "x-hop-secret":
        headers.append((b"connection", "x-hop-secret"))
    status, _, content = await call(signed.stack, "GET", f"/proxy{API}".encode(), headers)
    assert status == 200, content
    seen = recorder.seen[-1].headers
    assert all(v != value for _, v in seen), seen
    assert [v for n, v in seen if n.lower() == "sid"] == [signed.sid]  # exactly one, the session's
    assert not any(n.lower() == "authorization" for n, _ in seen)
    assert signed.token not in str(seen)


async def test_the_host_header_is_ibs_own(signed: Signed, recorder: Recorder) -> None:
    status, _, _ = await call(
        signed.stack,
        "GET",
        f"/proxy{API}".encode(),
        [*bearer(signed.token), (b"x-original-host", "evil.example")],
    )
    assert status == 200
    host = [v for n, v in recorder.seen[-1].headers if n.lower() == "host"]
    assert host == [signed.api_host]


DROPPED_RESPONSE_HEADERS = {
    "set-cookie": b"set-cookie",
    "set-cookie2": b"set-cookie2",
    "named-by-connection": b"x-ib-hop",
    "keep-alive": b"keep-alive",
    "debug-header-echoing-sid": b"x-debug-session",
    "location-carrying-sid": b"location",
}


@pytest.mark.parametrize(
    "name", DROPPED_RESPONSE_HEADERS.values(), ids=DROPPED_RESPONSE_HEADERS.keys()
)
async def test_an_ib_header_the_caller_must_not_get_is_dropped(
    signed: Signed, recorder: Recorder, name: bytes
) -> None:
    recorder.echo_sid = True
    try:
        status, headers, content = await call(
            signed.stack, "GET", f"/proxy{API}".encode(), bearer(signed.token)
        )
    finally:
        recorder.echo_sid = False
    assert status == 200, content
    names = [n.lower() for n, _ in headers]
    assert name not in names
    assert b"x-ib-kept" in names  # an ordinary IB header does pass
    assert signed.sid.encode() not in b"".join(v for _, v in headers) + content
