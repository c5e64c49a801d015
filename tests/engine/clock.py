"""A clock the test moves, for the engine's timing tests.

As aiolimiter's own tests do, the running loop's ``time()`` is patched: every timer the
code under test sets (``asyncio.sleep``, ``call_later``, ``wait_for``, ``asyncio.wait``
with a timeout) falls due on this clock, and only the test moves it. A pause of 0.2 s then
ends at exactly +0.2 however loaded the machine is, so a bound can be asserted exactly
instead of with a tolerance.

While the clock is patched, never ``await`` something that waits on a timer directly: the
loop would sleep for real and the timer would never fall due. Pass it to
:meth:`ControlledClock.run`, which moves the clock from timer to timer until it is done.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable
from typing import TypeVar, cast
from unittest import mock

T = TypeVar("T")

# Loop iterations that let every callback already due run; far more than the longest chain
# of wake-ups in the limiter (grant → waiter → task step → next grant).
SETTLE_ROUNDS = 20
# How far one :meth:`ControlledClock.tick` moves: a moment, as between two real calls.
TICK = 2.0**-10
# The least time :meth:`ControlledClock.run` lets pass when callbacks are ready but no timer
# lies ahead (see there); far below any bound a test asserts.
NUDGE = 1e-9
# Steps from timer to timer before :meth:`ControlledClock.run` declares the awaitable stuck.
MAX_STEPS = 10_000


class ControlledClock:
    """``with ControlledClock() as clock:`` — the running loop's clock, at ``clock.now``.

    Build the object under test inside the ``with``, so it reads the patched clock.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.start = self.now = start
        self._loop = asyncio.get_running_loop()
        self._patch = mock.patch.object(self._loop, "time", self.time)

    def time(self) -> float:
        return self.now

    def __enter__(self) -> ControlledClock:
        self._patch.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._patch.stop()

    def tick(self) -> None:
        """Let a moment pass, as it does between two events on a real clock (a 429 handled
        and the next request started), without running anything."""
        self.now += TICK

    async def settle(self) -> None:
        """Run everything that is ready, without moving the clock."""
        for _ in range(SETTLE_ROUNDS):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move the clock by ``seconds`` at once, then run what fell due."""
        self.now += seconds
        await self.settle()

    def next_timer(self) -> float | None:
        """When the loop's earliest live timer falls due, if it has one."""
        # The selector loop keeps its timers in ``_scheduled``; there is no public way to
        # ask when the next one is due, and stepping blindly would make every bound coarse.
        scheduled = cast(list[asyncio.TimerHandle], getattr(self._loop, "_scheduled"))  # noqa: B009
        return min((h.when() for h in scheduled if not h.cancelled()), default=None)

    def busy(self) -> bool:
        """Whether the loop has callbacks ready to run, timers that fell due aside (those
        may be re-armed for "now" until a moment passes; see :meth:`run`)."""
        ready = cast("deque[asyncio.Handle]", getattr(self._loop, "_ready"))  # noqa: B009
        return any(not isinstance(handle, asyncio.TimerHandle) for handle in ready)

    async def run(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable``, moving the clock straight to the next timer whenever nothing
        else can run: time passes exactly as the code under test asks, never more."""
        task = asyncio.ensure_future(awaitable)
        for _ in range(MAX_STEPS):
            await self.settle()
            if task.done():
                return task.result()
            if self.busy():
                continue  # callbacks are still ready: time moves only when none is
            due = self.next_timer()
            if due is not None and due > self.now:
                self.now = due
            else:
                # A real clock never stands still: aiolimiter re-arms its timer for "now"
                # while a float residue of its bucket has not leaked, and only a moment
                # passing ends that.
                self.now += NUDGE
        task.cancel()
        raise AssertionError(f"still not done after {MAX_STEPS} steps of the clock")
