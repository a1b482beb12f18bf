"""Persistence for the bridge: the `Store` contract, its backends, and sid encryption.

`open_store(url)` opens the backend a URL names; callers type themselves on the narrowest
protocol they use (`CodeStore`, `GrantStore`, ...) and are handed the one `Store`.
"""

from .crypto import SidCipher, SidDecryptionError
from .failures import StoreUnavailable, store_failure
from .protocols import (
    ClientStore,
    CodeStore,
    GrantCounter,
    GrantStore,
    RefreshTokenStore,
    ReplayCache,
    SealedValueStore,
    Store,
    TransactionStore,
)
from .records import (
    AuthorizationCode,
    Consumed,
    Grant,
    GrantSummary,
    LoginStatus,
    LoginTransaction,
    RefreshToken,
    RegisteredClient,
    SealedKind,
    SealedValue,
    secret_hash,
)
from .sqlite import SQLiteStore, StoreClosedError
from .url import StoreURLError, open_store

__all__ = [
    "AuthorizationCode",
    "ClientStore",
    "CodeStore",
    "Consumed",
    "Grant",
    "GrantCounter",
    "GrantStore",
    "GrantSummary",
    "LoginStatus",
    "LoginTransaction",
    "RefreshToken",
    "RefreshTokenStore",
    "RegisteredClient",
    "ReplayCache",
    "SQLiteStore",
    "SealedKind",
    "SealedValue",
    "SealedValueStore",
    "SidCipher",
    "SidDecryptionError",
    "Store",
    "StoreClosedError",
    "StoreURLError",
    "StoreUnavailable",
    "TransactionStore",
    "open_store",
    "secret_hash",
    "store_failure",
]
