"""A deliberately minimal HTTP/1.1 client for the load generator. A full client (httpx) costs more
CPU per request than the IB emulator does to answer it, so on a small machine it would measure
itself, not the servers. Setup and sign-in use httpx; only the measured requests go through this.

- `Connection`: one keep-alive connection on asyncio, one pre-encoded GET sent again and again
  (`get`), or a form POST whose body changes per request (`post_form`, for /token).
- `download` and `upload`: one large transfer on a blocking socket, streamed through a fixed
  buffer and never held whole, for the streaming figures.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from typing import BinaryIO
from urllib.parse import urlencode, urlsplit

# Large transfers are read through a buffer of this size (and asyncio streams may hold this much).
STREAM_BUFFER = 1024 * 1024
# A stalled transfer fails after this long without a byte, instead of hanging the run.
SOCKET_TIMEOUT = 60.0


class WireError(RuntimeError):
    pass


def _parse_url(url: str) -> tuple[str, int, str, str]:
    """(host, port, request target, netloc) of a plain http URL."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise WireError(f"only plain http URLs are supported: {url}")
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, parts.port or 80, target, parts.netloc


def encode_request(
    method: str,
    target: str,
    netloc: str,
    headers: Mapping[str, str],
    body_length: int | None = None,
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body_length is not None:
        lines.append(f"Content-Length: {body_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _parse_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """(status, content length or None, chunked, connection close) of a response head."""
    status_line, *header_lines = head.rstrip(b"\r\n").split(b"\r\n")
    try:
        status = int(status_line.split(b" ", 2)[1])
    except (IndexError, ValueError):
        raise WireError(f"not an HTTP response: {status_line[:80]!r}") from None
    length: int | None = None
    chunked = close = False
    for line in header_lines:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            close = b"close" in value
    return status, length, chunked, close


class Connection:
    def __init__(self, url: str, headers: Mapping[str, str]) -> None:
        self.host, self.port, self.target, self.netloc = _parse_url(url)
        self.headers = {"Accept": "application/json", **headers}
        self.request = encode_request("GET", self.target, self.netloc, self.headers)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Connection:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with suppress(OSError):
                await self._writer.wait_closed()
            self._writer = self._reader = None

    async def get(self) -> tuple[int, bytes]:
        """Send the GET, read the whole answer; (status, body)."""
        return await self._round_trip(self.request)

    async def post_form(self, fields: Mapping[str, str]) -> tuple[int, bytes]:
        """POST `fields` form-encoded to this connection's URL; (status, body)."""
        body = urlencode(fields).encode("ascii")
        headers = {**self.headers, "Content-Type": "application/x-www-form-urlencoded"}
        head = encode_request("POST", self.target, self.netloc, headers, len(body))
        return await self._round_trip(head + body)

    async def _round_trip(self, request: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            await self.open()
        assert self._reader is not None
        assert self._writer is not None
        self._writer.write(request)
        try:
            head = await self._reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise WireError("the server closed the connection") from exc
        status, length, chunked, close = _parse_head(head)
        if chunked:
            body = await self._read_chunked()
        elif length is not None:
            body = await self._reader.readexactly(length)
        else:
            body, close = await self._reader.read(), True
        if close:
            await self.close()
        return status, body

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        parts = []
        while True:
            size_line = await self._reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                # Trailers, if any, end with an empty line.
                while await self._reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)


# Large transfers on a blocking socket --------------------------------------------------------


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=SOCKET_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_response_head(stream: BinaryIO) -> bytes:
    lines = []
    while True:
        line = stream.readline(65536)
        if not line:
            raise WireError("the server closed the connection before answering")
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            return b"".join(lines)


def _read_exactly_into(stream: BinaryIO, view: memoryview, count: int, sink: Callable) -> None:
    """Read `count` bytes through `view` (reused), handing each filled part to `sink`."""
    while count:
        part = view[: min(count, len(view))]
        got = stream.readinto(part)
        if not got:
            raise WireError(f"the answer broke off with {count} bytes still to come")
        sink(part[:got])
        count -= got


def _read_body(
    stream: BinaryIO,
    length: int | None,
    chunked: bool,
    sink: Callable[[memoryview], object],
) -> None:
    view = memoryview(bytearray(STREAM_BUFFER))
    if chunked:
        while True:
            size = int(stream.readline(1024).split(b";", 1)[0], 16)
            if size == 0:
                while stream.readline(65536) not in (b"\r\n", b"\n", b""):
                    pass
                return
            _read_exactly_into(stream, view, size, sink)
            stream.readline(16)
    elif length is not None:
        _read_exactly_into(stream, view, length, sink)
    else:
        while got := stream.readinto(view):
            sink(view[:got])


def download(
    url: str, headers: Mapping[str, str], sink: Callable[[memoryview], object]
) -> tuple[int, bytes]:
    """GET `url` on a fresh connection and hand the body to `sink` piece by piece (each piece a
    view into one reused buffer). Returns (status, the body if the status is not 200)."""
    host, port, target, netloc = _parse_url(url)
    request = encode_request("GET", target, netloc, {"Accept": "*/*", **headers})
    with _connect(host, port) as sock, sock.makefile("rb", buffering=STREAM_BUFFER) as stream:
        sock.sendall(request)
        status, length, chunked, _ = _parse_head(_read_response_head(stream))
        if status != 200:
            error = bytearray()
            _read_body(stream, length, chunked, error.extend)
            return status, bytes(error)
        _read_body(stream, length, chunked, sink)
    return status, b""


def upload(
    url: str,
    headers: Mapping[str, str],
    chunks: Iterable[bytes],
    length: int,
    content_type: str = "application/octet-stream",
) -> tuple[int, bytes]:
    """POST `length` bytes from `chunks` (with a Content-Length, sent as they come) on a fresh
    connection; (status, the answer's body)."""
    host, port, target, netloc = _parse_url(url)
    all_headers = {"Accept": "application/json", "Content-Type": content_type, **headers}
    request = encode_request("POST", target, netloc, all_headers, length)
    sent = 0
    with _connect(host, port) as sock, sock.makefile("rb", buffering=STREAM_BUFFER) as stream:
        sock.sendall(request)
        for chunk in chunks:
            sock.sendall(chunk)
            sent += len(chunk)
        if sent != length:
            raise WireError(f"sent {sent} bytes of the {length} announced")
        status, answer_length, chunked, _ = _parse_head(_read_response_head(stream))
        body = bytearray()
        _read_body(stream, answer_length, chunked, body.extend)
    return status, bytes(body)
