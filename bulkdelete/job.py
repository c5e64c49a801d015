"""A resumable job: input file + checkpoint + pipeline + report. The library's front door.

:func:`run_job` is what ``bulkdelete delete`` runs; :func:`delete_ids` deletes from any
iterable of IDs without a checkpoint (a migration script's one-off); :func:`plan_job` is
the dry run. All three return or raise the same things the CLI turns into exit codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import structlog

from bulkdelete.batcher import Batch, InputSummary, make_batches, summarize, within_precount
from bulkdelete.checkpoint import (
    Binding,
    CheckpointStore,
    Progress,
    RunRecord,
    State,
    Totals,
    check_binding,
    describe_saved,
)
from bulkdelete.client import ClevertapClient, Deleter
from bulkdelete.errors import (
    AbortError,
    BulkDeleteError,
    InputError,
    StorageError,
    UsageError,
)
from bulkdelete.failed import FailedFile, FailureSink, MemoryFailures
from bulkdelete.limiter import AdaptiveLimiter
from bulkdelete.pipeline import Journal, NullJournal, Pipeline, RunEnd, RunStats, StopRequest
from bulkdelete.reader import check_input_path, detect_format, read_runs, tally_runs
from bulkdelete.reader.fingerprint import fingerprint, unchanged_at_end
from bulkdelete.reader.watch import Watch
from bulkdelete.report import build_report, write_report
from bulkdelete.settings import JobFiles, Settings

log = structlog.get_logger("bulkdelete")

SNAPSHOT_INTERVAL = 1.0  # seconds between fsync'd snapshots: the power-loss window
TYPICAL_LATENCY = 1.0  # seconds per request assumed by the dry run's estimate (spec §2)


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run is about to do; shown by --dry-run and by the confirmation prompt."""

    input: Path
    format: str
    account_id: str
    host: str
    id_type: str
    ids_total: int
    lines_invalid: int
    invalid_samples: list[tuple[int, str]]
    batches_total: int
    ids_remaining: int
    ids_this_run: int
    resumed: bool
    concurrency: int
    batch_size: int
    rate: float | None

    @property
    def requests_this_run(self) -> int:
        """Requests this run needs when nothing fails (whole batches)."""
        return math.ceil(self.ids_this_run / self.batch_size)

    def estimated_seconds(self, latency: float = TYPICAL_LATENCY) -> float:
        """At ``concurrency`` in flight and ``latency`` each, or at ``--rate``, whichever is
        slower: the two ceilings are separate, so the tighter one decides."""
        per_request = latency / max(1, self.concurrency)
        if self.rate:
            per_request = max(per_request, 1.0 / self.rate)
        return self.requests_this_run * per_request


def make_plan(
    settings: Settings, files: JobFiles, fmt: str, totals: Totals,
    progress: Progress | None = None,
) -> Plan:
    done = progress.ids_deleted + progress.ids_failed if progress is not None else 0
    remaining = totals.ids_total - done
    return Plan(
        input=files.input, format=fmt, account_id=settings.account_id, host=settings.host,
        id_type=settings.id_type, ids_total=totals.ids_total,
        lines_invalid=totals.lines_invalid, invalid_samples=totals.invalid_samples,
        batches_total=totals.batches_total, ids_remaining=remaining,
        ids_this_run=_this_run(settings, remaining), resumed=progress is not None,
        concurrency=settings.concurrency, batch_size=settings.batch_size, rate=settings.rate,
    )


class Observer(Protocol):
    """What the CLI watches a run through: the confirmation and the progress display.
    Every method may be a no-op; ``confirm`` raises ConfirmationRefused to refuse."""

    async def confirm(self, plan: Plan) -> None: ...

    def started(self, plan: Plan, pipeline: Pipeline, done_before: int) -> None: ...

    def tick(self) -> None: ...

    def finished(self) -> None: ...


class QuietObserver:
    async def confirm(self, plan: Plan) -> None:
        pass

    def started(self, plan: Plan, pipeline: Pipeline, done_before: int) -> None:
        pass

    def tick(self) -> None:
        pass

    def finished(self) -> None:
        pass


