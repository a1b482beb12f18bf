"""The store contract: one small protocol per kind of record, in the style of fosite's
per-handler storage interfaces, so that each consumer is typed on the slice it uses.

Every method is `async`, so that a networked backend (Redis) fits without touching a caller;
the SQLite backend does its short local calls inline. Keys are `secret_hash(...)` of the
secret a client holds (transaction id, code, refresh token), never the secret itself. Reads
return only live records: unexpired, and for codes and refresh tokens, of a grant not revoked.
Single-use transitions are atomic in the backend, never read-then-write.

`Store` is all of them at once, plus housekeeping; `store.open_store(url)` picks a backend.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .records import (
    AuthorizationCode,
    Consumed,
    Grant,
    GrantSummary,
    LoginTransaction,
    RefreshToken,
    RegisteredClient,
    SealedKind,
    SealedValue,
)


class TransactionStore(Protocol):
    """Login transactions (one visit to /authorize), keyed by secret_hash(transaction id)."""

    async def put_transaction(self, key: str, transaction: LoginTransaction) -> None: ...

    async def get_transaction(self, key: str) -> LoginTransaction | None: ...

    async def delete_transaction(self, key: str) -> None: ...

    async def count_live_transactions(self, address_hash: str) -> int:
        """How many unexpired, unfinished (NEW or PENDING) transactions carry `address_hash`."""
        ...

    async def claim_poll(
        self, key: str, *, now: float, min_interval: float, max_ib_calls: int | None = None
    ) -> LoginTransaction | None:
        """Atomically take the right to ask IB about a pending login once: when the transaction
        is PENDING, its last poll was at least `min_interval` ago and (with `max_ib_calls`) it
        has made fewer IB calls than that, set `last_polled_at` to `now`, count one IB call and
        return it; otherwise None. Of many workers polling at once, one wins.
        `now` times the polls only: whether the transaction has expired is decided by the
        store's clock, as for every read."""
        ...

    async def claim_submission(
        self, key: str, *, max_submissions: int, max_ib_calls: int
    ) -> LoginTransaction | None:
        """Atomically take the right to start one IB login for the transaction: when it is
        live, has had fewer than `max_submissions` submissions and made fewer than
        `max_ib_calls` IB calls, count one more of each and return it as it now stands;
        otherwise None (gone, expired, or out of attempts), and nothing changes."""
        ...

    async def finish_transaction(self, key: str, transaction: LoginTransaction) -> bool:
        """Atomically replace the stored transaction with `transaction` if the stored one is
        still PENDING; False when it is not (another worker completed it first, or it is gone
        or expired). This is what makes a login complete exactly once across processes, so
        `transaction` is expected to be no longer PENDING itself."""
        ...


class GrantStore(Protocol):
    """Grants (a user's sign-in for one client), keyed by their random id."""

    async def put_grant(self, grant: Grant) -> None: ...

    async def get_grant(self, grant_id: str) -> Grant | None:
        """The live grant, or None when unknown, revoked or past its session end."""
        ...

    async def touch_grant(self, grant_id: str, *, last_used_at: float, refreshed: bool) -> None:
        """Record use of the grant (and one more refresh when `refreshed`); never moves
        `last_used_at` backwards."""
        ...

    async def revoke_grant(self, grant_id: str) -> None:
        """End the grant: get_grant returns None from now on, and so do its codes and tokens;
        a later put_grant cannot bring it back. Moves `revocation_count` on."""
        ...

    async def list_grants(
        self,
        *,
        user: str | None = None,
        client_id: str | None = None,
        after: str = "",
        limit: int = 100,
    ) -> list[GrantSummary]:
        """Up to `limit` live grants (not revoked, session not ended), in grant id order after
        `after`, so a caller pages through a store others keep writing; only those of `user`
        (IB user id, or email without regard to case) and of `client_id` when given."""
        ...

    async def revocation_count(self) -> int:
        """How many revocations the store has seen, across every process sharing it. A process
        that caches live grants drops its cache whenever this moves."""
        ...


