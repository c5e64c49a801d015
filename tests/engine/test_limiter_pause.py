"""The limiter's shared pause (docs/guarantees.md §5): persistent throttling, a Retry-After
or an outage pauses every worker together; the pause escalates, a stale 429 does not count,
and a Retry-After is a floor under the limiter's own pause, never a replacement.

Every test that reads a pause runs on a controlled clock (tests/engine/clock.py), so each
pause is asserted exactly. ``clock.tick()`` lets the moment pass that separates a reaction
from the next request on a real clock: "sent after our last reaction" is a strict order.
"""

from __future__ import annotations

import asyncio

import pytest

from bulkdelete.engine.limiter import PAUSE_BASE, AdaptiveLimiter
from tests.engine.clock import ControlledClock
from tests.engine.limiter_support import LowJitter, make, paused_for


async def test_fresh_429s_escalate_a_shared_pause() -> None:
    """At a limit that cannot drop further, each 429 for a request started after the last
    reaction escalates a shared, growing pause (the account is busy with someone else); the
    next acquire waits it out; a success ends the streak."""
    with ControlledClock() as clock:
        limiter, _ = make(1)

        limiter.release(await limiter.acquire(), throttled=True)
        assert paused_for(limiter) == 0.0  # one 429 is not yet a pattern

        clock.tick()
        limiter.release(await limiter.acquire(), throttled=True)
        first = paused_for(limiter)
        assert first == pytest.approx(PAUSE_BASE / 2)
        resume_at = clock.now + paused_for(limiter)

        ticket = await clock.run(limiter.acquire())
        assert ticket == pytest.approx(resume_at)  # waited the pause out, no more
        limiter.release(ticket, throttled=True)
        second = paused_for(limiter)
        assert second == pytest.approx(PAUSE_BASE)  # doubled

        limiter.release(await clock.run(limiter.acquire()), ok=True)  # streak over
        clock.tick()
        limiter.release(await limiter.acquire(), throttled=True)
        assert paused_for(limiter) == 0.0


async def test_stale_429_does_not_escalate_the_pause() -> None:
    """A 429 for a request sent before our last reaction is the old overload, already
    answered: it neither pauses nor counts toward the next escalation."""
    with ControlledClock() as clock:
        limiter, _ = make(1)
        stale = await limiter.acquire()
        clock.tick()
        limiter.release(stale, throttled=True)  # reaction #1
        assert paused_for(limiter) == 0.0

        clock.tick()
        await limiter.acquire()  # a slot is out; it reports under the earlier start time
        limiter.release(stale, throttled=True)
        assert paused_for(limiter) == 0.0

        clock.tick()
        limiter.release(await limiter.acquire(), throttled=True)  # the 2nd fresh one pauses
        assert paused_for(limiter) == pytest.approx(PAUSE_BASE / 2)


async def test_429_that_lowers_the_limit_still_counts_toward_the_pause() -> None:
    """Two consecutive fresh 429s pause the workers whether or not the first one also lowered
    the limit: here the first drops 3 → 1, the second (sent after that reaction, refused
    again at one in flight) must start the shared pause, exactly as at ceiling 1."""
    with ControlledClock() as clock:
        limiter, _ = make(3)
        limiter.release(await limiter.acquire(), throttled=True)  # fresh; lowers 3 → 1
        assert limiter.limit == 1
        clock.tick()
        limiter.release(await limiter.acquire(), throttled=True)  # fresh again
        assert paused_for(limiter) > 0.0


