"""Key files: read by a running bridge again when they change, and replaced whole, never half.

Keys given as file paths (rather than inline in a setting) can be rotated in place by
`ib-oauth-bridge keys rotate-*`: the command writes a new file next to the old one and renames
it over it, so a reader sees either the old key file or the new one. Every bridge process
looks at the files' identity (inode, modification time, size) at most once per
`CHECK_INTERVAL` seconds and reloads its keys when one changed.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["CHECK_INTERVAL", "FileWatch", "write_private_file"]

CHECK_INTERVAL = 5.0  # seconds between two looks at the key files, per process

_Signature = tuple[tuple[int, int, int] | None, ...]


class FileWatch:
    """Tells whether any of `paths` changed since the last look; looks at most once per
    `interval` seconds of `clock`, so the hot path pays a clock read, not a system call."""

    def __init__(
        self,
        paths: Iterable[Path],
        clock: Callable[[], float],
        interval: float = CHECK_INTERVAL,
    ) -> None:
        self.paths = tuple(paths)
        self._clock = clock
        self._interval = interval
        self._lock = threading.Lock()
        self._next_look = clock() + interval
        self._seen = self._signature()

    def _signature(self) -> _Signature:
        found: list[tuple[int, int, int] | None] = []
        for path in self.paths:
            try:
                stat = path.stat()
            except OSError:
                found.append(None)  # missing (a previous-keys file before the first rotation)
            else:
                found.append((stat.st_ino, stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def changed(self) -> bool:
        if not self.paths:
            return False
        now = self._clock()
        if now < self._next_look:
            return False
        with self._lock:
            if now < self._next_look:
                return False
            self._next_look = now + self._interval
            signature = self._signature()
            if signature == self._seen:
                return False
            self._seen = signature
            return True


def write_private_file(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically and owner-only (it holds private keys): written
    to a new file beside it, flushed to disk, then renamed over it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
