"""How many requests may be in flight, and how often one may start (docs/guarantees.md §5).
A 429 for a request sent after our last reaction: the account is busy beyond us, all pause."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable

from aiolimiter import AsyncLimiter

PAUSE_BASE = 0.25
PAUSE_CAP = 30.0
Ticket = float  # a granted slot: the loop's time as its request started


class AdaptiveLimiter:
    """Grants in-flight slots FIFO under an adaptive limit, a shared pause and a rate."""

    def __init__(self, ceiling: int, *, rate: float | None = None, probe_after: int = 8,
                 on_change: Callable[[int, int, str], None] | None = None,
                 rng: random.Random | None = None) -> None:
        # Loop-bound (build it inside the running loop), on the loop's clock tests control.
        self._loop = asyncio.get_running_loop()
        self.ceiling = ceiling
        self.limit = ceiling  # the adaptive in-flight limit
        self.in_flight = 0  # slots whose request is actually out
        self._probe_after = probe_after
        self._granted = 0  # slots granted (some may still be waiting on pause/rate)
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._paused_until = 0.0
        self._last_reaction = -1.0
        self._streak = 0
        self._successes = 0
        self._on_change = on_change
        self._rng = rng or random.Random()
        # Capacity 1 per 1/rate seconds: at most ``rate`` starts in any second, no burst.
        self._rate = AsyncLimiter(1, 1.0 / rate) if rate else None

    def pause(self, seconds: float) -> None:
        """Hold every slot for ``seconds`` from now, never shortening a longer pause."""
        self._paused_until = max(self._paused_until, self._loop.time() + seconds)

    async def acquire(self) -> Ticket:
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(waiter)
        self._grant()  # at once, if a slot is free and nobody waits ahead
        try:
            await waiter
            # The pause ends at a time that may move later while we sleep: re-check.
            while (delay := self._paused_until - self._loop.time()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(delay)
            if self._rate is not None:
                await self._rate.acquire()
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._granted -= 1  # granted (maybe as we were cancelled): pass it on
                self._grant()
            raise
        self.in_flight += 1
        return self._loop.time()

    def release(self, ticket: Ticket, *, throttled: bool = False, ok: bool = False,
                retry_after: float | None = None) -> None:
        if throttled:
            self._successes = 0
            if ticket > self._last_reaction:
                # Sent after our last reaction and still refused: escalate the shared pause.
                self._streak += 1
            # Multiplicative decrease, aimed: the server refused our n-th concurrent request.
            target = max(1, min(self.limit, self.in_flight - 1))
            if target < self.limit:
                self._set_limit(target, "throttled")
            self._last_reaction = self._loop.time()
            pause = 0.0
            if self._streak >= 2:
                span = min(PAUSE_CAP, PAUSE_BASE * 2 ** (self._streak - 2))
                pause = span / 2 + self._rng.uniform(0, span / 2)  # "equal jitter"
            # A floor, never a replacement: "Retry-After: 0" must not switch escalation off.
            self.pause(max(pause, retry_after or 0.0))
        elif ok:
            self._streak = 0
            # One sent before the last change says nothing about the new limit.
            if ticket >= self._last_reaction:
                self._successes += 1
                if self.limit < self.ceiling and self._successes >= self._probe_after * self.limit:
                    self._successes = 0
                    self._set_limit(self.limit + 1, "probe")  # additive increase
        self.in_flight -= 1
        self._granted -= 1
        self._grant()

    def _set_limit(self, value: int, why: str) -> None:
        old, self.limit = self.limit, value
        self._last_reaction = self._loop.time()
        if self._on_change is not None:
            self._on_change(old, value, why)

    def _grant(self) -> None:
        while self._waiters and self._granted < self.limit:
            waiter = self._waiters.popleft()
            if waiter.done():  # its task was cancelled while waiting
                continue
            self._granted += 1
            waiter.set_result(None)
