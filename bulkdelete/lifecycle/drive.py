"""The one run lifecycle of ``delete`` and ``verify``: record the run, run the engine (with
the periodic snapshot beside it in its TaskGroup, when in a checkpoint), close."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import structlog

from bulkdelete.batcher import Batch
from bulkdelete.checkpoint import CheckpointStore, Ledger, RunRecord, State
from bulkdelete.client import BoundClient, ClevertapClient, Deleter
from bulkdelete.engine import AdaptiveLimiter, Engine, OperationFactory, RunEnd, RunStats
from bulkdelete.engine.engine import Check, Delete
from bulkdelete.engine.stats import StopRequest
from bulkdelete.errors import BulkDeleteError, StorageError, mid_run
from bulkdelete.failed import FailureSink
from bulkdelete.lifecycle.plan import Observer, Plan, QuietObserver
from bulkdelete.logs import utc_timestamp
from bulkdelete.report import build_report, save_report
from bulkdelete.settings import Settings

log = structlog.get_logger("bulkdelete")

SNAPSHOT_INTERVAL = 1.0  # seconds between fsync'd snapshots: the power-loss window
TICK = 0.25  # seconds between progress ticks
SUMMARY_INTERVAL = 60.0  # seconds between info lines about concurrency changes


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)


def was_killed(runs: Sequence[RunRecord]) -> bool:
    """Whether the job's last run never ended: its unrecorded sends count as re-sent after
    a crash, else after a stop, so a Ctrl-C is never reported as a crash."""
    return not runs or runs[-1].exit_code is None


def stopped_code(stop: StopRequest, *, complete: bool) -> int | None:
    return stop.exit_code if stop.requested and not complete else None


def run_exit_code(state: State, stop: StopRequest) -> int:
    stopped = stopped_code(stop, complete=state.complete)
    return stopped if stopped is not None else (1 if state.progress.ids_failed else 0)


@dataclass(slots=True)
class Run:
    """One run: sent through ``deleter`` (the client when None) or ``operation``; kept in
    ``store`` and watched by ``observer`` when given (``closing`` runs before its last save)."""

    settings: Settings
    failures: FailureSink
    stop: StopRequest
    state: State
    record: RunRecord
    deleter: Deleter | None = None
    operation: Callable[[BoundClient], OperationFactory] | None = None
    store: CheckpointStore | None = None
    resumed: bool = False
    report: Path | None = None
    closing: Callable[[], None] | None = None
    plan: Plan | None = None
    observer: Observer = field(default_factory=QuietObserver)
    calibration: dict[str, Any] | None = None  # the account's not-found shape, for lookups
    stats: RunStats = field(default_factory=RunStats)
    started: float = 0.0  # monotonic, once run_recorded starts it

    def __post_init__(self) -> None:
        self.record.traffic = self.stats  # the engine's counters are the record's traffic

    def count(self, exit_code: int | None = None) -> None:
        run = self.record
        run.resent_after_crash, run.resent_after_stop = self.state.progress.resent_this_run()
        run.elapsed_s = time.monotonic() - self.started
        if exit_code is not None:
            run.exit_code = exit_code
            run.ended = utc_timestamp()


async def run_recorded(job: Run, batches: Iterator[Batch],
                       exit_code: Callable[[RunEnd], int] | None = None) -> int:
    """Listed before anything is sent, so even a run killed at once is; saved however it
    ends. With no store (delete_ids, verify --sample, the baseline) nothing is saved; with a
    ``plan`` the observer is told how it goes."""
    store, state, observer = job.store, job.state, job.observer
    if job.resumed and store is not None:
        # No journal switch here: the snapshot just below switches to a new one itself.
        state.progress.carry_over(killed=was_killed(state.runs))
    state.runs.append(job.record)
    job.started = time.monotonic()
    if store is not None:
        store.snapshot(*store.prepare_snapshot(state))
    # From here on the run may send: a precondition that breaks now is exit 4, not 2.
    code: int | None = None
    try:
        async with _engine(job, Ledger(state.progress, store.append if store else None)) as engine:
            p = state.progress
            if job.plan is not None:
                observer.started(job.plan, engine.snapshot, p.ids_done,
                                 failed_before=p.ids_failed,
                                 present_before=p.reasons.get(Check.labels.finding or "", 0),
                                 throttled_before=sum(r.traffic.throttled
                                                      for r in state.runs[:-1]))
            beside = None if store is None and job.plan is None else _tick(job, store, observer)
            try:
                end = await engine.run(batches, beside=beside)
            finally:
                observer.finished()
        code = exit_code(end) if exit_code else run_exit_code(state, job.stop)
    except BulkDeleteError as exc:
        broken = mid_run(exc)
        code = broken.exit_code
        if broken is exc:
            raise
        raise broken from None
    finally:
        error = _close(job, code)
    if error is not None:
        raise mid_run(error)
    return code


@contextlib.asynccontextmanager
async def _engine(job: Run, ledger: Ledger) -> AsyncIterator[Engine]:
    """Its session and limiter are bound to the running loop: built and torn down in it."""
    settings = job.settings
    # A few spare connections: a request abandoned on timeout never blocks the next one.
    connector = aiohttp.TCPConnector(limit=settings.concurrency + 4, ttl_dns_cache=300)
    async with aiohttp.ClientSession(connector=connector, raise_for_status=False) as session:
        bound = ClevertapClient(
            base_url=settings.base_url, account_id=settings.account_id,
            passcode=settings.passcode, id_type=settings.id_type, timeout=settings.timeout,
            calibration=job.calibration,
        ).bind(session)
        changes = LimitChangeLog()
        limiter = AdaptiveLimiter(settings.concurrency, rate=settings.rate, on_change=changes)
        try:
            operation = (job.operation(bound) if job.operation
                         else partial(Delete, (job.deleter or bound).delete))
            yield Engine(settings=settings, limiter=limiter, recorder=ledger,
                         failures=job.failures, stop=job.stop, stats=job.stats,
                         operation=operation)
        finally:
            changes.flush()


async def _tick(job: Run, store: CheckpointStore | None, observer: Observer) -> None:
    """An fsync'd snapshot about once a second (docs/guarantees.md §2), in a thread so
    sending never waits on disk; a failed journal write ends the run in its own task."""
    clock = asyncio.get_running_loop().time  # the loop's clock, as the engine's timers
    last = clock()
    while True:
        await asyncio.sleep(TICK)
        observer.tick()
        now = clock()
        if store is not None and now - last >= SNAPSHOT_INTERVAL:
            last = now
            job.count()
            data, gen = store.prepare_snapshot(job.state)
            await asyncio.to_thread(store.snapshot, data, gen)


def _close(job: Run, code: int | None) -> StorageError | None:
    """The last snapshot, then the report: the first failure is returned, not raised, so it
    never hides the error that ended the run."""
    store, state = job.store, job.state
    job.count(code)
    if job.closing is not None:
        job.closing()
    if store is None:
        return None
    error: StorageError | None = None
    try:
        store.finish(state)
    except StorageError as exc:
        error = exc
    # A checkpoint folder swapped mid-run gets no report: it holds none of the job.
    if job.report is not None and code is not None \
            and (job.report.parent != store.directory or store.same_folder()):
        try:
            save_report(job.report, build_report(state, exit_code=code))
        except StorageError as exc:
            error = error or exc
    return error


class LimitChangeLog:
    """The limiter's ``on_change``, logged for people (docs/cli.md, "Logs"): every step at
    debug; at info the first change at once (the account throttles), later ones gathered
    into one line per interval, the rest at :meth:`flush`, so a 429 storm is a few lines."""

    def __init__(self, interval: float = SUMMARY_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._last_said = float("-inf")
        self._steps: list[tuple[int, int, str]] = []  # (old, new, why) not yet said

    def __call__(self, old: int, new: int, why: str) -> None:
        log.debug("concurrency_changed", old=old, new=new, why=why)
        self._steps.append((old, new, why))
        if self._clock() - self._last_said >= self._interval:
            self.flush()

    def flush(self) -> None:
        steps = self._steps
        if not steps:
            return
        log.info("concurrency_changed", old=steps[0][0], new=steps[-1][1],
                 lowest=min(new for _, new, _ in steps), changes=len(steps),
                 why=dict(Counter(why for _, _, why in steps)))
        self._last_said = self._clock()
        self._steps = []
