"""The engine: batches in, classified deletes out, progress recorded as each batch ends.

::

    batches ──▶ worker: admit (window: ≤ lookahead past the watermark; a limiter slot)
                   │
                   ├─▶ send with retries ──▶ limiter (adaptive in-flight + rate)
                   │
                   └─▶ failed file (fsync) ──▶ tracker + journal (batch done) ──▶ admit …

A worker takes the next batch and a limiter slot for it, then owns the batch until it is
recorded: retries with exponential backoff and full jitter (AWS's "full jitter"), 429s
paced by the limiter without spending the retry budget, and a 400 on a multi-ID batch
bisected until the rejected IDs stand alone (spec §4.6). One worker more than are busy
waits to admit, so a freed slot is taken at once; a batch waiting to retry (or for another
batch's bisection) keeps its worker and another starts, up to ``2 × concurrency`` batches
held at once — the bound on what a ``kill -9`` can leave sent but unrecorded — and never
past the lookahead window, which bounds how far past the watermark the run gets (§4.4).

A request that never reached the server (connection refused, DNS) fails no ID: the whole
run pauses through the limiter and tries again, until an answer comes back or the stall
rule ends the run. Only a run that has not reached the server at all gives up after the
usual retries, since then the address itself is the likely fault.

A graceful stop admits nothing new, lets requests already at the server finish (bounded by
``Settings.grace``), and abandons batches that are only waiting (to retry, or for a slot
through a 429 pause): unrecorded, they are simply sent again by the resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from bulkdelete.batcher import Batch
from bulkdelete.checkpoint import Progress
from bulkdelete.client import Deleter, Outcome, Result
from bulkdelete.errors import BulkDeleteError, FatalApiError, StalledError, TooManyErrors
from bulkdelete.failed import FailureSink
from bulkdelete.limiter import AdaptiveLimiter, Ticket
from bulkdelete.settings import Settings

log = structlog.get_logger("bulkdelete")

# After this many multi-ID batches whose every ID was rejected on its own, the request
# itself is wrong (e.g. the wrong --id-type): abort rather than bisect the whole file.
ALL_REJECTED_ABORT = 2
# Longest pause between connection attempts during an outage: short enough that the run
# picks up within seconds of the network coming back.
OUTAGE_PAUSE_CAP = 5.0


class Journal(Protocol):
    """Where batch events go durably (the checkpoint store), or nowhere (library runs on
    an iterable)."""

    def append_sent(self, seq: int) -> None: ...

    def append_done(
        self, seq: int, offset: int, line: int, deleted: int, failed: int,
        reasons: dict[str, int] | None,
    ) -> None: ...


class NullJournal:
    def append_sent(self, seq: int) -> None:
        pass

    def append_done(
        self, seq: int, offset: int, line: int, deleted: int, failed: int,
        reasons: dict[str, int] | None,
    ) -> None:
        pass


class StopRequest:
    """A graceful stop asked for from outside (a signal handler, a caller)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.exit_code: int | None = None
        self.reason = ""
        self.listeners: list[Callable[[], None]] = []

    def request(self, exit_code: int, reason: str) -> None:
        if self.exit_code is None:
            self.exit_code, self.reason = exit_code, reason
        self.event.set()
        for listener in list(self.listeners):
            listener()

    @property
    def requested(self) -> bool:
        return self.event.is_set()


