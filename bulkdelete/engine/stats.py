"""What the engine shares with its parts: counters, the stop with race(), the Recorder."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class Traffic:  # a run's requests and what they did (a run record's, saved)
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    ids_deleted: int = 0
    ids_failed: int = 0

    @property
    def ids_attempted(self) -> int:
        return self.ids_deleted + self.ids_failed


@dataclass(slots=True)
class RunStats(Traffic):
    # ID occurrences this run per outcome label of the operation ("deleted", "gone", ...).
    outcomes: Counter[str] = field(default_factory=Counter)
    # Failed IDs that count as errors (--max-errors): a check's "present" is a finding.
    ids_errored: int = 0
    last_ack: float = 0.0  # the loop's clock at the last success (set as the run starts)


@dataclass(slots=True)
class Snapshot(Traffic):
    """A copy of the counters for a display, which never holds the engine."""

    in_flight: int = 0
    limit: int = 0  # current adaptive in-flight limit
    ceiling: int = 0  # --concurrency
    outcomes: Counter[str] = field(default_factory=Counter)


class StopRequest:
    """A graceful stop asked for from outside (a signal handler, a caller)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.exit_code: int | None = None
        self.reason = ""

    def request(self, exit_code: int, reason: str) -> None:
        if self.exit_code is None:
            self.exit_code, self.reason = exit_code, reason
        self.event.set()

    @property
    def requested(self) -> bool:
        return self.event.is_set()


async def race(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``work``'s result, or None when ``stop`` is set first; ``work`` is cancelled and
    awaited before this returns, so nothing it started outlives the stop."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return None if task.cancelled() else task.result()


class Recorder(Protocol):
    """Progress plus its journal, one call per event (``bulkdelete.checkpoint.Ledger``)."""

    @property
    def watermark(self) -> int: ...

    def is_done(self, seq: int) -> bool: ...

    def sent(self, seq: int) -> None: ...

    def answered(self, seq: int) -> None: ...  # acknowledging no ID (guarantees §2)

    def done(self, seq: int, offset: int, line: int, deleted: int, failed: int,
             reasons: dict[str, int] | None) -> None: ...  # its failures already durable

    def head_done(self, seq: int) -> int: ...  # IDs at its head a --limit run did

    def partly_done(self, seq: int, head: int, deleted: int, failed: int,
                    reasons: dict[str, int] | None) -> None: ...  # as done(), for a head
