"""A real `redis-server` for the tests, on a free loopback port, with no persistence.

`start_redis(dir)` runs one; tests share it per session and keep apart by key prefix
(`RedisServer.url_for_test()`: a fresh `?prefix=` each time), so nothing needs flushing and no
test sees another's keys. Without a `redis-server` on PATH the Redis tests skip with a message,
except under `CI`, where that is a failure (`.ci/run` installs it).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from servers import free_port


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    scheme: str = "redis"
    query: str = ""

    @property
    def url(self) -> str:
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{self.host}:{self.port}/0{query}"

    def url_for_test(self) -> str:
        """The server's URL with a prefix no other test uses."""
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}prefix=t{secrets.token_hex(6)}"

    def client(self) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, decode_responses=True)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def redis_server_executable() -> str:
    """The path of redis-server, or skip (fail under CI) when there is none."""
    exe = shutil.which("redis-server")
    if exe is None:
        message = "redis-server is not installed (apt-get install redis-server); Redis tests"
        if os.environ.get("CI"):
            pytest.fail(f"{message} cannot run, and CI must run them")
        pytest.skip(f"{message} skipped")
    return exe


def start_redis(workdir: Path, *extra: str, port: int | None = None) -> RedisServer:
    """A redis-server in `workdir` (no RDB, no AOF), up and answering PING."""
    exe = redis_server_executable()
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port() if port is None else port
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [*args, "--dir", str(workdir), "--logfile", str(workdir / "redis.log"), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = RedisServer(port, process)
    wait_for_port(server.host, port, process)
    return server


def wait_for_port(host: str, port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise RuntimeError(f"redis-server did not listen on {host}:{port} within 20 s")
