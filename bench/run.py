"""Benchmark of the bridge's proxy against a baseline measured in the same run: the same small IB
call straight to the IB emulator (with a sid) and through the bridge (with a Bearer token).

    python bench/run.py [--requests 300] [--duration 5] [--concurrency 16] [--json out.json]

Not a test: it asserts nothing about speed, it prints figures as ratios to the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

# The servers and the sign-in flow are the integration tests' own helpers, used as they are.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from load import BadAnswer, Throughput, sequential_latency, summary_ms, throughput
from report import Row, table
from stack import CALL, running_stack


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests",
        type=int,
        default=300,
        help="measured sequential requests per target at concurrency 1",
    )
    parser.add_argument(
        "--warmup", type=int, default=30, help="unmeasured sequential requests per target first"
    )
    parser.add_argument(
        "--duration", type=float, default=5.0, help="seconds of the throughput run per target"
    )
    parser.add_argument(
        "--count",
        type=int,
        default=None,
        help="fixed number of throughput requests per target instead of a duration",
    )
    parser.add_argument(
        "--concurrency", type=int, default=16, help="concurrent workers in the throughput run"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="OUT",
        help="also write every figure to this JSON file",
    )
    args = parser.parse_args(argv)
    # Bounded in count and time, whatever is asked.
    if not 1 <= args.requests <= 100_000 or not 0 <= args.warmup <= 10_000:
        parser.error("--requests must be 1..100000 and --warmup 0..10000")
    if not 0.5 <= args.duration <= 600:
        parser.error("--duration must be 0.5..600 seconds")
    if args.count is not None and not 1 <= args.count <= 1_000_000:
        parser.error("--count must be 1..1000000")
    if not 1 <= args.concurrency <= 256:
        parser.error("--concurrency must be 1..256")
    return args


def machine() -> dict[str, Any]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cores": os.cpu_count(),
        "usable_cores": affinity,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "httpx": version("httpx"),
        "uvicorn": version("uvicorn"),
    }


def per_request_ms(run: Throughput, name: str) -> float | None:
    used = run.cpu.get(name)
    return None if used is None or not run.completed else used / run.completed * 1000


def cores_busy(run: Throughput, name: str) -> str:
    used = run.cpu.get(name)
    return "n/a" if used is None else f"{used / run.seconds:.2f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A SIGTERM ends the run through the finally blocks, so the servers never outlive it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    host = machine()
    c = args.concurrency
    run_for = f"{args.count} requests" if args.count else f"{args.duration:g} s"
    print(
        f"machine: {host['cores']} cores ({host['usable_cores']} usable), "
        f"{host['implementation']} {host['python']}, {host['platform']}, "
        f"httpx {host['httpx']}, uvicorn {host['uvicorn']}"
    )
    print(
        f"settings: c=1: {args.requests} requests per target after {args.warmup} warm-up, "
        f"alternating; c={c}: {run_for} per target after 1 s warm-up; "
        f"call GET .../api/3.0.0/{{clientid}}/{CALL}"
    )
    print("load: a minimal HTTP/1.1 client (bench/wire.py), one keep-alive connection per worker")
    print(
        "note: the load generator (this process), the emulator and the bridge share this "
        "machine;\n      every figure includes the client's own cost, on both sides alike.\n",
        flush=True,
    )
    try:
        with running_stack() as stack:
            print("servers up, signed in both ways; measuring latency at c=1 ...", flush=True)
            latency = sequential_latency(stack.direct, stack.proxied, args.requests, args.warmup)
            print(f"measuring throughput at c={c} ...", flush=True)
            runs = {
                target.name: throughput(target, c, args.duration, args.count, stack.pids)
                for target in (stack.direct, stack.proxied)
            }
    except BadAnswer as exc:
        print(f"bench: a measured request failed, no figures: {exc}", file=sys.stderr)
        return 1

    lat = {name: summary_ms(times) for name, times in latency.items()}
    load = {name: summary_ms(run.latencies) for name, run in runs.items()}
    direct, proxied = runs["direct"], runs["proxied"]
    rows = [
        Row("p50 latency, c=1 (ms)", lat["direct"]["p50_ms"], lat["proxied"]["p50_ms"]),
        Row("p90 latency, c=1 (ms)", lat["direct"]["p90_ms"], lat["proxied"]["p90_ms"]),
        Row("p99 latency, c=1 (ms)", lat["direct"]["p99_ms"], lat["proxied"]["p99_ms"]),
        Row(f"throughput, c={c} (req/s)", direct.per_second, proxied.per_second, digits=0),
        Row(f"p50 latency, c={c} (ms)", load["direct"]["p50_ms"], load["proxied"]["p50_ms"]),
        Row(f"p99 latency, c={c} (ms)", load["direct"]["p99_ms"], load["proxied"]["p99_ms"]),
        Row(
            f"client CPU per request, c={c} (ms)",
            per_request_ms(direct, "client"),
            per_request_ms(proxied, "client"),
            digits=3,
        ),
        Row(
            f"emulator CPU per request, c={c} (ms)",
            per_request_ms(direct, "emulator"),
            per_request_ms(proxied, "emulator"),
            digits=3,
        ),
        Row(
            f"bridge CPU per request, c={c} (ms)",
            None,
            per_request_ms(proxied, "bridge"),
            digits=3,
            ratio=False,
        ),
    ]
    added = {q: lat["proxied"][f"{q}_ms"] - lat["direct"][f"{q}_ms"] for q in ("p50", "p90", "p99")}
    print()
    print(table(rows))
    print()
    print(
        f"added latency per request, c=1: {added['p50']:+.2f} ms at p50 "
        f"({added['p90']:+.2f} ms at p90, {added['p99']:+.2f} ms at p99)"
    )
    for name, run in runs.items():
        print(
            f"cores busy during the c={c} {name} run: client {cores_busy(run, 'client')}, "
            f"emulator {cores_busy(run, 'emulator')}, bridge {cores_busy(run, 'bridge')} "
            f"({run.completed} requests in {run.seconds:.2f} s)"
        )
    print(
        "ratios are proxied/direct: above 1x is slower for latency and CPU, "
        "below 1x is fewer requests per second."
    )

    if args.json:
        figures = {
            "machine": host,
            "settings": {
                "requests": args.requests,
                "warmup": args.warmup,
                "duration_s": None if args.count else args.duration,
                "count": args.count,
                "concurrency": c,
                "call": CALL,
            },
            "latency_c1": lat,
            "added_latency_c1_ms": added,
            "throughput": {
                name: {
                    "requests": run.completed,
                    "seconds": run.seconds,
                    "requests_per_s": run.per_second,
                    "latency": load[name],
                    "cpu_seconds": run.cpu,
                }
                for name, run in runs.items()
            },
            "ratios": {
                row.measure: row.proxied / row.direct
                for row in rows
                if row.ratio and row.direct and row.proxied is not None
            },
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
