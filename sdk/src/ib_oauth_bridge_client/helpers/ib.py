"""`IB`: IntelligenceBank's v3 API through the bridge's proxy, with the list syntax built for you
and files streamed both ways."""

from __future__ import annotations

import contextlib
import mimetypes
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from . import dotted
from ._http import USER_AGENT, json_object, network_errors, raise_for_error
from .auth import BridgeAuth, bearer_of
from .exceptions import BridgeError
from .holder import TokenHolder
from .progress import ProgressCallback, reporter

CHUNK_SIZE = 64 * 1024
_ID = re.compile(r"[A-Za-z0-9_-]+")


def query_string(params: Mapping[str, object]) -> str:
    """Encode query parameters, keeping IB's ``searchParams[...]`` brackets literal (as IB's own
    documentation writes them); values are fully percent-encoded. None values are skipped."""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        parts.append(f"{quote(key, safe='[]')}={quote(text, safe='')}")
    return "&".join(parts)


class IB:
    """The IntelligenceBank v3 API of the signed-in user, through the bridge.

    Paths are relative to ``<base_url>/proxy/api/3.0.0/<ib_client_id>/``; the client id comes
    from `/userinfo` on first use. Every call is authenticated with `BridgeAuth` (refresh before
    expiry, one retry after a 401). Error answers raise `OAuthError` (with IB's or the bridge's
    `error` and description), transport failures `NetworkError`, malformed answers `BridgeError`.

    Args:
        base_url: the bridge's base URL.
        holder: the tokens of the sign-in (from `login()` or `TokenHolder.from_store()`).
        http: an httpx client to use; by default one is created (and closed by `close()`).
        timeout: read timeout in seconds for the default client (per read, so large files are
            fine).
    """

    RESOURCE_FILE_PATH = "resource/{id}/file"
    """Path template `download()` uses for a resource id or resource row. IB's documentation
    available to this project does not name the file endpoint: override it if yours differs."""

    def __init__(
        self,
        base_url: str,
        holder: TokenHolder,
        *,
        http: httpx.Client | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.holder = holder
        self.auth = BridgeAuth(holder)
        self._owns_http = http is None
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=10.0), headers={"User-Agent": USER_AGENT}
        )
        self._userinfo: dict[str, Any] | None = None

    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> IB:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- the user and the base path ------------------------------------------------------------

    def user(self, *, refresh: bool = False) -> dict[str, Any]:
        """The signed-in user's claims from `/userinfo` (``sub``, ``name``, ``email``,
        ``ib_client_id``, ``ib_api_url``, ...); cached after the first call."""
        if self._userinfo is None or refresh:
            with network_errors("userinfo"):
                response = self._http.get(
                    self.holder.metadata.userinfo_endpoint,
                    auth=self.auth,
                    headers={"Accept": "application/json"},
                )
            raise_for_error(response)
            info = json_object(response, "userinfo")
            client_id = info.get("ib_client_id")
            if not isinstance(client_id, str) or not _ID.fullmatch(client_id):
                raise BridgeError("userinfo: 'ib_client_id' is missing or malformed")
            self._userinfo = info
        return dict(self._userinfo)

    @property
    def ib_client_id(self) -> str:
        """IB's customer id, the ``{clientid}`` of v3 paths."""
        return str(self.user()["ib_client_id"])

    def url(self, path: str, params: Mapping[str, object] | None = None) -> str:
        """The proxy URL of an API path (relative to ``api/3.0.0/<clientid>/``)."""
        if not isinstance(path, str):
            raise ValueError("path must be a string")
        url = f"{self.base_url}/proxy/api/3.0.0/{self.ib_client_id}/{path.lstrip('/')}"
        query = query_string(params or {})
        if query:
            url += ("&" if "?" in url else "?") + query
        return url

    # -- generic calls -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        json: Any = None,
        content: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send any request to the API; returns the (read) response, raising for 4xx/5xx."""
        with network_errors(f"{method} {path}"):
            response = self._http.request(
                method,
                self.url(path, params),
                json=json,
                content=content,
                headers=dict(headers or {}),
                auth=self.auth,
            )
        raise_for_error(response)
        return response

    def get(self, path: str, **params: object) -> dict[str, Any]:
        """GET an API path and return its JSON document, e.g.
        ``ib.get("complianceReview/abc")`` or ``ib.get("user.limit(10)", verbose=True)``."""
        response = self.request("GET", path, params=params, headers={"Accept": "application/json"})
        return json_object(response, f"GET {path}")

    # -- resources ----------------------------------------------------------------------------

    def list_page(
        self,
        entity: str,
        *,
        offset: int = 0,
        limit: int = 100,
        order: str | None = None,
        keywords: str | None = None,
        **search_params: object,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of any IB list (``resource``, ``user``, ``filter``...): (rows, total count).

        Raises:
            ValueError: invalid offset/limit/order/search parameters (nothing is sent).
        """
        call = dotted.list_call(entity, offset=offset, limit=limit, order=order)
        query = dotted.search_params(keywords, search_params)
        document = self.get(call, **query)
        body = document.get("response")
        if not isinstance(body, dict):
            raise BridgeError(f"{entity} list: no 'response' object in the answer")
        rows, count = body.get("rows"), body.get("count")
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise BridgeError(f"{entity} list: 'response.rows' is not a list of objects")
        if isinstance(count, bool) or not isinstance(count, int):
            count = offset + len(rows)  # tolerate a missing count: no further pages assumed
        return rows, count

    def resources(
        self,
        *,
        offset: int = 0,
        limit: int = 100,
        order: str | None = "lastUpdateTime:-1",
        keywords: str | None = None,
        **search_params: object,
    ) -> list[dict[str, Any]]:
        """One page of resources: ``resource.limit(offset,limit).order(...)`` with
        ``searchParams[keywords]`` and any other ``searchParams[name]=value`` from keyword
        arguments (``folder="Brand"``).

        Args:
            offset: the first row, from 0.
            limit: how many rows, 1..1000.
            order: ``"field:-1"``/``"field:1"``/``"-field"``, several separated by commas; None
                for IB's default order.
            keywords: free-text search.

        Raises:
            ValueError: malformed arguments (checked before anything is sent).
        """
        rows, _ = self.list_page(
            "resource", offset=offset, limit=limit, order=order, keywords=keywords, **search_params
        )
        return rows

    def iter_resources(
        self,
        page_size: int = 100,
        *,
        offset: int = 0,
        order: str | None = "lastUpdateTime:-1",
        keywords: str | None = None,
        **search_params: object,
    ) -> Iterator[dict[str, Any]]:
        """Every matching resource, fetching `page_size` rows per request until the list's
        `count` is reached."""
        dotted.list_call("resource", offset=offset, limit=page_size, order=order)  # validate now
        while True:
            rows, count = self.list_page(
                "resource",
                offset=offset,
                limit=page_size,
                order=order,
                keywords=keywords,
                **search_params,
            )
            yield from rows
            offset += len(rows)
            if not rows or offset >= count:
                return

    def create_resource(
        self, name: str, folder: str, tags: Sequence[str] = (), **fields: Any
    ) -> dict[str, Any]:
        """Create a resource (``POST resource`` with ``{"data": {...}}``); returns the new row."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name must be a non-empty string")
        if not isinstance(folder, str):
            raise ValueError("folder must be a string")
        if isinstance(tags, str) or not all(isinstance(tag, str) for tag in tags):
            raise ValueError("tags must be a sequence of strings")
        data = {**fields, "name": name, "folder": folder, "tags": list(tags)}
        response = self.request(
            "POST", "resource", json={"data": data}, headers={"Accept": "application/json"}
        )
        return _unwrap(json_object(response, "create resource"), "create resource")

    # -- files --------------------------------------------------------------------------------

    def download(
        self,
        source: str | Mapping[str, Any],
        dest: str | os.PathLike[str],
        *,
        params: Mapping[str, object] | None = None,
        progress: bool | ProgressCallback = True,
        chunk_size: int = CHUNK_SIZE,
    ) -> Path:
        """Stream a file to `dest` with constant memory; returns the written path.

        Args:
            source: an API path (``"file/generated?size=5"``), a resource id, or a resource row
                (its ``_id``); ids use `RESOURCE_FILE_PATH`.
            dest: the file to write, or an existing directory (the name then comes from the
                answer's Content-Disposition).
            params: extra query parameters.
            progress: True for a text bar on stderr, False for none, or
                ``callback(bytes_done, total_or_None)`` called after every chunk.

        The body goes to a temporary file next to `dest`, which replaces `dest` only once the
        whole body (per Content-Length) has arrived; on any error `dest` is left untouched.
        """
        path = self._file_path(source)
        target = Path(dest)
        tick, finish = reporter(progress, f"download {target.name or path}")
        with (
            network_errors(f"download {path}"),
            self._http.stream("GET", self.url(path, params), auth=self.auth) as response,
        ):
            raise_for_error(response)
            if target.is_dir():
                target = target / _attachment_name(response, path)
            total = _content_length(response)
            tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in response.iter_bytes(chunk_size):
                        out.write(chunk)
                        tick(response.num_bytes_downloaded, total)
                    out.flush()
                    os.fsync(out.fileno())
                done = response.num_bytes_downloaded
                if total is not None and done != total:
                    raise BridgeError(f"download {path}: got {done} of {total} bytes")
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
        finish(done, total)
        return target

    def upload(
        self,
        file: str | os.PathLike[str],
        *,
        target: str,
        content_type: str | None = None,
        progress: bool | ProgressCallback = False,
        chunk_size: int = CHUNK_SIZE,
    ) -> dict[str, Any]:
        """Stream a file to ``POST file?target=...`` with constant memory; returns IB's
        ``response`` object.

        The body is a generator, so it cannot be replayed by `BridgeAuth`: after a 401 this
        method refreshes once itself and sends the file again from the start.
        """
        source = Path(file)
        size = source.stat().st_size
        ctype = content_type or mimetypes.guess_type(source.name)[0] or "application/octet-stream"
        tick, finish = reporter(progress, f"upload {source.name}")
        url = self.url("file", {"target": target})
        headers = {
            "Content-Type": ctype,
            "Content-Length": str(size),
            "Accept": "application/json",
        }

        def body() -> Iterator[bytes]:
            done = 0
            with source.open("rb") as handle:
                while chunk := handle.read(chunk_size):
                    done += len(chunk)
                    tick(done, size)
                    yield chunk

        for attempt in (1, 2):
            with network_errors(f"upload {source.name}"):
                response = self._http.post(url, content=body(), headers=headers, auth=self.auth)
            if response.status_code == 401 and attempt == 1:
                self.holder.refresh(stale=bearer_of(response.request))
                continue
            break
        raise_for_error(response)
        finish(size, size)
        return _unwrap(json_object(response, "upload"), "upload")

    def _file_path(self, source: str | Mapping[str, Any]) -> str:
        if isinstance(source, Mapping):
            rid = source.get("_id")
            if not isinstance(rid, str) or not _ID.fullmatch(rid):
                raise ValueError("the resource has no valid '_id'")
            return self.RESOURCE_FILE_PATH.format(id=rid)
        if not isinstance(source, str) or not source:
            raise ValueError("source must be an API path, a resource id or a resource row")
        if _ID.fullmatch(source):
            return self.RESOURCE_FILE_PATH.format(id=source)
        return source


def _unwrap(document: dict[str, Any], what: str) -> dict[str, Any]:
    body = document.get("response", document)
    if not isinstance(body, dict):
        raise BridgeError(f"{what}: 'response' is not an object")
    return body


def _content_length(response: httpx.Response) -> int | None:
    raw = response.headers.get("Content-Length")
    return int(raw) if raw is not None and raw.isdigit() else None


def _attachment_name(response: httpx.Response, path: str) -> str:
    disposition = response.headers.get("Content-Disposition", "")
    match = re.search(r'filename="?([^";]+)"?', disposition)
    name = match.group(1) if match else path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    name = os.path.basename(name.replace("\\", "/")).strip()
    return name if name and name not in (".", "..") else "download"
