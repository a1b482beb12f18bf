"""Real servers for the tests: the IB emulator and the bridge as separate processes on loopback
ports, started through the `ib-oauth-bridge` console script exactly as an operator would,
examples/mcp_server (an MCP server protected by the bridge) run as the program it is, and a
Client ID Metadata Document served over https for the MCP SDKs' own CIMD code paths."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from docserver import DocumentServer
from ib_oauth_bridge.oauth.keys import generate_signing_key

ROOT = Path(__file__).resolve().parents[1]
MCP_SERVER = ROOT / "examples" / "mcp_server" / "server.py"
# examples/mcp_server's confidential client at the test bridges: a resource server that may
# introspect any token.
MCP_SERVER_CLIENT = ("mcp-example-server", "mcp-example-server-secret")
METRICS_TOKEN = "test-metrics-token-0123456789"
CLI = shutil.which("ib-oauth-bridge") or str(Path(sys.executable).with_name("ib-oauth-bridge"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@dataclass
class Emulator:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def platform_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"http://localhost:{self.port}"

    def control(self, name: str, body: dict[str, object] | None = None) -> httpx.Response:
        url = f"{self.platform_url}/_emulator/{name}"
        if body is None:
            return httpx.get(url, timeout=5)
        return httpx.post(url, json=body, timeout=5)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_emulator() -> Emulator:
    port = free_port()
    process = subprocess.Popen([CLI, "emulator", "--port", str(port)])
    emulator = Emulator(port, process)
    wait_until_up(f"{emulator.platform_url}/_emulator/config", process)
    return emulator


@dataclass
class Bridge:
    port: int
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.data_dir / "bridge.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra_args: str) -> None:
        """`serve` with one worker unless `extra_args` says otherwise: a test that revokes and
        at once expects refusal must not land on a second worker's session cache, which may
        lag by up to half a second (tests/integration/test_workers.py proves that bound)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        workers = [] if "--workers" in extra_args else ["--workers", "1"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [CLI, "serve", "--port", str(self.port), *workers, *extra_args],
                env=self.env, stdout=log, stderr=log,
            )
        wait_until_up(f"{self.url}/healthz", self.process)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_records(self) -> list[dict[str, object]]:
        """Its JSON log lines (IB_BRIDGE_LOG_FORMAT=json) as objects; other lines are skipped."""
        records = []
        for line in self.logs().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def signed_in_clients(self) -> list[str]:
        """The client ids of the sign-ins the bridge completed, in order (its "login completed"
        log lines)."""
        return [str(record.get("client_id")) for record in self.log_records()
                if record.get("message") == "login completed"]

    def registered_clients(self) -> list[str]:
        """The client ids that dynamic registration (POST /register) stored: what the bridge
        itself saw of registrations, read from its SQLite file (read-only)."""
        database = self.data_dir / "bridge.db"
        with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
            return [row[0] for row in db.execute("SELECT client_id FROM clients ORDER BY rowid")]

    def fetched_documents(self) -> list[str]:
        """The client ids whose metadata document the bridge fetched and accepted, in order
        (its "client metadata document fetched" log lines)."""
        return [str(record.get("client_id")) for record in self.log_records()
                if record.get("message") == "client metadata document fetched"]


def bridge_env(port: int, emulator: Emulator, data_dir: Path, **extra: str) -> dict[str, str]:
    """The bridge's environment. Its MCP_SERVER_CLIENT exchanges tokens for the URL of the
    examples/mcp_server that `running_mcp_server` starts for this bridge (a port chosen here)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("IB_BRIDGE_")}
    env.update({
        "IB_BRIDGE_DEV": "1",
        "IB_BRIDGE_ISSUER": f"http://127.0.0.1:{port}",
        "IB_BRIDGE_DATA_DIR": str(data_dir),
        "IB_BRIDGE_DEV_IB_URLS": f"{emulator.platform_url},{emulator.api_url}",
        "IB_BRIDGE_SIGNING_KEY": json.dumps(generate_signing_key().as_dict(private=True)),
        "IB_BRIDGE_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "IB_BRIDGE_COOKIE_SECRET": secrets.token_urlsafe(32),
        "IB_BRIDGE_LOG_FORMAT": "json",
        "IB_BRIDGE_CLIENTS": json.dumps([
            {"client_id": "web-app", "client_secret": "web-app-secret",
             "redirect_uris": ["https://app.example/callback"]},
            {"client_id": "post-app", "client_secret": "post-app-secret",
             "token_endpoint_auth_method": "client_secret_post",
             "redirect_uris": ["https://post.example/callback"]},
            {"client_id": "other-public", "redirect_uris": ["http://127.0.0.1/other"]},
            {"client_id": MCP_SERVER_CLIENT[0], "client_secret": MCP_SERVER_CLIENT[1],
             "introspect": True, "token_exchange": True,
             "resource": f"http://127.0.0.1:{free_port()}/mcp"},
        ]),
        "IB_BRIDGE_CORS_ORIGINS": "https://spa.example",
        # /metrics on the main app behind its Bearer secret (Schemathesis scrapes it).
        "IB_BRIDGE_METRICS": "bearer",
        "IB_BRIDGE_METRICS_TOKEN": METRICS_TOKEN,
        # The session bridge serves many tests (and Schemathesis) from one address: every
        # abuse limit out of reach (tests of a limit start a bridge with the one they test).
        "IB_BRIDGE_REGISTRATION_RATE_LIMIT": "100000/minute",
        "IB_BRIDGE_AUTHORIZE_RATE_LIMIT": "100000/minute",
        "IB_BRIDGE_LOGIN_RATE_LIMIT": "100000/minute",
        "IB_BRIDGE_LOGIN_POLL_RATE_LIMIT": "100000/minute",
        "IB_BRIDGE_TOKEN_RATE_LIMIT": "100000/minute",
        "IB_BRIDGE_CLIENT_RATE_LIMIT": "100000/minute",
        "IB_BRIDGE_PROXY_RATE_LIMIT": "100000/minute",
        "IB_BRIDGE_LOGIN_MAX_PENDING_PER_ADDRESS": "100000",
        "IB_BRIDGE_FRAUD_EXCHANGE_FAILURES": "100000",
    })
    env.update(extra)
    return env


@dataclass
class McpServer:
    """examples/mcp_server/server.py serving MCP at `url`, protected by a bridge."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def metadata_url(self) -> str:
        """Its RFC 9728 protected resource metadata (the URL its 401 challenge names)."""
        origin = self.url.rsplit("/mcp", 1)[0]
        return f"{origin}/.well-known/oauth-protected-resource/mcp"

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def mcp_server_url(bridge: Bridge) -> str:
    """The URL the bridge's MCP_SERVER_CLIENT exchanges tokens for (see `bridge_env`)."""
    for client in json.loads(bridge.env["IB_BRIDGE_CLIENTS"]):
        if client["client_id"] == MCP_SERVER_CLIENT[0]:
            return str(client["resource"])
    raise AssertionError("the bridge has no MCP_SERVER_CLIENT")


