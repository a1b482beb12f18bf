"""Persistence for the bridge: the `Store` contract, its backends, and sid encryption.

`open_store(url)` opens the backend a URL names; callers type themselves on the narrowest
protocol they use (`CodeStore`, `GrantStore`, ...) and are handed the one `Store`.
"""

from .crypto import SidCipher, SidDecryptionError
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
    "TransactionStore",
    "open_store",
    "secret_hash",
]
