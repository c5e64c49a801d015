"""One request with its retries, and the rules under which a run gives up (docs/cli.md).
RETRYABLE: full-jitter backoff, ``Retry-After`` a floor. THROTTLED: paced by the limiter, no
retry spent. UNREACHED: pause and retry, unless no request has ever reached the server."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence

import structlog

from bulkdelete.client import Failures, Outcome, Result
from bulkdelete.engine.limiter import AdaptiveLimiter, Ticket
from bulkdelete.engine.stats import Recorder, RunStats, race
from bulkdelete.errors import FatalApiError, StalledError, TooManyErrors
from bulkdelete.settings import Settings

log = structlog.get_logger("bulkdelete")

# Longest pause between connection attempts during an outage: short enough that the run
# picks up within seconds of the network coming back.
OUTAGE_PAUSE_CAP = 5.0
# After this many multi-ID batches whose every ID was rejected on its own, the request
# itself is wrong (e.g. the wrong --id-type): abort rather than bisect the whole file.
ALL_REJECTED_ABORT = 2

Request = Callable[[Sequence[str]], Awaitable[Result]]


class Sender:
    """Sends for every batch of a run, so it also keeps the run's abort rules."""

    def __init__(self, *, settings: Settings, limiter: AdaptiveLimiter, recorder: Recorder,
                 stop: asyncio.Event, stats: RunStats | None = None,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.limiter = limiter
        self.recorder = recorder
        self.stop = stop
        self.stats = stats or RunStats()
        self._rng = rng or random.Random()
        self.succeeded = False  # any request of this run answered success
        self._reached = False  # any request of this run got past the connection
        self._outage_streak = 0  # consecutive requests that never reached the server
        self.all_rejected = 0  # multi-ID batches whose every ID was rejected alone
        self._failing_since: float | None = None

    async def send(self, request: Request, ids: list[str], seq: int,
                   ticket: Ticket | None = None, *, whole: bool = True) -> Result | None:
        """SUCCESS, REJECTED or an exhausted RETRYABLE; None after a stop. ``ticket``: a slot
        held. ``whole``: no other request of the batch acknowledged (not a bisected half), so
        an answer acknowledging nothing takes the batch off the ledger's "sent" list."""
        attempt = unreached = 0
        limiter, stop, settings = self.limiter, self.stop, self.settings
        while True:
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
            outcome = result.outcome
            # Unreached or a non-2xx status: nothing of the batch is at the server while it
            # waits, so a kill -9 now leaves nothing sent twice. A timeout, a reset or an odd
            # 2xx may hide a delete done, so those stay counted as sent.
            if whole and (outcome is Outcome.UNREACHED or (
                    outcome is not Outcome.SUCCESS and result.status is not None
                    and not 200 <= result.status < 300)):
                self.recorder.answered(seq)
            if outcome is not Outcome.UNREACHED:
                if self._outage_streak and self._reached:
                    log.info("connection_restored", failed_attempts=self._outage_streak)
                self._reached = True
                self._outage_streak = 0
            limiter.release(ticket, throttled=outcome is Outcome.THROTTLED,
                            ok=outcome is Outcome.SUCCESS, retry_after=result.retry_after)
            ticket = None
            if outcome is Outcome.REJECTED:
                return result
            if outcome is Outcome.SUCCESS:
                self.stats.last_ack = asyncio.get_running_loop().time()
                self.succeeded = True
                return result
            if outcome is Outcome.FATAL:
                raise FatalApiError(
                    f"{result.reason}: stopping at once, nothing was marked failed. "
                    "Check the account ID, passcode and region, then rerun to resume",
                    status=result.status,
                )
            if outcome is Outcome.UNREACHED:
                unreached += 1
                if not self._reached and unreached > settings.max_retries:
                    raise TooManyErrors(
                        f"cannot reach {settings.host}: no request of this run has reached "
                        f"the server ({unreached} attempts; last: {result.reason}); nothing "
                        "was marked failed. Check --region/--base-url and the network, then "
                        "rerun the same command"
                    )
                self._outage_streak += 1
                if self._outage_streak == 1 and self._reached:
                    log.warning("connection_lost", reason=result.reason, hint="pausing; no ID "
                                "is failed for this, --stall-timeout still applies")
                cap = min(settings.backoff_cap, OUTAGE_PAUSE_CAP)
                span = min(cap, settings.backoff_base * 2 ** min(self._outage_streak, 16))
                limiter.pause(span / 2 + self._rng.uniform(0, span / 2))
            elif outcome is Outcome.THROTTLED:
                self.stats.throttled += 1
            elif attempt >= settings.max_retries:
                return Result(Outcome.RETRYABLE, f"gave up after {attempt + 1} attempts: "
                              f"{result.reason}", result.status, result.detail)
            else:
                attempt += 1
                self.stats.retries += 1
                span = min(settings.backoff_cap, settings.backoff_base * 2 ** attempt)
                delay = max(self._rng.uniform(0, span), result.retry_after or 0.0)
                await race(asyncio.sleep(delay), stop)

    def before_recording(self, seq: int, batch_size: int, failures: Failures) -> None:
        # Retries ran out and nothing ever succeeded: the endpoint is wrong, not the IDs.
        if not self.succeeded and any(r.outcome is Outcome.RETRYABLE for _, r in failures):
            raise TooManyErrors(
                "no request has succeeded in this run and batches are exhausting their "
                f"retries (last: {failures[0][1].reason}); nothing was marked failed. Check "
                "--region/--base-url and the network, then rerun the same command"
            )
        if batch_size > 1 and len(failures) == batch_size and all(
            r.outcome is Outcome.REJECTED for _, r in failures
        ):
            self.all_rejected += 1
            log.warning("batch_all_rejected", seq=seq, reason=failures[0][1].reason)

    @property
    def request_is_wrong(self) -> bool:
        """Whole batches rejected ID by ID, again and again: --id-type or the column."""
        return self.all_rejected >= ALL_REJECTED_ABORT

    def after_recording(self, failures: Failures) -> None:
        if self.request_is_wrong:
            raise FatalApiError(
                f"the API rejected every ID of {self.all_rejected} batches one by one, so "
                "the request itself is wrong (check --id-type and the input column); "
                "stopping instead of bisecting the whole file"
            )
        stats = self.stats
        budget = self.settings.max_errors
        if budget is not None and budget.exceeded(stats.ids_errored, stats.ids_attempted):
            raise TooManyErrors(
                f"--max-errors {budget} reached: {stats.ids_errored} IDs failed this run "
                f"of {stats.ids_attempted} attempted; see the failed file for reasons"
            )
        if any(r.outcome is Outcome.RETRYABLE for _, r in failures):
            now = asyncio.get_running_loop().time()
            # A success since the failing began (last_ack moves only then) restarts the window.
            if self._failing_since is None or stats.last_ack > self._failing_since:
                self._failing_since = now
            elif now - self._failing_since >= self.settings.failing_window:
                raise TooManyErrors(
                    "every batch has been exhausting its retries for "
                    f"{now - self._failing_since:.0f}s (last: {failures[0][1].reason}); "
                    "stopping rather than failing the rest of the file. Progress is saved"
                )

    async def watchdog(self) -> None:
        """Abort when nothing was acknowledged for stall_timeout (a stopping run's drain
        is bounded by the grace instead)."""
        timeout, stop = self.settings.stall_timeout, self.stop
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            await asyncio.sleep(min(1.0, timeout / 4))
            idle = loop.time() - self.stats.last_ack
            if idle >= timeout and not stop.is_set():
                raise StalledError(
                    f"no batch acknowledged for {idle:.0f}s (--stall-timeout {timeout:g}); "
                    "progress is saved, rerun the same command to resume"
                )
