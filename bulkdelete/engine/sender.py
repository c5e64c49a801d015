"""One request with its retries: what every operation sends its API calls through.

RETRYABLE: backoff with full jitter, ``Retry-After`` a floor. THROTTLED: paced by the
limiter, no retry spent. UNREACHED fails no ID: the run pauses and tries again, unless no
request of the run has ever reached the server (then the address is the likely fault).
FATAL stops the run at once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence

import structlog

from bulkdelete.client import Outcome, Result
from bulkdelete.engine.limiter import AdaptiveLimiter, Ticket
from bulkdelete.engine.recorder import Recorder
from bulkdelete.engine.stats import RunStats
from bulkdelete.engine.stop import race
from bulkdelete.errors import FatalApiError, TooManyErrors
from bulkdelete.settings import Settings

log = structlog.get_logger("bulkdelete")

# Longest pause between connection attempts during an outage: short enough that the run
# picks up within seconds of the network coming back.
OUTAGE_PAUSE_CAP = 5.0

Request = Callable[[Sequence[str]], Awaitable[Result]]


class Sender:
    def __init__(self, *, settings: Settings, limiter: AdaptiveLimiter, recorder: Recorder,
                 stop: asyncio.Event, stats: RunStats, rng: random.Random) -> None:
        self.settings = settings
        self.limiter = limiter
        self.recorder = recorder
        self.stop = stop
        self.stats = stats
        self._rng = rng
        self.succeeded = False  # any request of this run answered success
        self._reached = False  # any request of this run got past the connection
        self._outage_streak = 0  # consecutive requests that never reached the server

    async def send(self, request: Request, ids: list[str], seq: int,
                   ticket: Ticket | None = None, *, whole: bool = True) -> Result | None:
        """SUCCESS, REJECTED or an exhausted RETRYABLE; None after a stop. ``ticket``: a
        slot already held. ``whole``: no other request of the batch may have been
        acknowledged (not a bisected half), so an answer acknowledging nothing may take
        the batch off the ledger's "sent" list."""
        attempt = 0
        unreached = 0
        while True:
            result = await self._attempt(request, ids, seq, ticket, whole)
            ticket = None
            if result is None:
                return None
            outcome = result.outcome
            if outcome is Outcome.UNREACHED:
                unreached += 1
                self._pause_for_outage(result, unreached)
                continue
            if outcome is Outcome.SUCCESS:
                self.stats.last_ack = asyncio.get_running_loop().time()
                self.succeeded = True
                return result
            if outcome is Outcome.REJECTED:
                return result
            if outcome is Outcome.FATAL:
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
            await race(asyncio.sleep(self._backoff(attempt, result.retry_after)), self.stop)

    async def _attempt(self, request: Request, ids: list[str], seq: int,
                       ticket: Ticket | None, whole: bool) -> Result | None:
        """One request on ``ticket`` (or a slot acquired now), the slot released with what
        the answer says; None after a stop."""
        limiter, stop = self.limiter, self.stop
        if ticket is None:
            ticket = await race(limiter.acquire(), stop)
            if ticket is None:
                return None
        if stop.is_set():  # a stop starts no request, not even a retry
            limiter.release(ticket)
            return None
        # Recorded as it leaves, so "re-sent after a crash" counts only what was sent.
        self.recorder.sent(seq)
        self.stats.requests += 1
        try:
            result = await request(ids)
        except BaseException:
            limiter.release(ticket)
            raise
        if whole and _acknowledged_nothing(result):
            # Nothing of the batch is at the server while it waits: a kill -9 now
            # leaves nothing sent twice.
            self.recorder.answered(seq)
        if result.outcome is not Outcome.UNREACHED:
            self._connection_back()
        limiter.release(
            ticket,
            throttled=result.outcome is Outcome.THROTTLED,
            ok=result.outcome is Outcome.SUCCESS,
            retry_after=result.retry_after,
        )
        return result

    def _pause_for_outage(self, result: Result, unreached: int) -> None:
        settings = self.settings
        if not self._reached and unreached > settings.max_retries:
            raise TooManyErrors(
                f"cannot reach {settings.host}: no request of this run has reached the "
                f"server ({unreached} attempts; "
                f"last: {result.reason}); nothing was marked failed. Check "
                "--region/--base-url and the network, then rerun the same command"
            )
        self._outage_streak += 1
        if self._outage_streak == 1 and self._reached:
            log.warning("connection_lost", reason=result.reason,
                        hint="pausing; no ID is failed for this, --stall-timeout still applies")
        cap = min(settings.backoff_cap, OUTAGE_PAUSE_CAP)
        span = min(cap, settings.backoff_base * 2 ** min(self._outage_streak, 16))
        self.limiter.pause(span / 2 + self._rng.uniform(0, span / 2))

    def _connection_back(self) -> None:
        if self._outage_streak and self._reached:
            log.info("connection_restored", failed_attempts=self._outage_streak)
        self._reached = True
        self._outage_streak = 0

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        span = min(self.settings.backoff_cap, self.settings.backoff_base * 2 ** attempt)
        return max(self._rng.uniform(0, span), retry_after or 0.0)


def _acknowledged_nothing(result: Result) -> bool:
    """Unreached, or a non-2xx status. A timeout, a reset or an odd 2xx may hide a delete
    done, so those stay counted as sent."""
    if result.outcome is Outcome.UNREACHED:
        return True
    return (result.outcome is not Outcome.SUCCESS and result.status is not None
            and not 200 <= result.status < 300)

