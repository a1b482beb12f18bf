"""The admin CLI against running bridges, as an operator runs it (the console script, the
bridge's own IB_BRIDGE_* environment): grants, registered clients, purge, and a backup taken
under proxy and refresh load that a new bridge on a fresh data dir serves every grant from."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flow import authorize, exchange, refresh
from ib_oauth_bridge.store import Grant, RegisteredClient, open_store
from redis_server import RedisServer
from servers import CLI, Bridge, Emulator, bridge_env, free_port
from signed_in import SignedIn, sign_in


def admin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def grant_id_of(user: SignedIn) -> str:
    payload = user.access_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["grant_id"])


def listed(env: dict[str, str], *filters: str) -> dict[str, dict[str, object]]:
    done = admin(env, "grants", "list", "--json", *filters)
    assert done.returncode == 0, done.stderr
    return {entry["grant_id"]: entry for entry in map(json.loads, done.stdout.splitlines())}


def audit_lines(stderr: str) -> list[dict[str, object]]:
    lines = []
    for line in stderr.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def proxy_status(bridge: Bridge, user: SignedIn) -> int:
    url = f"{bridge.url}/proxy/{user.api('resource.limit(0,1)')}"
    return httpx.get(url, headers=user.auth, timeout=10).status_code


# -- grants ----------------------------------------------------------------------------------


def test_grants_list_shows_a_signed_in_user_and_never_a_secret(
    bridge: Bridge, emulator: Emulator
) -> None:
    user = sign_in(bridge, emulator)
    grant_id = grant_id_of(user)

    grants = listed(bridge.env, "--user", "ADA@example.com", "--client", "mcp-public-client")

    entry = grants[grant_id]
    assert entry["client_id"] == "mcp-public-client"
    assert entry["user_id"] == "u-demo"
    assert entry["user_name"] == "Ada Lovelace"
    assert entry["refresh_count"] == 0
    assert str(entry["session_expires_at"]).endswith("Z")
    assert grant_id not in listed(bridge.env, "--client", "web-app")
    table = admin(bridge.env, "grants", "list", "--user", "u-demo")
    assert table.returncode == 0
    assert grant_id in table.stdout
    assert "SESSION ENDS" in table.stdout
    for output in (json.dumps(grants), table.stdout, table.stderr):
        assert user.access_token not in output
        assert user.refresh_token not in output


def test_grants_revoke_ends_the_grant_at_the_running_bridge_within_a_second(
    bridge: Bridge, emulator: Emulator
) -> None:
    user = sign_in(bridge, emulator)
    grant_id = grant_id_of(user)
    assert proxy_status(bridge, user) == 200  # the bridge has its session cached now

    done = admin(bridge.env, "grants", "revoke", grant_id)

    assert done.returncode == 0, done.stderr
    revoked_at = time.monotonic()
    while proxy_status(bridge, user) != 401:
        assert time.monotonic() - revoked_at < 1.0, "the bridge still serves a revoked grant"
    assert refresh(bridge.url, user.refresh_token).json()["error"] == "invalid_grant"
    assert grant_id not in listed(bridge.env)
    (event,) = [e for e in audit_lines(done.stderr) if e.get("event") == "grant.ended"]
    assert event["grant_id"] == grant_id
    assert event["reason"] == "admin"
    assert event["outcome"] == "revoked"
    assert event["ib_user_id"] == "u-demo"
    again = admin(bridge.env, "grants", "revoke", grant_id)
    assert again.returncode == 1
    assert "no live grant" in again.stderr


# -- clients ---------------------------------------------------------------------------------


def register(bridge: Bridge, name: str) -> str:
    answer = httpx.post(f"{bridge.url}/register", timeout=10, json={
        "client_name": name,
        "redirect_uris": ["http://127.0.0.1:33418/callback"],
        "token_endpoint_auth_method": "none",
    })
    assert answer.status_code == 201, answer.text
    return str(answer.json()["client_id"])


def test_clients_list_and_delete_a_registered_client_with_its_grants(
    bridge: Bridge, emulator: Emulator
) -> None:
    client_id = register(bridge, "Admin test host")

    tokens = exchange(bridge.url, authorize(bridge.url, emulator.platform_url,
                                            client_id=client_id,
                                            redirect_uri="http://127.0.0.1:40123/callback"))
    assert tokens.status_code == 200, tokens.text
    auth = {"Authorization": f"Bearer {tokens.json()['access_token']}"}

    done = admin(bridge.env, "clients", "list", "--json")
    assert done.returncode == 0, done.stderr
    (entry,) = [e for e in map(json.loads, done.stdout.splitlines()) if e["client_id"] == client_id]
    assert entry["client_name"] == "Admin test host"
    assert entry["redirect_uris"] == ["http://127.0.0.1:33418/callback"]
    assert entry["used"] is True
    table = admin(bridge.env, "clients", "list")
    assert client_id in table.stdout
    assert "Admin test host" in table.stdout

    deleted = admin(bridge.env, "clients", "delete", client_id)

    assert deleted.returncode == 0, deleted.stderr
    assert "revoked 1 of its grants" in deleted.stdout
    revoked_at = time.monotonic()
    while httpx.get(f"{bridge.url}/userinfo", headers=auth, timeout=10).status_code != 401:
        assert time.monotonic() - revoked_at < 1.0
    assert client_id not in admin(bridge.env, "clients", "list", "--json").stdout
    events = {e.get("event") for e in audit_lines(deleted.stderr)}
    assert events == {"client.deleted", "grant.ended"}
    again = admin(bridge.env, "clients", "delete", client_id)
    assert again.returncode == 1
    assert "no registered client" in again.stderr


@pytest.mark.parametrize(
    ("client_id", "why"),
    [
        ("mcp-public-client", "well-known"),
        ("web-app", "IB_BRIDGE_CLIENTS"),
        ("https://app.example/client.json", "metadata document"),
    ],
)
def test_clients_delete_refuses_clients_that_are_not_registrations(
    bridge: Bridge, client_id: str, why: str
) -> None:
    done = admin(bridge.env, "clients", "delete", client_id)
    assert done.returncode == 1
    assert why in done.stderr


def test_store_purge_prints_how_many_records_went(bridge: Bridge) -> None:
    done = admin(bridge.env, "store", "purge")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("expired records removed")


# -- backup under load -----------------------------------------------------------------------


@pytest.fixture
def loaded_bridge(emulator: Emulator, tmp_path: Path) -> Iterator[Bridge]:
    port = free_port()
    data_dir = tmp_path / "live"
    server = Bridge(port, data_dir, bridge_env(port, emulator, data_dir))
    server.start()
    yield server
    server.stop()


class Load:
    """Proxy calls with some grants' access tokens, and refreshes of others (each keeping the
    newest pair it got), from threads of their own until stopped."""

    def __init__(self, bridge: Bridge, proxied: list[SignedIn], refreshed: list[SignedIn]):
        self.bridge, self.stop = bridge, threading.Event()
        self.latest = {grant_id_of(u): u for u in refreshed}
        self.calls = self.refreshes = 0
        self.failures: list[str] = []
        self.progress = threading.Condition()
        self.threads = [
            threading.Thread(target=self._proxy, args=(proxied,)),
            *(threading.Thread(target=self._refresh, args=(grant_id_of(u),)) for u in refreshed),
        ]

    def _proxy(self, users: list[SignedIn]) -> None:
        while not self.stop.is_set():
            for user in users:
                status = proxy_status(self.bridge, user)
                with self.progress:
                    self.calls += 1
                    if status != 200:
                        self.failures.append(f"proxy {status}")
                    self.progress.notify_all()

    def _refresh(self, grant_id: str) -> None:
        while not self.stop.is_set():
            user = self.latest[grant_id]
            answer = refresh(self.bridge.url, user.refresh_token)
            with self.progress:
                if answer.status_code != 200:
                    self.failures.append(f"refresh {answer.status_code} {answer.text}")
                    self.progress.notify_all()
                    return
                body = answer.json()
                self.latest[grant_id] = SignedIn(body["access_token"], body["refresh_token"],
                                                 user.ib_client_id, user.ib_api_host)
                self.refreshes += 1
                self.progress.notify_all()

    def wait_for(self, refreshes: int, calls: int) -> None:
        """Until at least this many refreshes and proxy calls are done (or one failed)."""
        with self.progress:
            reached = self.progress.wait_for(
                lambda: self.failures or (self.refreshes >= refreshes and self.calls >= calls),
                timeout=60,
            )
        assert reached, "no progress within a minute"
        assert not self.failures, self.failures

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def test_a_backup_under_load_restores_into_a_fresh_data_dir_where_every_grant_works(
    loaded_bridge: Bridge, emulator: Emulator, tmp_path: Path
) -> None:
    bridge = loaded_bridge
    quiet = [sign_in(bridge, emulator), sign_in(bridge, emulator, "grace")]
    busy = [sign_in(bridge, emulator), sign_in(bridge, emulator)]
    client_id = register(bridge, "Backed-up host")
    backup = tmp_path / "bridge-backup.db"

    with Load(bridge, quiet, busy) as load:
        # The backup starts once load is flowing, and load goes on until after it is done.
        load.wait_for(refreshes=4, calls=4)
        before_backup = (load.refreshes, load.calls)
        done = admin(bridge.env, "store", "backup", str(backup))
        # It ran under load: refreshes and calls went on while it ran, and after.
        load.wait_for(refreshes=before_backup[0] + 2, calls=before_backup[1] + 2)
    assert done.returncode == 0, done.stderr
    assert not load.failures, load.failures
    assert backup.stat().st_mode & 0o077 == 0
    with sqlite3.connect(backup) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw = backup.read_bytes()
    for user in [*quiet, *busy, *load.latest.values()]:
        assert user.access_token.encode() not in raw
        assert user.refresh_token.encode() not in raw
    before = listed(bridge.env)
    bridge.stop()

    # A fresh data dir, the same keys and issuer (the same port): the operator's restore.
    fresh_dir = tmp_path / "fresh"
    env = {**bridge.env, "IB_BRIDGE_DATA_DIR": str(fresh_dir)}
    restored = admin(env, "store", "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    again = admin(env, "store", "restore", str(backup))
    assert again.returncode == 1
    assert "not empty" in again.stderr
    new = Bridge(bridge.port, fresh_dir, env)
    new.start()
    try:
        assert set(listed(env)) == set(before)
        for user in quiet:  # not refreshed during the load: their pair is the backup's
            assert proxy_status(new, user) == 200
            rotated = refresh(new.url, user.refresh_token)
            assert rotated.status_code == 200, rotated.text
            again_user = SignedIn(rotated.json()["access_token"], "", user.ib_client_id,
                                  user.ib_api_host)
            assert proxy_status(new, again_user) == 200
        for user in load.latest.values():  # refreshed throughout: their newest access token
            assert proxy_status(new, user) == 200
        assert client_id in admin(env, "clients", "list", "--json").stdout
    finally:
        new.stop()


# -- the same commands on a Redis store ------------------------------------------------------


def redis_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IB_BRIDGE_")}
    return {**env, "IB_BRIDGE_STORE_URL": url, "IB_BRIDGE_AUDIT_LOG": "stderr"}


def put_grants(url: str, *grants: Grant) -> None:
    async def put() -> None:
        store = open_store(url)
        try:
            for grant in grants:
                await store.put_grant(grant)
            await store.put_client(RegisteredClient(
                client_id="dyn-redis", client_secret_hash=None, token_endpoint_auth_method="none",
                redirect_uris=("http://127.0.0.1/cb",), grant_types=("authorization_code",),
                response_types=("code",), scope="ib.read", client_name="Redis host",
                client_uri=None, logo_uri=None, client_id_issued_at=int(time.time()),
                expires_at=None,
            ))
        finally:
            await store.close()

    asyncio.run(put())


def a_grant(grant_id: str, client_id: str = "dyn-redis") -> Grant:
    now = time.time()
    return Grant(
        grant_id=grant_id, client_id=client_id, scope="ib.read", resource=None,
        sid_ciphertext=b"\x01sealed", platform_url="https://acme.intelligencebank.com",
        api_v3_url="https://apius.intelligencebank.com", ib_client_id="abc",
        user={"sub": "u-9", "email": "ops@example.com", "name": "Op"},
        session_expires_at=now + 3600, created_at=now, last_used_at=now,
    )


def test_the_commands_on_a_redis_store(redis_server: RedisServer, tmp_path: Path) -> None:
    url = redis_server.url_for_test()
    env = redis_env(url)
    put_grants(url, a_grant("g-r1"), a_grant("g-r2"), a_grant("g-other", "web-app"))

    assert set(listed(env)) == {"g-r1", "g-r2", "g-other"}
    assert set(listed(env, "--client", "dyn-redis", "--user", "OPS@example.com")) == {
        "g-r1", "g-r2"}
    assert admin(env, "grants", "revoke", "g-r1").returncode == 0
    assert set(listed(env)) == {"g-r2", "g-other"}
    assert "Redis host" in admin(env, "clients", "list").stdout
    purged = admin(env, "store", "purge")
    assert purged.returncode == 0
    assert purged.stdout.startswith("0 expired")

    backup = tmp_path / "redis-backup.jsonl"
    done = admin(env, "store", "backup", str(backup))
    assert done.returncode == 0, done.stderr
    assert backup.stat().st_mode & 0o077 == 0
    target = redis_env(redis_server.url_for_test())
    restored = admin(target, "store", "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert set(listed(target)) == {"g-r2", "g-other"}
    assert admin(target, "store", "restore", str(backup)).returncode == 1
    assert admin(target, "store", "restore", "--force", str(backup)).returncode == 0

    deleted = admin(target, "clients", "delete", "dyn-redis")
    assert deleted.returncode == 0, deleted.stderr
    assert set(listed(target)) == {"g-other"}
    assert set(listed(env)) == {"g-r2", "g-other"}  # the source is untouched
