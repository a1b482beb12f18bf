"""Streaming download and upload through the emulator's v3 file endpoints."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest

from ib_oauth_bridge.devib import generated_bytes, generated_sha256

if TYPE_CHECKING:
    from .conftest import RunningEmulator


def test_download_5mb_matches_generated_hash(
    ib: RunningEmulator, client: httpx.Client, sid: str
) -> None:
    size = 5 * 1000 * 1000 + 7  # not a multiple of the block, so the tail is exercised
    digest, received = hashlib.sha256(), 0
    with client.stream(
        "GET",
        ib.v3("file/generated"),
        params={"size": size, "seed": 7},
        headers={"sid": sid},
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/octet-stream"
        assert answer.headers["content-length"] == str(size)
        for chunk in answer.iter_raw():
            digest.update(chunk)
            received += len(chunk)
    assert received == size
    assert digest.hexdigest() == generated_sha256(size, 7)
    assert digest.hexdigest() != generated_sha256(size, 8)


def test_download_needs_sid(ib: RunningEmulator, client: httpx.Client) -> None:
    answer = client.get(ib.v3("file/generated"), params={"size": 10})
    assert answer.status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"size": "-1"},
        {"size": "abc"},
        {"size": str(8 * 1024**3 + 1)},
        {"size": "1e6"},
        {"size": "10", "seed": "x"},
    ],
)
def test_download_bad_size_is_400(
    ib: RunningEmulator, client: httpx.Client, sid: str, query: dict[str, str]
) -> None:
    answer = client.get(ib.v3("file/generated"), params=query, headers={"sid": sid})
    assert answer.status_code == 400
    assert answer.json()["error"] == "bad_request"


def test_large_download_starts_streaming_at_once(
    ib: RunningEmulator, client: httpx.Client, sid: str
) -> None:
    # 8 GiB cannot have been built in memory; reading a little and closing must just work.
    size = 8 * 1024**3
    with client.stream(
        "GET", ib.v3("file/generated"), params={"size": size}, headers={"sid": sid}
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-length"] == str(size)
        first = next(answer.iter_raw())
    assert first == next(generated_bytes(size))[: len(first)]


def test_upload_3mb_is_streamed_and_hashed(
    ib: RunningEmulator, client: httpx.Client, sid: str
) -> None:
    size = 3 * 1024 * 1024 + 3
    chunks_sent = 0

    def body() -> Iterator[bytes]:
        nonlocal chunks_sent
        for chunk in generated_bytes(size, seed=3):
            chunks_sent += 1
            yield chunk

    answer = client.post(
        ib.v3("file"),
        params={"target": "folder[abc](1)"},
        headers={"sid": sid, "content-type": "video/mp4"},
        content=body(),
    )
    assert answer.status_code == 200, answer.text
    expected = {
        "size": size,
        "sha256": generated_sha256(size, 3),
        "target": "folder[abc](1)",
        "contentType": "video/mp4",
    }
    assert answer.json() == {"response": expected}
    assert chunks_sent > 1
    # The request went out chunked: no Content-Length, so the server had to stream it.
    sent = client.get(f"{ib.platform}/_emulator/requests").json()["requests"][-1]
    assert ["transfer-encoding", "chunked"] in sent["headers"]
    uploads = client.get(f"{ib.platform}/_emulator/uploads").json()["uploads"]
    assert uploads == [expected]


def test_upload_needs_sid_and_records_nothing(ib: RunningEmulator, client: httpx.Client) -> None:
    answer = client.post(ib.v3("file"), params={"target": "x"}, content=b"abc")
    assert answer.status_code == 401
    assert client.get(f"{ib.platform}/_emulator/uploads").json() == {"uploads": []}
