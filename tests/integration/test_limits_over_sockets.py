"""Refusing well under attack, over real sockets: expired login transactions purged while the
bridge runs (no restart), and the proxy's per-grant limit stopping calls before IB sees them.
The in-process tests (tests/inprocess/test_abuse_limits.py) cover every limit in detail."""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flow import authorize_url, pkce_pair
from servers import Bridge, Emulator, bridge_env, free_port
from signed_in import sign_in


@contextlib.contextmanager
def running(emulator: Emulator, data_dir: Path, **env: str) -> Iterator[Bridge]:
    port = free_port()
    server = Bridge(port, data_dir, bridge_env(port, emulator, data_dir, **env))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def transactions(bridge: Bridge) -> int:
    database = bridge.data_dir / "bridge.db"
    with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
        count: int = db.execute("SELECT count(*) FROM transactions").fetchone()[0]
    return count


def test_expired_transactions_disappear_while_the_bridge_runs(
    emulator: Emulator, tmp_path: Path
) -> None:
    with running(
        emulator, tmp_path, IB_BRIDGE_LOGIN_TTL="1", IB_BRIDGE_PURGE_INTERVAL="0.2"
    ) as bridge:
        pid = bridge.process.pid if bridge.process else None
        _, challenge = pkce_pair()
        for state in ("a", "b", "c"):
            page = httpx.get(authorize_url(bridge.url, challenge=challenge, state=state))
            assert page.status_code == 200
        assert transactions(bridge) == 3
        # Waiting for a real process's clock: a deadline, not a fixed sleep.
        deadline = time.monotonic() + 10
        while transactions(bridge) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert transactions(bridge) == 0
        assert bridge.process is not None
        assert bridge.process.poll() is None  # the same process, never restarted
        assert bridge.process.pid == pid
        purged = [r for r in bridge.log_records() if r.get("message") == "expired records purged"]
        assert sum(int(str(r["purged"])) for r in purged) >= 3


@pytest.fixture
def limited_bridge(emulator: Emulator, tmp_path: Path) -> Iterator[Bridge]:
    with running(emulator, tmp_path, IB_BRIDGE_PROXY_RATE_LIMIT="2/minute") as bridge:
        yield bridge


def test_the_proxy_refuses_a_grant_beyond_its_rate_before_ib_sees_it(
    limited_bridge: Bridge, emulator: Emulator
) -> None:
    user, other = sign_in(limited_bridge, emulator), sign_in(limited_bridge, emulator)
    url = f"{limited_bridge.url}/proxy/{user.api('resource.limit(0,1)')}"
    for _ in range(2):
        assert httpx.get(url, headers=user.auth, timeout=10).status_code == 200
    marker = f"refused={secrets.token_hex(8)}"
    refused = httpx.get(f"{url}?{marker}", headers=user.auth, timeout=10)
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    seen = [r["query_string"] for r in emulator.control("requests").json()["requests"]]
    assert marker not in seen  # IB never asked
    # Another sign-in has its own allowance.
    other_url = f"{limited_bridge.url}/proxy/{other.api('resource.limit(0,1)')}"
    assert httpx.get(other_url, headers=other.auth, timeout=10).status_code == 200
