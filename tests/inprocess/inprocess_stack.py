"""The in-process stack: the bridge app driven through httpx's ASGI transport, IB as the
emulator's app in the same process, a real SQLite file, and time as a clock the test moves."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ib_oauth_bridge.app import create_app
from ib_oauth_bridge.bridge import Bridge
from ib_oauth_bridge.devib import EmulatorConfig
from ib_oauth_bridge.devib import create_app as create_emulator_app
from ib_oauth_bridge.oauth.keys import generate_signing_key
from ib_oauth_bridge.settings import Settings
from ib_oauth_bridge.store import SQLiteStore, Store, open_store

ISSUER = "http://127.0.0.1:8000"  # loopback: dev mode, and Authlib allows http there
HIGH_LIMITS: dict[str, Any] = {
    "authorize_rate_limit": "100000/minute",
    "login_rate_limit": "100000/minute",
    "login_poll_rate_limit": "100000/minute",
    "token_rate_limit": "100000/minute",
    "client_rate_limit": "100000/minute",
    "proxy_rate_limit": "100000/minute",
    "login_max_pending_per_address": 100000,
    "fraud_exchange_failures": 100000,  # the fraud rule's tests set their own threshold
}


class FakeClock:
    """`time.time` for the bridge, moved only by the test."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingTransport(httpx.ASGITransport):
    """The emulator in-process, remembering the path of every request the bridge sends it."""

    def __init__(self, app: Any) -> None:
        super().__init__(app=app)
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await super().handle_async_request(request)


@dataclass
class Stack:
    settings: Settings
    clock: FakeClock
    store: SQLiteStore  # or, opened with a `store_url`, the store it names
    bridge: Bridge  # the app's services, for assertions on what it stored
    http: httpx.AsyncClient  # an API client of the bridge (no cookies kept)
    ib: httpx.AsyncClient  # the user's browser at IB (the emulator)
    emulator: EmulatorConfig
    ib_calls: list[str]  # paths the bridge asked IB for, in order

    def count(self, table: str) -> int:
        """Rows in one of the store's tables, read straight from the file."""
        assert isinstance(self.store, SQLiteStore), "count() reads a SQLite store's file"
        with contextlib.closing(sqlite3.connect(self.store.path)) as db:
            count: int = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return count

    def browser(self) -> httpx.AsyncClient:
        """A new browser: its own cookie jar, talking to the bridge."""
        return httpx.AsyncClient(transport=self.http._transport, base_url=self.settings.issuer)


def make_settings(emulator: EmulatorConfig, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "dev_mode": True,
        "data_dir": data_dir,
        "dev_ib_urls": (emulator.platform_url, emulator.api_v3_url),
        "signing_key": json.dumps(generate_signing_key().as_dict(private=True)),
        "encryption_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "cookie_secret": secrets.token_urlsafe(32),
        "log_format": "text",
        "log_level": "WARNING",
        # Every test drives the bridge from one address: the abuse limits are set far out
        # of reach here, and tests of a limit set the one they test (test_abuse_limits.py).
        **HIGH_LIMITS,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def open_stack(
    tmp_path: Path,
    emulator: EmulatorConfig | None = None,
    *,
    login_in_process: bool = True,
    **settings_overrides: Any,
) -> AsyncIterator[Stack]:
    """`login_in_process=False`: the bridge reaches IB's browser-login API over the network,
    as in production, instead of the emulator in-process. With a `store_url` setting the bridge
    runs on the store it names (redis://...), else on a SQLite file in `tmp_path`."""
    clock = FakeClock(time.time())
    emulator_config = emulator or EmulatorConfig()
    ib_transport = RecordingTransport(create_emulator_app(emulator_config))
    settings = make_settings(emulator_config, tmp_path, **settings_overrides)
    store: Store = (
        open_store(settings.store_url, clock=clock)
        if settings.store_url
        else SQLiteStore(tmp_path / "bridge.db", clock=clock)
    )
    app = create_app(
        settings, store=store, clock=clock, ib_transport=ib_transport if login_in_process else None
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url=settings.issuer) as http,
            httpx.AsyncClient(transport=ib_transport) as ib,
        ):
            yield Stack(
                settings,
                clock,
                store,  # type: ignore[arg-type]
                app.state.bridge,
                http,
                ib,
                emulator_config,
                ib_transport.paths,
            )
    finally:
        await app.state.bridge.http.aclose()
        await app.state.bridge.upstream.aclose()
        await store.close()
