"""What only the Redis backend promises: TTLs instead of purging, its key namespace, secrets only
as hashes and sealed blobs, authentication and TLS from the URL, no re-sent commands, and close.

The contract itself (the same semantics as SQLite) is test_contract*.py, run on both backends.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import trustme
from store_support import (
    FUTURE,
    FakeClock,
    at,
    key,
    make_client,
    make_code,
    make_grant,
    make_pending,
    make_token,
)

from ib_oauth_bridge.store import SidCipher, StoreClosedError, open_store, secret_hash
from ib_oauth_bridge.store.redis import FORMAT, RedisStore, StoreUnavailableError, redis_target
from redis_server import RedisServer, redis_server_executable, wait_for_port
from servers import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def url(redis_server: RedisServer) -> str:
    return redis_server.url_for_test()


@pytest.fixture
async def store(url: str, clock: FakeClock) -> AsyncIterator[RedisStore]:
    s = RedisStore(redis_target(url), clock=clock)
    yield s
    await s.close()


def keys_of(server: RedisServer, store: RedisStore) -> dict[str, int]:
    """Every key under the store's namespace, with its PTTL in ms (-1: none)."""
    client = server.client()
    try:
        return {k: int(client.pttl(k)) for k in client.scan_iter(f"{store.target.namespace}*")}
    finally:
        client.close()


async def fill(store: RedisStore, clock: FakeClock) -> None:
    """One live record of every kind, each expiring FUTURE seconds from now."""
    grant = make_grant()
    await store.put_grant(grant)
    await store.put_transaction(key(), make_pending(address_hash="addr-a"))
    await store.put_code(key(), make_code(grant.grant_id))
    token = key()
    await store.put_refresh_token(token, make_token(grant.grant_id))
    await store.consume_refresh_token(token)
    assert await store.keep_successor(token, "sealed", clock() + 30)
    await store.put_client(make_client())
    assert await store.remember(key(), at(FUTURE))


async def test_every_expiring_record_carries_its_ttl(
    store: RedisStore, redis_server: RedisServer, clock: FakeClock
) -> None:
    """Nothing needs purging: each record goes when it expires (purge_expired is a no-op)."""
    await fill(store, clock)
    kept = make_client(expires_in=None)  # a registration without expiry is kept, like SQLite's
    await store.put_client(kept)
    await store.revoke_grant("some-grant")  # the revocation counter

    ttls = keys_of(redis_server, store)
    ns = store.target.namespace
    no_ttl = {k for k, ttl in ttls.items() if ttl < 0}
    assert no_ttl == {f"{ns}ks", f"{ns}n:rev", f"{ns}k:{kept.client_id}"}
    kinds = {k[len(ns) :].split(":")[0] for k in ttls}
    assert kinds == {"t", "ta", "g", "gk", "c", "r", "rs", "k", "ks", "p", "n"}
    for k, ttl in ttls.items():
        if k in no_ttl:
            continue
        window = 30 if k.startswith(f"{ns}rs:") else FUTURE  # the successor: its grace window
        assert window * 1000 - 5000 < ttl <= window * 1000, k
    assert await store.purge_expired() == 0


async def test_a_record_put_already_expired_is_not_written(
    store: RedisStore, redis_server: RedisServer
) -> None:
    k = key()
    await store.put_code(k, make_code())
    await store.put_code(k, make_code(expires_in=-1))  # replaces the live one: gone
    assert (await store.consume_code(k)).record is None
    codes = f"{store.target.namespace}c:"
    assert not [name for name in keys_of(redis_server, store) if name.startswith(codes)]


