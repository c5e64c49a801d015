"""Closing the limiter (a stopping run, docs/guarantees.md §5): every acquirer waiting — in
the queue, through a pause, for a rate token — raises Closed at once, and no later acquire
is granted.

On a controlled clock (tests/engine/clock.py), "at once" is exact: the clock does not move
between ``close()`` and the last waiter raising.
"""

from __future__ import annotations

import asyncio

import pytest

from bulkdelete.engine.limiter import Closed
from tests.engine.clock import ControlledClock
from tests.engine.limiter_support import make, spin


async def test_close_wakes_every_waiter_and_refuses_later_acquires() -> None:
    """``close()`` (a stopping run) makes every acquirer waiting in the queue, through a
    long pause or for a rate token raise Closed at once, without cancelling anyone; slots
    held stay counted until released, and no later acquire is granted."""
    with ControlledClock() as clock:
        limiter, _ = make(2)
        held = await limiter.acquire()
        limiter.release(await limiter.acquire(), throttled=True, retry_after=60.0)  # long pause
        pausing = asyncio.create_task(limiter.acquire())  # takes the free slot, then waits
        queued = asyncio.create_task(limiter.acquire())  # no slot: waits in the queue
        await spin()
        assert not pausing.done()
        assert not queued.done()

        closed_at = clock.now
        limiter.close()
        for task in (pausing, queued):
            with pytest.raises(Closed):
                await clock.run(asyncio.wait_for(task, 0.5))
            assert task.cancelling() == 0
        assert clock.now == closed_at
        with pytest.raises(Closed):
            await limiter.acquire()
        limiter.close()  # closing twice is harmless
        limiter.release(held, ok=True)
        assert limiter.in_flight == 0


async def test_close_wakes_an_acquirer_waiting_for_a_rate_token() -> None:
    """A slow --rate holds a start for a long time; a stop does not wait for the token."""
    with ControlledClock() as clock:
        limiter, _ = make(5, rate=0.1)
        limiter.release(await limiter.acquire(), ok=True)  # spends the one token for 10 s
        waiting = asyncio.create_task(limiter.acquire())
        await spin()
        assert not waiting.done()
        closed_at = clock.now
        limiter.close()
        with pytest.raises(Closed):
            await clock.run(asyncio.wait_for(waiting, 0.5))
        assert clock.now == closed_at
        assert limiter.in_flight == 0
