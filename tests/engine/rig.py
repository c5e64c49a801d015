"""Test doubles for the engine's unit tests: a scripted in-memory Deleter (no HTTP), a
recording journal behind a real Progress, and the rig that wires them to an Engine."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bulkdelete.batcher import Batch
from bulkdelete.checkpoint import Ledger, Progress
from bulkdelete.client import SUCCESS, Outcome, Result
from bulkdelete.engine import AdaptiveLimiter, Engine, RunEnd, RunStats, StopRequest
from bulkdelete.engine.engine import Delete
from bulkdelete.failed import MemoryFailures
from bulkdelete.settings import Settings
from tests.conftest import make_settings as make_settings  # the tests here import it from the rig
from tests.engine.clock import ControlledClock

RETRY = Result(Outcome.RETRYABLE, "HTTP 503", 503)
THROTTLE = Result(Outcome.THROTTLED, "HTTP 429 throttled", 429)
REJECT = Result(Outcome.REJECTED, "HTTP 400 rejected", 400, "bad id")
FATAL = Result(Outcome.FATAL, "HTTP 401 invalid credentials or URL", 401)

Answer = Callable[[list[str], int, int], Result]
Delay = Callable[[list[str], int], float]
UNREACHED = Result(Outcome.UNREACHED, "cannot connect to 127.0.0.1:9")

# -- test doubles -------------------------------------------------------------------------


def now() -> float:
    """The loop's clock: the controlled one while :meth:`Rig.run` runs."""
    return asyncio.get_running_loop().time()


def ident(seq: int, n: int) -> str:
    return f"s{seq:04d}-{n:04d}"


def seq_of(ident_: str) -> int:
    return int(ident_[1:5])


def make_batches(count: int, size: int = 100, last: int | None = None) -> list[Batch]:
    """``count`` batches of ``size`` distinct IDs (the last one ``last`` long if given)."""
    out = []
    for seq in range(count):
        n = last if (last is not None and seq == count - 1) else size
        out.append(Batch(seq, seq * 1000, seq * 10 + 1, [ident(seq, i) for i in range(n)]))
    return out


@dataclass
class Call:
    """One call; ``start_no``/``end_no`` order its start and end among every start and
    end of the run, which a controlled clock's equal times cannot."""

    ids: list[str]
    started: float
    start_no: int
    ended: float | None = None
    end_no: int | None = None
    result: Result | None = None

    @property
    def seq(self) -> int:
        return seq_of(self.ids[0])


class FakeDeleter:
    """Scripted :class:`Deleter`: ``answer(ids, call_number, attempt)`` decides the result,
    where ``attempt`` counts sends of this exact ID list (1-based); ``delay(ids, call_no)``
    how long the call takes. Records every call, the IDs acknowledged, and concurrency."""

    def __init__(self, answer: Answer | None = None, delay: Delay | float = 0.0) -> None:
        self.answer: Answer = answer or (lambda ids, n, attempt: SUCCESS)
        if callable(delay):
            self.delay: Delay = delay
        else:
            fixed = float(delay)

            def constant(ids: list[str], n: int) -> float:
                return fixed

            self.delay = constant
        self.calls: list[Call] = []
        self.moments = itertools.count()  # numbers every start and end, in order
        self.acknowledged: Counter[str] = Counter()
        self.attempts: Counter[tuple[str, ...]] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.on_call: Callable[[int], None] | None = None

    async def delete(self, ids: Sequence[str]) -> Result:
        batch = list(ids)
        number = len(self.calls)
        call = Call(batch, now(), next(self.moments))
        self.calls.append(call)
        self.attempts[tuple(batch)] += 1
        attempt = self.attempts[tuple(batch)]
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.on_call is not None:
                self.on_call(number)
            await asyncio.sleep(self.delay(batch, number))
            result = self.answer(batch, number, attempt)
        finally:
            self.in_flight -= 1
            call.ended, call.end_no = now(), next(self.moments)
        call.result = result
        if result.outcome is Outcome.SUCCESS:
            self.acknowledged.update(batch)
        return result

    def calls_for(self, seq: int) -> list[Call]:
        return [c for c in self.calls if c.seq == seq]


