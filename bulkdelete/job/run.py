"""A resumable run: open the input and the checkpoint, plan, confirm, send, close; and the
dry run, which reads and checks the same and writes nothing."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import structlog

from bulkdelete.batcher import resume_point
from bulkdelete.checkpoint import CheckpointStore, RunRecord, State, describe_saved
from bulkdelete.checkpoint.evidence import BASELINE_NAME, Baseline, save_baseline
from bulkdelete.client import Deleter
from bulkdelete.engine import RunEnd, StopRequest
from bulkdelete.errors import (
    AbortError,
    CheckpointLocked,
    ConfirmationRefused,
    InputChanged,
    InputError,
    StorageError,
    UsageError,
)
from bulkdelete.failed import FailedFile, check_claimable
from bulkdelete.job.baseline import Draw, before_confirm, kept
from bulkdelete.job.invalid import write_invalid_lines
from bulkdelete.lifecycle import drive
from bulkdelete.lifecycle.plan import (
    Observer,
    Plan,
    QuietObserver,
    binding_for,
    check_same_job,
    make_plan,
    open_input,
    planned_target,
    precount,
    read_batches,
)
from bulkdelete.logs import utc_timestamp
from bulkdelete.outputs import discard_verify, verify_lists
from bulkdelete.reader import Input
from bulkdelete.report import blanks, build_report, save_report
from bulkdelete.settings import JobFiles, Settings
from bulkdelete.wording import counted

log = structlog.get_logger("bulkdelete")


@dataclass(slots=True)
class JobResult:
    """What a run returns: its report and the exit code the report stands for."""

    report: dict[str, Any]
    exit_code: int
    checkpoint: Path | None = None
    failed_path: Path | None = None
    failed_ids: list[str] | None = None  # only for delete_ids(): no failed file there
    already_finished: bool = False  # the job was finished before this run: nothing sent


def exit_code_after(state: State, end: RunEnd, stop: StopRequest) -> int:
    """InputChanged when the input ended short of the pre-count."""
    if end.input_exhausted and not end.limit_reached and not state.complete \
            and state.totals.batches_total and not stop.requested:
        # Every batch read was recorded, yet batches are missing: the file changed under us.
        raise InputChanged(
            f"the input ended after {state.progress.watermark:,} of "
            f"{state.totals.batches_total:,} batches: it changed during the run. Progress is "
            "saved; restore the original file to resume, or use --restart")
    return drive.run_exit_code(state, stop)


def restart_keeps(files: JobFiles, store: CheckpointStore) -> tuple[str, ...] | None:
    """For a --restart of a started job: the still-present lists that stay (the plan says
    so); None when this is no restart."""
    return tuple(verify_lists(store.directory)) if files.restart and store.exists() else None


async def plan_job(settings: Settings, files: JobFiles, *, preflight: bool = False,
                   stop: StopRequest | None = None, observer: Observer | None = None) -> Plan:
    """``delete --dry-run``: read and check everything, write nothing; a started job's plan
    is what remains. With ``preflight`` (credentials given), a new job's baseline too."""
    source = open_input(files, settings)
    store = CheckpointStore(files.checkpoint_dir)
    binding = await binding_for(settings, source)
    draw = None
    if files.restart or not store.exists():
        draw = Draw.new(settings.baseline) if preflight else None
        totals = await asyncio.to_thread(precount, source, settings.batch_size,
                                         draw.reservoir if draw else None)
        plan = replace(make_plan(settings, source, totals), restart=restart_keeps(files, store))
    else:
        state = store.load()
        binding, target = planned_target(settings, binding, state)
        files = check_same_job(state, binding, files, store.directory)
        totals = state.totals
        plan = replace(make_plan(settings, source, state.totals, state.progress),
                       baseline=kept(store.directory), failed=files.failed_path, **target)
    if not preflight:
        return plan
    accepted, baseline = await before_confirm(
        settings, source, binding, totals, draw, stop or StopRequest(),
        observer or QuietObserver(), credentials=True, run_id=drive.new_run_id())
    return replace(plan, preflight=accepted, baseline=baseline or plan.baseline)


