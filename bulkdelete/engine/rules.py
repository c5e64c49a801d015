"""When a run gives up instead of going on: the abort rules and the stall watchdog
(docs/cli.md). A fatal answer (401/403) is the sender's to raise, before any rule runs.
"""

from __future__ import annotations

import asyncio

import structlog

from bulkdelete.client import Failures, Outcome
from bulkdelete.engine.stats import RunStats
from bulkdelete.errors import FatalApiError, StalledError, TooManyErrors
from bulkdelete.settings import Settings

log = structlog.get_logger("bulkdelete")

# After this many multi-ID batches whose every ID was rejected on its own, the request
# itself is wrong (e.g. the wrong --id-type): abort rather than bisect the whole file.
ALL_REJECTED_ABORT = 2


class Rules:
    def __init__(self, settings: Settings, stats: RunStats) -> None:
        self.settings = settings
        self.stats = stats
        self.all_rejected = 0  # multi-ID batches whose every ID was rejected alone
        self._failing_since: float | None = None

    @property
    def request_is_wrong(self) -> bool:
        return self.all_rejected >= ALL_REJECTED_ABORT

    def before_recording(self, seq: int, batch_size: int, failures: Failures,
                         succeeded: bool) -> None:
        # Retries ran out before any request succeeded: the endpoint is wrong, not the IDs,
        # so raise with the batch unrecorded.
        if not succeeded and any(r.outcome is Outcome.RETRYABLE for _, r in failures):
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
            # A success since the failing began (last_ack moves only on success) starts
            # the window afresh.
            if self._failing_since is None or stats.last_ack > self._failing_since:
                self._failing_since = now
            elif now - self._failing_since >= self.settings.failing_window:
                raise TooManyErrors(
                    "every batch has been exhausting its retries for "
                    f"{now - self._failing_since:.0f}s (last: {failures[0][1].reason}); "
                    "stopping rather than failing the rest of the file. Progress is saved"
                )

    async def watchdog(self, stop: asyncio.Event) -> None:
        """Abort when nothing was acknowledged for stall_timeout (a stopping run's drain
        is bounded by the grace instead)."""
        timeout = self.settings.stall_timeout
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            await asyncio.sleep(min(1.0, timeout / 4))
            idle = loop.time() - self.stats.last_ack
            if idle >= timeout and not stop.is_set():
                raise StalledError(
                    f"no batch acknowledged for {idle:.0f}s (--stall-timeout {timeout:g}); "
                    "progress is saved, rerun the same command to resume"
                )