async def test_keys_are_namespaced_by_prefix_and_format(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    a = RedisStore(redis_target(redis_server.url_for_test()), clock=clock)
    b = RedisStore(redis_target(redis_server.url_for_test()), clock=clock)
    try:
        await fill(a, clock)
        grant = make_grant()
        await a.put_grant(grant)
        assert a.target.namespace == f"{a.target.prefix}:{FORMAT}:"
        client = redis_server.client()
        try:
            everything = set(client.scan_iter("*"))
        finally:
            client.close()
        mine = {k for k in everything if k.startswith(a.target.namespace)}
        assert len(mine) >= 10
        assert await b.get_grant(grant.grant_id) is None  # another prefix, another store
        assert await b.list_clients() == []
    finally:
        await a.close()
        await b.close()


async def test_default_prefix_is_ibb() -> None:
    assert redis_target("redis://localhost/2").namespace == f"ibb:{FORMAT}:"
    assert redis_target("redis://localhost/2?prefix=eu-1").namespace == f"eu-1:{FORMAT}:"


async def test_nothing_secret_in_clear(
    store: RedisStore, redis_server: RedisServer, clock: FakeClock
) -> None:
    """Redis holds what SQLite holds: hashes of the secrets and the AEAD-sealed sid."""
    sid, code, refresh = "sid-0123456789abcdef", "code-secret-xyz", "refresh-secret-xyz"
    cipher = SidCipher(SidCipher.generate_key())
    grant = make_grant()
    grant.sid_ciphertext = cipher.encrypt(sid, grant_id=grant.grant_id)
    await store.put_grant(grant)
    await store.put_code(secret_hash(code), make_code(grant.grant_id))
    await store.put_refresh_token(secret_hash(refresh), make_token(grant.grant_id))

    client = redis_server.client()
    raw = redis.Redis(host=redis_server.host, port=redis_server.port)  # bytes, as stored
    try:
        dump = b""
        for name in client.scan_iter(f"{store.target.namespace}*"):
            dump += name.encode() + (raw.dump(name) or b"")  # the value as Redis serialises it
    finally:
        client.close()
        raw.close()
    for secret in (sid, code, refresh):
        assert secret.encode() not in dump
    got = await store.get_grant(grant.grant_id)
    assert got is not None
    assert cipher.decrypt(got.sid_ciphertext, grant_id=grant.grant_id) == sid


@pytest.fixture
def acl_user(redis_server: RedisServer) -> Iterator[tuple[str, str]]:
    client = redis_server.client()
    name, password = f"bridge-{free_port()}", "p@ss/w:rd%"
    client.acl_setuser(
        name, enabled=True, passwords=[f"+{password}"], keys=["*"], commands=["+@all"]
    )
    try:
        yield name, password
    finally:
        client.acl_deluser(name)
        client.close()


async def test_a_password_in_the_url_authenticates(
    redis_server: RedisServer, acl_user: tuple[str, str]
) -> None:
    from urllib.parse import quote

    name, password = acl_user
    base = f"redis://{name}:{quote(password, safe='')}@127.0.0.1:{redis_server.port}/0"
    store = open_store(f"{base}?prefix=acl")
    try:
        assert await store.ping() is True
        assert await store.remember(key(), 4e9) is True
    finally:
        await store.close()

    wrong = f"redis://{name}:wrong-{quote(password, safe='')}@127.0.0.1:{redis_server.port}/0"
    with pytest.raises(StoreUnavailableError) as raised:
        open_store(wrong)
    assert "wrong-" not in str(raised.value)
    assert "p@ss" not in str(raised.value)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A redis-server speaking only TLS, with a certificate from a test CA; (port, CA file)."""
    exe = redis_server_executable()
    workdir = tmp_path_factory.mktemp("redis-tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(workdir / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(workdir / "cert.pem"))
    ca.cert_pem.write_to_path(str(workdir / "ca.pem"))
    port = free_port()
    process = subprocess.Popen(
        [
            exe, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(workdir),
            "--tls-cert-file", str(workdir / "cert.pem"),
            "--tls-key-file", str(workdir / "key.pem"),
            "--tls-ca-cert-file", str(workdir / "ca.pem"),
            "--tls-auth-clients", "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port("127.0.0.1", port, process)
        yield port, workdir / "ca.pem"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_rediss_speaks_tls_and_checks_the_certificate(
    tls_server: tuple[int, Path], clock: FakeClock
) -> None:
    port, ca = tls_server
    store = open_store(f"rediss://localhost:{port}/0?ssl_ca_certs={ca}&prefix=tls", clock=clock)
    try:
        k = key()
        await store.put_code(k, make_code())
        assert (await store.consume_code(k)).first_use is True
    finally:
        await store.close()
    # Without our CA the server's certificate is not trusted: refused at start-up.
    with pytest.raises(StoreUnavailableError, match=f"rediss://localhost:{port}/0"):
        open_store(f"rediss://localhost:{port}/0")
    # Plain redis:// to a TLS port gets nowhere either.
    with pytest.raises(StoreUnavailableError):
        open_store(f"redis://localhost:{port}/0?socket_timeout=2")


async def test_commands_are_never_resent(store: RedisStore) -> None:
    """A script re-sent after a lost reply could consume a code twice and call it a replay."""
    assert await store.ping() is True
    pool = store._conn().client.connection_pool
    connection = await pool.get_connection()
    try:
        assert connection.retry.get_retries() == 0
    finally:
        await pool.release(connection)


async def test_use_after_close(store: RedisStore) -> None:
    assert await store.ping() is True
    await store.close()
    assert await store.ping() is False
    with pytest.raises(StoreClosedError):
        await store.get_transaction(key())
    with pytest.raises(StoreClosedError):
        await store.purge_expired()
