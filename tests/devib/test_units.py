"""In-process checks of the pure parts: the dotted-call parser and the generated file bytes."""

from __future__ import annotations

import hashlib

import pytest

from ib_oauth_bridge.devib import EmulatorConfig, generated_bytes, generated_sha256
from ib_oauth_bridge.devib.dotted import MAX_LIMIT, DottedSyntaxError, ListQuery, parse


def test_parse_combinations() -> None:
    assert parse("resource") == ListQuery("resource")
    assert parse("user.limit(7)") == ListQuery("user", offset=0, limit=7)
    assert parse("resource.order(lastUpdateTime:-1).limit(20,10)") == ListQuery(
        "resource", offset=20, limit=10, order=(("lastUpdateTime", -1),)
    )
    assert parse("resource.order(name:1, file.size:-1)").order == (
        ("name", 1),
        ("file.size", -1),
    )
    assert parse(f"resource.limit({MAX_LIMIT * 5})").limit == MAX_LIMIT


@pytest.mark.parametrize("text", ["", ".limit(1)", "9x", "resource.limit(1", "resource.(1)"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(DottedSyntaxError):
        parse(text)


def test_generated_bytes_are_deterministic_and_chunked() -> None:
    size = 200_000
    chunks = list(generated_bytes(size, seed=1))
    assert sum(len(c) for c in chunks) == size
    assert max(len(c) for c in chunks) <= 64 * 1024
    data = b"".join(chunks)
    assert data == b"".join(generated_bytes(size, seed=1))
    assert data != b"".join(generated_bytes(size, seed=2))
    assert generated_sha256(size, 1) == hashlib.sha256(data).hexdigest()
    assert list(generated_bytes(0)) == []
    with pytest.raises(ValueError, match="negative"):
        list(generated_bytes(-1))


def test_config_urls() -> None:
    config = EmulatorConfig(platform_host="p.test", api_host="a.test", port=9, scheme="https")
    assert config.platform_url == "https://p.test:9"
    assert config.api_v3_url == "https://a.test:9"
    assert EmulatorConfig().platform_url == "http://127.0.0.1:8001"
    assert EmulatorConfig().api_v3_url == "http://localhost:8001"
