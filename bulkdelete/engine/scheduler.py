"""Which batch runs when: the window, the workers, the slots, and stopping.

A worker takes the next batch not yet done (:meth:`Scheduler._admit`), waits until it is
inside the window — fewer than ``lookahead`` batches past the watermark, which bounds the
checkpoint's state (docs/guarantees.md §4) — takes a limiter slot for it, and then owns the
batch until ``handle`` has recorded it. Workers, not a task per batch: a task each costs
more than the send at zero latency.

While fewer than ``2 × concurrency`` workers exist, one more than are busy waits to admit,
so a freed slot is taken at once; a batch waiting to retry keeps its worker, and another
starts in its place. Batches held at once may each have been sent, so that cap is also the
bound on what a ``kill -9`` can leave sent but unrecorded (docs/guarantees.md §2).

A stop closes the :class:`~bulkdelete.engine.stop.Gate`: workers waiting on the window or
a slot wake and admit nothing; requests already at the server finish, bounded by
``Settings.grace``, and then the workers still holding batches are cancelled, leaving those
batches unrecorded for the resume to send again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import structlog

from bulkdelete.batcher import Batch
from bulkdelete.engine.ledger import Ledger
from bulkdelete.engine.limiter import AdaptiveLimiter, Closed, Ticket
from bulkdelete.engine.sender import Abandoned, wait_at_most
from bulkdelete.engine.stats import RunStats
from bulkdelete.engine.stop import OPEN, STOPPED, Gate
from bulkdelete.errors import BulkDeleteError
from bulkdelete.settings import Settings

log = structlog.get_logger("bulkdelete")

Handle = Callable[[Batch, Ticket], Awaitable[None]]


@dataclass(slots=True)
class RunEnd:
    input_exhausted: bool
    limit_reached: bool
    stopped: bool


class Scheduler:
    def __init__(self, *, settings: Settings, limiter: AdaptiveLimiter, ledger: Ledger,
                 gate: Gate, stats: RunStats, handle: Handle) -> None:
        self.settings = settings
        self.limiter = limiter
        self.ledger = ledger
        self.gate = gate
        self.stats = stats
        self._handle = handle
        self._batches: Iterator[Batch] = iter(())
        self._end = RunEnd(input_exhausted=False, limit_reached=False, stopped=False)
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._workers = 0  # alive
        self._busy = 0  # holding a batch
        self._admitting = 0  # waiting in _admit for a batch and a slot
        self._idle = asyncio.Event()  # no worker alive
        self._idle.set()
        self._advanced = asyncio.Event()  # a batch was recorded: the window may have moved
        self._max_workers = min(settings.lookahead, 2 * settings.concurrency)

    def wake(self) -> None:
        """Wake workers waiting on the window (the gate calls it when the run stops)."""
        self._advanced.set()

    async def run(self, batches: Iterator[Batch],
                  *beside: Callable[[], Coroutine[Any, Any, None]]) -> RunEnd:
        """Handle every batch not yet done, with ``beside`` (the watchdog) running until
        the last worker ends; a failure in either ends the whole run with it."""
        self._batches = batches
        end = self._end = RunEnd(input_exhausted=False, limit_reached=False, stopped=False)
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                helpers = [tg.create_task(helper()) for helper in beside]
                self._spawn_worker()
                await self._drain()
                for helper in helpers:
                    helper.cancel()
        except BaseExceptionGroup as group:
            raise _first_meaningful(group) from None
        return end

    def _spawn_worker(self) -> None:
        self._workers += 1
        self._idle.clear()
        assert self._tg is not None, "workers start inside run()"
        task = self._tg.create_task(self._worker())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _worker(self) -> None:
        try:
            while (job := await self._admit()) is not None:
                if not self._admitting and self._workers < self._max_workers:
                    self._spawn_worker()  # no one else waits to admit: keep one who does
                batch, ticket = job
                self._busy += 1
                try:
                    await self._handle(batch, ticket)
                except Abandoned:
                    pass  # unrecorded: the resume sends it again
                finally:
                    self._busy -= 1
                    self._advanced.set()  # workers waiting on the window re-check it
        finally:
            self._workers -= 1
            if not self._workers:
                self._idle.set()

    async def _admit(self) -> tuple[Batch, Ticket] | None:
        """The next batch to send, with a limiter slot taken for it; None when nothing more
        is to be admitted (input exhausted, --limit reached, a stop, a fatal answer)."""
        if self.gate.state is not OPEN:
            return None
        self._admitting += 1
        try:
            job = await self._next_job()
        finally:
            self._admitting -= 1
        if job is None:
            self.gate.close()
        return job

    async def _next_job(self) -> tuple[Batch, Ticket] | None:
        limit = self.settings.limit
        lookahead = self.settings.lookahead
        ledger, gate, stats = self.ledger, self.gate, self.stats
        for batch in self._batches:
            if gate.state is STOPPED:
                return None
            if ledger.is_done(batch.seq):
                continue
            if limit is not None and stats.ids_admitted >= limit:
                self._end.limit_reached = True
                return None
            # Counted as it is taken, before any wait: another worker may take the next
            # batch meanwhile, and --limit must see this one.
            stats.ids_admitted += len(batch.ids)
            while batch.seq >= ledger.watermark + lookahead:  # the window
                self._advanced.clear()
                await self._advanced.wait()
                if gate.state is STOPPED:
                    return None
            try:
                ticket = await self.limiter.acquire()
            except Closed:  # the run is stopping
                return None
            if gate.state is STOPPED:
                self.limiter.release(ticket)
                return None
            return batch, ticket
        self._end.input_exhausted = True
        if limit is not None and stats.ids_admitted >= limit:
            self._end.limit_reached = True
        return None

    async def _drain(self) -> None:
        """Wait for admitted batches; on a stop, only as long as the grace allows."""
        await _first_of(self._idle, self.gate.stopped)
        if self._idle.is_set():
            return
        await wait_at_most(self._idle, self.settings.grace)
        if not self._idle.is_set():
            log.warning("shutdown_grace_expired", abandoned_batches=self._busy)
            for task in list(self._tasks):
                task.cancel()  # unrecorded, so the resume sends them again


async def _first_of(*events: asyncio.Event) -> None:
    """Wait until any of the events is set."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _first_meaningful(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """Unwrap the task group's exception group so callers see the real error: our own
    errors first, then anything else (a bug), never a bare group."""
    flat: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            flat.append(exc)

    walk(group)
    for exc in flat:
        if isinstance(exc, BulkDeleteError):
            return exc
    for exc in flat:
        if not isinstance(exc, asyncio.CancelledError):
            return exc
    return flat[0] if flat else group
