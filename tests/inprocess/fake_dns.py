"""A name server for in-process tests: `socket.getaddrinfo` answering for a few names, the one
every resolver in the bridge ends up calling (asyncio's, anyio's, aiohttp's threaded one), so a
client that looked a name up on its own would be seen here; and the emulator dressed as real
IB (https names under intelligencebank.com) to go with it."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from ib_oauth_bridge.devib import EmulatorConfig

PUBLIC = "93.184.215.14"
PLATFORM = "acme.intelligencebank.com"
API = "api-rebind.intelligencebank.com"


class FakeDNS:
    """`socket.getaddrinfo` for some names: each lookup takes the next answer of the name's
    list, the last one repeating; every other name resolves as it always does."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        answers = self.answers.get(name.lower().rstrip("."))
        if answers is None:
            return self._real(host, port, *args, **kwargs)
        self.lookups.append(name)
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr: tuple[Any, ...] = (address, int(port or 0))
        if family == socket.AF_INET6:
            sockaddr += (0, 0)
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]



def emulator_at(port: int = 443) -> EmulatorConfig:
    """The emulator as IB would be: https names under intelligencebank.com, on `port` (a
    listener's, so that any connection to loopback would land there)."""
    return EmulatorConfig(platform_host=PLATFORM, api_host=API, port=port, scheme="https")
