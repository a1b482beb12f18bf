"""`serve --workers 2` with IB_BRIDGE_METRICS=port:<n>: /metrics on a listener of its own, over
real sockets, summing every worker process (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from servers import Bridge, Emulator, bridge_env, free_port
from signed_in import sign_in

READYZ = ("ib_bridge_http_request_duration_seconds_count", {"operation": "readyz", "status": "200"})


def value(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == (labels or {}):
                return sample.value
    return 0.0


def readyz_by_worker(directory: Path, scratch: Path) -> dict[str, float]:
    """Each worker's own count of /readyz, read from its file alone."""
    counts = {}
    for path in directory.glob("histogram_*.db"):
        alone = scratch / path.stem
        alone.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        for family in registry.collect():
            for sample in family.samples:
                if (sample.name, sample.labels) == READYZ:
                    counts[path.stem] = sample.value
    return counts


def test_the_metrics_port_sums_every_worker(emulator: Emulator, tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left by an earlier run")  # cleaned at start
    env = bridge_env(port, emulator, tmp_path)
    env |= {"IB_BRIDGE_METRICS": f"port:{metrics_port}", "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    env.pop("IB_BRIDGE_METRICS_TOKEN")  # on loopback, the listener needs no token
    server = Bridge(port, tmp_path, env)
    server.start("--workers", "2")
    scrape_url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        assert not (directory / "counter_1.db").exists()
        user = sign_in(server, emulator)
        proxied = httpx.get(
            f"{server.url}/proxy/{user.api('resource.limit(0,1)')}", headers=user.auth
        )
        assert proxied.status_code == 200
        # New connections land on either worker: ask until both have served some.
        sent = 0
        while sent < 400:
            for _ in range(10):
                with httpx.Client() as fresh:
                    assert fresh.get(f"{server.url}/readyz").status_code == 200
                sent += 1
            if len(readyz_by_worker(directory, tmp_path / "scratch" / str(sent))) >= 2:
                break
        per_worker = readyz_by_worker(directory, tmp_path / "scratch" / "last")
        assert len(per_worker) == 2, per_worker
        assert all(count > 0 for count in per_worker.values())

        text = httpx.get(scrape_url).text
        assert value(text, READYZ[0], READYZ[1]) == sent == sum(per_worker.values())
        assert value(text, "ib_bridge_sign_ins_total", {"outcome": "completed"}) == 1
        issued = {"grant_type": "authorization_code"}
        assert value(text, "ib_bridge_tokens_issued_total", issued) == 1
        assert value(text, "ib_bridge_live_grants") == 1
        upstream = "ib_bridge_proxy_upstream_duration_seconds_count"
        assert value(text, upstream, {"status": "200"}) == 1
        assert value(text, "ib_bridge_proxy_upstream_errors_total", {"status": "200"}) == 0

        # Only there: the main app has no /metrics, the listener nothing else.
        assert httpx.get(f"{server.url}/metrics").status_code == 404
        assert httpx.get(f"http://127.0.0.1:{metrics_port}/").status_code == 404
        assert httpx.post(scrape_url).status_code == 405
    finally:
        server.stop()
    assert httpx_refused(scrape_url)


def httpx_refused(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.TransportError:
        return True
    return False


def test_the_metrics_port_takes_the_token_when_one_is_set(
    emulator: Emulator, tmp_path: Path
) -> None:
    port, metrics_port = free_port(), free_port()
    token = "metrics-token-0123456789abcdef"
    env = bridge_env(port, emulator, tmp_path)
    env |= {"IB_BRIDGE_METRICS": f"port:127.0.0.1:{metrics_port}", "IB_BRIDGE_METRICS_TOKEN": token}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # serve makes a private directory of its own
    server = Bridge(port, tmp_path, env)
    server.start()
    scrape_url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        assert httpx.get(scrape_url).status_code == 401
        wrong = httpx.get(scrape_url, headers={"Authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 401
        right = httpx.get(scrape_url, headers={"Authorization": f"Bearer {token}"})
        assert right.status_code == 200
        assert "ib_bridge_http_request_duration_seconds" in right.text
    finally:
        server.stop()