@runtime_checkable
class GrantCounter(Protocol):
    """Optional (metrics): a backend that can count its live grants cheaply. Not part of
    `Store`: the `ib_bridge_live_grants` gauge is left out for a backend without it."""

    async def count_live_grants(self) -> int:
        """How many grants are neither revoked nor past their session end."""
        ...


class CodeStore(Protocol):
    """Authorization codes, keyed by secret_hash(code). Single use."""

    async def put_code(self, key: str, code: AuthorizationCode) -> None: ...

    async def consume_code(self, key: str) -> Consumed[AuthorizationCode]:
        """Atomically mark the code used and return it, telling whether this was its first use."""
        ...


class RefreshTokenStore(Protocol):
    """Refresh tokens, keyed by secret_hash(token). Single use: every refresh rotates."""

    async def put_refresh_token(self, key: str, token: RefreshToken) -> None: ...

    async def consume_refresh_token(self, key: str) -> Consumed[RefreshToken]:
        """Atomically mark the token used and return it, telling whether this was its first use.
        The record is read in the same atomic step, with its sealed `successor` while its
        window lasts (see `keep_successor`)."""
        ...

    async def keep_successor(self, key: str, successor: str, until: float) -> bool:
        """Attach the sealed answer of the refresh that consumed this token, readable until
        `until`; False (nothing kept) when the token is not live and used, or already has
        one: a token is rotated once."""
        ...

    async def get_refresh_token(self, key: str) -> RefreshToken | None:
        """Read without consuming (for revocation and introspection)."""
        ...


class ClientStore(Protocol):
    """Clients registered by RFC 7591 (configured and well-known clients live in settings)."""

    async def put_client(self, client: RegisteredClient) -> None: ...

    async def get_client(self, client_id: str) -> RegisteredClient | None:
        """The registration, or None when unknown or expired unused."""
        ...

    async def mark_client_used(self, client_id: str) -> None:
        """The client completed a sign-in: its registration no longer expires."""
        ...

    async def delete_client(self, client_id: str) -> bool:
        """Delete the registration; False when there was no live one (unknown, or already
        expired unused, which every reader already treats as gone)."""
        ...

    async def list_clients(self) -> list[RegisteredClient]:
        """Every live registration (expired unused ones left out), oldest first."""
        ...


class ReplayCache(Protocol):
    """One-time values seen before (DPoP proof ids, client assertion ids), until they expire."""

    async def remember(self, key: str, expires_at: float) -> bool:
        """Atomically record `key` until `expires_at`; True the first time, False while it is
        still recorded. Once its expiry has passed the key counts as new again (purged or
        not), and is recorded afresh with the new expiry."""
        ...


class SealedValueStore(Protocol):
    """The values sealed with the encryption key, for re-sealing them with a new one."""

    async def sealed_values(
        self, kind: SealedKind, *, after: str = "", limit: int = 500
    ) -> list[SealedValue]:
        """Up to `limit` sealed values of `kind` in live rows (unexpired; grants not revoked;
        successors within their window), in `row_key` order after `after`: a caller pages
        through a store that other processes keep writing."""
        ...

    async def replace_sealed(self, value: SealedValue, resealed: bytes | str) -> bool:
        """Atomically put `resealed` where `value` was, if the row still holds exactly
        `value.sealed` (compare-and-set); False when it changed or went meanwhile."""
        ...


class Store(
    TransactionStore,
    GrantStore,
    CodeStore,
    RefreshTokenStore,
    ClientStore,
    ReplayCache,
    SealedValueStore,
    Protocol,
):
    """Everything the bridge persists, plus housekeeping."""

    async def purge_expired(self) -> int:
        """Delete every record whose expiry has passed (by the store's clock); how many went."""
        ...

    async def ping(self) -> bool:
        """True when the backend answers (for /readyz)."""
        ...

    async def close(self) -> None: ...
