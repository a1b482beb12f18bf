"""The IB helper over the proxy: lists in IB's dotted syntax, pagination, streamed files."""

from __future__ import annotations

import hashlib
import itertools
import os
import tracemalloc
from pathlib import Path

import httpx
import pytest
from ib_oauth_bridge_client.helpers import IB, OAuthError

from ib_oauth_bridge.devib import generated_sha256

MiB = 1024 * 1024


def test_user(ib: IB) -> None:
    user = ib.user()
    assert user["ib_client_id"] == ib.ib_client_id
    assert user["ib_api_url"].startswith("http")
    assert user["email"]
    assert user["name"]


def test_resources_with_keywords_and_order(ib: IB) -> None:
    rows = ib.resources(keywords="logo", order="name:1", limit=50)
    assert rows
    for row in rows:
        assert "logo" in (row["name"] + " " + " ".join(row["tags"])).lower()
    names = [row["name"] for row in rows]
    assert names == sorted(names)
    newest = ib.resources(limit=5)  # default order: lastUpdateTime descending
    times = [row["lastUpdateTime"] for row in newest]
    assert len(newest) == 5
    assert times == sorted(times, reverse=True)
    assert ib.resources(offset=3, limit=2) == ib.resources(limit=5)[3:5]


def test_resources_with_other_search_params(ib: IB) -> None:
    rows = ib.resources(folder="Brand", limit=200)
    assert rows
    assert {row["folder"] for row in rows} == {"Brand"}


def test_dotted_path_and_brackets_on_the_wire(ib: IB) -> None:
    url = ib.url("resource.limit(0,10).order(lastUpdateTime:-1)",
                 {"searchParams[keywords]": "a b&c"})
    assert url.endswith("/resource.limit(0,10).order(lastUpdateTime:-1)"
                        "?searchParams[keywords]=a%20b%26c")


