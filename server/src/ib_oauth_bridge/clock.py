"""Time as the bridge reads it: one injectable function, so tests move time instead of sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Seconds since the Unix epoch, like `time.time`."""

system_clock: Clock = time.time
