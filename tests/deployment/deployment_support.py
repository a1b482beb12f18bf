"""The bridge under each ASGI server an operator may choose, started as docs/operations.md
("Deployment") says: a real server process on a free loopback port, loading the factory
`ib_oauth_bridge.app:create_app_from_env` (settings from IB_BRIDGE_* variables), against the
real IB emulator; one short whole flow; then SIGTERM, and the server must be gone in seconds.

What every server must show (`check_deployment`):
- the lifespan ran in every worker: one "bridge started" line (the start-up purge, the purge
  loop and the upstream pool live there) per worker, and no traceback at start or stop;
- discovery names the issuer, the whole sign-in works, the code exchanges, the refresh token
  rotates, the proxy reaches IB, and a revoked refresh token is refused. With two workers the
  requests land on either: no sticky sessions needed, the store is the shared state;
- forged `X-Forwarded-For` / `Forwarded` / `X-Forwarded-Host` from loopback (an address every
  server's own proxy-header handling trusts by default, where it has one) change neither the
  address the audit log records nor the issuer: the documented command turns the server's
  own handling off and leaves the decision to IB_BRIDGE_TRUSTED_PROXIES (unset here).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from flow import Authorized, authorize, refresh
from servers import CLI, Emulator, bridge_env, free_port, wait_until_up

BIN = Path(sys.executable).parent
FACTORY = "ib_oauth_bridge.app:create_app_from_env"
STOP_WITHIN = 10.0  # seconds from SIGTERM to the process gone
FORGED = {
    "X-Forwarded-For": "203.0.113.66",
    "Forwarded": "for=203.0.113.67;host=evil.example;proto=https",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "X-Real-IP": "203.0.113.68",
}


def command(server: str, port: int, workers: int = 2) -> list[str]:
    """The command line docs/operations.md gives for `server` (with a test port)."""
    address = f"127.0.0.1:{port}"
    if server == "serve":  # the package's own command: uvicorn, configured by cli.server_limits
        return [CLI, "serve", "--port", str(port), "--workers", str(workers)]
    if server == "uvicorn":
        return [str(BIN / "uvicorn"), "--factory", FACTORY, "--host", "127.0.0.1",
                "--port", str(port), "--workers", "2", "--no-proxy-headers",
                "--no-server-header", "--log-level", "warning"]
    if server == "gunicorn":
        return [str(BIN / "gunicorn"), "--worker-class", "uvicorn_worker.UvicornWorker",
                "--workers", "2", "--bind", address, "--forwarded-allow-ips", "",
                "--graceful-timeout", "5", f"{FACTORY}()"]
    if server == "hypercorn":
        return [str(BIN / "hypercorn"), "--bind", address, "--workers", "2",
                "--graceful-timeout", "5", f"{FACTORY}()"]
    if server == "granian":
        return [str(BIN / "granian"), "--interface", "asgi", "--factory", "--host",
                "127.0.0.1", "--port", str(port), "--workers", "2", "--no-ws",
                "--log-level", "warning", FACTORY]
    raise ValueError(server)


@dataclass
class Deployed:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    audit_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_messages(self) -> list[str]:
        messages = []
        for line in self.logs().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                messages.append(str(record.get("message")))
        return messages

    def audit_events(self, name: str) -> list[dict[str, object]]:
        if not self.audit_path.exists():
            return []
        lines = self.audit_path.read_text(encoding="utf-8").splitlines()
        events = [json.loads(line) for line in lines if line.strip()]
        return [event for event in events if event.get("event") == name]


@contextmanager
def deployed(
    server: str,
    emulator: Emulator,
    tmp_path: Path,
    *,
    workers: int,
    env: dict[str, str] | None = None,
) -> Iterator[Deployed]:
    """`server` serving the bridge, once every one of its `workers` has run the lifespan's
    start (one "bridge started" line each: the lifespan runs under this server); on leaving,
    SIGTERM and a check that it stopped in time, cleanly (exit status 0) and without a traceback."""
    port = free_port()
    data_dir = tmp_path / "bridge"
    data_dir.mkdir()
    audit_path = data_dir / "audit.log"
    environment = bridge_env(port, emulator, data_dir, IB_BRIDGE_AUDIT_LOG=str(audit_path),
                             IB_BRIDGE_LOG_LEVEL="INFO", **(env or {}))
    log_path = tmp_path / f"{server}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command(server, port, workers), env=environment,
                                   stdout=log, stderr=log,
                                   cwd=tmp_path, start_new_session=True)
    running = Deployed(f"http://127.0.0.1:{port}", process, log_path, audit_path)
    try:
        wait_until_up(f"{running.url}/healthz", process, timeout=30)
        deadline = time.monotonic() + 30  # a loaded machine starts workers seconds apart
        while running.log_messages().count("bridge started") < workers:
            assert time.monotonic() < deadline, f"not every worker started:\n{running.logs()}"
            assert process.poll() is None, running.logs()
            time.sleep(0.1)
        yield running
    finally:
        stopped_in = stop(process)
    # uvicorn in a single process re-raises the SIGTERM it handled once it has shut down.
    assert process.returncode in {0, -signal.SIGTERM}, (
        f"{server} exited with {process.returncode}:\n{running.logs()}"
    )
    # The lifespan's shutdown (the purge loop cancelled, the pools closed) ran in every worker.
    assert running.log_messages().count("bridge stopped") == workers, running.logs()
    assert stopped_in < STOP_WITHIN, f"{server} took {stopped_in:.1f} s to stop"
    assert "Traceback" not in running.logs(), running.logs()


def stop(process: subprocess.Popen[bytes]) -> float:
    """SIGTERM; the seconds until the process was gone. Killed (its whole session) if it does
    not go within STOP_WITHIN, so that no test leaves a server behind."""
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    return time.monotonic() - started


def check_deployment(bridge: Deployed, emulator: Emulator, *, workers: int) -> None:
    """The whole flow (see the module's docstring) against `bridge`."""
    url = bridge.url
    metadata = httpx.get(f"{url}/.well-known/oauth-authorization-server", headers=FORGED)
    assert metadata.status_code == 200, metadata.text
    assert metadata.json()["issuer"] == url
    assert metadata.json()["token_endpoint"] == f"{url}/token"
    assert "evil.example" not in metadata.text

    authorized = authorize(url, emulator.platform_url)
    assert authorized.iss == url
    tokens = exchange_forged(url, authorized)
    assert tokens.status_code == 200, tokens.text
    rotated = refresh(url, tokens.json()["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    access = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
    info = httpx.get(f"{url}/userinfo", headers=access, timeout=10)
    assert info.status_code == 200, info.text
    listed = httpx.get(
        f"{url}/proxy/api/3.0.0/{info.json()['ib_client_id']}/resource.limit(0,2)",
        headers=access, timeout=10,
    )
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["response"]["rows"]) == 2
    newest = rotated.json()["refresh_token"]
    revoked = httpx.post(f"{url}/revoke", data={"token": newest,
                                                "client_id": "mcp-public-client"}, timeout=10)
    assert revoked.status_code == 200, revoked.text
    refused = refresh(url, newest)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_grant"

    # Forged forwarding from loopback changed nothing the bridge records.
    exchanged = bridge.audit_events("code.exchanged")
    assert [event["ip"] for event in exchanged] == ["127.0.0.1"], exchanged
    assert "203.0.113." not in bridge.audit_path.read_text(encoding="utf-8")
    assert "203.0.113." not in bridge.logs()
    # The lifespan ran once in every worker, and no worker was restarted meanwhile.
    assert bridge.log_messages().count("bridge started") == workers, bridge.logs()


def exchange_forged(url: str, authorized: Authorized) -> httpx.Response:
    """The code exchange (flow.exchange) sent with forged forwarding headers."""
    data = {"grant_type": "authorization_code", "code": authorized.code,
            "redirect_uri": authorized.redirect_uri, "client_id": authorized.client_id,
            "code_verifier": authorized.verifier}
    return httpx.post(f"{url}/token", data=data, headers=FORGED, timeout=10)

