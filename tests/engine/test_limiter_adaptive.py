"""The limiter's adaptive limit (docs/guarantees.md §5): on a 429 it drops straight to what
the server admits, it probes back up one slot at a time, and never past the ceiling.

Logic is asserted through the public counters. The test that sleeps, and the one whose
"started before the change" must not rest on the machine's clock resolution, run on a
controlled clock (tests/engine/clock.py).
"""

from __future__ import annotations

import asyncio

from tests.engine.clock import ControlledClock
from tests.engine.limiter_support import make, spin


async def test_throttled_release_lowers_limit_to_n_minus_1() -> None:
    """A 429 while n of our requests are out proves the account admits fewer than n: the
    limit drops straight to n-1, and the change is reported."""
    limiter, changes = make(5)
    tickets = [await limiter.acquire() for _ in range(4)]
    assert limiter.in_flight == 4

    limiter.release(tickets[0], throttled=True)

    assert limiter.limit == 3
    assert changes == [(5, 3, "throttled")]
    assert limiter.ceiling == 5


async def test_throttle_never_lowers_limit_below_one() -> None:
    """Even a 429 with a single request out keeps one slot: the job must still progress."""
    limiter, changes = make(3)
    ticket = await limiter.acquire()
    limiter.release(ticket, throttled=True)
    assert limiter.limit == 1
    limiter.release(await limiter.acquire(), throttled=True)
    assert limiter.limit == 1
    assert changes == [(3, 1, "throttled")]


async def test_throttle_with_fewer_in_flight_than_limit_minus_one_does_not_raise_it() -> None:
    """The aimed decrease only ever lowers: n-1 above the current limit leaves it alone."""
    limiter, changes = make(6)
    first = [await limiter.acquire() for _ in range(3)]
    limiter.release(first[0], throttled=True)  # 3 out → limit 2
    assert limiter.limit == 2
    limiter.release(first[1], ok=True)
    limiter.release(first[2], ok=True)
    assert changes == [(6, 2, "throttled")]


async def test_lowered_limit_holds_for_new_grants() -> None:
    """After a 429 lowers the limit to 2, waiters are admitted only as the surplus drains:
    from then on no more than 2 run at once, though 3 were running before."""
    with ControlledClock() as clock:
        limiter, _ = make(4)
        holders = [await limiter.acquire() for _ in range(3)]  # 3 out
        active = 3
        peak_after = 0
        lowered = False

        async def worker() -> None:
            nonlocal active, peak_after
            ticket = await limiter.acquire()
            active += 1
            if lowered:
                peak_after = max(peak_after, active)
            await asyncio.sleep(0.01)
            active -= 1
            limiter.release(ticket, ok=True)

        tasks = [asyncio.create_task(worker()) for _ in range(8)]
        await spin()  # one of them takes the 4th slot, the rest queue
        assert active == 4
        limiter.release(holders[0], throttled=True)  # 4 out → limit 3
        active -= 1
        assert limiter.limit == 3
        limiter.release(holders[1], throttled=True)  # 3 out → limit 2
        active -= 1
        assert limiter.limit == 2
        lowered = True
        await clock.run(asyncio.sleep(0.025))  # the first two workers finish meanwhile
        limiter.release(holders[2], ok=True)
        active -= 1
        await clock.run(asyncio.gather(*tasks))
    assert peak_after == 2
    assert limiter.in_flight == 0


async def test_probe_raises_limit_by_one_after_probe_after_times_limit_successes() -> None:
    """Additive increase: at limit L, ``probe_after × L`` successes of requests started after
    the last change raise the limit by one; successes of requests sent before the change say
    nothing about it and do not count."""
    with ControlledClock() as clock:  # "before the change" must not hang on clock resolution
        limiter, changes = make(3, probe_after=2)
        early = [await limiter.acquire() for _ in range(2)]
        clock.tick()
        limiter.release(early[0], throttled=True)  # 2 out → limit 1
        assert limiter.limit == 1
        limiter.release(early[1], ok=True)  # started before the reaction: ignored

        limiter.release(await limiter.acquire(), ok=True)
        assert limiter.limit == 1  # 1 of 2 needed
        limiter.release(await limiter.acquire(), ok=True)
        assert limiter.limit == 2  # 2 × 1 successes
        for expected_after in (2, 2, 2, 3):  # 2 × 2 successes at limit 2
            limiter.release(await limiter.acquire(), ok=True)
            assert limiter.limit == expected_after
    assert changes == [(3, 1, "throttled"), (1, 2, "probe"), (2, 3, "probe")]


async def test_probe_never_exceeds_the_ceiling() -> None:
    """However many successes, the limit stays at or below --concurrency."""
    limiter, changes = make(2, probe_after=1)
    for _ in range(50):
        limiter.release(await limiter.acquire(), ok=True)
    assert limiter.limit == 2
    assert changes == []


async def test_throttle_resets_the_probe_count() -> None:
    """Successes before a 429 do not carry over: probing starts again from zero after it."""
    limiter, _ = make(2, probe_after=3)
    limiter.release(await limiter.acquire(), throttled=True)  # 1 out → limit 1
    limiter.release(await limiter.acquire(), ok=True)
    limiter.release(await limiter.acquire(), ok=True)  # 2 of 3
    limiter.release(await limiter.acquire(), throttled=True)  # back to 0
    for _ in range(2):
        limiter.release(await limiter.acquire(), ok=True)
    assert limiter.limit == 1
    limiter.release(await limiter.acquire(), ok=True)  # 3 of 3
    assert limiter.limit == 2