# The journal's record kinds ("p": a head of a batch a --limit cut).
_KINDS = {"s": "sent", "a": "answered", "d": "done", "p": "partly"}


@dataclass
class RecordingJournal:
    """Journal double: every sent/done event in order, with its time."""

    events: list[tuple[str, int, float]] = field(default_factory=list)
    done: dict[int, tuple[int, int, int, int, dict[str, int] | None]] = field(
        default_factory=dict)

    def append(self, record: dict[str, Any]) -> None:
        kind, seq = _KINDS[record["k"]], record["s"]
        if kind == "done":
            assert seq not in self.done, f"batch {seq} recorded twice"
            self.done[seq] = (record["o"], record["l"], record["n"], record["f"],
                              record.get("r"))
        self.events.append((kind, seq, now()))

    def sent(self) -> list[int]:
        return [s for kind, s, _ in self.events if kind == "sent"]


class OrderedFailures(MemoryFailures):
    """MemoryFailures that also logs, into a shared journal, when failures were kept."""

    def __init__(self, journal: RecordingJournal) -> None:
        super().__init__()
        self.journal = journal

    async def add(self, failures: Sequence[tuple[str, str, str]]) -> None:
        await super().add(failures)
        for seq in sorted({seq_of(i) for i, _, _ in failures}):
            self.journal.events.append(("failed", seq, now()))


@dataclass
class Rig:
    engine: Engine
    deleter: FakeDeleter
    journal: RecordingJournal
    failures: OrderedFailures
    progress: Progress
    stop: StopRequest
    limiter: AdaptiveLimiter
    elapsed: float = 0.0  # the last run's time on the controlled clock

    @property
    def stats(self) -> RunStats:
        return self.engine.sender.stats

    @property
    def batches_done(self) -> int:
        """Batches recorded done (the progress starts empty)."""
        return self.progress.watermark + len(self.progress.done_above)

    async def run(self, batches: Sequence[Batch] | Iterator[Batch],
                  timeout: float = 10.0) -> RunEnd:
        """The run on a controlled clock (tests/engine/clock.py): every delay, backoff,
        pause and timeout of the engine and of the fake passes at once, exactly."""
        with ControlledClock(now()) as clock:
            try:
                return await clock.run(
                    asyncio.wait_for(self.engine.run(iter(batches)), timeout))
            finally:
                self.elapsed = clock.now - clock.start

    def failed_ids(self) -> list[str]:
        return [i for i, _, _ in self.failures.items]

    def assert_nothing_lost(self, batches: Sequence[Batch]) -> None:
        """docs/guarantees.md §1: every ID of every batch recorded done was acknowledged by
        a success at least once or is in the failed file, and its failure was kept before
        the batch's done record. A batch a --limit cut: the same of its head recorded done."""
        failed = set(self.failed_ids())
        for batch in batches:
            done = (len(batch.ids) if self.progress.is_done(batch.seq)
                    else self.progress.head_done.get(batch.seq, 0))
            lost = [i for i in batch.ids[:done]
                    if not self.deleter.acknowledged[i] and i not in failed]
            assert not lost, f"batch {batch.seq}: {len(lost)} IDs lost, e.g. {lost[:3]}"
        order = [(kind, seq) for kind, seq, _ in self.journal.events]
        for kind, seq in order:
            if kind == "failed":
                assert order.index(("failed", seq)) < order.index(("done", seq))


def rig(deleter: FakeDeleter, settings: Settings | None = None,
        progress: Progress | None = None) -> Rig:
    """Build the engine inside the running loop (the limiter is loop-bound)."""
    settings = settings or make_settings()
    journal = RecordingJournal()
    failures = OrderedFailures(journal)
    progress = progress if progress is not None else Progress()
    stop = StopRequest()
    limiter = AdaptiveLimiter(settings.concurrency, rate=settings.rate)
    engine = Engine(settings=settings, operation=partial(Delete, deleter.delete), limiter=limiter,
                    recorder=Ledger(progress, journal.append), failures=failures, stop=stop,
                    rng=random.Random(7))
    return Rig(engine, deleter, journal, failures, progress, stop, limiter)