async def test_retry_after_sets_a_pause_that_delays_every_acquirer() -> None:
    """A Retry-After on a 429 sets the shared pause by itself (even on a first 429), and every
    acquirer — not just the one that was throttled — starts only after it."""
    with ControlledClock() as clock:
        limiter, _ = make(4)
        out = [await limiter.acquire() for _ in range(4)]
        limiter.release(out[0], throttled=True, retry_after=0.2)
        resume_at = clock.now + 0.2
        assert paused_for(limiter) == pytest.approx(0.2)
        assert limiter.limit == 3
        for ticket in out[1:]:
            limiter.release(ticket, ok=True)

        tickets = await clock.run(asyncio.gather(*(limiter.acquire() for _ in range(3))))

        starts = tickets
        assert min(starts) == pytest.approx(resume_at)
        assert max(starts) - min(starts) == 0.0  # released together, not one pause each
        assert limiter.in_flight == 3
        for ticket in tickets:
            limiter.release(ticket, ok=True)
        assert paused_for(limiter) == 0.0


async def test_pause_holds_every_acquirer_and_is_never_shortened() -> None:
    """``pause(s)`` (a connection outage) holds every new grant until it ends; a shorter
    pause asked for meanwhile does not cut it short."""
    with ControlledClock() as clock:
        limiter, _ = make(3)
        limiter.pause(0.2)
        resume_at = clock.now + 0.2
        limiter.pause(0.01)
        assert paused_for(limiter) == pytest.approx(0.2)
        tickets = await clock.run(asyncio.gather(*(limiter.acquire() for _ in range(3))))
        assert list(tickets) == pytest.approx([resume_at] * 3)
    for ticket in tickets:
        limiter.release(ticket, ok=True)
    assert limiter.limit == 3  # an outage says nothing about the account's limit


async def test_acquirer_cancelled_during_pause_returns_its_slot() -> None:
    """Cancelled while sitting out a shared pause, an acquirer returns the slot it held."""
    with ControlledClock() as clock:
        limiter, _ = make(1)
        limiter.release(await limiter.acquire(), throttled=True, retry_after=0.15)
        resume_at = clock.now + 0.15
        pausing = asyncio.create_task(limiter.acquire())
        await clock.run(asyncio.sleep(0.01))
        assert not pausing.done()
        pausing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pausing
        # Would time out on a leaked slot; otherwise granted when the pause ends.
        ticket = await clock.run(asyncio.wait_for(limiter.acquire(), 1.0))
        assert ticket == pytest.approx(resume_at)
        assert limiter.in_flight == 1
        limiter.release(ticket, ok=True)
        assert limiter.in_flight == 0


async def storm(retry_after: float | None, rounds: int = 8) -> list[float]:
    """A 429 for every request at ceiling 1, each sent once the last pause is over; the
    pause the limiter sets after each one. Time is stepped, never slept."""
    with ControlledClock(start=1000.0) as clock:
        limiter = AdaptiveLimiter(1, rng=LowJitter(0))
        pauses = []
        for _ in range(rounds):
            clock.now += paused_for(limiter) + 0.001  # wait the pause out, then send again
            limiter.release(await limiter.acquire(), throttled=True, retry_after=retry_after)
            pauses.append(paused_for(limiter))
    return pauses


@pytest.mark.parametrize("retry_after", [0.0, 0.01])
async def test_small_retry_after_never_switches_off_the_escalating_pause(
    retry_after: float
) -> None:
    """Retry-After: 0 (also what a negative value or a past date parses to) or a tiny one
    is only a floor: a 429 storm escalates the shared pause exactly as without the header,
    so the storm is not answered with a request every few milliseconds."""
    own = await storm(None)
    with_header = await storm(retry_after)
    assert with_header == pytest.approx([max(retry_after, pause) for pause in own])
    assert with_header[-1] >= PAUSE_BASE * 2 ** 5 / 2  # still escalating after 8 × 429


async def test_retry_after_above_the_own_pause_is_the_pause() -> None:
    """A Retry-After longer than the limiter's own pause sets the pause, from the first
    429 on; once the escalation passes it, the escalation rules again."""
    own = await storm(None)
    with_header = await storm(2.0)
    assert with_header == pytest.approx([max(2.0, pause) for pause in own])
    assert with_header[0] == pytest.approx(2.0)
    assert with_header[-1] == pytest.approx(own[-1])
    assert own[-1] > 2.0
