"""The adaptive limiter (docs/guarantees.md §5): a FIFO concurrency ceiling that drops to
what the server admits on 429, probes back up slowly, pauses every worker together when
throttling persists, and optionally spaces starts to a rate.

Logic is asserted through the public counters; the few timing tests use short pauses and
tolerant bounds.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from bulkdelete.engine.limiter import PAUSE_BASE, AdaptiveLimiter, Closed, Ticket

Change = tuple[int, int, str]


class LowJitter(random.Random):
    """Equal jitter at its minimum, so pauses are exactly half their span (and short)."""

    def uniform(self, a: float, b: float) -> float:
        return a


def make(
    ceiling: int, *, probe_after: int = 8, rate: float | None = None
) -> tuple[AdaptiveLimiter, list[Change]]:
    changes: list[Change] = []
    limiter = AdaptiveLimiter(
        ceiling,
        rate=rate,
        probe_after=probe_after,
        on_change=lambda old, new, why: changes.append((old, new, why)),
        rng=LowJitter(0),
    )
    return limiter, changes


async def spin(times: int = 5) -> None:
    """Let every ready task run a few steps."""
    for _ in range(times):
        await asyncio.sleep(0)


async def test_ceiling_below_one_is_refused() -> None:
    """A limiter that could never grant a slot is a programming error."""
    with pytest.raises(ValueError, match="ceiling"):
        AdaptiveLimiter(0)


async def test_never_more_than_limit_at_once() -> None:
    """Thirty concurrent acquirers never hold more than ``limit`` slots at once, and do reach
    it (the ceiling is used, not just respected); every slot is returned at the end."""
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

    await asyncio.gather(*(worker(i) for i in range(30)))
    assert peak == 3
    assert limiter.peak_in_flight == 3
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


async def test_throttled_release_lowers_limit_to_n_minus_1() -> None:
    """A 429 while n of our requests are out proves the account admits fewer than n: the
    limit drops straight to n-1, and the change is reported."""
    limiter, changes = make(5)
    tickets = [await limiter.acquire() for _ in range(4)]
    assert limiter.in_flight == 4

    limiter.release(tickets[0], throttled=True)

    assert limiter.limit == 3
    assert changes == [(5, 3, "throttled")]
    assert limiter.throttled == 1
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
    assert limiter.throttled == 2


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
    await asyncio.sleep(0.025)
    limiter.release(holders[2], ok=True)
    active -= 1
    await asyncio.gather(*tasks)
    assert peak_after == 2
    assert limiter.in_flight == 0


async def test_probe_raises_limit_by_one_after_probe_after_times_limit_successes() -> None:
    """Additive increase: at limit L, ``probe_after × L`` successes of requests started after
    the last change raise the limit by one; successes of requests sent before the change say
    nothing about it and do not count."""
    limiter, changes = make(3, probe_after=2)
    early = [await limiter.acquire() for _ in range(2)]
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


async def test_fresh_429s_escalate_a_shared_pause() -> None:
    """At a limit that cannot drop further, each 429 for a request started after the last
    reaction escalates a shared, growing pause (the account is busy with someone else); the
    next acquire waits it out; a success ends the streak."""
    limiter, _ = make(1)
    loop = asyncio.get_running_loop()

    limiter.release(await limiter.acquire(), throttled=True)
    assert limiter.paused_for == 0.0  # one 429 is not yet a pattern

    limiter.release(await limiter.acquire(), throttled=True)
    first = limiter.paused_for
    assert first == pytest.approx(PAUSE_BASE / 2, abs=0.02)
    # When the pause ends, read in one expression: nothing may run between the two clocks.
    resume_at = loop.time() + limiter.paused_for

    ticket = await limiter.acquire()
    assert ticket.started >= resume_at - 0.005  # waited the pause out
    limiter.release(ticket, throttled=True)
    second = limiter.paused_for
    assert second == pytest.approx(PAUSE_BASE, abs=0.02)  # doubled

    limiter.release(await limiter.acquire(), ok=True)  # streak over
    limiter.release(await limiter.acquire(), throttled=True)
    assert limiter.paused_for == 0.0


async def test_stale_429_does_not_escalate_the_pause() -> None:
    """A 429 for a request sent before our last reaction is the old overload, already
    answered: it neither pauses nor counts toward the next escalation."""
    limiter, _ = make(1)
    stale = await limiter.acquire()
    limiter.release(stale, throttled=True)  # reaction #1
    assert limiter.paused_for == 0.0

    await limiter.acquire()  # a slot is out; it reports under the earlier start time
    limiter.release(Ticket(started=stale.started), throttled=True)
    assert limiter.paused_for == 0.0

    limiter.release(await limiter.acquire(), throttled=True)  # the 2nd fresh one pauses
    assert limiter.paused_for == pytest.approx(PAUSE_BASE / 2, abs=0.02)


async def test_429_that_lowers_the_limit_still_counts_toward_the_pause() -> None:
    """Two consecutive fresh 429s pause the workers whether or not the first one also lowered
    the limit: here the first drops 3 → 1, the second (sent after that reaction, refused
    again at one in flight) must start the shared pause, exactly as at ceiling 1."""
    limiter, _ = make(3)
    limiter.release(await limiter.acquire(), throttled=True)  # fresh; lowers 3 → 1
    assert limiter.limit == 1
    limiter.release(await limiter.acquire(), throttled=True)  # fresh again
    assert limiter.paused_for > 0.0


async def test_retry_after_sets_a_pause_that_delays_every_acquirer() -> None:
    """A Retry-After on a 429 sets the shared pause by itself (even on a first 429), and every
    acquirer — not just the one that was throttled — starts only after it."""
    limiter, _ = make(4)
    loop = asyncio.get_running_loop()
    out = [await limiter.acquire() for _ in range(4)]
    limiter.release(out[0], throttled=True, retry_after=0.2)
    resume_at = loop.time() + 0.2
    assert limiter.paused_for == pytest.approx(0.2, abs=0.02)
    assert limiter.limit == 3
    for ticket in out[1:]:
        limiter.release(ticket, ok=True)

    tickets = await asyncio.gather(*(limiter.acquire() for _ in range(3)))

    starts = [ticket.started for ticket in tickets]
    assert min(starts) >= resume_at - 0.01
    assert max(starts) - min(starts) < 0.1  # released together, not one pause each
    assert limiter.in_flight == 3
    for ticket in tickets:
        limiter.release(ticket, ok=True)
    assert limiter.paused_for == 0.0


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


async def test_acquirer_cancelled_during_pause_returns_its_slot() -> None:
    """Cancelled while sitting out a shared pause, an acquirer returns the slot it held."""
    limiter, _ = make(1)
    limiter.release(await limiter.acquire(), throttled=True, retry_after=0.15)
    pausing = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0.01)
    assert not pausing.done()
    pausing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pausing
    ticket = await asyncio.wait_for(limiter.acquire(), 1.0)  # would hang on a leaked slot
    assert limiter.in_flight == 1
    limiter.release(ticket, ok=True)
    assert limiter.in_flight == 0


async def test_close_wakes_every_waiter_and_refuses_later_acquires() -> None:
    """``close()`` (a stopping run) makes every acquirer waiting in the queue, through a
    long pause or for a rate token raise Closed at once, without cancelling anyone; slots
    held stay counted until released, and no later acquire is granted."""
    limiter, _ = make(2)
    held = await limiter.acquire()
    limiter.release(await limiter.acquire(), throttled=True, retry_after=60.0)  # long pause
    pausing = asyncio.create_task(limiter.acquire())  # takes the free slot, then waits
    queued = asyncio.create_task(limiter.acquire())  # no slot: waits in the queue
    await spin()
    assert not pausing.done()
    assert not queued.done()

    limiter.close()
    for task in (pausing, queued):
        with pytest.raises(Closed):
            await asyncio.wait_for(task, 0.5)
        assert task.cancelling() == 0
    with pytest.raises(Closed):
        await limiter.acquire()
    limiter.close()  # closing twice is harmless
    limiter.release(held, ok=True)
    assert limiter.in_flight == 0


async def test_close_wakes_an_acquirer_waiting_for_a_rate_token() -> None:
    """A slow --rate holds a start for a long time; a stop does not wait for the token."""
    limiter, _ = make(5, rate=0.1)
    limiter.release(await limiter.acquire(), ok=True)  # spends the one token for 10 s
    waiting = asyncio.create_task(limiter.acquire())
    await spin()
    assert not waiting.done()
    limiter.close()
    with pytest.raises(Closed):
        await asyncio.wait_for(waiting, 0.5)
    assert limiter.in_flight == 0


async def test_rate_spaces_request_starts() -> None:
    """``rate=R`` lets no more than R+1 requests start in any one-second window, even with
    plenty of free slots; starts are spread rather than burst."""
    rate = 20
    limiter, _ = make(50, rate=rate)

    async def one() -> float:
        ticket = await limiter.acquire()
        limiter.release(ticket, ok=True)
        return ticket.started

    starts = sorted(await asyncio.gather(*(one() for _ in range(30))))

    for i, start in enumerate(starts):
        in_window = sum(1 for s in starts[i:] if s < start + 1.0)
        assert in_window <= rate + 1
    assert starts[-1] - starts[0] >= (30 - 1) / rate * 0.8
    assert limiter.in_flight == 0


async def test_without_rate_starts_are_immediate() -> None:
    """No --rate: slots within the ceiling are granted without waiting."""
    limiter, _ = make(30)
    loop = asyncio.get_running_loop()
    began = loop.time()
    tickets = [await limiter.acquire() for _ in range(30)]
    assert loop.time() - began < 0.1
    for ticket in tickets:
        limiter.release(ticket, ok=True)


async def test_pause_holds_every_acquirer_and_is_never_shortened() -> None:
    """``pause(s)`` (a connection outage) holds every new grant until it ends; a shorter
    pause asked for meanwhile does not cut it short."""
    limiter, _ = make(3)
    loop = asyncio.get_running_loop()
    limiter.pause(0.2)
    resume_at = loop.time() + 0.2
    limiter.pause(0.01)
    assert limiter.paused_for == pytest.approx(0.2, abs=0.02)
    tickets = await asyncio.gather(*(limiter.acquire() for _ in range(3)))
    assert min(t.started for t in tickets) >= resume_at - 0.01
    for ticket in tickets:
        limiter.release(ticket, ok=True)
    assert limiter.limit == 3  # an outage says nothing about the account's limit


class FakeClock:
    """The limiter's clock, moved by the test: pauses are read, never slept."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def storm(retry_after: float | None, rounds: int = 8) -> list[float]:
    """A 429 for every request at ceiling 1, each sent once the last pause is over; the
    pause the limiter sets after each one."""
    clock = FakeClock()
    limiter = AdaptiveLimiter(1, rng=LowJitter(0), clock=clock)
    pauses = []
    for _ in range(rounds):
        clock.now += limiter.paused_for + 0.001  # wait the pause out, then send again
        limiter.release(await limiter.acquire(), throttled=True, retry_after=retry_after)
        pauses.append(limiter.paused_for)
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