@dataclass(slots=True)
class JobResult:
    """The report (as written to --report) and the exit code it stands for."""

    report: dict[str, Any]
    exit_code: int
    checkpoint: Path | None = None
    failed_path: Path | None = None
    failed_ids: list[str] | None = None  # only for delete_ids(): no failed file there


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)


def _records(files: JobFiles, fmt: str, id_type: str, offset: int = 0, line: int = 1,
             watch: Watch | None = None) -> Iterator[Any]:
    return read_runs(files.input, fmt,  # type: ignore[arg-type]
                        column=files.column, id_type=id_type, start_offset=offset,
                        start_line=line, watch=watch)


def _precount(files: JobFiles, fmt: str, settings: Settings,
              watch: Watch | None = None) -> InputSummary:
    return summarize(tally_runs(files.input, fmt,  # type: ignore[arg-type]
                                column=files.column, id_type=settings.id_type, watch=watch),
                     settings.batch_size)


def _this_run(settings: Settings, remaining: int) -> int:
    if settings.limit is None:
        return remaining
    rounded = math.ceil(settings.limit / settings.batch_size) * settings.batch_size
    return min(remaining, rounded)


async def plan_job(settings: Settings, files: JobFiles) -> Plan:
    """--dry-run: read and validate everything, send nothing, write nothing. On a job
    already started it plans what remains (checking the checkpoint matches, read-only)."""
    check_input_path(files.input)
    fmt = detect_format(files.input, files.format)
    summary = await asyncio.to_thread(_precount, files, fmt, settings)
    totals = Totals(summary.ids_total, summary.lines_invalid, summary.batches_total,
                    summary.invalid_samples)
    store = CheckpointStore(files.checkpoint_dir)
    if files.restart or not store.exists():
        return make_plan(settings, files, fmt, totals)
    state = store.load()
    check_binding(state.binding, await _binding(settings, files, fmt), store.directory)
    state.bind_failed_file(files.failed_path, store.directory)
    return make_plan(settings, files, fmt, state.totals, state.progress)


async def _binding(settings: Settings, files: JobFiles, fmt: str) -> Binding:
    return Binding(
        fingerprint=await asyncio.to_thread(fingerprint, files.input), format=fmt,
        column=files.column, batch_size=settings.batch_size, id_type=settings.id_type,
        account_id=settings.account_id, host=settings.host,
    )


def _probe_input(files: JobFiles, fmt: str, settings: Settings) -> None:
    """Read the first record (a CSV header, a first JSON object) before anything is
    created on disk, so a wrong --column leaves no checkpoint behind."""
    records = _records(files, fmt, settings.id_type)
    try:
        next(records, None)
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()


def _refuse_overwriting_input(files: JobFiles) -> None:
    """--failed and --report are written (a new job truncates the failed file): never let
    a slip of the keyboard point them at the input itself."""
    source = files.input.resolve()
    for flag, path in (("--failed", files.failed_path), ("--report", files.report_path)):
        if path.resolve() == source:
            raise UsageError(f"{flag} {path} is the input file; choose another path")


def exit_code_for(state: State) -> int:
    """0: nothing failed in the job; 1: some IDs failed (listed in the failed file)."""
    return 1 if state.progress.ids_failed else 0


@contextlib.asynccontextmanager
async def _engine(
    settings: Settings, *, deleter: Deleter | None, progress: Progress, journal: Journal,
    failures: FailureSink, stop: StopRequest, stats: RunStats,
) -> AsyncIterator[Pipeline]:
    """The pipeline with its loop-bound parts (session, limiter), built inside the running
    loop and torn down with it."""
    # One pool for the run; a few spare connections so a request abandoned on timeout
    # never blocks the next one waiting for a socket.
    connector = aiohttp.TCPConnector(limit=settings.concurrency + 4, ttl_dns_cache=300)
    async with aiohttp.ClientSession(connector=connector, raise_for_status=False) as session:
        client = deleter or ClevertapClient(
            base_url=settings.base_url, account_id=settings.account_id,
            passcode=settings.passcode, id_type=settings.id_type, timeout=settings.timeout,
        ).bind(session)
        limiter = AdaptiveLimiter(settings.concurrency, rate=settings.rate,
                                  on_change=_log_limit_change)
        yield Pipeline(settings=settings, deleter=client, limiter=limiter, progress=progress,
                       journal=journal, failures=failures, stop=stop, stats=stats)


