"""Configuration of the IB emulator: hosts, timings and the demo users it knows."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DemoUser:
    """A user who can sign in on the emulator's login page."""

    username: str
    password: str
    firstname: str
    lastname: str
    email: str
    useruuid: str
    # IB-API.md marks the e-mail key as unverified (`email` or `adminemail`); one demo user
    # uses each so that clients are exercised against both spellings.
    email_key: str = "email"


def default_users() -> list[DemoUser]:
    return [
        DemoUser("demo", "demo", "Ada", "Lovelace", "ada@example.com", "u-demo"),
        DemoUser(
            "grace",
            "grace",
            "Grace",
            "Hopper",
            "grace@example.com",
            "u-grace",
            email_key="adminemail",
        ),
    ]


@dataclass
class EmulatorConfig:
    """Everything that shapes the emulator; `/_emulator/config` changes the timing fields live."""

    platform_host: str = "127.0.0.1"
    api_host: str = "localhost"
    port: int = 8001
    scheme: str = "http"
    login_timeout_hours: int = 24
    login_token_ttl: float = 600.0
    latency_ms: float = 0
    # Stalls IB's login API (/v1/auth/app/...), to test a bridge whose IB does not answer.
    login_latency_ms: float = 0
    ib_client_id: str = "BnK4JV"
    client_name: str = "Demo Co"
    users: list[DemoUser] = field(default_factory=default_users)

    @property
    def platform_url(self) -> str:
        return f"{self.scheme}://{self.platform_host}:{self.port}"

    @property
    def api_v3_url(self) -> str:
        return f"{self.scheme}://{self.api_host}:{self.port}"

    def find_user(self, username: str) -> DemoUser | None:
        for user in self.users:
            if user.username == username:
                return user
        return None

    def public_view(self) -> dict[str, object]:
        """The config as the control endpoint shows it (no passwords)."""
        return {
            "platform_host": self.platform_host,
            "api_host": self.api_host,
            "port": self.port,
            "scheme": self.scheme,
            "platform_url": self.platform_url,
            "api_v3_url": self.api_v3_url,
            "login_timeout_hours": self.login_timeout_hours,
            "login_token_ttl": self.login_token_ttl,
            "latency_ms": self.latency_ms,
            "login_latency_ms": self.login_latency_ms,
            "ib_client_id": self.ib_client_id,
            "client_name": self.client_name,
            "users": [u.username for u in self.users],
        }
