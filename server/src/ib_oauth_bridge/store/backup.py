"""Backups of the store, taken while the bridge runs: `backup(store, path)`, `restore(store,
path, force=...)`.

* SQLite: the backup is a SQLite file, copied by SQLite's online backup API in one step, so it
  is one consistent snapshot however many workers write meanwhile. Restoring copies it back the
  same way, in one transaction, after checking it is a bridge store of a schema this build
  knows (an older one is migrated, as at start-up).
* Redis: the backup is a JSON-lines file: a header line naming the format, then one line per
  key under the store's prefix, exactly as stored (type, value, expiry as a point in time).
  Keys are kept relative to the prefix, so a restore writes only under its own store's prefix.

Either way the file holds what the store holds and nothing more: hashes of codes, tokens and
login ids, and sids sealed with the encryption key. No key is in it: restoring needs the same
IB_BRIDGE_ENCRYPTION_KEY (and signing key, for the access tokens already issued). The file is
created owner-only, and never over an existing one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .protocols import Store
from .schema import SCHEMA_VERSION
from .sqlite import SQLiteStore

__all__ = ["REDIS_BACKUP_FORMAT", "BackupError", "BackupResult", "backup", "restore"]

REDIS_BACKUP_FORMAT = "ib-oauth-bridge-redis-backup"
REDIS_BACKUP_VERSION = 1
_RECORD_FIELDS = frozenset({"key", "type", "value", "pttl", "expires_at_ms"})


class BackupError(Exception):
    """A backup or restore the bridge refuses, with the reason for the operator."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    records: int  # rows (SQLite) or keys (Redis) in the backup, or written by the restore
    skipped: int = 0  # Redis restore: records whose expiry passed since the backup


async def backup(store: Store, path: Path) -> BackupResult:
    """Write a backup of `store` to `path`, which must not exist yet."""
    with _new_file(path) as tmp:
        if isinstance(store, SQLiteStore):
            return _backup_sqlite(store, tmp)
        from .redis import RedisStore

        if isinstance(store, RedisStore):
            return await _backup_redis(store, tmp)
        raise BackupError(f"cannot back up {store!r}")


async def restore(store: Store, path: Path, *, force: bool = False) -> BackupResult:
    """Restore the backup at `path` into `store`, which must be empty unless `force`."""
    _check_file(path)
    if isinstance(store, SQLiteStore):
        return _restore_sqlite(store, path, force=force)
    from .redis import RedisStore

    if isinstance(store, RedisStore):
        return await _restore_redis(store, path, force=force)
    raise BackupError(f"cannot restore into {store!r}")


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise BackupError(f"{path} is not a file")


