"""Faults, on real processes: the store stops, locks or fills up, a worker dies.

* Redis (its own instance, AOF on, fsync always) killed under a little load: what needs the
  store answers 503 JSON with Retry-After at once (a refused connection; the pool's socket
  timeouts bound a hung server), /readyz says not_ready, cached proxy sessions go on being
  served; Redis restarted on the same port and directory: the bridge recovers by itself and
  every grant from before works (AOF restored them).
* SQLite locked by another connection holding `BEGIN EXCLUSIVE`: 503 within the busy timeout,
  fine once released, nothing consumed by the failed attempts.
* SQLite on a full disk (a small tmpfs): 503, and after space is freed the file passes
  `integrity_check`, holds no half-written record, and the grants work.
* SIGKILL of one worker of `serve --workers 2` mid-request: the other keeps serving, no grant is
  lost, and uvicorn's supervisor starts a replacement.

Each test prints its figures (time to 503, time to recover, requests lost): `pytest -s`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from flow import authorize, authorize_url, exchange, pkce_pair, refresh
from redis_server import RedisServer, start_redis
from servers import Bridge, Emulator, bridge_env, free_port, start_emulator
from signed_in import SignedIn, sign_in

AOF = ("--appendonly", "yes", "--appendfsync", "always")
STORE_TIMEOUT = 5.0  # the Redis pool's socket timeouts, and SQLite's busy timeout


@dataclass
class Outcome:
    kind: str
    status: int
    seconds: float
    at: float
    body: str = ""
    retry_after: str | None = None


@dataclass
class Load:
    """A few threads, each repeating one kind of request until stopped, recording each answer
    (a transport error is status 0)."""

    outcomes: list[Outcome] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def run(self, kind: str, request: Callable[[httpx.Client], httpx.Response]) -> None:
        def loop() -> None:
            # A fresh connection per request: a kept-alive one idle on a worker that is then
            # killed would fail the next request although nothing was in flight there.
            keep_nothing = httpx.Limits(max_keepalive_connections=0)
            with httpx.Client(timeout=30, limits=keep_nothing) as client:
                while not self.stop.is_set():
                    started = time.monotonic()
                    try:
                        answer = request(client)
                        status, body = answer.status_code, answer.text
                        retry_after = answer.headers.get("retry-after")
                    except httpx.HTTPError as exc:
                        status, body, retry_after = 0, repr(exc), None
                    self.outcomes.append(Outcome(kind, status, time.monotonic() - started,
                                                 started, body, retry_after))
                    time.sleep(0.02)  # a little load, not a flood

        thread = threading.Thread(target=loop, name=kind, daemon=True)
        thread.start()
        self.threads.append(thread)

    def wait_for(self, matches: Callable[[Outcome], bool], timeout: float, *,
                 kinds: tuple[str, ...] | None = None, count: int = 1) -> None:
        """Until each kind (each thread's, or `kinds`) has `count` outcomes that match."""
        wanted = kinds or tuple(thread.name for thread in self.threads)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = [o.kind for o in list(self.outcomes) if matches(o)]
            if all(seen.count(kind) >= count for kind in wanted):
                return
            time.sleep(0.05)
        raise AssertionError(f"the load did not get there within {timeout} s")

    def finish(self) -> list[Outcome]:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
        return list(self.outcomes)


def figures(name: str, **values: object) -> None:
    print(f"\nFAULT FIGURES {name}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


def wait_for(check: Callable[[], bool], timeout: float) -> float:
    """Seconds until `check()` holds (polled), or fail after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with contextlib.suppress(httpx.HTTPError):
            if check():
                return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


def status_of(url: str) -> int:
    return httpx.get(url, timeout=10).status_code


def assert_a_503(outcome: Outcome) -> None:
    assert outcome.retry_after == "5", outcome
    if outcome.kind != "authorize":  # the page, for a browser
        assert httpx.Response(503, text=outcome.body).json()["error"] in {
            "temporarily_unavailable", "store_unavailable"}, outcome


# -- Redis ------------------------------------------------------------------------------------


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, AOF on, that the test kills and restarts (its directory is
    tmp_path / "redis")."""
    server = start_redis(tmp_path / "redis", *AOF)
    yield server
    if server.process.poll() is None:
        server.stop()


def test_redis_killed_under_load_then_back_loses_no_grant(
    aof_redis: RedisServer, emulator: Emulator, tmp_path: Path
) -> None:
    port = free_port()
    bridge = Bridge(port, tmp_path / "bridge", bridge_env(
        port, emulator, tmp_path / "bridge", IB_BRIDGE_STORE_URL=aof_redis.url))
    bridge.start()
    try:
        cached = sign_in(bridge, emulator)  # used at the proxy: this process caches it
        rotating = sign_in(bridge, emulator)  # refreshed in a loop
        untouched = sign_in(bridge, emulator)  # not used until the end
        chain = {"refresh_token": rotating.refresh_token}
        # The refresh loop is held while Redis is killed, so the kill never lands between a
        # refresh's consume and its new pair (that one grant would be lost: a known limit, see
        # docs/operations.md "When the store fails"); it resumes into the outage at once.
        hold, held = threading.Event(), threading.Event()

        def rotate(client: httpx.Client) -> httpx.Response:
            while hold.is_set():
                held.set()
                time.sleep(0.01)
            held.clear()
            answer = client.post(f"{bridge.url}/token", data={
                "grant_type": "refresh_token", "refresh_token": chain["refresh_token"],
                "client_id": "mcp-public-client"})
            if answer.status_code == 200:
                chain["refresh_token"] = answer.json()["refresh_token"]
            return answer

        _, challenge = pkce_pair()
        load = Load()
        load.run("proxy", lambda c: c.get(f"{bridge.url}/proxy/{cached.api('resource.limit(1)')}",
                                          headers=cached.auth))
        load.run("refresh", rotate)
        load.run("authorize", lambda c: c.get(authorize_url(bridge.url, challenge=challenge,
                                                            state="x")))
        load.wait_for(lambda o: o.status == 200, 10)  # each kind served before the fault
        hold.set()
        assert held.wait(10), "the refresh loop paused"
        killed_at = time.monotonic()
        aof_redis.process.kill()
        aof_redis.process.wait()
        hold.clear()
        to_not_ready = wait_for(lambda: status_of(f"{bridge.url}/readyz") == 503, 10)
        # The outage, under load: a few refused of each kind that needs the store.
        load.wait_for(lambda o: o.status == 503 and o.at > killed_at, 20,
                      kinds=("refresh", "authorize"), count=3)
        restarted = start_redis(tmp_path / "redis", *AOF, port=aof_redis.port)
        back_at = time.monotonic()
        to_ready = wait_for(lambda: status_of(f"{bridge.url}/readyz") == 200, 20)
        recovered_at = time.monotonic()
        load.wait_for(lambda o: o.at > recovered_at + 0.1, 20, count=3)  # load after recovery
        outcomes = load.finish()
        try:
            assert {o.status for o in outcomes} <= {200, 503}, sorted(
                {(o.kind, o.status, o.body[:200]) for o in outcomes if o.status not in (200, 503)})
            failed = [o for o in outcomes if o.status == 503]
            for outcome in failed:
                assert_a_503(outcome)
            assert failed, "the outage was seen"
            during = [o for o in outcomes if killed_at <= o.at < back_at]
            worst = max(o.seconds for o in during)
            assert worst < STORE_TIMEOUT + 1, worst
            # The cached proxy session is served throughout.
            assert all(o.status == 200 for o in outcomes if o.kind == "proxy")
            # Recovered by itself: everything after the bridge said ready again succeeded.
            after = [o for o in outcomes if o.at > recovered_at + 0.1]
            assert after
            assert all(o.status == 200 for o in after), after
            first_503 = min(o.at + o.seconds for o in failed) - killed_at
            figures("redis", time_to_first_503_s=round(first_503, 3),
                    time_to_readyz_503_s=round(to_not_ready, 3),
                    worst_latency_in_outage_s=round(worst, 3),
                    time_to_recover_after_restart_s=round(to_ready, 3),
                    requests=len(outcomes), answered_503=len(failed),
                    by_kind={k: sum(1 for o in failed if o.kind == k)
                             for k in ("proxy", "refresh", "authorize")})
            # No grant lost: what was issued before the outage works (AOF restored it).
            for user in (cached, untouched):
                assert status_of_userinfo(bridge, user) == 200
                assert refresh(bridge.url, user.refresh_token).status_code == 200
            assert refresh(bridge.url, chain["refresh_token"]).status_code == 200
        finally:
            restarted.stop()
    finally:
        bridge.stop()


def status_of_userinfo(bridge: Bridge, user: SignedIn) -> int:
    return httpx.get(f"{bridge.url}/userinfo", headers=user.auth, timeout=10).status_code


# -- SQLite -----------------------------------------------------------------------------------


def test_a_locked_sqlite_file_is_503_within_the_busy_timeout_then_fine(
    bridge: Bridge, emulator: Emulator
) -> None:
    user = sign_in(bridge, emulator)
    with contextlib.closing(sqlite3.connect(bridge.data_dir / "bridge.db",
                                            isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            # A refresh makes more than one store call; each may wait out the busy timeout
            # (seen on a loaded machine), so the bound is two of them, never a hang.
            answer = httpx.post(f"{bridge.url}/token", timeout=4 * STORE_TIMEOUT, data={
                "grant_type": "refresh_token", "refresh_token": user.refresh_token,
                "client_id": "mcp-public-client"})
            took = time.monotonic() - started
        finally:
            other.execute("ROLLBACK")
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "temporarily_unavailable"
    assert answer.headers["retry-after"] == "5"
    assert took < 2 * STORE_TIMEOUT + 1.5, took
    started = time.monotonic()
    rotated = refresh(bridge.url, user.refresh_token)  # not consumed by the failed attempt
    assert rotated.status_code == 200, rotated.text
    figures("sqlite-locked", time_to_503_s=round(took, 3),
            first_answer_after_release_s=round(time.monotonic() - started, 3))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: the filesystem the SQLite file lives on, filled up by the test."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs",
                           str(mount)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem is full; the file, to free the space later."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):
        while True:  # unbuffered: nothing is left to fail at close
            out.write(b"\0" * 4096)
    return filler


def test_a_full_disk_is_503_and_leaves_no_half_written_record(
    small_disk: Path, emulator: Emulator, tmp_path: Path
) -> None:
    database = small_disk / "bridge.db"
    port = free_port()
    bridge = Bridge(port, tmp_path / "bridge", bridge_env(
        port, emulator, tmp_path / "bridge", IB_BRIDGE_STORE_URL=f"sqlite:///{database}"))
    bridge.start()
    try:
        before = [sign_in(bridge, emulator) for _ in range(2)]
        filler = fill(small_disk)
        answers = [refresh(bridge.url, before[0].refresh_token) for _ in range(3)]
        # A code exchange too: the login transaction, the code and the grant need writes.
        started = time.monotonic()
        _, challenge = pkce_pair()
        page = httpx.get(authorize_url(bridge.url, challenge=challenge, state="f"), timeout=10)
        took = time.monotonic() - started
        assert [a.status_code for a in answers] == [503] * 3, [a.text for a in answers]
        assert {a.json()["error"] for a in answers} == {"temporarily_unavailable"}
        assert page.status_code == 503, page.text
        assert status_of(f"{bridge.url}/healthz") == 200  # the process itself is fine
        filler.unlink()
        # After freeing the space: the same tokens work, nothing was consumed by the failures.
        rotated = refresh(bridge.url, before[0].refresh_token)
        assert rotated.status_code == 200, rotated.text
        assert refresh(bridge.url, before[1].refresh_token).status_code == 200
        fresh = exchange(bridge.url, authorize(bridge.url, emulator.platform_url))
        assert fresh.status_code == 200, fresh.text
    finally:
        bridge.stop()
    # The file is whole: it opens, passes the integrity check, and every token row belongs to a
    # grant (no record written without the rest of its transaction).
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        orphans = db.execute(
            "SELECT count(*) FROM refresh_tokens WHERE grant_id NOT IN (SELECT grant_id FROM"
            " grants)").fetchone()[0]
        assert orphans == 0
        assert db.execute("SELECT count(*) FROM grants").fetchone()[0] == 3
    figures("sqlite-full-disk", authorize_503_s=round(took, 3), refreshes_refused=3,
            filesystem="tmpfs size=1m")


# -- A worker killed --------------------------------------------------------------------------


def worker_pids(bridge: Bridge) -> set[int]:
    """The live uvicorn workers of `serve` (its spawned children, not multiprocessing's
    resource tracker)."""
    assert bridge.process is not None
    found = subprocess.run(["pgrep", "-P", str(bridge.process.pid)], capture_output=True,
                           text=True, check=False).stdout.split()
    workers = set()
    for pid in found:
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                workers.add(int(pid))
    return workers


def test_a_worker_killed_mid_request_leaves_the_other_serving(tmp_path: Path) -> None:
    emulator = start_emulator()  # its own: the test slows IB down
    port = free_port()
    bridge = Bridge(port, tmp_path, bridge_env(port, emulator, tmp_path))
    try:
        bridge.start("--workers", "2")
        wait_for(lambda: len(worker_pids(bridge)) >= 2, 20)
        users = [sign_in(bridge, emulator) for _ in range(2)]
        assert emulator.control("config", {"latency_ms": 1500}).status_code == 200
        load = Load()
        for index, user in enumerate(users):  # slow proxy calls: in flight on both workers
            load.run(f"proxy{index}", lambda c, u=user: c.get(
                f"{bridge.url}/proxy/{u.api('resource.limit(1)')}", headers=u.auth))
        load.wait_for(lambda o: o.status == 200, 20)  # each thread served once: both busy
        victim = min(worker_pids(bridge))
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        served = wait_for(lambda: status_of(f"{bridge.url}/healthz") == 200, 10)
        load.wait_for(lambda o: o.at > killed_at, 20, count=2)
        outcomes = load.finish()
        assert emulator.control("config", {"latency_ms": 0}).status_code == 200
        lost = [o for o in outcomes if o.status != 200]
        # Only calls in flight on the killed worker died, as a broken connection.
        assert all(o.status == 0 and o.at < killed_at for o in lost), lost
        after = [o for o in outcomes if o.at > killed_at]
        assert after
        assert all(o.status == 200 for o in after)
        replaced = wait_for(lambda: len(worker_pids(bridge) - {victim}) >= 2, 20)
        for user in users:  # no grant lost
            assert status_of_userinfo(bridge, user) == 200
            assert refresh(bridge.url, user.refresh_token).status_code == 200
        figures("worker-sigkill", requests=len(outcomes), lost_in_flight=len(lost),
                next_answer_s=round(served, 3), replacement_worker_after_s=round(replaced, 3))
    finally:
        try:
            bridge.stop()
        finally:
            emulator.stop()
