"""The load generator: sequential latency at concurrency 1, and throughput with N concurrent
workers on one asyncio loop, each on its own keep-alive connection (see wire.py). It runs in
the benchmark's own process, apart from the servers. CPU is read from /proc, summed over a
server's process tree (a bridge with workers is a supervisor and one process per worker)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (from the parent ids in /proc/*/stat); just [pid] where
    /proc is not there."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="ascii").rsplit(")", 1)[1].split()
        except (OSError, UnicodeDecodeError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))  # ppid
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def tree_cpu_seconds(pids: Sequence[int]) -> float | None:
    """CPU time summed over these processes; None if the first (the root) is not readable."""
    times = [cpu_seconds(pid) for pid in pids]
    if not times or times[0] is None:
        return None
    return sum(t for t in times if t is not None)


@dataclass
class CPUMeter:
    """CPU used by the benchmark itself and by each server (its whole process tree, as found
    when the measurement starts) over one measurement."""

    pids: Mapping[str, int]
    start: dict[str, float | None] = field(default_factory=dict)
    used: dict[str, float | None] = field(default_factory=dict)
    trees: dict[str, list[int]] = field(default_factory=dict)

    def _sample(self) -> dict[str, float | None]:
        sample: dict[str, float | None] = {"client": time.process_time()}
        sample.update({name: tree_cpu_seconds(tree) for name, tree in self.trees.items()})
        return sample

    def __enter__(self) -> CPUMeter:
        self.trees = {name: process_tree(pid) for name, pid in self.pids.items()}
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
    targets: Sequence[Target], requests: int, warmup: int
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {target.name: [] for target in targets}
    connections = [Connection(target.url, target.headers) for target in targets]
    pairs = list(zip(targets, connections, strict=True))
    try:
        for i in range(warmup + requests):
            # Each round starts with the next target, so none is always first or last.
            shift = i % len(pairs)
            for target, connection in pairs[shift:] + pairs[:shift]:
                started = time.perf_counter()
                status, body = await connection.get()
                elapsed = time.perf_counter() - started
                _expect_ok(target, status, body)
                if i >= warmup:
                    times[target.name].append(elapsed)
    finally:
        await asyncio.gather(*(connection.close() for connection in connections))
    return times


def sequential_latency(
    targets: Sequence[Target], requests: int, warmup: int
) -> dict[str, list[float]]:
    """Concurrency 1. The targets take turns request by request, so drift (CPU frequency,
    a noisy neighbour) hits all alike; each target keeps one keep-alive connection."""
    return asyncio.run(_sequential(targets, requests, warmup))


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