@contextmanager
def running_mcp_server(bridge: Bridge, log_dir: Path) -> Iterator[McpServer]:
    """Start examples/mcp_server with this Python (which has the `mcp` SDK and the bridge package)
    on the loopback port `bridge_env` chose for it, wait until it answers, and stop it
    afterwards. It introspects and exchanges tokens as the bridge's configured resource server
    MCP_SERVER_CLIENT."""
    bridge_url = bridge.url
    port = int(urlsplit(mcp_server_url(bridge)).port or 0)
    log_path = log_dir / "mcp_server.log"
    env = {**os.environ, "MCP_SERVER_CLIENT_SECRET": MCP_SERVER_CLIENT[1]}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(MCP_SERVER), "--port", str(port), "--bridge-url", bridge_url,
             "--client-id", MCP_SERVER_CLIENT[0], "--introspection-cache", "0",
             "--log-level", "warning"],
            stdout=log, stderr=log, env=env,
        )
    server = McpServer(f"http://127.0.0.1:{port}/mcp", process, log_path)
    try:
        wait_until_up(server.metadata_url, process)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


HTTPS_DOCUMENT_PATH = "/mcp-client.json"


@dataclass
class HttpsClientDocument:
    """An MCP client known by a Client ID Metadata Document served over https: its `url` is
    both where the document is and the `client_id` inside it. `bridge` is a bridge process of
    its own that trusts the document server's test CA (IB_BRIDGE_DEV_CA_FILE), and
    `mcp_server` is examples/mcp_server in front of that bridge."""

    url: str
    document: dict[str, object]
    documents: DocumentServer
    bridge: Bridge
    mcp_server: McpServer

    def fetches(self) -> list[str]:
        """The paths that were requested of the document server (only the bridge knows it)."""
        return list(self.documents.requests)


@contextmanager
def https_client_document(
    emulator: Emulator, tmp_dir: Path, *, redirect_uri: str, client_name: str
) -> Iterator[HttpsClientDocument]:
    """A trustme CA; an https server on 127.0.0.1 with a certificate from it, serving one client
    metadata document at HTTPS_DOCUMENT_PATH (a public client of `redirect_uri`); a bridge
    started with IB_BRIDGE_DEV_CA_FILE = the CA's PEM; examples/mcp_server on that bridge.
    The MCP SDKs take only an https client-metadata URL with a path, and an IP literal host
    is one (and the only kind of host the bridge's dev mode fetches from, with localhost)."""
    import trustme  # a test dependency; the benchmark, which imports this module, lacks it

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    ca_file = tmp_dir / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with DocumentServer(context) as documents:
        fields: dict[str, object] = {
            "client_name": client_name,
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
        url = documents.serve_document(HTTPS_DOCUMENT_PATH, **fields)
        assert url.startswith("https://127.0.0.1:"), url
        port = free_port()
        data_dir = tmp_dir / "bridge"
        bridge = Bridge(
            port, data_dir,
            bridge_env(port, emulator, data_dir, IB_BRIDGE_DEV_CA_FILE=str(ca_file)),
        )
        bridge.start()
        try:
            with running_mcp_server(bridge, tmp_dir) as mcp_server:
                yield HttpsClientDocument(
                    url, {"client_id": url, **fields}, documents, bridge, mcp_server
                )
        finally:
            bridge.stop()