async def run_job(settings: Settings, files: JobFiles, *, stop: StopRequest | None = None,
                  observer: Observer | None = None, deleter: Deleter | None = None,
                  resume_command: str = "", run_id: str | None = None) -> JobResult:
    """Run (or resume) the job to its end, a --limit, a stop or an abort: exit 0, 1 or
    128+signal returned; 2 and 3 raised as :class:`BulkDeleteError` (an abort's report
    already written). Every event it logs carries ``run_id``."""
    run_id = run_id or drive.new_run_id()
    with structlog.contextvars.bound_contextvars(run_id=run_id):
        source = open_input(files, settings)
        stop = stop or StopRequest()
        store = CheckpointStore(files.checkpoint_dir)
        # A new job's baseline sample is drawn in the pass that counts the input; an
        # injected deleter talks to no server of its own: nothing to look up.
        draw = Draw.new(settings.baseline) if deleter is None else None
        # A started job is locked before it is read, so two runs never share it. A new job
        # writes nothing, not even its folder, until the operator has said yes (docs/cli.md).
        if store.exists():
            store.lock()
        try:
            job, state = await _recover(settings, files, source, store, resume_command, draw)
            files = job.files  # with the job's own failed file when none was given
            t = state.totals  # an empty file is a job of 0 IDs, complete; a blank one is not
            if not job.resumed and not t.ids_total and (t.lines_invalid or t.lines_blank):
                job.refuse_nothing_valid(state)
            if state.complete:
                code = drive.run_exit_code(state, stop)
                report = build_report(state, exit_code=code)
                save_report(files.report_path, report)
                return JobResult(report, code, store.directory, files.failed_path,
                                 already_finished=True)
            # After the checks that need no server, so theirs are the errors a run shows.
            observer = observer or QuietObserver()
            accepted, baseline = await before_confirm(
                settings, job.source, state.binding, state.totals,
                None if job.resumed else draw, stop, observer,
                credentials=settings.preflight and deleter is None, run_id=run_id)
            plan = replace(make_plan(settings, job.source, state.totals,
                                     state.progress if job.resumed else None), preflight=accepted,
                           baseline=kept(store.directory) if job.resumed else baseline,
                           restart=restart_keeps(files, store))
            if settings.max_delete is not None and plan.ids_this_run > settings.max_delete:
                raise UsageError(
                    f"this run would send {counted(plan.ids_this_run, 'ID')}, more than "
                    f"--max-delete {settings.max_delete:,}; nothing was sent. Raise "
                    "--max-delete or use --limit")
            await observer.confirm(plan)
            if stop.requested:
                raise ConfirmationRefused(
                    f"stopped ({stop.reason}) before the run started; nothing was sent")
            if not job.resumed:
                job.create(state, baseline)
            return await job.send(state, plan, stop, observer, deleter, run_id)
        except StorageError as exc:
            saved_in = store.moved_to() or store.directory  # a folder moved away keeps the job
            with contextlib.suppress(OSError):
                store.close()  # the journal's own failure is the one being reported
            # Said from what is on disk now, after the run's last save was tried.
            # Its class kept: one raised mid-run is exit 4, one before sending exit 2.
            raise type(exc)(
                f"{exc}; the run stopped at once. {describe_saved(saved_in)}") from None
        finally:
            store.close()


async def _recover(settings: Settings, files: JobFiles, source: Input, store: CheckpointStore,
                   resume_command: str, draw: Draw | None) -> tuple[_Job, State]:
    """The started job's state, or a new one from the pre-count (nothing written)."""
    # The input as this run finds it: every read of the run must find it unchanged.
    source = await asyncio.to_thread(source.watched)
    binding = await binding_for(settings, source)
    # --restart discards only a job this run locked before reading it.
    job = _Job(settings, files, source, store, resumed=store.exists() and not files.restart,
               restarting=files.restart and store.locked)
    if job.resumed:
        state = store.load()
        job.files = files = check_same_job(state, binding, files, store.directory)
        job.write_invalid_list(state, resumed=True)
    else:
        store.check_creatable()
        log.info("counting_input", input=str(files.input), format=source.format)
        totals = await asyncio.to_thread(precount, source, settings.batch_size,
                                         draw.reservoir if draw else None)
        state = State(binding=binding, totals=totals, input=str(files.input),
                      resume_command=resume_command, updated=utc_timestamp())
        state.bind_failed_file(files.failed_path, store.directory)
    # --restart empties its own on purpose.
    check_claimable(files.failed_path, new_job=not (job.resumed or job.restarting))
    if resume_command:
        state.resume_command = resume_command
    return job, state