async def run_job(
    settings: Settings,
    files: JobFiles,
    *,
    stop: StopRequest | None = None,
    observer: Observer | None = None,
    deleter: Deleter | None = None,
    resume_command: str = "",
) -> JobResult:
    """Run (or resume) the job to its end, a --limit, a stop or an abort.

    Returns the job's report and exit code (0, 1, or 128+signal for a graceful stop).
    Raises :class:`BulkDeleteError` for exit 2 (usage, input, checkpoint) and 3 (abort);
    on an abort the report has already been written with exit code 3.
    """
    observer = observer or QuietObserver()
    stop = stop or StopRequest()
    check_input_path(files.input)
    fmt = detect_format(files.input, files.format)
    _refuse_overwriting_input(files)
    _probe_input(files, fmt, settings)
    store = CheckpointStore(files.checkpoint_dir)
    store.lock()
    try:
        return await _run_locked(settings, files, fmt, store, stop, observer, deleter,
                                 resume_command)
    except StorageError as exc:
        with contextlib.suppress(OSError):
            store.close()  # the journal's own failure is the one being reported
        # Said from what is on disk now, after the run's last save was tried.
        raise StorageError(f"{exc}; the run stopped at once. {describe_saved(store.directory)}"
                           ) from None
    finally:
        store.close()


