"""The adaptive limiter's changes, logged for people: every step at debug level, and at
info at most one summary line per interval, so a 429 storm on a terminal is a few lines
above the bar, not one per step (docs/cli.md, "Logs")."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import structlog

log = structlog.get_logger("bulkdelete")

SUMMARY_INTERVAL = 60.0  # seconds between info lines about concurrency changes


class LimitChangeLog:
    """The limiter's ``on_change``: the first change is said at once (the account
    throttles), later ones gathered into one line per interval, the rest at :meth:`flush`."""

    def __init__(self, interval: float = SUMMARY_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._last_said = float("-inf")
        self._start = 0
        self._end = 0
        self._lowest = 0
        self._why: Counter[str] = Counter()

    def __call__(self, old: int, new: int, why: str) -> None:
        log.debug("concurrency_changed", old=old, new=new, why=why)
        if not self._why:
            self._start, self._lowest = old, new
        self._end, self._lowest = new, min(self._lowest, new)
        self._why[why] += 1
        if self._clock() - self._last_said >= self._interval:
            self.flush()

    def flush(self) -> None:
        if not self._why:
            return
        log.info("concurrency_changed", old=self._start, new=self._end,
                 lowest=self._lowest, changes=sum(self._why.values()), why=dict(self._why))
        self._last_said = self._clock()
        self._why.clear()
