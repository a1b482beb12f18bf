"""Benchmark of the bridge against baselines measured in the same run: a small IB call, a large
download and upload straight to the IB emulator (with a sid) and through the bridge's proxy
(with a Bearer token), for one bridge worker and for two; /token under load; and the cost of
verifying an access token.

    python bench/run.py [--quick] [--json out.json]

Not a test: it asserts nothing about speed, it prints figures and their ratios to the baseline,
and writes them all to bench/results.md. It fails (exit 1) only if a measured request fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

# The servers and the sign-in flow are the integration tests' own helpers, used as they are.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from load import BadAnswer, Throughput, percentile, sequential_latency, summary_ms, throughput
from report import number, ratio, table
from stack import CALL, CODE_TTL, running_stack
from streaming import MIB, Transfer, measure_download, measure_upload
from token_load import (
    TokenRun,
    VerifyCost,
    code_exchanges,
    jwt_verify_cost,
    mint_codes,
    refresh_chains,
    start_chains,
)

RESULTS = Path(__file__).resolve().with_name("results.md")
PACKAGES = ("aiohttp", "httpx", "uvicorn", "starlette", "authlib", "joserfc")

# Settings of a default run and of --quick; an option given on the command line wins.
PRESETS: dict[str, dict[str, Any]] = {
    "default": {
        "requests": 300,
        "warmup": 30,
        "duration": 5.0,
        "concurrency": [16, 64],
        "workers": [1, 2],
        "download_mib": 1024,
        "upload_mib": 256,
        "codes": 200,
        "chains": 8,
        "verify_samples": 2000,
    },
    "quick": {
        "requests": 100,
        "warmup": 20,
        "duration": 2.0,
        "concurrency": [16, 64],
        "workers": [1, 2],
        "download_mib": 256,
        "upload_mib": 64,
        "codes": 40,
        "chains": 8,
        "verify_samples": 500,
    },
}
CACHED_VERIFY_CALLS = 100_000
TOKEN_CONCURRENCY = 8  # connections exchanging codes at once


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add(
        "--quick",
        action="store_true",
        help="a short run (under two minutes): fewer requests, shorter runs, smaller transfers",
    )
    add("--requests", type=int, help="measured sequential requests per target at c=1 [300]")
    add("--warmup", type=int, help="unmeasured sequential requests per target first [30]")
    add("--duration", type=float, help="seconds of each throughput run and of the refresh run [5]")
    add(
        "--count",
        type=int,
        default=None,
        help="fixed number of requests per throughput run instead of a duration",
    )
    add(
        "--concurrency",
        type=int,
        nargs="+",
        help="concurrency levels of the throughput runs [16 64]",
    )
    add("--workers", type=int, nargs="+", help="bridge worker counts to measure [1 2]")
    add("--download-mib", type=int, help="size of the streamed download in MiB [1024]")
    add("--upload-mib", type=int, help="size of the streamed upload in MiB [256]")
    add("--codes", type=int, help="authorization codes minted and exchanged per bridge [200]")
    add("--chains", type=int, help="concurrent refresh chains per bridge [8]")
    add(
        "--json",
        type=Path,
        default=None,
        metavar="OUT",
        help="also write every figure to this JSON file",
    )
    add(
        "--results",
        type=Path,
        default=RESULTS,
        metavar="MD",
        help="the markdown report every run overwrites [bench/results.md]",
    )
    args = parser.parse_args(argv)
    args.preset = "quick" if args.quick else "default"
    args.verify_samples = None
    for name, value in PRESETS[args.preset].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    # Bounded in count and time, whatever is asked.
    checks = [
        (1 <= args.requests <= 100_000, "--requests must be 1..100000"),
        (0 <= args.warmup <= 10_000, "--warmup must be 0..10000"),
        (0.5 <= args.duration <= 600, "--duration must be 0.5..600 seconds"),
        (args.count is None or 1 <= args.count <= 1_000_000, "--count must be 1..1000000"),
        (
            len(args.concurrency) <= 4 and all(1 <= c <= 256 for c in args.concurrency),
            "--concurrency: at most 4 levels, each 1..256",
        ),
        (
            len(args.workers) <= 3 and all(1 <= w <= 8 for w in args.workers),
            "--workers: at most 3 counts, each 1..8",
        ),
        (1 <= args.download_mib <= 8192, "--download-mib must be 1..8192"),
        (1 <= args.upload_mib <= 4096, "--upload-mib must be 1..4096"),
        (1 <= args.codes <= 1000, "--codes must be 1..1000"),
        (1 <= args.chains <= 64, "--chains must be 1..64"),
    ]
    for ok, message in checks:
        if not ok:
            parser.error(message)
    args.workers = list(dict.fromkeys(args.workers))
    args.concurrency = list(dict.fromkeys(args.concurrency))
    return args


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def busy_before_run(cores: int | None) -> str | None:
    """A warning line when other work was keeping the machine busy as the run began."""
    try:
        recent = os.getloadavg()[0]
    except OSError:
        return None
    if not cores or recent < 0.5 * cores:
        return None
    return (
        f"- warning: the machine was not quiet (1-min load {recent:.2f} on {cores} cores before "
        "the run): other processes competed for the cores, so these figures are noisier and "
        "lower than a quiet machine's"
    )


def machine() -> dict[str, Any]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cores": os.cpu_count(),
        "usable_cores": affinity,
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "packages": {name: package_version(name) for name in PACKAGES},
    }


def per_request_ms(run: Throughput | TokenRun, name: str) -> float | None:
    used = run.cpu.get(name)
    return None if used is None or not run.completed else used / run.completed * 1000


def cores_busy(run: Throughput | TokenRun, name: str) -> str:
    used = run.cpu.get(name)
    return "n/a" if used is None else f"{used / run.seconds:.2f}"


@dataclass
class Section:
    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        return (
            "\n".join(
                [f"## {self.title}", "", table(self.header, self.rows), "", *self.notes]
            ).rstrip()
            + "\n"
        )


def small_call_section(
    args: argparse.Namespace,
    labels: list[str],
    latency: dict[str, dict[str, float]],
    runs: dict[int, dict[str, Throughput]],
) -> Section:
    """Direct, then for each bridge: proxied and proxied/direct."""
    header = ["measure", "direct"]
    for label in labels[1:]:
        header += [label, "/direct"]

    def row(
        measure: str, values: list[float | None], digits: int = 2, ratios: bool = True
    ) -> list[str]:
        # A measure the direct path does not have (it has no bridge) reads "-" there.
        cells = [measure, "-" if values[0] is None else number(values[0], digits)]
        for value in values[1:]:
            cells += [number(value, digits), ratio(value, values[0]) if ratios else ""]
        return cells

    rows = []
    for q in ("p50", "p90", "p99"):
        rows.append(row(f"{q} latency, c=1 (ms)", [latency[n][f"{q}_ms"] for n in labels]))
    direct_p50 = latency[labels[0]]["p50_ms"]
    rows.append(
        row(
            "added latency p50, c=1 (ms)",
            [None, *(latency[n]["p50_ms"] - direct_p50 for n in labels[1:])],
            ratios=False,
        )
    )
    notes = []
    for c, by_target in runs.items():
        order = [by_target[n] for n in labels]
        loads = [summary_ms(run.latencies) for run in order]
        rows.append(row(f"requests/s, c={c}", [run.per_second for run in order], 0))
        rows.append(row(f"p50 latency, c={c} (ms)", [s["p50_ms"] for s in loads]))
        rows.append(row(f"p99 latency, c={c} (ms)", [s["p99_ms"] for s in loads]))
        rows.append(
            row(
                f"bridge CPU per request, c={c} (ms)",
                [None, *(per_request_ms(run, "bridge") for run in order[1:])],
                3,
                ratios=False,
            )
        )
        rows.append(
            row(
                f"emulator CPU per request, c={c} (ms)",
                [per_request_ms(run, "emulator") for run in order],
                3,
            )
        )
        for name, run in zip(labels, order, strict=True):
            notes.append(
                f"- cores busy, c={c}, {name}: client {cores_busy(run, 'client')}, emulator "
                f"{cores_busy(run, 'emulator')}, bridge {cores_busy(run, 'bridge')} "
                f"({run.completed} requests in {run.seconds:.2f} s)"
            )
    notes.insert(
        0,
        "Ratios are proxied/direct: above 1x is slower (latency) or costlier (CPU), "
        "below 1x is fewer requests per second. Bridge CPU is summed over its process "
        "tree (supervisor and workers).\n",
    )
    return Section(f"Small JSON call: GET .../{CALL}", header, rows, notes)


def streaming_section(label: str, transfers: dict[str, Transfer]) -> Section:
    down_d, down_p = transfers["download direct"], transfers["download proxied"]
    up_d, up_p = transfers["upload direct"], transfers["upload proxied"]

    def mib(kib: int | None) -> float | None:
        return None if kib is None else kib / 1024

    def size(transfer: Transfer) -> str:
        mebibytes = transfer.size // MIB
        return f"{mebibytes // 1024} GiB" if mebibytes % 1024 == 0 else f"{mebibytes} MiB"

    rows = [
        ["measure", "direct", f"proxied ({label})", "proxied/direct"],
        [
            f"download {size(down_d)} (MiB/s)",
            number(down_d.mib_per_s, 0),
            number(down_p.mib_per_s, 0),
            ratio(down_p.mib_per_s, down_d.mib_per_s),
        ],
        [
            f"upload {size(up_d)} (MiB/s)",
            number(up_d.mib_per_s, 0),
            number(up_p.mib_per_s, 0),
            ratio(up_p.mib_per_s, up_d.mib_per_s),
        ],
        [
            "bridge peak RSS growth, download (MiB)",
            "-",
            number(mib(down_p.rss_growth_kib), 1),
            "",
        ],
        ["bridge peak RSS growth, upload (MiB)", "-", number(mib(up_p.rss_growth_kib), 1), ""],
        ["bridge CPU per GiB, download (s)", "-", number(down_p.cpu_per_gib("bridge")), ""],
        ["bridge CPU per GiB, upload (s)", "-", number(up_p.cpu_per_gib("bridge")), ""],
        [
            "emulator CPU per GiB, download (s)",
            number(down_d.cpu_per_gib("emulator")),
            number(down_p.cpu_per_gib("emulator")),
            "",
        ],
        [
            "emulator CPU per GiB, upload (s)",
            number(up_d.cpu_per_gib("emulator")),
            number(up_p.cpu_per_gib("emulator")),
            "",
        ],
    ]
    notes = [
        f"One connection per transfer, streamed through a {wire_buffer()} buffer; every download's "
        "size and sha256 checked against the emulator's generator, every upload's size and "
        "sha256 as the emulator received it. RSS sampled every 50 ms "
        f"({down_p.rss_samples} samples during the proxied download, {up_p.rss_samples} during "
        "the upload); growth is the peak minus the value just before the transfer.",
    ]
    return Section("Streaming", rows[0], rows[1:], notes)


def wire_buffer() -> str:
    from wire import STREAM_BUFFER

    return f"{STREAM_BUFFER // MIB} MiB"


def token_section(
    args: argparse.Namespace,
    labels: list[str],
    exchanges: dict[str, TokenRun],
    refreshes: dict[str, TokenRun],
    minting: dict[str, float],
) -> Section:
    header = ["measure", *labels]
    rows = []

    def row(measure: str, values: list[float | None], digits: int = 2) -> None:
        rows.append([measure, *(number(v, digits) for v in values)])

    ex = [exchanges[n] for n in labels]
    rf = [refreshes[n] for n in labels]
    row(
        f"code exchanges/s ({args.codes} codes, c={TOKEN_CONCURRENCY})",
        [r.per_second for r in ex],
        0,
    )
    row("code exchange p50 latency (ms)", [summary_ms(r.latencies)["p50_ms"] for r in ex])
    row("bridge CPU per code exchange (ms)", [per_request_ms(r, "bridge") for r in ex], 3)
    row(f"refreshes/s ({args.chains} chains)", [r.per_second for r in rf], 0)
    row("refresh p50 latency (ms)", [summary_ms(r.latencies)["p50_ms"] for r in rf])
    row("refresh p99 latency (ms)", [summary_ms(r.latencies)["p99_ms"] for r in rf])
    row("bridge CPU per refresh (ms)", [per_request_ms(r, "bridge") for r in rf], 3)
    row("sign-ins/s while minting codes (not a /token figure)", [minting[n] for n in labels], 1)
    notes = [
        f"Codes minted beforehand through the full sign-in flow ({args.codes} per bridge plus "
        f"{args.chains} to start the chains; code lifetime set to {CODE_TTL} s for the bench), "
        f"then exchanged {TOKEN_CONCURRENCY} at a time. Each refresh presents the refresh token "
        f"the previous one in its chain returned; {args.chains} chains run for "
        f"{args.duration:g} s.",
    ]
    return Section("/token", header, rows, notes)


def verify_section(cost: VerifyCost, bridge_cpu_ms: float | None) -> Section:
    ordered = sorted(cost.uncached_us)
    p50 = percentile(ordered, 50)
    rows = [
        ["uncached verify, p50 (us)", number(p50, 1)],
        ["uncached verify, p90 (us)", number(percentile(ordered, 90), 1)],
        ["uncached verify, mean (us)", number(sum(ordered) / len(ordered), 1)],
        ["cached verify, mean (us)", number(cost.cached_us, 2)],
    ]
    notes = [
        f"In this process, `AccessTokenVerifier` with the bench bridge's key, issuer and "
        f"audience, on access tokens that bridge issued: uncached = signature and claims of a "
        f"token not seen before ({len(ordered)} verifications over {cost.distinct_tokens} "
        f"distinct tokens); cached = the same token again ({cost.cached_calls:,} calls).",
    ]
    if bridge_cpu_ms:
        notes.append(
            f"The uncached p50 is {p50 / 1000 / bridge_cpu_ms:.0%} of the 1-worker bridge's CPU "
            f"per small proxied request ({bridge_cpu_ms:.3f} ms, first concurrency level); "
            "the proxy verifies a given token once and then takes the cached path."
        )
    return Section("JWT verification (access token, ES256)", ["measure", "value"], rows, notes)


def settings_text(args: argparse.Namespace) -> list[str]:
    run_for = f"{args.count} requests" if args.count else f"{args.duration:g} s"
    return [
        f"- preset: {args.preset}" + (" (--quick)" if args.quick else ""),
        f"- bridge workers measured: {', '.join(map(str, args.workers))} (one bridge process "
        "tree each, all running for the whole run, each idle while another is measured)",
        f"- small call at c=1: {args.requests} requests per target after {args.warmup} warm-up, "
        "targets taking turns request by request",
        f"- small call throughput: c={', '.join(map(str, args.concurrency))}; {run_for} per "
        "target and level after 1 s warm-up; one keep-alive connection per worker",
        f"- streaming: {args.download_mib} MiB download, {args.upload_mib} MiB upload, each "
        f"once direct and once through the {args.workers[0]}-worker bridge",
        f"- /token: {args.codes} codes exchanged at c={TOKEN_CONCURRENCY}; {args.chains} refresh "
        f"chains for {args.duration:g} s",
        f"- JWT verification: {args.verify_samples} uncached and {CACHED_VERIFY_CALLS:,} cached "
        "verifications",
        "- load client: bench/wire.py (minimal HTTP/1.1) in the benchmark process; client, "
        "emulator and bridge share the machine's cores",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A SIGTERM ends the run through the finally blocks, so the servers never outlive it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    host = machine()
    began = time.monotonic()
    load_before = load_average()
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    packages = ", ".join(f"{name} {v}" for name, v in host["packages"].items())
    header_lines = [
        f"- date: {date}",
        f"- machine: {host['cores']} cores ({host['usable_cores']} usable), "
        f"{host['cpu_model']}, {host['platform']}",
        f"- {host['implementation']} {host['python']}; {packages}",
        f"- load average (1, 5, 15 min) at the start: {load_before}",
    ]
    busy = busy_before_run(host["cores"])
    if busy:
        header_lines.append(busy)
    print("\n".join(header_lines))
    print("settings:\n" + "\n".join(settings_text(args)) + "\n", flush=True)

    def step(message: str) -> None:
        print(f"[{time.monotonic() - began:6.1f} s] {message}", flush=True)

    labels: list[str] = []
    try:
        with running_stack(args.workers) as stack:
            bridges = stack.bridges
            targets = [stack.direct, *(b.target for b in bridges)]
            labels = [t.name for t in targets]
            step("servers up, signed in every way; small call latency at c=1")
            latency = {
                name: summary_ms(times)
                for name, times in sequential_latency(targets, args.requests, args.warmup).items()
            }
            runs: dict[int, dict[str, Throughput]] = {}
            for c in args.concurrency:
                step(f"small call throughput at c={c}")
                runs[c] = {
                    stack.direct.name: throughput(
                        stack.direct, c, args.duration, args.count, stack.pids()
                    )
                }
                for b in bridges:
                    runs[c][b.target.name] = throughput(
                        b.target, c, args.duration, args.count, stack.pids(b)
                    )

            first = bridges[0]
            size_down, size_up = args.download_mib * MIB, args.upload_mib * MIB
            transfers: dict[str, Transfer] = {}
            step(f"streaming: {args.download_mib} MiB download, direct then proxied")
            transfers["download direct"] = measure_download(
                stack.direct, size_down, stack.pids(first), None
            )
            transfers["download proxied"] = measure_download(
                first.target, size_down, stack.pids(first), first.pid
            )
            step(f"streaming: {args.upload_mib} MiB upload, direct then proxied")
            transfers["upload direct"] = measure_upload(
                stack.direct, size_up, stack.pids(first), None
            )
            transfers["upload proxied"] = measure_upload(
                first.target, size_up, stack.pids(first), first.pid
            )

            exchanges: dict[str, TokenRun] = {}
            refreshes: dict[str, TokenRun] = {}
            minting: dict[str, float] = {}
            access_tokens: list[str] = []
            for b in bridges:
                step(
                    f"/token, {b.label}: minting {args.codes + args.chains} codes "
                    "through the sign-in flow"
                )
                started = time.perf_counter()
                codes = mint_codes(b, stack.emulator.platform_url, args.codes + args.chains)
                minting[b.target.name] = len(codes) / (time.perf_counter() - started)
                chain_starts = start_chains(b, codes[: args.chains])
                step(f"/token, {b.label}: {args.codes} code exchanges, then refresh chains")
                exchanges[b.target.name] = code_exchanges(
                    b, codes[args.chains :], TOKEN_CONCURRENCY, stack.pids(b)
                )
                refreshes[b.target.name], issued = refresh_chains(
                    b, chain_starts, args.duration, stack.pids(b)
                )
                if b is first:
                    access_tokens = issued
            step("JWT verification cost, in this process")
            verify = jwt_verify_cost(first, access_tokens, args.verify_samples, CACHED_VERIFY_CALLS)
    except BadAnswer as exc:
        print(f"bench: a measured request failed, no figures: {exc}", file=sys.stderr)
        return 1
    took = time.monotonic() - began
    load_after = load_average()

    first_c = args.concurrency[0]
    bridge_cpu_ms = per_request_ms(runs[first_c][labels[1]], "bridge")
    sections = [
        small_call_section(args, labels, latency, runs),
        streaming_section(bridges[0].label, transfers),
        token_section(args, labels[1:], exchanges, refreshes, minting),
        verify_section(verify, bridge_cpu_ms),
    ]
    header_lines += [f"- load average at the end: {load_after}", f"- the run took {took:.0f} s"]
    print()
    for section in sections:
        print(section.render())
    print(f"the run took {took:.0f} s; load average at the end: {load_after}")

    document = [
        "# Benchmark results",
        "",
        "Written by `bench/run.py`; every run overwrites this file. How to read the figures: "
        "bench/README.md.",
        "",
        *header_lines,
        "",
        "## Settings",
        "",
        *settings_text(args),
        "",
        *(section.render() for section in sections),
    ]
    args.results.write_text("\n".join(document).rstrip() + "\n", encoding="utf-8")
    print(f"results written to {args.results}")

    if args.json:
        ordered = sorted(verify.uncached_us)
        figures: dict[str, Any] = {
            "machine": host,
            "date": date,
            "load_average": {"start": load_before, "end": load_after},
            "seconds": took,
            "settings": {
                "preset": args.preset,
                "requests": args.requests,
                "warmup": args.warmup,
                "duration_s": args.duration,
                "count": args.count,
                "concurrency": args.concurrency,
                "workers": args.workers,
                "download_bytes": size_down,
                "upload_bytes": size_up,
                "codes": args.codes,
                "chains": args.chains,
                "call": CALL,
            },
            "latency_c1": latency,
            "throughput": {
                str(c): {
                    name: {
                        "requests": run.completed,
                        "seconds": run.seconds,
                        "requests_per_s": run.per_second,
                        "latency": summary_ms(run.latencies),
                        "cpu_seconds": run.cpu,
                    }
                    for name, run in by_target.items()
                }
                for c, by_target in runs.items()
            },
            "streaming": {
                key: {
                    "bytes": t.size,
                    "seconds": t.seconds,
                    "mib_per_s": t.mib_per_s,
                    "cpu_seconds": t.cpu,
                    "bridge_rss_growth_kib": t.rss_growth_kib,
                    "rss_samples": t.rss_samples,
                    "verified": t.verified,
                }
                for key, t in transfers.items()
            },
            "token": {
                kind: {
                    name: {
                        "completed": r.completed,
                        "seconds": r.seconds,
                        "per_s": r.per_second,
                        "latency": summary_ms(r.latencies),
                        "cpu_seconds": r.cpu,
                    }
                    for name, r in group.items()
                }
                for kind, group in (("code_exchange", exchanges), ("refresh", refreshes))
            },
            "sign_ins_per_s_minting": minting,
            "jwt_verify_us": {
                "uncached_p50": percentile(ordered, 50),
                "uncached_p90": percentile(ordered, 90),
                "uncached_mean": sum(ordered) / len(ordered),
                "cached_mean": verify.cached_us,
                "uncached_samples": len(ordered),
                "cached_calls": verify.cached_calls,
            },
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
