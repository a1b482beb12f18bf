"""Where a `TokenHolder` keeps tokens between runs: memory, or a private JSON file."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from .exceptions import BridgeError
from .tokens import Tokens

try:  # POSIX: also keep other processes from writing at the same time
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@runtime_checkable
class TokenStore(Protocol):
    """Storage for one sign-in's tokens. Implementations must be safe to call from threads."""

    def load(self) -> Tokens | None:
        """The stored tokens, or None when nothing is stored."""
        ...

    def save(self, tokens: Tokens) -> None:
        """Replace the stored tokens (atomically: a reader sees the old or the new, never a mix)."""
        ...

    def clear(self) -> None:
        """Forget the stored tokens."""
        ...


class MemoryTokenStore:
    """Tokens kept in this process only."""

    def __init__(self, tokens: Tokens | None = None) -> None:
        self._tokens = tokens
        self._lock = threading.Lock()

    def load(self) -> Tokens | None:
        with self._lock:
            return self._tokens

    def save(self, tokens: Tokens) -> None:
        with self._lock:
            self._tokens = tokens

    def clear(self) -> None:
        with self._lock:
            self._tokens = None

    def __repr__(self) -> str:
        return f"MemoryTokenStore(holding={self._tokens is not None})"


class FileTokenStore:
    """Tokens in a JSON file readable by its owner only (mode 0600).

    A save writes a temporary file in the same directory (created 0600 from the start, never
    wider), fsyncs it and renames it over the old file, so a crash leaves the old or the new
    tokens, never half a file. A thread lock, and on POSIX an `flock` on ``<path>.lock``, keep
    concurrent saves (threads or processes) from interleaving.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if fcntl is None:  # pragma: no cover - Windows
                yield
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self.path.with_name(self.path.name + ".lock")
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock

    def load(self) -> Tokens | None:
        """The stored tokens; None when the file does not exist.

        Raises:
            BridgeError: the file exists but is not valid token JSON.
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BridgeError(f"{self.path}: not valid JSON") from exc
        if not isinstance(data, dict):
            raise BridgeError(f"{self.path}: not a JSON object")
        return Tokens.from_json(data)

    def save(self, tokens: Tokens) -> None:
        data = json.dumps(tokens.to_json(), indent=2).encode("utf-8")
        with self._locked():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            _fsync_dir(self.path.parent)

    def clear(self) -> None:
        with self._locked(), contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (POSIX); silently skipped where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