@contextlib.contextmanager
def _new_file(path: Path) -> Iterator[Path]:
    """An owner-only temporary file beside `path`, put in place (hard link: never over a file
    that appeared meanwhile) once the body succeeds, removed either way."""
    if path.exists():
        raise BackupError(f"{path} exists; choose a new file (a backup never overwrites)")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a directory")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        yield tmp
        with tmp.open("rb") as done:
            os.fsync(done.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise BackupError(f"{path} appeared meanwhile; the backup was not kept") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# -- SQLite --------------------------------------------------------------------------------------


def _backup_sqlite(store: SQLiteStore, tmp: Path) -> BackupResult:
    with contextlib.closing(sqlite3.connect(tmp, isolation_level=None)) as target:
        store.backup_into(target)
        # A self-contained file: no -wal beside it to forget when copying it away.
        target.execute("PRAGMA journal_mode = DELETE")
        records = _count_rows(target)
    return BackupResult(records)


def _count_rows(conn: sqlite3.Connection) -> int:
    tables = [
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if row[0] != "counters"
    ]
    return sum(
        int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # noqa: S608
        for name in tables
    )


def _restore_sqlite(store: SQLiteStore, path: Path, *, force: bool) -> BackupResult:
    if _redis_header(path) is not None:
        raise BackupError(f"{path} is a Redis store's backup; restore it into a Redis store")
    with contextlib.closing(
        sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    ) as source:
        try:
            version = int(source.execute("PRAGMA user_version").fetchone()[0])
            check = source.execute("PRAGMA quick_check").fetchone()[0]
            tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not a SQLite backup of the bridge ({exc})") from None
        if check != "ok":
            raise BackupError(f"{path} is damaged (SQLite's quick_check: {check})")
        if not {"grants", "refresh_tokens", "codes", "transactions"} <= tables or version < 1:
            raise BackupError(f"{path} is a SQLite file, but not a bridge store")
        if version > SCHEMA_VERSION:
            raise BackupError(
                f"{path} has schema version {version}; this build knows only "
                f"{SCHEMA_VERSION}: restore it with the bridge that made it"
            )
        if not force and store.record_count() > 0:
            raise BackupError(
                f"{store.path} is not empty; stop the bridge and pass --force to replace it"
            )
        store.restore_from(source)
        return BackupResult(_count_rows(source))


# -- Redis ---------------------------------------------------------------------------------------


async def _backup_redis(store: Any, tmp: Path) -> BackupResult:
    from .redis import FORMAT

    count = 0
    with tmp.open("w", encoding="utf-8") as out:
        header = {
            "format": REDIS_BACKUP_FORMAT,
            "version": REDIS_BACKUP_VERSION,
            "layout": FORMAT,
            "prefix": store.target.prefix,
        }
        out.write(json.dumps(header, separators=(",", ":")) + "\n")
        async for record in store.export_records():
            out.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
            count += 1
    return BackupResult(count)


def _redis_header(path: Path) -> dict[str, Any] | None:
    with path.open("rb") as file:
        first = file.readline(4096)
    try:
        header = json.loads(first)
    except ValueError:
        return None
    if isinstance(header, dict) and header.get("format") == REDIS_BACKUP_FORMAT:
        return header
    return None


def _records(path: Path) -> list[dict[str, Any]]:
    """Every record of a Redis backup, checked whole before anything is written."""
    records = []
    with path.open(encoding="utf-8") as file:
        next(file)
        for number, line in enumerate(file, start=2):
            try:
                record = json.loads(line)
                if not _is_record(record):
                    raise ValueError("not a record")
            except ValueError:
                raise BackupError(f"{path}, line {number}: not a record of a backup") from None
            records.append(record)
    return records


def _is_record(record: object) -> bool:
    """Whether `record` is a line `RedisStore.export_records` writes: what `load_record` can
    write back without a Redis error halfway through a restore."""
    if not isinstance(record, dict) or not set(record) <= _RECORD_FIELDS:
        return False
    key, kind, value = record.get("key"), record.get("type"), record.get("value")
    at = record.get("expires_at_ms")
    if not (isinstance(key, str) and key and isinstance(value, list) and value):
        return False
    if not all(isinstance(v, str) for v in value) or not (at is None or type(at) is int):
        return False
    if kind == "string":
        return len(value) == 1
    if kind == "hash":
        return len(value) % 2 == 0
    if kind == "zset":
        try:
            return len(value) % 2 == 0 and all(math.isfinite(float(s)) for s in value[1::2])
        except ValueError:
            return False
    return False


async def _restore_redis(store: Any, path: Path, *, force: bool) -> BackupResult:
    from .redis import FORMAT

    try:
        header = _redis_header(path)
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    if header is None:
        raise BackupError(f"{path} is not a Redis store's backup")
    if header.get("version") != REDIS_BACKUP_VERSION or header.get("layout") != FORMAT:
        raise BackupError(
            f"{path} is a backup of version {header.get('version')}, layout "
            f"{header.get('layout')}; this build reads version {REDIS_BACKUP_VERSION}, "
            f"layout {FORMAT}"
        )
    try:
        records = _records(path)
    except UnicodeDecodeError:
        raise BackupError(f"{path} is not a Redis store's backup (not UTF-8)") from None
    if not force and await store.has_records():
        raise BackupError(
            f"the Redis store under prefix {store.target.prefix!r} is not empty; "
            "pass --force to write over its keys"
        )
    written, skipped = await store.import_records(records)
    return BackupResult(written, skipped)
