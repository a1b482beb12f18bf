"""`open_store(url)` and the setting it reads (IB_BRIDGE_STORE_URL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_support import FakeClock, key, make_transaction

from ib_oauth_bridge.settings import Settings
from ib_oauth_bridge.store import SQLiteStore, StoreURLError, open_store
from ib_oauth_bridge.store.redis import RedisStore, StoreUnavailableError
from ib_oauth_bridge.store.url import sqlite_path
from redis_server import RedisServer
from servers import free_port

pytestmark = pytest.mark.anyio


async def opened_path(url: str) -> Path:
    """Open the URL for real, check it made a working SQLite store, return its file."""
    store = open_store(url)
    try:
        assert isinstance(store, SQLiteStore)
        assert await store.ping() is True
        assert store.path.is_file()
        return store.path
    finally:
        await store.close()


async def test_sqlite_absolute_url(tmp_path: Path) -> None:
    target = tmp_path / "a" / "bridge.db"
    assert await opened_path(f"sqlite://{target}") == target
    assert str(target).startswith("/")  # so the URL above was sqlite:///...


async def test_sqlite_four_slashes_is_the_same_absolute_path(tmp_path: Path) -> None:
    target = tmp_path / "bridge.db"
    assert await opened_path(f"sqlite:///{target}") == target  # SQLAlchemy's spelling


async def test_sqlite_relative_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert await opened_path("sqlite:rel/dir/bridge.db") == Path("rel/dir/bridge.db")
    assert (tmp_path / "rel" / "dir" / "bridge.db").is_file()


async def test_bare_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert await opened_path(str(tmp_path / "abs.db")) == tmp_path / "abs.db"
    assert await opened_path("data/bridge.db") == Path("data/bridge.db")
    assert await opened_path("./odd:name.db") == Path("odd:name.db")


async def test_open_store_uses_the_given_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    store = open_store(f"sqlite://{tmp_path}/c.db", clock=clock)
    try:
        k = key()
        await store.put_transaction(k, make_transaction(expires_in=10))
        assert await store.get_transaction(k) is not None
        clock.advance(10)
        assert await store.get_transaction(k) is None
    finally:
        await store.close()


async def test_redis_url_opens_a_redis_store(redis_server: RedisServer) -> None:
    store = open_store(redis_server.url_for_test())
    try:
        assert isinstance(store, RedisStore)
        assert await store.ping() is True
    finally:
        await store.close()


def test_unreachable_redis_fails_at_open_naming_the_server_not_the_password() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(StoreUnavailableError) as raised:
        open_store(f"redis://:hunter2-secret@127.0.0.1:{port}/3")
    message = str(raised.value)
    assert f"redis://127.0.0.1:{port}/3" in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("redis://localhost/cache", "database number"),
        ("redis://localhost:6379/0?prefix=a:b", "prefix"),
        ("redis://localhost:6379/0?prefix=", "prefix"),
        ("redis://localhost:6379/0?decode_responses=no", "unknown Redis URL parameter"),
        ("redis://localhost:6379/0#frag", "fragment"),
        ("redis://localhost:99999/0", "port"),
    ],
)
def test_bad_redis_urls_are_refused_before_connecting(url: str, complaint: str) -> None:
    with pytest.raises(StoreURLError, match=complaint):
        open_store(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "postgresql://db/bridge",
        "file:///tmp/bridge.db",
        "sqlite://host/bridge.db",
        "sqlite:",
        "sqlite://",
        "sqlite:///",
        "sqlite:///tmp/bridge.db?mode=ro",
        "sqlite:bridge.db#frag",
    ],
)
def test_other_urls_are_refused_naming_the_accepted_forms(url: str, tmp_path: Path) -> None:
    with pytest.raises(StoreURLError) as raised:
        open_store(url)
    assert isinstance(raised.value, ValueError)
    if "?" not in url and "#" not in url:
        assert "sqlite:///absolute/path.db" in str(raised.value)
        assert "bare filesystem path" in str(raised.value)


def test_store_url_setting_is_read_from_the_environment() -> None:
    settings = Settings.from_env({"IB_BRIDGE_STORE_URL": "sqlite:///srv/bridge/store.db"})
    assert settings.store_url == "sqlite:///srv/bridge/store.db"
    assert settings.effective_store_url == "sqlite:///srv/bridge/store.db"
    assert Settings.from_env({}).store_url is None


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, Path(".bridge-data/bridge.db")),  # the default stays relative to the cwd
        ({"IB_BRIDGE_DATA_DIR": "/var/lib/bridge"}, Path("/var/lib/bridge/bridge.db")),
        ({"IB_BRIDGE_DATABASE": "/srv/x.db"}, Path("/srv/x.db")),
        ({"IB_BRIDGE_DATABASE": "rel/x.db"}, Path("rel/x.db")),
    ],
)
def test_store_url_defaults_to_the_database_path(env: dict[str, str], expected: Path) -> None:
    settings = Settings.from_env(env)
    assert settings.database_path == expected
    assert sqlite_path(settings.effective_store_url) == expected
