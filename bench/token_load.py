"""/token under load, and what verifying an access token costs.

- Authorization-code exchanges: codes minted beforehand through the real sign-in flow
  (tests/flow.py `authorize`, in a few threads), then exchanged by concurrent connections.
- Refreshes along rotation chains: each chain starts from its own grant, and each refresh
  presents the refresh token the previous one returned, as a client must. Several chains run at
  once for throughput; a chain stops early at MAX_CHAIN_LENGTH refreshes, well inside the
  bridge's per-grant limit.
- JWT verification, in this process: `AccessTokenVerifier` from the bridge's own code with the
  bench bridge's key, on real tokens it issued: the uncached path (signature and claims, each
  token seen for the first time) and the cached path (the same token again).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from load import BadAnswer, CPUMeter
from stack import BridgeUnderTest
from wire import Connection

from flow import Authorized, authorize, exchange
from ib_oauth_bridge.oauth.keys import SigningKeys
from ib_oauth_bridge.oauth.tokens import AccessTokenVerifier, InvalidAccessToken

PUBLIC_CLIENT = "mcp-public-client"  # the bridge's well-known public client (tests/flow.py)
MINT_THREADS = 16  # a sign-in mostly waits (the login page polls once a second)
MAX_CHAIN_LENGTH = 5000  # the bridge ends a grant after 10,000 refreshes by default


@dataclass
class TokenRun:
    completed: int
    seconds: float
    latencies: list[float]
    cpu: dict[str, float | None]

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds


def mint_codes(bridge: BridgeUnderTest, platform_url: str, count: int) -> list[Authorized]:
    """`count` authorization codes, each from a full sign-in (a browser's requests and IB's
    login form), a few at a time."""
    with ThreadPoolExecutor(MINT_THREADS, thread_name_prefix="mint") as pool:
        return list(pool.map(lambda _: authorize(bridge.bridge.url, platform_url), range(count)))


def start_chains(bridge: BridgeUnderTest, codes: Sequence[Authorized]) -> list[str]:
    """Exchange these codes (unmeasured) for the refresh tokens that start the chains."""
    tokens = []
    for code in codes:
        answer = exchange(bridge.bridge.url, code)
        if answer.status_code != 200:
            raise BadAnswer(f"starting a refresh chain: {answer.status_code} {answer.text[:200]}")
        tokens.append(answer.json()["refresh_token"])
    return tokens


def _token_answer(what: str, status: int, body: bytes) -> dict[str, str]:
    if status != 200:
        raise BadAnswer(f"{what}: status {status}: {body[:200]!r}")
    answer: dict[str, str] = json.loads(body)
    return answer


async def _exchanges(
    url: str, codes: Sequence[Authorized], concurrency: int, meter: CPUMeter
) -> tuple[float, list[float]]:
    queue = list(codes)
    latencies: list[float] = []

    async def worker(connection: Connection) -> None:
        while queue:
            code = queue.pop()
            started = time.perf_counter()
            status, body = await connection.post_form(
                {
                    "grant_type": "authorization_code",
                    "code": code.code,
                    "redirect_uri": code.redirect_uri,
                    "client_id": code.client_id,
                    "code_verifier": code.verifier,
                }
            )
            latencies.append(time.perf_counter() - started)
            _token_answer("code exchange", status, body)

    connections = [Connection(url, {}) for _ in range(concurrency)]
    try:
        # Connections open before the clock starts, as the other measurements' are.
        await asyncio.gather(*(connection.open() for connection in connections))
        with meter:
            started = time.perf_counter()
            await asyncio.gather(*(worker(connection) for connection in connections))
            seconds = time.perf_counter() - started
    finally:
        await asyncio.gather(*(connection.close() for connection in connections))
    return seconds, latencies


def code_exchanges(
    bridge: BridgeUnderTest, codes: Sequence[Authorized], concurrency: int, pids: Mapping[str, int]
) -> TokenRun:
    """Exchange every code once, `concurrency` at a time, each connection kept alive."""
    meter = CPUMeter(pids)
    seconds, latencies = asyncio.run(
        _exchanges(f"{bridge.bridge.url}/token", codes, concurrency, meter)
    )
    return TokenRun(len(latencies), seconds, latencies, meter.used)


async def _chains(
    url: str, refresh_tokens: Sequence[str], duration: float, meter: CPUMeter
) -> tuple[float, list[float], list[str]]:
    latencies: list[float] = []
    access_tokens: list[str] = []
    deadline = 0.0

    async def chain(connection: Connection, refresh_token: str) -> None:
        for _ in range(MAX_CHAIN_LENGTH):
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            status, body = await connection.post_form(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                    "client_id": PUBLIC_CLIENT,
                }
            )
            latencies.append(time.perf_counter() - started)
            answer = _token_answer("refresh", status, body)
            refresh_token = answer["refresh_token"]  # rotation: the old one is spent
            access_tokens.append(answer["access_token"])

    connections = [Connection(url, {}) for _ in refresh_tokens]
    try:
        await asyncio.gather(*(connection.open() for connection in connections))
        with meter:
            started = time.perf_counter()
            deadline = started + duration
            await asyncio.gather(
                *(
                    chain(connection, token)
                    for connection, token in zip(connections, refresh_tokens, strict=True)
                )
            )
            seconds = time.perf_counter() - started
    finally:
        await asyncio.gather(*(connection.close() for connection in connections))
    return seconds, latencies, access_tokens


def refresh_chains(
    bridge: BridgeUnderTest, refresh_tokens: Sequence[str], duration: float, pids: Mapping[str, int]
) -> tuple[TokenRun, list[str]]:
    """One chain per refresh token, all at once, for `duration` seconds; also returns every
    access token the refreshes issued."""
    meter = CPUMeter(pids)
    seconds, latencies, access_tokens = asyncio.run(
        _chains(f"{bridge.bridge.url}/token", refresh_tokens, duration, meter)
    )
    return TokenRun(len(latencies), seconds, latencies, meter.used), access_tokens


@dataclass
class VerifyCost:
    uncached_us: list[float]  # one figure per verification of a token not seen before
    cached_us: float  # mean over `cached_calls`
    cached_calls: int
    distinct_tokens: int


def jwt_verify_cost(
    bridge: BridgeUnderTest, access_tokens: Sequence[str], uncached_samples: int, cached_calls: int
) -> VerifyCost:
    """Verify real access tokens with the bridge's own verifier class, built as the bridge
    builds it (its key set, issuer, and the proxy as audience). Uncached: a fresh verifier goes
    through the distinct tokens, each verified for the first time, until `uncached_samples`
    are timed. Cached: one token verified `cached_calls` times after a first verification."""
    tokens = list(dict.fromkeys(access_tokens))  # distinct, in order
    if not tokens:
        raise BadAnswer("no access tokens to verify")
    issuer = bridge.bridge.url
    keys = SigningKeys.from_settings(bridge.bridge.env["IB_BRIDGE_SIGNING_KEY"]).verification_set

    def verifier() -> AccessTokenVerifier:
        return AccessTokenVerifier(keys, issuer, f"{issuer}/proxy")

    uncached: list[float] = []
    try:
        while len(uncached) < uncached_samples:
            fresh = verifier()
            for token in tokens[: uncached_samples - len(uncached)]:
                started = time.perf_counter()
                fresh.verify(token)
                uncached.append((time.perf_counter() - started) * 1e6)

        warm = verifier()
        token = tokens[-1]
        warm.verify(token)
        started = time.perf_counter()
        for _ in range(cached_calls):
            warm.verify(token)
        cached = (time.perf_counter() - started) / cached_calls * 1e6
    except InvalidAccessToken as exc:
        raise BadAnswer(f"an access token the bridge issued did not verify: {exc}") from None
    return VerifyCost(uncached, cached, cached_calls, len(tokens))
