"""The engine: batches in, an operation on each, every batch recorded as it ends.

::

    batches ──▶ Scheduler: window, workers, a limiter slot per batch, stop/drain
                   │
                   ├─▶ operation (Delete) ──▶ Sender: retries, 429 pacing, outage pause
                   │
                   └─▶ failures durable (fsync) ──▶ ledger.done ──▶ Rules ──▶ next batch

The parts share one :class:`~bulkdelete.engine.stop.Gate`, the run's single "may more work
start?" state, and one :class:`~bulkdelete.engine.stats.RunStats`.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial

import structlog

from bulkdelete.batcher import Batch
from bulkdelete.client import Deleter, Outcome
from bulkdelete.engine.ledger import Ledger
from bulkdelete.engine.limiter import AdaptiveLimiter, Ticket
from bulkdelete.engine.operation import Delete, Failures, Operation
from bulkdelete.engine.rules import Rules
from bulkdelete.engine.scheduler import RunEnd, Scheduler
from bulkdelete.engine.sender import Sender
from bulkdelete.engine.stats import RunStats, Snapshot
from bulkdelete.engine.stop import Gate, StopRequest
from bulkdelete.failed import FailureSink
from bulkdelete.settings import Settings

log = structlog.get_logger("bulkdelete")


# Builds an operation on the run's sender and rules (``verify`` is one such).
OperationFactory = Callable[[Sender, Rules], Operation]


class Engine:
    """One run of an operation over batches: :class:`Delete` through ``deleter``, or
    whatever ``operation`` builds."""

    def __init__(
        self,
        *,
        settings: Settings,
        deleter: Deleter | None = None,
        operation: OperationFactory | None = None,
        limiter: AdaptiveLimiter,
        ledger: Ledger,
        failures: FailureSink,
        stop: StopRequest,
        stats: RunStats | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = limiter
        self.ledger = ledger
        self.failures = failures
        self.stop = stop
        self.stats = stats = stats or RunStats()
        self.gate = gate = Gate(limiter.close, self._wake_window)
        self.rules = Rules(settings, stats, gate)
        self.sender = Sender(settings=settings, limiter=limiter, ledger=ledger, gate=gate,
                             stats=stats, rng=rng or random.Random())
        if operation is None:
            assert deleter is not None, "an Engine needs a deleter or an operation"
            operation = partial(Delete, deleter.delete)
        self.operation = operation(self.sender, self.rules)
        self._scheduler = Scheduler(settings=settings, limiter=limiter, ledger=ledger,
                                    gate=gate, stats=stats, handle=self._process)

    def _wake_window(self) -> None:
        self._scheduler.wake()

    def snapshot(self) -> Snapshot:
        stats, limiter = self.stats, self.limiter
        return Snapshot(
            ids_deleted=stats.ids_deleted, ids_failed=stats.ids_failed,
            requests=stats.requests, retries=stats.retries, throttled=stats.throttled,
            in_flight=limiter.in_flight, limit=limiter.limit, ceiling=limiter.ceiling,
        )

    async def run(self, batches: Iterator[Batch]) -> RunEnd:
        """Send every batch not yet done; return how the run ended. Fatal conditions
        raise a :class:`~bulkdelete.errors.BulkDeleteError` (the caller saves progress
        either way)."""
        self.stats.last_ack = time.monotonic()
        self.stop.listeners.append(self.gate.stop)
        try:
            if self.stop.requested:
                self.gate.stop()
            end = await self._scheduler.run(batches, self.rules.watchdog)
        finally:
            self.stop.listeners.remove(self.gate.stop)
        end.stopped = self.stop.requested
        return end

    async def _process(self, batch: Batch, ticket: Ticket) -> None:
        ids = batch.ids
        unique = list(dict.fromkeys(ids))  # in-batch duplicates are sent once
        failures = await self.operation(unique, batch.seq, ticket)
        # The common case, no failure, skips the bookkeeping.
        failed, by_reason = (await self._settle(batch, unique, failures) if failures
                             else (0, None))
        deleted = len(ids) - failed
        self.ledger.done(batch.seq, batch.offset, batch.line, deleted, failed, by_reason)
        stats = self.stats
        stats.ids_deleted += deleted
        stats.ids_failed += failed
        stats.batches_done += 1
        if failures or self.settings.max_errors is not None:  # a share can fall by successes
            self.rules.after_recording(failures)

    async def _settle(self, batch: Batch, unique: list[str],
                      failures: Failures) -> tuple[int, dict[str, int]]:
        """Put a batch's failed IDs durably in the failed file; return how many of its
        occurrences failed, by reason. Raises instead when the run must stop."""
        self.rules.before_recording(batch.seq, len(unique), failures, self.sender.succeeded)
        failed_ids = {ident for ident, _ in failures}
        occurrences = Counter(batch.ids) if len(unique) != len(batch.ids) else None
        reasons: Counter[str] = Counter()
        answered = 0  # occurrences the API answered decisively, e.g. "still present"
        for ident, result in failures:
            count = occurrences[ident] if occurrences else 1
            reasons[result.reason] += count
            if result.outcome is Outcome.SUCCESS:
                answered += count
        failed = sum(reasons.values())
        self.stats.ids_errored += failed - answered
        # Durably in the failed file before the ledger says "done" (docs/guarantees.md §1).
        await self.failures.add([(i, r.reason, r.detail) for i, r in failures])
        by_reason = dict(reasons)
        if answered == failed:
            # Decisive answers (a profile still there) are findings, not faults; verify's
            # summary counts them, so a batch's own line is detail: a verify run early
            # against a 10M-ID job would otherwise print one per batch.
            log.debug("ids_answered", seq=batch.seq, line=batch.line, ids=failed,
                     reasons=by_reason)
        else:
            log.warning(
                "batch_given_up" if failed_ids == set(unique) else "ids_rejected",
                seq=batch.seq, line=batch.line, failed=failed, reasons=by_reason,
            )
        return failed, by_reason
