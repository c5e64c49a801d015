"""What the engine does to a batch: an *operation*, an async callable that takes the batch's
distinct IDs and answers which of them did not come out as asked, each with its result.

The engine around it (window, slots, rules, recording) is the same for every operation. An
operation sends its API calls through the :class:`~bulkdelete.engine.sender.Sender`, so each
call gets the run's retries, 429 pacing, outage pause and stop; the first call may use the
slot the engine took for the batch (``ticket``), any further call takes its own.

:class:`Delete` is bulkdelete's: one request for the whole batch, and a rejected one split
in halves until each rejected ID stands alone (docs/guarantees.md §6), so one bad ID never
costs the other 99. :class:`Check` is ``verify``'s: one profile lookup per ID
(docs/verify.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Protocol

from bulkdelete.client import Outcome, Result
from bulkdelete.engine.limiter import Ticket
from bulkdelete.engine.rules import Rules
from bulkdelete.engine.sender import Abandoned, Request, Sender

# The IDs that did not succeed, each with why; empty when every ID did (the common case,
# which then costs no per-ID work at all).
Failures = list[tuple[str, Result]]


class Operation(Protocol):
    async def __call__(self, ids: list[str], seq: int, ticket: Ticket) -> Failures: ...


class Delete:
    """Delete a batch in one request; bisect a rejected one."""

    def __init__(self, request: Request, sender: Sender, rules: Rules) -> None:
        self._request = request
        self._sender = sender
        self._rules = rules
        # One batch bisects at a time: a request that is wrong for every ID (say, the wrong
        # --id-type) then costs two bisections before the abort rule fires, not one per
        # batch in the lookahead window.
        self._bisecting = asyncio.Lock()

    async def __call__(self, ids: list[str], seq: int, ticket: Ticket) -> Failures:
        result = await self._sender.send(self._request, ids, seq, ticket)
        if result.outcome is Outcome.SUCCESS:
            return []
        if result.outcome is Outcome.REJECTED and len(ids) > 1:
            async with self._bisecting:
                if self._rules.request_is_wrong:
                    raise Abandoned
                return await self._bisect(ids, seq)
        return [(ident, result) for ident in ids]

    async def _bisect(self, ids: list[str], seq: int) -> Failures:
        mid = len(ids) // 2
        failures: Failures = []
        for half in (ids[:mid], ids[mid:]):
            result = await self._sender.send(self._request, half, seq, whole=False)
            if result.outcome is Outcome.REJECTED and len(half) > 1:
                failures += await self._bisect(half, seq)
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
    others are returned with their result: present (a SUCCESS saying so) or unknown."""

    def __init__(self, lookup: Lookup, sender: Sender, rules: Rules,
                 is_gone: Callable[[Result], bool]) -> None:
        self._lookup = lookup
        self._sender = sender
        self._rules = rules
        self._is_gone = is_gone

    async def __call__(self, ids: list[str], seq: int, ticket: Ticket) -> Failures:
        if not ids:  # every ID of the batch is outside what is checked
            self._sender.limiter.release(ticket)
            return []
        # The IDs of a batch are looked up side by side, each waiting for its own slot, so
        # a batch never holds the run to one request at a time; the limiter keeps the
        # total in flight within --concurrency.
        tickets: list[Ticket | None] = [ticket] + [None] * (len(ids) - 1)
        try:
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(self._one(ident, seq, held))
                         for ident, held in zip(ids, tickets, strict=True)]
        except BaseExceptionGroup as group:
            raise _most_meaningful(group) from None
        return [(ident, result) for ident, task in zip(ids, tasks, strict=True)
                if not self._is_gone(result := task.result())]

    async def _one(self, ident: str, seq: int, ticket: Ticket | None) -> Result:
        return await self._sender.send(self._request, [ident], seq, ticket)

    def _request(self, ids: Sequence[str]) -> Awaitable[Result]:
        return self._lookup(ids[0])


def _most_meaningful(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error that ended a batch's lookups: a fatal answer or abort over the stop it
    caused in the lookups beside it."""
    flat = list(_leaves(group))
    for exc in flat:
        if not isinstance(exc, Abandoned | asyncio.CancelledError):
            return exc
    return flat[0]


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc
