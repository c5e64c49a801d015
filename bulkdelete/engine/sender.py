"""One request with its retries: what every operation sends its API calls through.

A request is retried on a RETRYABLE answer with exponential backoff and full jitter
(uniform(0, min(cap, base·2^attempt)), AWS's "full jitter"); a ``Retry-After`` is a floor
under that wait. A 429 is paced by the limiter (every slot slows together) and does not
spend the retry budget. A request that never reached the server (UNREACHED) fails no ID: the
whole run pauses through the limiter and tries again, until an answer comes back or the
stall rule ends the run. Only a run that has not reached the server at all gives up after
the usual retries, since then the address itself is the likely fault. A fatal answer stops
the run at once.
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

# One API call: never raises for an answer or a network failure, classifies it.
Request = Callable[[Sequence[str]], Awaitable[Result]]


class Sender:
    """Sends requests within the limiter, retrying and pacing as the module says."""

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
        """``request(ids)`` with its retries; returns SUCCESS, REJECTED or an exhausted
        RETRYABLE, or None after a stop. FATAL raises. ``ticket`` is a slot
        already held for the first attempt. ``whole`` says no other request of the batch
        may have been acknowledged (False for a bisected half): only then does an answer
        that acknowledged nothing take the batch off the ledger's "sent" list."""
        limiter, stop, stats = self.limiter, self.stop, self.stats
        attempt = 0
        unreached = 0
        while True:
            if ticket is None:
                ticket = await race(limiter.acquire(), stop)
                if ticket is None:
                    return None
            if stop.is_set():
                # Granted just before the stop: a stop lets requests already at the server
                # finish, it starts none.
                limiter.release(ticket)
                return None
            # Recorded as the request leaves, not when the batch is admitted, so "re-sent
            # after a crash" counts what really was at the server.
            self.recorder.sent(seq)
            stats.requests += 1
            try:
                result = await request(ids)
            except BaseException:
                limiter.release(ticket)
                raise
            outcome = result.outcome
            if whole and _acknowledged_nothing(result):
                # Nothing of the batch is at the server while it waits to retry (or on the
                # bisection lock), so a kill -9 now leaves nothing to send twice: the
                # re-send count after a crash counts only what a killed run left behind.
                self.recorder.answered(seq)
            if outcome is Outcome.UNREACHED:
                limiter.release(ticket)
                ticket = None
                unreached += 1
                self._pause_for_outage(result, unreached)
                continue
            if not self._reached or self._outage_streak:
                self._connection_back()
            limiter.release(
                ticket,
                throttled=outcome is Outcome.THROTTLED,
                ok=outcome is Outcome.SUCCESS,
                retry_after=result.retry_after,
            )
            ticket = None
            if outcome is Outcome.SUCCESS:
                stats.last_ack = asyncio.get_running_loop().time()
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
                stats.throttled += 1
                continue
            if attempt >= self.settings.max_retries:
                return Result(
                    Outcome.RETRYABLE,
                    f"gave up after {attempt + 1} attempts: {result.reason}",
                    result.status, result.detail,
                )
            attempt += 1
            stats.retries += 1
            await race(asyncio.sleep(self._backoff(attempt, result.retry_after)), stop)

    def _pause_for_outage(self, result: Result, unreached: int) -> None:
        """The server never saw the request: pause every slot (exponential, capped, equal
        jitter), or give up if no request of this run has ever got through."""
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
        """Full jitter: uniform(0, min(cap, base·2^attempt)); Retry-After is a floor."""
        span = min(self.settings.backoff_cap, self.settings.backoff_base * 2 ** attempt)
        return max(self._rng.uniform(0, span), retry_after or 0.0)


def _acknowledged_nothing(result: Result) -> bool:
    """The server's word that it did nothing with the request: it never got it, or its
    status is not 2xx (429, 5xx, 4xx). A timeout, a reset after sending or a 2xx that
    is not a plain success may hide a delete done, so those stay counted as sent."""
    if result.outcome is Outcome.UNREACHED:
        return True
    return (result.outcome is not Outcome.SUCCESS and result.status is not None
            and not 200 <= result.status < 300)

