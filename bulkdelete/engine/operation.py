"""What the engine does to a batch: an *operation*, an async callable that takes the batch's
distinct IDs and answers which of them did not come out as asked, each with its result.

The engine around it (window, slots, rules, recording) is the same for every operation. An
operation sends its API calls through the :class:`~bulkdelete.engine.sender.Sender`, so each
call gets the run's retries, 429 pacing, outage pause and stop; the first call may use the
slot the engine took for the batch (``ticket``), any further call takes its own.

:class:`Delete` is bulkdelete's: one request for the whole batch, and a rejected one split
in halves until each rejected ID stands alone (docs/guarantees.md §6), so one bad ID never
costs the other 99.
"""

from __future__ import annotations

import asyncio
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
            result = await self._sender.send(self._request, half, seq)
            if result.outcome is Outcome.REJECTED and len(half) > 1:
                failures += await self._bisect(half, seq)
            elif result.outcome is not Outcome.SUCCESS:
                failures += [(ident, result) for ident in half]
        return failures
