"""Small loopback servers for the client-metadata-document tests: one that serves documents
(and misbehaves on request: redirects, huge or slow bodies), optionally over https, and a bare
TCP listener that only records who connected."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False  # Transfer-Encoding: chunked, no Content-Length
    seconds_per_byte: float = 0.0  # > 0: send the body one byte at a time, this slowly
    # response header -> request header whose value it repeats, prefixed (an upstream that
    # echoes what it was sent, such as a credential)
    echo: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path, Route(b"not found", 404))
        self.send_response(route.status)
        for name, value in route.headers.items():
            self.send_header(name, value)
        for name, source in route.echo.items():
            self.send_header(name, f"echo; {self.headers.get(source, '')}")
        if route.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        try:
            if route.chunked:
                for start in range(0, len(route.body), 1024):
                    chunk = route.body[start : start + 1024]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            elif route.seconds_per_byte:
                for byte in route.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(route.seconds_per_byte)
            else:
                self.wfile.write(route.body)
        except OSError:
            pass  # the bridge hung up: that is what some tests want

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]
    requests: list[str]


class DocumentServer:
    """An HTTP(S) server on 127.0.0.1 in a thread; `routes` maps a path to what it answers."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.routes = {}
        self._server.requests = []
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if ssl_context is not None else "http"
        self.host = host
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def routes(self) -> dict[str, Route]:
        return self._server.routes

    @property
    def requests(self) -> list[str]:
        return self._server.requests

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def serve_document(self, path: str, **fields: Any) -> str:
        """Serve a valid document at `path` whose client_id is its own URL; returns the URL."""
        url = self.url(path)
        document = {"client_id": url, **fields}
        self.routes[path] = Route(json.dumps(document).encode(), headers=_JSON)
        return url

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> DocumentServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_JSON = {"Content-Type": "application/json"}


class RecordingListener:
    """A TCP listener on 127.0.0.1 that records every connection it accepts, then drops it."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.1)
        self.accepted: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        port: int = self._socket.getsockname()[1]
        return port

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection, peer = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(peer)
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._socket.close()

    def __enter__(self) -> RecordingListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