@dataclass(slots=True)
class _Job:
    settings: Settings
    files: JobFiles
    source: Input  # watched
    store: CheckpointStore
    resumed: bool
    restarting: bool

    def create(self, state: State, baseline: Baseline | None) -> None:
        """The new job's first write, once the operator has said yes. A job another run
        created meanwhile is refused, never shared."""
        store = self.store
        if not store.locked:
            store.lock()
        if store.exists():
            if not self.restarting:
                raise CheckpointLocked(
                    f"checkpoint {store.directory} was created by another run while this one "
                    "waited to start; nothing was sent. Rerun the same command to resume it")
            log.info("restart", checkpoint=str(store.directory))
            store.discard()
            discard_verify(store.directory)
            with contextlib.suppress(FileNotFoundError):  # the discarded job's baseline
                (store.directory / BASELINE_NAME).unlink()
        # Listed before the state exists: a job whose state exists has its list whole, and
        # its baseline (a resume never takes one).
        self.write_invalid_list(state)
        if baseline is not None:
            save_baseline(store.directory, baseline)
            state.baseline = baseline.summary()
        store.create(state)

    def write_invalid_list(self, state: State, *, resumed: bool = False) -> Path:
        return write_invalid_lines(self.store.directory, self.source,
                                   state.totals.lines_invalid, resumed=resumed)

    def refuse_nothing_valid(self, state: State) -> None:
        """Exit 2, the invalid lines listed first, never over a job's folder holding a state."""
        listed, t = "", state.totals
        if t.lines_invalid and not self.store.exists():
            self.store.check_creatable()
            if not self.store.locked:
                self.store.lock()
            listed = f", listed in {self.write_invalid_list(state)}"
        raise InputError(
            f"the input has no valid ID: {counted(t.lines_invalid, 'invalid line')}"
            f"{blanks(t.lines_blank)}{listed}; nothing was sent. Check --format, --column, "
            "--id-type and --encoding")

    async def send(self, state: State, plan: Plan, stop: StopRequest, observer: Observer,
                   deleter: Deleter | None, run_id: str) -> JobResult:
        settings, files, p = self.settings, self.files, state.progress
        # A new job's failed file starts empty (emptied once locked).
        failed_file = FailedFile(files.failed_path, truncate=not self.resumed,
                                 folder_check=self.store.check_same_folder)
        run = RunRecord(run_id=run_id, started=utc_timestamp(), resumed=self.resumed,
                        requester=settings.requester, ticket=settings.ticket)
        # What a log pipeline needs of either (docs/cli.md, "Logs"); the audit pair if given.
        job = {"input": str(files.input), "format": self.source.format, "host": settings.host,
               "account_id": settings.account_id, "id_type": settings.id_type,
               **{k: v for k, v in (("requester", run.requester), ("ticket", run.ticket)) if v}}
        try:
            batches = read_batches(self.source, settings.batch_size, p.anchor,
                                   state.totals.ids_total)
            if not self.resumed:
                log.info("start", **job, ids_total=plan.ids_total, batches=plan.batches_total,
                         concurrency=settings.concurrency, rate=settings.rate,
                         batch_size=settings.batch_size, limit=settings.limit)
            else:  # where sending resumes: the first batch not done, past the anchor's
                batches, (offset, line) = resume_point(batches, p.is_done, p.anchor)
                left = "in_flight_at_crash" if drive.was_killed(state.runs) \
                    else "in_flight_at_stop"
                log.info("resume", **job, watermark=p.watermark, offset=offset, line=line,
                         done=p.ids_done, ids_total=plan.ids_total, **{left: len(p.sent_above)})
            exit_code = await drive.run_recorded(
                drive.Run(settings, failed_file, stop, state, run, deleter, store=self.store,
                          resumed=self.resumed, report=files.report_path, plan=plan,
                          observer=observer), batches,
                lambda end: exit_code_after(state, end, stop))
        except AbortError as exc:
            # Raised to the caller, who says it once (the CLI: its one error line, also in
            # the log file); an error event here would repeat it on the console.
            log.debug("aborted", reason=str(exc))
            raise
        finally:
            failed_file.close()
        if stop.requested:
            log.info("shutdown", reason=stop.reason, exit_code=exit_code,
                     watermark=p.watermark)
        return JobResult(build_report(state, exit_code=exit_code), exit_code,
                         self.store.directory, files.failed_path)
