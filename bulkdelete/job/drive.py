"""The job's only contact with the engine: build it, feed it batches, record as it goes.

Everything else in :mod:`bulkdelete.job` works on the checkpoint, the input and the plan;
what the engine is and how it is driven is kept to this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog

from bulkdelete.batcher import Batch
from bulkdelete.checkpoint import CheckpointStore, JournalWriter, Ledger, Progress, RunRecord, State
from bulkdelete.client import BoundClient, ClevertapClient, Deleter
from bulkdelete.engine import (
    AdaptiveLimiter,
    Engine,
    OperationFactory,
    RunEnd,
    RunStats,
    StopRequest,
)
from bulkdelete.failed import FailureSink
from bulkdelete.job.observer import Observer
from bulkdelete.job.plan import Plan
from bulkdelete.job.throttling import LimitChangeLog
from bulkdelete.logs import utc_timestamp
from bulkdelete.settings import Settings

log = structlog.get_logger("bulkdelete")

SNAPSHOT_INTERVAL = 1.0  # seconds between fsync'd snapshots: the power-loss window

# The operation a run does with its client, when it is not a delete (``verify``'s check).
OperationOn = Callable[[BoundClient], OperationFactory]


def timestamp() -> str:
    """Now, in UTC, as the checkpoint and the report write times (the logs' format)."""
    return utc_timestamp()


@dataclass(slots=True)
class RunCounters:
    """This run's record in the checkpoint, counting the engine's traffic in place."""

    run: RunRecord
    stats: RunStats = field(default_factory=RunStats)
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.run.traffic = self.stats  # the engine's counters are the record's traffic

    def close(self, exit_code: int | None, progress: Progress) -> None:
        """Bring the record up to now; with an exit code, the run has ended."""
        run = self.run
        run.resent_after_crash, run.resent_after_stop = progress.resent_this_run()
        run.elapsed_s = time.monotonic() - self.started
        if exit_code is not None:
            run.exit_code = exit_code
            run.ended = timestamp()


async def send_batches(
    settings: Settings, batches: Iterator[Batch], *, counters: RunCounters,
    store: CheckpointStore, state: State, failures: FailureSink, stop: StopRequest,
    deleter: Deleter | None, observer: Observer, plan: Plan, operation: OperationOn | None = None,
) -> RunEnd:
    """Send ``batches``, journalling each into ``store`` and snapshotting ``state`` about
    once a second; the observer sees the run start, tick and finish."""
    p = state.progress
    async with _engine(settings, deleter=deleter, recorder=Ledger(p, store.journal),
                       failures=failures, stop=stop, stats=counters.stats,
                       operation=operation) as engine:
        # The display counts for the whole job: what earlier runs did plus this run's.
        observer.started(plan, engine.snapshot, p.ids_deleted + p.ids_failed,
                         failed_before=p.ids_failed,
                         throttled_before=sum(r.traffic.throttled for r in state.runs[:-1]))
        flusher = asyncio.create_task(_flush_periodically(store, state, counters, observer))
        try:
            return await _run_recorded(engine.run(batches), store.journal, flusher)
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            observer.finished()


async def send_ids(
    settings: Settings, batches: Iterator[Batch], *, counters: RunCounters, progress: Progress,
    failures: FailureSink, stop: StopRequest, deleter: Deleter | None,
    operation: OperationOn | None = None,
) -> RunEnd:
    """Send ``batches`` with nothing journalled: progress is kept in memory only."""
    async with _engine(settings, deleter=deleter, recorder=Ledger(progress),
                       failures=failures, stop=stop, stats=counters.stats,
                       operation=operation) as engine:
        return await engine.run(batches)


@contextlib.asynccontextmanager
async def _engine(
    settings: Settings, *, deleter: Deleter | None, recorder: Ledger,
    failures: FailureSink, stop: StopRequest, stats: RunStats,
    operation: OperationOn | None = None,
) -> AsyncIterator[Engine]:
    """The engine with its loop-bound parts (session, limiter), built inside the running
    loop and torn down with it."""
    # One pool for the run; a few spare connections so a request abandoned on timeout
    # never blocks the next one waiting for a socket.
    connector = aiohttp.TCPConnector(limit=settings.concurrency + 4, ttl_dns_cache=300)
    async with aiohttp.ClientSession(connector=connector, raise_for_status=False) as session:
        bound = ClevertapClient(
            base_url=settings.base_url, account_id=settings.account_id,
            passcode=settings.passcode, id_type=settings.id_type, timeout=settings.timeout,
        ).bind(session)
        changes = LimitChangeLog()
        limiter = AdaptiveLimiter(settings.concurrency, rate=settings.rate, on_change=changes)
        try:
            yield Engine(settings=settings, deleter=deleter or bound, limiter=limiter,
                         recorder=recorder, failures=failures, stop=stop, stats=stats,
                         operation=operation(bound) if operation is not None else None)
        finally:
            changes.flush()


async def _run_recorded(run: Coroutine[Any, Any, RunEnd], journal: JournalWriter,
                        flusher: asyncio.Task[None]) -> RunEnd:
    """The engine's run, ended at once when the checkpoint cannot be written — a failed
    journal write or a snapshot that failed in the flusher: a run that went on could not
    record what it does. The write's error is raised in place of the cancellation."""
    task = asyncio.ensure_future(run)
    flusher.add_done_callback(lambda _flusher: task.cancel())
    try:
        return await task
    except asyncio.CancelledError:
        if journal.failure is not None:
            raise journal.failure from None
        failed = flusher.exception() if flusher.done() and not flusher.cancelled() else None
        if failed is not None:
            raise failed from None
        raise


async def _flush_periodically(
    store: CheckpointStore, state: State, counters: RunCounters, observer: Observer,
) -> None:
    """About once a second: an fsync'd snapshot (bounds what a power loss can take,
    docs/guarantees.md §2) and a progress tick. The slow part runs in a thread so sending
    never waits on disk."""
    last = time.monotonic()
    while True:
        await asyncio.sleep(0.25)
        observer.tick()
        now = time.monotonic()
        if now - last >= SNAPSHOT_INTERVAL:
            last = now
            counters.close(None, state.progress)
            state.updated = timestamp()
            data, gen = store.prepare_snapshot(state)
            await asyncio.to_thread(store.snapshot, data, gen)
