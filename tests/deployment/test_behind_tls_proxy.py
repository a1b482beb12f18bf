"""The bridge behind a TLS-terminating reverse proxy, over real sockets: `serve` with an https
issuer and IB_BRIDGE_TRUSTED_PROXIES naming the proxy, and a tiny proxy (below) that does what
docs/operations.md's nginx snippet does: terminate TLS, pass Host, append the client's address
to X-Forwarded-For, set X-Forwarded-Proto/-Host, drop the client's Forwarded.

All of it runs on loopback, so the proxy reports the client as CLIENT (the address a remote
browser would have) instead of its real peer, 127.0.0.1, which is the proxy's own address.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from deployment_support import deployed

from flow import pkce_pair, sign_in_at_ib, start_login, wait_for_redirect
from servers import Emulator, free_port

CLIENT = "198.51.100.20"
FORGED = "203.0.113.9"


class TlsTerminatingProxy:
    """One request per connection: reads the request head, rewrites its forwarding headers,
    sends it with `Connection: close` to the bridge and pipes the rest both ways."""

    def __init__(self, context: ssl.SSLContext, backend_port: int, port: int) -> None:
        self.context, self.backend_port, self.port = context, backend_port, port
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),),
                                       daemon=True)

    async def _main(self) -> None:
        self.stopping = asyncio.Event()
        server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self.context)
        self.started.set()
        async with server:
            await self.stopping.wait()
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
            headers = [line.split(":", 1) for line in lines]
            kept = [(name.strip(), value.strip()) for name, value in headers
                    if name.strip().lower() not in {"forwarded", "x-forwarded-proto",
                                                      "x-forwarded-host", "connection"}]
            xff = ", ".join([v for n, v in kept if n.lower() == "x-forwarded-for"] + [CLIENT])
            host = next(v for n, v in kept if n.lower() == "host")
            kept = [(n, v) for n, v in kept if n.lower() != "x-forwarded-for"]
            kept += [("X-Forwarded-For", xff), ("X-Forwarded-Proto", "https"),
                     ("X-Forwarded-Host", host), ("Connection", "close")]
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.backend_port
            )
            new_head = "\r\n".join([request_line, *(f"{n}: {v}" for n, v in kept), "", ""])
            upstream_writer.write(new_head.encode("latin-1"))
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, StopIteration):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with suppress(ConnectionError, ssl.SSLError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
            if sink.can_write_eof():
                sink.write_eof()

    def __enter__(self) -> TlsTerminatingProxy:
        self.thread.start()
        self.started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)
        self.loop.close()


@contextmanager
def behind_proxy(emulator: Emulator, tmp_path: Path) -> Iterator[tuple[str, ssl.SSLContext]]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    public_port = free_port()
    issuer = f"https://127.0.0.1:{public_port}"
    extra = {"IB_BRIDGE_ISSUER": issuer, "IB_BRIDGE_TRUSTED_PROXIES": "127.0.0.1"}
    with (
        deployed("serve", emulator, tmp_path, workers=1, env=extra) as bridge,
        TlsTerminatingProxy(server_context, int(bridge.url.rsplit(":", 1)[1]), public_port),
    ):
        yield issuer, client_context
        exchanged = bridge.audit_events("code.exchanged")
        assert [event["ip"] for event in exchanged] == [CLIENT], exchanged
        assert FORGED not in bridge.audit_path.read_text(encoding="utf-8")


def test_behind_a_tls_proxy_the_issuer_stays_and_the_forwarded_client_is_recorded(
    emulator: Emulator, tmp_path: Path
) -> None:
    with (
        behind_proxy(emulator, tmp_path) as (issuer, context),
        httpx.Client(verify=context, timeout=10) as browser,
    ):
        metadata = browser.get(f"{issuer}/.well-known/oauth-authorization-server",
                               headers={"X-Forwarded-Host": "evil.example",
                                        "Forwarded": "host=evil.example;proto=http"})
        assert metadata.status_code == 200, metadata.text
        assert metadata.json()["issuer"] == issuer
        assert metadata.json()["authorization_endpoint"] == f"{issuer}/authorize"
        assert "evil.example" not in metadata.text
        # A Host the proxy passes on, forwarded by a trusted proxy, must still be the issuer's.
        wrong_host = browser.get(f"{issuer}/.well-known/oauth-authorization-server",
                                 headers={"Host": "evil.example"})
        assert wrong_host.status_code == 400

        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(8)
        login_url, _ = start_login(browser, issuer, emulator.platform_url,
                                   challenge=challenge, state=state)
        sign_in_at_ib(login_url)
        redirect_to = wait_for_redirect(browser, issuer)
        query = {k: v[0] for k, v in parse_qs(urlsplit(redirect_to).query).items()}
        assert query["iss"] == issuer
        tokens = browser.post(
            f"{issuer}/token",
            data={"grant_type": "authorization_code", "code": query["code"],
                  "redirect_uri": redirect_to.split("?", 1)[0],
                  "client_id": "mcp-public-client", "code_verifier": verifier},
            headers={"X-Forwarded-For": FORGED, "Forwarded": f"for={FORGED}"},
        )
        assert tokens.status_code == 200, tokens.text
        access = tokens.json()["access_token"]
        challenge_header = browser.get(f"{issuer}/proxy/api/3.0.0/x/resource",
                                       headers={"Authorization": "Bearer nope"})
        assert challenge_header.status_code == 401
        assert f'{issuer}/.well-known/oauth-protected-resource' in (
            challenge_header.headers["www-authenticate"])
        assert access.count(".") == 2
