"""Progress while a job runs (docs/cli.md): a rich bar on a terminal, else a ``progress``
event every ``interval`` seconds. Counts are for the whole job, like the summary.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TextIO

import structlog
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from bulkdelete.job import Plan, Snapshot

log = structlog.get_logger("bulkdelete")


class Display:
    """The CLI's :class:`bulkdelete.job.Observer`: ``confirm`` (when given, e.g. a
    :class:`~bulkdelete.cli.confirm.Confirmation`) decides whether the run starts; without
    one the run starts unasked."""

    def __init__(
        self, *, show_progress: bool,
        confirm: Callable[[Plan], Awaitable[None]] | None = None,
        interval: float | None = None, out: TextIO | None = None, label: str = "deleting",
        bar: bool = True,
    ) -> None:
        self._confirm = confirm
        self._label = label
        self._show = show_progress
        self._bar_allowed = bar
        # Off a terminal, one progress event this often; BULKDELETE_PROGRESS_INTERVAL tunes it
        # (tests shorten it; a cron job may want it longer).
        self._interval = interval if interval is not None else _interval_from_env()
        self._out = out or sys.stderr
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._snapshot: Callable[[], Snapshot] | None = None
        self._plan: Plan | None = None
        self._done_before = self._failed_before = self._throttled_before = 0
        self._last_log = 0.0
        self._started = 0.0

    @property
    def sending(self) -> bool:
        return self._plan is not None

    async def confirm(self, plan: Plan) -> None:
        if self._confirm is not None:
            await self._confirm(plan)

    def started(self, plan: Plan, snapshot: Callable[[], Snapshot], done_before: int, *,
                failed_before: int = 0, throttled_before: int = 0) -> None:
        self._plan, self._snapshot, self._done_before = plan, snapshot, done_before
        self._failed_before, self._throttled_before = failed_before, throttled_before
        self._started = self._last_log = time.monotonic()
        if self._show and self._bar_allowed and self._out.isatty():
            console = Console(file=self._out)
            self._bar = Progress(
                TextColumn(f"[bold]{self._label}"),
                BarColumn(),
                TextColumn("{task.fields[counts]}"),
                TextColumn("{task.fields[rate]} IDs/s"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[extra]}"),
                console=console, transient=False, refresh_per_second=4,
            )
            self._task = self._bar.add_task(
                "delete", total=plan.ids_total, completed=done_before, rate="0", extra="",
                counts=_counts(done_before, plan.ids_total),
            )
            self._bar.start()

    def tick(self) -> None:
        plan = self._plan
        if self._snapshot is None or plan is None:
            return
        snap = self._snapshot()
        done = self._done_before + snap.ids_attempted
        elapsed = max(1e-6, time.monotonic() - self._started)
        rate = snap.ids_attempted / elapsed
        throttled = self._throttled_before + snap.throttled
        failed = self._failed_before + snap.ids_failed
        if self._bar is not None and self._task is not None:
            extra = (
                f"in flight {snap.in_flight}/{snap.limit} (max {snap.ceiling}) · "
                f"429s {throttled:,} · failed {failed:,}"
            )
            self._bar.update(self._task, completed=done, rate=f"{rate:,.0f}", extra=extra,
                             counts=_counts(done, plan.ids_total))
        elif self._show and time.monotonic() - self._last_log >= self._interval:
            self._last_log = time.monotonic()
            remaining = plan.ids_total - done
            log.info(
                "progress", done=done, total=plan.ids_total, ids_per_s=round(rate),
                eta_s=round(remaining / rate) if rate > 0 else None,
                in_flight=snap.in_flight, concurrency=snap.limit,
                throttled=throttled, failed=failed,
            )

    def finished(self) -> None:
        """The last frame, from the run's final counters."""
        if self._bar is not None and self._task is not None:
            self.tick()
            self._bar.refresh()
            self._bar.stop()
            self._bar = None

    def abandon(self) -> None:
        """A second Ctrl-C: end the bar's line so the shell's prompt starts on its own."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _counts(done: int, total: int) -> str:
    return f"{done:,}/{total:,}"


def _interval_from_env(default: float = 10.0) -> float:
    raw = os.environ.get("BULKDELETE_PROGRESS_INTERVAL", "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default
