"""The limiter's slots (docs/guarantees.md §5): a FIFO concurrency ceiling that is used and
never exceeded, and that no cancelled waiter can leak.

Logic is asserted through the public counters; the test that sleeps runs on a controlled
clock (tests/engine/clock.py). The ``wait_for`` bounds here only guard against a hang.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.engine.clock import ControlledClock
from tests.engine.limiter_support import make, spin


async def test_never_more_than_limit_at_once() -> None:
    """Thirty concurrent acquirers never hold more than ``limit`` slots at once, and do reach
    it (the ceiling is used, not just respected); every slot is returned at the end."""
    with ControlledClock() as clock:
        limiter, _ = make(3)
        active = 0
        peak = 0

        async def worker(i: int) -> None:
            nonlocal active, peak
            ticket = await limiter.acquire()
            active += 1
            peak = max(peak, active)
            assert limiter.in_flight <= 3
            await asyncio.sleep(0.001 * (i % 3))
            active -= 1
            limiter.release(ticket, ok=True)

        await clock.run(asyncio.gather(*(worker(i) for i in range(30))))
    assert peak == 3
    assert limiter.in_flight == 0
    assert limiter.limit == 3


async def test_slots_are_granted_fifo() -> None:
    """Waiters are served in the order they started waiting: no starvation of old batches."""
    limiter, _ = make(1)
    holder = await limiter.acquire()
    order: list[int] = []

    async def worker(i: int) -> None:
        ticket = await limiter.acquire()
        order.append(i)
        await asyncio.sleep(0)
        limiter.release(ticket, ok=True)

    tasks = []
    for i in range(10):
        tasks.append(asyncio.create_task(worker(i)))
        await spin(1)  # each one is queued before the next is created
    assert order == []
    limiter.release(holder, ok=True)
    await asyncio.gather(*tasks)
    assert order == list(range(10))


async def test_new_acquirer_does_not_jump_the_queue() -> None:
    """A slot freed while others wait goes to the oldest waiter, not to a newcomer that
    happens to call acquire() at that moment."""
    limiter, _ = make(1)
    holder = await limiter.acquire()
    order: list[str] = []

    async def worker(name: str) -> None:
        ticket = await limiter.acquire()
        order.append(name)
        limiter.release(ticket, ok=True)

    waiting = asyncio.create_task(worker("waiting"))
    await spin()
    limiter.release(holder, ok=True)
    newcomer = asyncio.create_task(worker("newcomer"))
    await asyncio.gather(waiting, newcomer)
    assert order == ["waiting", "newcomer"]


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    """An acquirer cancelled while queued (e.g. on shutdown) gives nothing away: afterwards the
    full ceiling can be taken at once, and no more."""
    limiter, _ = make(2)
    held = [await limiter.acquire() for _ in range(2)]
    waiter = asyncio.create_task(limiter.acquire())
    await spin()
    assert not waiter.done()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    for ticket in held:
        limiter.release(ticket, ok=True)
    assert limiter.in_flight == 0

    again = [await asyncio.wait_for(limiter.acquire(), 0.5) for _ in range(2)]
    third = asyncio.create_task(limiter.acquire())
    await spin()
    assert not third.done()  # still only 2 at once
    limiter.release(again[0], ok=True)
    limiter.release(await asyncio.wait_for(third, 0.5), ok=True)
    limiter.release(again[1], ok=True)
    assert limiter.in_flight == 0


async def test_waiter_cancelled_just_after_being_granted_passes_the_slot_on() -> None:
    """If the slot is granted in the same instant the waiter is cancelled, the slot goes to
    the next waiter instead of vanishing."""
    limiter, _ = make(1)
    held = await limiter.acquire()
    doomed = asyncio.create_task(limiter.acquire())
    await spin()
    nxt = asyncio.create_task(limiter.acquire())
    await spin()

    limiter.release(held, ok=True)  # grants `doomed` ...
    doomed.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await doomed
    ticket = await asyncio.wait_for(nxt, 0.5)
    assert limiter.in_flight == 1
    limiter.release(ticket, ok=True)
    assert limiter.in_flight == 0
    limiter.release(await asyncio.wait_for(limiter.acquire(), 0.5), ok=True)


