"""`TokenHolder`: hands out a valid access token, refreshing it (once, however many callers ask)."""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from typing import Any

import httpx

from ._http import DEFAULT_TIMEOUT, USER_AGENT, error_from, network_errors
from ._token_endpoint import token_request, tokens_from
from .discovery import BridgeMetadata
from .exceptions import BridgeError, OAuthError, SignInRequired
from .stores import TokenStore
from .tokens import Tokens

# How long a caller waits for another caller's refresh before giving up.
LOCK_TIMEOUT = 120.0


class TokenHolder:
    """The tokens of one sign-in, kept valid.

    `access_token()` returns the current access token, refreshing it `refresh_margin` seconds
    before it expires. Refresh tokens rotate and a replayed one revokes the whole grant, so
    refreshes are serialized: one `threading.Lock` for all threads plus one `asyncio.Lock` per
    event loop (tasks wait on it without blocking their loop). A caller that waited while another
    refreshed reuses the new tokens instead of refreshing again, so any number of concurrent
    callers cause exactly one refresh. Before refreshing, tokens another process saved to the
    store (a newer rotation of the same grant) are adopted, so processes sharing a
    `FileTokenStore` do not replay each other's refresh tokens.

    Args:
        metadata: the bridge's metadata (from `discover()`).
        client_id: the OAuth client the tokens were issued to.
        tokens: the current tokens; they are authoritative and written to `store` if it differs.
        store: where rotated tokens are saved; cleared when the grant ends.
        refresh_margin: refresh this many seconds before the access token expires.
        client_secret: for confidential clients (sent with HTTP Basic).
        http: httpx client for the token endpoint (default: a short-lived client).
        async_http: httpx.AsyncClient for the token endpoint in `arefresh()` (async code).
        timeout: seconds for a token request when no client is given.
    """

    def __init__(
        self,
        metadata: BridgeMetadata,
        client_id: str,
        tokens: Tokens,
        store: TokenStore | None = None,
        *,
        refresh_margin: float = 60,
        client_secret: str | None = None,
        http: httpx.Client | None = None,
        async_http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.metadata = metadata
        self.client_id = client_id
        self.store = store
        self.refresh_margin = refresh_margin
        self._client_secret = client_secret
        self._http = http
        self._async_http = async_http
        self._timeout = timeout
        self._tokens = tokens
        self._lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._loop_locks_guard = threading.Lock()
        if store is not None and _load_quietly(store) != tokens:
            store.save(tokens)

    @classmethod
    def from_store(
        cls, metadata: BridgeMetadata, client_id: str, store: TokenStore, **options: Any
    ) -> TokenHolder | None:
        """A holder for the tokens in `store`, or None when it holds none (sign in first)."""
        tokens = store.load()
        return None if tokens is None else cls(metadata, client_id, tokens, store, **options)

    def __repr__(self) -> str:
        return (
            f"TokenHolder(issuer={self.metadata.issuer!r}, client_id={self.client_id!r}, "
            f"tokens={self._tokens!r})"
        )

    @property
    def tokens(self) -> Tokens:
        """The current tokens (possibly expired; use `access_token()` to get a valid one)."""
        return self._tokens

    # -- sync ---------------------------------------------------------------------------------

    def access_token(self) -> str:
        """A valid access token, refreshed first when it expires within `refresh_margin`.

        Raises:
            SignInRequired: the grant has ended.
            NetworkError, OAuthError: the refresh failed otherwise.
        """
        tokens = self._tokens
        if not tokens.expires_within(self.refresh_margin):
            return tokens.access_token
        return self.refresh(stale=tokens.access_token).access_token

    def refresh(self, *, stale: str | None = None) -> Tokens:
        """Refresh now (refresh_token grant) and save the rotated tokens; returns the new tokens.

        Args:
            stale: refresh only while the current access token is still this one (after a 401,
                pass the token that was refused). Default: the current token. When another
                caller refreshed meanwhile, its tokens are returned without a second refresh.

        Raises:
            SignInRequired: the server answered ``invalid_grant`` (the store is cleared), or no
                refresh token is held.
            NetworkError, OAuthError: the refresh failed otherwise; the tokens are unchanged.
        """
        expected = self._tokens.access_token if stale is None else stale
        if not self._lock.acquire(timeout=LOCK_TIMEOUT):
            raise BridgeError("timed out waiting for another token refresh to finish")
        try:
            current = self._prepare(expected)
            if current is not None:
                return current
            tokens = self._tokens
            kwargs = token_request(self._refresh_form(tokens), self.client_id, self._client_secret)
            sent_at = time.time()
            with network_errors("token refresh"):
                if self._http is not None:
                    response = self._http.post(self.metadata.token_endpoint, **kwargs)
                else:
                    with httpx.Client(
                        timeout=self._timeout, headers={"User-Agent": USER_AGENT}
                    ) as client:
                        response = client.post(self.metadata.token_endpoint, **kwargs)
            return self._install(response, sent_at, tokens)
        finally:
            self._lock.release()

    def logout(self) -> None:
        """Sign out: revoke the grant at the bridge (RFC 7009, when it offers revocation), clear
        the store and forget the tokens. Afterwards `access_token()` raises `SignInRequired`.

        Raises:
            NetworkError, OAuthError: the revocation failed; the store is still cleared.
        """
        if not self._lock.acquire(timeout=LOCK_TIMEOUT):
            raise BridgeError("timed out waiting for a token refresh to finish")
        try:
            tokens = self._tokens
            self._tokens = Tokens(access_token="", refresh_token=None, expires_at=0.0)
            if self.store is not None:
                self.store.clear()
            endpoint = self.metadata.revocation_endpoint
            token = tokens.refresh_token or tokens.access_token
            if endpoint is None or not token:
                return
            kwargs = token_request(
                {
                    "token": token,
                    "token_type_hint": "refresh_token" if tokens.refresh_token else "access_token",
                },
                self.client_id,
                self._client_secret,
            )
            with network_errors("token revocation"):
                if self._http is not None:
                    response = self._http.post(endpoint, **kwargs)
                else:
                    with httpx.Client(
                        timeout=self._timeout, headers={"User-Agent": USER_AGENT}
                    ) as client:
                        response = client.post(endpoint, **kwargs)
            if response.status_code != 200:
                raise error_from(response)
        finally:
            self._lock.release()

    # -- async --------------------------------------------------------------------------------

    async def aaccess_token(self) -> str:
        """Async `access_token()`."""
        tokens = self._tokens
        if not tokens.expires_within(self.refresh_margin):
            return tokens.access_token
        return (await self.arefresh(stale=tokens.access_token)).access_token

    async def arefresh(self, *, stale: str | None = None) -> Tokens:
        """Async `refresh()` with httpx.AsyncClient; the same single-refresh guarantee holds
        across tasks of one loop, other loops and threads."""
        expected = self._tokens.access_token if stale is None else stale
        async with self._loop_lock():
            await self._acquire_without_blocking_the_loop()
            try:
                current = self._prepare(expected)
                if current is not None:
                    return current
                tokens = self._tokens
                kwargs = token_request(
                    self._refresh_form(tokens), self.client_id, self._client_secret
                )
                sent_at = time.time()
                with network_errors("token refresh"):
                    if self._async_http is not None:
                        response = await self._async_http.post(
                            self.metadata.token_endpoint, **kwargs
                        )
                    else:
                        async with httpx.AsyncClient(
                            timeout=self._timeout, headers={"User-Agent": USER_AGENT}
                        ) as client:
                            response = await client.post(self.metadata.token_endpoint, **kwargs)
                return self._install(response, sent_at, tokens)
            finally:
                self._lock.release()

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._loop_locks_guard:
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks[loop] = asyncio.Lock()
            return lock

    async def _acquire_without_blocking_the_loop(self) -> None:
        # The thread lock may be held by a thread (or a task of another loop) for the length of
        # an HTTP request: poll for it instead of blocking this loop.
        deadline = time.monotonic() + LOCK_TIMEOUT
        delay = 0.001
        while not self._lock.acquire(blocking=False):
            if time.monotonic() > deadline:
                raise BridgeError("timed out waiting for another token refresh to finish")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    # -- shared, called with self._lock held ----------------------------------------------------

    def _prepare(self, expected: str) -> Tokens | None:
        """Tokens to return without a refresh (someone else refreshed), or None to refresh."""
        current = self._tokens
        if current.access_token != expected:
            return current
        if self.store is not None:
            stored = _load_quietly(self.store)
            if (
                stored is not None
                and stored.refresh_token
                and stored.refresh_token != current.refresh_token
                and stored.expires_at >= current.expires_at
            ):
                # Another process rotated this grant and saved the result: use its tokens, never
                # our now-used refresh token (replaying it would revoke the grant).
                self._tokens = stored
                if not stored.expires_within(self.refresh_margin):
                    return stored
        if not self._tokens.refresh_token:
            raise SignInRequired("no refresh token is held; run login() again")
        return None

    def _refresh_form(self, tokens: Tokens) -> dict[str, str]:
        assert tokens.refresh_token is not None
        return {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}

    def _install(self, response: httpx.Response, sent_at: float, previous: Tokens) -> Tokens:
        try:
            tokens = tokens_from(response, sent_at, previous)
        except OAuthError as exc:
            if exc.error == "invalid_grant":
                if self.store is not None:
                    self.store.clear()
                raise SignInRequired(
                    "the sign-in has ended; run login() again"
                    + (f" ({exc.error_description})" if exc.error_description else ""),
                    exc.status_code,
                ) from exc
            raise
        self._tokens = tokens
        if self.store is not None:
            try:
                self.store.save(tokens)
            except OSError as exc:
                raise BridgeError(
                    f"refreshed, but saving the rotated tokens failed ({exc}); this process "
                    "keeps working, the stored refresh token is now used up"
                ) from exc
        return tokens


def _load_quietly(store: TokenStore) -> Tokens | None:
    """The stored tokens, or None when there are none or they cannot be read (a corrupt file is
    then simply overwritten by the next save)."""
    try:
        return store.load()
    except BridgeError:
        return None
