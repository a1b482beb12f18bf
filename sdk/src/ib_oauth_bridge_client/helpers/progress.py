"""Transfer progress: a small text bar on stderr, or the caller's callback."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

ProgressCallback = Callable[[int, int | None], None]
"""Called as ``callback(bytes_done, total_bytes_or_None)`` after each chunk."""


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


class TextProgress:
    """``label [#######.....]  42% 4.2 MiB / 10.0 MiB`` redrawn in place at most 10 times a second.

    On a stream that is not a terminal only the final line is written, so logs stay clean.
    """

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._last = 0.0
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if self._tty and now - self._last >= 0.1:
            self._last = now
            self.stream.write("\r" + self._line(done, total))
            self.stream.flush()

    def finish(self, done: int, total: int | None) -> None:
        """Draw the final state and end the line."""
        self.stream.write(("\r" if self._tty else "") + self._line(done, total) + "\n")
        self.stream.flush()

    def _line(self, done: int, total: int | None) -> str:
        if total:
            fraction = min(done / total, 1.0)
            filled = int(fraction * self.width)
            bar = "#" * filled + "." * (self.width - filled)
            return f"{self.label} [{bar}] {fraction:4.0%} {_size(done)} / {_size(total)}"
        return f"{self.label} {_size(done)}"


def reporter(
    progress: bool | ProgressCallback, label: str
) -> tuple[ProgressCallback, ProgressCallback]:
    """(per-chunk callback, on-finish callback) for a `progress` argument."""
    if progress is True:
        bar = TextProgress(label)
        return bar, bar.finish
    if progress is False:
        return _nothing, _nothing
    return progress, _nothing


def _nothing(done: int, total: int | None) -> None:
    """No progress reporting."""
