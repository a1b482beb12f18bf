"""Persistence for the bridge: the `Store` contract, its backends, and sid encryption."""

from .base import (
    AuthorizationCode,
    Consumed,
    Grant,
    LoginStatus,
    LoginTransaction,
    RefreshToken,
    Store,
    secret_hash,
)
from .crypto import SidCipher, SidDecryptionError
from .sqlite import SQLiteStore, StoreClosedError

__all__ = [
    "AuthorizationCode",
    "Consumed",
    "Grant",
    "LoginStatus",
    "LoginTransaction",
    "RefreshToken",
    "SQLiteStore",
    "SidCipher",
    "SidDecryptionError",
    "Store",
    "StoreClosedError",
    "secret_hash",
]
