"""What the engine does to a batch: an operation takes its distinct IDs and returns those
that did not come out as asked (None: a stop dropped the batch, for the resume), its calls
going through the Sender. :class:`Delete` bisects a rejected batch until each rejected ID
stands alone (docs/guarantees.md §6); :class:`Check` is verify's lookup per ID.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bulkdelete.client import Failures, Outcome, Result
from bulkdelete.engine.limiter import Ticket
from bulkdelete.engine.sender import Request, Rules, Sender


@dataclass(frozen=True, slots=True)
class Labels:
    """Per-ID outcome labels. A failure the API answered decisively (a SUCCESS saying "not
    as asked") is a ``finding``, not an error for --max-errors."""

    success: str
    error: str
    finding: str | None = None


class Operation(Protocol):
    labels: Labels

    async def __call__(self, ids: list[str], seq: int, ticket: Ticket) -> Failures | None: ...


class Delete:
    labels = Labels(success="deleted", error="failed")

    def __init__(self, request: Request, sender: Sender, rules: Rules) -> None:
        self._request = request
        self._sender = sender
        self._rules = rules
        # One batch bisects at a time, so a request wrong for every ID (say, --id-type)
        # costs two bisections before the abort rule fires, not one per batch in flight.
        self._bisecting = asyncio.Lock()

    async def __call__(self, ids: list[str], seq: int, ticket: Ticket) -> Failures | None:
        result = await self._sender.send(self._request, ids, seq, ticket)
        if result is None or result.outcome is Outcome.SUCCESS:
            return None if result is None else []
        if result.outcome is Outcome.REJECTED and len(ids) > 1:
            async with self._bisecting:
                if self._rules.request_is_wrong:
                    return None  # the abort is on its way: leave the batch to the resume
                return await self._bisect(ids, seq)
        return [(ident, result) for ident in ids]

    async def _bisect(self, ids: list[str], seq: int) -> Failures | None:
        mid = len(ids) // 2
        failures: Failures = []
        for half in (ids[:mid], ids[mid:]):
            result = await self._sender.send(self._request, half, seq, whole=False)
            if result is None:
                return None
            if result.outcome is Outcome.REJECTED and len(half) > 1:
                more = await self._bisect(half, seq)
                if more is None:
                    return None
                failures += more
            elif result.outcome is not Outcome.SUCCESS:
                failures += [(ident, result) for ident in half]
        return failures


Lookup = Callable[[str], Awaitable[Result]]


class Check:
    """Look each ID up (verify), through the sender like a delete. ``note(seq, ids)`` is
    told a batch's IDs not gone before the engine records them."""

    labels = Labels(success="gone", error="unknown", finding="present")

    def __init__(self, lookup: Lookup, sender: Sender, rules: Rules,
                 is_gone: Callable[[Result], bool],
                 note: Callable[[int, Iterable[str]], None] | None = None) -> None:
        self._lookup = lookup
        self._sender = sender
        self._is_gone = is_gone
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
                    if result is not None and not self._is_gone(result)]
        if self._note is not None:
            self._note(seq, (ident for ident, _ in failures))
        return failures

    def _request(self, ids: Sequence[str]) -> Awaitable[Result]:
        return self._lookup(ids[0])
