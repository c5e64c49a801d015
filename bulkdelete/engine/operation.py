"""What the engine does to a batch: an *operation* takes the batch's distinct IDs and
answers which did not come out as asked, each with its result (None: a stop dropped the
batch unrecorded, for the resume). Its calls go through the
:class:`~bulkdelete.engine.sender.Sender` (retries, 429 pacing, outage pause, stop); the
first may use the batch's slot (``ticket``). Its :class:`Labels` name the per-ID outcomes.

:class:`Delete`: one request per batch, a rejected one bisected until each rejected ID
stands alone (docs/guarantees.md §6). :class:`Check`: verify's lookup per ID.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bulkdelete.client import Outcome, Result
from bulkdelete.engine.limiter import Ticket
from bulkdelete.engine.rules import Rules
from bulkdelete.engine.sender import Request, Sender

# The IDs that did not succeed, each with why; empty when every ID did.
Failures = list[tuple[str, Result]]


@dataclass(frozen=True, slots=True)
class Labels:
    """An operation's per-ID outcome labels. ``success`` is an ID that came out as asked
    (counted as deleted in the checkpoint's totals); a failure the API answered decisively
    (a SUCCESS saying "not as asked") is a ``finding``, not an error for --max-errors;
    every other failure is an ``error``."""

    success: str
    error: str
    finding: str | None = None


class Operation(Protocol):
    labels: Labels

    async def __call__(self, ids: list[str], seq: int, ticket: Ticket) -> Failures | None: ...


class Delete:
    """Delete a batch in one request; bisect a rejected one."""

    labels = Labels(success="deleted", error="failed")

    def __init__(self, request: Request, sender: Sender, rules: Rules) -> None:
        self._request = request
        self._sender = sender
        self._rules = rules
        # One batch bisects at a time: a request that is wrong for every ID (say, the wrong
        # --id-type) then costs two bisections before the abort rule fires, not one per
        # batch in the lookahead window.
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


# Looks one ID up; never raises for an answer or a network failure (a bound client's
# ``profile``).
Lookup = Callable[[str], Awaitable[Result]]


class Check:
    """Look each ID of a batch up (``verify``): one call per ID, all through the sender, so
    the run's retries, 429 pacing, outage pause, fatal stop and ``--concurrency`` govern
    them as they govern a delete. An ID comes out as asked when its profile is gone; the
    others are returned with their result: present (a SUCCESS saying so) or unknown.
    ``note(seq, ids)`` is told a batch's IDs not gone before the engine records them."""

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
        # The IDs of a batch are looked up side by side, each waiting for its own slot, so
        # a batch never holds the run to one request at a time; the limiter keeps the
        # total in flight within --concurrency. An error in one (a fatal answer) cancels
        # the others; the engine unwraps the group.
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
