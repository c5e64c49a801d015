"""A stop reaching the limiter's waiters (docs/guarantees.md §5): every acquirer waiting —
in the queue, through a pause, for a rate token — gives way at once through ``race``, and
the slot it held or was granted goes back.

On a controlled clock (tests/engine/clock.py), "at once" is exact: the clock does not move
between the stop and the last waiter giving way.
"""

from __future__ import annotations

import asyncio

from bulkdelete.engine import race
from bulkdelete.engine.engine import first_error
from bulkdelete.errors import FatalApiError, StorageError
from tests.engine.clock import ControlledClock
from tests.engine.limiter_support import make, spin


async def test_a_stop_ends_every_wait_and_gives_the_slots_back() -> None:
    """Acquirers waiting in the queue and through a long pause give way at once on a stop;
    slots held stay counted until released, and every slot is free again after."""
    with ControlledClock() as clock:
        limiter, _ = make(2)
        stop = asyncio.Event()
        held = await limiter.acquire()
        limiter.release(await limiter.acquire(), throttled=True, retry_after=60.0)  # long pause
        pausing = asyncio.create_task(race(limiter.acquire(), stop))  # a slot, then the pause
        queued = asyncio.create_task(race(limiter.acquire(), stop))  # no slot: the queue
        await spin()
        assert not pausing.done()
        assert not queued.done()

        stopped_at = clock.now
        stop.set()
        for task in (pausing, queued):
            assert await clock.run(asyncio.wait_for(task, 0.5)) is None
        assert clock.now == stopped_at
        limiter.release(held, ok=True)
        assert limiter.in_flight == 0
        # The slots came back: the limit (1 since the 429) grants one once the pause ends.
        await clock.run(limiter.acquire())
        assert (limiter.limit, limiter.in_flight) == (1, 1)


async def test_a_stop_ends_a_wait_for_a_rate_token() -> None:
    """A slow --rate holds a start for a long time; a stop does not wait for the token."""
    with ControlledClock() as clock:
        limiter, _ = make(5, rate=0.1)
        stop = asyncio.Event()
        limiter.release(await limiter.acquire(), ok=True)  # spends the one token for 10 s
        waiting = asyncio.create_task(race(limiter.acquire(), stop))
        await spin()
        assert not waiting.done()
        stopped_at = clock.now
        stop.set()
        assert await clock.run(asyncio.wait_for(waiting, 0.5)) is None
        assert clock.now == stopped_at
        assert limiter.in_flight == 0


def test_a_task_group_ends_as_its_first_own_error_then_any_other_never_a_group() -> None:
    other, ours, later = ValueError("x"), StorageError("disk full"), FatalApiError("401")
    cancelled = asyncio.CancelledError()
    nested = BaseExceptionGroup("run", [cancelled, ExceptionGroup("batch", [other]),
                                        BaseExceptionGroup("check", [cancelled, ours, later])])
    assert first_error(nested) is ours
    assert first_error(BaseExceptionGroup("run", [cancelled, ExceptionGroup("b", [other])])) \
        is other
    only_cancelled = BaseExceptionGroup("run", [cancelled])
    assert first_error(only_cancelled) is only_cancelled
