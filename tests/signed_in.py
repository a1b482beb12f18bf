"""A signed-in user for integration tests: the whole flow over real sockets, then tokens.

A module of its own (not a conftest): test modules import it by name, and pytest loads every
folder's conftest under the one name `conftest`, so an import from there finds whichever loaded
last."""

from __future__ import annotations

from dataclasses import dataclass

from flow import authorize, exchange
from servers import Bridge, Emulator


@dataclass
class SignedIn:
    access_token: str
    refresh_token: str
    ib_client_id: str
    ib_api_host: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def api(self, rest: str) -> str:
        return f"api/3.0.0/{self.ib_client_id}/{rest}"


def sign_in(bridge: Bridge, emulator: Emulator, username: str = "demo") -> SignedIn:
    import httpx

    tokens = exchange(bridge.url, authorize(bridge.url, emulator.platform_url,
                                            username=username, password=username)).json()
    info = httpx.get(f"{bridge.url}/userinfo",
                     headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    return SignedIn(tokens["access_token"], tokens["refresh_token"], info["ib_client_id"],
                    info["ib_api_url"].split("://", 1)[1])
