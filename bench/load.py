"""The load generator: sequential latency at concurrency 1, and throughput with N concurrent
workers on one asyncio loop, each on its own keep-alive connection (see wire.py). It runs in
the benchmark's own process, apart from the servers."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from stack import Target
from wire import Connection

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class BadAnswer(RuntimeError):
    """A measured request did not succeed: the figures would mean nothing."""


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), None where that is not readable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


@dataclass
class CPUMeter:
    """CPU used by the benchmark itself and by each server process over one measurement."""

    pids: Mapping[str, int]
    start: dict[str, float | None] = field(default_factory=dict)
    used: dict[str, float | None] = field(default_factory=dict)

    def _sample(self) -> dict[str, float | None]:
        sample: dict[str, float | None] = {"client": time.process_time()}
        sample.update({name: cpu_seconds(pid) for name, pid in self.pids.items()})
        return sample

    def __enter__(self) -> CPUMeter:
        self.start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._sample()
        self.used = {
            name: (end[name] - begin if begin is not None and end[name] is not None else None)
            for name, begin in self.start.items()
        }


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50_ms": percentile(ordered, 50) * 1000,
        "p90_ms": percentile(ordered, 90) * 1000,
        "p99_ms": percentile(ordered, 99) * 1000,
        "mean_ms": sum(ordered) / len(ordered) * 1000,
    }


def _expect_ok(target: Target, status: int, body: bytes) -> None:
    if status != 200:
        raise BadAnswer(f"{target.name}: status {status}: {body[:200]!r}")


async def _sequential(
    direct: Target, proxied: Target, requests: int, warmup: int
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {direct.name: [], proxied.name: []}
    async with (
        Connection(direct.url, direct.headers) as direct_connection,
        Connection(proxied.url, proxied.headers) as proxied_connection,
    ):
        pairs = ((direct, direct_connection), (proxied, proxied_connection))
        for i in range(warmup + requests):
            for target, connection in pairs if i % 2 == 0 else pairs[::-1]:
                started = time.perf_counter()
                status, body = await connection.get()
                elapsed = time.perf_counter() - started
                _expect_ok(target, status, body)
                if i >= warmup:
                    times[target.name].append(elapsed)
    return times


def sequential_latency(
    direct: Target, proxied: Target, requests: int, warmup: int
) -> dict[str, list[float]]:
    """Concurrency 1. The two targets alternate request by request, so drift (CPU frequency,
    a noisy neighbour) hits both alike; each target keeps one keep-alive connection."""
    return asyncio.run(_sequential(direct, proxied, requests, warmup))


@dataclass
class Throughput:
    completed: int
    seconds: float
    latencies: list[float]
    cpu: dict[str, float | None]

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds


async def _hammer(
    target: Target,
    concurrency: int,
    duration: float,
    total: int | None,
    warmup: float,
    meter: CPUMeter,
) -> tuple[int, float, list[float]]:
    connections = [Connection(target.url, target.headers) for _ in range(concurrency)]
    latencies: list[float] = []
    remaining = total
    deadline = 0.0

    async def one(connection: Connection) -> float:
        started = time.perf_counter()
        status, body = await connection.get()
        elapsed = time.perf_counter() - started
        _expect_ok(target, status, body)
        return elapsed

    async def warm(connection: Connection) -> None:
        until = time.perf_counter() + warmup
        while time.perf_counter() < until:
            await one(connection)

    async def worker(connection: Connection) -> None:
        nonlocal remaining
        while True:
            if remaining is not None:
                if remaining <= 0:
                    return
                remaining -= 1
            elif time.perf_counter() >= deadline:
                return
            latencies.append(await one(connection))

    try:
        # Warm-up: every connection open and in use, both servers settled; not counted.
        await asyncio.gather(*(warm(connection) for connection in connections))
        with meter:
            started = time.perf_counter()
            deadline = started + duration
            await asyncio.gather(*(worker(connection) for connection in connections))
            seconds = time.perf_counter() - started
    finally:
        await asyncio.gather(*(connection.close() for connection in connections))
    return len(latencies), seconds, latencies


def throughput(
    target: Target,
    concurrency: int,
    duration: float,
    total: int | None,
    pids: Mapping[str, int],
    warmup: float = 1.0,
) -> Throughput:
    """`concurrency` workers on one event loop, each with its own keep-alive connection, for
    `duration` seconds (or `total` requests). CPU of the client and of each server is metered
    over the counted requests."""
    meter = CPUMeter(pids)
    completed, seconds, latencies = asyncio.run(
        _hammer(target, concurrency, duration, total, warmup, meter)
    )
    return Throughput(completed, seconds, latencies, meter.used)
