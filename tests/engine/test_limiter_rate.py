"""The limiter's optional rate (docs/guarantees.md §5): ``--rate`` spaces request starts
with aiolimiter's leaky bucket; without it, slots within the ceiling are granted at once.

Both run on a controlled clock (tests/engine/clock.py): the spacing is the bucket's, not
the machine's.
"""

from __future__ import annotations

import asyncio

from tests.engine.clock import ControlledClock
from tests.engine.limiter_support import make


async def test_rate_spaces_request_starts() -> None:
    """``rate=R`` lets no more than R+1 requests start in any one-second window, even with
    plenty of free slots; starts are spread rather than burst."""
    rate = 20
    with ControlledClock() as clock:
        limiter, _ = make(50, rate=rate)

        async def one() -> float:
            ticket = await limiter.acquire()
            limiter.release(ticket, ok=True)
            return ticket

        starts = sorted(await clock.run(asyncio.gather(*(one() for _ in range(30)))))

    for i, start in enumerate(starts):
        in_window = sum(1 for s in starts[i:] if s < start + 1.0)
        assert in_window <= rate + 1
    assert starts[-1] - starts[0] >= (30 - 1) / rate * 0.8
    assert limiter.in_flight == 0


async def test_without_rate_starts_are_immediate() -> None:
    """No --rate: slots within the ceiling are granted without waiting."""
    with ControlledClock() as clock:
        limiter, _ = make(30)
        began = clock.now
        tickets = await clock.run(asyncio.gather(*(limiter.acquire() for _ in range(30))))
        assert clock.now - began == 0.0  # not a single timer waited for
    for ticket in tickets:
        limiter.release(ticket, ok=True)