async def _run_locked(
    settings: Settings, files: JobFiles, fmt: str, store: CheckpointStore, stop: StopRequest,
    observer: Observer, deleter: Deleter | None, resume_command: str,
) -> JobResult:
    # The input as this run finds it: every read of the run must find it unchanged.
    watch = await asyncio.to_thread(Watch.start, files.input)
    binding = await _binding(settings, files, fmt)
    if files.restart and store.exists():
        log.info("restart", checkpoint=str(store.directory))
        store.discard()
        truncate_failed = True
    else:
        truncate_failed = False
    resumed = store.exists()
    if resumed:
        state = store.load()
        check_binding(state.binding, binding, store.directory)
        state.bind_failed_file(files.failed_path, store.directory)
    else:
        log.info("counting_input", input=str(files.input), format=fmt)
        summary = await asyncio.to_thread(_precount, files, fmt, settings, watch)
        state = State(
            binding=binding,
            totals=Totals(summary.ids_total, summary.lines_invalid, summary.batches_total,
                          summary.invalid_samples),
            input=str(files.input), resume_command=resume_command, updated=_now(),
        )
        state.bind_failed_file(files.failed_path, store.directory)
        store.create(state)
        truncate_failed = True  # a new job's failed file starts empty
        if summary.ids_total == 0:
            log.warning("no_valid_ids", lines_invalid=summary.lines_invalid,
                        hint="check --format/--column; nothing will be sent")
    if resume_command:
        state.resume_command = resume_command

    if state.complete:
        # Rerunning a finished job sends nothing and reports the job as it stands.
        code = exit_code_for(state)
        report = build_report(state, exit_code=code)
        write_report(files.report_path, report)
        return JobResult(report, code, store.directory, files.failed_path)

    p = state.progress
    plan = make_plan(settings, files, fmt, state.totals, p if resumed else None)
    if settings.max_delete is not None and plan.ids_this_run > settings.max_delete:
        raise UsageError(
            f"this run would send {plan.ids_this_run:,} IDs, more than --max-delete "
            f"{settings.max_delete:,}; nothing was sent. Raise --max-delete or use --limit"
        )
    await observer.confirm(plan)

    run = RunRecord(run_id=new_run_id(), started=_now(), resumed=resumed)
    state.runs.append(run)
    structlog.contextvars.bind_contextvars(run_id=run.run_id)
    failed_file = FailedFile(files.failed_path, truncate=truncate_failed)
    if not resumed:
        log.info("start", input=str(files.input), format=fmt, ids_total=plan.ids_total,
                 batches=plan.batches_total, host=settings.host, account_id=settings.account_id,
                 id_type=settings.id_type, concurrency=settings.concurrency,
                 rate=settings.rate, batch_size=settings.batch_size, limit=settings.limit)
    else:
        seq, offset, line = p.anchor
        log.info("resume", watermark=p.watermark, offset=offset, line=line,
                 done=p.ids_deleted + p.ids_failed, ids_total=plan.ids_total,
                 in_flight_at_crash=len(p.sent_above))
    if resumed:
        # What the previous run sent unrecorded is sent again: counted as re-sent after a
        # crash only if that run never ended (killed), else after a stop.
        p.carry_over(killed=len(state.runs) < 2 or state.runs[-2].exit_code is None)
        store.resume()
    # Record the run before sending anything, so even a run killed in its first second
    # shows up in the report's list of runs.
    state.updated = _now()
    try:
        store.snapshot(*store.prepare_snapshot(state))
    except StorageError:
        failed_file.close()
        raise
    started = time.monotonic()
    stats = RunStats()
    exit_code: int | None = None
    try:
        async with _engine(settings, deleter=deleter, progress=p, journal=store,
                           failures=failed_file, stop=stop, stats=stats) as pipeline:
            seq, offset, line = p.anchor
            items = unchanged_at_end(_records(files, fmt, settings.id_type, offset, line, watch),
                                     files.input, binding.fingerprint)
            batches = within_precount(
                make_batches(items, settings.batch_size, first_seq=seq),
                state.totals.ids_total, settings.batch_size, files.input)
            observer.started(plan, pipeline, p.ids_deleted + p.ids_failed)
            flusher = asyncio.create_task(_flush_periodically(store, state, run, stats,
                                                              started, observer))
            try:
                end = await _run_recorded(pipeline.run(batches), store, flusher)
            finally:
                flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher
                observer.finished()
        exit_code = _exit_code(state, end, stop)
    except AbortError as exc:
        exit_code = exc.exit_code
        log.error("aborted", reason=str(exc))
        raise
    except BulkDeleteError:
        exit_code = 2
        raise
    finally:
        failed_file.close()
        _close_run(run, stats, started, exit_code, p)
        state.updated = _now()
        save_error = _save_last(store, state, files, exit_code)
        structlog.contextvars.unbind_contextvars("run_id")
    if save_error is not None:
        raise save_error
    report = build_report(state, exit_code=exit_code)
    if stop.requested:
        log.info("shutdown", reason=stop.reason, exit_code=exit_code,
                 watermark=p.watermark)
    return JobResult(report, exit_code, store.directory, files.failed_path)


async def _run_recorded(run: Coroutine[Any, Any, RunEnd], store: CheckpointStore,
                        flusher: asyncio.Task[None]) -> RunEnd:
    """The pipeline's run, ended at once when the checkpoint cannot be written — a failed
    journal write or a snapshot that failed in the flusher: a run that went on could not
    record what it does. The write's error is raised in place of the cancellation."""
    task = asyncio.ensure_future(run)
    store.on_failure = lambda _exc: task.cancel()
    flusher.add_done_callback(lambda _flusher: task.cancel())
    try:
        return await task
    except asyncio.CancelledError:
        if store.failure is not None:
            raise store.failure from None
        failed = flusher.exception() if flusher.done() and not flusher.cancelled() else None
        if failed is not None:
            raise failed from None
        raise
    finally:
        store.on_failure = None


def _save_last(store: CheckpointStore, state: State, files: JobFiles,
               exit_code: int | None) -> StorageError | None:
    """The run's last snapshot, then the report. Returns the first failure instead of
    raising it, so it never hides the error that ended the run."""
    error: StorageError | None = None
    try:
        store.finish(state)
    except StorageError as exc:
        error = exc
    if exit_code is not None:
        try:
            write_report(files.report_path, build_report(state, exit_code=exit_code))
        except OSError as exc:
            error = error or StorageError(
                f"cannot write the report {files.report_path}: {exc.strerror or exc}")
    return error