@dataclass(slots=True)
class RunStats:
    """This run's counters (the checkpoint keeps the job's)."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    ids_deleted: int = 0
    ids_failed: int = 0
    batches_done: int = 0
    ids_admitted: int = 0
    started: float = field(default_factory=time.monotonic)
    last_ack: float = field(default_factory=time.monotonic)

    @property
    def ids_attempted(self) -> int:
        return self.ids_deleted + self.ids_failed


class _Abandoned(Exception):
    """A batch dropped unrecorded because the run is stopping; the resume re-sends it."""


@dataclass(slots=True)
class RunEnd:
    input_exhausted: bool
    limit_reached: bool
    stopped: bool


class Pipeline:
    def __init__(
        self,
        *,
        settings: Settings,
        deleter: Deleter,
        limiter: AdaptiveLimiter,
        progress: Progress,
        journal: Journal,
        failures: FailureSink,
        stop: StopRequest,
        stats: RunStats | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.deleter = deleter
        self.limiter = limiter
        self.progress = progress
        self.journal = journal
        self.failures = failures
        self.stop = stop
        self.stats = stats or RunStats()
        self._rng = rng or random.Random()
        self._batches: Iterator[Batch] = iter(())
        self._end = RunEnd(input_exhausted=False, limit_reached=False, stopped=False)
        self._tg: asyncio.TaskGroup | None = None
        self._workers = 0  # alive
        self._busy = 0  # holding a batch
        self._admitting = 0  # waiting in _admit for a batch and a slot
        self._closed = False  # nothing more is admitted
        self._idle = asyncio.Event()  # no worker alive
        self._idle.set()
        self._advanced = asyncio.Event()
        self._failing_since: float | None = None
        self._all_rejected = 0
        self._halted = False  # a fatal answer arrived: send nothing more, not even queued
        self._bisecting = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting_for_slot: set[asyncio.Task[Any]] = set()  # inside limiter.acquire()
        self._succeeded = False  # any request of this run answered success
        self._reached = False  # any request of this run got past the connection
        self._outage_streak = 0  # consecutive requests that never reached the server
        # Batches held at once (admitted, not yet recorded): each may have been sent, so
        # this bounds what a kill -9 leaves for the resume to send again (spec §4.2).
        self._max_workers = min(settings.lookahead, 2 * settings.concurrency)

    # -- the run ------------------------------------------------------------------------

    async def run(self, batches: Iterator[Batch]) -> RunEnd:
        """Send every batch not yet done; return how the run ended. Fatal conditions
        raise a :class:`BulkDeleteError` (the caller saves progress either way)."""
        self.stats.last_ack = time.monotonic()
        self._batches = batches
        end = self._end = RunEnd(input_exhausted=False, limit_reached=False, stopped=False)
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                watchdog = tg.create_task(self._watchdog())
                self.stop.listeners.append(self._on_stop)
                try:
                    self._spawn_worker()
                    await self._drain()
                finally:
                    self.stop.listeners.remove(self._on_stop)
                watchdog.cancel()
        except BaseExceptionGroup as group:
            raise _first_meaningful(group) from None
        end.stopped = self.stop.requested
        return end

    # Workers, not a task per batch (a task each costs more than the send at zero
    # latency): a worker takes the next batch and a slot for it (:meth:`_admit`), sends and
    # records it, and takes the next. While fewer than ``_max_workers`` exist there is one
    # more than are busy, waiting to admit, so a freed slot is used at once; a batch
    # waiting to retry keeps its worker, and another starts in its place.

    def _spawn_worker(self) -> None:
        self._workers += 1
        self._idle.clear()
        assert self._tg is not None, "workers start inside run()"
        task = self._tg.create_task(self._worker())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _worker(self) -> None:
        me = asyncio.current_task()  # once per worker: a Python call in 3.11
        try:
            while (job := await self._admit(me)) is not None:
                if not self._admitting and self._workers < self._max_workers:
                    self._spawn_worker()  # no one else waits to admit: keep one who does
                batch, ticket = job
                self._busy += 1
                try:
                    await self._process(batch, ticket)
                except _Abandoned:
                    pass  # unrecorded: the resume sends it again
                finally:
                    self._busy -= 1
                    self._advanced.set()  # workers waiting on the window re-check it
        finally:
            self._workers -= 1
            if not self._workers:
                self._idle.set()

    async def _admit(self, me: asyncio.Task[Any] | None) -> tuple[Batch, Ticket] | None:
        """The next batch to send, with a limiter slot taken for it; None when nothing more
        is to be admitted (input exhausted, --limit reached, a stop, a fatal answer)."""
        if self._closed:
            return None
        self._admitting += 1
        try:
            job = await self._next_job(me)
        finally:
            self._admitting -= 1
        if job is None:
            self._closed = True
        return job

    async def _next_job(self, me: asyncio.Task[Any] | None) -> tuple[Batch, Ticket] | None:
        limit = self.settings.limit
        lookahead = self.settings.lookahead
        for batch in self._batches:
            if self.stop.requested:
                return None
            if self.progress.is_done(batch.seq):
                continue
            if limit is not None and self.stats.ids_admitted >= limit:
                self._end.limit_reached = True
                return None
            # Counted as it is taken, before any wait: another worker may take the next
            # batch meanwhile, and --limit must see this one.
            self.stats.ids_admitted += len(batch.ids)
            # Bounded state (spec §4.4): never run more than `lookahead` past the watermark.
            while batch.seq >= self.progress.watermark + lookahead:
                self._advanced.clear()
                await self._advanced.wait()
                if self.stop.requested:
                    return None
            try:
                ticket = await self._slot(me)
            except _Abandoned:
                return None
            if self._halted or self.stop.requested:
                self.limiter.release(ticket)
                return None
            return batch, ticket
        self._end.input_exhausted = True
        if limit is not None and self.stats.ids_admitted >= limit:
            self._end.limit_reached = True
        return None

    def _on_stop(self) -> None:
        """A stop wakes whatever waits without a request at the server: workers waiting
        on the window, and every one waiting for a slot (a 429 pause can last minutes)."""
        self._advanced.set()
        for task in self._waiting_for_slot:
            task.cancel()

    async def _slot(self, task: asyncio.Task[Any] | None) -> Ticket:
        """``limiter.acquire()`` for ``task`` (the current one), abandoned
        (:class:`_Abandoned`) if a stop comes first."""
        assert task is not None
        self._waiting_for_slot.add(task)
        try:
            return await self.limiter.acquire()
        except asyncio.CancelledError:
            if self.stop.requested:  # _on_stop's doing, not the task group's
                task.uncancel()  # the cancel is answered: keep the count right for timeouts
                raise _Abandoned from None
            raise
        finally:
            self._waiting_for_slot.discard(task)

    async def _drain(self) -> None:
        """Wait for admitted batches; on a stop, only as long as the grace allows."""
        await _first_of(self._idle, self.stop.event)
        if self._idle.is_set():
            return
        await _wait_at_most(self._idle, self.settings.grace)
        if not self._idle.is_set():
            log.warning("shutdown_grace_expired", abandoned_batches=self._busy)
            for task in list(self._tasks):
                task.cancel()  # unrecorded, so the resume sends them again

    async def _watchdog(self) -> None:
        """Stall rule (spec §3): abort when nothing was acknowledged for stall_timeout."""
        timeout = self.settings.stall_timeout
        while True:
            await asyncio.sleep(min(1.0, timeout / 4))
            if self.stop.requested:
                continue
            idle = time.monotonic() - self.stats.last_ack
            if idle >= timeout:
                raise StalledError(
                    f"no batch acknowledged for {idle:.0f}s (--stall-timeout {timeout:g}); "
                    "progress is saved, rerun the same command to resume"
                )

    # -- one batch ----------------------------------------------------------------------

    async def _process(self, batch: Batch, ticket: Ticket) -> None:
        ids = batch.ids
        # In-batch duplicates are sent once. The reader often knows there are none; else a
        # set is the cheaper way to see it.
        unique = (ids if batch.distinct or len(set(ids)) == len(ids)
                  else list(dict.fromkeys(ids)))
        failures = await self._delete(unique, batch.seq, ticket)
        # The common case, no failure, skips the bookkeeping: it runs thousands of times a
        # second.
        failed, by_reason = (await self._settle(batch, unique, failures) if failures
                             else (0, None))
        deleted = len(ids) - failed
        self.progress.mark_done(batch.seq, batch.offset, batch.line, deleted, failed,
                                by_reason)
        self.journal.append_done(batch.seq, batch.offset, batch.line, deleted, failed,
                                 by_reason)
        stats = self.stats
        stats.ids_deleted += deleted
        stats.ids_failed += failed
        stats.batches_done += 1
        if failures or self.settings.max_errors is not None:  # a share can fall by successes
            self._check_error_rules(failures)

    async def _settle(self, batch: Batch, unique: list[str],
                      failures: list[tuple[str, Result]]) -> tuple[int, dict[str, int]]:
        """Put a batch's failed IDs durably in the failed file; return how many of its
        occurrences failed, by reason. Raises instead when the run must stop."""
        if not self._succeeded and any(r.outcome is Outcome.RETRYABLE for _, r in failures):
            # Not one request of this run has succeeded yet: an endpoint that cannot be
            # reached (wrong --base-url, DNS, network) is not a reason to list IDs as
            # failed. Stop with the batch unrecorded; the rerun sends it again.
            raise TooManyErrors(
                "no request has succeeded in this run and batches are exhausting their "
                f"retries (last: {failures[0][1].reason}); nothing was marked failed. Check "
                "--region/--base-url and the network, then rerun the same command"
            )
        if len(unique) > 1 and len(failures) == len(unique) and all(
            r.outcome is Outcome.REJECTED for _, r in failures
        ):
            self._all_rejected += 1
            log.warning("batch_all_rejected", seq=batch.seq, reason=failures[0][1].reason)
        failed_ids = {ident for ident, _ in failures}
        occurrences = Counter(batch.ids) if len(unique) != len(batch.ids) else None
        reasons: Counter[str] = Counter()
        for ident, result in failures:
            reasons[result.reason] += occurrences[ident] if occurrences else 1
        failed = sum(reasons.values())
        # Durably in the failed file before the checkpoint says "done" (spec §4.1).
        await self.failures.add([(i, r.reason, r.detail) for i, r in failures])
        by_reason = dict(reasons)
        log.warning(
            "batch_given_up" if failed_ids == set(unique) else "ids_rejected",
            seq=batch.seq, line=batch.line, failed=failed, reasons=by_reason,
        )
        return failed, by_reason

    def _check_error_rules(self, failures: Sequence[tuple[str, Result]]) -> None:
        if self._all_rejected >= ALL_REJECTED_ABORT:
            raise FatalApiError(
                f"the API rejected every ID of {self._all_rejected} batches one by one, so "
                "the request itself is wrong (check --id-type and the input column); "
                "stopping instead of bisecting the whole file"
            )
        budget = self.settings.max_errors
        if budget is not None and budget.exceeded(self.stats.ids_failed,
                                                  self.stats.ids_attempted):
            raise TooManyErrors(
                f"--max-errors {budget} reached: {self.stats.ids_failed} IDs failed this run "
                f"of {self.stats.ids_attempted} attempted; see the failed file for reasons"
            )
        exhausted = any(r.outcome is Outcome.RETRYABLE for _, r in failures)
        if exhausted:
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            elif now - self._failing_since >= self.settings.failing_window:
                raise TooManyErrors(
                    "every batch has been exhausting its retries for "
                    f"{now - self._failing_since:.0f}s (last: {failures[0][1].reason}); "
                    "stopping rather than failing the rest of the file. Progress is saved"
                )

    async def _delete(self, ids: list[str], seq: int, ticket: Ticket
                      ) -> list[tuple[str, Result]]:
        """Delete ``ids`` (the first attempt on ``ticket``'s slot); return the ones that
        could not be, each with its result. A rejected multi-ID request is split in halves
        until each rejected ID stands alone, so one bad ID never costs the other 99."""
        result = await self._send(ids, seq, ticket)
        if result.outcome is Outcome.SUCCESS:
            return []
        if result.outcome is Outcome.REJECTED and len(ids) > 1:
            # One batch bisects at a time: a request that is wrong for every ID (say, the
            # wrong --id-type) then costs two bisections before the abort rule fires,
            # not one per batch in the lookahead window.
            async with self._bisecting:
                if self._all_rejected >= ALL_REJECTED_ABORT:
                    raise _Abandoned
                return await self._bisect(ids, seq)
        return [(ident, result) for ident in ids]

    async def _bisect(self, ids: list[str], seq: int) -> list[tuple[str, Result]]:
        mid = len(ids) // 2
        failures: list[tuple[str, Result]] = []
        for half in (ids[:mid], ids[mid:]):
            result = await self._send(half, seq)
            if result.outcome is Outcome.REJECTED and len(half) > 1:
                failures += await self._bisect(half, seq)
            elif result.outcome is not Outcome.SUCCESS:
                failures += [(ident, result) for ident in half]
        return failures

    async def _send(self, ids: list[str], seq: int, ticket: Ticket | None = None) -> Result:
        """One logical request with its retries; returns SUCCESS, REJECTED or an exhausted
        RETRYABLE. FATAL raises; 429s wait on the limiter and do not count as retries.
        ``ticket`` is a slot already held for the first attempt. UNREACHED spends no
        attempt: the run pauses and sends again."""
        attempt = 0
        unreached = 0
        while True:
            if ticket is None:
                if self.stop.requested:
                    raise _Abandoned
                ticket = await self._slot(asyncio.current_task())
            if self._halted or self.stop.requested:
                # Granted after a fatal answer or a stop: a stop lets requests already at
                # the server finish, it starts none.
                self.limiter.release(ticket)
                raise _Abandoned
            if self.progress.mark_sent(seq):
                # Journalled as the request leaves, not when the batch is admitted, so
                # "re-sent after a crash" counts what really was at the server.
                self.journal.append_sent(seq)
            self.stats.requests += 1
            try:
                result = await self.deleter.delete(ids)
            except BaseException:
                self.limiter.release(ticket)
                raise
            outcome = result.outcome
            if outcome is Outcome.UNREACHED:
                self.limiter.release(ticket)
                ticket = None
                unreached += 1
                self._pause_for_outage(result, unreached)
                continue
            if not self._reached or self._outage_streak:
                self._connection_back()
            self.limiter.release(
                ticket,
                throttled=outcome is Outcome.THROTTLED,
                ok=outcome is Outcome.SUCCESS,
                retry_after=result.retry_after,
            )
            ticket = None
            if outcome is Outcome.SUCCESS:
                self.stats.last_ack = time.monotonic()
                self._failing_since = None
                self._succeeded = True
                return result
            if outcome is Outcome.REJECTED:
                return result
            if outcome is Outcome.FATAL:
                self._halted = True
                raise FatalApiError(
                    f"{result.reason}: stopping at once, nothing was marked failed. "
                    "Check the account ID, passcode and region, then rerun to resume",
                    status=result.status,
                )
            if outcome is Outcome.THROTTLED:
                self.stats.throttled += 1
                continue
            if attempt >= self.settings.max_retries:
                return Result(
                    Outcome.RETRYABLE,
                    f"gave up after {attempt + 1} attempts: {result.reason}",
                    result.status, result.detail,
                )
            attempt += 1
            self.stats.retries += 1
            await self._backoff(attempt, result.retry_after)

    def _pause_for_outage(self, result: Result, unreached: int) -> None:
        """The server never saw the request: pause every slot (exponential, capped, equal
        jitter), or give up if no request of this run has ever got through."""
        if not self._reached and unreached > self.settings.max_retries:
            raise TooManyErrors(
                f"no request of this run has reached the server ({unreached} attempts; "
                f"last: {result.reason}); nothing was marked failed. Check "
                "--region/--base-url and the network, then rerun the same command"
            )
        self._outage_streak += 1
        if self._outage_streak == 1 and self._reached:
            log.warning("connection_lost", reason=result.reason,
                        hint="pausing; no ID is failed for this, --stall-timeout still applies")
        cap = min(self.settings.backoff_cap, OUTAGE_PAUSE_CAP)
        span = min(cap, self.settings.backoff_base * 2 ** min(self._outage_streak, 16))
        self.limiter.pause(span / 2 + self._rng.uniform(0, span / 2))

    def _connection_back(self) -> None:
        if self._outage_streak and self._reached:
            log.info("connection_restored", failed_attempts=self._outage_streak)
        self._reached = True
        self._outage_streak = 0

    async def _backoff(self, attempt: int, retry_after: float | None) -> None:
        """Full jitter: uniform(0, min(cap, base·2^attempt)); Retry-After is a floor."""
        span = min(self.settings.backoff_cap, self.settings.backoff_base * 2 ** attempt)
        delay = self._rng.uniform(0, span)
        if retry_after is not None:
            delay = max(delay, retry_after)
        await _wait_at_most(self.stop.event, delay)
        if self.stop.requested:
            raise _Abandoned


async def _wait_at_most(event: asyncio.Event, seconds: float) -> None:
    """Wait until ``event`` is set or ``seconds`` have passed, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


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