def test_iter_resources_paginates_past_a_page(ib: IB) -> None:
    pages: list[str] = []
    ib._http.event_hooks["request"].append(lambda request: pages.append(request.url.path))
    try:
        rows = list(ib.iter_resources(page_size=50, order="name:1"))
    finally:
        ib._http.event_hooks["request"].pop()
    _, count = ib.list_page("resource", limit=1)
    assert count >= 120
    assert len(rows) == count
    assert len({row["_id"] for row in rows}) == count
    assert len([p for p in pages if "resource.limit" in p]) == -(-count // 50)


@pytest.mark.parametrize("kwargs", [
    {"order": "name:1).limit(0,1000"},
    {"order": "name(1)"},
    {"order": "name:2"},
    {"order": ""},
    {"order": "name;drop"},
    {"limit": "10"},
    {"limit": True},
    {"limit": 0},
    {"limit": 1001},
    {"offset": -1},
    {"offset": 1.5},
    {"keywords": 5},
    {"bad]name": "x"},
    {"folder": ["a"]},
])
def test_malformed_list_arguments_raise_value_error(ib: IB, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ib.resources(**kwargs)  # type: ignore[arg-type]


def test_iter_resources_validates_before_the_first_request(ib: IB) -> None:
    with pytest.raises(ValueError):
        next(ib.iter_resources(page_size=0))


def test_api_errors_are_typed(ib: IB) -> None:
    with pytest.raises(OAuthError) as caught:
        ib.get("resource/does-not-exist")
    assert caught.value.status_code == 404
    assert caught.value.error == "not_found"
    assert caught.value.error_description
    with pytest.raises(OAuthError) as caught:
        ib.get("nothing.limit(1)")
    assert caught.value.status_code == 404


def test_download_streams_to_a_file(ib: IB, tmp_path: Path) -> None:
    size, seed = 5 * MiB, 7
    calls: list[tuple[int, int | None]] = []
    tracemalloc.start()
    try:
        dest = ib.download(f"file/generated?size={size}&seed={seed}", tmp_path / "big.bin",
                           progress=lambda done, total: calls.append((done, total)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dest == tmp_path / "big.bin"
    digest = hashlib.sha256(dest.read_bytes()).hexdigest()
    assert digest == generated_sha256(size, seed)
    assert len(calls) >= size // (64 * 1024)  # one callback per chunk: streamed, not buffered
    assert calls[-1] == (size, size)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(calls))
    assert peak < 2 * MiB, f"download peaked at {peak} bytes of Python memory"
    assert os.listdir(tmp_path) == ["big.bin"]


def test_download_to_a_directory_with_a_text_progress_bar(
    ib: IB, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = ib.download("file/generated", tmp_path, params={"size": 200_000, "seed": 3})
    assert dest == tmp_path / "generated-3.bin"
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == generated_sha256(200_000, 3)
    assert "195.3 KiB / 195.3 KiB" in capsys.readouterr().err


def test_download_by_resource_id_uses_the_template(ib: IB, tmp_path: Path) -> None:
    class Generated(IB):
        RESOURCE_FILE_PATH = "file/generated?size=1000&seed={id}"

    generated = Generated(ib.base_url, ib.holder)
    try:
        by_id = generated.download("42", tmp_path / "a", progress=False)
        by_row = generated.download({"_id": "42"}, tmp_path / "b", progress=False)
    finally:
        generated.close()
    assert by_id.read_bytes() == by_row.read_bytes()
    assert hashlib.sha256(by_id.read_bytes()).hexdigest() == generated_sha256(1000, 42)


def test_failed_download_leaves_nothing(ib: IB, tmp_path: Path) -> None:
    with pytest.raises(OAuthError) as caught:
        ib.download("file/generated?size=-1", tmp_path / "x.bin", progress=False)
    assert caught.value.status_code == 400
    assert os.listdir(tmp_path) == []


def test_upload_streams_a_file(ib: IB, tmp_path: Path) -> None:
    source = tmp_path / "upload.bin"
    data = os.urandom(3 * MiB)
    source.write_bytes(data)
    calls: list[tuple[int, int | None]] = []
    tracemalloc.start()
    try:
        answer = ib.upload(source, target="Uploads/Brand", content_type="image/png",
                           progress=lambda done, total: calls.append((done, total)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer["sha256"] == hashlib.sha256(data).hexdigest()
    assert answer["size"] == len(data)
    assert answer["target"] == "Uploads/Brand"
    assert answer["contentType"] == "image/png"
    assert len(calls) == 3 * MiB // (64 * 1024)
    assert calls[-1] == (len(data), len(data))
    assert peak < 2 * MiB, f"upload peaked at {peak} bytes of Python memory"


def test_upload_after_a_refused_token_refreshes_and_resends(ib: IB, tmp_path: Path) -> None:
    import dataclasses

    source = tmp_path / "small.txt"
    source.write_bytes(b"hello" * 400_000)  # 2 MB: more than the socket buffers hold
    ib.holder._tokens = dataclasses.replace(ib.holder.tokens, access_token="revoked-looking")
    answer = ib.upload(source, target="t")
    assert answer["sha256"] == hashlib.sha256(b"hello" * 400_000).hexdigest()
    assert answer["contentType"] == "text/plain"
    assert ib.holder.tokens.access_token != "revoked-looking"


def test_create_resource_and_get(ib: IB) -> None:
    row = ib.create_resource("SDK test asset", "Brand", tags=["sdk", "test"])
    assert row["name"] == "SDK test asset"
    assert row["tags"] == ["sdk", "test"]
    fetched = ib.get(f"resource/{row['_id']}")
    assert fetched["response"]["_id"] == row["_id"]
    with pytest.raises(ValueError):
        ib.create_resource("", "Brand")
    with pytest.raises(ValueError):
        ib.create_resource("x", "Brand", tags="notalist")


def test_request_passes_anything_else(ib: IB) -> None:
    answer = ib.request("GET", "complianceReview/abc")
    assert isinstance(answer, httpx.Response)
    assert answer.json()["response"]["_id"] == "abc"