def _exit_code(state: State, end: RunEnd, stop: StopRequest) -> int:
    if stop.requested and stop.exit_code is not None and not state.complete:
        return stop.exit_code
    if end.input_exhausted and not end.limit_reached and not state.complete \
            and state.totals.batches_total:
        # Every batch read was recorded, yet batches are missing: the file changed under us.
        raise InputError(
            f"the input ended after {state.progress.watermark:,} of "
            f"{state.totals.batches_total:,} batches: it changed during the run. Progress is "
            "saved; restore the original file to resume, or use --restart"
        )
    return exit_code_for(state)


def _close_run(run: RunRecord, stats: RunStats, started: float, exit_code: int | None,
               progress: Progress) -> None:
    run.requests = stats.requests
    run.retries = stats.retries
    run.throttled = stats.throttled
    run.resent_after_crash, run.resent_after_stop = progress.resent_this_run()
    run.ids_deleted = stats.ids_deleted
    run.ids_failed = stats.ids_failed
    run.elapsed_s = time.monotonic() - started
    if exit_code is not None:
        run.exit_code = exit_code
        run.ended = _now()


async def _flush_periodically(
    store: CheckpointStore, state: State, run: RunRecord, stats: RunStats, started: float,
    observer: Observer,
) -> None:
    """About once a second: an fsync'd snapshot (bounds a power loss to ~1 s, spec §4.2)
    and a progress tick. The slow part runs in a thread so sending never waits on disk."""
    last = time.monotonic()
    while True:
        await asyncio.sleep(0.25)
        observer.tick()
        now = time.monotonic()
        if now - last >= SNAPSHOT_INTERVAL:
            last = now
            _close_run(run, stats, started, None, state.progress)
            state.updated = _now()
            data, gen = store.prepare_snapshot(state)
            await asyncio.to_thread(store.snapshot, data, gen)


def _log_limit_change(old: int, new: int, why: str) -> None:
    log.info("concurrency_changed", old=old, new=new, why=why)


async def delete_ids(
    settings: Settings,
    ids: Iterable[str],
    *,
    stop: StopRequest | None = None,
    deleter: Deleter | None = None,
) -> JobResult:
    """Delete from any iterable of IDs — no file, no checkpoint, so no resume. Failed IDs
    come back in ``JobResult.failed_ids``. Raises AbortError on 401/403 and abort rules."""
    stop = stop or StopRequest()
    state = State(
        binding=Binding("", "iterable", None, settings.batch_size, settings.id_type,
                        settings.account_id, settings.host),
        totals=Totals(0, 0, 0),
    )
    failures = MemoryFailures()
    run = RunRecord(run_id=new_run_id(), started=_now())
    state.runs.append(run)
    stats = RunStats()
    started = time.monotonic()
    count = 0

    def batches() -> Iterator[Batch]:
        nonlocal count
        chunk: list[str] = []
        seq = 0
        for raw in ids:
            value = raw.strip()
            if not value:
                continue
            count += 1
            chunk.append(value)
            if len(chunk) == settings.batch_size:
                yield Batch(seq, 0, 0, chunk)
                seq += 1
                chunk = []
        if chunk:
            yield Batch(seq, 0, 0, chunk)

    exit_code: int | None = None
    try:
        async with _engine(settings, deleter=deleter, progress=state.progress,
                           journal=NullJournal(), failures=failures, stop=stop,
                           stats=stats) as pipeline:
            end = await pipeline.run(batches())
        state.totals.ids_total = count
        state.totals.batches_total = math.ceil(count / settings.batch_size)
        exit_code = _exit_code(state, end, stop)
    except AbortError as exc:
        exit_code = exc.exit_code
        raise
    finally:
        _close_run(run, stats, started, exit_code, state.progress)
    return JobResult(build_report(state, exit_code=exit_code), exit_code,
                     failed_ids=[i for i, _, _ in failures.items])


__all__ = [
    "JobResult",
    "Observer",
    "Plan",
    "QuietObserver",
    "delete_ids",
    "plan_job",
    "run_job",
]
