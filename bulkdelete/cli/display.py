"""The terminal side of a run (docs/cli.md): the plan and the operator's yes before anything is
sent, the progress (a rich bar on a terminal, else log events), the signals that stop it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, TextIO, TypeVar

import structlog
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from bulkdelete.answer import Verdict
from bulkdelete.engine import StopRequest, race
from bulkdelete.errors import (
    BulkDeleteError,
    ConfirmationRefused,
    StorageError,
    StorageFailedMidRun,
)
from bulkdelete.job import Plan, Snapshot
from bulkdelete.job.baseline import describe as describe_baseline
from bulkdelete.logs import FILE_ONLY, failure_message, has_log_file, no_color, on_failure, say
from bulkdelete.reader.rule import encoding_hint
from bulkdelete.report import blanks, per_second, repeats
from bulkdelete.wording import counted

log = structlog.get_logger("bulkdelete")

EXIT_SIGNALS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}

T = TypeVar("T")


def describe_plan(plan: Plan) -> list[str]:
    """The plan as lines for people: the confirmation and --dry-run print the same."""
    what = "finished" if plan.finished else "resume" if plan.resumed else "new job"
    column = ", ".join(filter(None, [plan.column.describe(),
                                     None if plan.encoding == "utf-8" else plan.encoding]))
    this_run = (
        "sends nothing: the job is finished" if plan.finished
        else f"deletes {counted(plan.ids_this_run, 'ID')} "
        f"({counted(plan.ids_remaining, 'ID')} "
        f"{'remains' if plan.ids_remaining == 1 else 'remain'} in the job)"
    )
    lines = [
        f"input:      {plan.input} ({plan.format}{', ' + column if column else ''})",
        f"target:     account {plan.account_id} at {plan.host}"
        + (f" ({plan.target_from})" if plan.target_from else ""),
        f"id type:    {plan.id_type}",
        f"IDs:        {plan.ids_total:,} valid{repeats(plan.ids_duplicate, plan.ids_total)}"
        f"{blanks(plan.lines_blank)}, {counted(plan.lines_invalid, 'invalid line')}, "
        f"{counted(plan.batches_total, 'batch')} ({what})",
        f"this run:   {this_run}",
    ]
    if (kept := plan.restart) is not None:  # the lists are left where they are, untouched
        one = len(kept) == 1
        keeps = (f"; {counted(len(kept), 'still-present list')} verify handed out "
                 f"{'stays' if one else 'stay'} (another job may read {'it' if one else 'them'})"
                 f": {', '.join(kept)}") if kept else ""
        lines.append("restart:    the job starts over: its progress, verify.json and verify/ "
                     f"are discarded{keeps}")
    if plan.preflight:
        lines.append(f"preflight:  {plan.preflight}")
    lines += describe_baseline(plan.baseline, resumed=plan.resumed)
    lines += [f"  invalid line {line}: {reason}" for line, reason in plan.invalid_samples[:5]]
    if hint := encoding_hint(reason for _, reason in plan.invalid_samples):
        lines.append(f"  {hint}")
    if plan.lines_invalid:
        lines.append(f"  every invalid line is listed in the checkpoint folder's invalid.jsonl"
                     f"{'' if plan.resumed else ' once the job starts'}")
    return lines


class Display:
    """The CLI's :class:`bulkdelete.job.Observer`, and its run's ``stop``. With ``ask`` it puts
    the plan to the terminal and refuses off one; a stop while it waits (Ctrl-C) is a "no"."""

    def __init__(
        self, *, show_progress: bool, ask: bool = False, stdin: TextIO | None = None,
        out: TextIO | None = None, label: str = "deleting", bar: bool = True,
    ) -> None:
        self.stop = StopRequest()
        self._ask, self._stdin = ask, stdin or sys.stdin
        self.label, self._show, self._bar_allowed = label, show_progress, bar
        # Off a terminal, one progress event this often (tests shorten it; cron may lengthen it).
        self._interval = _interval_from_env()
        self._out = out or sys.stderr
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._snapshot: Callable[[], Snapshot] | None = None
        self._plan: Plan | None = None
        self.sending = False  # the run's own sending began: a broken precondition is exit 4
        self._done_before = self._failed_before = self._throttled_before = 0
        self._present_before = 0
        self._last_log = self._started = 0.0

    def refuse_unless_askable(self) -> None:
        """Off a terminal there is no one to ask: refused unless told yes beforehand."""
        if self._ask and not (self._stdin.isatty() and self._out.isatty()):
            raise ConfirmationRefused(
                "refusing to delete without confirmation: not running on a terminal. Check the "
                "plan with --dry-run, then pass --yes")

    async def confirm(self, plan: Plan) -> None:
        self.refuse_unless_askable()
        if self._ask or (self._out.isatty() and self._bar_allowed):
            # With --yes on a terminal the plan is still shown: what is about to go.
            print(*describe_plan(plan), sep="\n", file=self._out)
        if not self._ask:
            return
        print(f"Deletion is irreversible. Type the account ID ({plan.account_id}) or 'yes' to "
              "proceed: ", end="", file=self._out, flush=True)
        answer = await race(_read_line(self._stdin), self.stop.event)
        if answer is None:
            print(file=self._out)  # end the prompt's line before the refusal is said
            raise ConfirmationRefused("interrupted at the confirmation; nothing was sent")
        if answer.strip() not in {plan.account_id, "yes"}:
            raise ConfirmationRefused("not confirmed; nothing was sent")

    def started(self, plan: Plan, snapshot: Callable[[], Snapshot], done_before: int, *,
                failed_before: int = 0, throttled_before: int = 0,
                present_before: int = 0) -> None:
        self._plan, self._snapshot, self._done_before = plan, snapshot, done_before
        self.sending = self.sending or plan.label is None  # not a baseline's lookups
        self._failed_before, self._throttled_before = failed_before, throttled_before
        self._present_before = present_before
        self._started = self._last_log = time.monotonic()
        if self._show and self._bar_allowed and self._out.isatty():
            # Without colour rich draws the bar's track as blanks (an empty bar): one of text.
            self._bar = Progress(
                TextColumn(f"[bold]{plan.label or self.label}"),
                TextColumn("{task.fields[bar]}", markup=False) if no_color() else BarColumn(),
                TextColumn("{task.fields[counts]}"), TextColumn("{task.fields[rate]} IDs/s"),
                TimeRemainingColumn(), TextColumn("{task.fields[extra]}"),
                console=Console(file=self._out), transient=False, refresh_per_second=4,
            )
            self._task = self._bar.add_task(
                "delete", total=plan.ids_total, completed=done_before, rate=per_second(0),
                extra="", bar=_text_bar(done_before, plan.ids_total),
                counts=f"{done_before:,}/{plan.ids_total:,}")
            self._bar.start()

    def tick(self) -> None:
        plan = self._plan
        if self._snapshot is None or plan is None:
            return
        snap = self._snapshot()
        done = self._done_before + snap.ids_attempted
        rate = snap.ids_attempted / max(1e-6, time.monotonic() - self._started)
        throttled = self._throttled_before + snap.throttled
        failed = self._failed_before + snap.ids_failed
        # A check's failure is a present profile or an unclear answer, not a failed delete.
        present = self._present_before + snap.outcomes[Verdict.PRESENT.value]
        # Before the delete an ID not found is absent; after it, gone.
        label = plan.label or self.label
        counts = ({"failed": failed} if label == "deleting" else
                  {"absent" if label == "baseline" else "gone": done - failed,
                   "present": present, "unclear": failed - present})
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, rate=per_second(rate),
                             bar=_text_bar(done, plan.ids_total),
                             counts=f"{done:,}/{plan.ids_total:,}",
                             extra=f"in flight {snap.in_flight}/{snap.limit} (max "
                             f"{snap.ceiling}) · 429s {throttled:,} · "
                             + " · ".join(f"{k} {v:,}" for k, v in counts.items()))
        # Off a terminal the events are the progress; under a bar, a log file still gets
        # them (a pipeline reading it has no screen).
        if self._show and (self._bar is None or has_log_file()) \
                and time.monotonic() - self._last_log >= self._interval:
            self._last_log = time.monotonic()
            stage: dict[str, Any] = {"stage": plan.label} if plan.label else {}
            if self._bar is not None:
                stage[FILE_ONLY] = True
            log.info("progress", **stage, done=done, total=plan.ids_total,
                     ids_per_s=round(rate, 2),
                     eta_s=round((plan.ids_total - done) / rate) if rate > 0 else None,
                     in_flight=snap.in_flight, concurrency=snap.limit, throttled=throttled,
                     **counts)

    def finished(self) -> None:
        """The last frame, from the run's final counters."""
        if self._bar is not None and self._task is not None:
            self.tick()
            self._bar.refresh()
        self.abandon()
        self._plan = self._snapshot = None  # a run ended: the next is told by started()

    def abandon(self) -> None:
        """A second Ctrl-C: end the bar's line so the shell's prompt starts on its own."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _text_bar(done: int, total: int, width: int = 20) -> str:
    filled = min(width, width * done // total) if total > 0 else width
    return f"[{'#' * filled}{'-' * (width - filled)}]"


def _interval_from_env(default: float = 10.0) -> float:
    try:
        value = float(os.environ.get("BULKDELETE_PROGRESS_INTERVAL") or default)
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


def run_signalled(work: Coroutine[Any, Any, T], display: Display, *,
                  saved: Callable[[], str]) -> T:
    """``work`` with SIGINT, SIGTERM, SIGHUP routed to its stop (exit 130/143/129), as is a
    log file that cannot be written (then the command's one error line). A signal before a
    delete sends (at the prompt) is not announced: the refusal says it."""
    deleting = display.label == "deleting"

    async def signalled() -> T:
        loop, stop = asyncio.get_running_loop(), display.stop

        def on_signal(sig: signal.Signals) -> None:
            if stop.requested and sig == signal.SIGINT:
                # Second Ctrl-C: leave now. The journal is in the kernel up to this loop
                # turn, so the checkpoint is consistent; what was in flight or completed in
                # it is sent again on resume (within docs/guarantees.md §2's allowance).
                display.abandon()  # end the bar's line before the process goes
                say("bulkdelete: second interrupt, exiting now (checkpoint is consistent)",
                    event="signal", signal=sig.name)
                os._exit(130)
            # Sending (past the prompt); the baseline's lookups before it save nothing.
            if (display._plan is not None and display._plan.label is None) or not deleting:
                say(f"bulkdelete: {sig.name} received: finishing "
                    f"{'requests' if deleting else 'lookups'} in flight, "
                    "saving progress (Ctrl-C again to quit at once)", event="signal",
                    signal=sig.name)
            stop.request(EXIT_SIGNALS[sig], sig.name)

        def on_log_failure() -> None:  # any thread may have logged
            code = (StorageFailedMidRun if display.sending else StorageError).exit_code
            loop.call_soon_threadsafe(stop.request, code, "log file")

        for sig in EXIT_SIGNALS:
            loop.add_signal_handler(sig, on_signal, sig)
        unwatch = on_failure(on_log_failure)
        try:
            return await work
        finally:
            unwatch()
            for sig in EXIT_SIGNALS:
                loop.remove_signal_handler(sig)

    try:
        result = asyncio.run(signalled())
    except BulkDeleteError:
        raise_if_log_failed(saved, sending=display.sending)
        raise
    raise_if_log_failed(saved, sending=display.sending)
    return result


def raise_if_log_failed(saved: Callable[[], str], *, sending: bool = False) -> None:
    """``saved`` reads the checkpoint back: called only when the log did fail. Once
    sending began, a broken precondition (exit 4)."""
    if (failure := failure_message()) is not None:
        error = StorageFailedMidRun if sending else StorageError
        raise error(f"{failure}; the run stopped. {saved()}")
