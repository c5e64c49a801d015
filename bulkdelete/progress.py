"""What the operator sees while a job runs (spec §6), and the confirmation before it.

On a terminal: a live rich progress bar (IDs done/total, IDs/s, ETA, in flight, current
concurrency ceiling, 429s, failures). Off a terminal: a one-line ``progress`` log event
every ``interval`` seconds. ``--no-progress`` and ``-q`` silence both.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import TextIO

import structlog
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from bulkdelete.engine import Engine as Pipeline
from bulkdelete.engine import StopRequest
from bulkdelete.errors import ConfirmationRefused
from bulkdelete.job import Plan

log = structlog.get_logger("bulkdelete")


def describe_plan(plan: Plan) -> list[str]:
    what = "resume" if plan.resumed else "new job"
    lines = [
        f"input:      {plan.input} ({plan.format})",
        f"target:     account {plan.account_id} at {plan.host}",
        f"id type:    {plan.id_type}",
        f"IDs:        {plan.ids_total:,} valid, {plan.lines_invalid:,} invalid lines, "
        f"{plan.batches_total:,} batches ({what})",
        f"this run:   deletes {plan.ids_this_run:,} IDs "
        f"({plan.ids_remaining:,} remain in the job)",
    ]
    for line, reason in plan.invalid_samples[:5]:
        lines.append(f"  invalid line {line}: {reason}")
    return lines


class Display:
    """The CLI's :class:`bulkdelete.job.Observer`."""

    def __init__(
        self, *, assume_yes: bool, show_progress: bool, interval: float | None = None,
        stdin: TextIO | None = None, out: TextIO | None = None,
    ) -> None:
        self._assume_yes = assume_yes
        self._show = show_progress
        # Off a terminal, one progress event this often; BULKDELETE_PROGRESS_INTERVAL tunes it
        # (tests shorten it; a cron job may want it longer).
        self._interval = interval if interval is not None else _interval_from_env()
        self._stdin = stdin or sys.stdin
        self._out = out or sys.stderr
        self.stop: StopRequest | None = None
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._pipeline: Pipeline | None = None
        self._plan: Plan | None = None
        self._done_before = 0
        self._last_log = 0.0
        self._started = 0.0

    # -- confirmation ---------------------------------------------------------------------

    async def confirm(self, plan: Plan) -> None:
        if self._assume_yes:
            return
        if not (self._stdin.isatty() and self._out.isatty()):
            raise ConfirmationRefused(
                "refusing to delete without confirmation: not running on a terminal. "
                "Check the plan with --dry-run, then pass --yes"
            )
        for line in describe_plan(plan):
            print(line, file=self._out)
        print(
            f"Deletion is irreversible. Type the account ID ({plan.account_id}) or 'yes' "
            "to proceed: ", end="", file=self._out, flush=True,
        )
        answer = await self._answer()
        if answer is None:
            raise ConfirmationRefused("interrupted at the confirmation; nothing was sent")
        if answer.strip() not in {plan.account_id, "yes"}:
            raise ConfirmationRefused("not confirmed; nothing was sent")

    async def _answer(self) -> str | None:
        """The operator's line, or None when a signal arrives first."""
        reading = asyncio.ensure_future(_read_line(self._stdin))
        if self.stop is None:
            return await reading
        stopping = asyncio.ensure_future(self.stop.event.wait())
        try:
            await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if reading.done():
            return reading.result()
        reading.cancel()
        return None

    # -- progress -------------------------------------------------------------------------

    def started(self, plan: Plan, pipeline: Pipeline, done_before: int) -> None:
        self._plan, self._pipeline, self._done_before = plan, pipeline, done_before
        self._started = self._last_log = time.monotonic()
        if self._show and self._out.isatty():
            console = Console(file=self._out)
            self._bar = Progress(
                TextColumn("[bold]deleting"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} IDs/s"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[extra]}"),
                console=console, transient=False, refresh_per_second=4,
            )
            self._task = self._bar.add_task(
                "delete", total=plan.ids_total, completed=done_before, rate="0", extra=""
            )
            self._bar.start()

    def tick(self) -> None:
        pipeline, plan = self._pipeline, self._plan
        if pipeline is None or plan is None:
            return
        stats, limiter = pipeline.stats, pipeline.limiter
        done = self._done_before + stats.ids_attempted
        elapsed = max(1e-6, time.monotonic() - self._started)
        rate = stats.ids_attempted / elapsed
        if self._bar is not None and self._task is not None:
            extra = (
                f"in flight {limiter.in_flight}/{limiter.limit} (max {limiter.ceiling}) · "
                f"429s {limiter.throttled} · failed {stats.ids_failed}"
            )
            self._bar.update(self._task, completed=done, rate=f"{rate:,.0f}", extra=extra)
        elif self._show and time.monotonic() - self._last_log >= self._interval:
            self._last_log = time.monotonic()
            remaining = plan.ids_total - done
            log.info(
                "progress", done=done, total=plan.ids_total, ids_per_s=round(rate),
                eta_s=round(remaining / rate) if rate > 0 else None,
                in_flight=limiter.in_flight, concurrency=limiter.limit,
                throttled=limiter.throttled, failed=stats.ids_failed,
            )

    def finished(self) -> None:
        if self._bar is not None:
            self.tick()
            self._bar.stop()
            self._bar = None


def _interval_from_env(default: float = 10.0) -> float:
    raw = os.environ.get("BULKDELETE_PROGRESS_INTERVAL", "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default


async def _read_line(stream: TextIO) -> str:
    """Read a line without blocking the event loop, so signals are still handled."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def ready() -> None:
        if not future.done():
            future.set_result(stream.readline())

    try:
        fileno = stream.fileno()
        loop.add_reader(fileno, ready)
    except (OSError, ValueError, NotImplementedError):
        return await asyncio.to_thread(stream.readline)
    try:
        return await future
    finally:
        loop.remove_reader(fileno)
