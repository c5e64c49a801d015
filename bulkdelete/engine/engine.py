"""The engine: a task per batch in one task group, each batch recorded as it ends. An
operation, given a batch's distinct IDs, returns those not done as asked (None: stopped)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Protocol

import structlog

from bulkdelete.answer import Verdict, verdict
from bulkdelete.client import Failures, Outcome, Result
from bulkdelete.engine.limiter import AdaptiveLimiter, Ticket
from bulkdelete.engine.sender import Request, Sender
from bulkdelete.engine.stats import Recorder, RunStats, Snapshot, StopRequest, Traffic, race
from bulkdelete.errors import BulkDeleteError
from bulkdelete.failed import FailureSink
from bulkdelete.settings import Settings

log = structlog.get_logger("bulkdelete")


@dataclass(frozen=True, slots=True)
class Labels:
    """Per-ID outcome labels; a ``finding`` (a SUCCESS saying "not as asked") is no error."""

    success: str
    error: str
    finding: str | None = None


class Operation(Protocol):
    labels: Labels

    async def __call__(self, ids: list[str], seq: int, ticket: Ticket) -> Failures | None: ...


class Delete:
    """Bisects a rejected batch until each rejected ID stands alone (§6)."""

    labels = Labels(success="deleted", error="failed")

    def __init__(self, request: Request, sender: Sender) -> None:
        self._request = request
        self._sender = sender
        # One batch bisects at a time, so a request wrong for every ID (say, --id-type)
        # costs two bisections before the abort rule fires, not one per batch in flight.
        self._bisecting = asyncio.Lock()

    async def __call__(self, ids: list[str], seq: int, ticket: Ticket | None,
                       whole: bool = True) -> Failures | None:
        result = await self._sender.send(self._request, ids, seq, ticket, whole=whole)
        if result is None or result.outcome is Outcome.SUCCESS:
            return None if result is None else []
        if result.outcome is not Outcome.REJECTED or len(ids) == 1:
            return [(ident, result) for ident in ids]
        # A half's batch already holds the bisection lock.
        async with self._bisecting if whole else contextlib.nullcontext():
            if whole and self._sender.request_is_wrong:
                return None  # the abort is on its way: leave the batch to the resume
            failures: Failures = []
            for half in (ids[:len(ids) // 2], ids[len(ids) // 2:]):
                more = await self(half, seq, None, whole=False)
                if more is None:
                    return None
                failures += more
            return failures


class Check:
    """Look each ID up (verify), through the sender like a delete. ``note(seq, ids)`` is
    told a batch's IDs not gone before the engine records them."""

    labels = Labels(success="gone", error="unknown", finding="present")

    def __init__(self, lookup: Callable[[str], Awaitable[Result]], sender: Sender,
                 note: Callable[[int, Iterable[str]], None] | None = None) -> None:
        self._request: Request = lambda ids: lookup(ids[0])
        self._sender = sender
        self._note = note

    async def __call__(self, ids: list[str], seq: int, ticket: Ticket) -> Failures | None:
        if not ids:  # every ID of the batch is outside what is checked
            self._sender.limiter.release(ticket)
            return []
        # Side by side, each on its own slot, so a batch never holds the run to one
        # request at a time; a fatal answer in one cancels the others.
        tickets: list[Ticket | None] = [ticket] + [None] * (len(ids) - 1)
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(self._sender.send(self._request, [ident], seq, held))
                     for ident, held in zip(ids, tickets, strict=True)]
        results = [task.result() for task in tasks]
        if None in results:
            return None
        failures = [(ident, result) for ident, result in zip(ids, results, strict=True)
                    if result is not None and verdict(result) is not Verdict.GONE]
        if self._note is not None:
            self._note(seq, (ident for ident, _ in failures))
        return failures


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to raise for a task group: ours first, then any other, never a group."""
    ours, rest = group.split(BulkDeleteError)
    found: BaseException | None = ours or (rest.split(asyncio.CancelledError)[1] if rest else None)
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    return found or group


class Batch(Protocol):  # what the engine reads of a bulkdelete.batcher.Batch
    seq: int
    offset: int
    line: int
    ids: list[str]


# Builds an operation on the run's sender (``verify`` is one such).
OperationFactory = Callable[[Sender], Operation]


@dataclass(slots=True)
class Piece:
    """What a run sends of a batch: its IDs past a head done before, up to this run's
    --limit. ``head`` is how many of the batch's IDs are done once the piece is, or None
    when that is all of them (the batch is done)."""

    seq: int
    offset: int  # the batch's, as is its line: a resume reads the whole batch again
    line: int
    ids: list[str]
    head: int | None = None


def piece_of(batch: Batch, done: int, allowed: int | None) -> Piece:
    """``batch`` less the ``done`` IDs at its head, and no more than ``allowed`` IDs."""
    end = len(batch.ids) if allowed is None else min(len(batch.ids), done + allowed)
    ids = batch.ids[done:end] if done or end < len(batch.ids) else batch.ids
    return Piece(batch.seq, batch.offset, batch.line, ids,
                 None if end == len(batch.ids) else end)


@dataclass(slots=True)
class RunEnd:
    input_exhausted: bool = False
    limit_reached: bool = False


class Engine:
    """One run of the operation ``operation`` builds over batches."""

    def __init__(self, *, settings: Settings, limiter: AdaptiveLimiter, recorder: Recorder,
                 failures: FailureSink, stop: StopRequest, operation: OperationFactory,
                 stats: RunStats | None = None, rng: random.Random | None = None) -> None:
        self.failures = failures
        self.stop = stop
        # The sender holds the run's settings, limiter, recorder and counters for both.
        self.sender = Sender(settings=settings, limiter=limiter, recorder=recorder,
                             stop=stop.event, stats=stats, rng=rng)
        self.operation = operation(self.sender)
        self._held: set[asyncio.Task[None]] = set()  # batches admitted, not yet ended
        self._changed = asyncio.Event()  # a batch ended: the meters may have moved

    def snapshot(self) -> Snapshot:
        limiter, stats = self.sender.limiter, self.sender.stats
        counts = {f.name: getattr(stats, f.name) for f in fields(Traffic)}
        return Snapshot(**counts, in_flight=limiter.in_flight, limit=limiter.limit,
                        ceiling=limiter.ceiling, outcomes=stats.outcomes.copy())

    async def run(self, batches: Iterator[Batch],
                  beside: Coroutine[None, None, None] | None = None) -> RunEnd:
        """Send every batch not yet done, ``beside`` running in the same task group until
        then (a failure there ends the run); an abort raises a BulkDeleteError."""
        self.sender.stats.last_ack = asyncio.get_running_loop().time()
        try:
            async with asyncio.TaskGroup() as tg:
                helpers = [tg.create_task(c) for c in (self.sender.watchdog(), beside) if c]
                end = await self._admit(batches, tg)
                await race(self._until(lambda: not self._held), self.stop.event)
                if self._held:  # stopped: the grace, then the rest is left to the resume
                    try:
                        async with asyncio.timeout(self.sender.settings.grace):
                            await self._until(lambda: not self._held)
                    except TimeoutError:
                        log.warning("shutdown_grace_expired", abandoned_batches=len(self._held))
                        for task in list(self._held):
                            task.cancel()
                for helper in helpers:
                    helper.cancel()
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        return end

    async def _admit(self, batches: Iterator[Batch], tg: asyncio.TaskGroup) -> RunEnd:
        settings, recorder, admitted = self.sender.settings, self.sender.recorder, 0
        limit, stop, lookahead = settings.limit, self.stop.event, settings.lookahead
        for batch in batches:
            if stop.is_set():
                return RunEnd()
            if recorder.is_done(batch.seq):
                continue
            if limit is not None and admitted >= limit:
                return RunEnd(limit_reached=True)
            # A canary sends exactly --limit IDs: the batch it ends in is cut, its head
            # recorded as such, and the next run sends the rest first (docs/checkpoint.md).
            piece = piece_of(batch, recorder.head_done(batch.seq),
                             None if limit is None else limit - admitted)
            admitted += len(piece.ids)

            # Within ``lookahead`` of the watermark (guarantees §4), fewer than 2 × concurrency
            # held (bounds what a kill -9 leaves unrecorded, §2), then a limiter slot.
            def room(seq: int = batch.seq) -> bool:
                return (len(self._held) < 2 * settings.concurrency
                        and seq < recorder.watermark + lookahead)

            await race(self._until(room), stop)
            ticket = await race(self.sender.limiter.acquire(), stop)
            if ticket is None:
                return RunEnd()
            if stop.is_set():  # granted just as the run stopped: start nothing
                self.sender.limiter.release(ticket)
                return RunEnd()
            task = tg.create_task(self._process(piece, ticket))
            self._held.add(task)
            task.add_done_callback(self._ended)
        return RunEnd(input_exhausted=True, limit_reached=limit is not None and admitted >= limit)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._held.discard(task)
        self._changed.set()

    async def _until(self, ready: Callable[[], bool]) -> None:
        while not ready():
            self._changed.clear()
            await self._changed.wait()

    async def _process(self, batch: Piece, ticket: Ticket) -> None:
        unique = list(dict.fromkeys(batch.ids))  # in-batch duplicates are sent once
        failures = await self.operation(unique, batch.seq, ticket)
        if failures is None:
            return  # dropped by a stop: the resume sends it again
        labels, sender, stats = self.operation.labels, self.sender, self.sender.stats
        counts: Counter[str] = Counter()
        by_reason: dict[str, int] | None = None
        failed = 0
        if failures:
            occurrences = Counter(batch.ids)  # only here: most batches have no failure
            reasons: Counter[str] = Counter()
            for ident, result in failures:
                reasons[result.reason] += occurrences[ident]
                # Answered decisively (a SUCCESS saying "not as asked"): a finding, not an error.
                finding = labels.finding if result.outcome is Outcome.SUCCESS else None
                counts[finding or labels.error] += occurrences[ident]
            failed, by_reason = sum(reasons.values()), dict(reasons)
            sender.before_recording(batch.seq, len(unique), failures)
            # Durably in the failed file before the recorder says "done" (docs/guarantees.md §1).
            await self.failures.add([(i, r.reason, r.detail) for i, r in failures])
            if not counts[labels.error]:
                # Findings, not faults: verify's summary counts them (a line each would flood).
                log.debug("ids_answered", seq=batch.seq, line=batch.line, ids=failed,
                          reasons=by_reason)
            else:
                log.warning(
                    "batch_given_up" if len(failures) == len(unique) else "ids_rejected",
                    seq=batch.seq, line=batch.line, failed=failed, reasons=by_reason)
        deleted = len(batch.ids) - failed
        if batch.head is None:
            sender.recorder.done(batch.seq, batch.offset, batch.line, deleted, failed, by_reason)
        else:
            sender.recorder.partly_done(batch.seq, batch.head, deleted, failed, by_reason)
        stats.ids_deleted += deleted
        stats.ids_failed += failed
        counts[labels.success] += deleted
        stats.outcomes.update(counts)
        stats.ids_errored += counts[labels.error]
        if failures or sender.settings.max_errors is not None:  # a share can fall by successes
            sender.after_recording(failures)
